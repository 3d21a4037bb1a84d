//! A simulated container engine, driven by tokio's clock: containers run for a set time
//! or forever, exit with chosen codes, turn healthy or unhealthy, report stats, and
//! faults can be injected (failing calls, an unavailable engine, slow answers, containers
//! dying, the whole instance lost). Clones share one engine.
//!
//! It is the runtime of the examples and of users' unit tests: with
//! `tokio::time::pause()`, a test of a task that runs for an hour takes milliseconds.
//!
//! Unless told otherwise with [`InMemoryRuntime::set_behavior`], a container does what
//! its command would do on a real engine, for the shell idioms task definitions use:
//! `sleep N` runs N seconds, `exit N` exits with N, `trap 'exit 0' TERM` answers SIGTERM,
//! a shell as PID 1 without a trap or an init ignores it, `while true` runs forever, a
//! health check of `false` fails.
//!
//! Output too: `echo hello` writes a line on standard output, `echo oops >&2` on
//! standard error, each at its time (after the `sleep`s before it), read back with
//! [`container_logs`](ContainerRuntime::container_logs); [`InMemoryRuntime::write_output`]
//! writes more as the container's process would. [`exec`](ContainerRuntime::exec) runs
//! the same idioms (`echo`, `sleep`, `exit N`, `false`, and `cat`, which copies an
//! interactive session's input back). The timestamps are wall time on tokio's clock.

mod behavior;
mod script;

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use async_trait::async_trait;
use futures::stream::BoxStream;
use futures::{FutureExt, StreamExt};
use jiff::{SignedDuration, Timestamp};
use tokio::sync::{broadcast, mpsc, oneshot, watch};
use tokio::time::Instant;

pub use behavior::{Behavior, Matcher, Operation};

use super::exec::{ExecChunk, ExecInput, ExecSession, ExecSpec};
use super::labels;
use super::logs::{LogLine, LogOptions, StdStream};
use super::types::{
    ContainerEvent, ContainerEventKind, ContainerId, ContainerInfo, ContainerSpec, ContainerState,
    ContainerStats, HealthStatus, HostInfo, PortBinding, PullPolicy,
};
use super::{Capabilities, ContainerRuntime, RuntimeError};
use crate::cluster::Resources;

/// Events an engine buffers for slow readers.
const EVENT_BUFFER: usize = 4096;

/// The simulated engine. See the [module docs](self).
#[derive(Debug, Clone)]
pub struct InMemoryRuntime {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    name: String,
    capabilities: Mutex<Capabilities>,
    host: HostInfo,
    epoch: Instant,
    state: Mutex<State>,
}

#[derive(Debug)]
struct State {
    images: BTreeSet<String>,
    /// Engine volumes, created on first use by a mount, as engines do.
    volumes: BTreeSet<String>,
    /// Networks made by `ensure_network`, with their labels.
    networks: BTreeMap<String, BTreeMap<String, String>>,
    pullable: BTreeSet<String>,
    pull_any: bool,
    containers: BTreeMap<ContainerId, Sim>,
    next_id: u64,
    next_port: u16,
    behaviors: Vec<(Matcher, Behavior)>,
    /// CPU and memory use set by [`InMemoryRuntime::set_usage`], for containers to come.
    usage: Vec<(Matcher, f64, u64)>,
    faults: BTreeMap<Operation, VecDeque<RuntimeError>>,
    /// Faults for one container, by its task-definition name.
    container_faults: BTreeMap<(Operation, String), VecDeque<RuntimeError>>,
    unavailable: bool,
    latency: Duration,
    /// `None` once the instance is lost: event streams end.
    events: Option<broadcast::Sender<ContainerEvent>>,
    /// The wall time of the containers' output.
    clock: WallClock,
}

/// Wall time on tokio's clock (a paused clock moves it too).
#[derive(Debug, Clone, Copy)]
struct WallClock {
    base: Instant,
    wall: Timestamp,
}

impl WallClock {
    fn new() -> Self {
        Self {
            base: Instant::now(),
            wall: Timestamp::now(),
        }
    }

    /// The wall time at `t`.
    fn at(&self, t: Instant) -> Timestamp {
        SignedDuration::try_from(t.saturating_duration_since(self.base))
            .ok()
            .and_then(|d| self.wall.checked_add(d).ok())
            .unwrap_or(self.wall)
    }
}

#[derive(Debug)]
struct Sim {
    info: ContainerInfo,
    spec: ContainerSpec,
    behavior: Behavior,
    /// Bumped at every start and exit, so timers of an earlier run do nothing.
    run: u64,
    started: Option<Instant>,
    /// CPU time used before `cpu_mark` in this run, in ns: usage can change while the
    /// container runs, and its CPU time must only grow.
    cpu_before_ns: f64,
    /// Since when the current `behavior.cpu` applies.
    cpu_mark: Option<Instant>,
    exited: watch::Sender<bool>,
    /// What it wrote, in order, kept until it is removed (across restarts, as engines
    /// keep it).
    output: Vec<LogLine>,
    /// What its command will write in this run, and when.
    pending: VecDeque<(Instant, StdStream, String)>,
    /// The open `follow` readers of its output.
    followers: Vec<mpsc::UnboundedSender<LogLine>>,
}

impl Sim {
    fn write(&mut self, line: LogLine) {
        self.followers.retain(|f| f.send(line.clone()).is_ok());
        self.output.push(line);
    }
}

impl InMemoryRuntime {
    /// An engine on a host offering `resources`, where every image can be pulled.
    pub fn new(resources: Resources) -> Self {
        let (events, _) = broadcast::channel(EVENT_BUFFER);
        // Its containers are in this process: they reach it on the loopback.
        let host = HostInfo::linux(resources, "in-memory 1").with_container_network(
            super::ContainerNetwork {
                gateway: std::net::Ipv4Addr::LOCALHOST.into(),
                subnet: std::net::Ipv4Addr::new(127, 0, 0, 0).into(),
                prefix_len: 8,
            },
        );
        Self {
            inner: Arc::new(Inner {
                name: "in-memory".to_owned(),
                capabilities: Mutex::new(Capabilities::ALL),
                host,
                epoch: Instant::now(),
                state: Mutex::new(State {
                    images: BTreeSet::new(),
                    volumes: BTreeSet::new(),
                    networks: BTreeMap::new(),
                    pullable: BTreeSet::new(),
                    pull_any: true,
                    containers: BTreeMap::new(),
                    next_id: 1,
                    next_port: 32768,
                    behaviors: Vec::new(),
                    usage: Vec::new(),
                    faults: BTreeMap::new(),
                    container_faults: BTreeMap::new(),
                    unavailable: false,
                    latency: Duration::ZERO,
                    events: Some(events),
                    clock: WallClock::new(),
                }),
            }),
        }
    }

    fn state(&self) -> MutexGuard<'_, State> {
        // A panic elsewhere while holding the lock leaves plain data behind; keep going.
        self.inner.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Only these images can be pulled (and `present` ones are there already); others
    /// fail with [`RuntimeError::ImageUnavailable`].
    pub fn restrict_images<'a>(
        &self,
        present: impl IntoIterator<Item = &'a str>,
        pullable: impl IntoIterator<Item = &'a str>,
    ) {
        let mut s = self.state();
        s.pull_any = false;
        s.images.extend(present.into_iter().map(str::to_owned));
        s.pullable.extend(pullable.into_iter().map(str::to_owned));
    }

    /// Containers matching `matcher` behave as `behavior` (later settings win).
    pub fn set_behavior(&self, matcher: Matcher, behavior: Behavior) {
        self.state().behaviors.push((matcher, behavior));
    }

    /// The next call of `op` fails with `error` (faults queue up per operation).
    pub fn fail_next(&self, op: Operation, error: RuntimeError) {
        self.state().faults.entry(op).or_default().push_back(error);
    }

    /// The next call of `op` (create, start or stop) on the container named `container`
    /// in its task definition fails with `error`.
    pub fn fail_next_for(&self, container: &str, op: Operation, error: RuntimeError) {
        self.state()
            .container_faults
            .entry((op, container.to_owned()))
            .or_default()
            .push_back(error);
    }

    /// Sets the CPU (in CPUs) and memory (bytes) that matching containers use, the running
    /// ones from now on and those started later: a synthetic load for auto scaling tests.
    /// CPU time already used is kept.
    pub fn set_usage(&self, matcher: Matcher, cpus: f64, memory_bytes: u64) {
        let now = Instant::now();
        let mut s = self.state();
        for c in s
            .containers
            .values_mut()
            .filter(|c| matcher.matches(&c.spec))
        {
            if let Some(mark) = c
                .cpu_mark
                .filter(|_| c.info.state == ContainerState::Running)
            {
                c.cpu_before_ns += (now - mark).as_nanos() as f64 * c.behavior.cpu;
                c.cpu_mark = Some(now);
            }
            c.behavior.cpu = cpus;
            c.behavior.memory_bytes = memory_bytes;
        }
        s.usage.push((matcher, cpus, memory_bytes));
    }

    /// Every call fails with [`RuntimeError::Unavailable`] while set, and open event
    /// streams end, as when an engine goes down; clearing it brings the engine back
    /// (after [`InMemoryRuntime::lose`] too), with its containers as they were.
    pub fn set_unavailable(&self, unavailable: bool) {
        let mut s = self.state();
        s.unavailable = unavailable;
        if unavailable {
            s.events = None;
        } else if s.events.is_none() {
            s.events = Some(broadcast::channel(EVENT_BUFFER).0);
        }
    }

    /// Every call takes `latency` before answering.
    pub fn set_latency(&self, latency: Duration) {
        self.state().latency = latency;
    }

    /// The instance is lost: calls fail as unavailable and event streams end.
    pub fn lose(&self) {
        let mut s = self.state();
        s.unavailable = true;
        s.events = None;
    }

    /// The container dies now with `exit_code`, as if its process exited.
    pub fn kill(&self, id: &ContainerId, exit_code: i32) -> Result<(), RuntimeError> {
        let mut s = self.state();
        let running = s
            .containers
            .get(id)
            .map(|c| c.info.state == ContainerState::Running);
        match running {
            None => Err(RuntimeError::NotFound(id.to_string())),
            Some(false) => Ok(()),
            Some(true) => {
                exit(&mut s, id, exit_code, false);
                Ok(())
            }
        }
    }

    /// Declares only `capabilities` (everything by default), to test what happens on an
    /// engine that lacks some.
    pub fn set_capabilities(&self, capabilities: Capabilities) {
        *self
            .inner
            .capabilities
            .lock()
            .unwrap_or_else(|e| e.into_inner()) = capabilities;
    }

    /// The container exits with `exit_code` and no event is sent: an event the agent
    /// missed, for its resync to find.
    pub fn kill_silently(&self, id: &ContainerId, exit_code: i32) -> Result<(), RuntimeError> {
        let mut s = self.state();
        let c = s
            .containers
            .get_mut(id)
            .ok_or_else(|| RuntimeError::NotFound(id.to_string()))?;
        c.info.state = ContainerState::Exited { exit_code };
        c.run += 1;
        c.exited.send_replace(true);
        end_output(&mut s, id);
        Ok(())
    }

    /// Writes `text` on the container's `stream` now, a line per line of it, as its
    /// process would: for tests of what reads its output (a `follow` reader gets it at
    /// once). Only a running container writes: [`RuntimeError::Conflict`] otherwise.
    pub fn write_output(
        &self,
        id: &ContainerId,
        stream: StdStream,
        text: &str,
    ) -> Result<(), RuntimeError> {
        let now = Instant::now();
        let mut s = self.state();
        flush_output(&mut s, id, now);
        let at = s.clock.at(now);
        let c = s
            .containers
            .get_mut(id)
            .ok_or_else(|| RuntimeError::NotFound(id.to_string()))?;
        if c.info.state != ContainerState::Running {
            return Err(RuntimeError::Conflict(format!(
                "container {id} is not running"
            )));
        }
        let text = text.strip_suffix('\n').unwrap_or(text);
        for line in text.split('\n') {
            c.write(LogLine::new(stream, Some(at), line));
        }
        Ok(())
    }

    /// Sets a container's health (and reports the change).
    pub fn set_health(&self, id: &ContainerId, health: HealthStatus) -> Result<(), RuntimeError> {
        let mut s = self.state();
        set_health(&mut s, id, health);
        if s.containers.contains_key(id) {
            Ok(())
        } else {
            Err(RuntimeError::NotFound(id.to_string()))
        }
    }

    /// Every container the engine holds, running or not.
    pub fn containers(&self) -> Vec<ContainerInfo> {
        self.state()
            .containers
            .values()
            .map(|c| c.info.clone())
            .collect()
    }

    /// The id of the container whose task-definition name is `name` (the most recent).
    pub fn find(&self, name: &str) -> Option<ContainerId> {
        self.state()
            .containers
            .values()
            .rev()
            .find(|c| {
                c.info
                    .labels
                    .get(labels::CONTAINER_NAME)
                    .map(String::as_str)
                    == Some(name)
            })
            .map(|c| c.info.id.clone())
    }

    /// The engine volumes that exist.
    pub fn volumes(&self) -> Vec<String> {
        self.state().volumes.iter().cloned().collect()
    }

    /// The networks [`ensure_network`](ContainerRuntime::ensure_network) made.
    pub fn networks(&self) -> Vec<String> {
        self.state().networks.keys().cloned().collect()
    }

    /// The running containers that `name` resolves to on `network`, as its DNS would
    /// answer another container there: those attached to it with `name` among their
    /// aliases.
    pub fn resolve(&self, network: &str, name: &str) -> Vec<ContainerId> {
        self.state()
            .containers
            .values()
            .filter(|c| c.info.state == ContainerState::Running)
            .filter(|c| {
                c.spec
                    .network
                    .as_ref()
                    .is_some_and(|n| n.network == network && n.aliases.iter().any(|a| a == name))
            })
            .map(|c| c.info.id.clone())
            .collect()
    }

    /// The spec a container was created from.
    pub fn spec(&self, id: &ContainerId) -> Option<ContainerSpec> {
        self.state().containers.get(id).map(|c| c.spec.clone())
    }

    /// Latency, availability and injected faults, in that order, for one call of `op`.
    async fn enter(&self, op: Operation) -> Result<(), RuntimeError> {
        let latency = self.state().latency;
        if !latency.is_zero() {
            tokio::time::sleep(latency).await;
        }
        let mut s = self.state();
        if s.unavailable {
            return Err(RuntimeError::Unavailable(format!(
                "{} is unavailable",
                self.inner.name
            )));
        }
        match s.faults.get_mut(&op).and_then(VecDeque::pop_front) {
            Some(error) => Err(error),
            None => Ok(()),
        }
    }

    /// A fault queued for this operation on the container with these labels.
    fn container_fault(
        &self,
        op: Operation,
        labels: &BTreeMap<String, String>,
    ) -> Result<(), RuntimeError> {
        let Some(name) = labels.get(labels::CONTAINER_NAME) else {
            return Ok(());
        };
        let mut s = self.state();
        match s
            .container_faults
            .get_mut(&(op, name.clone()))
            .and_then(VecDeque::pop_front)
        {
            Some(error) => Err(error),
            None => Ok(()),
        }
    }

    /// As [`container_fault`](Self::container_fault), for an existing container.
    fn container_fault_by_id(&self, op: Operation, id: &ContainerId) -> Result<(), RuntimeError> {
        let labels = self
            .state()
            .containers
            .get(id)
            .map(|c| c.info.labels.clone())
            .unwrap_or_default();
        self.container_fault(op, &labels)
    }

    fn behavior_for(s: &State, spec: &ContainerSpec) -> Behavior {
        let mut b = s
            .behaviors
            .iter()
            .rev()
            .find(|(m, _)| m.matches(spec))
            .map(|(_, b)| b.clone())
            .unwrap_or_else(|| behavior::from_spec(spec));
        if let Some((_, cpus, memory)) = s.usage.iter().rev().find(|(m, _, _)| m.matches(spec)) {
            b.cpu = *cpus;
            b.memory_bytes = *memory;
        }
        b
    }

    /// Runs `f` on the engine state after `delay`, if the container is still in the run
    /// the timer was set for.
    fn after(
        &self,
        id: &ContainerId,
        run: u64,
        delay: Duration,
        f: impl FnOnce(&mut State, &ContainerId) + Send + 'static,
    ) {
        let me = self.clone();
        let id = id.clone();
        tokio::spawn(async move {
            tokio::time::sleep(delay).await;
            let mut s = me.state();
            if s.containers
                .get(&id)
                .is_some_and(|c| c.run == run && c.info.state == ContainerState::Running)
            {
                f(&mut s, &id);
            }
        });
    }
}

fn emit(s: &State, id: &ContainerId, kind: ContainerEventKind) {
    if let Some(events) = &s.events {
        // No receiver is fine: nobody is listening.
        let _ = events.send(ContainerEvent {
            id: id.clone(),
            kind,
        });
    }
}

/// Writes what the container's command has written by `now`.
fn flush_output(s: &mut State, id: &ContainerId, now: Instant) {
    let clock = s.clock;
    let Some(c) = s.containers.get_mut(id) else {
        return;
    };
    while let Some((at, stream, line)) = c.pending.pop_front() {
        if at > now {
            c.pending.push_front((at, stream, line));
            break;
        }
        c.write(LogLine::new(stream, Some(clock.at(at)), line));
    }
}

/// The container stopped: what its command wrote until now stays, the rest never comes,
/// and `follow` readers reach their end.
fn end_output(s: &mut State, id: &ContainerId) {
    flush_output(s, id, Instant::now());
    if let Some(c) = s.containers.get_mut(id) {
        c.pending.clear();
        c.followers.clear();
    }
}

fn exit(s: &mut State, id: &ContainerId, exit_code: i32, oom: bool) {
    end_output(s, id);
    let Some(c) = s.containers.get_mut(id) else {
        return;
    };
    c.info.state = ContainerState::Exited { exit_code };
    c.info.oom_killed = oom;
    c.run += 1;
    c.exited.send_replace(true);
    if oom {
        emit(s, id, ContainerEventKind::Oom);
    }
    emit(s, id, ContainerEventKind::Die { exit_code });
}

fn set_health(s: &mut State, id: &ContainerId, health: HealthStatus) {
    let Some(c) = s.containers.get_mut(id) else {
        return;
    };
    if c.info.health != health {
        c.info.health = health;
        emit(s, id, ContainerEventKind::Health(health));
    }
}

#[async_trait]
impl ContainerRuntime for InMemoryRuntime {
    fn name(&self) -> String {
        self.inner.name.clone()
    }

    fn capabilities(&self) -> Capabilities {
        *self
            .inner
            .capabilities
            .lock()
            .unwrap_or_else(|e| e.into_inner())
    }

    async fn describe_host(&self) -> Result<HostInfo, RuntimeError> {
        let latency = self.state().latency;
        tokio::time::sleep(latency).await;
        if self.state().unavailable {
            return Err(RuntimeError::Unavailable(format!(
                "{} is unavailable",
                self.inner.name
            )));
        }
        Ok(self.inner.host.clone())
    }

    async fn ensure_image(&self, image: &str, policy: PullPolicy) -> Result<(), RuntimeError> {
        self.enter(Operation::Pull).await?;
        let mut s = self.state();
        let present = s.images.contains(image);
        let pullable = s.pull_any || s.pullable.contains(image);
        match (policy, present, pullable) {
            (PullPolicy::Never, false, _) => Err(RuntimeError::ImageUnavailable {
                image: image.to_owned(),
                reason: "not present and the pull policy is never".into(),
            }),
            (_, true, _) => Ok(()),
            (_, false, true) => {
                s.images.insert(image.to_owned());
                Ok(())
            }
            (_, false, false) => Err(RuntimeError::ImageUnavailable {
                image: image.to_owned(),
                reason: "repository does not exist or may require authorization".into(),
            }),
        }
    }

    async fn create_container(&self, spec: &ContainerSpec) -> Result<ContainerId, RuntimeError> {
        self.enter(Operation::Create).await?;
        self.container_fault(Operation::Create, &spec.labels)?;
        let mut s = self.state();
        if !s.images.contains(&spec.image) {
            return Err(RuntimeError::NotFound(format!("image {}", spec.image)));
        }
        if s.containers.values().any(|c| c.info.name == spec.name) {
            return Err(RuntimeError::Conflict(format!(
                "the container name {} is already in use",
                spec.name
            )));
        }
        if let Some(n) = &spec.network
            && !s.networks.contains_key(&n.network)
        {
            return Err(RuntimeError::NotFound(format!("network {}", n.network)));
        }
        for m in &spec.mounts {
            if let super::types::MountSpec::Volume { name, .. } = m {
                s.volumes.insert(name.clone());
            }
        }
        let id = ContainerId(format!("{:012x}", s.next_id));
        s.next_id += 1;
        let behavior = Self::behavior_for(&s, spec);
        let (exited, _) = watch::channel(false);
        let info = ContainerInfo::new(
            id.clone(),
            spec.name.clone(),
            spec.labels.clone(),
            ContainerState::Created,
        );
        s.containers.insert(
            id.clone(),
            Sim {
                info,
                spec: spec.clone(),
                behavior,
                run: 0,
                started: None,
                cpu_before_ns: 0.0,
                cpu_mark: None,
                exited,
                output: Vec::new(),
                pending: VecDeque::new(),
                followers: Vec::new(),
            },
        );
        Ok(id)
    }

    async fn start_container(&self, id: &ContainerId) -> Result<(), RuntimeError> {
        self.enter(Operation::Start).await?;
        self.container_fault_by_id(Operation::Start, id)?;
        let ((run, behavior, has_check), writes) = {
            let mut s = self.state();
            let Some(c) = s.containers.get(id) else {
                return Err(RuntimeError::NotFound(id.to_string()));
            };
            if c.info.state == ContainerState::Running {
                return Ok(());
            }
            // Fixed host ports are exclusive among running containers.
            let wanted: Vec<_> = c
                .spec
                .ports
                .iter()
                .filter(|p| p.host_port != 0)
                .map(|p| (p.host_port, p.protocol))
                .collect();
            let taken = s.containers.values().any(|o| {
                o.info.state == ContainerState::Running
                    && o.info
                        .ports
                        .iter()
                        .any(|b| wanted.contains(&(b.host_port, b.protocol)))
            });
            if taken {
                return Err(RuntimeError::Conflict(format!(
                    "a host port of {id} is already allocated"
                )));
            }
            let specs = c.spec.ports.clone();
            let mut ports = Vec::new();
            for p in specs {
                let host_port = if p.host_port == 0 {
                    s.next_port = s.next_port.checked_add(1).unwrap_or(32768);
                    s.next_port
                } else {
                    p.host_port
                };
                ports.push(PortBinding {
                    container_port: p.container_port,
                    host_port,
                    protocol: p.protocol,
                });
            }
            let Some(c) = s.containers.get_mut(id) else {
                return Err(RuntimeError::NotFound(id.to_string()));
            };
            c.run += 1;
            c.info.state = ContainerState::Running;
            c.info.ports = ports;
            c.info.oom_killed = false;
            c.info.health = HealthStatus::Unknown;
            let now = Instant::now();
            c.started = Some(now);
            c.cpu_before_ns = 0.0;
            c.cpu_mark = c.started;
            c.exited.send_replace(false);
            let argv: Vec<String> = c
                .spec
                .entry_point
                .iter()
                .flatten()
                .chain(c.spec.command.iter().flatten())
                .cloned()
                .collect();
            let plan = if argv.is_empty() {
                Vec::new()
            } else {
                script::output(&script::script_of(&argv), &environment_of(&c.spec))
            };
            c.pending = plan
                .iter()
                .map(|(after, stream, line)| (now + *after, *stream, line.clone()))
                .collect();
            let mut writes: Vec<Duration> = plan.iter().map(|(after, _, _)| *after).collect();
            writes.dedup();
            let out = (c.run, c.behavior.clone(), c.spec.health_check.is_some());
            emit(&s, id, ContainerEventKind::Start);
            (out, writes)
        };
        for after in writes {
            self.after(id, run, after, |s, id| flush_output(s, id, Instant::now()));
        }
        if let Some(d) = behavior.run_for {
            let code = behavior.exit_code;
            self.after(id, run, d, move |s, id| exit(s, id, code, false));
        }
        if let Some(d) = behavior.oom_after {
            self.after(id, run, d, |s, id| exit(s, id, 137, true));
        }
        if has_check {
            if let Some(d) = behavior.healthy_after {
                self.after(id, run, d, |s, id| set_health(s, id, HealthStatus::Healthy));
            }
            if let Some(d) = behavior.unhealthy_after {
                self.after(id, run, d, |s, id| {
                    set_health(s, id, HealthStatus::Unhealthy)
                });
            }
        }
        Ok(())
    }

    async fn stop_container(
        &self,
        id: &ContainerId,
        timeout: Duration,
    ) -> Result<(), RuntimeError> {
        self.enter(Operation::Stop).await?;
        self.container_fault_by_id(Operation::Stop, id)?;
        let mut exited = {
            let mut s = self.state();
            let Some(c) = s.containers.get(id) else {
                return Err(RuntimeError::NotFound(id.to_string()));
            };
            if c.info.state != ContainerState::Running {
                return Ok(());
            }
            let (run, on_sigterm, exited) = (c.run, c.behavior.on_sigterm, c.exited.subscribe());
            match on_sigterm {
                Some(code) => exit(&mut s, id, code, false),
                None => {
                    drop(s);
                    // SIGKILL at the timeout.
                    self.after(id, run, timeout, |s, id| exit(s, id, 137, false));
                }
            }
            exited
        };
        // Like `docker stop`, return once it has exited.
        exited
            .wait_for(|done| *done)
            .await
            .map(|_| ())
            .map_err(|_| RuntimeError::NotFound(id.to_string()))
    }

    async fn remove_container(&self, id: &ContainerId) -> Result<(), RuntimeError> {
        self.enter(Operation::Remove).await?;
        let mut s = self.state();
        if s.containers
            .get(id)
            .is_some_and(|c| c.info.state == ContainerState::Running)
        {
            exit(&mut s, id, 137, false);
        }
        s.containers
            .remove(id)
            .map(|_| ())
            .ok_or_else(|| RuntimeError::NotFound(id.to_string()))
    }

    async fn remove_volume(&self, name: &str) -> Result<(), RuntimeError> {
        self.enter(Operation::Remove).await?;
        let mut s = self.state();
        let in_use = s.containers.values().any(|c| {
            c.spec
                .mounts
                .iter()
                .any(|m| matches!(m, super::types::MountSpec::Volume { name: n, .. } if n == name))
        });
        if in_use {
            return Err(RuntimeError::Conflict(format!("volume {name} is in use")));
        }
        if s.volumes.remove(name) {
            Ok(())
        } else {
            Err(RuntimeError::NotFound(format!("volume {name}")))
        }
    }

    async fn inspect_container(&self, id: &ContainerId) -> Result<ContainerInfo, RuntimeError> {
        self.enter(Operation::Inspect).await?;
        self.state()
            .containers
            .get(id)
            .map(|c| c.info.clone())
            .ok_or_else(|| RuntimeError::NotFound(id.to_string()))
    }

    async fn container_stats(&self, id: &ContainerId) -> Result<ContainerStats, RuntimeError> {
        self.enter(Operation::Stats).await?;
        let s = self.state();
        let c = s
            .containers
            .get(id)
            .ok_or_else(|| RuntimeError::NotFound(id.to_string()))?;
        let now = Instant::now();
        let running = c.info.state == ContainerState::Running;
        let since_mark = c
            .cpu_mark
            .filter(|_| running)
            .map_or(Duration::ZERO, |t| now - t);
        Ok(ContainerStats {
            cpu_total_ns: (c.cpu_before_ns + since_mark.as_nanos() as f64 * c.behavior.cpu) as u64,
            sampled_at_ns: (now - self.inner.epoch).as_nanos() as u64,
            memory_bytes: if running { c.behavior.memory_bytes } else { 0 },
            memory_limit_bytes: c.spec.memory_limit_mib.map_or(0, |m| u64::from(m) << 20),
        })
    }

    async fn list_containers(
        &self,
        labels: &BTreeMap<String, String>,
    ) -> Result<Vec<ContainerInfo>, RuntimeError> {
        self.enter(Operation::List).await?;
        Ok(self
            .state()
            .containers
            .values()
            .filter(|c| labels.iter().all(|(k, v)| c.info.labels.get(k) == Some(v)))
            .map(|c| c.info.clone())
            .collect())
    }

    async fn events(&self) -> Result<BoxStream<'static, ContainerEvent>, RuntimeError> {
        let s = self.state();
        let Some(events) = s.events.as_ref().filter(|_| !s.unavailable) else {
            return Err(RuntimeError::Unavailable(format!(
                "{} is unavailable",
                self.inner.name
            )));
        };
        Ok(super::broadcast_events(events.subscribe()))
    }

    async fn container_logs(
        &self,
        id: &ContainerId,
        options: &LogOptions,
    ) -> Result<BoxStream<'static, Result<LogLine, RuntimeError>>, RuntimeError> {
        self.enter(Operation::Logs).await?;
        let mut s = self.state();
        flush_output(&mut s, id, Instant::now());
        let c = s
            .containers
            .get_mut(id)
            .ok_or_else(|| RuntimeError::NotFound(id.to_string()))?;
        let shown = {
            let options = options.clone();
            move |mut line: LogLine| {
                if !options.timestamps {
                    line.timestamp = None;
                }
                line
            }
        };
        // The tail counts every line written, then the options select among them.
        let from = options.tail.map_or(0, |n| {
            c.output
                .len()
                .saturating_sub(usize::try_from(n).unwrap_or(usize::MAX))
        });
        let backlog: Vec<Result<LogLine, RuntimeError>> = c.output[from..]
            .iter()
            .filter(|l| options.selects(l.stream, l.timestamp))
            .cloned()
            .map(|l| Ok(shown(l)))
            .collect();
        let backlog = futures::stream::iter(backlog);
        if !(options.follow && c.info.state == ContainerState::Running) {
            return Ok(Box::pin(backlog));
        }
        let (tx, rx) = mpsc::unbounded_channel();
        c.followers.push(tx);
        let options = options.clone();
        let later = futures::stream::unfold(rx, |mut rx| async move {
            rx.recv().await.map(|line| (line, rx))
        })
        .filter(move |l| futures::future::ready(options.selects(l.stream, l.timestamp)))
        .map(move |l| Ok(shown(l)));
        Ok(Box::pin(backlog.chain(later)))
    }

    async fn exec(&self, id: &ContainerId, spec: &ExecSpec) -> Result<ExecSession, RuntimeError> {
        self.enter(Operation::Exec).await?;
        if !self.capabilities().execute_command {
            return Err(RuntimeError::Unsupported {
                runtime: self.name(),
                capability: "execute command".into(),
            });
        }
        if spec.command.is_empty() {
            return Err(RuntimeError::InvalidRequest("exec: no command".into()));
        }
        let (environment, mut exited) = {
            let s = self.state();
            let c = s
                .containers
                .get(id)
                .ok_or_else(|| RuntimeError::NotFound(id.to_string()))?;
            if c.info.state != ContainerState::Running {
                return Err(RuntimeError::Conflict(format!(
                    "container {id} is not running"
                )));
            }
            (environment_of(&c.spec), c.exited.subscribe())
        };
        let steps = script::steps(&script::script_of(&spec.command), &environment);
        let (out, output) = mpsc::unbounded_channel();
        let (code_tx, code) = oneshot::channel();
        let (stdin, input) = if spec.interactive {
            let (ours, theirs) = tokio::io::duplex(64 << 10);
            (Some(Box::pin(ours) as ExecInput), Some(theirs))
        } else {
            (None, None)
        };
        let tty = spec.tty;
        tokio::spawn(async move {
            let code = tokio::select! {
                code = script::run(steps, input, out, tty) => code,
                // The container stopped (or was removed) under it: killed with it.
                _ = exited.wait_for(|done| *done) => 137,
            };
            let _ = code_tx.send(code);
        });
        let output = futures::stream::unfold(output, |mut rx| async move {
            rx.recv().await.map(|chunk: ExecChunk| (Ok(chunk), rx))
        });
        let exit_code = async move {
            code.await.map_err(|_| {
                RuntimeError::Unavailable("the exec session ended without an exit code".into())
            })
        };
        Ok(ExecSession::new(Box::pin(output), stdin, exit_code.boxed()))
    }

    async fn ensure_network(
        &self,
        name: &str,
        labels: &BTreeMap<String, String>,
    ) -> Result<super::ContainerNetwork, RuntimeError> {
        self.enter(Operation::Network).await?;
        if !self.capabilities().service_connect {
            return Err(RuntimeError::Unsupported {
                runtime: self.name(),
                capability: "service connect networks".into(),
            });
        }
        self.state()
            .networks
            .entry(name.to_owned())
            .or_insert_with(|| labels.clone());
        // Its containers are in this process, as on the default network.
        self.inner
            .host
            .container_network
            .ok_or_else(|| RuntimeError::Unavailable("no container network".into()))
    }
}

/// What a container's commands see of its environment: its variables and its secrets.
fn environment_of(spec: &ContainerSpec) -> BTreeMap<String, String> {
    spec.full_environment()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect()
}
