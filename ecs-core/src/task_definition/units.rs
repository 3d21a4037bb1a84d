//! Task-level `cpu` and `memory` strings as the API and the console accept them:
//! `"256"`, `"1024"` (CPU units / MiB), `"1 vCPU"`, `"0.5 vcpu"`, `".25 vCPU"`,
//! `"2GB"`, `"2 gb"`, `".5 GB"`, `"512 MiB"`.
//!
//! Arithmetic is exact (decimal mantissa and scale, no floating point): a value that
//! does not come to a whole number of CPU units or MiB is an error, not a rounding.

/// Parses a task-level CPU string into CPU units (1024 per vCPU).
pub(crate) fn parse_cpu_units(text: &str) -> Result<u32, String> {
    let (number, unit) = split(text)?;
    let factor = match unit.to_ascii_lowercase().as_str() {
        "" => 1,
        "vcpu" | "vcpus" | "cpu" | "cpus" => 1024,
        other => {
            return Err(format!(
                "unknown CPU unit {other:?} (expected CPU units such as \"256\", or vCPU such as \"0.5 vCPU\")"
            ));
        }
    };
    scale(number, factor, "CPU units")
}

/// Parses a task-level memory string into MiB.
pub(crate) fn parse_memory_mib(text: &str) -> Result<u32, String> {
    let (number, unit) = split(text)?;
    let factor = match unit.to_ascii_lowercase().as_str() {
        "" | "m" | "mb" | "mib" => 1,
        "g" | "gb" | "gib" => 1024,
        other => {
            return Err(format!(
                "unknown memory unit {other:?} (expected MiB such as \"512\", or GB such as \"2 GB\")"
            ));
        }
    };
    scale(number, factor, "MiB")
}

/// Splits `" 0.5 vCPU "` into `("0.5", "vCPU")`.
fn split(text: &str) -> Result<(&str, &str), String> {
    let text = text.trim();
    if text.is_empty() {
        return Err("empty".to_owned());
    }
    let end = text
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(end);
    if number.is_empty() {
        return Err(format!("{text:?} does not start with a number"));
    }
    Ok((number, unit.trim()))
}

/// `number * factor`, exactly, as a positive whole `u32`.
fn scale(number: &str, factor: u64, what: &str) -> Result<u32, String> {
    let (whole, fraction) = number.split_once('.').unwrap_or((number, ""));
    if fraction.contains('.') || (whole.is_empty() && fraction.is_empty()) {
        return Err(format!("{number:?} is not a number"));
    }
    if whole.len() + fraction.len() > 15 {
        return Err(format!("{number:?} is too large"));
    }
    let digits = format!("{whole}{fraction}");
    let mantissa: u64 = digits
        .parse()
        .map_err(|_| format!("{number:?} is not a number"))?;
    let divisor = 10u64.pow(fraction.len() as u32);
    let scaled = mantissa * factor;
    if !scaled.is_multiple_of(divisor) {
        return Err(format!(
            "{number} does not come to a whole number of {what}"
        ));
    }
    let value = scaled / divisor;
    if value == 0 {
        return Err("must be greater than zero".to_owned());
    }
    u32::try_from(value).map_err(|_| format!("{number} is too large"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cpu_forms() {
        for (text, units) in [
            ("256", 256),
            ("1024", 1024),
            ("1 vCPU", 1024),
            ("1 vcpu", 1024),
            ("0.5 vCPU", 512),
            (".25 vcpu", 256),
            ("2vCPU", 2048),
            (" 4 VCPU ", 4096),
        ] {
            assert_eq!(parse_cpu_units(text), Ok(units), "{text}");
        }
    }

    #[test]
    fn memory_forms() {
        for (text, mib) in [
            ("512", 512),
            ("2GB", 2048),
            ("2 gb", 2048),
            (".5 gb", 512),
            ("0.5 GB", 512),
            ("3072", 3072),
            ("512 MiB", 512),
            ("1 GiB", 1024),
        ] {
            assert_eq!(parse_memory_mib(text), Ok(mib), "{text}");
        }
    }

    #[test]
    fn rejects_malformed_and_inexact() {
        for text in [
            "",
            "abc",
            "1.2.3",
            "0",
            "0.0001 vCPU",
            "12 cores",
            ".",
            "0.5",
        ] {
            assert!(parse_cpu_units(text).is_err(), "{text}");
        }
        for text in ["", "2 TB", "0.0001 GB", "-5", "99999999999999999"] {
            assert!(parse_memory_mib(text).is_err(), "{text}");
        }
    }
}
