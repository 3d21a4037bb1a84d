//! The deployment circuit breaker.

use super::*;

/// Fails the PRIMARY deployment when its failures reach the threshold, and rolls back
/// when asked to.
pub(super) fn trip_breaker(
    entry: &mut ServiceEntry,
    breaker: DeploymentCircuitBreaker,
    events: &mut Vec<String>,
    now: jiff::Timestamp,
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
        || entry.breaker.deployment.as_ref() != Some(&primary.id)
        || entry.breaker.failures < threshold
    {
        return;
    }
    primary.rollout_state = RolloutState::Failed;
    primary.rollout_state_reason = format!(
        "ECS deployment circuit breaker: {} tasks failed to start or stay healthy (threshold {threshold}).",
        entry.breaker.failures
    );
    primary.updated_at = now;
    events.push(format!(
        "{tag} (deployment {}) deployment failed: tasks failed to start.",
        primary.id
    ));
    entry.breaker.failures = 0;
    if !breaker.rollback {
        return;
    }
    if entry.breaker.rollbacks.contains(&primary.id) {
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
    let mut rollback =
        crate::service::Deployment::new(td.clone(), entry.service.desired_count, now);
    rollback.service_connect_configuration = entry.last_completed_connect.clone();
    entry.service.service_connect_configuration = entry.last_completed_connect.clone();
    rollback.rollout_state_reason = format!(
        "ECS deployment circuit breaker: rolling back to deploymentId {back_to} after {failed_id} failed."
    );
    entry.service.task_definition = td;
    entry.breaker.rollbacks.insert(rollback.id.clone());
    entry.service.deployments.insert(0, rollback);
    events.push(format!("{tag} rolling back to deployment {back_to}."));
}
