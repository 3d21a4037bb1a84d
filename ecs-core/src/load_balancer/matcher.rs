//! The HTTP codes a health check accepts, in ELB's matcher syntax.

use std::fmt;
use std::str::FromStr;

use crate::Error;

/// The HTTP codes that mean healthy, written as ELB writes a matcher's `HttpCode`:
/// a code (`200`), a range (`200-399`) or a comma-separated list of both
/// (`200,202,300-302`). The default is `200-399`.
///
/// ```
/// use ecs_core::load_balancer::Matcher;
///
/// let matcher: Matcher = "200,300-302".parse()?;
/// assert!(matcher.matches(301) && !matcher.matches(204));
/// assert_eq!(matcher.to_string(), "200,300-302");
/// assert!("399-200".parse::<Matcher>().is_err());
/// # Ok::<(), ecs_core::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Matcher {
    /// Inclusive ranges, as written.
    ranges: Vec<(u16, u16)>,
}

impl Matcher {
    /// Whether `code` means healthy.
    pub fn matches(&self, code: u16) -> bool {
        self.ranges
            .iter()
            .any(|&(low, high)| (low..=high).contains(&code))
    }
}

impl Default for Matcher {
    fn default() -> Self {
        Self {
            ranges: vec![(200, 399)],
        }
    }
}

impl FromStr for Matcher {
    type Err = Error;

    fn from_str(text: &str) -> Result<Self, Error> {
        let invalid = |why: String| {
            Error::InvalidLoadBalancerConfig(format!("health check matcher {text:?}: {why}"))
        };
        let code = |part: &str| -> Result<u16, Error> {
            match part.trim().parse::<u16>() {
                Ok(code) if (100..=599).contains(&code) => Ok(code),
                Ok(code) => Err(invalid(format!("{code} is not an HTTP code (100 to 599)"))),
                Err(_) => Err(invalid(format!("{:?} is not a number", part.trim()))),
            }
        };
        let mut ranges = Vec::new();
        for part in text.split(',') {
            let range = match part.split_once('-') {
                Some((low, high)) => (code(low)?, code(high)?),
                None => {
                    let single = code(part)?;
                    (single, single)
                }
            };
            if range.0 > range.1 {
                return Err(invalid(format!(
                    "the range {}-{} is empty",
                    range.0, range.1
                )));
            }
            ranges.push(range);
        }
        Ok(Self { ranges })
    }
}

impl fmt::Display for Matcher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, &(low, high)) in self.ranges.iter().enumerate() {
            if i > 0 {
                f.write_str(",")?;
            }
            if low == high {
                write!(f, "{low}")?;
            } else {
                write!(f, "{low}-{high}")?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_elb_syntax() {
        let m: Matcher = "200-399".parse().unwrap();
        assert!(m.matches(200) && m.matches(302) && m.matches(399));
        assert!(!m.matches(199) && !m.matches(400));
        let m: Matcher = " 200 , 204,300-301".parse().unwrap();
        assert!(m.matches(204) && m.matches(301) && !m.matches(201));
        assert_eq!(m.to_string(), "200,204,300-301");
        assert_eq!(Matcher::default().to_string(), "200-399");
    }

    #[test]
    fn rejects_what_is_not_a_code() {
        for (text, why) in [
            ("", "\"\" is not a number"),
            ("ok", "\"ok\" is not a number"),
            ("200-", "\"\" is not a number"),
            ("99", "99 is not an HTTP code (100 to 599)"),
            ("200-600", "600 is not an HTTP code (100 to 599)"),
            ("399-200", "the range 399-200 is empty"),
        ] {
            assert_eq!(
                text.parse::<Matcher>().unwrap_err().to_string(),
                format!(
                    "invalid load balancer configuration: health check matcher {text:?}: {why}"
                ),
                "{text}"
            );
        }
    }
}
