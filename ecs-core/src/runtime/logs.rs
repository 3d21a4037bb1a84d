//! A container's output: which of it to read ([`LogOptions`]), the lines read
//! ([`LogLine`]), and the log drivers an engine runs for a container ([`LoggingSpec`]).
//!
//! The options mean the same on every runtime, as Docker and Podman read their own logs:
//! `tail` takes the last lines the container wrote on both streams, then `since`,
//! `until` and the streams select among those.

use std::collections::BTreeMap;
use std::fmt;

use jiff::Timestamp;

/// Standard output or standard error.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum StdStream {
    /// Standard output.
    Stdout,
    /// Standard error.
    Stderr,
}

impl StdStream {
    /// `stdout` or `stderr`.
    pub fn as_str(self) -> &'static str {
        match self {
            StdStream::Stdout => "stdout",
            StdStream::Stderr => "stderr",
        }
    }
}

impl fmt::Display for StdStream {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Which of a container's output to read
/// ([`ContainerRuntime::container_logs`](super::ContainerRuntime::container_logs)).
///
/// The default reads everything written so far on both streams, with timestamps.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct LogOptions {
    /// Only lines written at or after this time.
    pub since: Option<Timestamp>,
    /// Only lines written at or before this time.
    pub until: Option<Timestamp>,
    /// Only the last this many lines the container wrote so far, counted over both
    /// streams (as Docker and Podman count them), before `since`, `until` and the
    /// streams select among them.
    pub tail: Option<u64>,
    /// After the lines written so far, the lines written later, as they are written: the
    /// stream ends when the container stops (or when it is dropped).
    pub follow: bool,
    /// Lines of standard output.
    pub stdout: bool,
    /// Lines of standard error.
    pub stderr: bool,
    /// Each line with the time it was written.
    pub timestamps: bool,
}

impl Default for LogOptions {
    fn default() -> Self {
        Self {
            since: None,
            until: None,
            tail: None,
            follow: false,
            stdout: true,
            stderr: true,
            timestamps: true,
        }
    }
}

impl LogOptions {
    /// Only lines written at or after `since`.
    #[must_use]
    pub fn with_since(mut self, since: Timestamp) -> Self {
        self.since = Some(since);
        self
    }

    /// Only lines written at or before `until`.
    #[must_use]
    pub fn with_until(mut self, until: Timestamp) -> Self {
        self.until = Some(until);
        self
    }

    /// Only the last `lines` lines written so far (see [`tail`](Self::tail)).
    #[must_use]
    pub fn with_tail(mut self, lines: u64) -> Self {
        self.tail = Some(lines);
        self
    }

    /// And the lines written later, until the container stops.
    #[must_use]
    pub fn following(mut self) -> Self {
        self.follow = true;
        self
    }

    /// Only the lines of `stream`.
    #[must_use]
    pub fn only(mut self, stream: StdStream) -> Self {
        self.stdout = stream == StdStream::Stdout;
        self.stderr = stream == StdStream::Stderr;
        self
    }

    /// Lines without their timestamps.
    #[must_use]
    pub fn without_timestamps(mut self) -> Self {
        self.timestamps = false;
        self
    }

    /// Whether `stream` is read.
    pub fn reads(&self, stream: StdStream) -> bool {
        match stream {
            StdStream::Stdout => self.stdout,
            StdStream::Stderr => self.stderr,
        }
    }

    /// Whether a line written on `stream` at `at` is selected by the streams, `since`
    /// and `until` (`tail` aside). A line without a time passes the time bounds.
    pub fn selects(&self, stream: StdStream, at: Option<Timestamp>) -> bool {
        self.reads(stream)
            && at.is_none_or(|t| {
                self.since.is_none_or(|since| t >= since) && self.until.is_none_or(|u| t <= u)
            })
    }
}

/// One line a container wrote.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct LogLine {
    /// On which stream.
    pub stream: StdStream,
    /// When, as precisely as the engine says (Docker: nanoseconds; Podman 4.3's API:
    /// whole seconds); `None` when not asked for.
    pub timestamp: Option<Timestamp>,
    /// The line, without its newline (invalid UTF-8 replaced).
    pub message: String,
}

impl LogLine {
    /// A line written on `stream` at `timestamp`.
    pub fn new(
        stream: StdStream,
        timestamp: Option<Timestamp>,
        message: impl Into<String>,
    ) -> Self {
        Self {
            stream,
            timestamp,
            message: message.into(),
        }
    }

    /// A line as Docker and libpod send it when asked for timestamps:
    /// `2026-12-02T18:12:31.431521975Z message` (the time, a space, the line). Text that
    /// does not start with a time is the whole message, without one. For backends.
    pub fn parse_timestamped(stream: StdStream, text: &str) -> Self {
        let text = text.strip_suffix('\n').unwrap_or(text);
        let text = text.strip_suffix('\r').unwrap_or(text);
        if let Some((time, message)) = text.split_once(' ')
            && let Ok(t) = time.parse::<Timestamp>()
        {
            return Self::new(stream, Some(t), message);
        }
        if let Ok(t) = text.parse::<Timestamp>() {
            // An empty line: the time alone.
            return Self::new(stream, Some(t), "");
        }
        Self::new(stream, None, text)
    }

    /// The lines of one chunk an engine sent on `stream`, each starting with its time
    /// (engines send one line per chunk, but a chunk may hold several). For backends.
    pub fn parse_chunk(stream: StdStream, chunk: &[u8]) -> Vec<Self> {
        let text = String::from_utf8_lossy(chunk);
        let text = text.strip_suffix('\n').unwrap_or(&text);
        text.split('\n')
            .map(|line| Self::parse_timestamped(stream, line))
            .collect()
    }
}

/// For a backend whose engine applies `tail` when it receives a request (which may be a
/// moment after the call, as clients send a streaming request when it is first polled):
/// `options` with `follow` and a `tail` as two reads that mean exactly what the options
/// do, at `now` (the call): the last lines up to `now` without following, then, following,
/// the lines written after `now`. `None` when one read is exact already (no `follow`, or
/// no `tail`: every line from `since` on comes whenever the engine starts reading).
pub fn split_follow(options: &LogOptions, now: Timestamp) -> Option<(LogOptions, LogOptions)> {
    options.tail?;
    if !options.follow {
        return None;
    }
    let mut backlog = options.clone();
    backlog.follow = false;
    backlog.until = Some(options.until.map_or(now, |u| u.min(now)));
    let after = now
        .checked_add(jiff::SignedDuration::from_nanos(1))
        .unwrap_or(now);
    let mut later = options.clone();
    later.tail = None;
    later.since = Some(options.since.map_or(after, |s| s.max(after)));
    Some((backlog, later))
}

/// A log driver an engine runs for a container here: the ones of a task definition's
/// `logConfiguration` that write the output on the engine's host, where the engine reads
/// it back (the others, such as `awslogs`, leave the container on the engine's default
/// driver; see [`container_spec`](super::container_spec)).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum EngineLogDriver {
    /// Docker's JSON lines file (`json-file`); libpod's driver of that name.
    JsonFile,
    /// Docker's compact file format (`local`); libpod has none and keeps its own file
    /// format (`k8s-file`) instead.
    Local,
}

impl EngineLogDriver {
    /// The driver's name in a task definition (and Docker's).
    pub fn as_str(self) -> &'static str {
        match self {
            EngineLogDriver::JsonFile => "json-file",
            EngineLogDriver::Local => "local",
        }
    }
}

impl fmt::Display for EngineLogDriver {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Where an engine keeps a container's output: a driver and its options (`max-size`,
/// `max-file` ...), as the task definition's `logConfiguration` gives them.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct LoggingSpec {
    /// The driver.
    pub driver: EngineLogDriver,
    /// Its options, as written (`max-size: 10m`).
    pub options: BTreeMap<String, String>,
}

impl LoggingSpec {
    /// `driver` with `options`.
    pub fn new(driver: EngineLogDriver, options: BTreeMap<String, String>) -> Self {
        Self { driver, options }
    }
}

/// A size as Docker's log options write it (`10m`, `512k`, `1g`, `2048`: bytes, or
/// kilo-, mega- or gigabytes of 1024), in bytes; `None` when it is not one. For backends
/// whose engine takes a number of bytes.
pub fn log_size_bytes(text: &str) -> Option<u64> {
    let text = text.trim();
    let (digits, unit) = match text.find(|c: char| !c.is_ascii_digit()) {
        Some(i) => text.split_at(i),
        None => (text, ""),
    };
    let n: u64 = digits.parse().ok()?;
    let factor: u64 = match unit.to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "k" | "kb" => 1 << 10,
        "m" | "mb" => 1 << 20,
        "g" | "gb" => 1 << 30,
        _ => return None,
    };
    n.checked_mul(factor)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn engines_timestamped_lines() {
        let line =
            LogLine::parse_timestamped(StdStream::Stderr, "2026-12-02T18:12:31.431521975Z err 1\n");
        assert_eq!(line.stream, StdStream::Stderr);
        assert_eq!(line.message, "err 1");
        assert_eq!(
            line.timestamp,
            Some("2026-12-02T18:12:31.431521975Z".parse().unwrap())
        );
        // Podman 4.3: whole seconds.
        let line = LogLine::parse_timestamped(StdStream::Stdout, "2026-12-02T18:12:28Z out1");
        assert_eq!(
            line.timestamp,
            Some("2026-12-02T18:12:28Z".parse().unwrap())
        );
        assert_eq!(line.message, "out1");
        let empty = LogLine::parse_timestamped(StdStream::Stdout, "2026-12-02T18:12:28Z ");
        assert_eq!(empty.message, "");
        let bare = LogLine::parse_timestamped(StdStream::Stdout, "no time here");
        assert_eq!(
            (bare.timestamp, bare.message.as_str()),
            (None, "no time here")
        );
        let lines = LogLine::parse_chunk(
            StdStream::Stdout,
            b"2026-12-02T18:12:28Z a\n2026-12-02T18:12:29Z b\n",
        );
        assert_eq!(
            lines.iter().map(|l| l.message.as_str()).collect::<Vec<_>>(),
            ["a", "b"]
        );
    }

    #[test]
    fn options_select_by_stream_and_time() {
        let t = |s: &str| s.parse::<Timestamp>().unwrap();
        let o = LogOptions::default()
            .with_since(t("2026-01-01T00:00:01Z"))
            .with_until(t("2026-01-01T00:00:02Z"))
            .only(StdStream::Stderr);
        assert!(o.selects(StdStream::Stderr, Some(t("2026-01-01T00:00:01Z"))));
        assert!(o.selects(StdStream::Stderr, Some(t("2026-01-01T00:00:02Z"))));
        assert!(!o.selects(StdStream::Stderr, Some(t("2026-01-01T00:00:00.9Z"))));
        assert!(!o.selects(StdStream::Stderr, Some(t("2026-01-01T00:00:02.1Z"))));
        assert!(!o.selects(StdStream::Stdout, Some(t("2026-01-01T00:00:01.5Z"))));
        assert!(o.selects(StdStream::Stderr, None));
    }

    #[test]
    fn following_with_a_tail_reads_up_to_now_then_after_it() {
        let now: Timestamp = "2026-01-01T00:00:10Z".parse().unwrap();
        assert_eq!(split_follow(&LogOptions::default().following(), now), None);
        assert_eq!(split_follow(&LogOptions::default().with_tail(3), now), None);
        let (backlog, later) =
            split_follow(&LogOptions::default().following().with_tail(3), now).unwrap();
        assert_eq!(
            (backlog.follow, backlog.tail, backlog.until),
            (false, Some(3), Some(now))
        );
        assert_eq!((later.follow, later.tail), (true, None));
        assert_eq!(
            later.since,
            Some("2026-01-01T00:00:10.000000001Z".parse().unwrap())
        );
    }

    #[test]
    fn docker_log_sizes() {
        assert_eq!(log_size_bytes("10m"), Some(10 << 20));
        assert_eq!(log_size_bytes("512k"), Some(512 << 10));
        assert_eq!(log_size_bytes("1g"), Some(1 << 30));
        assert_eq!(log_size_bytes("2048"), Some(2048));
        assert_eq!(log_size_bytes("1MB"), Some(1 << 20));
        assert_eq!(log_size_bytes("ten"), None);
        assert_eq!(log_size_bytes("1t"), None);
    }
}
