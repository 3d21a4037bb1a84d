//! DAEMON services: one task on each instance, following instances as they join, drain,
//! leave, and come back under the same id.

use std::collections::BTreeSet;
use std::time::Duration;

use crate::WEB;
use crate::support::services::{Harness, cluster, web};
use ecs_core::cluster::InstanceStatus;
use ecs_core::control::{
    DeregisterContainerInstance, EcsConfig, RegisterContainerInstance,
    UpdateContainerInstancesState,
};
use ecs_core::service::CreateService;

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
            .map(|t| t.container_instance.as_ref().unwrap().to_string())
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

/// A DAEMON service returns to an instance that was lost, deregistered and registered
/// again under the same id: the service reaches a steady state with two tasks again. The
/// stale task of the old registration (never seen STOPPED, its engine gone) does not
/// count as the daemon's task on the new registration.
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
    let id: ecs_core::InstanceId = "i-1".parse().unwrap();
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
    h.wait_service(&web(), "a daemon task on the new i-1", |s| {
        s.desired_count == 2 && s.is_steady()
    })
    .await;
}
