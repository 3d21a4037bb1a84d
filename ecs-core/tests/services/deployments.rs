//! Deployments: a steady state spread across zones, scaling out and in, rolling updates
//! checked at every event, the circuit breaker's threshold and rollback, back-off of
//! failing launches, a task no instance can hold; and which tasks count as healthy while
//! a new revision rolls out.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::Duration;

use crate::support::services::{Harness, View, cluster, web};
use crate::{CHECKED, WEB, service, spread_zones};
use ecs_core::cluster::Resources;
use ecs_core::control::{EcsConfig, RegisterContainerInstance};
use ecs_core::runtime::memory::Matcher;
use ecs_core::runtime::{Behavior, InMemoryRuntime};
use ecs_core::service::{
    CreateService, DeploymentConfiguration, RolloutState, ThrottleConfig, UpdateService,
};
use ecs_core::task::{Event, TaskStatus};
use tokio::time::Instant;

#[tokio::test(start_paused = true)]
async fn a_service_reaches_a_steady_state_spread_across_zones() {
    let h = Harness::new(3).await;
    h.register(WEB);
    h.ecs
        .create_service(service(6).with_placement_strategy(spread_zones()))
        .unwrap();
    let s = h.steady(&web()).await;
    assert_eq!((s.running_count, s.pending_count), (6, 0));
    assert_eq!(s.deployments.len(), 1);
    assert_eq!(s.deployments[0].rollout_state, RolloutState::Completed);
    assert_eq!(
        s.events[0].message,
        "(service web) has reached a steady state."
    );
    assert!(
        s.events.iter().any(|e| e
            .message
            .starts_with("(service web) has started 6 tasks: (task ")),
        "{:?}",
        s.events
    );
    let mut per_instance = BTreeMap::new();
    for t in h.live_tasks(&web()) {
        assert_eq!(t.last_status, TaskStatus::Running);
        assert_eq!(t.started_by.as_deref(), Some(s.deployments[0].id.as_str()));
        *per_instance
            .entry(t.container_instance.as_ref().unwrap().to_string())
            .or_insert(0) += 1;
    }
    assert_eq!(
        per_instance.values().copied().collect::<Vec<_>>(),
        [2, 2, 2]
    );
    assert_eq!(h.ecs.list_services(&cluster()).unwrap(), [web()]);
}

#[tokio::test(start_paused = true)]
async fn scaling_out_and_in_follows_the_desired_count() {
    let h = Harness::new(3).await;
    h.register(WEB);
    h.ecs
        .create_service(service(3).with_placement_strategy(spread_zones()))
        .unwrap();
    h.steady(&web()).await;
    h.ecs
        .update_service(UpdateService::new(cluster(), web()).with_desired_count(9))
        .unwrap();
    h.wait_service(&web(), "9 tasks", |s| s.running_count == 9 && s.is_steady())
        .await;
    h.ecs
        .update_service(UpdateService::new(cluster(), web()).with_desired_count(3))
        .unwrap();
    h.wait_service(&web(), "3 tasks", |s| s.running_count == 3 && s.is_steady())
        .await;
    // Scale-in kept the zones balanced.
    let zones: BTreeSet<String> = h
        .live_tasks(&web())
        .iter()
        .map(|t| t.container_instance.as_ref().unwrap().to_string())
        .collect();
    assert_eq!(zones.len(), 3);
}

/// Rolls `web` from revision 1 to 2 and checks the limits at every event.
async fn rolling_update(min: u32, max: u32, desired: u32) {
    let h = Harness::new(3).await;
    h.register(CHECKED);
    h.register(CHECKED);
    for (_, rt) in &h.runtimes {
        rt.set_behavior(
            Matcher::Any,
            Behavior::forever().healthy_after(Some(Duration::from_secs(7))),
        );
    }
    h.ecs
        .create_service(
            CreateService::new(cluster(), web(), "web:1".parse().unwrap(), desired)
                .with_deployment_configuration(
                    DeploymentConfiguration::default().with_percents(min, max),
                ),
        )
        .unwrap();
    h.steady(&web()).await;
    let mut events = h.ecs.subscribe();
    let mut view = View::default();
    for t in h.live_tasks(&web()) {
        view.apply(&t, &web());
    }
    let updated = h
        .ecs
        .update_service(
            UpdateService::new(cluster(), web()).with_task_definition("web:2".parse().unwrap()),
        )
        .unwrap();
    assert_eq!(updated.deployments.len(), 2);
    assert!(!updated.is_steady(), "a new deployment is not steady yet");
    assert!(!h.describe(&web()).is_steady());
    let min_healthy = (desired * min).div_ceil(100) as usize;
    let max_tasks = (desired * max / 100) as usize;
    let mut peak = 0;
    let mut trough = usize::MAX;
    let deadline = Instant::now() + Duration::from_secs(3600);
    loop {
        let event = tokio::time::timeout_at(deadline, events.recv())
            .await
            .expect("the rollout finishes within a virtual hour")
            .unwrap();
        if let Some(t) = event.task() {
            view.apply(t, &web());
            peak = peak.max(view.existing());
            trough = trough.min(view.healthy(true));
            assert!(
                view.existing() <= max_tasks,
                "{} tasks exist, above maximumPercent {max} of {desired}",
                view.existing()
            );
            assert!(
                view.healthy(true) >= min_healthy,
                "{} healthy tasks, below minimumHealthyPercent {min} of {desired}",
                view.healthy(true)
            );
        }
        let s = h.describe(&web());
        if s.is_steady() && s.task_definition.to_string() == "web:2" {
            break;
        }
    }
    let live = h.live_tasks(&web());
    assert_eq!(live.len(), desired as usize);
    assert!(
        live.iter()
            .all(|t| t.task_definition.to_string() == "web:2")
    );
    let s = h.describe(&web());
    assert_eq!(s.deployments.len(), 1);
    assert_eq!(s.deployments[0].rollout_state, RolloutState::Completed);
    // The limits were used, not merely respected.
    assert_eq!(peak, max_tasks, "the rollout never used its headroom");
    assert_eq!(trough, min_healthy, "the rollout never used its allowance");
}

#[tokio::test(start_paused = true)]
async fn rolling_update_with_headroom_keeps_every_task_healthy() {
    rolling_update(100, 200, 4).await;
}

#[tokio::test(start_paused = true)]
async fn rolling_update_without_headroom_stays_above_the_minimum() {
    rolling_update(50, 100, 4).await;
}

#[tokio::test(start_paused = true)]
async fn rolling_update_in_batches() {
    rolling_update(75, 125, 8).await;
}

/// Under minimumHealthyPercent 100, a new revision whose tasks crash a few seconds after
/// starting never takes an old task down: a task with no health check does not count as
/// healthy the moment it is RUNNING (ECS waits 40 s), so the old tasks stay RUNNING.
#[tokio::test(start_paused = true)]
async fn a_crashing_revision_without_health_checks_keeps_min_100() {
    let h = Harness::new(2).await;
    h.register(WEB);
    h.register(&WEB.replace("busybox", "flaky"));
    for (_, rt) in &h.runtimes {
        rt.set_behavior(
            Matcher::Image("flaky".into()),
            Behavior::exits(1, Duration::from_secs(5)),
        );
    }
    h.ecs
        .create_service(CreateService::new(
            cluster(),
            web(),
            "web:1".parse().unwrap(),
            3,
        ))
        .unwrap();
    h.steady(&web()).await;
    let mut events = h.ecs.subscribe();
    let mut view = View::default();
    for t in h.live_tasks(&web()) {
        view.apply(&t, &web());
    }
    h.ecs
        .update_service(
            UpdateService::new(cluster(), web()).with_task_definition("web:2".parse().unwrap()),
        )
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(120);
    let mut trough = usize::MAX;
    while let Ok(Ok(e)) = tokio::time::timeout_at(deadline, events.recv()).await {
        if let Some(t) = e.task() {
            view.apply(t, &web());
            // Old (web:1) tasks RUNNING and wanted: the only ones really serving.
            let old = view
                .tasks
                .values()
                .filter(|t| {
                    t.task_definition.to_string() == "web:1"
                        && t.last_status == TaskStatus::Running
                        && t.desired_status == TaskStatus::Running
                })
                .count();
            trough = trough.min(old);
        }
    }
    assert_eq!(
        trough, 3,
        "old tasks stopped for new ones that never proved healthy"
    );
}

/// A health-checked non-essential sidecar does not block the deployment: the service
/// reaches a steady state. A task's health reflects only its essential containers, so
/// the controller waits for task health only when an essential container has a check.
#[tokio::test(start_paused = true)]
async fn a_checked_non_essential_sidecar_does_not_block_the_deployment() {
    let h = Harness::new(1).await;
    h.register(
        r#"{"family": "web", "containerDefinitions": [
        {"name": "app", "image": "busybox", "memory": 128, "essential": true},
        {"name": "side", "image": "busybox", "memory": 64, "essential": false,
         "healthCheck": {"command": ["CMD-SHELL", "true"], "interval": 5}}]}"#,
    );
    h.ecs.create_service(service(2)).unwrap();
    h.steady(&web()).await;
}

#[tokio::test(start_paused = true)]
async fn a_failing_deployment_trips_the_breaker_and_rolls_back() {
    let h = Harness::new(2).await;
    h.register(WEB);
    h.register(&WEB.replace("busybox", "broken"));
    for (_, rt) in &h.runtimes {
        rt.set_behavior(
            Matcher::Image("broken".into()),
            Behavior::exits(1, Duration::from_secs(2)),
        );
    }
    h.ecs
        .create_service(
            CreateService::new(cluster(), web(), "web:1".parse().unwrap(), 4)
                .with_deployment_configuration(
                    DeploymentConfiguration::default().with_circuit_breaker(true),
                ),
        )
        .unwrap();
    let first = h.steady(&web()).await.deployments[0].id.clone();
    h.ecs
        .update_service(
            UpdateService::new(cluster(), web()).with_task_definition("web:2".parse().unwrap()),
        )
        .unwrap();
    let rolling_back = h
        .wait_service(&web(), "a rollback under way", |s| {
            s.deployments[0]
                .rollout_state_reason
                .contains("rolling back")
        })
        .await;
    assert!(
        rolling_back.deployments[0]
            .rollout_state_reason
            .contains(&format!("rolling back to deploymentId {first}")),
        "{:?}",
        rolling_back.deployments[0]
    );
    let s = h
        .wait_service(&web(), "a rollback to web:1 completed", |s| {
            s.task_definition.to_string() == "web:1" && s.is_steady()
        })
        .await;
    let messages: Vec<&str> = s.events.iter().map(|e| e.message.as_str()).collect();
    assert!(
        messages
            .iter()
            .any(|m| m.ends_with("deployment failed: tasks failed to start.")),
        "{messages:#?}"
    );
    assert!(
        messages.contains(&format!("(service web) rolling back to deployment {first}.").as_str()),
        "{messages:#?}"
    );
    // Only revision 1's tasks are left (the threshold itself: `the_breaker_trips_at`).
    let live = h.live_tasks(&web());
    assert_eq!(live.len(), 4);
    assert!(
        live.iter()
            .all(|t| t.task_definition.to_string() == "web:1")
    );
}

/// Tasks small enough for 400 on two instances, with a health check that never passes:
/// none ever proves itself, which would forgive the breaker's count.
const NEVER_HEALTHY: &str = r#"{"family": "web", "containerDefinitions": [
    {"name": "app", "image": "busybox", "memory": 16, "cpu": 8,
     "command": ["sh", "-c", "trap 'exit 0' TERM; while true; do sleep 1; done"],
     "healthCheck": {"command": ["CMD-SHELL", "true"], "interval": 5}}]}"#;

/// Kills a deployment's tasks one at a time, each once the last failure is counted: the
/// deployment must still be IN_PROGRESS after `threshold - 1` failures and FAILED at the
/// `threshold`-th, not before and not after.
async fn the_breaker_trips_at(desired: u32, threshold: u32) {
    let h = Harness::new(2).await;
    h.register(NEVER_HEALTHY);
    for (_, rt) in &h.runtimes {
        rt.set_behavior(Matcher::Any, Behavior::forever().healthy_after(None));
    }
    h.ecs
        .create_service(service(desired).with_deployment_configuration(
            DeploymentConfiguration::default().with_circuit_breaker(false),
        ))
        .unwrap();
    let running = |h: &Harness| {
        h.live_tasks(&web()).into_iter().find(|t| {
            t.last_status == TaskStatus::Running && t.desired_status == TaskStatus::Running
        })
    };
    for failures in 1..=threshold {
        h.wait_service(&web(), "a RUNNING task", |_| running(&h).is_some())
            .await;
        let victim = running(&h).unwrap();
        let container = victim.containers[0].runtime_id.clone().unwrap();
        h.runtime(victim.container_instance.as_ref().unwrap())
            .kill(&container, 1)
            .unwrap();
        let s = h
            .wait_service(&web(), "the failure counted", |s| {
                s.deployments[0].failed_tasks >= failures
            })
            .await;
        let d = &s.deployments[0];
        assert_eq!(d.failed_tasks, failures, "one failure at a time: {d:?}");
        let want = if failures < threshold {
            RolloutState::InProgress
        } else {
            RolloutState::Failed
        };
        assert_eq!(
            d.rollout_state, want,
            "after {failures} failures, threshold {threshold}: {d:?}"
        );
    }
    let d = &h.describe(&web()).deployments[0];
    assert_eq!(
        d.rollout_state_reason,
        format!(
            "ECS deployment circuit breaker: {threshold} tasks failed to start or stay healthy (threshold {threshold})."
        )
    );
}

#[tokio::test(start_paused = true)]
async fn the_breaker_threshold_is_at_least_3() {
    // Half of 2 is 1.
    the_breaker_trips_at(2, 3).await;
}

#[tokio::test(start_paused = true)]
async fn the_breaker_threshold_is_half_the_desired_count() {
    the_breaker_trips_at(10, 5).await;
}

#[tokio::test(start_paused = true)]
async fn the_breaker_threshold_is_at_most_200() {
    // Half of 402 is 201.
    the_breaker_trips_at(402, 200).await;
}

#[tokio::test(start_paused = true)]
async fn without_rollback_a_failed_deployment_stops_launching() {
    let h = Harness::new(1).await;
    h.register(&WEB.replace("busybox", "broken"));
    h.runtimes[0].1.set_behavior(
        Matcher::Image("broken".into()),
        Behavior::exits(1, Duration::from_secs(1)),
    );
    h.ecs
        .create_service(service(2).with_deployment_configuration(
            DeploymentConfiguration::default().with_circuit_breaker(false),
        ))
        .unwrap();
    let s = h
        .wait_service(&web(), "FAILED", |s| {
            s.deployments[0].rollout_state == RolloutState::Failed
        })
        .await;
    // ECS's minimum threshold is 3; two tasks may fail in the same pass.
    assert!((3..=4).contains(&s.deployments[0].failed_tasks), "{s:?}");
    let failed_at = s.deployments[0].failed_tasks;
    tokio::time::sleep(Duration::from_secs(3600)).await;
    let later = h.describe(&web());
    assert!(
        later.deployments[0].failed_tasks <= failed_at + 2,
        "it kept launching: {later:?}"
    );
    assert!(h.live_tasks(&web()).is_empty());
}

/// Failures of a COMPLETED deployment are not carried into the next deployment's
/// circuit-breaker count: after three crashes of the old tasks, a good revision's
/// deployment completes.
#[tokio::test(start_paused = true)]
async fn breaker_failures_do_not_leak_into_the_next_deployment() {
    let h = Harness::new(2).await;
    h.register(WEB);
    h.register(WEB); // web:2, a perfectly good revision
    h.ecs
        .create_service(
            CreateService::new(cluster(), web(), "web:1".parse().unwrap(), 3)
                .with_deployment_configuration(
                    DeploymentConfiguration::default().with_circuit_breaker(false),
                ),
        )
        .unwrap();
    h.steady(&web()).await;
    // Three crashes of the completed deployment's tasks (e.g. an OOM each).
    for t in h.live_tasks(&web()) {
        let c = t.containers[0].runtime_id.clone().unwrap();
        h.runtime(t.container_instance.as_ref().unwrap())
            .kill(&c, 1)
            .unwrap();
    }
    h.wait_service(&web(), "3 failures seen", |s| {
        s.deployments[0].failed_tasks == 3
    })
    .await;
    h.ecs
        .update_service(
            UpdateService::new(cluster(), web()).with_task_definition("web:2".parse().unwrap()),
        )
        .unwrap();
    let s = h
        .wait_service(&web(), "web:2 done or failed", |s| {
            s.deployments[0].rollout_state != RolloutState::InProgress
        })
        .await;
    assert_eq!(
        s.deployments[0].rollout_state,
        RolloutState::Completed,
        "web:2 failed although none of its tasks failed: {:?}",
        s.deployments[0]
    );
}

/// A rollback that fails does not roll back again (rollback after rollback would loop,
/// each one clearing the throttle): when every container of either revision exits at
/// once, fewer than 30 failing tasks are launched in a virtual hour.
#[tokio::test(start_paused = true)]
async fn a_failed_rollback_does_not_roll_back_again() {
    let h = Harness::new(1).await;
    h.register(WEB);
    h.register(&WEB.replace("busybox", "broken"));
    h.ecs
        .create_service(
            CreateService::new(cluster(), web(), "web:1".parse().unwrap(), 1)
                .with_deployment_configuration(
                    DeploymentConfiguration::default().with_circuit_breaker(true),
                ),
        )
        .unwrap();
    h.steady(&web()).await;
    // From now on every container of either revision exits at once.
    h.runtimes[0]
        .1
        .set_behavior(Matcher::Any, Behavior::exits(1, Duration::ZERO));
    let mut events = h.ecs.subscribe();
    h.ecs
        .update_service(
            UpdateService::new(cluster(), web()).with_task_definition("web:2".parse().unwrap()),
        )
        .unwrap();
    let mut launched = 0;
    let deadline = Instant::now() + Duration::from_secs(3600);
    while let Ok(Ok(e)) = tokio::time::timeout_at(deadline, events.recv()).await {
        if let Event::TaskStateChange(t) = e
            && t.version == 1
        {
            launched += 1;
            if launched == 200 {
                break;
            }
        }
    }
    let s = h.describe(&web());
    let rollbacks = s
        .events
        .iter()
        .filter(|e| e.message.contains("rolling back to"))
        .count();
    // With the default throttle (3 free, 10 s doubling to 15 min) an hour allows ~10.
    assert!(
        launched < 30,
        "launched {launched} failing tasks in an hour; {rollbacks} rollbacks"
    );
}

#[tokio::test(start_paused = true)]
async fn failing_tasks_are_launched_with_growing_back_off() {
    let throttle = ThrottleConfig::new(2, Duration::from_secs(10), Duration::from_secs(40));
    let mut config = EcsConfig::default();
    config.service_throttle = throttle;
    let h = Harness::with_config(1, config).await;
    h.register(&WEB.replace("busybox", "broken"));
    h.runtimes[0].1.set_behavior(
        Matcher::Image("broken".into()),
        Behavior::exits(1, Duration::ZERO),
    );
    let mut events = h.ecs.subscribe();
    h.ecs.create_service(service(1)).unwrap();
    let mut created = Vec::new();
    while created.len() < 7 {
        if let Ok(Event::TaskStateChange(t)) = events.recv().await
            && t.last_status == TaskStatus::Provisioning
            && t.version == 1
        {
            created.push(Instant::now());
        }
    }
    let gaps: Vec<u64> = created
        .windows(2)
        .map(|w| (w[1] - w[0]).as_secs())
        .collect();
    // Two failures free, then 10, 20, 40, 40 seconds (a failing start takes no time).
    assert_eq!(gaps[0], 0, "{gaps:?}");
    for (gap, want) in gaps[1..].iter().zip([10, 20, 40, 40, 40]) {
        assert!((want..want + 2).contains(gap), "gaps {gaps:?}");
    }
    let s = h.describe(&web());
    assert!(s.throttle.consecutive_failures >= 6);
    assert_eq!(s.throttle.delay, Duration::from_secs(40));
}

#[tokio::test(start_paused = true)]
async fn a_task_no_instance_can_hold_is_reported_then_placed_when_one_can() {
    let h = Harness::new(2).await;
    // More memory than either instance has (8192 MiB).
    h.register(&WEB.replace(r#""memory": 128"#, r#""memory": 10000"#));
    h.ecs.create_service(service(1)).unwrap();
    let s = h
        .wait_service(&web(), "a placement failure", |s| {
            s.events
                .iter()
                .any(|e| e.message.contains("was unable to place a task"))
        })
        .await;
    let failure = s
        .events
        .iter()
        .find(|e| e.message.contains("was unable to place a task"))
        .unwrap();
    assert_eq!(
        failure.message,
        "(service web) was unable to place a task because no container instance met all of its requirements. Reasons: RESOURCE:MEMORY (2 container instances lack the memory it needs)."
    );
    assert!(h.live_tasks(&web()).is_empty());
    // An instance with room joins: the service places its task there.
    h.ecs
        .register_container_instance(RegisterContainerInstance::new(
            cluster(),
            "i-big".parse().unwrap(),
            Arc::new(InMemoryRuntime::new(Resources::new(4096, 16384))),
        ))
        .await
        .unwrap();
    h.steady(&web()).await;
    let live = h.live_tasks(&web());
    assert_eq!(live.len(), 1);
    assert_eq!(
        live[0].container_instance.as_ref().unwrap().as_str(),
        "i-big"
    );
}
