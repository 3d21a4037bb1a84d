//! Writing your own backend: containers run as local processes.
//!
//! ```text
//! cargo run --example process_backend
//! ```
//!
//! A backend is one implementation of `ContainerRuntime`. This one ignores images (each
//! "container" is its command run on the host), supports host networking only, stops
//! with SIGTERM then SIGKILL, reports exits as events, keeps what each process writes
//! (its logs), and runs ExecuteCommand's commands as more local processes (without a
//! terminal: both streams come as standard output when one is asked for). It declares
//! exactly that in its capabilities, so a task definition that needs more (health
//! checks, bridge networking, volumes ...) is refused instead of half-run.
//!
//! `cargo test --features conformance --example process_backend` runs the conformance
//! suite's checks of logs and exec against it.

use std::collections::BTreeMap;
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use ecs::TaskDefinition;
use ecs::cluster::Resources;
use ecs::control::{
    Ecs, EcsConfig, ExecuteCommand, GetContainerLogs, RegisterContainerInstance, RunTask,
};
use ecs::runtime::{
    Capabilities, ContainerEvent, ContainerEventKind, ContainerId, ContainerInfo, ContainerRuntime,
    ContainerSpec, ContainerState, ContainerStats, ExecChunk, ExecInput, ExecSession, ExecSpec,
    HostInfo, LogLine, LogOptions, PullPolicy, RuntimeError, StdStream,
};
use ecs::task::TaskStatus;
use futures::stream::BoxStream;
use futures::{FutureExt, StreamExt};
use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncReadExt, BufReader};
use tokio::sync::{broadcast, mpsc};

struct Proc {
    spec: ContainerSpec,
    state: ContainerState,
    pid: Option<u32>,
    /// What it wrote, line by line.
    output: Vec<LogLine>,
    /// Readers following its output, until it exits.
    followers: Vec<mpsc::UnboundedSender<LogLine>>,
}

/// Runs each container as a child process of this program.
#[derive(Clone)]
struct ProcessRuntime {
    procs: Arc<Mutex<BTreeMap<ContainerId, Proc>>>,
    events: broadcast::Sender<ContainerEvent>,
}

impl ProcessRuntime {
    fn new() -> Self {
        Self {
            procs: Arc::default(),
            events: broadcast::channel(256).0,
        }
    }

    fn with<T>(&self, id: &ContainerId, f: impl FnOnce(&mut Proc) -> T) -> Result<T, RuntimeError> {
        let mut procs = self.procs.lock().unwrap_or_else(|e| e.into_inner());
        procs
            .get_mut(id)
            .map(f)
            .ok_or_else(|| RuntimeError::NotFound(id.to_string()))
    }

    /// Keeps each line `pipe` gives as written on `stream`, and hands it to followers,
    /// until the pipe ends.
    async fn collect(
        &self,
        id: &ContainerId,
        stream: StdStream,
        pipe: Option<impl AsyncRead + Unpin>,
    ) {
        let Some(pipe) = pipe else {
            return;
        };
        let mut lines = BufReader::new(pipe).lines();
        while let Ok(Some(text)) = lines.next_line().await {
            let line = LogLine::new(stream, Some(jiff::Timestamp::now()), text);
            let _ = self.with(id, |p| {
                p.followers.retain(|f| f.send(line.clone()).is_ok());
                p.output.push(line);
            });
        }
    }

    fn info(id: &ContainerId, p: &Proc) -> ContainerInfo {
        ContainerInfo::new(
            id.clone(),
            p.spec.name.clone(),
            p.spec.labels.clone(),
            p.state,
        )
    }
}

#[async_trait]
impl ContainerRuntime for ProcessRuntime {
    fn name(&self) -> String {
        "local-process".into()
    }

    fn capabilities(&self) -> Capabilities {
        let mut c = Capabilities::NONE;
        c.host_network = true;
        c.graceful_stop = true;
        c.events = true;
        c.execute_command = true;
        c
    }

    async fn describe_host(&self) -> Result<HostInfo, RuntimeError> {
        let cpus = std::thread::available_parallelism().map_or(1, |n| n.get() as u32);
        Ok(HostInfo::linux(
            Resources::new(cpus * 1024, 1024),
            "local processes",
        ))
    }

    async fn ensure_image(&self, _image: &str, _policy: PullPolicy) -> Result<(), RuntimeError> {
        Ok(()) // Images mean nothing here: the command runs on the host.
    }

    async fn create_container(&self, spec: &ContainerSpec) -> Result<ContainerId, RuntimeError> {
        let id = ContainerId(spec.name.clone());
        let mut procs = self.procs.lock().unwrap_or_else(|e| e.into_inner());
        if procs.contains_key(&id) {
            return Err(RuntimeError::Conflict(spec.name.clone()));
        }
        procs.insert(
            id.clone(),
            Proc {
                spec: spec.clone(),
                state: ContainerState::Created,
                pid: None,
                output: Vec::new(),
                followers: Vec::new(),
            },
        );
        Ok(id)
    }

    async fn start_container(&self, id: &ContainerId) -> Result<(), RuntimeError> {
        let spec = self.with(id, |p| p.spec.clone())?;
        let argv: Vec<String> = spec
            .entry_point
            .iter()
            .flatten()
            .chain(spec.command.iter().flatten())
            .cloned()
            .collect();
        let (program, args) = argv
            .split_first()
            .ok_or_else(|| RuntimeError::InvalidRequest("no command".into()))?;
        let mut child = tokio::process::Command::new(program)
            .args(args)
            .envs(spec.full_environment())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| RuntimeError::InvalidRequest(format!("{program}: {e}")))?;
        let pid = child.id();
        // Its output is read to its end before its exit is reported.
        let (out, err) = (child.stdout.take(), child.stderr.take());
        self.with(id, |p| {
            p.state = ContainerState::Running;
            p.pid = pid;
        })?;
        let _ = self.events.send(ContainerEvent {
            id: id.clone(),
            kind: ContainerEventKind::Start,
        });
        let me = self.clone();
        let id = id.clone();
        tokio::spawn(async move {
            let output = async {
                tokio::join!(
                    me.collect(&id, StdStream::Stdout, out),
                    me.collect(&id, StdStream::Stderr, err)
                )
            };
            let mut output = std::pin::pin!(output);
            let (status, drained) = tokio::select! {
                status = child.wait() => (status, false),
                _ = &mut output => (child.wait().await, true),
            };
            // What it wrote before it exited, read to the pipes' end (children it left
            // behind may hold them open: not waited for beyond a moment).
            if !drained {
                let _ = tokio::time::timeout(Duration::from_secs(2), output).await;
            }
            // Killed by a signal: 128 + signal, as engines report it.
            let code = status.ok().map_or(137, |s| {
                s.code().unwrap_or_else(|| {
                    128 + std::os::unix::process::ExitStatusExt::signal(&s).unwrap_or(9)
                })
            });
            let _ = me.with(&id, |p| {
                p.state = ContainerState::Exited { exit_code: code };
                // Following readers reach their end.
                p.followers.clear();
            });
            let _ = me.events.send(ContainerEvent {
                id: id.clone(),
                kind: ContainerEventKind::Die { exit_code: code },
            });
        });
        Ok(())
    }

    async fn stop_container(
        &self,
        id: &ContainerId,
        timeout: Duration,
    ) -> Result<(), RuntimeError> {
        let Some(pid) = self.with(id, |p| p.pid.filter(|_| p.state == ContainerState::Running))?
        else {
            return Ok(());
        };
        let signal = |sig: &str| {
            std::process::Command::new("kill")
                .args([sig, &pid.to_string()])
                .status()
        };
        let _ = signal("-TERM");
        let deadline = tokio::time::Instant::now() + timeout;
        while self.with(id, |p| p.state == ContainerState::Running)? {
            if tokio::time::Instant::now() >= deadline {
                let _ = signal("-KILL");
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        Ok(())
    }

    async fn remove_container(&self, id: &ContainerId) -> Result<(), RuntimeError> {
        self.stop_container(id, Duration::ZERO).await?;
        let mut procs = self.procs.lock().unwrap_or_else(|e| e.into_inner());
        procs
            .remove(id)
            .map(|_| ())
            .ok_or_else(|| RuntimeError::NotFound(id.to_string()))
    }

    async fn remove_volume(&self, name: &str) -> Result<(), RuntimeError> {
        Err(RuntimeError::NotFound(format!(
            "volume {name}: this backend has none"
        )))
    }

    async fn inspect_container(&self, id: &ContainerId) -> Result<ContainerInfo, RuntimeError> {
        self.with(id, |p| Self::info(id, p))
    }

    async fn container_stats(&self, _id: &ContainerId) -> Result<ContainerStats, RuntimeError> {
        Err(RuntimeError::Unsupported {
            runtime: self.name(),
            capability: "stats".into(),
        })
    }

    async fn list_containers(
        &self,
        labels: &BTreeMap<String, String>,
    ) -> Result<Vec<ContainerInfo>, RuntimeError> {
        let procs = self.procs.lock().unwrap_or_else(|e| e.into_inner());
        Ok(procs
            .iter()
            .filter(|(_, p)| labels.iter().all(|(k, v)| p.spec.labels.get(k) == Some(v)))
            .map(|(id, p)| Self::info(id, p))
            .collect())
    }

    async fn events(&self) -> Result<BoxStream<'static, ContainerEvent>, RuntimeError> {
        Ok(ecs::runtime::broadcast_events(self.events.subscribe()))
    }

    async fn container_logs(
        &self,
        id: &ContainerId,
        options: &LogOptions,
    ) -> Result<BoxStream<'static, Result<LogLine, RuntimeError>>, RuntimeError> {
        let (backlog, live) = self.with(id, |p| {
            // The tail counts every line, then the options choose among them.
            let from = options
                .tail
                .map_or(0, |n| p.output.len().saturating_sub(n as usize));
            let backlog: Vec<LogLine> = p.output[from..].to_vec();
            let live = (options.follow && p.state == ContainerState::Running).then(|| {
                let (tx, rx) = mpsc::unbounded_channel();
                p.followers.push(tx);
                rx
            });
            (backlog, live)
        })?;
        let later = futures::stream::unfold(live, |rx| async move {
            let mut rx = rx?;
            rx.recv().await.map(|line| (line, Some(rx)))
        });
        let (options, timestamps) = (options.clone(), options.timestamps);
        Ok(Box::pin(
            futures::stream::iter(backlog)
                .chain(later)
                .filter(move |l| futures::future::ready(options.selects(l.stream, l.timestamp)))
                .map(move |mut l| {
                    if !timestamps {
                        l.timestamp = None;
                    }
                    Ok(l)
                }),
        ))
    }

    async fn exec(&self, id: &ContainerId, spec: &ExecSpec) -> Result<ExecSession, RuntimeError> {
        let (running, environment) = self.with(id, |p| {
            (
                p.state == ContainerState::Running,
                // Its variables and its secrets, as the container was given them.
                p.spec
                    .full_environment()
                    .map(|(k, v)| (k.to_owned(), v.to_owned()))
                    .collect::<std::collections::BTreeMap<_, _>>(),
            )
        })?;
        if !running {
            return Err(RuntimeError::Conflict(format!("{id} is not running")));
        }
        let (program, args) = spec
            .command
            .split_first()
            .ok_or_else(|| RuntimeError::InvalidRequest("exec: no command".into()))?;
        let mut child = tokio::process::Command::new(program)
            .args(args)
            .envs(&environment)
            .stdin(if spec.interactive {
                Stdio::piped()
            } else {
                Stdio::null()
            })
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| RuntimeError::InvalidRequest(format!("{program}: {e}")))?;
        let stdin = child.stdin.take().map(|i| Box::pin(i) as ExecInput);
        // No terminal here: asked for one, both streams come as standard output.
        let err_stream = if spec.tty {
            StdStream::Stdout
        } else {
            StdStream::Stderr
        };
        let chunks = |stream: StdStream, pipe: Option<Box<dyn AsyncRead + Unpin + Send>>| {
            futures::stream::unfold(pipe, move |pipe| async move {
                let mut pipe = pipe?;
                let mut buf = vec![0; 8192];
                match pipe.read(&mut buf).await {
                    Ok(0) | Err(_) => None,
                    Ok(n) => Some((Ok(ExecChunk::new(stream, &buf[..n])), Some(pipe))),
                }
            })
        };
        let out = child
            .stdout
            .take()
            .map(|p| Box::new(p) as Box<dyn AsyncRead + Unpin + Send>);
        let err = child
            .stderr
            .take()
            .map(|p| Box::new(p) as Box<dyn AsyncRead + Unpin + Send>);
        let output =
            futures::stream::select(chunks(StdStream::Stdout, out), chunks(err_stream, err));
        let exit_code = async move {
            let status = child
                .wait()
                .await
                .map_err(|e| RuntimeError::Unavailable(e.to_string()))?;
            Ok(status.code().unwrap_or_else(|| {
                128 + std::os::unix::process::ExitStatusExt::signal(&status).unwrap_or(9)
            }))
        };
        Ok(ExecSession::new(Box::pin(output), stdin, exit_code.boxed()))
    }
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), ecs::Error> {
    let ecs = Ecs::new(EcsConfig::default());
    let cluster = "local".parse()?;
    ecs.create_cluster(Clone::clone(&cluster))?;
    ecs.register_container_instance(RegisterContainerInstance::new(
        cluster.clone(),
        "this-host".parse()?,
        Arc::new(ProcessRuntime::new()),
    ))
    .await?;
    ecs.register_task_definition(
        TaskDefinition::from_json(
            r#"{"family": "hello", "networkMode": "host", "containerDefinitions": [
                {"name": "greeter", "image": "none", "memory": 16, "essential": false,
                 "command": ["sh", "-c", "echo hello from a local process; exit 0"]},
                {"name": "worker", "image": "none", "memory": 16,
                 "environment": [{"name": "WHO", "value": "world"}],
                 "command": ["sh", "-c", "sleep 5; echo goodbye, $WHO; exit 3"],
                 "dependsOn": [{"containerName": "greeter", "condition": "SUCCESS"}]}]}"#,
        )?
        .definition,
    )?;
    let out = ecs.run_task(
        RunTask::new(Clone::clone(&cluster), "hello".parse()?, 1).with_execute_command(true),
    )?;
    let id = out.tasks[0].task_id.clone();
    ecs.wait_for(&id, |t| t.last_status == TaskStatus::Running)
        .await?;
    // The greeter has exited, its task runs on: what it wrote is still there.
    let logs = ecs
        .get_container_logs(GetContainerLogs::new(
            cluster.clone(),
            id.clone(),
            "greeter".parse()?,
        ))
        .await?;
    let lines: Vec<_> = logs.lines.collect().await;
    for line in lines {
        let line = line?;
        println!("greeter said on {}: {}", line.stream, line.message);
    }
    // A command in the worker, while it runs.
    let exec = ecs
        .execute_command(
            ExecuteCommand::new(cluster.clone(), id.clone(), "sh -c 'echo I am $WHO'", false)
                .with_container("worker".parse()?),
        )
        .await?;
    let done = exec
        .session
        .wait()
        .await
        .map_err(|error| ecs::Error::Runtime {
            instance: "this-host".into(),
            error,
        })?;
    println!(
        "exec in worker: {:?}, exit code {}",
        done.stdout, done.exit_code
    );
    let task = ecs
        .wait_for(&id, |t| t.last_status == TaskStatus::Stopped)
        .await?;
    for c in &task.containers {
        println!("{}: exit code {:?}", c.name, c.exit_code);
    }
    println!("task {}: {:?}", task.last_status, task.stopped_reason);
    assert_eq!(task.container("worker").and_then(|c| c.exit_code), Some(3));
    Ok(())
}

/// The conformance suite's checks of what containers write and run, against this
/// backend (the others need what it does not declare).
#[cfg(all(test, feature = "conformance"))]
mod tests {
    use std::sync::Arc;

    use ecs::conformance::{self, Fixture};

    fn fixture() -> Fixture {
        Fixture {
            runtime: Arc::new(super::ProcessRuntime::new()),
            image: "none".into(),
            missing_image: "none".into(),
            prefix: format!("ecs-conf-process-{}", std::process::id()),
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn local_processes_pass_the_logs_checks() {
        conformance::container_logs(&fixture()).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn local_processes_pass_the_exec_checks() {
        conformance::execute_command(&fixture()).await;
    }
}
