//! One reconciler per service. It wakes on its tasks' changes, on instance changes, on
//! requests (update, delete) and on a periodic resync; each time it reads the state as
//! it is (never the event that woke it, so a missed event costs nothing), plans with
//! [`plan`](crate::service::plan::plan) and acts. Only this loop starts or stops the service's
//! tasks, one pass at a time, and tasks it starts are recorded before the next pass:
//! a pass never starts a duplicate.

use std::collections::{BTreeSet, HashMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::Notify;
use tokio::time::Instant;

use super::Context;
use super::load_balancing::{self as lb, LbMemory};
use crate::cluster::{Cluster, InstanceStatus, attributes};
use crate::ids::{InstanceId, TaskId};
use crate::placement::rules::{BinpackField, SpreadField};
use crate::placement::{Constraint, PlacementContext, PlacementRequest, Strategy};
use crate::runtime::HealthStatus;
use crate::service::config::SchedulingStrategy;
use crate::service::model::{DeploymentStatus, RolloutState, Service, ServiceEvent, ServiceStatus};
use crate::service::plan::{InstanceState, Plan, PlanInput, PlanTask, StopReason, TaskPhase, plan};
use crate::service::{DeploymentCircuitBreaker, ServiceEntry};
use crate::state::{Clock, ServiceKey, State, Tables};
use crate::task::{Event, RunTask, StopCode, Task, TaskStatus};

mod act;
mod breaker;
mod observe;
mod record;
mod settle;

use act::act;
use breaker::trip_breaker;
use observe::{Observed, observe};
use record::record;
use settle::settle;

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
    /// Tasks this controller stopped for failing health checks: failures. (Their
    /// stop reason says so too, for a restarted controller.)
    stopped_unhealthy: HashSet<TaskId>,
    /// Whether the last pass found the service steady.
    steady: bool,
    /// Its tasks in its load balancers.
    lb: LbMemory,
}

/// Runs a service's controller until the service is INACTIVE (the supervisor ends it
/// with the control plane).
pub(crate) async fn run(ctx: Arc<Context>, key: ServiceKey, wake: Arc<Notify>) {
    let mut memory = Memory {
        me: wake.clone(),
        running_since: HashMap::new(),
        healthy_since: HashMap::new(),
        stable: HashSet::new(),
        stopped_unhealthy: HashSet::new(),
        steady: false,
        lb: LbMemory::default(),
    };
    loop {
        let resync = ctx.config().resync_interval;
        let me = memory.me.clone();
        let lb_pending = lb::sync(&ctx.ops, &key, &me, &mut memory.lb).await;
        let pass = tracing::debug_span!("reconcile", cluster = %key.0, service = %key.1);
        let next = match pass.in_scope(|| reconcile(&ctx, &key, &mut memory)) {
            Some(next) => next,
            None => return,
        };
        let next = if lb_pending {
            earliest(next, Some(Instant::now() + lb::HEALTH_POLL))
        } else {
            next
        };
        let deadline = next.map_or(Instant::now() + resync, |n| n.min(Instant::now() + resync));
        tokio::select! {
            () = wake.notified() => {}
            () = tokio::time::sleep_until(deadline) => {}
        }
    }
}

/// One pass: observe, record what was observed, plan, act, settle. Returns when to
/// look again at the latest (a grace period or a throttle ending, an instance turning
/// lost), or `None` when the service is gone.
fn reconcile(ctx: &Context, key: &ServiceKey, memory: &mut Memory) -> Option<Option<Instant>> {
    let now = Instant::now();
    // One lock for both: what is recorded is what was observed.
    let (seen, service) = {
        let mut state = ctx.state().lock();
        let seen = observe(ctx, &state, key, memory, now)?;
        let recorded = record(ctx, &mut state, key, &memory.me, &seen)?;
        (seen, recorded)
    };
    let (service, daemon) = service;
    let Observed {
        tasks,
        unregister,
        mut wake_at,
        ..
    } = seen;
    for (links, targets) in unregister {
        lb::forget(&ctx.ops, links, targets);
    }
    let primary = service.primary().map(|d| d.id.as_str());
    let plan_tasks: Vec<PlanTask> = tasks
        .into_iter()
        .map(|(mut t, started_by)| {
            t.primary = primary == started_by.as_deref();
            t
        })
        .collect();
    let desired = if service.status == ServiceStatus::Draining {
        0
    } else {
        service.desired_count
    };

    let (min, max) = service
        .deployment_configuration
        .percents(service.scheduling_strategy);
    let primary_failed = service
        .primary()
        .is_some_and(|d| d.rollout_state == RolloutState::Failed);
    // Kept with the service: a restart does not lift it.
    let throttled_until = service
        .throttle
        .until
        .map(|t| ctx.state().clock().instant_of(t));
    let throttled = throttled_until.is_some_and(|t| t > now);
    if throttled {
        wake_at = earliest(wake_at, throttled_until);
    }
    let decision = plan(&PlanInput {
        desired,
        minimum_healthy_percent: min,
        maximum_percent: max,
        tasks: &plan_tasks,
        may_start: !throttled && !primary_failed && service.status == ServiceStatus::Active,
        daemon_instances: daemon.as_ref(),
    });
    act(ctx, key, &service, decision, memory);
    settle(ctx, key, memory);
    Some(wake_at)
}

fn earliest(a: Option<Instant>, b: Option<Instant>) -> Option<Instant> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}

/// Records a service event (newest first, deduplicated against the newest) and
/// publishes it.
fn push_event(state: &State, key: &ServiceKey, entry: &mut ServiceEntry, message: String) {
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
        created_at: state.now(),
        message,
    };
    tracing::info!(cluster = %key.0, service = %key.1, "{}", event.message);
    entry.service.events.insert(0, event.clone());
    entry.service.events.truncate(MAX_EVENTS);
    entry.changed.send_modify(|v| *v += 1);
    state.publish(Event::Service {
        cluster: key.0.clone(),
        service: key.1.clone(),
        event,
    });
}
