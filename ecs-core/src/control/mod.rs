//! The control plane: task definitions, clusters and their instances (each with its
//! agent and runtime), and tasks; `run_task`, `start_task`, `stop_task`,
//! `describe_tasks`, `list_tasks`, and the event stream.

mod instances;
mod persist;
mod records;
mod recover;
mod requests;
mod scaling;
mod services;

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use tokio::sync::{Notify, broadcast, watch};
use tokio::time::Instant;

pub use recover::{OrphanPolicy, RecoveryReport};
pub use requests::{ListTasks, RunTask, RunTaskOutput, TaskFailure};
pub(crate) use services::new_deployment;

use crate::Error;
use crate::agent::Agent;
use crate::agent::runner::Runner;
use crate::cluster::{Cluster, InstanceRegistration};
use crate::ids::{ArnScope, ClusterName, InstanceId, ServiceName, TaskDefinitionRef, TaskId};
use crate::placement::{Constraint, IndexedScheduler, PlacementRequest, Scheduler};
use crate::registry::{Registered, TaskDefinitionRegistry};
use crate::runtime::{Capabilities, ContainerRuntime, HealthStatus, PullPolicy, TaskContext};
use crate::service::{ServiceEntry, ServiceLimits, ThrottleConfig};
use crate::task::{Container, ContainerStatus, Event, StopCode, Task, TaskStatus};
use crate::task_definition::TaskDefinition;

/// Settings of the control plane and its agents.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct EcsConfig {
    /// How often each task's runner asks the engine about its containers, in case an
    /// event was missed.
    pub resync_interval: Duration,
    /// How long an agent waits before reopening its runtime's event stream.
    pub reconnect_interval: Duration,
    /// When images are pulled.
    pub pull_policy: PullPolicy,
    /// Region and account of the ARNs made.
    pub arn_scope: ArnScope,
    /// How long an instance's agent may stay disconnected before the instance counts as
    /// lost and services replace its tasks elsewhere.
    pub instance_lost_timeout: Duration,
    /// The back-off of services whose tasks keep failing.
    pub service_throttle: ThrottleConfig,
    /// How often auto scaling samples and evaluates, and its alarms' periods.
    pub autoscaling: crate::autoscaling::AutoScalingConfig,
    /// What recovery does with containers that carry this library's labels for a
    /// cluster it manages but belong to no task it knows (see [`Ecs::open`]).
    pub orphans: OrphanPolicy,
}

impl Default for EcsConfig {
    fn default() -> Self {
        Self {
            resync_interval: Duration::from_secs(30),
            reconnect_interval: Duration::from_secs(5),
            pull_policy: PullPolicy::IfNotPresent,
            arn_scope: ArnScope::default(),
            instance_lost_timeout: Duration::from_secs(180),
            service_throttle: ThrottleConfig::default(),
            autoscaling: crate::autoscaling::AutoScalingConfig::default(),
            orphans: OrphanPolicy::default(),
        }
    }
}

/// A request to stop a task, from the user or a service.
#[derive(Debug, Clone)]
pub(crate) struct StopRequest {
    pub(crate) code: StopCode,
    pub(crate) reason: String,
}

pub(crate) struct TaskEntry {
    pub(crate) task: Arc<Task>,
    stop: watch::Sender<Option<StopRequest>>,
}

pub(crate) struct ClusterEntry {
    pub(crate) cluster: Cluster,
    pub(crate) agents: BTreeMap<InstanceId, Arc<Agent>>,
    /// Since when each disconnected instance's agent has been away.
    pub(crate) disconnected: BTreeMap<InstanceId, Instant>,
    pub(crate) limits: ServiceLimits,
}

/// A service's key: its cluster and name.
pub(crate) type ServiceKey = (ClusterName, ServiceName);

#[derive(Default)]
pub(crate) struct State {
    pub(crate) registry: TaskDefinitionRegistry,
    pub(crate) clusters: BTreeMap<ClusterName, ClusterEntry>,
    pub(crate) tasks: BTreeMap<TaskId, TaskEntry>,
    pub(crate) services: BTreeMap<ServiceKey, ServiceEntry>,
    pub(crate) scaling: BTreeMap<ServiceKey, crate::autoscaling::ScalingEntry>,
    /// Load balancers services can name, by target group name or ARN.
    pub(crate) target_groups: BTreeMap<String, Arc<dyn crate::load_balancer::LoadBalancer>>,
    next_task: u64,
    /// Tasks changed since the durable copy last looked (kept only with a store).
    pub(crate) dirty_tasks: Option<std::collections::HashSet<TaskId>>,
}

impl State {
    /// Notes that a task changed, for the durable copy.
    pub(crate) fn task_changed(&mut self, id: &TaskId) {
        if let Some(dirty) = &mut self.dirty_tasks {
            dirty.insert(id.clone());
        }
    }

    /// The controller to wake when `task` changes, if a service owns it.
    fn service_of(&self, task: &Task) -> Option<Arc<Notify>> {
        // On every task change: nothing to parse or look up without services.
        if self.services.is_empty() {
            return None;
        }
        let name = task.group.strip_prefix("service:")?.parse().ok()?;
        self.services
            .get(&(task.cluster.clone(), name))
            .map(|e| e.wake.clone())
    }

    /// The controllers of every service of `cluster`.
    pub(crate) fn services_of(&self, cluster: &ClusterName) -> Vec<Arc<Notify>> {
        self.services
            .iter()
            .filter(|((c, _), _)| c == cluster)
            .map(|(_, e)| e.wake.clone())
            .collect()
    }
}

/// What the control plane's parts share.
pub(crate) struct Shared {
    state: Mutex<State>,
    events: broadcast::Sender<Event>,
    scheduler: Mutex<IndexedScheduler>,
    pub(crate) config: EcsConfig,
    /// The user's metrics, if set.
    pub(crate) metrics: Mutex<Option<Arc<dyn crate::autoscaling::MetricsSource>>>,
    /// CPU and memory from the containers' stats.
    pub(crate) engine_stats: crate::autoscaling::metrics::EngineStats,
    /// Whether the auto scaling loop runs.
    pub(crate) scaler_started: std::sync::atomic::AtomicBool,
    /// The durable copy of the state, when the control plane has one.
    pub(crate) journal: Option<Arc<persist::Journal>>,
    /// Every loop the control plane runs (agents, runners, controllers ...), so that
    /// [`Ecs::halt`] can end them all.
    spawned: Mutex<tokio::task::JoinSet<()>>,
    /// Set by [`Ecs::halt`]: nothing starts any more.
    halted: std::sync::atomic::AtomicBool,
    /// What recovery found on each instance registered again after a restart.
    pub(crate) recoveries: Mutex<Vec<RecoveryReport>>,
}

impl Shared {
    pub(crate) fn state(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub(crate) fn metrics_source(&self) -> Option<Arc<dyn crate::autoscaling::MetricsSource>> {
        self.metrics
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    pub(crate) fn publish(&self, event: Event) {
        // Every change is published: the durable copy follows.
        self.touched();
        // Nobody listening is fine.
        let _ = self.events.send(event);
    }

    /// A change no event tells of was made: the durable copy follows.
    pub(crate) fn touched(&self) {
        if let Some(j) = &self.journal {
            j.poke();
        }
    }

    /// Returns once every change made before the call is durable (at once without a
    /// store). Errs if it never will be: another control plane took the store over.
    pub(crate) async fn barrier(&self) -> Result<(), Error> {
        match &self.journal {
            Some(j) => j.barrier().await,
            None => Ok(()),
        }
    }

    /// Runs `work` as one of the control plane's loops (ended by [`Ecs::halt`]).
    pub(crate) fn spawn(&self, work: impl std::future::Future<Output = ()> + Send + 'static) {
        let mut set = self.spawned.lock().unwrap_or_else(|e| e.into_inner());
        // Checked under the lock `halt` takes: nothing slips in after it.
        if self.halted.load(std::sync::atomic::Ordering::SeqCst) {
            return;
        }
        // Forget the finished ones as we go.
        while set.try_join_next().is_some() {}
        set.spawn(work);
    }

    /// Changes a task and publishes the change.
    pub(crate) fn update_task(&self, id: &TaskId, change: impl FnOnce(&mut Task)) {
        let (snapshot, wake) = {
            let mut s = self.state();
            let Some(entry) = s.tasks.get_mut(id) else {
                return;
            };
            let mut task = (*entry.task).clone();
            change(&mut task);
            if task == *entry.task {
                return;
            }
            task.version += 1;
            entry.task = Arc::new(task);
            let snapshot = entry.task.clone();
            s.task_changed(id);
            let wake = s.service_of(&snapshot);
            (snapshot, wake)
        };
        self.publish(Event::TaskStateChange(snapshot));
        if let Some(w) = wake {
            w.notify_one();
        }
    }

    /// Changes one container of a task and publishes the change.
    pub(crate) fn update_container(
        &self,
        id: &TaskId,
        name: &str,
        change: impl FnOnce(&mut Container),
    ) {
        let (snapshot, wake) = {
            let mut s = self.state();
            let Some(entry) = s.tasks.get_mut(id) else {
                return;
            };
            let mut task = (*entry.task).clone();
            let Some(c) = task.containers.iter_mut().find(|c| c.name == name) else {
                return;
            };
            change(c);
            if task == *entry.task {
                return;
            }
            task.version += 1;
            entry.task = Arc::new(task);
            let snapshot = entry.task.clone();
            s.task_changed(id);
            let wake = s.service_of(&snapshot);
            (snapshot, wake)
        };
        self.publish(Event::ContainerStateChange {
            task: snapshot,
            container: name.to_owned(),
        });
        if let Some(w) = wake {
            w.notify_one();
        }
    }

    /// The task is STOPPED: its resources go back to the cluster at once.
    pub(crate) fn task_stopped(&self, id: &TaskId) {
        {
            let mut s = self.state();
            let Some(entry) = s.tasks.get(id) else { return };
            let (cluster, allocation) = (entry.task.cluster.clone(), entry.task.allocation);
            if let Some(c) = s.clusters.get_mut(&cluster) {
                // Already released (instance deregistered): nothing held any more.
                let _ = c.cluster.release(allocation);
            }
        }
        self.update_task(id, |t| {
            t.last_status = TaskStatus::Stopped;
            t.stopped_at = Some(jiff::Timestamp::now());
        });
    }

    /// Whether `agent` is still its instance's (not deregistered).
    pub(crate) fn agent_registered(&self, agent: &Arc<Agent>) -> bool {
        self.state()
            .clusters
            .get(&agent.cluster)
            .and_then(|c| c.agents.get(&agent.instance))
            .is_some_and(|a| Arc::ptr_eq(a, agent))
    }

    /// Records whether `agent`'s engine answers. Returns false when the agent is no
    /// longer its instance's (deregistered), so that it stops.
    pub(crate) fn set_agent_connected(&self, agent: &Arc<Agent>, connected: bool) -> bool {
        let (cluster, instance) = (&agent.cluster, &agent.instance);
        let wake = {
            let mut s = self.state();
            let Some(c) = s.clusters.get_mut(cluster) else {
                return false;
            };
            if !c
                .agents
                .get(instance)
                .is_some_and(|a| Arc::ptr_eq(a, agent))
            {
                return false;
            }
            if c.cluster.set_agent_connected(instance, connected).is_err() {
                return false;
            }
            let changed = if connected {
                c.disconnected.remove(instance).is_some()
            } else {
                !c.disconnected.contains_key(instance)
                    && c.disconnected
                        .insert(instance.clone(), Instant::now())
                        .is_none()
            };
            if !changed {
                return true;
            }
            s.services_of(cluster)
        };
        self.publish(Event::InstanceStateChange {
            cluster: cluster.clone(),
            instance: instance.clone(),
        });
        for w in wake {
            w.notify_one();
        }
        true
    }
}

/// The control plane. Cheap to clone; clones share everything.
///
/// ```
/// use std::sync::Arc;
/// use ecs_core::cluster::Resources;
/// use ecs_core::control::{Ecs, RunTask};
/// use ecs_core::runtime::InMemoryRuntime;
/// use ecs_core::task::TaskStatus;
/// use ecs_core::TaskDefinition;
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), ecs_core::Error> {
/// let ecs = Ecs::new(Default::default());
/// ecs.create_cluster("dev".parse()?)?;
/// let runtime = InMemoryRuntime::new(Resources::new(4096, 8192));
/// ecs.register_instance(&"dev".parse()?, "i-1".parse()?, Arc::new(runtime), Default::default()).await?;
/// ecs.register_task_definition(
///     TaskDefinition::from_json(r#"{"family": "hello", "containerDefinitions":
///         [{"name": "app", "image": "busybox", "memory": 64}]}"#)?.definition,
/// )?;
/// let out = ecs.run_task(RunTask::new("dev".parse()?, "hello".parse()?, 2)).await?;
/// assert_eq!(out.tasks.len(), 2);
/// let task = ecs.wait_for(&out.tasks[0].task_id, |t| t.last_status == TaskStatus::Running).await?;
/// assert_eq!(task.container("app").unwrap().network_bindings, []);
/// # Ok(())
/// # }
/// ```
#[derive(Clone)]
pub struct Ecs {
    pub(crate) shared: Arc<Shared>,
}

impl std::fmt::Debug for Ecs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Ecs").finish_non_exhaustive()
    }
}

impl Ecs {
    /// A control plane with no clusters and no task definitions, and no durable state:
    /// everything is lost with the program. [`Ecs::open`] keeps it in a store.
    pub fn new(config: EcsConfig) -> Self {
        Self::build(config, None)
    }

    fn build(config: EcsConfig, journal: Option<Arc<persist::Journal>>) -> Self {
        let (events, _) = broadcast::channel(16_384);
        let state = State {
            registry: TaskDefinitionRegistry::with_scope(config.arn_scope.clone()),
            dirty_tasks: journal.as_ref().map(|_| Default::default()),
            ..State::default()
        };
        Self {
            shared: Arc::new_cyclic(|weak| Shared {
                state: Mutex::new(state),
                events,
                scheduler: Mutex::new(IndexedScheduler::new()),
                config,
                metrics: Mutex::new(None),
                engine_stats: crate::autoscaling::metrics::EngineStats::new(weak.clone()),
                scaler_started: std::sync::atomic::AtomicBool::new(false),
                journal,
                spawned: Mutex::new(tokio::task::JoinSet::new()),
                halted: std::sync::atomic::AtomicBool::new(false),
                recoveries: Mutex::new(Vec::new()),
            }),
        }
    }

    /// Task and container state changes, from now on.
    pub fn subscribe(&self) -> broadcast::Receiver<Event> {
        self.shared.events.subscribe()
    }

    /// Registers the next revision of a task definition's family.
    pub fn register_task_definition(&self, td: TaskDefinition) -> Result<Registered, Error> {
        let registered = self.shared.state().registry.register(td)?;
        self.shared.touched();
        Ok(registered)
    }

    /// A task definition by `family`, `family:revision` or ARN.
    pub fn describe_task_definition(
        &self,
        reference: &TaskDefinitionRef,
    ) -> Result<TaskDefinition, Error> {
        self.shared.state().registry.describe(reference).cloned()
    }

    /// Marks a revision INACTIVE.
    pub fn deregister_task_definition(
        &self,
        reference: &TaskDefinitionRef,
    ) -> Result<TaskDefinition, Error> {
        let td = self
            .shared
            .state()
            .registry
            .deregister(reference)
            .cloned()?;
        self.shared.touched();
        Ok(td)
    }

    /// Creates an empty cluster.
    pub fn create_cluster(&self, name: ClusterName) -> Result<(), Error> {
        let mut s = self.shared.state();
        if s.clusters.contains_key(&name) {
            return Err(Error::InvalidId {
                kind: "cluster name",
                value: name.to_string(),
                reason: "a cluster with this name exists".into(),
            });
        }
        s.clusters.insert(
            name.clone(),
            ClusterEntry {
                cluster: Cluster::new(name),
                agents: BTreeMap::new(),
                disconnected: BTreeMap::new(),
                limits: ServiceLimits::default(),
            },
        );
        drop(s);
        self.shared.touched();
        Ok(())
    }

    /// A snapshot of a cluster's instances and what they hold.
    pub fn describe_cluster(&self, name: &ClusterName) -> Result<Cluster, Error> {
        let s = self.shared.state();
        let c = s
            .clusters
            .get(name)
            .ok_or_else(|| Error::ClusterNotFound(name.to_string()))?;
        Ok(c.cluster.clone())
    }

    /// Registers a container instance driven by `runtime`: its resources and built-in
    /// attributes come from the runtime's host description, its capabilities become
    /// `ecs.capability.*` attributes, and `extra` adds attributes (a zone, custom ones).
    pub async fn register_instance(
        &self,
        cluster: &ClusterName,
        id: InstanceId,
        runtime: Arc<dyn ContainerRuntime>,
        extra: BTreeMap<String, String>,
    ) -> Result<(), Error> {
        // An instance the store brought back, registered again after a restart.
        let known = {
            let s = self.shared.state();
            let c = s
                .clusters
                .get(cluster)
                .ok_or_else(|| Error::ClusterNotFound(cluster.to_string()))?;
            c.cluster.instance(&id).is_some() && !c.agents.contains_key(&id)
        };
        if known {
            return self.reattach(cluster, &id, runtime, extra).await;
        }
        let host = runtime.describe_host().await.map_err(|e| Error::Runtime {
            instance: id.to_string(),
            error: e,
        })?;
        let mut registration = InstanceRegistration::new(id.clone(), host.resources)
            .with_agent_version(host.engine_version);
        for (k, v) in host.attributes.into_iter().chain(extra) {
            registration.attributes.insert(k, Some(v));
        }
        for a in runtime.capabilities().attributes() {
            registration.attributes.insert(a.to_owned(), None);
        }
        let id_for_event = id.clone();
        let agent = Arc::new(Agent::new(cluster.clone(), id.clone(), runtime));
        {
            let mut s = self.shared.state();
            let c = s
                .clusters
                .get_mut(cluster)
                .ok_or_else(|| Error::ClusterNotFound(cluster.to_string()))?;
            c.cluster.register_instance(registration)?;
            c.agents.insert(id, agent.clone());
        }
        self.shared.spawn(agent.pump(
            Arc::downgrade(&self.shared),
            self.shared.config.reconnect_interval,
        ));
        self.instances_changed(cluster, &[id_for_event]);
        Ok(())
    }

    /// Places and starts `request.count` tasks (RunTask).
    pub async fn run_task(&self, request: RunTask) -> Result<RunTaskOutput, Error> {
        let td = self
            .shared
            .state()
            .registry
            .resolve_active(&request.task_definition)?
            .clone();
        self.launch(request, &td, Vec::new(), &|_| true)
    }

    /// Places and starts tasks of `td` (any revision, INACTIVE included: services keep
    /// running theirs), with `extra` constraints besides the request's.
    ///
    /// `still_wanted` is checked under the same lock as the placement: a service's
    /// controller passes one that fails if the service changed since it decided, so a
    /// concurrent update or deletion never gets tasks it no longer wants.
    pub(crate) fn launch(
        &self,
        request: RunTask,
        td: &TaskDefinition,
        extra: Vec<Constraint>,
        still_wanted: &dyn Fn(&State) -> bool,
    ) -> Result<RunTaskOutput, Error> {
        let mut placement = PlacementRequest::for_task_definition(td, request.count)?
            .with_group(
                request
                    .group
                    .clone()
                    .unwrap_or_else(|| format!("family:{}", td.family())),
            )
            .with_api_strategies(&request.placement_strategy)?
            .with_api_constraints(&request.placement_constraints)?;
        let required: Vec<String> = Capabilities::required_by(td)
            .iter()
            .map(|r| r.attribute().to_owned())
            .collect();
        placement = placement.with_constraint(Constraint::RequiresAttributes(required));
        placement.internal += 1;
        for c in extra {
            placement = placement.with_constraint(c);
            placement.internal += 1;
        }

        let mut out = RunTaskOutput::default();
        let started = {
            let mut s = self.shared.state();
            if !still_wanted(&s) {
                return Ok(out);
            }
            let entry = s
                .clusters
                .get_mut(&request.cluster)
                .ok_or_else(|| Error::ClusterNotFound(request.cluster.to_string()))?;
            let outcome = {
                let mut scheduler = self
                    .shared
                    .scheduler
                    .lock()
                    .unwrap_or_else(|e| e.into_inner());
                scheduler.place(&mut entry.cluster, &placement)?
            };
            let placements: Vec<_> = outcome
                .placements
                .iter()
                .map(|p| {
                    (
                        p.instance.clone(),
                        p.allocation,
                        entry.agents.get(&p.instance).cloned(),
                    )
                })
                .collect();
            let mut started = Vec::new();
            for (instance, allocation, agent) in placements {
                // Whatever cannot become a task gives its reservation back at once: a
                // failed request leaves nothing half-made.
                let made = match agent {
                    Some(agent) => {
                        self.create_task(&mut s, &request, td, instance.clone(), allocation, agent)
                    }
                    None => Err(Error::InstanceNotFound(instance.to_string())),
                };
                match made {
                    Ok(task) => started.push(task),
                    Err(e) => {
                        if let Some(c) = s.clusters.get_mut(&request.cluster) {
                            let _ = c.cluster.release(allocation);
                        }
                        out.failures.push(TaskFailure {
                            arn: Some(instance.to_string()),
                            reason: "INTERNAL".to_owned(),
                            detail: Some(e.to_string()),
                        });
                    }
                }
            }
            for f in &outcome.failures {
                out.failures.push(TaskFailure {
                    arn: None,
                    reason: f.reason.to_string(),
                    detail: Some(format!("{} container instances", f.instances)),
                });
            }
            started
        };
        for (task, runner) in started {
            out.tasks.push(task);
            self.shared.spawn(runner.run());
        }
        Ok(out)
    }

    /// Starts a task on each of the named instances (StartTask): no placement strategy,
    /// but the same checks of resources, ports and the runtime's capabilities.
    pub async fn start_task(
        &self,
        cluster: &ClusterName,
        task_definition: &TaskDefinitionRef,
        instances: &[InstanceId],
        started_by: Option<String>,
    ) -> Result<RunTaskOutput, Error> {
        // Every instance is checked before any task starts: an error starts nothing.
        {
            let s = self.shared.state();
            let c = s
                .clusters
                .get(cluster)
                .ok_or_else(|| Error::ClusterNotFound(cluster.to_string()))?;
            let td = s.registry.resolve_active(task_definition)?;
            for instance in instances {
                let agent = c
                    .agents
                    .get(instance)
                    .ok_or_else(|| Error::InstanceNotFound(instance.to_string()))?;
                // Name the capability it lacks rather than a placement failure.
                let missing = agent.capabilities.missing_for(td);
                if !missing.is_empty() {
                    return Err(Error::Unsupported {
                        instance: instance.to_string(),
                        runtime: agent.runtime.name(),
                        missing: missing
                            .iter()
                            .map(|m| m.feature())
                            .collect::<Vec<_>>()
                            .join(", "),
                    });
                }
            }
        }
        let mut out = RunTaskOutput::default();
        for instance in instances {
            let mut request = RunTask::new(cluster.clone(), task_definition.clone(), 1);
            request.started_by = started_by.clone();
            request.placement_constraints = vec![crate::placement::api::PlacementConstraint::new(
                crate::placement::api::PlacementConstraintType::MemberOf,
                Some(&format!("ec2InstanceId == '{instance}'")),
            )];
            let one = self.run_task(request).await?;
            out.tasks.extend(one.tasks);
            out.failures.extend(one.failures.into_iter().map(|mut f| {
                f.arn = Some(instance.to_string());
                f
            }));
        }
        Ok(out)
    }

    fn create_task(
        &self,
        s: &mut State,
        request: &RunTask,
        td: &TaskDefinition,
        instance: InstanceId,
        allocation: crate::cluster::AllocationId,
        agent: Arc<Agent>,
    ) -> Result<(Task, Runner), Error> {
        s.next_task += 1;
        let task_id = TaskId::new(format!(
            "{:032x}",
            fastrand::u128(..) ^ u128::from(s.next_task)
        ))?;
        let task_arn = self
            .shared
            .config
            .arn_scope
            .arn(format!("task/{}/{task_id}", request.cluster))
            .to_string();
        let group = request
            .group
            .clone()
            .unwrap_or_else(|| format!("family:{}", td.family()));
        let task = new_task(
            td,
            NewTask {
                task_arn: task_arn.clone(),
                task_id: task_id.clone(),
                cluster: request.cluster.clone(),
                instance,
                group: group.clone(),
                started_by: request.started_by.clone(),
                allocation,
            },
        )?;
        let (stop, stop_rx) = watch::channel(None);
        let runner = Runner::new(
            self.shared.clone(),
            agent,
            task_id.clone(),
            td,
            &task_context(&task),
            stop_rx,
            self.shared.config.resync_interval,
        );
        let task = Arc::new(task);
        s.task_changed(&task_id);
        s.tasks.insert(
            task_id,
            TaskEntry {
                task: task.clone(),
                stop,
            },
        );
        self.shared.publish(Event::TaskStateChange(task.clone()));
        Ok(((*task).clone(), runner))
    }

    /// Asks a task to stop (StopTask). Returns its state at the time of the call; watch
    /// events (or [`Ecs::wait_for`]) for STOPPED.
    pub fn stop_task(
        &self,
        cluster: &ClusterName,
        task: &TaskId,
        reason: &str,
    ) -> Result<Task, Error> {
        self.request_stop(cluster, task, StopCode::UserInitiated, reason)
    }

    pub(crate) fn request_stop(
        &self,
        cluster: &ClusterName,
        task: &TaskId,
        code: StopCode,
        reason: &str,
    ) -> Result<Task, Error> {
        let s = self.shared.state();
        let entry = s
            .tasks
            .get(task)
            .filter(|e| e.task.cluster == *cluster)
            .ok_or_else(|| Error::TaskNotFound(task.to_string()))?;
        entry.stop.send_if_modified(|current| {
            if current.is_some() {
                return false;
            }
            *current = Some(StopRequest {
                code,
                reason: reason.to_owned(),
            });
            true
        });
        drop(s);
        // desiredStatus changes at once, as in ECS, with why (kept, so that a restarted
        // control plane still knows); the runner does the rest.
        self.shared.update_task(task, |t| {
            t.desired_status = TaskStatus::Stopped;
            t.stop_code.get_or_insert(code);
            t.stopped_reason.get_or_insert_with(|| reason.to_owned());
        });
        let s = self.shared.state();
        s.tasks
            .get(task)
            .map(|e| (*e.task).clone())
            .ok_or_else(|| Error::TaskNotFound(task.to_string()))
    }

    /// The tasks with these ids (unknown ids are skipped, as DescribeTasks reports them
    /// as failures).
    pub fn describe_tasks(&self, cluster: &ClusterName, ids: &[TaskId]) -> Vec<Task> {
        let s = self.shared.state();
        ids.iter()
            .filter_map(|id| s.tasks.get(id))
            .filter(|e| e.task.cluster == *cluster)
            .map(|e| (*e.task).clone())
            .collect()
    }

    /// The ids of the cluster's tasks matching `filter` (ListTasks).
    pub fn list_tasks(&self, cluster: &ClusterName, filter: &ListTasks) -> Vec<TaskId> {
        let s = self.shared.state();
        s.tasks
            .values()
            .map(|e| &e.task)
            .filter(|t| t.cluster == *cluster && filter.matches(t))
            .map(|t| t.task_id.clone())
            .collect()
    }

    /// Waits until `task` satisfies `condition` (checked now and at each of its changes).
    pub async fn wait_for(
        &self,
        task: &TaskId,
        condition: impl Fn(&Task) -> bool,
    ) -> Result<Task, Error> {
        let mut events = self.subscribe();
        loop {
            let current = {
                let s = self.shared.state();
                s.tasks
                    .get(task)
                    .map(|e| (*e.task).clone())
                    .ok_or_else(|| Error::TaskNotFound(task.to_string()))?
            };
            if condition(&current) {
                return Ok(current);
            }
            loop {
                match events.recv().await {
                    Ok(e) if e.task().is_some_and(|t| t.task_id == *task) => break,
                    Ok(_) => {}
                    Err(broadcast::error::RecvError::Lagged(_)) => break,
                    Err(broadcast::error::RecvError::Closed) => {
                        return Err(Error::TaskNotFound(task.to_string()));
                    }
                }
            }
        }
    }
}

/// Who a new task is, for [`new_task`].
pub(crate) struct NewTask {
    pub(crate) task_arn: String,
    pub(crate) task_id: TaskId,
    pub(crate) cluster: ClusterName,
    pub(crate) instance: InstanceId,
    pub(crate) group: String,
    pub(crate) started_by: Option<String>,
    pub(crate) allocation: crate::cluster::AllocationId,
}

/// A task of `td` as it begins: PROVISIONING, its containers PENDING.
pub(crate) fn new_task(td: &TaskDefinition, who: NewTask) -> Result<Task, Error> {
    let family: crate::ids::Family = td.family().parse()?;
    let revision =
        crate::ids::Revision::new(td.revision.and_then(|r| u32::try_from(r).ok()).unwrap_or(1))?;
    Ok(Task {
        task_arn: who.task_arn,
        task_id: who.task_id,
        cluster: who.cluster,
        container_instance: who.instance,
        task_definition: TaskDefinitionRef::new(family, revision),
        group: who.group,
        started_by: who.started_by,
        last_status: TaskStatus::Provisioning,
        desired_status: TaskStatus::Running,
        health_status: HealthStatus::Unknown,
        containers: td
            .containers()
            .iter()
            .map(|c| Container {
                name: c.name().to_owned(),
                image: c.image.clone().unwrap_or_default(),
                essential: c.is_essential(),
                runtime_id: None,
                last_status: ContainerStatus::Pending,
                exit_code: None,
                reason: None,
                health_status: HealthStatus::Unknown,
                network_bindings: Vec::new(),
            })
            .collect(),
        created_at: jiff::Timestamp::now(),
        started_at: None,
        stopping_at: None,
        stopped_at: None,
        stop_code: None,
        stopped_reason: None,
        allocation: who.allocation,
        version: 1,
    })
}

/// What a task's containers are told of it (their labels).
pub(crate) fn task_context(task: &Task) -> TaskContext {
    TaskContext {
        cluster: task.cluster.to_string(),
        task_arn: task.task_arn.clone(),
        task_id: task.task_id.to_string(),
        service: task.group.strip_prefix("service:").map(str::to_owned),
        group: task.group.clone(),
    }
}
