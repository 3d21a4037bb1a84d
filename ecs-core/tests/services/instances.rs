//! Services as their instances change: a draining instance's tasks move (standalone ones
//! stay), a lost instance's are replaced after the timeout and block no later deployment,
//! and an instance re-registered under the same id is not taken for lost.

use std::time::Duration;

use crate::support::services::{Harness, View, cluster, web};
use crate::{CHECKED, WEB, service};
use ecs_core::cluster::InstanceStatus;
use ecs_core::control::{
    DeregisterContainerInstance, EcsConfig, RegisterContainerInstance, RunTask,
    UpdateContainerInstancesState,
};
use ecs_core::placement::api::{PlacementStrategy, PlacementStrategyType};
use ecs_core::runtime::Behavior;
use ecs_core::runtime::memory::Matcher;
use ecs_core::service::{CreateService, UpdateService};
use ecs_core::task::TaskStatus;
use tokio::time::Instant;

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
    run.placement_constraints = vec![ecs_core::placement::api::PlacementConstraint::new(
        ecs_core::placement::api::PlacementConstraintType::MemberOf,
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
            && live
                .iter()
                .all(|t| t.container_instance.as_ref().unwrap().as_str() == "i-1")
            && live.len() == 4
        {
            break;
        }
    }
    let still = h
        .ecs
        .describe_tasks(&cluster(), &[standalone.task_id])
        .unwrap();
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
                        t.container_instance.as_ref().unwrap().as_str() == "i-1"
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

/// An instance that stays lost does not block later deployments: its tasks, which may
/// never be seen reaching STOPPED, do not keep their old deployment alive, and a new
/// task definition's deployment completes.
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

/// Deregistering a lost instance (by force) releases the deployment its tasks belonged
/// to: a new task definition's deployment completes.
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

/// An instance registered again under the id of a deregistered, disconnected one is
/// reported connected: the old registration's agent does not report for the new one
/// (which would have it taken for lost, and its tasks replaced, although it is healthy).
#[tokio::test(start_paused = true)]
async fn a_stale_agent_does_not_mark_a_re_registered_instance_lost() {
    use std::sync::Arc;
    let h = Harness::new(1).await;
    h.register(WEB);
    let id: ecs_core::InstanceId = "i-9".parse().unwrap();
    let old =
        ecs_core::runtime::InMemoryRuntime::new(ecs_core::cluster::Resources::new(4096, 8192));
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
    let fresh =
        ecs_core::runtime::InMemoryRuntime::new(ecs_core::cluster::Resources::new(4096, 8192));
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
