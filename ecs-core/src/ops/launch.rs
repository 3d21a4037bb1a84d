//! Launching tasks: placement, the task recorded, its runner started.

use std::sync::Arc;

use super::Ops;
use crate::agent::Agent;
use crate::agent::runner::Runner;
use crate::cluster::AllocationId;
use crate::ids::{Arn, ClusterName, InstanceId, TaskDefinitionRef, TaskGroup, TaskId};
use crate::placement::{Constraint, PlacementRequest, Scheduler};
use crate::runtime::{Capabilities, HealthStatus, TaskContext};
use crate::state::{Tables, TaskEntry};
use crate::task::{
    Container, ContainerStatus, Event, RunTask, RunTaskOutput, Task, TaskFailure, TaskOverride,
    TaskStatus,
};
use crate::task_definition::TaskDefinition;
use crate::{Error, ResourceKind};

impl Ops {
    /// Places and starts tasks of `td` (any revision, INACTIVE included: services keep
    /// running theirs), with `extra` constraints besides the request's.
    ///
    /// `still_wanted` is checked under the same lock as the placement: a service's
    /// controller passes one that fails if the service changed since it decided, so a
    /// concurrent update or deletion never gets tasks it no longer wants.
    pub(crate) fn launch(
        &self,
        mut request: RunTask,
        td: &TaskDefinition,
        extra: Vec<Constraint>,
        still_wanted: &dyn Fn(&Tables) -> bool,
    ) -> Result<RunTaskOutput, Error> {
        // Settled once: each task of the request is of this group.
        let group = request.group_or_family(td)?;
        request.group = Some(group.clone());
        // Checked before anything is placed: a bad request places nothing.
        self.placement_for(&request, td, &extra, request.count, None)?;

        let mut out = RunTaskOutput::default();
        let started = {
            let mut s = self.state.lock();
            if !still_wanted(&s) {
                return Ok(out);
            }
            let parts = self.capacity_parts(&s, &request, &group)?;
            let mut started = Vec::new();
            for (count, provider) in parts {
                let placement =
                    self.placement_for(&request, td, &extra, count, provider.as_ref())?;
                let mut part = RunTaskOutput::default();
                let placed = self.place_and_create(
                    &mut s,
                    &request,
                    td,
                    &placement,
                    provider.as_ref(),
                    &mut part,
                )?;
                let unplaced =
                    count.saturating_sub(u32::try_from(placed.len()).unwrap_or(u32::MAX));
                started.extend(placed);
                let Some(provider) = provider.filter(|_| unplaced > 0) else {
                    out.failures.extend(part.failures);
                    continue;
                };
                // With a capacity provider, what does not fit waits for capacity.
                {
                    for _ in 0..unplaced {
                        let task = self.create_waiting(
                            &mut s,
                            &request,
                            td,
                            &provider,
                            placement.requirements.resources,
                            &extra,
                        )?;
                        out.tasks.push((*task).clone());
                    }
                    self.state.capacity_wake.notify_one();
                }
            }
            started
        };
        for (task, runner) in started {
            out.tasks.push((*task).clone());
            self.supervisor.spawn(runner.run());
        }
        Ok(out)
    }

    /// The placement request for `count` tasks of `request`, on `provider`'s instances
    /// when given.
    pub(crate) fn placement_for(
        &self,
        request: &RunTask,
        td: &TaskDefinition,
        extra: &[Constraint],
        count: u32,
        provider: Option<&crate::ids::CapacityProviderName>,
    ) -> Result<PlacementRequest, Error> {
        let group = request.group_or_family(td)?;
        let mut placement = PlacementRequest::for_task_definition(td, count)?
            .with_group(group.to_string())
            .with_api_strategies(&request.placement_strategy)?
            .with_api_constraints(&request.placement_constraints)?;
        let required = Capabilities::attributes_required(td, request.service_connect.is_some());
        placement = placement.with_constraint(Constraint::RequiresAttributes(required));
        placement.internal += 1;
        for c in extra.iter().cloned() {
            placement = placement.with_constraint(c);
            placement.internal += 1;
        }
        if let Some(p) = provider {
            placement = placement.with_constraint(crate::capacity::on_provider(p)?);
            placement.internal += 1;
        }
        Ok(placement)
    }

    /// Places `placement` in the request's cluster and records a task (with its runner
    /// to start) for each task placed; what could not be placed goes to `out`'s
    /// failures.
    #[allow(clippy::type_complexity)]
    pub(crate) fn place_and_create(
        &self,
        s: &mut Tables,
        request: &RunTask,
        td: &TaskDefinition,
        placement: &PlacementRequest,
        provider: Option<&crate::ids::CapacityProviderName>,
        out: &mut RunTaskOutput,
    ) -> Result<Vec<(Arc<Task>, Runner)>, Error> {
        let entry = s
            .clusters
            .get_mut(&request.cluster)
            .ok_or_else(|| Error::not_found(ResourceKind::Cluster, &request.cluster))?;
        let outcome = {
            let mut scheduler = self.scheduler.lock().unwrap_or_else(|e| e.into_inner());
            let started = std::time::Instant::now();
            let outcome = scheduler.place(&mut entry.cluster, placement)?;
            record_placement(request, placement.count, &outcome, started.elapsed());
            outcome
        };
        let mut started = Vec::new();
        for p in &outcome.placements {
            let (instance, allocation) = (p.instance.clone(), p.allocation);
            // Whatever cannot become a task gives its reservation back at once: a
            // failed request leaves nothing half-made.
            let made = match self.fleet.get(&request.cluster, &instance) {
                Some(agent) => self.create_task(
                    s,
                    request,
                    td,
                    Some((instance.clone(), allocation, agent)),
                    provider.cloned(),
                ),
                None => Err(Error::not_found_in(
                    ResourceKind::ContainerInstance,
                    &instance,
                    &request.cluster,
                )),
            };
            match made {
                Ok((task, Some(runner))) => started.push((task, runner)),
                Ok((_, None)) => {}
                Err(e) => {
                    if let Some(c) = s.clusters.get_mut(&request.cluster) {
                        let _ = c.cluster.release(allocation);
                    }
                    out.failures.push(TaskFailure {
                        arn: Some(
                            self.config
                                .arn_scope
                                .arn(format!("container-instance/{}/{instance}", request.cluster)),
                        ),
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
                detail: Some(f.reason.detail(f.instances)),
            });
        }
        Ok(started)
    }

    /// Records a placed task and makes its runner (started by the caller, once the
    /// lock is released).
    /// Without a placement, the task waits for capacity: it has no runner yet.
    pub(crate) fn create_task(
        &self,
        s: &mut Tables,
        request: &RunTask,
        td: &TaskDefinition,
        placed: Option<(InstanceId, AllocationId, Arc<Agent>)>,
        provider: Option<crate::ids::CapacityProviderName>,
    ) -> Result<(Arc<Task>, Option<Runner>), Error> {
        s.next_task += 1;
        let task_id = TaskId::new(format!(
            "{:032x}",
            fastrand::u128(..) ^ u128::from(s.next_task)
        ))?;
        let task_arn = self
            .config
            .arn_scope
            .arn(format!("task/{}/{task_id}", request.cluster));
        let group = request.group_or_family(td)?;
        let task = new_task(
            td,
            NewTask {
                task_arn,
                task_id: task_id.clone(),
                cluster: request.cluster.clone(),
                instance: placed.as_ref().map(|p| p.0.clone()),
                capacity_provider: provider,
                group,
                started_by: request.started_by.clone(),
                overrides: request.overrides.clone().unwrap_or_default(),
                enable_execute_command: request.enable_execute_command,
                tags: request.tags.clone(),
                service_connect: request.service_connect.clone(),
                allocation: placed.as_ref().map(|p| p.1),
                created_at: self.state.now(),
            },
        )?;
        let entry = TaskEntry::new(task);
        let runner = placed.map(|(_, _, agent)| {
            Runner::new(
                self.state.clone(),
                agent,
                task_id.clone(),
                td,
                &task_context(&entry.task),
                entry.stop.subscribe(),
                &self.config,
            )
        });
        let task = entry.task.clone();
        s.task_changed(&task_id);
        s.tasks.insert(task_id, entry);
        // Under the lock, as every change of a task is published: no later change of it
        // (a stop asked for at once) is seen before its creation.
        self.state.publish(Event::TaskStateChange(task.clone()));
        Ok((task, runner))
    }
}

/// Records a placement's tasks placed and not, and how long it took.
fn record_placement(
    request: &RunTask,
    count: u32,
    outcome: &crate::placement::Outcome,
    took: std::time::Duration,
) {
    use crate::telemetry::{PLACEMENT_FAILURES, PLACEMENT_SECONDS, PLACEMENTS};
    let cluster = request.cluster.to_string();
    let placed = outcome.placements.len() as u64;
    let failed = u64::from(count).saturating_sub(placed);
    metrics::histogram!(PLACEMENT_SECONDS).record(took.as_secs_f64());
    metrics::counter!(PLACEMENTS, "cluster" => cluster.clone(), "result" => "placed")
        .increment(placed);
    if failed > 0 {
        metrics::counter!(PLACEMENTS, "cluster" => cluster.clone(), "result" => "failed")
            .increment(failed);
        // The reason that turned away the most instances is the one ECS reports.
        let reason = outcome
            .failures
            .first()
            .map_or_else(|| "UNKNOWN".to_owned(), |f| f.reason.to_string());
        metrics::counter!(PLACEMENT_FAILURES, "cluster" => cluster, "reason" => reason)
            .increment(failed);
    }
}

/// Who a new task is, for [`new_task`].
pub(crate) struct NewTask {
    pub(crate) task_arn: Arn,
    pub(crate) task_id: TaskId,
    pub(crate) cluster: ClusterName,
    pub(crate) instance: Option<InstanceId>,
    pub(crate) capacity_provider: Option<crate::ids::CapacityProviderName>,
    pub(crate) group: TaskGroup,
    pub(crate) started_by: Option<String>,
    pub(crate) overrides: TaskOverride,
    pub(crate) enable_execute_command: bool,
    pub(crate) tags: crate::tags::Tags,
    pub(crate) service_connect: Option<crate::service::TaskServiceConnect>,
    pub(crate) allocation: Option<AllocationId>,
    pub(crate) created_at: jiff::Timestamp,
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
        capacity_provider_name: who.capacity_provider,
        task_definition: TaskDefinitionRef::new(family, revision),
        group: who.group,
        started_by: who.started_by,
        overrides: Arc::new(who.overrides.shown(td)),
        cpu: td.cpu.clone(),
        memory: td.memory.clone(),
        enable_execute_command: who.enable_execute_command,
        tags: who.tags,
        service_connect: who.service_connect,
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
                cpu: c.cpu.map(|v| v.to_string()),
                memory: c.memory.map(|v| v.to_string()),
                memory_reservation: c.memory_reservation.map(|v| v.to_string()),
                runtime_id: None,
                last_status: ContainerStatus::Pending,
                exit_code: None,
                reason: None,
                health_status: HealthStatus::Unknown,
                network_bindings: Vec::new(),
                restart_count: 0,
            })
            .collect(),
        created_at: who.created_at,
        started_at: None,
        stopping_at: None,
        stopped_at: None,
        stop_code: None,
        stopped_reason: None,
        healthy_at: None,
        allocation: who.allocation,
        version: 1,
    })
}

/// What a task's containers are told of it (their labels).
pub(crate) fn task_context(task: &Task) -> TaskContext {
    TaskContext {
        cluster: task.cluster.to_string(),
        task_arn: task.task_arn.to_string(),
        task_id: task.task_id.to_string(),
        service: task.group.service().map(ToString::to_string),
        group: task.group.to_string(),
        service_connect: task.service_connect.clone(),
    }
}
