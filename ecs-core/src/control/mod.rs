//! The control plane's facade, [`Ecs`]: task definitions, clusters and their instances
//! (each with its agent and runtime), tasks, services and their auto scaling, the event
//! stream; and [`Ecs::open`]'s recovery from a store.
//!
//! # The API's rules
//!
//! Followed by every method of [`Ecs`]:
//!
//! - **One method per ECS operation**, named after it (`RunTask` is [`Ecs::run_task`]).
//!   An operation whose request only names resources takes them as arguments
//!   ([`Ecs::describe_tasks`], [`Ecs::describe_cluster`], [`Ecs::create_cluster`],
//!   [`Ecs::deregister_task_definition`], [`Ecs::deregister_scalable_target`]);
//!   every other one takes one request struct named after the operation, made by `new`
//!   from ECS's required members, its optional members public fields (and `with_`
//!   methods): [`RunTask`], [`StartTask`], [`StopTask`], [`ListTasks`],
//!   [`CreateService`], [`UpdateService`], [`DeleteService`],
//!   [`RegisterContainerInstance`], [`UpdateContainerInstancesState`],
//!   [`DeregisterContainerInstance`], [`GetContainerLogs`], [`ExecuteCommand`], and auto
//!   scaling's
//!   [`RegisterScalableTarget`](crate::autoscaling::RegisterScalableTarget),
//!   [`PutScalingPolicy`](crate::autoscaling::PutScalingPolicy) and
//!   [`DeleteScalingPolicy`](crate::autoscaling::DeleteScalingPolicy).
//!   RegisterTaskDefinition's request is the [`TaskDefinition`] itself.
//! - **Async only where it waits**: for a container engine
//!   ([`Ecs::register_container_instance`] asks the engine for its host and its
//!   containers), for the store ([`Ecs::open`], [`Ecs::flush`], [`Ecs::shutdown`],
//!   [`Ecs::halt`]), for a state ([`Ecs::wait_for`], [`Ecs::wait_for_service`]) or for
//!   what an engine streams ([`Ecs::get_container_logs`], [`Ecs::execute_command`]).
//!   Every other operation checks its request, changes the state under its one lock and
//!   returns what ECS returns; the work it starts on the engines follows in the
//!   background, seen through [`Ecs::subscribe`] and the `wait_for` methods. Those that
//!   start background work (RunTask, StartTask, CreateService, RegisterScalableTarget,
//!   RegisterContainerInstance, and [`Ecs::open`]) need a Tokio runtime and return [`Error::NoRuntime`] outside one. The embedding's
//!   own wiring, which no ECS operation does ([`Ecs::register_target_group`],
//!   [`Ecs::set_service_limits`], [`Ecs::set_metrics_source`]), is synchronous too.
//! - **Refused where ECS refuses**, before anything changes: ECS's limits (RunTask's
//!   `count` 1 to 10, StartTask's 10 instances, UpdateContainerInstancesState's 10,
//!   `startedBy`'s length and characters, a task definition of at most 64 KiB of JSON,
//!   overrides of at most 8192 characters, a service's own task group) as
//!   [`Error::InvalidParameter`] naming the operation and the member (placement's 5
//!   strategies and 10 constraints, and a service's members, as
//!   [`Error::InvalidPlacement`] and [`Error::InvalidService`], which name the member
//!   too); a task that cannot be placed is a failure in the answer naming what the
//!   instances lacked and on how many (`ATTRIBUTE`: "2 container instances lack the
//!   attribute ecs.capability.container-health-check"). Reads of an unknown cluster are
//!   [`Error::NotFound`], as ECS's `ClusterNotFoundException`; reads are not paginated:
//!   an embedding program reads what it holds (ECS's page sizes belong to an API
//!   server).
//! - **Errors say what happened**: [`Error::NotFound`] and [`Error::AlreadyExists`] with
//!   the [`ResourceKind`] and the cluster, an engine's error as the
//!   `source` of [`Error::Runtime`].
//! - **Identifiers are types**: names and ids are newtypes checked when made, ARNs are
//!   [`Arn`]s, a task's group is a [`TaskGroup`](crate::TaskGroup).
//!
//! Only wiring: the state is written through its one writer (the crate's `state`
//! module), the commands the facade shares with the loops are in `ops`, and the loops
//! in `controllers`. Nothing in the crate imports this module (the runtime conformance
//! suite uses it as a user does).

mod capacity;
mod clusters;
mod exec;
mod instances;
mod logs;
mod recover;
mod scaling;
mod services;
mod tags;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use tokio::sync::broadcast;

pub use crate::cluster::{
    DeregisterContainerInstance, RegisterContainerInstance, UpdateContainerInstancesState,
};
pub use crate::config::{EcsConfig, OrphanPolicy};
pub use crate::service::{CreateService, DeleteService, UpdateService};
pub use crate::task::{ListTasks, RunTask, RunTaskOutput, StartTask, StopTask, TaskFailure};
pub use capacity::{CreateCapacityProvider, UpdateCapacityProvider};
pub use exec::{ExecuteCommand, ExecuteCommandOutput, NOT_ENABLED};
pub use logs::{AwsLogStream, GetContainerLogs, GetContainerLogsOutput};
pub use recover::RecoveryReport;

use crate::agent::Agent;
use crate::cluster::{Cluster, ClusterDescription};
use crate::controllers::Context;
use crate::ids::{Arn, ClusterName, TaskDefinitionRef, TaskId};
use crate::ops::Ops;
use crate::registry::{Registered, TaskDefinitionRegistry};
use crate::service::ServiceStatus;
use crate::state::journal::Journal;
use crate::state::{Clock, State, Tables};
use crate::task::{Event, StopCode, Task, TaskStatus};
use crate::task_definition::{TaskDefinition, TaskDefinitionStatus};
use crate::{Error, ResourceKind};

/// Refuses an operation that spawns background work outside a Tokio runtime (where
/// spawning would panic).
fn needs_runtime(operation: &'static str) -> Result<(), Error> {
    match tokio::runtime::Handle::try_current() {
        Ok(_) => Ok(()),
        Err(_) => Err(Error::NoRuntime { operation }),
    }
}

/// What the clones of one [`Ecs`] share. Its loops hold the parts below it (the
/// commands, the controllers' context), never this: the last handle dropped ends them.
struct Plane {
    ops: Arc<Ops>,
    controllers: Arc<Context>,
    /// What recovery found on each instance registered again after a restart.
    recoveries: Mutex<Vec<RecoveryReport>>,
    /// The state gauges the last [`Ecs::record_state_metrics`] set: those of a cluster
    /// or service gone since are set to zero rather than left at their last value.
    gauges: Mutex<std::collections::BTreeSet<clusters::Gauge>>,
}

impl Drop for Plane {
    /// Ends every loop at its next step and lets the store go; the containers keep
    /// running, for a control plane opened on the store to adopt.
    fn drop(&mut self) {
        self.ops.supervisor.cancel();
        if let Some(j) = self.ops.state.journal() {
            j.release("the control plane was dropped");
        }
    }
}

/// The control plane. Cheap to clone; clones share everything.
///
/// ```
/// use std::sync::Arc;
/// use ecs_core::cluster::Resources;
/// use ecs_core::control::{Ecs, RegisterContainerInstance, RunTask};
/// use ecs_core::runtime::InMemoryRuntime;
/// use ecs_core::task::TaskStatus;
/// use ecs_core::TaskDefinition;
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), ecs_core::Error> {
/// let ecs = Ecs::new(Default::default());
/// ecs.create_cluster("dev".parse()?)?;
/// let runtime = InMemoryRuntime::new(Resources::new(4096, 8192));
/// let instance = RegisterContainerInstance::new("dev".parse()?, "i-1".parse()?, Arc::new(runtime));
/// ecs.register_container_instance(instance).await?;
/// ecs.register_task_definition(
///     TaskDefinition::from_json(r#"{"family": "hello", "containerDefinitions":
///         [{"name": "app", "image": "busybox", "memory": 64}]}"#)?.definition,
/// )?;
/// let out = ecs.run_task(RunTask::new("dev".parse()?, "hello".parse()?, 2))?;
/// assert_eq!(out.tasks.len(), 2);
/// let task = ecs.wait_for(&out.tasks[0].task_id, |t| t.last_status == TaskStatus::Running).await?;
/// assert_eq!(task.container("app").unwrap().network_bindings, []);
/// # Ok(())
/// # }
/// ```
///
/// Dropping the last clone ends the control plane's background tasks (agents, task
/// runners, service controllers, auto scaling, the persister) and lets its store go;
/// containers keep running. [`Ecs::shutdown`] does the same once every change is
/// durable.
#[derive(Clone)]
pub struct Ecs {
    plane: Arc<Plane>,
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
        Self::build(config, None, None)
    }

    /// A control plane on `config`, with a journal to a store if given, whose clock
    /// never runs behind `floor` (the newest time in the state it is to restore).
    fn build(
        config: EcsConfig,
        journal: Option<Arc<Journal>>,
        floor: Option<jiff::Timestamp>,
    ) -> Self {
        let tables = Tables {
            registry: TaskDefinitionRegistry::with_scope(config.arn_scope.clone()),
            stopped_task_ttl: config.stopped_task_ttl,
            ..Tables::default()
        };
        let state = Arc::new(State::new(tables, journal, Clock::new(floor)));
        let ops = Arc::new(Ops::new(state, config));
        Self {
            plane: Arc::new(Plane {
                controllers: Arc::new(Context::new(ops.clone())),
                ops,
                recoveries: Mutex::new(Vec::new()),
                gauges: Mutex::new(std::collections::BTreeSet::new()),
            }),
        }
    }

    fn ops(&self) -> &Arc<Ops> {
        &self.plane.ops
    }

    fn state(&self) -> &Arc<State> {
        &self.plane.ops.state
    }

    fn config(&self) -> &EcsConfig {
        &self.plane.ops.config
    }

    /// The region and account in the ARNs this control plane makes.
    pub fn arn_scope(&self) -> &crate::ids::ArnScope {
        &self.config().arn_scope
    }

    /// Task and container state changes, from now on.
    pub fn subscribe(&self) -> broadcast::Receiver<Event> {
        self.state().subscribe()
    }

    /// Registers the next revision of a task definition's family.
    pub fn register_task_definition(&self, td: TaskDefinition) -> Result<Registered, Error> {
        let registered = self.state().lock().registry.register(td)?;
        self.state().touched();
        Ok(registered)
    }

    /// A task definition by `family`, `family:revision` or ARN.
    pub fn describe_task_definition(
        &self,
        reference: &TaskDefinitionRef,
    ) -> Result<TaskDefinition, Error> {
        self.state().lock().registry.describe(reference).cloned()
    }

    /// Marks a revision INACTIVE.
    pub fn deregister_task_definition(
        &self,
        reference: &TaskDefinitionRef,
    ) -> Result<TaskDefinition, Error> {
        let td = self
            .state()
            .lock()
            .registry
            .deregister(reference)
            .cloned()?;
        self.state().touched();
        Ok(td)
    }

    /// Marks INACTIVE revisions DELETE_IN_PROGRESS (DeleteTaskDefinitions): still
    /// describable, never usable again. Each revision answers for itself: an ACTIVE one
    /// (deregister it first) or an unknown one is refused, the others deleted.
    pub fn delete_task_definitions(
        &self,
        references: &[TaskDefinitionRef],
    ) -> Vec<Result<TaskDefinition, Error>> {
        let out = self.state().lock().registry.delete(references);
        self.state().touched();
        out
    }

    /// The families with a revision of `status` (every family when `None`), in name
    /// order (ListTaskDefinitionFamilies).
    pub fn list_task_definition_families(
        &self,
        status: Option<TaskDefinitionStatus>,
    ) -> Vec<crate::ids::Family> {
        let s = self.state().lock();
        s.registry
            .list_families(status)
            .into_iter()
            .cloned()
            .collect()
    }

    /// The revisions of `status` (all when `None`) of `family`, or of every family, by
    /// family and then revision (ListTaskDefinitions).
    pub fn list_task_definitions(
        &self,
        family: Option<&crate::ids::Family>,
        status: Option<TaskDefinitionStatus>,
    ) -> Vec<TaskDefinitionRef> {
        let s = self.state().lock();
        match family {
            Some(f) => s.registry.list_revisions(f, status),
            None => s
                .registry
                .list_families(None)
                .into_iter()
                .flat_map(|f| s.registry.list_revisions(f, status))
                .collect(),
        }
    }

    /// Creates an empty cluster ([`Ecs::create_cluster_with`] adds tags and settings).
    pub fn create_cluster(&self, name: ClusterName) -> Result<(), Error> {
        self.create_cluster_with(name, &crate::tags::Tags::new(), &[])
    }

    /// The ARNs of every cluster, in name order (ListClusters).
    pub fn list_clusters(&self) -> Vec<Arn> {
        let scope = &self.config().arn_scope;
        let s = self.state().lock();
        s.clusters
            .keys()
            .map(|name| scope.arn(format!("cluster/{name}")))
            .collect()
    }

    /// The clusters named, as DescribeClusters shows them, in the order asked; names
    /// of no cluster are left out (DescribeClusters reports them as failures).
    ///
    /// The task counts read every task of the state once, whatever the number of
    /// clusters asked.
    pub fn describe_clusters(&self, names: &[ClusterName]) -> Vec<ClusterDescription> {
        let scope = &self.config().arn_scope;
        let s = self.state().lock();
        let mut counts: HashMap<&ClusterName, (usize, usize)> = names
            .iter()
            .filter(|n| s.clusters.contains_key(*n))
            .map(|n| (n, (0, 0)))
            .collect();
        for entry in s.tasks.values() {
            let t = &entry.task;
            let Some((running, pending)) = counts.get_mut(&t.cluster) else {
                continue;
            };
            match t.last_status {
                TaskStatus::Running => *running += 1,
                TaskStatus::Provisioning | TaskStatus::Pending | TaskStatus::Activating
                    if t.desired_status == TaskStatus::Running =>
                {
                    *pending += 1;
                }
                _ => {}
            }
        }
        names
            .iter()
            .filter_map(|name| {
                let entry = s.clusters.get(name)?;
                let (running, pending) = counts.get(name).copied().unwrap_or_default();
                Some(ClusterDescription {
                    cluster_arn: scope.arn(format!("cluster/{name}")),
                    cluster_name: name.clone(),
                    status: "ACTIVE".to_owned(),
                    registered_container_instances_count: entry.cluster.len(),
                    running_tasks_count: running,
                    pending_tasks_count: pending,
                    active_services_count: s
                        .services
                        .iter()
                        .filter(|((c, _), e)| {
                            c == name && e.service.status == ServiceStatus::Active
                        })
                        .count(),
                    settings: entry.settings.clone(),
                    tags: entry.tags.clone(),
                    capacity_providers: entry.capacity_providers.clone(),
                    default_capacity_provider_strategy: entry.default_strategy.clone(),
                })
            })
            .collect()
    }

    /// A snapshot of a cluster's instances and what they hold.
    pub fn describe_cluster(&self, name: &ClusterName) -> Result<Cluster, Error> {
        let s = self.state().lock();
        let c = s
            .clusters
            .get(name)
            .ok_or_else(|| Error::not_found(ResourceKind::Cluster, name))?;
        Ok(c.cluster.clone())
    }

    /// Registers a container instance driven by `runtime`: its resources and built-in
    /// attributes come from the runtime's host description, its capabilities become
    /// `ecs.capability.*` attributes, and `extra` adds attributes (a zone, custom ones).
    pub async fn register_container_instance(
        &self,
        request: RegisterContainerInstance,
    ) -> Result<(), Error> {
        // Its agent runs on Tokio: refused before anything is registered.
        needs_runtime("RegisterContainerInstance")?;
        let RegisterContainerInstance {
            cluster,
            instance: id,
            runtime,
            attributes: extra,
        } = request;
        // Every call to its engine is measured (`ecs_engine_*`), whatever the backend.
        let runtime: Arc<dyn crate::runtime::ContainerRuntime> =
            Arc::new(crate::runtime::instrumented::Instrumented::new(runtime));
        let cluster = &cluster;
        // An instance the store brought back, registered again after a restart.
        let known = {
            let s = self.state().lock();
            let c = s
                .clusters
                .get(cluster)
                .ok_or_else(|| Error::not_found(ResourceKind::Cluster, cluster))?;
            c.cluster.instance(&id).is_some() && !c.agents.contains_key(&id)
        };
        if known {
            return self.reattach(cluster, &id, runtime, extra).await;
        }
        self.plane
            .controllers
            .register_new_instance(cluster, id, runtime, extra)
            .await
    }

    /// How containers of an engine whose default network is `network` reach the task
    /// metadata endpoint (see [`Context::metadata_access`]).
    pub(super) async fn metadata_access(
        &self,
        network: Option<crate::runtime::ContainerNetwork>,
    ) -> Result<Option<crate::agent::MetadataAccess>, Error> {
        self.plane.controllers.metadata_access(network).await
    }

    /// Runs an agent (see [`Context::start_agent`]).
    fn start_agent(&self, agent: Arc<Agent>) {
        self.plane.controllers.start_agent(agent);
    }

    /// Places and starts `request.count` tasks (RunTask). Returns once they are
    /// recorded, PROVISIONING, their runners started: watch events (or
    /// [`Ecs::wait_for`]) for RUNNING. Tasks that could not be placed are reported in
    /// the answer's failures, each naming what the instances lacked and on how many.
    pub fn run_task(&self, request: RunTask) -> Result<RunTaskOutput, Error> {
        request.validate()?;
        needs_runtime("RunTask")?;
        let td = self
            .state()
            .lock()
            .registry
            .resolve_active(&request.task_definition)?
            .clone();
        // Placed by, and run as, the overridden definition.
        let td = match &request.overrides {
            Some(o) => o.apply("RunTask", &td)?,
            None => td,
        };
        self.ops().launch(request, &td, Vec::new(), &|_| true)
    }

    /// Starts a task on each of the named instances (StartTask): no placement strategy,
    /// but the same checks of resources, ports and the runtime's capabilities. Every
    /// instance is checked before any task starts: an error starts nothing.
    pub fn start_task(&self, request: StartTask) -> Result<RunTaskOutput, Error> {
        request.validate()?;
        needs_runtime("StartTask")?;
        let cluster = &request.cluster;
        let td = {
            let s = self.state().lock();
            let c = s
                .clusters
                .get(cluster)
                .ok_or_else(|| Error::not_found(ResourceKind::Cluster, cluster))?;
            let td = s.registry.resolve_active(&request.task_definition)?;
            // What the tasks run: the overridden definition (a GPU override needs GPUs).
            let td = match &request.overrides {
                Some(o) => o.apply("StartTask", td)?,
                None => td.clone(),
            };
            for instance in &request.container_instances {
                let agent = c
                    .agents
                    .contains_key(instance)
                    .then(|| self.ops().fleet.get(cluster, instance))
                    .flatten()
                    .ok_or_else(|| {
                        Error::not_found_in(ResourceKind::ContainerInstance, instance, cluster)
                    })?;
                // Name the capability it lacks rather than a placement failure.
                let missing = agent.capabilities.missing_for(&td);
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
            td
        };
        let mut out = RunTaskOutput::default();
        for instance in &request.container_instances {
            let mut one = RunTask::new(cluster.clone(), request.task_definition.clone(), 1);
            one.started_by = request.started_by.clone();
            one.group = request.group.clone();
            one.overrides = request.overrides.clone();
            one.enable_execute_command = request.enable_execute_command;
            one.tags = request.tags.clone();
            // On the instance named, whatever the cluster's default strategy says.
            one.launch_type = Some(crate::task::LaunchType::Ec2);
            // The instance named: the scheduler's own constraint, not one of the
            // request's ten.
            let on =
                crate::placement::Constraint::member_of(&format!("ec2InstanceId == '{instance}'"))?;
            let placed = self.ops().launch(one, &td, vec![on], &|_| true)?;
            out.tasks.extend(placed.tasks);
            out.failures
                .extend(placed.failures.into_iter().map(|mut f| {
                    f.arn = Some(
                        self.config()
                            .arn_scope
                            .arn(format!("container-instance/{cluster}/{instance}")),
                    );
                    f
                }));
        }
        Ok(out)
    }

    /// Asks a task to stop (StopTask). Returns its state at the time of the call; watch
    /// events (or [`Ecs::wait_for`]) for STOPPED.
    pub fn stop_task(&self, request: StopTask) -> Result<Task, Error> {
        request.validate()?;
        let reason = request.reason.as_deref().unwrap_or("Task stopped by user");
        let task = self.ops().request_stop(
            &request.cluster,
            &request.task,
            StopCode::UserInitiated,
            reason,
        )?;
        Ok((*task).clone())
    }

    /// The tasks with these ids (unknown ids are skipped, as DescribeTasks reports them
    /// as failures).
    pub fn describe_tasks(
        &self,
        cluster: &ClusterName,
        ids: &[TaskId],
    ) -> Result<Vec<Task>, Error> {
        let s = self.state().lock();
        if !s.clusters.contains_key(cluster) {
            return Err(Error::not_found(ResourceKind::Cluster, cluster));
        }
        Ok(ids
            .iter()
            .filter_map(|id| s.tasks.get(id))
            .filter(|e| e.task.cluster == *cluster)
            .map(|e| (*e.task).clone())
            .collect())
    }

    /// The ids of the cluster's tasks matching the request's filters (ListTasks).
    pub fn list_tasks(&self, request: ListTasks) -> Result<Vec<TaskId>, Error> {
        let s = self.state().lock();
        if !s.clusters.contains_key(&request.cluster) {
            return Err(Error::not_found(ResourceKind::Cluster, &request.cluster));
        }
        Ok(s.tasks
            .values()
            .map(|e| &e.task)
            .filter(|t| request.matches(t))
            .map(|t| t.task_id.clone())
            .collect())
    }

    /// One page of ListTasks: the ids of the matching tasks after `after`, in id order,
    /// at most `limit` of them, and whether more follow. The tasks before `after` are
    /// not looked at: a page of an unfiltered list costs the page, not the cluster.
    pub fn list_tasks_page(
        &self,
        request: &ListTasks,
        after: Option<&TaskId>,
        limit: usize,
    ) -> Result<(Vec<TaskId>, bool), Error> {
        use std::ops::Bound;
        let s = self.state().lock();
        if !s.clusters.contains_key(&request.cluster) {
            return Err(Error::not_found(ResourceKind::Cluster, &request.cluster));
        }
        let from = after.map_or(Bound::Unbounded, Bound::Excluded);
        let mut page: Vec<TaskId> = s
            .tasks
            .range((from, Bound::Unbounded))
            .map(|(_, e)| &e.task)
            .filter(|t| request.matches(t))
            .take(limit.saturating_add(1))
            .map(|t| t.task_id.clone())
            .collect();
        let more = page.len() > limit;
        page.truncate(limit);
        Ok((page, more))
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
                let s = self.state().lock();
                s.tasks
                    .get(task)
                    .map(|e| (*e.task).clone())
                    .ok_or_else(|| Error::not_found(ResourceKind::Task, task))?
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
                        return Err(Error::not_found(ResourceKind::Task, task));
                    }
                }
            }
        }
    }
}
