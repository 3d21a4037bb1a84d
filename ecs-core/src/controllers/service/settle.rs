//! After a pass: counts, rollout states, steady state, deletion.

use super::*;

/// Updates counts and rollout states after a pass, drops deployments with no task left,
/// and reports a steady state when the service reaches one.
pub(super) fn settle(ctx: &Context, key: &ServiceKey, memory: &mut Memory) {
    let mut guard = ctx.state().lock();
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
    let lost_timeout = ctx.config().instance_lost_timeout;
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
    // A rollback's mark goes with its deployment.
    let deployments = &svc.deployments;
    entry
        .breaker
        .rollbacks
        .retain(|d| deployments.iter().any(|x| x.id == *d));
    let svc = &mut entry.service;
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
        p.updated_at = ctx.state().now();
        entry.last_completed = Some((p.id.clone(), p.task_definition.clone()));
        entry.last_completed_connect = p.service_connect_configuration.clone();
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
        push_event(ctx.state(), key, entry, m);
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
pub(super) fn unreachable(
    cluster: Option<&crate::state::ClusterEntry>,
    task: &Task,
    now: Instant,
    lost_timeout: Duration,
) -> bool {
    let Some(c) = cluster else { return true };
    // Waiting for capacity: nothing to reach yet.
    let Some(instance) = &task.container_instance else {
        return false;
    };
    if c.cluster.instance(instance).is_none() {
        return true;
    }
    c.disconnected
        .get(instance)
        .is_some_and(|since| *since + lost_timeout <= now)
}
