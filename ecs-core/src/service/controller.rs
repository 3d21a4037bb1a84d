//! One reconciler per service. It wakes on its tasks' changes, on instance changes, on
//! requests (update, delete) and on a periodic resync; each time it reads the state as
//! it is (never the event that woke it, so a missed event costs nothing), plans with
//! [`plan`](super::plan::plan) and acts. Only this loop starts or stops the service's
//! tasks, one pass at a time, and tasks it starts are recorded before the next pass:
//! a pass never starts a duplicate.

use std::collections::{BTreeSet, HashMap, HashSet};
use std::sync::{Arc, Weak};
use std::time::Duration;

use tokio::sync::Notify;
use tokio::time::Instant;

use super::config::SchedulingStrategy;
use super::model::{DeploymentStatus, RolloutState, Service, ServiceEvent, ServiceStatus};
use super::plan::{InstanceState, Plan, PlanInput, PlanTask, StopReason, TaskPhase, plan};
use super::{DeploymentCircuitBreaker, ServiceEntry};
use crate::Ecs;
use crate::cluster::{Cluster, InstanceStatus, attributes};
use crate::control::{RunTask, ServiceKey, Shared};
use crate::ids::{InstanceId, TaskId};
use crate::placement::rules::{BinpackField, SpreadField};
use crate::placement::{Constraint, PlacementContext, PlacementRequest, Strategy};
use crate::runtime::HealthStatus;
use crate::task::{Event, StopCode, Task, TaskStatus};

/// How long a task without a health check must be RUNNING to count as healthy (ECS's
/// 40 seconds).
const NO_CHECK_HEALTHY_AFTER: Duration = Duration::from_secs(40);

/// ECS keeps a service's last 100 events.
const MAX_EVENTS: usize = 100;

/// What the controller remembers between passes; the rest is read afresh each time.
struct Memory {
    /// The service's wake-up handle, which also tells this service from a later one of
    /// the same name: a controller acts only on the entry it was started for.
    me: Arc<Notify>,
    /// When each task was first seen RUNNING (the grace period counts from there).
    running_since: HashMap<TaskId, Instant>,
    /// When each task was first seen healthy.
    healthy_since: HashMap<TaskId, Instant>,
    /// Tasks that stayed healthy for the stability window.
    stable: HashSet<TaskId>,
    /// Tasks this controller stopped for failing health checks: failures.
    stopped_unhealthy: HashSet<TaskId>,
    /// Failures the circuit breaker counts, for the PRIMARY deployment named, while it
    /// is IN_PROGRESS.
    breaker_failures: u32,
    /// The deployment `breaker_failures` counts for.
    breaker_deployment: Option<super::DeploymentId>,
    /// Deployments made by a rollback: when one fails too, there is no second
    /// rollback (it would loop).
    rollbacks: HashSet<super::DeploymentId>,
    /// Launches wait until then.
    throttled_until: Option<Instant>,
    /// Whether the last pass found the service steady.
    steady: bool,
    /// Its tasks in its load balancers.
    lb: super::lb::LbMemory,
}

/// Runs a service's controller until the service is INACTIVE or the control plane is
/// dropped.
pub(crate) async fn run(shared: Weak<Shared>, key: ServiceKey, wake: Arc<Notify>) {
    let mut memory = Memory {
        me: wake.clone(),
        running_since: HashMap::new(),
        healthy_since: HashMap::new(),
        stable: HashSet::new(),
        stopped_unhealthy: HashSet::new(),
        breaker_failures: 0,
        breaker_deployment: None,
        rollbacks: HashSet::new(),
        throttled_until: None,
        steady: false,
        lb: super::lb::LbMemory::default(),
    };
    loop {
        let Some(strong) = shared.upgrade() else {
            return;
        };
        let resync = strong.config.resync_interval;
        let me = memory.me.clone();
        let lb_pending = super::lb::sync(&strong, &key, &me, &mut memory.lb).await;
        let next = match reconcile(&strong, &key, &mut memory) {
            Some(next) => next,
            None => return,
        };
        let next = if lb_pending {
            earliest(next, Some(Instant::now() + super::lb::HEALTH_POLL))
        } else {
            next
        };
        drop(strong);
        let deadline = next.map_or(Instant::now() + resync, |n| n.min(Instant::now() + resync));
        tokio::select! {
            () = wake.notified() => {}
            () = tokio::time::sleep_until(deadline) => {}
        }
    }
}

/// One pass. Returns when to look again at the latest (a grace period or a throttle
/// ending, an instance turning lost), or `None` when the service is gone.
fn reconcile(
    shared: &Arc<Shared>,
    key: &ServiceKey,
    memory: &mut Memory,
) -> Option<Option<Instant>> {
    let now = Instant::now();
    let ecs = Ecs {
        shared: shared.clone(),
    };
    let observed = observe(shared, key, memory, now)?;
    let Observed {
        plan_tasks,
        daemon,
        desired,
        mut wake_at,
        service,
    } = observed;

    let (min, max) = service
        .deployment_configuration
        .percents(service.scheduling_strategy);
    let primary_failed = service
        .primary()
        .is_some_and(|d| d.rollout_state == RolloutState::Failed);
    let throttled = memory.throttled_until.is_some_and(|t| t > now);
    if throttled {
        wake_at = earliest(wake_at, memory.throttled_until);
    }
    let decision = plan(&PlanInput {
        desired,
        minimum_healthy_percent: min,
        maximum_percent: max,
        tasks: &plan_tasks,
        may_start: !throttled && !primary_failed && service.status == ServiceStatus::Active,
        daemon_instances: daemon.as_ref(),
    });
    act(&ecs, key, &service, decision, memory);
    settle(shared, key, memory);
    Some(wake_at)
}

struct Observed {
    plan_tasks: Vec<PlanTask>,
    daemon: Option<BTreeSet<InstanceId>>,
    desired: u32,
    wake_at: Option<Instant>,
    service: Service,
}

fn earliest(a: Option<Instant>, b: Option<Instant>) -> Option<Instant> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}

/// Reads the service's tasks and instances, accounts for tasks that stopped since the
/// last pass (failures, throttle, circuit breaker), and describes the rest for the
/// planner.
fn observe(
    shared: &Arc<Shared>,
    key: &ServiceKey,
    memory: &mut Memory,
    now: Instant,
) -> Option<Observed> {
    let config = &shared.config;
    let mut events = Vec::new();
    let mut guard = shared.state();
    let state = &mut *guard;
    let links = state
        .services
        .get(key)
        .map(|e| super::lb::links_of(state, &e.service))
        .unwrap_or_default();
    let entry = state
        .services
        .get_mut(key)
        .filter(|e| Arc::ptr_eq(&e.wake, &memory.me))?;
    if entry.service.status == ServiceStatus::Inactive {
        return None;
    }
    let cluster = state.clusters.get(&key.0);

    // Tasks that stopped since the last pass.
    let mut failed_now = 0;
    let ids: Vec<TaskId> = entry.tasks.iter().cloned().collect();
    for id in &ids {
        let Some(task) = state.tasks.get(id).map(|e| e.task.clone()) else {
            entry.tasks.remove(id);
            continue;
        };
        if task.last_status != TaskStatus::Stopped {
            continue;
        }
        entry.tasks.remove(id);
        memory.running_since.remove(id);
        memory.lb.draining.remove(id);
        if let Some(targets) = memory.lb.registered.remove(id) {
            // Stopped while still registered (it died between two load balancer
            // syncs): out of the load balancers too.
            super::lb::forget(links.clone(), targets);
        }
        memory.lb.healthy.remove(id);
        memory.lb.unhealthy.remove(id);
        memory.healthy_since.remove(id);
        memory.stable.remove(id);
        let failed = memory.stopped_unhealthy.remove(id)
            || matches!(
                task.stop_code,
                Some(StopCode::TaskFailedToStart | StopCode::EssentialContainerExited)
            );
        if !failed {
            continue;
        }
        failed_now += 1;
        let deployment = entry
            .service
            .deployments
            .iter_mut()
            .find(|d| Some(d.id.as_str()) == task.started_by.as_deref());
        if let Some(d) = deployment {
            d.failed_tasks += 1;
            if d.status == DeploymentStatus::Primary && d.rollout_state == RolloutState::InProgress
            {
                if memory.breaker_deployment.as_ref() != Some(&d.id) {
                    memory.breaker_deployment = Some(d.id.clone());
                    memory.breaker_failures = 0;
                }
                memory.breaker_failures += 1;
            }
        }
    }
    if failed_now > 0 {
        let throttle = &mut entry.service.throttle;
        throttle.consecutive_failures += failed_now;
        throttle.delay = config.service_throttle.delay(throttle.consecutive_failures);
        if throttle.delay > Duration::ZERO {
            memory.throttled_until = Some(now + throttle.delay);
        }
    }

    // The circuit breaker.
    let breaker = entry.service.deployment_configuration.breaker();
    if let Some(b) = breaker {
        trip_breaker(entry, b, memory, &mut events);
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
    let daemon =
        (entry.service.scheduling_strategy == SchedulingStrategy::Daemon).then(|| {
            match (cluster, draining) {
                (Some(c), false) => daemon_instances(
                    &c.cluster,
                    &entry.service,
                    state.registry.describe(&entry.service.task_definition).ok(),
                ),
                _ => BTreeSet::new(),
            }
        });
    let daemon = daemon.map(|set| {
        set.into_iter()
            .filter(|i| instance_state(i) == InstanceState::Active)
            .collect::<BTreeSet<_>>()
    });
    if let Some(set) = &daemon {
        let n = u32::try_from(set.len()).unwrap_or(u32::MAX);
        entry.service.desired_count = n;
        if let Some(p) = entry
            .service
            .deployments
            .iter_mut()
            .find(|d| d.status == DeploymentStatus::Primary)
        {
            p.desired_count = n;
        }
    }

    // The tasks, for the planner.
    let grace = Duration::from_secs(u64::from(entry.service.health_check_grace_period_seconds));
    let primary = entry.service.primary().map(|d| d.id.clone());
    let (spread, binpack) = scale_in_fields(&entry.service);
    let mut has_check: HashMap<String, bool> = HashMap::new();
    for d in &entry.service.deployments {
        let check = state
            .registry
            .describe(&d.task_definition)
            .map(|td| {
                td.containers()
                    .iter()
                    .any(|c| c.is_essential() && c.health_check.is_some())
            })
            .unwrap_or(false);
        has_check.insert(d.id.as_str().to_owned(), check);
    }
    let reset_on_healthy = breaker.is_none_or(|b| b.reset_on_healthy_task != Some(false));
    let balanced = !entry.service.load_balancers.is_empty();
    let mut plan_tasks = Vec::with_capacity(entry.tasks.len());
    for id in &entry.tasks {
        let Some(task) = state.tasks.get(id).map(|e| &e.task) else {
            continue;
        };
        let is_primary = primary.as_ref().map(|p| p.as_str()) == task.started_by.as_deref();
        let checked = task
            .started_by
            .as_deref()
            .and_then(|d| has_check.get(d).copied())
            .unwrap_or(false);
        let mut phase = phase(task, checked, grace, now, memory, &mut wake_at);
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
            let since = *memory.healthy_since.entry(id.clone()).or_insert(now);
            let stable_at = since + config.service_throttle.stable_after;
            if stable_at > now {
                wake_at = earliest(wake_at, Some(stable_at));
            } else if memory.stable.insert(id.clone()) {
                // A task proved itself: the throttle lifts, and the breaker forgives.
                entry.service.throttle = super::Throttle::default();
                memory.throttled_until = None;
                if is_primary && reset_on_healthy {
                    memory.breaker_failures = 0;
                }
            }
        } else {
            memory.healthy_since.remove(id);
        }
        let instance = cluster.and_then(|c| c.cluster.instance(&task.container_instance));
        plan_tasks.push(PlanTask {
            id: id.clone(),
            primary: is_primary,
            instance: task.container_instance.clone(),
            instance_state: instance_state(&task.container_instance),
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
        });
    }
    let desired = if draining {
        0
    } else {
        entry.service.desired_count
    };
    let wake_at = earliest(wake_at, lost_at.get());
    for m in events {
        push_event(shared, key, entry, m);
    }
    Some(Observed {
        plan_tasks,
        daemon,
        desired,
        wake_at,
        service: entry.service.clone(),
    })
}

/// The phase of a task that is not STOPPED.
fn phase(
    task: &Task,
    has_check: bool,
    grace: Duration,
    now: Instant,
    memory: &mut Memory,
    wake_at: &mut Option<Instant>,
) -> TaskPhase {
    if task.desired_status == TaskStatus::Stopped {
        return TaskPhase::Stopping;
    }
    if task.last_status != TaskStatus::Running {
        return TaskPhase::Starting;
    }
    let since = *memory
        .running_since
        .entry(task.task_id.clone())
        .or_insert(now);
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

/// The attribute scale-in balances (the first spread strategy's, else the availability
/// zone) and the first binpack resource.
fn scale_in_fields(service: &Service) -> (SpreadField, Option<BinpackField>) {
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
fn daemon_instances(
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
    request.group = format!("service:{}", service.service_name);
    let Ok(mut request) = request.with_api_constraints(&service.placement_constraints) else {
        return BTreeSet::new();
    };
    // Instances whose runtime cannot run the task definition are not the service's.
    let required: Vec<String> = crate::runtime::Capabilities::required_by(td)
        .iter()
        .map(|r| r.attribute().to_owned())
        .collect();
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

/// Fails the PRIMARY deployment when its failures reach the threshold, and rolls back
/// when asked to.
fn trip_breaker(
    entry: &mut ServiceEntry,
    breaker: DeploymentCircuitBreaker,
    memory: &mut Memory,
    events: &mut Vec<String>,
) {
    let tag = entry.service.tag();
    let Some(primary) = entry
        .service
        .deployments
        .iter_mut()
        .find(|d| d.status == DeploymentStatus::Primary)
    else {
        return;
    };
    let threshold = DeploymentCircuitBreaker::threshold(primary.desired_count);
    if primary.rollout_state != RolloutState::InProgress
        || memory.breaker_deployment.as_ref() != Some(&primary.id)
        || memory.breaker_failures < threshold
    {
        return;
    }
    primary.rollout_state = RolloutState::Failed;
    primary.rollout_state_reason = format!(
        "ECS deployment circuit breaker: {} tasks failed to start or stay healthy (threshold {threshold}).",
        memory.breaker_failures
    );
    primary.updated_at = jiff::Timestamp::now();
    events.push(format!(
        "{tag} (deployment {}) deployment failed: tasks failed to start.",
        primary.id
    ));
    memory.breaker_failures = 0;
    if !breaker.rollback {
        return;
    }
    if memory.rollbacks.contains(&primary.id) {
        events.push(format!(
            "{tag} (deployment {}) the rollback failed too: no further rollback; the service stops launching tasks.",
            primary.id
        ));
        return;
    }
    let Some((back_to, td)) = entry.last_completed.clone() else {
        events.push(format!(
            "{tag} (deployment {}) cannot roll back: no deployment of this service has completed.",
            primary.id
        ));
        return;
    };
    let failed_id = primary.id.clone();
    for d in &mut entry.service.deployments {
        d.status = DeploymentStatus::Active;
        d.desired_count = 0;
    }
    let mut rollback = crate::control::new_deployment(td.clone(), entry.service.desired_count);
    rollback.rollout_state_reason = format!(
        "ECS deployment circuit breaker: rolling back to deploymentId {back_to} after {failed_id} failed."
    );
    entry.service.task_definition = td;
    memory.rollbacks.insert(rollback.id.clone());
    entry.service.deployments.insert(0, rollback);
    events.push(format!("{tag} rolling back to deployment {back_to}."));
}

/// Carries a plan out: stops first (they free room), then starts.
fn act(ecs: &Ecs, key: &ServiceKey, service: &Service, decision: Plan, memory: &mut Memory) {
    let (ours, links) = {
        let s = ecs.shared.state();
        let ours = s
            .services
            .get(key)
            .is_some_and(|e| Arc::ptr_eq(&e.wake, &memory.me));
        (ours, super::lb::links_of(&s, service))
    };
    if !ours {
        // Deleted and created again meanwhile: the new service has its own controller.
        return;
    }
    let tag = service.tag();
    let mut messages = Vec::new();
    let mut stopped = Vec::new();
    let mut drained = Vec::new();
    for (task, reason) in &decision.stop {
        if *reason == StopReason::Unhealthy {
            memory.stopped_unhealthy.insert(task.clone());
            messages.push(format!(
                "{tag} (task {task}) failed container health checks."
            ));
        }
        let why = match reason {
            StopReason::Deployment => service.primary().map_or_else(
                || reason.message().to_owned(),
                |p| format!("Scaling activity initiated by (deployment {})", p.id),
            ),
            _ => reason.message().to_owned(),
        };
        // Behind a load balancer: drained first, stopped after.
        if let Some(targets) = memory.lb.registered.remove(task) {
            memory.lb.healthy.remove(task);
            memory.lb.draining.insert(task.clone());
            super::lb::drain_then_stop(
                Arc::downgrade(&ecs.shared),
                key.clone(),
                links.clone(),
                task.clone(),
                targets,
                why,
                memory.me.clone(),
            );
            drained.push(task.clone());
            continue;
        }
        // A task that finished meanwhile needs no stop.
        if ecs
            .request_stop(&key.0, task, StopCode::ServiceSchedulerInitiated, &why)
            .is_ok()
        {
            stopped.push(task.clone());
        }
    }
    if !drained.is_empty() {
        messages.push(format!(
            "{tag} has begun draining connections on {} tasks: {}.",
            drained.len(),
            task_list(&drained)
        ));
    }
    if !stopped.is_empty() {
        messages.push(format!(
            "{tag} has stopped {} running tasks: {}.",
            stopped.len(),
            task_list(&stopped)
        ));
    }

    let launches: Vec<(u32, Option<InstanceId>)> = match service.scheduling_strategy {
        SchedulingStrategy::Daemon => decision
            .start_on
            .into_iter()
            .map(|i| (1, Some(i)))
            .collect(),
        _ if decision.start > 0 => vec![(decision.start, None)],
        _ => Vec::new(),
    };
    let Some(primary) = service.primary() else {
        return;
    };
    let td = ecs
        .shared
        .state()
        .registry
        .describe(&primary.task_definition)
        .cloned();
    let mut started = Vec::new();
    for (count, instance) in launches {
        let td = match &td {
            Ok(td) => td,
            Err(e) => {
                messages.push(format!("{tag} cannot start tasks: {e}."));
                break;
            }
        };
        let mut request = RunTask::new(key.0.clone(), primary.task_definition.clone(), count);
        request.group = Some(format!("service:{}", key.1));
        request.started_by = Some(primary.id.to_string());
        request.placement_strategy = service.placement_strategy.clone();
        request.placement_constraints = service.placement_constraints.clone();
        let mut extra = Vec::new();
        if let Some(i) = &instance {
            match Constraint::member_of(&format!("ec2InstanceId == '{i}'")) {
                Ok(c) => extra.push(c),
                Err(_) => continue,
            }
        }
        let me = memory.me.clone();
        let deployment = primary.id.clone();
        let decided_for = service.desired_count;
        let still_wanted = move |s: &crate::control::State| {
            s.services.get(key).is_some_and(|e| {
                Arc::ptr_eq(&e.wake, &me)
                    && e.service.status == ServiceStatus::Active
                    && e.service.desired_count >= decided_for
                    && e.service.primary().is_some_and(|p| p.id == deployment)
            })
        };
        match ecs.launch(request, td, extra, &still_wanted) {
            Ok(out) => {
                {
                    let mut s = ecs.shared.state();
                    if let Some(e) = s
                        .services
                        .get_mut(key)
                        .filter(|e| Arc::ptr_eq(&e.wake, &memory.me))
                    {
                        e.tasks.extend(out.tasks.iter().map(|t| t.task_id.clone()));
                    }
                }
                started.extend(out.tasks.into_iter().map(|t| t.task_id));
                if !out.failures.is_empty() {
                    let reasons: Vec<String> = out
                        .failures
                        .iter()
                        .map(|f| match &f.detail {
                            Some(d) => format!("{} ({d})", f.reason),
                            None => f.reason.clone(),
                        })
                        .collect();
                    let why = if reasons.is_empty() {
                        "No Container Instances were found in your cluster".to_owned()
                    } else {
                        reasons.join(", ")
                    };
                    messages.push(format!(
                        "{tag} was unable to place a task because no container instance met all of its requirements. Reasons: {why}."
                    ));
                }
            }
            Err(e) => messages.push(format!("{tag} was unable to place a task: {e}.")),
        }
    }
    if !started.is_empty() {
        messages.push(format!(
            "{tag} has started {} tasks: {}.",
            started.len(),
            task_list(&started)
        ));
    }
    let mut s = ecs.shared.state();
    if let Some(entry) = s
        .services
        .get_mut(key)
        .filter(|e| Arc::ptr_eq(&e.wake, &memory.me))
    {
        for m in messages {
            push_event(&ecs.shared, key, entry, m);
        }
    }
}

fn task_list(ids: &[TaskId]) -> String {
    ids.iter()
        .map(|t| format!("(task {t})"))
        .collect::<Vec<_>>()
        .join(" ")
}

/// Updates counts and rollout states after a pass, drops deployments with no task left,
/// and reports a steady state when the service reaches one.
fn settle(shared: &Arc<Shared>, key: &ServiceKey, memory: &mut Memory) {
    let mut guard = shared.state();
    let state = &mut *guard;
    let Some(entry) = state
        .services
        .get_mut(key)
        .filter(|e| Arc::ptr_eq(&e.wake, &memory.me))
    else {
        return;
    };
    let before = entry.service.clone();
    let now = Instant::now();
    let lost_timeout = shared.config.instance_lost_timeout;
    // Tasks asked to stop on an unreachable instance cannot confirm it: they hold no
    // deployment nor deletion back.
    let tasks: Vec<Arc<Task>> = entry
        .tasks
        .iter()
        .filter_map(|id| state.tasks.get(id).map(|e| e.task.clone()))
        .filter(|t| t.last_status != TaskStatus::Stopped)
        .filter(|t| {
            t.desired_status == TaskStatus::Running
                || !unreachable(state.clusters.get(&t.cluster), t, now, lost_timeout)
        })
        .collect();
    let svc = &mut entry.service;
    let mut running_total = 0;
    let mut pending_total = 0;
    for d in &mut svc.deployments {
        let mine = tasks.iter().filter(|t| {
            t.started_by.as_deref() == Some(d.id.as_str())
                && t.desired_status == TaskStatus::Running
        });
        let (mut running, mut pending) = (0, 0);
        for t in mine {
            if t.last_status == TaskStatus::Running {
                running += 1;
            } else {
                pending += 1;
            }
        }
        d.running_count = running;
        d.pending_count = pending;
        running_total += running;
        pending_total += pending;
    }
    svc.running_count = running_total;
    svc.pending_count = pending_total;
    // Older deployments with nothing left are done.
    svc.deployments.retain(|d| {
        d.status == DeploymentStatus::Primary
            || tasks
                .iter()
                .any(|t| t.started_by.as_deref() == Some(d.id.as_str()))
    });
    let healthy_primary = tasks
        .iter()
        .filter(|t| {
            memory.stable.contains(&t.task_id)
                && t.desired_status == TaskStatus::Running
                && t.health_status != HealthStatus::Unhealthy
        })
        .filter(|t| {
            svc.primary()
                .is_some_and(|p| t.started_by.as_deref() == Some(p.id.as_str()))
        })
        .count() as u32;
    let only_primary = svc.deployments.len() == 1;
    let all_primary_healthy = healthy_primary == svc.desired_count
        && running_total == svc.desired_count
        && pending_total == 0;
    let tag = svc.tag();
    let mut messages = Vec::new();
    if let Some(p) = svc
        .deployments
        .iter_mut()
        .find(|d| d.status == DeploymentStatus::Primary)
        && p.rollout_state == RolloutState::InProgress
        && only_primary
        && all_primary_healthy
    {
        p.rollout_state = RolloutState::Completed;
        p.rollout_state_reason = format!("ECS deployment {} completed.", p.id);
        p.updated_at = jiff::Timestamp::now();
        entry.last_completed = Some((p.id.clone(), p.task_definition.clone()));
        messages.push(format!("{tag} (deployment {}) deployment completed.", p.id));
    }
    let svc = &mut entry.service;
    let steady = only_primary
        && all_primary_healthy
        && svc
            .primary()
            .is_some_and(|p| p.rollout_state == RolloutState::Completed);
    if steady && !memory.steady {
        messages.push(format!("{tag} has reached a steady state."));
    }
    memory.steady = steady;
    svc.steady = steady;
    if svc.status == ServiceStatus::Draining && tasks.is_empty() {
        svc.status = ServiceStatus::Inactive;
        for d in &mut svc.deployments {
            d.status = DeploymentStatus::Inactive;
        }
    }
    for m in messages {
        push_event(shared, key, entry, m);
    }
    if entry.service != before {
        entry.changed.send_modify(|v| *v += 1);
    }
    // Waking waiters on INACTIVE also lets the loop end on its next pass.
    if entry.service.status == ServiceStatus::Inactive {
        entry.wake.notify_one();
    }
}

/// Whether a task's instance is gone or lost.
fn unreachable(
    cluster: Option<&crate::control::ClusterEntry>,
    task: &Task,
    now: Instant,
    lost_timeout: Duration,
) -> bool {
    let Some(c) = cluster else { return true };
    if c.cluster.instance(&task.container_instance).is_none() {
        return true;
    }
    c.disconnected
        .get(&task.container_instance)
        .is_some_and(|since| *since + lost_timeout <= now)
}

/// Records a service event (newest first, deduplicated against the newest) and
/// publishes it.
fn push_event(shared: &Shared, key: &ServiceKey, entry: &mut ServiceEntry, message: String) {
    if entry
        .service
        .events
        .first()
        .is_some_and(|e| e.message == message)
    {
        return;
    }
    let event = ServiceEvent {
        id: format!("{:032x}", fastrand::u128(..)),
        created_at: jiff::Timestamp::now(),
        message,
    };
    tracing::info!(cluster = %key.0, service = %key.1, "{}", event.message);
    entry.service.events.insert(0, event.clone());
    entry.service.events.truncate(MAX_EVENTS);
    entry.changed.send_modify(|v| *v += 1);
    shared.publish(Event::Service {
        cluster: key.0.clone(),
        service: key.1.clone(),
        event,
    });
}
