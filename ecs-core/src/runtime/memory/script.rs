//! What a command prints and how it ends, read from the shell idioms task definitions and
//! tests use, so that the simulated engine writes the output a real one would: `echo
//! hello`, `echo oops >&2`, `sleep N` between them, `exit N`, `true`/`false`, `cat`
//! (its input back, for an interactive exec), `$NAME` from the environment.
//!
//! A simulation, not a shell: commands joined by `;`, `&&`, `||` or new lines run one
//! after the other whatever their status; loops and `if` blocks print nothing; any other
//! command succeeds silently.

use std::collections::BTreeMap;
use std::time::Duration;

use crate::runtime::logs::StdStream;

/// One step of a script.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Step {
    /// Writes a line.
    Print(StdStream, String),
    /// Waits.
    Sleep(Duration),
    /// Ends with this code (none: the last command's status).
    Exit(Option<i32>),
    /// Copies its input to its output until the input ends.
    Cat,
    /// A command that ends with this status (`true`, `false`, anything else: 0).
    Status(i32),
}

/// The script a command runs: `sh -c SCRIPT`'s script, else the command itself.
pub(crate) fn script_of(argv: &[String]) -> String {
    match argv {
        [shell, flag, script, ..]
            if matches!(shell.as_str(), "sh" | "/bin/sh" | "bash" | "/bin/bash")
                && flag == "-c" =>
        {
            script.clone()
        }
        _ => shlex::try_join(argv.iter().map(String::as_str)).unwrap_or_default(),
    }
}

/// The steps of `script`, with `$NAME` and `${NAME}` taken from `env`.
pub(crate) fn steps(script: &str, env: &BTreeMap<String, String>) -> Vec<Step> {
    let mut out = Vec::new();
    // Inside a loop or an `if` block: its depth.
    let mut block = 0usize;
    for command in commands(script) {
        let Some(words) = shlex::split(&expand(&command, env)) else {
            continue;
        };
        let Some(first) = words.first().map(String::as_str) else {
            continue;
        };
        match first {
            "while" | "until" | "for" | "if" | "case" => {
                block += 1;
                continue;
            }
            "done" | "fi" | "esac" => {
                block = block.saturating_sub(1);
                continue;
            }
            _ if block > 0 => continue,
            _ => {}
        }
        out.push(match first {
            "echo" => {
                let (stream, words) = redirected(&words[1..]);
                let words: Vec<&str> = match words.first() {
                    Some(&"-n" | &"-e") => words[1..].to_vec(),
                    _ => words,
                };
                match stream {
                    Some(stream) => Step::Print(stream, words.join(" ")),
                    // Into a file or /dev/null.
                    None => Step::Status(0),
                }
            }
            "sleep" => Step::Sleep(
                words
                    .get(1)
                    .and_then(|s| s.parse::<f64>().ok())
                    .filter(|s| s.is_finite() && *s >= 0.0)
                    .map_or(Duration::ZERO, Duration::from_secs_f64),
            ),
            "exit" => Step::Exit(words.get(1).and_then(|c| c.parse().ok())),
            "false" => Step::Status(1),
            "cat" if words.len() == 1 => Step::Cat,
            _ => Step::Status(0),
        });
    }
    out
}

/// Where an `echo` goes, and its words without the redirections: standard output,
/// standard error (`>&2`, `1>&2`, `>/dev/stderr`), or nowhere to be read (`> FILE`).
fn redirected(words: &[String]) -> (Option<StdStream>, Vec<&str>) {
    let mut stream = Some(StdStream::Stdout);
    let mut out = Vec::new();
    let mut iter = words.iter().map(String::as_str);
    while let Some(w) = iter.next() {
        match w {
            ">&2" | "1>&2" | ">/dev/stderr" | "1>/dev/stderr" => stream = Some(StdStream::Stderr),
            ">&1" | "2>&1" | ">/dev/stdout" => {}
            ">" | "1>" | ">>" => {
                stream = (iter.next() == Some("/dev/stderr")).then_some(StdStream::Stderr);
            }
            _ if w.starts_with("2>") => {}
            _ if w.starts_with('>') || w.starts_with("1>") => stream = None,
            _ => match w.strip_suffix(">&2") {
                Some(word) => {
                    stream = Some(StdStream::Stderr);
                    if !word.is_empty() {
                        out.push(word);
                    }
                }
                None => out.push(w),
            },
        }
    }
    (stream, out)
}

/// The simple commands of a script, split at `;`, `&&`, `||`, `|`, `&` and new lines
/// outside quotes.
fn commands(script: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut current = String::new();
    let mut quote: Option<char> = None;
    let mut chars = script.chars().peekable();
    while let Some(c) = chars.next() {
        match (quote, c) {
            (Some(q), c) if c == q => {
                quote = None;
                current.push(c);
            }
            (Some(_), '\\') => {
                current.push(c);
                if let Some(n) = chars.next() {
                    current.push(n);
                }
            }
            (Some(_), c) => current.push(c),
            (None, '\'' | '"') => {
                quote = Some(c);
                current.push(c);
            }
            (None, '\\') => {
                current.push(c);
                if let Some(n) = chars.next() {
                    current.push(n);
                }
            }
            // `>&2` and `2>&1` are redirections, not a background `&`.
            (None, '&') if current.ends_with('>') => current.push(c),
            (None, ';' | '\n' | '|' | '&') => {
                if matches!(chars.peek(), Some('&' | '|')) {
                    chars.next();
                }
                out.push(std::mem::take(&mut current));
            }
            (None, c) => current.push(c),
        }
    }
    out.push(current);
    out.into_iter()
        .map(|c| c.trim().to_owned())
        // `do echo x` and `then echo x`: the command after the keyword.
        .map(|c| {
            for keyword in ["do ", "then ", "else "] {
                if let Some(rest) = c.strip_prefix(keyword) {
                    return rest.trim().to_owned();
                }
            }
            c
        })
        .filter(|c| !c.is_empty())
        .collect()
}

/// `$NAME` and `${NAME}` replaced by their values in `env` (empty when unset), outside
/// single quotes.
fn expand(command: &str, env: &BTreeMap<String, String>) -> String {
    let mut out = String::new();
    let mut single = false;
    let mut chars = command.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\'' => {
                single = !single;
                out.push(c);
            }
            '$' if !single => {
                let braced = chars.peek() == Some(&'{');
                if braced {
                    chars.next();
                }
                let mut name = String::new();
                while let Some(&n) = chars.peek() {
                    if n.is_ascii_alphanumeric() || n == '_' {
                        name.push(n);
                        chars.next();
                    } else {
                        break;
                    }
                }
                if braced && chars.peek() == Some(&'}') {
                    chars.next();
                }
                if name.is_empty() {
                    out.push('$');
                } else if let Some(v) = env.get(&name) {
                    out.push_str(v);
                }
            }
            _ => out.push(c),
        }
    }
    out
}

/// What a container started with `script` prints on its own, and when: each line with
/// its delay from the start (the sleeps before it), up to its `exit`.
pub(crate) fn output(
    script: &str,
    env: &BTreeMap<String, String>,
) -> Vec<(Duration, StdStream, String)> {
    let mut at = Duration::ZERO;
    let mut out = Vec::new();
    for step in steps(script, env) {
        match step {
            Step::Print(stream, line) => out.push((at, stream, line)),
            Step::Sleep(d) => at += d,
            Step::Exit(_) => break,
            Step::Cat | Step::Status(_) => {}
        }
    }
    out
}

/// Runs `steps` as an exec'd command: writes its output to `out` (everything on
/// standard output, with `\r\n` line ends and its input echoed, on a terminal), copies
/// `input` for `cat`, sleeps on tokio's clock. Returns its exit code.
pub(crate) async fn run(
    steps: Vec<Step>,
    mut input: Option<impl tokio::io::AsyncRead + Unpin>,
    out: tokio::sync::mpsc::UnboundedSender<crate::runtime::ExecChunk>,
    tty: bool,
) -> i32 {
    use crate::runtime::ExecChunk;
    use tokio::io::AsyncReadExt;
    let terminal = |data: &[u8]| -> Vec<u8> {
        let mut v = Vec::with_capacity(data.len());
        for b in data {
            if *b == b'\n' {
                v.push(b'\r');
            }
            v.push(*b);
        }
        v
    };
    let mut status = 0;
    for step in steps {
        match step {
            Step::Print(stream, line) => {
                let chunk = if tty {
                    ExecChunk::new(StdStream::Stdout, format!("{line}\r\n"))
                } else {
                    ExecChunk::new(stream, format!("{line}\n"))
                };
                // A reader gone is no reason to stop: the command runs on.
                let _ = out.send(chunk);
                status = 0;
            }
            Step::Sleep(d) => {
                tokio::time::sleep(d).await;
                status = 0;
            }
            Step::Exit(code) => return code.unwrap_or(status),
            Step::Status(code) => status = code,
            Step::Cat => {
                if let Some(input) = input.as_mut() {
                    let mut buf = vec![0; 8192];
                    loop {
                        match input.read(&mut buf).await {
                            Ok(0) | Err(_) => break,
                            Ok(n) if tty => {
                                // The terminal's echo of what was typed, then cat's copy.
                                let data = terminal(&buf[..n]);
                                let _ = out.send(ExecChunk::new(StdStream::Stdout, data.clone()));
                                let _ = out.send(ExecChunk::new(StdStream::Stdout, data));
                            }
                            Ok(n) => {
                                let _ = out.send(ExecChunk::new(StdStream::Stdout, &buf[..n]));
                            }
                        }
                    }
                }
                status = 0;
            }
        }
    }
    status
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env() -> BTreeMap<String, String> {
        BTreeMap::from([("WHO".to_owned(), "world".to_owned())])
    }

    #[test]
    fn echoes_on_both_streams_with_their_delays() {
        let out = output(
            "echo hello; echo oops >&2; sleep 1.5; echo 'a; b' && echo \"goodbye, $WHO\" 1>&2; \
             echo to-a-file > /tmp/x; exit 3; echo never",
            &env(),
        );
        let secs = Duration::from_millis(1500);
        assert_eq!(
            out,
            [
                (Duration::ZERO, StdStream::Stdout, "hello".to_owned()),
                (Duration::ZERO, StdStream::Stderr, "oops".to_owned()),
                (secs, StdStream::Stdout, "a; b".to_owned()),
                (secs, StdStream::Stderr, "goodbye, world".to_owned()),
            ]
        );
    }

    #[test]
    fn loops_print_nothing_and_traps_are_commands() {
        let out = output(
            "trap 'exit 0' TERM; echo up; while true; do echo tick; sleep 1; done",
            &env(),
        );
        assert_eq!(out, [(Duration::ZERO, StdStream::Stdout, "up".to_owned())]);
        assert_eq!(
            output("echo '$WHO' ${WHO}>&2", &env()),
            [(Duration::ZERO, StdStream::Stderr, "$WHO world".to_owned())]
        );
    }

    #[test]
    fn exec_commands() {
        let argv = |a: &[&str]| a.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(
            script_of(&argv(&["sh", "-c", "echo hi; exit 3"])),
            "echo hi; exit 3"
        );
        assert_eq!(
            steps(&script_of(&argv(&["echo", "hi there"])), &env()),
            [Step::Print(StdStream::Stdout, "hi there".to_owned())]
        );
        assert_eq!(steps("cat", &env()), [Step::Cat]);
        assert_eq!(
            steps("false; exit", &env()),
            [Step::Status(1), Step::Exit(None)]
        );
    }
}
