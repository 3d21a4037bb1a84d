//! Observing a service: its tasks and instances, what happened to them since the last
//! pass (tasks that stopped, failed, proved themselves), and what the planner needs to
//! know of each task. Observing reads the state (it holds `&Tables`); what it found is
//! written by the next step, [`record`](super::record).

use super::*;

/// What a pass saw of a service, for [`record`](super::record) to write and the planner
/// to decide on.
pub(super) struct Observed {
    /// The service's live tasks for the planner, each with its deployment. Whether a task
    /// is the PRIMARY deployment's is known only once the findings are recorded (a
    /// circuit breaker's rollback makes a new PRIMARY): `primary` is set then.
    pub(super) tasks: Vec<(PlanTask, Option<String>)>,
    /// Tasks the service no longer holds: STOPPED, or forgotten.
    pub(super) gone: Vec<TaskId>,
    /// The deployment (`startedBy`) of each task that failed since the last pass.
    pub(super) failed: Vec<Option<String>>,
    /// The deployment of each task that stayed healthy for the stability window in this
    /// pass, for the first time.
    pub(super) proved: Vec<Option<String>>,
    /// For a DAEMON service, the instances that may take its tasks (ACTIVE, neither
    /// lost nor draining); which of them its task definition and constraints admit is
    /// decided when recording, against the definition a rollback may have changed.
    pub(super) daemon_candidates: Option<BTreeSet<InstanceId>>,
    /// Targets of tasks that stopped while still registered with a load balancer.
    pub(super) unregister: Vec<(Vec<lb::Link>, Vec<crate::load_balancer::Target>)>,
    /// When to look again at the latest.
    pub(super) wake_at: Option<Instant>,
}

/// Reads the service's tasks and instances and describes them for the record step and
/// the planner. `None` when the service is gone (or is another one of the same name).
pub(super) fn observe(
    ctx: &Context,
    state: &Tables,
    key: &ServiceKey,
    memory: &mut Memory,
    now: Instant,
) -> Option<Observed> {
    let config = ctx.config();
    let entry = state
        .services
        .get(key)
        .filter(|e| Arc::ptr_eq(&e.wake, &memory.me))?;
    if entry.service.status == ServiceStatus::Inactive {
        return None;
    }
    let links = lb::links_of(state, &entry.service);
    let cluster = state.clusters.get(&key.0);

    // Tasks that stopped since the last pass.
    let (mut gone, mut failed, mut unregister) = (Vec::new(), Vec::new(), Vec::new());
    for id in &entry.tasks {
        let Some(task) = state.tasks.get(id).map(|e| &e.task) else {
            gone.push(id.clone());
            continue;
        };
        if task.last_status != TaskStatus::Stopped {
            continue;
        }
        gone.push(id.clone());
        memory.running_since.remove(id);
        memory.lb.draining.remove(id);
        if let Some(targets) = memory.lb.registered.remove(id) {
            // Stopped while still registered (it died between two load balancer
            // syncs): out of the load balancers too.
            unregister.push((links.clone(), targets));
        }
        memory.lb.healthy.remove(id);
        memory.lb.unhealthy.remove(id);
        memory.healthy_since.remove(id);
        memory.stable.remove(id);
        let failure = memory.stopped_unhealthy.remove(id)
            || task.stopped_reason.as_deref() == Some(StopReason::Unhealthy.message())
            || matches!(
                task.stop_code,
                Some(StopCode::TaskFailedToStart | StopCode::EssentialContainerExited)
            );
        if failure {
            failed.push(task.started_by.clone());
        }
    }

    // Eligible instances of a DAEMON service.
    let draining = entry.service.status == ServiceStatus::Draining;
    let lost_timeout = config.instance_lost_timeout;
    let mut wake_at = None;
    let lost_at = std::cell::Cell::new(None);
    let instance_state = |id: &InstanceId| -> InstanceState {
        let Some(c) = cluster else {
            return InstanceState::Lost;
        };
        let Some(instance) = c.cluster.instance(id) else {
            return InstanceState::Lost;
        };
        if let Some(since) = c.disconnected.get(id) {
            if *since + lost_timeout <= now {
                return InstanceState::Lost;
            }
            lost_at.set(earliest(lost_at.get(), Some(*since + lost_timeout)));
        }
        if instance.status() == InstanceStatus::Active {
            InstanceState::Active
        } else {
            InstanceState::Draining
        }
    };
    let daemon_candidates =
        (entry.service.scheduling_strategy == SchedulingStrategy::Daemon).then(|| {
            match (cluster, draining) {
                (Some(c), false) => c
                    .cluster
                    .instances()
                    .map(|i| i.id().clone())
                    .filter(|i| instance_state(i) == InstanceState::Active)
                    .collect(),
                _ => BTreeSet::new(),
            }
        });

    // The tasks, for the planner.
    let grace = Duration::from_secs(u64::from(entry.service.health_check_grace_period_seconds));
    let (spread, binpack) = scale_in_fields(&entry.service);
    let mut has_check: HashMap<String, bool> = HashMap::new();
    for d in &entry.service.deployments {
        let check = state
            .registry
            .describe(&d.task_definition)
            .is_ok_and(|td| td.has_essential_health_check());
        has_check.insert(d.id.as_str().to_owned(), check);
    }
    let balanced = !entry.service.load_balancers.is_empty();
    let clock = ctx.state().clock();
    let mut tasks = Vec::with_capacity(entry.tasks.len());
    let mut proved = Vec::new();
    for id in &entry.tasks {
        let Some(task) = state
            .tasks
            .get(id)
            .map(|e| &e.task)
            .filter(|t| t.last_status != TaskStatus::Stopped)
        else {
            continue;
        };
        let checked = task
            .started_by
            .as_deref()
            .and_then(|d| has_check.get(d).copied())
            .unwrap_or(false);
        let mut phase = phase(task, checked, grace, now, clock, memory, &mut wake_at);
        if balanced {
            // Behind a load balancer, healthy means healthy there too; a task failing
            // its target health checks past the grace period is replaced; one being
            // drained is on its way out.
            let since = memory.running_since.get(id).copied();
            if memory.lb.draining.contains(id) {
                phase = TaskPhase::Stopping;
            } else if phase == TaskPhase::Healthy && !memory.lb.healthy.contains(id) {
                phase = match since {
                    Some(t) if memory.lb.unhealthy.contains(id) && t + grace <= now => {
                        TaskPhase::Unhealthy
                    }
                    _ => TaskPhase::Starting,
                };
            }
        }
        if phase == TaskPhase::Healthy {
            // Behind a load balancer, healthy is its word, which is not kept: counted
            // from now.
            let since = *memory.healthy_since.entry(id.clone()).or_insert_with(|| {
                if balanced {
                    now
                } else {
                    healthy_since(task, clock, &memory.running_since, now)
                }
            });
            let stable_at = since + config.service_throttle.stable_after;
            if stable_at > now {
                wake_at = earliest(wake_at, Some(stable_at));
            } else if memory.stable.insert(id.clone()) {
                proved.push(task.started_by.clone());
            }
        } else {
            memory.healthy_since.remove(id);
        }
        let instance = cluster.and_then(|c| c.cluster.instance(task.container_instance.as_ref()?));
        let planned = PlanTask {
            id: id.clone(),
            primary: false,
            instance: task.container_instance.clone(),
            // Waiting for capacity: as on an ACTIVE instance (it is pending).
            instance_state: task
                .container_instance
                .as_ref()
                .map_or(InstanceState::Active, &instance_state),
            phase,
            spread_key: instance.and_then(|i| match &spread {
                SpreadField::InstanceId => Some(i.id().to_string()),
                SpreadField::Attribute(a) => i.attribute(a).flatten().map(str::to_owned),
            }),
            instance_remaining: match (instance, binpack) {
                (Some(i), Some(BinpackField::Cpu)) => u64::from(i.remaining_resources().cpu),
                (Some(i), Some(BinpackField::Memory)) => u64::from(i.remaining_resources().memory),
                _ => 0,
            },
        };
        tasks.push((planned, task.started_by.clone()));
    }
    Some(Observed {
        tasks,
        gone,
        failed,
        proved,
        daemon_candidates,
        unregister,
        wake_at: earliest(wake_at, lost_at.get()),
    })
}

/// The phase of a task that is not STOPPED.
pub(super) fn phase(
    task: &Task,
    has_check: bool,
    grace: Duration,
    now: Instant,
    clock: &Clock,
    memory: &mut Memory,
    wake_at: &mut Option<Instant>,
) -> TaskPhase {
    if task.desired_status == TaskStatus::Stopped {
        return TaskPhase::Stopping;
    }
    if task.last_status != TaskStatus::Running {
        return TaskPhase::Starting;
    }
    // Since its `startedAt` (durable): a restarted controller knows how long it has run.
    let since = *memory
        .running_since
        .entry(task.task_id.clone())
        .or_insert_with(|| {
            task.started_at
                .map_or(now, |t| clock.instant_of(t).min(now))
        });
    match task.health_status {
        HealthStatus::Unhealthy if since + grace <= now => TaskPhase::Unhealthy,
        HealthStatus::Unhealthy => {
            *wake_at = earliest(*wake_at, Some(since + grace));
            TaskPhase::Starting
        }
        HealthStatus::Healthy => TaskPhase::Healthy,
        _ if has_check => TaskPhase::Starting,
        // ECS: without a health check on an essential container, a task counts towards
        // the minimum healthy 40 seconds after it is RUNNING.
        _ if since + NO_CHECK_HEALTHY_AFTER > now => {
            *wake_at = earliest(*wake_at, Some(since + NO_CHECK_HEALTHY_AFTER));
            TaskPhase::Starting
        }
        _ => TaskPhase::Healthy,
    }
}

/// Since when a task first seen healthy by this controller has been: since its health
/// turned HEALTHY, or (without a health check) since it had run for 40 seconds; never
/// later than now. Both come from the task's durable timestamps, so a controller that
/// starts after a restart counts the stability window as the one before it did.
fn healthy_since(
    task: &Task,
    clock: &Clock,
    running_since: &HashMap<TaskId, Instant>,
    now: Instant,
) -> Instant {
    let since = match task.healthy_at {
        Some(t) => clock.instant_of(t),
        None => running_since
            .get(&task.task_id)
            .map_or(now, |t| *t + NO_CHECK_HEALTHY_AFTER),
    };
    since.min(now)
}

/// The attribute scale-in balances (the first spread strategy's, else the availability
/// zone) and the first binpack resource.
pub(super) fn scale_in_fields(service: &Service) -> (SpreadField, Option<BinpackField>) {
    let mut spread = None;
    let mut binpack = None;
    for s in &service.placement_strategy {
        match Strategy::from_api(s) {
            Ok(Strategy::Spread(f)) if spread.is_none() => spread = Some(f),
            Ok(Strategy::Binpack(f)) if binpack.is_none() => binpack = Some(f),
            _ => {}
        }
    }
    (
        spread.unwrap_or_else(|| SpreadField::Attribute(attributes::AVAILABILITY_ZONE.to_owned())),
        binpack,
    )
}

/// The instances a DAEMON service runs on: ACTIVE ones meeting its constraints and its
/// task definition's (resources are not a condition: an instance without room is
/// reported as a placement failure instead).
pub(super) fn daemon_instances(
    cluster: &Cluster,
    service: &Service,
    td: Option<&crate::TaskDefinition>,
) -> BTreeSet<InstanceId> {
    let Some(td) = td else {
        return BTreeSet::new();
    };
    let Ok(mut request) = PlacementRequest::for_task_definition(td, 1) else {
        return BTreeSet::new();
    };
    request.group = crate::ids::TaskGroup::Service(service.service_name.clone()).to_string();
    let Ok(mut request) = request.with_api_constraints(&service.placement_constraints) else {
        return BTreeSet::new();
    };
    // Instances whose runtime cannot run the service's tasks are not the service's.
    let connect = service
        .primary()
        .and_then(|d| d.service_connect_configuration.as_ref())
        .is_some_and(|c| c.enabled);
    let required = crate::runtime::Capabilities::attributes_required(td, connect);
    request
        .constraints
        .push(Constraint::RequiresAttributes(required));
    let ctx = PlacementContext {
        cluster,
        group: &request.group,
        requirements: &request.requirements,
    };
    cluster
        .instances()
        .filter(|i| i.status() == InstanceStatus::Active)
        .filter(|i| {
            request
                .constraints
                .iter()
                .filter(|c| !matches!(c, Constraint::DistinctInstance))
                .all(|c| c.admits(i, &ctx))
        })
        .map(|i| i.id().clone())
        .collect()
}
