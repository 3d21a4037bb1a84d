//! Regressions found by review of the service controller: each test failed before its
//! fix (breaker counts leaking between deployments, rollback loops, crash-looping
//! revisions without health checks, lost and re-registered instances, constraint
//! limits, DAEMON updates, a service created outside a runtime).

#[path = "support/services.rs"]
mod support;

use std::time::Duration;

use ecs::control::{
    DeleteService, DeregisterContainerInstance, EcsConfig, RegisterContainerInstance,
};
use ecs::placement::api::{
    PlacementConstraint, PlacementConstraintType, PlacementStrategy, PlacementStrategyType,
};
use ecs::runtime::Behavior;
use ecs::runtime::memory::Matcher;
use ecs::service::{
    CreateService, DeploymentConfiguration, RolloutState, ServiceStatus, UpdateService,
};
use ecs::task::{Event, TaskStatus};
use support::{Harness, View, cluster, web};
use tokio::time::Instant;

const WEB: &str = r#"{"family": "web", "containerDefinitions": [
    {"name": "app", "image": "busybox", "memory": 128, "cpu": 128,
     "command": ["sh", "-c", "trap 'exit 0' TERM; while true; do sleep 1; done"]}]}"#;

fn service(count: u32) -> CreateService {
    CreateService::new(cluster(), web(), "web".parse().unwrap(), count)
}

/// Failures of a COMPLETED deployment are carried into the next deployment's
/// circuit-breaker count: a good revision fails before any of its tasks ran.
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
        h.runtime(&t.container_instance).kill(&c, 1).unwrap();
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

/// A task with no health check counts as healthy the moment it is RUNNING (ECS waits
/// 40 s): a revision that crashes a few seconds after start takes every old task down
/// under minimumHealthyPercent 100.
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

/// Tasks on an instance that stays lost never reach STOPPED; they keep their old
/// deployment alive, so a later deployment never completes.
#[tokio::test(start_paused = true)]
async fn a_lost_instance_does_not_block_later_deployments() {
    let h = Harness::new(2).await;
    h.register(WEB);
    h.register(WEB);
    h.ecs
        .create_service(
            CreateService::new(cluster(), web(), "web:1".parse().unwrap(), 2)
                .with_placement_strategy(PlacementStrategy::new(
                    PlacementStrategyType::Spread,
                    Some("instanceId"),
                )),
        )
        .unwrap();
    h.steady(&web()).await;
    h.runtimes[0].1.set_unavailable(true); // gone for good
    tokio::time::sleep(EcsConfig::default().instance_lost_timeout + Duration::from_secs(60)).await;
    h.steady(&web()).await;
    h.ecs
        .update_service(
            UpdateService::new(cluster(), web()).with_task_definition("web:2".parse().unwrap()),
        )
        .unwrap();
    h.wait_service(&web(), "web:2 completed", |s| {
        s.is_steady() && s.task_definition.to_string() == "web:2"
    })
    .await;
}

/// Same, for deletion: the service never goes INACTIVE.
#[tokio::test(start_paused = true)]
async fn a_deleted_service_with_tasks_on_a_lost_instance_goes_inactive() {
    let h = Harness::new(2).await;
    h.register(WEB);
    h.ecs
        .create_service(service(2).with_placement_strategy(PlacementStrategy::new(
            PlacementStrategyType::Spread,
            Some("instanceId"),
        )))
        .unwrap();
    h.steady(&web()).await;
    h.runtimes[0].1.set_unavailable(true);
    tokio::time::sleep(EcsConfig::default().instance_lost_timeout + Duration::from_secs(60)).await;
    h.ecs
        .delete_service(DeleteService::new(cluster(), web()).with_force(true))
        .unwrap();
    h.wait_service(&web(), "INACTIVE", |s| s.status == ServiceStatus::Inactive)
        .await;
}

/// 10 placement constraints (ECS's maximum) pass validation, but every launch adds
/// internal constraints and the placement limit check refuses them: nothing is ever placed.
#[tokio::test(start_paused = true)]
async fn ten_constraints_place() {
    let h = Harness::new(1).await;
    h.register(WEB);
    let mut req = service(1);
    for i in 0..10 {
        req = req.with_placement_constraint(PlacementConstraint::new(
            PlacementConstraintType::MemberOf,
            Some(&format!("ec2InstanceId != 'nope-{i}'")),
        ));
    }
    h.ecs.create_service(req).unwrap();
    h.steady(&web()).await;
}

/// DAEMON: 9 constraints, plus the per-instance one and RequiresAttributes.
#[tokio::test(start_paused = true)]
async fn daemon_with_nine_constraints_places() {
    let h = Harness::new(1).await;
    h.register(WEB);
    let mut req = CreateService::daemon(cluster(), web(), "web".parse().unwrap());
    for i in 0..9 {
        req = req.with_placement_constraint(PlacementConstraint::new(
            PlacementConstraintType::MemberOf,
            Some(&format!("ec2InstanceId != 'nope-{i}'")),
        ));
    }
    h.ecs.create_service(req).unwrap();
    h.steady(&web()).await;
}

/// UpdateService accepts a placement strategy for a DAEMON service (CreateService refuses).
#[tokio::test(start_paused = true)]
async fn daemon_update_with_placement_strategy_is_refused() {
    let h = Harness::new(1).await;
    h.register(WEB);
    h.ecs
        .create_service(CreateService::daemon(
            cluster(),
            web(),
            "web".parse().unwrap(),
        ))
        .unwrap();
    let mut u = UpdateService::new(cluster(), web());
    u.placement_strategy = Some(vec![PlacementStrategy::new(
        PlacementStrategyType::Spread,
        Some("instanceId"),
    )]);
    assert!(h.ecs.update_service(u).is_err(), "accepted");
}

/// A rollback that fails rolls back again, forever, and each rollback clears the throttle:
/// failing tasks are launched without back-off.
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
                eprintln!(
                    "200 launches after {:?} of virtual time",
                    Instant::now() - (deadline - Duration::from_secs(3600))
                );
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
    eprintln!("launched {launched} tasks in an hour, {rollbacks} rollbacks in the last 100 events");
    // With the default throttle (3 free, 10 s doubling to 15 min) an hour allows ~10.
    assert!(
        launched < 30,
        "launched {launched} failing tasks in an hour; {rollbacks} rollbacks"
    );
}

/// A lost DAEMON instance is deregistered and registers again under the same id: the
/// stale task of the old registration (never STOPPED, its engine gone) now looks like it
/// is on the new instance and keeps the daemon off it forever.
#[tokio::test(start_paused = true)]
async fn daemon_returns_to_a_re_registered_instance() {
    use std::sync::Arc;
    let h = Harness::new(2).await;
    h.register(WEB);
    h.ecs
        .create_service(CreateService::daemon(
            cluster(),
            web(),
            "web".parse().unwrap(),
        ))
        .unwrap();
    h.steady(&web()).await;
    h.runtimes[1].1.set_unavailable(true);
    tokio::time::sleep(EcsConfig::default().instance_lost_timeout + Duration::from_secs(60)).await;
    let id: ecs::InstanceId = "i-1".parse().unwrap();
    h.ecs
        .deregister_container_instance(
            DeregisterContainerInstance::new(cluster(), id.clone()).with_force(true),
        )
        .unwrap();
    let fresh = ecs::runtime::InMemoryRuntime::new(ecs::cluster::Resources::new(4096, 8192));
    h.ecs
        .register_container_instance(RegisterContainerInstance::new(
            cluster(),
            id.clone(),
            Arc::new(fresh.clone()),
        ))
        .await
        .unwrap();
    h.wait_service(&web(), "a daemon task on the new i-1", |s| {
        s.desired_count == 2 && s.is_steady()
    })
    .await;
}

/// The agent pump of a deregistered instance keeps running and reports "disconnected"
/// for any later instance registered under the same id: the new instance is taken for
/// lost and a REPLICA service's tasks on it are replaced although it is healthy.
#[tokio::test(start_paused = true)]
async fn a_stale_agent_does_not_mark_a_re_registered_instance_lost() {
    use std::sync::Arc;
    let h = Harness::new(1).await;
    h.register(WEB);
    let id: ecs::InstanceId = "i-9".parse().unwrap();
    let old = ecs::runtime::InMemoryRuntime::new(ecs::cluster::Resources::new(4096, 8192));
    h.ecs
        .register_container_instance(RegisterContainerInstance::new(
            cluster(),
            id.clone(),
            Arc::new(old.clone()),
        ))
        .await
        .unwrap();
    old.set_unavailable(true);
    tokio::time::sleep(Duration::from_secs(10)).await;
    h.ecs
        .deregister_container_instance(
            DeregisterContainerInstance::new(cluster(), id.clone()).with_force(true),
        )
        .unwrap();
    let fresh = ecs::runtime::InMemoryRuntime::new(ecs::cluster::Resources::new(4096, 8192));
    h.ecs
        .register_container_instance(RegisterContainerInstance::new(
            cluster(),
            id.clone(),
            Arc::new(fresh.clone()),
        ))
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_secs(30)).await;
    let c = h.ecs.describe_cluster(&cluster()).unwrap();
    assert!(
        c.instance(&id).unwrap().agent_connected(),
        "the fresh instance is reported disconnected"
    );
}

/// The controller waits for task health when ANY container has a health check, but a
/// task's health only reflects ESSENTIAL containers: a health-checked non-essential
/// sidecar leaves the task UNKNOWN forever, and the service never becomes steady.
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

/// create_service outside a Tokio runtime is refused, leaving nothing behind (it used
/// to panic in tokio::spawn after taking the name).
#[test]
fn create_service_outside_a_runtime_is_refused_cleanly() {
    let ecs = ecs::Ecs::new(EcsConfig::default());
    ecs.create_cluster(cluster()).unwrap();
    ecs.register_task_definition(ecs::TaskDefinition::from_json(WEB).unwrap().definition)
        .unwrap();
    let err = ecs.create_service(service(1)).unwrap_err();
    assert!(err.to_string().contains("within a Tokio runtime"), "{err}");
    assert!(ecs.list_services(&cluster()).is_empty());
}

/// Even deregistering the lost instance (force) does not release the deployment.
#[tokio::test(start_paused = true)]
async fn deregistering_a_lost_instance_releases_its_deployment() {
    let h = Harness::new(2).await;
    h.register(WEB);
    h.register(WEB);
    h.ecs
        .create_service(
            CreateService::new(cluster(), web(), "web:1".parse().unwrap(), 2)
                .with_placement_strategy(PlacementStrategy::new(
                    PlacementStrategyType::Spread,
                    Some("instanceId"),
                )),
        )
        .unwrap();
    h.steady(&web()).await;
    h.runtimes[0].1.set_unavailable(true);
    tokio::time::sleep(EcsConfig::default().instance_lost_timeout + Duration::from_secs(60)).await;
    h.ecs
        .deregister_container_instance(
            DeregisterContainerInstance::new(cluster(), "i-0".parse().unwrap()).with_force(true),
        )
        .unwrap();
    h.ecs
        .update_service(
            UpdateService::new(cluster(), web()).with_task_definition("web:2".parse().unwrap()),
        )
        .unwrap();
    h.wait_service(&web(), "web:2 completed", |s| {
        s.is_steady() && s.task_definition.to_string() == "web:2"
    })
    .await;
}
