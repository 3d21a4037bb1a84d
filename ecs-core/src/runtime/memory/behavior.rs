//! How a simulated container behaves: how long it runs, how it exits, how it answers
//! SIGTERM, its health and its resource use.

use std::time::Duration;

/// What a simulated container does once started.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct Behavior {
    /// Runs this long, then exits with `exit_code`; `None` runs until stopped.
    pub run_for: Option<Duration>,
    /// The code it exits with on its own.
    pub exit_code: i32,
    /// On SIGTERM: exit at once with this code (`None`: ignore SIGTERM, as busybox does
    /// as PID 1, so the stop timeout's SIGKILL ends it with 137).
    pub on_sigterm: Option<i32>,
    /// With a health check: healthy after this long (`None`: never).
    pub healthy_after: Option<Duration>,
    /// With a health check: unhealthy after this long (`None`: never).
    pub unhealthy_after: Option<Duration>,
    /// Killed for memory after this long (exit 137, OOM).
    pub oom_after: Option<Duration>,
    /// CPU use, in CPUs (0.5: half a CPU).
    pub cpu: f64,
    /// Memory use, bytes.
    pub memory_bytes: u64,
}

impl Default for Behavior {
    fn default() -> Self {
        Self::forever()
    }
}

impl Behavior {
    /// Runs until stopped, exits 143 on SIGTERM (as a process killed by it), turns
    /// healthy at once if it has a health check, uses a little CPU and 16 MiB.
    pub fn forever() -> Self {
        Self {
            run_for: None,
            exit_code: 0,
            on_sigterm: Some(143),
            healthy_after: Some(Duration::ZERO),
            unhealthy_after: None,
            oom_after: None,
            cpu: 0.01,
            memory_bytes: 16 << 20,
        }
    }

    /// Runs for `duration`, then exits with `code`.
    pub fn exits(code: i32, after: Duration) -> Self {
        Self {
            run_for: Some(after),
            exit_code: code,
            ..Self::forever()
        }
    }

    /// Ignores SIGTERM (stops only by SIGKILL at the stop timeout, with 137).
    #[must_use]
    pub fn ignoring_sigterm(mut self) -> Self {
        self.on_sigterm = None;
        self
    }

    /// Exits with `code` on SIGTERM.
    #[must_use]
    pub fn on_sigterm(mut self, code: i32) -> Self {
        self.on_sigterm = Some(code);
        self
    }

    /// Turns healthy after `after` (`None`: never).
    #[must_use]
    pub fn healthy_after(mut self, after: Option<Duration>) -> Self {
        self.healthy_after = after;
        self
    }

    /// Turns unhealthy after `after`.
    #[must_use]
    pub fn unhealthy_after(mut self, after: Duration) -> Self {
        self.unhealthy_after = Some(after);
        self
    }

    /// Is killed for memory after `after`.
    #[must_use]
    pub fn oom_after(mut self, after: Duration) -> Self {
        self.oom_after = Some(after);
        self
    }

    /// Uses `cpus` CPUs and `memory_bytes` of memory.
    #[must_use]
    pub fn using(mut self, cpus: f64, memory_bytes: u64) -> Self {
        self.cpu = cpus;
        self.memory_bytes = memory_bytes;
        self
    }
}

/// Which containers a behavior applies to.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Matcher {
    /// Every container.
    Any,
    /// Containers with this name in their task definition.
    Container(String),
    /// Containers of this image.
    Image(String),
}

impl Matcher {
    /// Whether a container made from `spec` matches.
    pub(crate) fn matches(&self, spec: &crate::runtime::ContainerSpec) -> bool {
        match self {
            Matcher::Any => true,
            Matcher::Container(n) => {
                spec.labels.get(crate::runtime::labels::CONTAINER_NAME) == Some(n)
            }
            Matcher::Image(i) => *i == spec.image,
        }
    }
}

/// The runtime operations faults can be injected into.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum Operation {
    /// `ensure_image`.
    Pull,
    /// `create_container`.
    Create,
    /// `start_container`.
    Start,
    /// `stop_container`.
    Stop,
    /// `remove_container`.
    Remove,
    /// `inspect_container`.
    Inspect,
    /// `container_stats`.
    Stats,
    /// `list_containers`.
    List,
    /// `container_logs`.
    Logs,
    /// `exec`.
    Exec,
    /// `ensure_network`.
    Network,
}

/// What a container's command would do on a real engine, read from the few shell idioms
/// task definitions and tests use: `sleep N`, `exit N`, `true`/`false`, `trap '...' TERM`,
/// endless loops. It lets the same task definitions and conformance checks run on the
/// simulated engine and on real ones.
pub(crate) fn from_spec(spec: &super::super::types::ContainerSpec) -> Behavior {
    let mut words: Vec<String> = spec.entry_point.iter().flatten().cloned().collect();
    words.extend(spec.command.iter().flatten().cloned());
    let script = words.join(" ");
    let mut b = Behavior::forever();
    if words.is_empty() {
        // The image's own command: a daemon that handles SIGTERM.
    } else {
        let forever = [
            "while true",
            "while :",
            "sleep infinity",
            "tail -f",
            "httpd -f",
            "nc -l",
        ]
        .iter()
        .any(|w| script.contains(w));
        let sleeps: f64 = numbers_after(&script, "sleep ").iter().sum();
        let exit_code = numbers_after(&script, "exit ")
            .last()
            .copied()
            .map(|n| n as i32);
        let first = words.first().map(String::as_str).unwrap_or("");
        let last = script.trim().rsplit([' ', ';', '&']).next().unwrap_or("");
        let code = exit_code.unwrap_or(if first == "false" || last == "false" {
            1
        } else {
            0
        });
        if !forever
            && (sleeps > 0.0
                || exit_code.is_some()
                || matches!(first, "true" | "false")
                || script.contains("echo"))
        {
            b.run_for = Some(Duration::from_secs_f64(sleeps));
            b.exit_code = code;
        }
        // A shell as PID 1 ignores SIGTERM unless it traps it or an init forwards it.
        b.on_sigterm = match trap_handler(&script) {
            Some(handler) => numbers_after(&handler, "exit ")
                .last()
                .map(|n| *n as i32)
                .or(if handler.trim().is_empty() {
                    None
                } else {
                    Some(0)
                }),
            None if spec.init => Some(143),
            None => None,
        };
    }
    if let Some(hc) = &spec.health_check {
        // Fails only when the whole check is a failure (`false`, `exit 1`); a real probe
        // such as `curl -f http://localhost/ || exit 1` passes, as it would against a
        // healthy service.
        let check = hc
            .command
            .iter()
            .skip(1)
            .map(String::as_str)
            .collect::<Vec<_>>()
            .join(" ");
        let check = check.trim();
        let failing = check == "false"
            || numbers_after(check, "exit ")
                .first()
                .is_some_and(|c| *c != 0.0 && check.starts_with("exit"));
        if failing {
            b.healthy_after = None;
            b.unhealthy_after = Some(hc.interval * hc.retries.max(1));
        } else {
            b.healthy_after = Some(hc.interval);
        }
    }
    b
}

/// The numbers right after each `prefix` in `text` (`sleep 5; sleep 0.5` -> [5, 0.5]).
fn numbers_after(text: &str, prefix: &str) -> Vec<f64> {
    text.match_indices(prefix)
        .filter_map(|(i, _)| {
            let rest = &text[i + prefix.len()..];
            let digits: String = rest
                .chars()
                .take_while(|c| c.is_ascii_digit() || *c == '.')
                .collect();
            digits.parse().ok()
        })
        .collect()
}

/// The handler of `trap '...' TERM` (or `trap "..." TERM`), if the script sets one.
fn trap_handler(script: &str) -> Option<String> {
    let at = script.find("trap ")?;
    let rest = &script[at + 5..];
    let quote = rest.chars().next().filter(|c| *c == '\'' || *c == '"')?;
    let body = &rest[1..];
    let end = body.find(quote)?;
    // The signals run to the end of the command: `TERM`, `SIGTERM`, `INT TERM` ...
    let signals = body[end + 1..].split([';', '&', '\n']).next().unwrap_or("");
    signals
        .split_whitespace()
        .any(|s| matches!(s, "TERM" | "SIGTERM" | "15"))
        .then(|| body[..end].to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::runtime::{ContainerSpec, HealthCheckSpec};

    fn spec(script: &str) -> ContainerSpec {
        let mut s = ContainerSpec::new("c", "busybox");
        s.command = Some(vec!["sh".into(), "-c".into(), script.into()]);
        s
    }

    #[test]
    fn shell_idioms() {
        let b = from_spec(&spec("sleep 0.5; exit 3"));
        assert_eq!(
            (b.run_for, b.exit_code),
            (Some(Duration::from_millis(500)), 3)
        );
        for trap in [
            "trap 'exit 0' TERM; sleep 100",
            "trap 'exit 0' SIGTERM; sleep 100",
            "trap 'exit 0' INT TERM; sleep 9",
        ] {
            assert_eq!(from_spec(&spec(trap)).on_sigterm, Some(0), "{trap}");
        }
        assert_eq!(
            from_spec(&spec("trap '' TERM; while true; do sleep 1; done")).on_sigterm,
            None
        );
        assert_eq!(
            from_spec(&spec("while true; do sleep 1; done")).run_for,
            None
        );
        let mut probe = spec("httpd -f");
        let check = |cmd: &str| HealthCheckSpec {
            command: vec!["CMD-SHELL".into(), cmd.into()],
            interval: Duration::from_secs(5),
            timeout: Duration::from_secs(2),
            retries: 3,
            start_period: Duration::ZERO,
        };
        probe.health_check = Some(check("curl -f http://localhost/ || exit 1"));
        assert_eq!(
            from_spec(&probe).healthy_after,
            Some(Duration::from_secs(5))
        );
        probe.health_check = Some(check("exit 1"));
        assert_eq!(
            from_spec(&probe).unhealthy_after,
            Some(Duration::from_secs(15))
        );
    }
}
