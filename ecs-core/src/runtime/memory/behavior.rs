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
        let sleeps: u64 = numbers_after(&script, "sleep ").iter().sum();
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
            && (sleeps > 0
                || exit_code.is_some()
                || matches!(first, "true" | "false")
                || script.contains("echo"))
        {
            b.run_for = Some(Duration::from_secs(sleeps));
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
        let check = hc.command.join(" ");
        let failing = check.contains("false")
            || numbers_after(&check, "exit ")
                .last()
                .is_some_and(|c| *c != 0);
        if failing {
            b.healthy_after = None;
            b.unhealthy_after = Some(hc.interval * hc.retries.max(1));
        } else {
            b.healthy_after = Some(hc.interval);
        }
    }
    b
}

/// The numbers right after each `prefix` in `text` (`sleep 5; sleep 10` -> [5, 10]).
fn numbers_after(text: &str, prefix: &str) -> Vec<u64> {
    text.match_indices(prefix)
        .filter_map(|(i, _)| {
            let rest = &text[i + prefix.len()..];
            let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
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
    let after = &body[end + 1..];
    after
        .trim_start()
        .starts_with("TERM")
        .then(|| body[..end].to_owned())
}
