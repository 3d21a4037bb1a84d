//! Recording what a pass observed in the service's status: the tasks it no longer
//! holds, failures (per deployment, the throttle, the circuit breaker and its rollback),
//! a DAEMON service's count, and tasks that proved themselves (the throttle lifts, the
//! breaker forgives). The one step of a pass that writes the service before the plan.

use super::observe::{Observed, daemon_instances};
use super::*;

/// Writes `seen` into the service, under the same lock as the observation, and
/// returns the service as the planner is to see it (a rollback the breaker made in
/// this pass included, its events left out), with a DAEMON service's eligible instances. `None` when the
/// service is gone.
pub(super) fn record(
    ctx: &Context,
    state: &mut Tables,
    key: &ServiceKey,
    me: &Arc<Notify>,
    seen: &Observed,
) -> Option<(Service, Option<BTreeSet<InstanceId>>)> {
    let config = ctx.config();
    let now = ctx.state().now();
    let Tables {
        services,
        clusters,
        registry,
        ..
    } = state;
    let entry = services.get_mut(key).filter(|e| Arc::ptr_eq(&e.wake, me))?;
    for id in &seen.gone {
        entry.tasks.remove(id);
    }

    // Failures: per deployment, the PRIMARY's for its circuit breaker, the throttle.
    for started_by in &seen.failed {
        let deployment = entry
            .service
            .deployments
            .iter_mut()
            .find(|d| Some(d.id.as_str()) == started_by.as_deref());
        if let Some(d) = deployment {
            d.failed_tasks += 1;
            if d.status == DeploymentStatus::Primary && d.rollout_state == RolloutState::InProgress
            {
                let count = &mut entry.breaker;
                if count.deployment.as_ref() != Some(&d.id) {
                    count.deployment = Some(d.id.clone());
                    count.failures = 0;
                }
                count.failures += 1;
            }
        }
    }
    if !seen.failed.is_empty() {
        let throttle = &mut entry.service.throttle;
        throttle.consecutive_failures += u32::try_from(seen.failed.len()).unwrap_or(u32::MAX);
        throttle.delay = config.service_throttle.delay(throttle.consecutive_failures);
        throttle.until = (throttle.delay > Duration::ZERO).then(|| {
            now.checked_add(jiff::SignedDuration::try_from(throttle.delay).unwrap_or_default())
                .unwrap_or(now)
        });
    }
    let mut events = Vec::new();
    let breaker = entry.service.deployment_configuration.breaker();
    if let Some(b) = breaker {
        trip_breaker(entry, b, &mut events, now);
    }

    // A DAEMON service's count follows its eligible instances, by the definition it
    // deploys now (after a rollback, the one it went back to).
    let daemon = seen.daemon_candidates.as_ref().map(|candidates| {
        let admitted = match clusters.get(&key.0) {
            Some(c) => daemon_instances(
                &c.cluster,
                &entry.service,
                registry.describe(&entry.service.task_definition).ok(),
            ),
            None => BTreeSet::new(),
        };
        admitted
            .intersection(candidates)
            .cloned()
            .collect::<BTreeSet<_>>()
    });
    if let Some(set) = &daemon {
        let n = u32::try_from(set.len()).unwrap_or(u32::MAX);
        if entry.service.desired_count != n {
            // As after an update: steady again only once a pass has seen the new count
            // through. Until this pass settles, its events show the service, which must
            // not pair the new count with the old steady state.
            entry.service.steady = false;
        }
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

    // Tasks that proved themselves: the throttle lifts, and the breaker forgives (for
    // the PRIMARY's, unless told not to).
    let reset_on_healthy = breaker.is_none_or(|b| b.reset_on_healthy_task != Some(false));
    let primary = entry.service.primary().map(|d| d.id.clone());
    for started_by in &seen.proved {
        entry.service.throttle = crate::service::Throttle::default();
        let is_primary = primary.as_ref().map(|p| p.as_str()) == started_by.as_deref();
        if is_primary && reset_on_healthy {
            entry.breaker.failures = 0;
        }
    }
    for m in events {
        push_event(ctx.state(), key, entry, m);
    }
    // The pass's copy leaves out the events (up to 100 messages, cloned at every pass
    // otherwise): the rest of the pass never reads them.
    let events = std::mem::take(&mut entry.service.events);
    let service = entry.service.clone();
    entry.service.events = events;
    Some((service, daemon))
}
