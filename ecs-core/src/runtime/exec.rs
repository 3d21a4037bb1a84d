//! Running a command in a running container
//! ([`ContainerRuntime::exec`](super::ContainerRuntime::exec)): what to run
//! ([`ExecSpec`]) and the session it opens ([`ExecSession`]): its output as it comes,
//! its standard input when interactive, and its exit code.

use std::fmt;
use std::pin::Pin;

use futures::StreamExt;
use futures::future::BoxFuture;
use futures::stream::BoxStream;
use tokio::io::AsyncWrite;

use super::RuntimeError;
use super::logs::StdStream;

/// A command to run in a container.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ExecSpec {
    /// The program and its arguments (no shell: `["sh", "-c", "..."]` for one).
    pub command: Vec<String>,
    /// With its standard input open to [`ExecSession::stdin`].
    pub interactive: bool,
    /// On a terminal: its output comes as one stream (standard output), as a terminal
    /// shows it (`\r\n` line ends, what is typed echoed back).
    pub tty: bool,
}

impl ExecSpec {
    /// Runs `command`, without input or terminal.
    pub fn new(command: Vec<String>) -> Self {
        Self {
            command,
            interactive: false,
            tty: false,
        }
    }

    /// With its standard input open.
    #[must_use]
    pub fn interactive(mut self) -> Self {
        self.interactive = true;
        self
    }

    /// On a terminal.
    #[must_use]
    pub fn with_tty(mut self) -> Self {
        self.tty = true;
        self
    }
}

/// Bytes a command wrote on one of its streams.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ExecChunk {
    /// Which stream (standard output for everything on a terminal).
    pub stream: StdStream,
    /// What it wrote, as it came (not cut into lines).
    pub data: Vec<u8>,
}

impl ExecChunk {
    /// `data` written on `stream`.
    pub fn new(stream: StdStream, data: impl Into<Vec<u8>>) -> Self {
        Self {
            stream,
            data: data.into(),
        }
    }
}

/// The standard input of an interactive command: shutting it down
/// ([`AsyncWriteExt::shutdown`](tokio::io::AsyncWriteExt::shutdown)) or dropping it
/// closes the command's input (end of file).
pub type ExecInput = Pin<Box<dyn AsyncWrite + Send>>;

/// A command started in a container. Its parts can be taken apart and used
/// independently (write the input from one task, read the output from another).
#[non_exhaustive]
pub struct ExecSession {
    /// What it writes, as it writes it; ends when it exits.
    pub output: BoxStream<'static, Result<ExecChunk, RuntimeError>>,
    /// Its standard input, when started interactive.
    pub stdin: Option<ExecInput>,
    /// Resolves to its exit code once it has exited. Read its output meanwhile: an
    /// engine holds a command that writes more than its buffers take until it is read.
    pub exit_code: BoxFuture<'static, Result<i32, RuntimeError>>,
}

impl ExecSession {
    /// A session of these parts. For backends.
    pub fn new(
        output: BoxStream<'static, Result<ExecChunk, RuntimeError>>,
        stdin: Option<ExecInput>,
        exit_code: BoxFuture<'static, Result<i32, RuntimeError>>,
    ) -> Self {
        Self {
            output,
            stdin,
            exit_code,
        }
    }

    /// Closes its input (if open), reads all its output and waits for its exit.
    pub async fn wait(self) -> Result<ExecOutcome, RuntimeError> {
        let Self {
            mut output,
            stdin,
            exit_code,
        } = self;
        drop(stdin);
        let (mut stdout, mut stderr) = (Vec::new(), Vec::new());
        while let Some(chunk) = output.next().await {
            let chunk = chunk?;
            match chunk.stream {
                StdStream::Stdout => stdout.extend(chunk.data),
                StdStream::Stderr => stderr.extend(chunk.data),
            }
        }
        Ok(ExecOutcome {
            stdout: String::from_utf8_lossy(&stdout).into_owned(),
            stderr: String::from_utf8_lossy(&stderr).into_owned(),
            exit_code: exit_code.await?,
        })
    }
}

impl fmt::Debug for ExecSession {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ExecSession")
            .field("interactive", &self.stdin.is_some())
            .finish_non_exhaustive()
    }
}

/// All a command wrote, and how it exited ([`ExecSession::wait`]).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ExecOutcome {
    /// Its standard output (invalid UTF-8 replaced).
    pub stdout: String,
    /// Its standard error (invalid UTF-8 replaced).
    pub stderr: String,
    /// Its exit code.
    pub exit_code: i32,
}
