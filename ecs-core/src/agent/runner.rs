//! One task's lifecycle on its instance: pull, create and start containers in
//! dependency order, watch them, and stop, remove and release them, publishing every
//! change. Driven by the runtime's container events, with the agent's periodic resync
//! (one list of the instance's containers) as the safety net for missed events.

use std::sync::Arc;
use std::time::Duration;
use tracing::Instrument;

use tokio::sync::{mpsc, watch};
use tokio::time::Instant;

use super::{Agent, Signal};
use crate::config::EcsConfig;
use crate::ids::TaskId;
use crate::runtime::{
    ContainerEvent, ContainerEventKind, ContainerId, ContainerInfo, ContainerSpec, ContainerState,
    HealthStatus, RuntimeError, TaskContext, container_spec, labels,
};
use crate::state::{State, StopRequest};
use crate::task::{ContainerStatus, StopCode, TaskStatus};
use crate::task_definition::{ContainerCondition, TaskDefinition};

/// How long a task waits for its secrets and environment files.
const SECRETS_TIMEOUT: Duration = Duration::from_secs(60);

/// The variable that gives each container its task metadata endpoint (v4).
const METADATA_URI_VARIABLE: &str = "ECS_CONTAINER_METADATA_URI_V4";

/// One container as the runner tracks it.
struct Slot {
    name: String,
    essential: bool,
    spec: ContainerSpec,
    /// Indexes of dependencies and their conditions.
    depends_on: Vec<(usize, ContainerCondition)>,
    /// Seconds this container may take to reach what its dependents wait for.
    start_timeout: Option<Duration>,
    id: Option<ContainerId>,
    started_at: Option<Instant>,
    /// Start order within the task, for stopping in reverse (instants can tie).
    start_seq: Option<usize>,
    exit_code: Option<i32>,
    health: HealthStatus,
    /// Its `restartPolicy`, when enabled.
    restart: Option<Restart>,
    /// When it last started (its first start, or its last restart in place).
    last_start: Option<Instant>,
    /// When it was last seen to exit.
    exited_at: Option<Instant>,
    /// How many times its restart policy restarted it.
    restarts: u32,
    /// Whether its last exit was confirmed with the engine (after a restart).
    exit_confirmed: bool,
    /// Its definition, when it has `secrets` or `environmentFiles` to resolve at start.
    secret_sources: Option<Arc<crate::task_definition::ContainerDefinition>>,
}

/// A container's restart policy (ECS's `restartPolicy`): restarted in place when it
/// exits with a code not ignored, once it has run for the attempt period.
struct Restart {
    ignored_exit_codes: Vec<i32>,
    attempt_period: Duration,
}

impl Restart {
    /// ECS's default `restartAttemptPeriod`: 300 seconds.
    const DEFAULT_PERIOD: Duration = Duration::from_secs(300);

    fn of(c: &crate::task_definition::ContainerDefinition) -> Option<Self> {
        let policy = c.restart_policy.as_ref().filter(|p| p.enabled)?;
        Some(Self {
            ignored_exit_codes: policy.ignored_exit_codes.clone().unwrap_or_default(),
            attempt_period: policy
                .restart_attempt_period
                .and_then(|s| u64::try_from(s).ok())
                .map_or(Self::DEFAULT_PERIOD, Duration::from_secs),
        })
    }
}

impl Slot {
    /// An exit heard for a container restarted in place that the engine has not
    /// confirmed: it may be older than the restart.
    fn unconfirmed_exit(&self) -> bool {
        self.restarts > 0 && self.exit_code.is_some() && !self.exit_confirmed
    }

    fn running(&self) -> bool {
        self.started_at.is_some() && self.exit_code.is_none()
    }
}

/// Why the task stops.
pub(crate) struct Cause {
    code: StopCode,
    reason: String,
}

pub(crate) struct Runner {
    state: Arc<State>,
    agent: Arc<Agent>,
    task_id: TaskId,
    slots: Vec<Slot>,
    events_tx: mpsc::UnboundedSender<Signal>,
    events: mpsc::UnboundedReceiver<Signal>,
    stop: watch::Receiver<Option<StopRequest>>,
    pull_policy: crate::runtime::PullPolicy,
    secret_provider: Option<Arc<dyn crate::secrets::SecretProvider>>,
}

enum Wake {
    Signal(Signal),
    Stop,
    Deadline,
}

impl Runner {
    pub(crate) fn new(
        state: Arc<State>,
        agent: Arc<Agent>,
        task_id: TaskId,
        td: &TaskDefinition,
        ctx: &TaskContext,
        stop: watch::Receiver<Option<StopRequest>>,
        config: &EcsConfig,
    ) -> Self {
        let names: Vec<&str> = td.containers().iter().map(|c| c.name()).collect();
        let metadata_uri = |name: &str| {
            agent
                .metadata
                .as_ref()
                .map(|m| format!("{}/{task_id}/{name}", m.base(None)))
        };
        let slots = td
            .containers()
            .iter()
            .map(|c| Slot {
                name: c.name().to_owned(),
                essential: c.is_essential(),
                spec: {
                    let mut spec = container_spec(td, c, ctx);
                    if let Some(uri) = metadata_uri(c.name()) {
                        spec.environment
                            .insert(METADATA_URI_VARIABLE.to_owned(), uri);
                    }
                    spec
                },
                depends_on: c
                    .depends_on()
                    .iter()
                    .filter_map(|d| {
                        Some((
                            names.iter().position(|n| *n == d.container_name)?,
                            d.condition,
                        ))
                    })
                    .collect(),
                start_timeout: c
                    .start_timeout
                    .and_then(|s| u64::try_from(s).ok())
                    .map(Duration::from_secs),
                id: None,
                started_at: None,
                start_seq: None,
                exit_code: None,
                health: HealthStatus::Unknown,
                restart: Restart::of(c),
                last_start: None,
                exited_at: None,
                restarts: 0,
                exit_confirmed: false,
                secret_sources: (c.secrets.as_ref().is_some_and(|s| !s.is_empty())
                    || c.environment_files.as_ref().is_some_and(|f| !f.is_empty()))
                .then(|| Arc::new(c.clone())),
            })
            .collect();
        let (events_tx, events) = mpsc::unbounded_channel();
        Self {
            state,
            agent,
            task_id,
            slots,
            events_tx,
            events,
            stop,
            pull_policy: config.pull_policy,
            secret_provider: config.secret_provider.clone(),
        }
    }

    /// Runs the task from PENDING to STOPPED, each step of its lifecycle in a span of
    /// its own (`start`, `running`, `stop`) within the task's.
    pub(crate) async fn run(mut self) {
        let task = tracing::debug_span!("task", task = %self.task_id);
        // The task is durable before any of its containers exists: a control plane
        // that restarts knows of everything it may find on the engine.
        if !self.durable().instrument(task.clone()).await {
            return;
        }
        let started = self
            .start()
            .instrument(tracing::debug_span!(parent: &task, "start"))
            .await;
        let cause = match started {
            Ok(()) => {
                let now = self.state.now();
                self.state.update_task(&self.task_id, |t| {
                    t.last_status = TaskStatus::Running;
                    t.started_at = Some(now);
                });
                self.watch_running()
                    .instrument(tracing::debug_span!(parent: &task, "running"))
                    .await
            }
            Err(cause) => cause,
        };
        if self.state.check_fence().is_err() {
            // This control plane no longer holds its store: it records nothing (a
            // commit could still land before etcd refuses the fence, and tell the next
            // leader that a healthy task failed) and does nothing more.
            return;
        }
        self.shut_down(cause)
            .instrument(tracing::debug_span!(parent: &task, "stop"))
            .await;
    }

    /// Waits until the state is durable; false if it never will be (the store was
    /// taken over by another control plane): then nothing more may be done.
    async fn durable(&self) -> bool {
        match self.state.barrier().await {
            Ok(()) => true,
            Err(e) => {
                tracing::error!(task = %self.task_id, error = %e, "the task's runner stops: its state cannot be made durable");
                false
            }
        }
    }

    /// Takes over the containers a previous control plane left running for this task
    /// (found on the engine by their labels, after a restart): each is matched to its
    /// container definition by name, and its events are routed here.
    pub(crate) fn adopt(&mut self, found: &[ContainerInfo]) {
        let mut seq = 0;
        for i in 0..self.slots.len() {
            let name = self.slots[i].name.clone();
            let Some(info) = found
                .iter()
                .find(|c| c.labels.get(labels::CONTAINER_NAME) == Some(&name))
            else {
                continue;
            };
            self.agent.route(info.id.clone(), self.events_tx.clone());
            let slot = &mut self.slots[i];
            slot.id = Some(info.id.clone());
            slot.health = info.health;
            let (status, exit_code) = match info.state {
                ContainerState::Created => (ContainerStatus::Pending, None),
                ContainerState::Running => (ContainerStatus::Running, None),
                ContainerState::Exited { exit_code } => (ContainerStatus::Stopped, Some(exit_code)),
            };
            if status != ContainerStatus::Pending {
                slot.started_at = Some(Instant::now());
                // Its restart policy's period counts from here: when it started before
                // is not known.
                slot.last_start = slot.started_at;
                slot.start_seq = Some(seq);
                seq += 1;
            }
            slot.exit_code = exit_code;
            let (id, health, ports) = (info.id.clone(), info.health, info.ports.clone());
            self.state.update_container(&self.task_id, &name, |c| {
                c.runtime_id = Some(id.clone());
                c.last_status = status;
                c.exit_code = exit_code;
                c.health_status = health;
                if !ports.is_empty() {
                    c.network_bindings = ports.clone();
                }
            });
        }
        let health = self.task_health();
        self.state
            .update_task(&self.task_id, |t| t.health_status = health);
    }

    /// An essential container that has exited, if one has: the task must stop. (Not a
    /// restarted one whose exit the engine has not confirmed yet.)
    fn essential_exit(&self) -> Option<&Slot> {
        self.slots
            .iter()
            .find(|s| s.essential && s.exit_code.is_some() && !s.unconfirmed_exit())
    }

    /// The task it runs.
    pub(crate) fn task_id(&self) -> &TaskId {
        &self.task_id
    }

    /// Why an adopted task must stop, if it must: a stop was asked for, an essential
    /// container has exited, or the restart caught it half started (its start order and
    /// timeouts are gone: it cannot be finished safely). `None`: it was found up (every
    /// container started; a non-essential one may have exited since, as an init
    /// container does) and is watched while RUNNING.
    pub(crate) fn adopted_stop(&self) -> Option<Cause> {
        if let Some(cause) = self.stop_requested() {
            Some(cause)
        } else if let Some(s) = self.essential_exit() {
            Some(essential_exited(&s.name))
        } else if self.slots.iter().all(|s| s.started_at.is_some()) {
            None
        } else {
            Some(Self::failed(
                "the control plane restarted while the task was starting: stopped".to_owned(),
            ))
        }
    }

    /// Runs an adopted task: watched while RUNNING, unless
    /// [`adopted_stop`](Self::adopted_stop) says why it stops.
    pub(crate) async fn run_adopted(mut self) {
        let task = tracing::debug_span!("task", task = %self.task_id, adopted = true);
        if !self.durable().instrument(task.clone()).await {
            return;
        }
        let cause = match self.adopted_stop() {
            Some(cause) => cause,
            None => {
                self.readmit_network().await;
                let now = self.state.now();
                self.state.update_task(&self.task_id, |t| {
                    t.last_status = TaskStatus::Running;
                    t.started_at.get_or_insert(now);
                });
                self.watch_running()
                    .instrument(tracing::debug_span!(parent: &task, "running"))
                    .await
            }
        };
        self.shut_down(cause)
            .instrument(tracing::debug_span!(parent: &task, "stop"))
            .await;
    }

    fn stop_requested(&self) -> Option<Cause> {
        self.stop.borrow().as_ref().map(|r| Cause {
            code: r.code,
            reason: r.reason.clone(),
        })
    }

    fn failed(reason: String) -> Cause {
        Cause {
            code: StopCode::TaskFailedToStart,
            reason,
        }
    }

    /// PENDING (images), ACTIVATING (containers in dependency order), until every
    /// container has started.
    async fn start(&mut self) -> Result<(), Cause> {
        self.state
            .update_task(&self.task_id, |t| t.last_status = TaskStatus::Pending);
        // Secrets and environment files first: a task that cannot have them creates
        // nothing.
        for i in 0..self.slots.len() {
            let Some(c) = self.slots[i].secret_sources.clone() else {
                continue;
            };
            // A provider may hang: a stop request wins over it, and it has a deadline.
            let provider = self.secret_provider.clone();
            let resolve = tokio::time::timeout(
                SECRETS_TIMEOUT,
                crate::secrets::resolve::environment(provider.as_deref(), &c),
            );
            let mut stop = self.stop.clone();
            let vars = tokio::select! {
                resolved = resolve => match resolved {
                    Ok(vars) => vars.map_err(Self::failed)?,
                    Err(_) => return Err(Self::failed(format!(
                        "ResourceInitializationError: unable to pull secrets or registry auth: \
                         the secret provider did not answer within {}s",
                        SECRETS_TIMEOUT.as_secs()
                    ))),
                },
                _ = stop.wait_for(Option::is_some) => {
                    return Err(self.stop_requested().unwrap_or_else(|| Self::failed("stopped".into())));
                }
            };
            // Their names, never their values.
            let names: Vec<&str> = vars.iter().map(|(n, _)| n.as_str()).collect();
            tracing::debug!(task = %self.task_id, container = %self.slots[i].name, ?names, "secrets and environment files resolved");
            self.slots[i].spec.secrets = vars.into_iter().collect();
        }
        self.join_network().await?;
        let policy = self.pull_policy;
        let images: std::collections::BTreeSet<String> =
            self.slots.iter().map(|s| s.spec.image.clone()).collect();
        for image in images {
            if let Some(cause) = self.stop_requested() {
                return Err(cause);
            }
            // A pull can take long: a stop request wins over it.
            let runtime = self.agent.runtime.clone();
            let pull = runtime.ensure_image(&image, policy);
            let mut stop = self.stop.clone();
            tokio::select! {
                pulled = pull => pulled.map_err(|e| Self::failed(pull_reason(&e)))?,
                _ = stop.wait_for(Option::is_some) => {}
            }
        }
        self.state
            .update_task(&self.task_id, |t| t.last_status = TaskStatus::Activating);
        loop {
            if let Some(cause) = self.stop_requested() {
                return Err(cause);
            }
            // An essential container that exits before the task is up stops it.
            if let Some(s) = self.essential_exit() {
                return Err(essential_exited(&s.name));
            }
            let mut progressed = false;
            for i in 0..self.slots.len() {
                if self.slots[i].id.is_some() {
                    continue;
                }
                match self.readiness(i) {
                    Readiness::Ready => {
                        self.create_and_start(i).await?;
                        progressed = true;
                    }
                    Readiness::Never(reason) => return Err(Self::failed(reason)),
                    Readiness::Waiting => {}
                }
            }
            if self.slots.iter().all(|s| s.started_at.is_some()) {
                return Ok(());
            }
            if progressed {
                continue;
            }
            match self.wait(self.next_deadline()).await {
                Wake::Signal(s) => self.hear(s),
                Wake::Stop => {}
                Wake::Deadline => {
                    if let Some(reason) = self.timed_out() {
                        return Err(Self::failed(reason));
                    }
                }
            }
        }
    }

    /// The Service Connect network its containers join, if any, and the labels it is
    /// made with.
    fn namespace_network(&self) -> Option<(String, std::collections::BTreeMap<String, String>)> {
        let network = self
            .slots
            .iter()
            .find_map(|s| s.spec.network.as_ref().map(|n| n.network.clone()))?;
        let labels = std::collections::BTreeMap::from([(
            labels::CLUSTER.to_owned(),
            self.agent.cluster.to_string(),
        )]);
        Some((network, labels))
    }

    /// For an adopted task on a Service Connect network: the network made again if it
    /// went (its containers are on it; nothing is lost if it cannot be), and the
    /// metadata endpoint told to answer it (its containers were given its gateway).
    async fn readmit_network(&self) {
        let Some((network, labels)) = self.namespace_network() else {
            return;
        };
        match self.agent.runtime.ensure_network(&network, &labels).await {
            Ok(made) => {
                if let Some(m) = &self.agent.metadata {
                    m.base(Some(made));
                }
            }
            Err(e) => {
                tracing::warn!(task = %self.task_id, %network, error = %e, "an adopted task's Service Connect network could not be found: its metadata endpoint may not answer it");
            }
        }
    }

    /// Makes the Service Connect network its containers join, if they join one, and
    /// points their metadata endpoint at that network's gateway.
    async fn join_network(&mut self) -> Result<(), Cause> {
        let Some((network, labels)) = self.namespace_network() else {
            return Ok(());
        };
        let runtime = self.agent.runtime.clone();
        let made = runtime.ensure_network(&network, &labels);
        let mut stop = self.stop.clone();
        let made = tokio::select! {
            made = made => made,
            _ = stop.wait_for(Option::is_some) => {
                return Err(self.stop_requested().unwrap_or_else(|| Self::failed("stopped".into())));
            }
        };
        let made = made.map_err(|e| {
            Self::failed(format!(
                "ResourceInitializationError: the Service Connect network {network} could not be made: {e}"
            ))
        })?;
        if let Some(m) = &self.agent.metadata {
            let base = m.base(Some(made));
            for s in &mut self.slots {
                if s.spec.environment.contains_key(METADATA_URI_VARIABLE) {
                    s.spec.environment.insert(
                        METADATA_URI_VARIABLE.to_owned(),
                        format!("{base}/{}/{}", self.task_id, s.name),
                    );
                }
            }
        }
        Ok(())
    }

    fn readiness(&self, i: usize) -> Readiness {
        let mut ready = true;
        for &(d, condition) in &self.slots[i].depends_on {
            let dep = &self.slots[d];
            let met = match condition {
                ContainerCondition::Start => dep.started_at.is_some(),
                ContainerCondition::Complete => dep.exit_code.is_some(),
                ContainerCondition::Success => match dep.exit_code {
                    Some(0) => true,
                    Some(code) => {
                        return Readiness::Never(format!(
                            "dependency {} of container {} exited with {code}, not SUCCESS",
                            dep.name, self.slots[i].name
                        ));
                    }
                    None => false,
                },
                ContainerCondition::Healthy => {
                    if dep.exit_code.is_some() {
                        return Readiness::Never(format!(
                            "dependency {} of container {} exited before it was HEALTHY",
                            dep.name, self.slots[i].name
                        ));
                    }
                    dep.health == HealthStatus::Healthy
                }
            };
            ready &= met;
        }
        if ready {
            Readiness::Ready
        } else {
            Readiness::Waiting
        }
    }

    /// When the earliest dependency with a `startTimeout` runs out.
    /// When the earliest dependency still short of its condition runs out of its
    /// `startTimeout` (met conditions have no deadline: a passed one would wake the
    /// runner in a loop).
    fn next_deadline(&self) -> Option<Instant> {
        self.slots
            .iter()
            .filter(|s| s.id.is_none())
            .flat_map(|s| s.depends_on.iter().copied())
            .filter(|&(d, condition)| !self.condition_met(d, condition))
            .filter_map(|(d, _)| Some(self.slots[d].started_at? + self.slots[d].start_timeout?))
            .min()
    }

    fn timed_out(&self) -> Option<String> {
        let now = Instant::now();
        for s in self.slots.iter().filter(|s| s.id.is_none()) {
            for &(d, condition) in &s.depends_on {
                let dep = &self.slots[d];
                if let (Some(at), Some(limit)) = (dep.started_at, dep.start_timeout)
                    && now >= at + limit
                    && !self.condition_met(d, condition)
                {
                    return Some(format!(
                        "dependency {} of container {} did not reach {condition} within its startTimeout of {}s",
                        dep.name,
                        s.name,
                        limit.as_secs()
                    ));
                }
            }
        }
        None
    }

    fn condition_met(&self, d: usize, condition: ContainerCondition) -> bool {
        let dep = &self.slots[d];
        match condition {
            ContainerCondition::Start => dep.started_at.is_some(),
            ContainerCondition::Complete => dep.exit_code.is_some(),
            ContainerCondition::Success => dep.exit_code == Some(0),
            ContainerCondition::Healthy => dep.health == HealthStatus::Healthy,
        }
    }

    /// `Err` once this control plane may no longer act (its store taken over, its
    /// leadership lost): the runner then ends, recording nothing (see `run`), and its
    /// cause only says why.
    fn may_act(&self) -> Result<(), Cause> {
        self.state.check_fence().map_err(|e| {
            tracing::error!(task = %self.task_id, error = %e, "not acting on the engine: this control plane no longer holds its store");
            Self::failed(format!("the control plane no longer holds its store: {e}"))
        })
    }

    async fn create_and_start(&mut self, i: usize) -> Result<(), Cause> {
        self.may_act()?;
        let rt = self.agent.runtime.clone();
        let id = rt
            .create_container(&self.slots[i].spec)
            .await
            .map_err(|e| Self::failed(format!("CannotCreateContainerError: {e}")))?;
        // Route before starting so that no event of the new container is missed.
        self.agent.route(id.clone(), self.events_tx.clone());
        self.slots[i].id = Some(id.clone());
        let name = self.slots[i].name.clone();
        self.state
            .update_container(&self.task_id, &name, |c| c.runtime_id = Some(id.clone()));
        self.may_act()?;
        rt.start_container(&id)
            .await
            .map_err(|e| Self::failed(format!("CannotStartContainerError: {e}")))?;
        self.slots[i].started_at = Some(Instant::now());
        self.slots[i].last_start = self.slots[i].started_at;
        self.slots[i].start_seq = Some(self.slots.iter().filter(|s| s.start_seq.is_some()).count());
        let ports = self.published_ports(i, &id).await;
        self.state.update_container(&self.task_id, &name, |c| {
            if c.last_status == ContainerStatus::Pending {
                c.last_status = ContainerStatus::Running;
            }
            c.network_bindings = ports.clone();
        });
        Ok(())
    }

    /// The ports container `i` (started as `id`) publishes, as the engine says.
    async fn published_ports(
        &self,
        i: usize,
        id: &ContainerId,
    ) -> Vec<crate::runtime::PortBinding> {
        let mut ports = self
            .agent
            .runtime
            .inspect_container(id)
            .await
            .map(|info| info.ports)
            .unwrap_or_default();
        if ports.is_empty()
            && self.slots[i].spec.network_mode == crate::task_definition::NetworkMode::Host
        {
            // Host networking publishes nothing: the container's ports are the host's.
            ports = self.slots[i]
                .spec
                .ports
                .iter()
                .map(|p| crate::runtime::PortBinding {
                    container_port: p.container_port,
                    host_port: p.container_port,
                    protocol: p.protocol,
                })
                .collect();
        }
        ports
    }

    async fn wait(&mut self, deadline: Option<Instant>) -> Wake {
        let sleep = async {
            match deadline {
                Some(d) => tokio::time::sleep_until(d).await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            Some(s) = self.events.recv() => Wake::Signal(s),
            changed = self.stop.changed() => {
                if changed.is_err() {
                    // The task was forgotten (never while its runner runs): nothing will
                    // ask again.
                    std::future::pending::<()>().await;
                }
                Wake::Stop
            }
            () = sleep => Wake::Deadline,
        }
    }

    /// RUNNING until an essential container exits (and is not restarted in place) or a
    /// stop is requested.
    async fn watch_running(&mut self) -> Cause {
        loop {
            if let Some(cause) = self.stop_requested() {
                return cause;
            }
            if let Err(cause) = self.may_act() {
                return cause;
            }
            self.restart_exited().await;
            if let Some(s) = self.essential_exit() {
                return essential_exited(&s.name);
            }
            match self.wait(None).await {
                Wake::Signal(s) => self.hear(s),
                Wake::Stop | Wake::Deadline => {}
            }
        }
    }

    /// Restarts in place, as its restart policy says, each container that exited with a
    /// code it does not ignore after running for its attempt period; one that exited
    /// sooner stays exited (ECS: "a container that isn't able to run for this period
    /// and exits early is not restarted"). A restart the engine refuses leaves it
    /// exited.
    async fn restart_exited(&mut self) {
        self.confirm_exits().await;
        for i in 0..self.slots.len() {
            if self.stop_requested().is_some() {
                // Stopping: nothing is started again.
                return;
            }
            let slot = &self.slots[i];
            let (Some(restart), Some(code), Some(id), Some(since), Some(exited)) = (
                &slot.restart,
                slot.exit_code,
                slot.id.clone(),
                slot.last_start,
                slot.exited_at,
            ) else {
                continue;
            };
            if slot.unconfirmed_exit() {
                continue;
            }
            let ran = exited.saturating_duration_since(since);
            if restart.ignored_exit_codes.contains(&code) || ran < restart.attempt_period {
                continue;
            }
            let name = slot.name.clone();
            if self.may_act().is_err() {
                return;
            }
            if let Err(e) = self.agent.runtime.start_container(&id).await {
                tracing::warn!(task = %self.task_id, container = %name, error = %e, "restarting a container in place");
                // Not again: it stays exited, as one the policy does not restart.
                self.slots[i].restart = None;
                continue;
            }
            let slot = &mut self.slots[i];
            slot.exit_code = None;
            slot.last_start = Some(Instant::now());
            slot.restarts += 1;
            slot.health = HealthStatus::Unknown;
            tracing::info!(task = %self.task_id, container = %name, exit_code = code, "restarted in place by its restart policy");
            // A port the engine chose may change with the restart.
            let ports = self.published_ports(i, &id).await;
            self.state.update_container(&self.task_id, &name, |c| {
                c.last_status = ContainerStatus::Running;
                c.exit_code = None;
                c.restart_count += 1;
                c.network_bindings = ports.clone();
                // A new run: its health is checked afresh.
                c.health_status = HealthStatus::Unknown;
            });
            let task_health = self.task_health();
            self.state
                .update_task(&self.task_id, |t| t.health_status = task_health);
        }
    }

    /// An exit heard for a container restarted in place may be older than its restart
    /// (a resync's list taken before it, or the engine's `die` event arriving after the
    /// list reported it): each is checked with the engine, and one whose container runs
    /// is dropped.
    async fn confirm_exits(&mut self) {
        for i in 0..self.slots.len() {
            let slot = &self.slots[i];
            let (true, false, Some(_), Some(id)) = (
                slot.restarts > 0,
                slot.exit_confirmed,
                slot.exit_code,
                slot.id.clone(),
            ) else {
                continue;
            };
            let Ok(info) = self.agent.runtime.inspect_container(&id).await else {
                // Unconfirmed: not acted on (see `unconfirmed_exit`); asked again at the
                // next wake.
                continue;
            };
            if info.state != ContainerState::Running {
                self.slots[i].exit_confirmed = true;
                continue;
            }
            let name = self.slots[i].name.clone();
            self.slots[i].exit_code = None;
            self.slots[i].exited_at = None;
            self.state.update_container(&self.task_id, &name, |c| {
                c.last_status = ContainerStatus::Running;
                c.exit_code = None;
            });
        }
    }

    /// Records a container event.
    fn apply(&mut self, event: ContainerEvent) {
        let Some(i) = self
            .slots
            .iter()
            .position(|s| s.id.as_ref() == Some(&event.id))
        else {
            return;
        };
        let slot = &mut self.slots[i];
        let name = slot.name.clone();
        match event.kind {
            ContainerEventKind::Start => {
                slot.started_at.get_or_insert_with(Instant::now);
            }
            ContainerEventKind::Die { exit_code } => {
                if slot.exit_code.is_some() {
                    return;
                }
                slot.exit_code = Some(exit_code);
                slot.exited_at = Some(Instant::now());
                slot.exit_confirmed = false;
                self.state.update_container(&self.task_id, &name, |c| {
                    c.last_status = ContainerStatus::Stopped;
                    c.exit_code = Some(exit_code);
                });
            }
            ContainerEventKind::Oom => {
                self.state.update_container(&self.task_id, &name, |c| {
                    c.reason =
                        Some("OutOfMemoryError: Container killed due to memory usage".to_owned());
                });
            }
            ContainerEventKind::Health(health) => {
                if slot.health == health {
                    return;
                }
                slot.health = health;
                self.state
                    .update_container(&self.task_id, &name, |c| c.health_status = health);
                let task_health = self.task_health();
                self.state
                    .update_task(&self.task_id, |t| t.health_status = task_health);
            }
        }
    }

    /// ECS's rule: UNHEALTHY if an essential container with a health check is; HEALTHY
    /// if all of them are (and there is one); UNKNOWN otherwise.
    fn task_health(&self) -> HealthStatus {
        let checked: Vec<&Slot> = self
            .slots
            .iter()
            .filter(|s| s.essential && s.spec.health_check.is_some())
            .collect();
        if checked.iter().any(|s| s.health == HealthStatus::Unhealthy) {
            HealthStatus::Unhealthy
        } else if !checked.is_empty() && checked.iter().all(|s| s.health == HealthStatus::Healthy) {
            HealthStatus::Healthy
        } else {
            HealthStatus::Unknown
        }
    }

    /// Takes in what the agent heard of one of the task's containers.
    fn hear(&mut self, signal: Signal) {
        match signal {
            Signal::Event(e) => self.apply(e),
            Signal::Seen(info) => self.seen(&info),
            Signal::Gone(id) => self.gone(&id),
        }
    }

    /// The engine's list at a resync showed `info`: what events may have missed.
    fn seen(&mut self, info: &ContainerInfo) {
        let Some(i) = self.running_slot(&info.id) else {
            return;
        };
        if let ContainerState::Exited { exit_code } = info.state {
            self.apply(ContainerEvent {
                id: info.id.clone(),
                kind: ContainerEventKind::Die { exit_code },
            });
        } else if info.health != self.slots[i].health {
            self.apply(ContainerEvent {
                id: info.id.clone(),
                kind: ContainerEventKind::Health(info.health),
            });
        }
    }

    /// The engine's list at a resync did not show `id`: removed behind the agent's back,
    /// it will never report again.
    fn gone(&mut self, id: &ContainerId) {
        let Some(i) = self.running_slot(id) else {
            return;
        };
        self.apply(ContainerEvent {
            id: id.clone(),
            kind: ContainerEventKind::Die { exit_code: 137 },
        });
        let name = self.slots[i].name.clone();
        self.state.update_container(&self.task_id, &name, |c| {
            c.reason = Some("container removed outside the agent".to_owned());
        });
    }

    /// The slot of a running container of the task.
    fn running_slot(&self, id: &ContainerId) -> Option<usize> {
        self.slots
            .iter()
            .position(|s| s.id.as_ref() == Some(id) && s.running())
    }

    /// DEACTIVATING, STOPPING (containers in reverse start order, each with its
    /// stopTimeout), DEPROVISIONING (removed), STOPPED (resources released).
    async fn shut_down(mut self, cause: Cause) {
        let now = self.state.now();
        self.state.update_task(&self.task_id, |t| {
            t.desired_status = TaskStatus::Stopped;
            t.last_status = TaskStatus::Deactivating;
            t.stopping_at = Some(now);
            t.stop_code = Some(cause.code);
            t.stopped_reason = Some(cause.reason.clone());
        });
        // Why it stops is durable before anything stops.
        if !self.durable().await {
            return;
        }
        self.state
            .update_task(&self.task_id, |t| t.last_status = TaskStatus::Stopping);
        let rt = self.agent.runtime.clone();
        let mut order: Vec<usize> = (0..self.slots.len())
            .filter(|&i| self.slots[i].id.is_some())
            .collect();
        order.sort_by_key(|&i| std::cmp::Reverse(self.slots[i].start_seq));
        let (state, agent) = (self.state.clone(), self.agent.clone());
        // Given up on (not retried) once the instance is deregistered, or this control
        // plane no longer holds its store.
        let abandoned = move || !agent.current(&state) || state.check_fence().is_err();
        for i in order {
            let Some(id) = self.slots[i].id.clone() else {
                continue;
            };
            if self.may_act().is_err() {
                return;
            }
            if self.slots[i].running() {
                let timeout = self.slots[i].spec.stop_timeout;
                let name = self.slots[i].name.clone();
                retrying(&self.task_id, &name, "stop", &abandoned, || {
                    rt.stop_container(&id, timeout)
                })
                .await;
            }
            if self.slots[i].exit_code.is_none() {
                let code = match rt.inspect_container(&id).await {
                    Ok(info) => match info.state {
                        ContainerState::Exited { exit_code } => Some(exit_code),
                        _ => None,
                    },
                    Err(_) => None,
                };
                if let Some(exit_code) = code {
                    self.apply(ContainerEvent {
                        id: id.clone(),
                        kind: ContainerEventKind::Die { exit_code },
                    });
                } else if self.slots[i].started_at.is_none() {
                    // Created, never started: nothing ran.
                    let name = self.slots[i].name.clone();
                    self.state.update_container(&self.task_id, &name, |c| {
                        c.last_status = ContainerStatus::Stopped
                    });
                }
            }
        }
        // Containers that never got going are STOPPED too.
        for s in &self.slots {
            if s.id.is_none() {
                self.state.update_container(&self.task_id, &s.name, |c| {
                    c.last_status = ContainerStatus::Stopped
                });
            }
        }
        self.state.update_task(&self.task_id, |t| {
            t.last_status = TaskStatus::Deprovisioning
        });
        for s in &self.slots {
            if let Some(id) = &s.id {
                if self.may_act().is_err() {
                    return;
                }
                self.agent.unroute(id);
                // Removal (forced) ends whatever still ran; the engine confirms it before
                // the task's resources are given back.
                retrying(&self.task_id, &s.name, "remove", &abandoned, || {
                    rt.remove_container(id)
                })
                .await;
                if s.exit_code.is_none() {
                    self.state.update_container(&self.task_id, &s.name, |c| {
                        c.last_status = ContainerStatus::Stopped;
                        c.reason
                            .get_or_insert_with(|| "removed while running".to_owned());
                    });
                }
            }
        }
        // Task-scoped engine volumes (`ecs-TASKID-VOLUME`) go with the task; shared
        // ones stay.
        let prefix = format!("ecs-{}-", self.task_id);
        let mut volumes: Vec<&str> = self
            .slots
            .iter()
            .flat_map(|s| s.spec.mounts.iter())
            .filter_map(|m| match m {
                crate::runtime::MountSpec::Volume { name, .. } if name.starts_with(&prefix) => {
                    Some(name.as_str())
                }
                _ => None,
            })
            .collect();
        volumes.sort_unstable();
        volumes.dedup();
        for v in volumes {
            if self.may_act().is_err() {
                return;
            }
            retrying(&self.task_id, v, "remove volume", &abandoned, || {
                rt.remove_volume(v)
            })
            .await;
        }
        self.state.task_stopped(&self.task_id);
    }
}

/// Runs `op` until the engine answers it: retryable failures (engine away, timeout)
/// back off and try again, indefinitely, since giving up would leave a container running
/// behind a task reported STOPPED; a container already gone counts as done. The one
/// exception: the instance was deregistered (`abandoned`), whose engine is no longer
/// ours to manage.
async fn retrying<F, Fut>(
    task: &TaskId,
    container: &str,
    what: &str,
    abandoned: &(dyn Fn() -> bool + Sync),
    mut op: F,
) where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<(), RuntimeError>>,
{
    let mut backoff = Duration::from_millis(200);
    loop {
        match op().await {
            Ok(()) | Err(RuntimeError::NotFound(_)) => return,
            Err(e) if e.is_retryable() && abandoned() => {
                tracing::warn!(%task, container, error = %e, "{what} failed; the instance was deregistered: giving up");
                return;
            }
            Err(e) if e.is_retryable() => {
                tracing::warn!(%task, container, error = %e, "{what} failed; retrying in {backoff:?}");
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(Duration::from_secs(30));
            }
            Err(e) => {
                tracing::warn!(%task, container, error = %e, "{what} failed");
                return;
            }
        }
    }
}

enum Readiness {
    Ready,
    Waiting,
    Never(String),
}

fn essential_exited(_container: &str) -> Cause {
    Cause {
        code: StopCode::EssentialContainerExited,
        reason: "Essential container in task exited".to_owned(),
    }
}

fn pull_reason(e: &RuntimeError) -> String {
    match e {
        RuntimeError::ImageUnavailable { .. } => e.to_string(),
        other => format!("CannotPullContainerError: {other}"),
    }
}
