//! Services on the in-memory runtime with tokio's paused clock: steady state, crash and
//! unhealthy replacement, rolling updates checked at every event, the circuit breaker,
//! DAEMON services, draining, lost instances, back-off, deletion and validation.

#[path = "support/services.rs"]
mod support;

use ecs::control::{
    DeleteService, DeregisterContainerInstance, RegisterContainerInstance,
    UpdateContainerInstancesState,
};
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::Duration;

use ecs::cluster::{InstanceStatus, Resources};
use ecs::control::{EcsConfig, RunTask};
use ecs::placement::api::{PlacementStrategy, PlacementStrategyType};
use ecs::runtime::memory::Matcher;
use ecs::runtime::{Behavior, HealthStatus, InMemoryRuntime};
use ecs::service::{
    CreateService, DeploymentConfiguration, RolloutState, SchedulingStrategy, ServiceLimits,
    ServiceStatus, ThrottleConfig, UpdateService,
};
use ecs::task::{Event, StopCode, TaskStatus};
use ecs::{Error, ResourceKind, ServiceName};
use support::{Harness, View, cluster, web};
use tokio::time::Instant;

const WEB: &str = r#"{"family": "web", "containerDefinitions": [
    {"name": "app", "image": "busybox", "memory": 128, "cpu": 128,
     "command": ["sh", "-c", "trap 'exit 0' TERM; while true; do sleep 1; done"]}]}"#;

const CHECKED: &str = r#"{"family": "web", "containerDefinitions": [
    {"name": "app", "image": "busybox", "memory": 128, "cpu": 128,
     "command": ["sh", "-c", "trap 'exit 0' TERM; while true; do sleep 1; done"],
     "healthCheck": {"command": ["CMD-SHELL", "true"], "interval": 5}}]}"#;

fn service(count: u32) -> CreateService {
    CreateService::new(cluster(), web(), "web".parse().unwrap(), count)
}

fn spread_zones() -> PlacementStrategy {
    PlacementStrategy::new(
        PlacementStrategyType::Spread,
        Some("attribute:ecs.availability-zone"),
    )
}

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
            .entry(t.container_instance.to_string())
            .or_insert(0) += 1;
    }
    assert_eq!(
        per_instance.values().copied().collect::<Vec<_>>(),
        [2, 2, 2]
    );
    assert_eq!(h.ecs.list_services(&cluster()), [web()]);
}

#[tokio::test(start_paused = true)]
async fn a_crashed_task_is_replaced() {
    let h = Harness::new(2).await;
    h.register(WEB);
    h.ecs.create_service(service(3)).unwrap();
    h.steady(&web()).await;
    let victim = h.live_tasks(&web()).remove(0);
    let container = victim.containers[0].runtime_id.clone().unwrap();
    h.runtime(&victim.container_instance)
        .kill(&container, 1)
        .unwrap();
    let s = h
        .wait_service(&web(), "a replacement", |s| {
            s.deployments[0].failed_tasks == 1 && s.is_steady()
        })
        .await;
    assert_eq!(s.running_count, 3);
    let live = h.live_tasks(&web());
    assert_eq!(live.len(), 3);
    assert!(live.iter().all(|t| t.task_id != victim.task_id));
    let stopped = h.ecs.describe_tasks(&cluster(), &[victim.task_id]);
    assert_eq!(
        stopped[0].stop_code,
        Some(StopCode::EssentialContainerExited)
    );
}

#[tokio::test(start_paused = true)]
async fn an_unhealthy_task_is_replaced_after_the_grace_period() {
    let h = Harness::new(1).await;
    h.register(CHECKED);
    h.ecs
        .create_service(service(2).with_health_check_grace_period(60))
        .unwrap();
    h.steady(&web()).await;
    let victim = h.live_tasks(&web()).remove(0);
    let container = victim.containers[0].runtime_id.clone().unwrap();
    let rt = h.runtime(&victim.container_instance).clone();
    let marked = Instant::now();
    rt.set_health(&container, HealthStatus::Unhealthy).unwrap();
    let stopped = tokio::time::timeout(
        Duration::from_secs(600),
        h.ecs
            .wait_for(&victim.task_id, |t| t.desired_status == TaskStatus::Stopped),
    )
    .await
    .unwrap()
    .unwrap();
    // The grace period counts from when the task was RUNNING, so at most 60 s.
    assert!(
        marked.elapsed() <= Duration::from_secs(60),
        "{:?}",
        marked.elapsed()
    );
    assert_eq!(
        stopped.stopped_reason.as_deref(),
        Some("Task failed container health checks")
    );
    let s = h
        .wait_service(&web(), "a replacement", |s| {
            s.is_steady() && s.deployments[0].failed_tasks == 1
        })
        .await;
    assert!(s.events.iter().any(|e| e.message
        == format!(
            "(service web) (task {}) failed container health checks.",
            victim.task_id
        )));
}

#[tokio::test(start_paused = true)]
async fn unhealthy_within_the_grace_period_is_left_alone() {
    let h = Harness::new(1).await;
    h.register(CHECKED);
    h.ecs
        .create_service(service(1).with_health_check_grace_period(3600))
        .unwrap();
    h.steady(&web()).await;
    let task = h.live_tasks(&web()).remove(0);
    let container = task.containers[0].runtime_id.clone().unwrap();
    h.runtime(&task.container_instance)
        .set_health(&container, HealthStatus::Unhealthy)
        .unwrap();
    tokio::time::sleep(Duration::from_secs(1800)).await;
    let now = h
        .ecs
        .describe_tasks(&cluster(), std::slice::from_ref(&task.task_id));
    assert_eq!(now[0].desired_status, TaskStatus::Running);
    assert_eq!(now[0].health_status, HealthStatus::Unhealthy);
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
        h.runtime(&victim.container_instance)
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
        "(service web) was unable to place a task because no container instance met all of its requirements. Reasons: RESOURCE:MEMORY (2 container instances)."
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
    assert_eq!(live[0].container_instance.as_str(), "i-big");
}

#[tokio::test(start_paused = true)]
async fn a_daemon_service_follows_instances() {
    let mut h = Harness::new(2).await;
    h.register(WEB);
    h.ecs
        .create_service(CreateService::daemon(
            cluster(),
            web(),
            "web".parse().unwrap(),
        ))
        .unwrap();
    let s = h.steady(&web()).await;
    assert_eq!(s.desired_count, 2);
    let on = |h: &Harness| -> BTreeSet<String> {
        h.live_tasks(&web())
            .iter()
            .map(|t| t.container_instance.to_string())
            .collect()
    };
    assert_eq!(on(&h), BTreeSet::from(["i-0".into(), "i-1".into()]));
    let third = h.add_instance().await;
    h.wait_service(&web(), "a task on the new instance", |s| {
        s.desired_count == 3 && s.is_steady()
    })
    .await;
    assert_eq!(on(&h).len(), 3);
    h.ecs
        .update_container_instances_state(UpdateContainerInstancesState::new(
            cluster(),
            vec![third.clone()],
            InstanceStatus::Draining,
        ))
        .unwrap();
    h.wait_service(&web(), "two tasks", |s| {
        s.desired_count == 2 && s.is_steady()
    })
    .await;
    h.wait_service(&web(), "the draining instance's task gone", |_| {
        !on(&h).contains("i-2")
    })
    .await;
    h.ecs
        .deregister_container_instance(
            DeregisterContainerInstance::new(cluster(), "i-1".parse().unwrap()).with_force(true),
        )
        .unwrap();
    let s = h
        .wait_service(&web(), "one task", |s| {
            s.desired_count == 1 && s.is_steady()
        })
        .await;
    assert_eq!(s.running_count, 1);
    assert_eq!(on(&h), BTreeSet::from(["i-0".into()]));
}

#[tokio::test(start_paused = true)]
async fn draining_moves_service_tasks_and_leaves_standalone_ones() {
    let h = Harness::new(2).await;
    h.register(CHECKED);
    for (_, rt) in &h.runtimes {
        rt.set_behavior(
            Matcher::Any,
            Behavior::forever().healthy_after(Some(Duration::from_secs(5))),
        );
    }
    let mut run = RunTask::new(cluster(), "web".parse().unwrap(), 1);
    run.placement_constraints = vec![ecs::placement::api::PlacementConstraint::new(
        ecs::placement::api::PlacementConstraintType::MemberOf,
        Some("ec2InstanceId == 'i-0'"),
    )];
    let standalone = h.ecs.run_task(run).unwrap().tasks.remove(0);
    h.ecs
        .create_service(service(4).with_placement_strategy(PlacementStrategy::new(
            PlacementStrategyType::Spread,
            Some("instanceId"),
        )))
        .unwrap();
    h.steady(&web()).await;
    let mut events = h.ecs.subscribe();
    let mut view = View::default();
    for t in h.live_tasks(&web()) {
        view.apply(&t, &web());
    }
    h.ecs
        .update_container_instances_state(UpdateContainerInstancesState::new(
            cluster(),
            vec!["i-0".parse().unwrap()],
            InstanceStatus::Draining,
        ))
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(3600);
    loop {
        let e = tokio::time::timeout_at(deadline, events.recv())
            .await
            .unwrap()
            .unwrap();
        if let Some(t) = e.task() {
            view.apply(t, &web());
            assert!(view.healthy(true) >= 4, "draining went below 100% healthy");
            assert!(view.existing() <= 8);
        }
        let live = h.live_tasks(&web());
        if h.describe(&web()).is_steady()
            && live.iter().all(|t| t.container_instance.as_str() == "i-1")
            && live.len() == 4
        {
            break;
        }
    }
    let still = h.ecs.describe_tasks(&cluster(), &[standalone.task_id]);
    assert_eq!(still[0].last_status, TaskStatus::Running);
    assert_eq!(still[0].desired_status, TaskStatus::Running);
}

#[tokio::test(start_paused = true)]
async fn a_lost_instance_has_its_tasks_replaced_after_the_timeout() {
    let h = Harness::new(2).await;
    h.register(WEB);
    h.ecs
        .create_service(service(4).with_placement_strategy(PlacementStrategy::new(
            PlacementStrategyType::Spread,
            Some("instanceId"),
        )))
        .unwrap();
    h.steady(&web()).await;
    let lost_at = Instant::now();
    h.runtimes[0].1.set_unavailable(true);
    let timeout = EcsConfig::default().instance_lost_timeout;
    // Disconnected, but not lost yet: nothing moves.
    tokio::time::sleep(timeout - Duration::from_secs(5)).await;
    assert_eq!(
        h.live_tasks(&web())
            .iter()
            .filter(|t| t.desired_status == TaskStatus::Running)
            .count(),
        4
    );
    let s = h
        .wait_service(&web(), "replacements on i-1", |s| {
            s.running_count >= 2
                && h.live_tasks(&web())
                    .iter()
                    .filter(|t| {
                        t.container_instance.as_str() == "i-1"
                            && t.last_status == TaskStatus::Running
                    })
                    .count()
                    == 4
        })
        .await;
    assert!(lost_at.elapsed() >= timeout);
    assert!(
        lost_at.elapsed() < timeout + Duration::from_secs(60),
        "{:?}",
        lost_at.elapsed()
    );
    assert!(
        s.deployments[0].failed_tasks == 0,
        "a lost instance is not a task failure"
    );
    // The instance comes back: the old tasks are stopped, not adopted twice.
    h.runtimes[0].1.set_unavailable(false);
    h.wait_service(&web(), "the old tasks stopped", |_| {
        h.live_tasks(&web()).len() == 4
    })
    .await;
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
        .map(|t| t.container_instance.to_string())
        .collect();
    assert_eq!(zones.len(), 3);
}

#[tokio::test(start_paused = true)]
async fn deleting_a_service_scales_it_to_zero_then_inactive() {
    let h = Harness::new(1).await;
    h.register(WEB);
    h.ecs.create_service(service(2)).unwrap();
    h.steady(&web()).await;
    let err = h
        .ecs
        .delete_service(DeleteService::new(cluster(), web()))
        .unwrap_err();
    assert!(matches!(err, Error::ServiceConflict { .. }), "{err}");
    assert!(err.to_string().contains("desired count is 2"), "{err}");
    let draining = h
        .ecs
        .delete_service(DeleteService::new(cluster(), web()).with_force(true))
        .unwrap();
    assert_eq!(draining.status, ServiceStatus::Draining);
    let s = h
        .wait_service(&web(), "INACTIVE", |s| s.status == ServiceStatus::Inactive)
        .await;
    assert_eq!(s.running_count, 0);
    assert!(h.live_tasks(&web()).is_empty());
    assert!(h.ecs.list_services(&cluster()).is_empty());
    assert_eq!(h.ecs.describe_services(&cluster(), &[web()]).len(), 1);
    // The name is free again.
    h.ecs.create_service(service(1)).unwrap();
    h.steady(&web()).await;
}

#[tokio::test(start_paused = true)]
async fn bad_requests_are_refused_with_the_member_at_fault() {
    let h = Harness::new(1).await;
    h.register(WEB);
    let refuse = |r: CreateService, want: &str| {
        let err = h.ecs.create_service(r).unwrap_err();
        assert!(err.to_string().contains(want), "{err} lacks {want:?}");
    };
    refuse(
        service(1).with_deployment_configuration(
            DeploymentConfiguration::default().with_percents(50, 90),
        ),
        "maximumPercent 90 is below 100",
    );
    refuse(
        service(1).with_deployment_configuration(
            DeploymentConfiguration::default().with_percents(100, 100),
        ),
        "must be above minimumHealthyPercent",
    );
    let mut daemon = CreateService::daemon(cluster(), web(), "web".parse().unwrap());
    daemon.desired_count = Some(2);
    refuse(daemon, "desiredCount: a DAEMON service");
    refuse(
        service(5001),
        "desiredCount 5001 is above the cluster's limit of 5000",
    );
    refuse(
        CreateService::new(cluster(), web(), "nope".parse().unwrap(), 1),
        "nope",
    );
    h.ecs
        .set_service_limits(&cluster(), ServiceLimits::new(1, 10))
        .unwrap();
    refuse(service(11), "limit of 10 tasks per service");
    h.ecs.create_service(service(1)).unwrap();
    let err = h.ecs.create_service(service(1)).unwrap_err();
    assert!(
        matches!(
            err,
            Error::AlreadyExists {
                kind: ResourceKind::Service,
                ..
            }
        ),
        "{err}"
    );
    let other = CreateService::new(cluster(), "api".parse().unwrap(), "web".parse().unwrap(), 1);
    let err = h.ecs.create_service(other).unwrap_err();
    assert!(
        matches!(err, Error::ServiceLimitExceeded { limit: 1, .. }),
        "{err}"
    );
    let err = h
        .ecs
        .update_service(
            UpdateService::new(cluster(), "nope".parse().unwrap()).with_desired_count(1),
        )
        .unwrap_err();
    assert!(err.is_not_found(ResourceKind::Service), "{err}");
    // Nothing was half-made: the one valid service is the only one.
    assert_eq!(h.ecs.list_services(&cluster()), [web()]);
}

#[test]
fn create_service_reads_the_aws_cli_input() {
    let json = r#"{
        "cluster": "arn:aws:ecs:us-east-1:123456789012:cluster/dev",
        "serviceName": "web",
        "taskDefinition": "web:3",
        "desiredCount": 4,
        "launchType": "EC2",
        "deploymentConfiguration": {
            "maximumPercent": 150, "minimumHealthyPercent": 50,
            "deploymentCircuitBreaker": {"enable": true, "rollback": true}},
        "placementStrategy": [{"type": "spread", "field": "attribute:ecs.availability-zone"}],
        "placementConstraints": [{"type": "memberOf", "expression": "attribute:ecs.os-type == linux"}],
        "healthCheckGracePeriodSeconds": 30,
        "tags": [{"key": "team", "value": "edge"}]
    }"#;
    let r = CreateService::from_json(json).unwrap();
    assert_eq!(r.cluster.as_str(), "dev");
    assert_eq!(r.service_name, "web".parse::<ServiceName>().unwrap());
    assert_eq!(r.desired_count, Some(4));
    assert_eq!(r.strategy(), SchedulingStrategy::Replica);
    let d = r.deployment_configuration.unwrap();
    assert_eq!(d.percents(SchedulingStrategy::Replica), (50, 150));
    assert!(d.breaker().unwrap().rollback);
    let err = CreateService::from_json(
        r#"{"serviceName": "web", "taskDefinition": "web", "desiredCount": -1}"#,
    )
    .unwrap_err();
    assert!(err.to_string().contains("desiredCount"), "{err}");
}

#[tokio::test(start_paused = true)]
async fn a_container_that_dies_without_an_event_is_replaced_after_a_resync() {
    let h = Harness::new(1).await;
    h.register(WEB);
    h.ecs.create_service(service(2)).unwrap();
    h.steady(&web()).await;
    let victim = h.live_tasks(&web()).remove(0);
    let container = victim.containers[0].runtime_id.clone().unwrap();
    let died = Instant::now();
    // The engine says nothing: only the periodic resync can notice.
    h.runtime(&victim.container_instance)
        .kill_silently(&container, 1)
        .unwrap();
    let s = h
        .wait_service(&web(), "a replacement", |s| {
            s.deployments[0].failed_tasks == 1 && s.is_steady()
        })
        .await;
    let resync = EcsConfig::default().resync_interval;
    assert!(died.elapsed() >= Duration::from_secs(1));
    assert!(
        died.elapsed() <= resync + Duration::from_secs(60),
        "{:?}",
        died.elapsed()
    );
    assert_eq!(s.running_count, 2);
    // Exactly one replacement: two live tasks, one container each.
    assert_eq!(h.live_tasks(&web()).len(), 2);
    assert_eq!(h.runtimes[0].1.containers().len(), 2);
}
