//! The built-in load balancer's configuration, with ELB's defaults.

use std::fmt;
use std::net::{Ipv4Addr, SocketAddr};
use std::str::FromStr;
use std::time::Duration;

use super::matcher::Matcher;
use crate::Error;

/// How a connection's target is chosen among the healthy ones (ELB's
/// `load_balancing.algorithm.type`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum Algorithm {
    /// Each target in turn (`round_robin`, the default).
    #[default]
    RoundRobin,
    /// The target with the fewest open connections (`least_outstanding_requests`: for
    /// TCP, a request is a connection); ties go to each target in turn.
    LeastConnections,
}

impl Algorithm {
    /// ELB's names.
    const NAMES: &'static [&'static str] = &["round_robin", "least_outstanding_requests"];

    /// The algorithm as ELB spells it.
    pub fn as_str(self) -> &'static str {
        match self {
            Algorithm::RoundRobin => "round_robin",
            Algorithm::LeastConnections => "least_outstanding_requests",
        }
    }
}

impl fmt::Display for Algorithm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Algorithm {
    type Err = Error;

    fn from_str(text: &str) -> Result<Self, Error> {
        match text {
            "round_robin" => Ok(Algorithm::RoundRobin),
            "least_outstanding_requests" => Ok(Algorithm::LeastConnections),
            _ => Err(Error::UnknownValue {
                kind: "load balancing algorithm",
                value: text.to_owned(),
                expected: Self::NAMES,
            }),
        }
    }
}

/// What a health check does.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum HealthCheckProtocol {
    /// Opens a TCP connection: healthy if it is accepted within the timeout.
    Tcp,
    /// Sends `GET path HTTP/1.1`: healthy if the response's status code matches within
    /// the timeout.
    Http {
        /// The path, from `/` (ELB's `HealthCheckPath`).
        path: String,
        /// The codes that mean healthy (ELB's `Matcher`).
        matcher: Matcher,
    },
}

/// A target group's health check (ELB's `HealthCheck*` settings). A target becomes
/// healthy after `healthy_threshold` successes in a row, and unhealthy after
/// `unhealthy_threshold` failures in a row.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct HealthCheck {
    /// TCP or HTTP.
    pub protocol: HealthCheckProtocol,
    /// Between the starts of two checks of a target (ELB's default: 30 s). A check
    /// that outlasts it delays the next one.
    pub interval: Duration,
    /// How long a check may take before it counts as failed.
    pub timeout: Duration,
    /// Successes in a row that make a target healthy (ELB's default: 5).
    pub healthy_threshold: u32,
    /// Failures in a row that make a target unhealthy (ELB's default: 2).
    pub unhealthy_threshold: u32,
}

impl HealthCheck {
    /// A TCP connect check, with ELB's defaults for TCP target groups (every 30 s,
    /// 10 s timeout, healthy after 5, unhealthy after 2).
    pub fn tcp() -> Self {
        Self {
            protocol: HealthCheckProtocol::Tcp,
            interval: Duration::from_secs(30),
            timeout: Duration::from_secs(10),
            healthy_threshold: 5,
            unhealthy_threshold: 2,
        }
    }

    /// An HTTP `GET path` check accepting `matcher`'s codes, with ELB's defaults for
    /// HTTP health checks (every 30 s, 5 s timeout, healthy after 5, unhealthy after 2).
    pub fn http(path: impl Into<String>, matcher: Matcher) -> Self {
        Self {
            protocol: HealthCheckProtocol::Http {
                path: path.into(),
                matcher,
            },
            timeout: Duration::from_secs(5),
            ..Self::tcp()
        }
    }

    /// Sets the interval.
    pub fn with_interval(mut self, interval: Duration) -> Self {
        self.interval = interval;
        self
    }

    /// Sets the timeout.
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// Sets the successes in a row that make a target healthy (1: its first success).
    pub fn with_healthy_threshold(mut self, threshold: u32) -> Self {
        self.healthy_threshold = threshold;
        self
    }

    /// Sets the failures in a row that make a target unhealthy.
    pub fn with_unhealthy_threshold(mut self, threshold: u32) -> Self {
        self.unhealthy_threshold = threshold;
        self
    }

    fn validate(&self) -> Result<(), Error> {
        let invalid = |what: String| Err(Error::InvalidLoadBalancerConfig(what));
        if self.interval.is_zero() {
            return invalid("health check interval must be above zero".into());
        }
        if self.timeout.is_zero() {
            return invalid("health check timeout must be above zero".into());
        }
        if self.healthy_threshold == 0 {
            return invalid("health check healthy threshold must be at least 1".into());
        }
        if self.unhealthy_threshold == 0 {
            return invalid("health check unhealthy threshold must be at least 1".into());
        }
        if let HealthCheckProtocol::Http { path, .. } = &self.protocol {
            if !path.starts_with('/') {
                return invalid(format!("health check path {path:?} must start with /"));
            }
            if path.chars().any(|c| c.is_whitespace() || c.is_control()) {
                return invalid(format!(
                    "health check path {path:?} must not contain spaces or control characters"
                ));
            }
        }
        Ok(())
    }
}

impl Default for HealthCheck {
    /// [`HealthCheck::tcp`].
    fn default() -> Self {
        Self::tcp()
    }
}

/// The configuration of a [`TcpLoadBalancer`](super::TcpLoadBalancer): where it listens,
/// how it chooses targets, how it checks them, how long it drains them.
///
/// ```
/// use std::time::Duration;
/// use ecs_core::load_balancer::{Algorithm, HealthCheck, TcpLoadBalancerConfig};
///
/// let config = TcpLoadBalancerConfig::new("127.0.0.1:0".parse().unwrap())
///     .with_name("web")
///     .with_algorithm(Algorithm::LeastConnections)
///     .with_health_check(HealthCheck::tcp().with_interval(Duration::from_secs(1)))
///     .with_deregistration_delay(Duration::from_secs(10));
/// assert_eq!(config.health_check.healthy_threshold, 5);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct TcpLoadBalancerConfig {
    /// A name for messages; the listening address when unset.
    pub name: Option<String>,
    /// Where to listen (port 0: any free port, see
    /// [`local_addr`](super::TcpLoadBalancer::local_addr)).
    pub listen: SocketAddr,
    /// How targets are chosen.
    pub algorithm: Algorithm,
    /// How targets are checked.
    pub health_check: HealthCheck,
    /// How long a deregistered target's open connections may last before they are cut
    /// (ELB's `deregistration_delay.timeout_seconds`; default 300 s).
    pub deregistration_delay: Duration,
    /// How long connecting to a target may take before the next one is tried
    /// (default 10 s).
    pub connect_timeout: Duration,
}

impl TcpLoadBalancerConfig {
    /// Listens on `listen`, with the defaults: round robin, [`HealthCheck::tcp`], 300 s
    /// deregistration delay, 10 s connect timeout.
    pub fn new(listen: SocketAddr) -> Self {
        Self {
            name: None,
            listen,
            algorithm: Algorithm::default(),
            health_check: HealthCheck::default(),
            deregistration_delay: Duration::from_secs(300),
            connect_timeout: Duration::from_secs(10),
        }
    }

    /// Sets the name.
    pub fn with_name(mut self, name: impl Into<String>) -> Self {
        self.name = Some(name.into());
        self
    }

    /// Sets the listening address.
    pub fn with_listen(mut self, listen: SocketAddr) -> Self {
        self.listen = listen;
        self
    }

    /// Sets the algorithm.
    pub fn with_algorithm(mut self, algorithm: Algorithm) -> Self {
        self.algorithm = algorithm;
        self
    }

    /// Sets the health check.
    pub fn with_health_check(mut self, health_check: HealthCheck) -> Self {
        self.health_check = health_check;
        self
    }

    /// Sets the deregistration delay (zero: cut a deregistered target's connections at
    /// once).
    pub fn with_deregistration_delay(mut self, delay: Duration) -> Self {
        self.deregistration_delay = delay;
        self
    }

    /// Sets the connect timeout.
    pub fn with_connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = timeout;
        self
    }

    /// Checks that the configuration can work: non-zero health check interval, timeout
    /// and thresholds, a health check path from `/`, a non-zero connect timeout.
    pub fn validate(&self) -> Result<(), Error> {
        self.health_check.validate()?;
        if self.connect_timeout.is_zero() {
            return Err(Error::InvalidLoadBalancerConfig(
                "connect timeout must be above zero".into(),
            ));
        }
        // ELB's range: 0 to 3,600 seconds.
        if self.deregistration_delay > Duration::from_secs(3600) {
            return Err(Error::InvalidLoadBalancerConfig(format!(
                "deregistration delay {:?} is above ELB's limit of 3600 s",
                self.deregistration_delay
            )));
        }
        Ok(())
    }
}

impl Default for TcpLoadBalancerConfig {
    /// Listens on `127.0.0.1`, on any free port.
    fn default() -> Self {
        Self::new(SocketAddr::from((Ipv4Addr::LOCALHOST, 0)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_elbs() {
        let config = TcpLoadBalancerConfig::default();
        assert_eq!(config.listen.to_string(), "127.0.0.1:0");
        assert_eq!(config.algorithm, Algorithm::RoundRobin);
        assert_eq!(config.deregistration_delay, Duration::from_secs(300));
        let check = config.health_check;
        assert_eq!(check.protocol, HealthCheckProtocol::Tcp);
        assert_eq!(check.interval, Duration::from_secs(30));
        assert_eq!((check.healthy_threshold, check.unhealthy_threshold), (5, 2));
        let http = HealthCheck::http("/", Matcher::default());
        assert_eq!(http.timeout, Duration::from_secs(5));
    }

    #[test]
    fn algorithms_read_and_write_elbs_names() {
        for algorithm in [Algorithm::RoundRobin, Algorithm::LeastConnections] {
            assert_eq!(
                algorithm.to_string().parse::<Algorithm>().unwrap(),
                algorithm
            );
        }
        assert_eq!(
            "random".parse::<Algorithm>().unwrap_err().to_string(),
            "\"random\" is not a valid load balancing algorithm; expected one of: \
             round_robin, least_outstanding_requests"
        );
    }

    #[test]
    fn validation_names_the_setting() {
        let config = |check: HealthCheck| {
            TcpLoadBalancerConfig::default()
                .with_health_check(check)
                .validate()
                .map_err(|e| e.to_string())
        };
        assert_eq!(config(HealthCheck::tcp()), Ok(()));
        assert_eq!(
            config(HealthCheck::tcp().with_interval(Duration::ZERO)),
            Err(
                "invalid load balancer configuration: health check interval must be above zero"
                    .into()
            )
        );
        assert_eq!(
            config(HealthCheck::tcp().with_unhealthy_threshold(0)),
            Err("invalid load balancer configuration: \
                 health check unhealthy threshold must be at least 1"
                .into())
        );
        assert_eq!(
            config(HealthCheck::http("health", Matcher::default())),
            Err("invalid load balancer configuration: \
                 health check path \"health\" must start with /"
                .into())
        );
        assert!(config(HealthCheck::http("/a b", Matcher::default())).is_err());
        assert!(
            TcpLoadBalancerConfig::default()
                .with_connect_timeout(Duration::ZERO)
                .validate()
                .is_err()
        );
    }
}
