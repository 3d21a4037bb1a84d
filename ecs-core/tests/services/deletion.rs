//! Deletion: a service with tasks is deleted only by force, scales to zero then goes
//! INACTIVE and frees its name, even with tasks on a lost instance.

use std::time::Duration;

use crate::support::services::{Harness, cluster, web};
use crate::{WEB, service};
use ecs_core::Error;
use ecs_core::control::{DeleteService, EcsConfig};
use ecs_core::placement::api::{PlacementStrategy, PlacementStrategyType};
use ecs_core::service::ServiceStatus;

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
    assert!(h.ecs.list_services(&cluster()).unwrap().is_empty());
    assert_eq!(
        h.ecs.describe_services(&cluster(), &[web()]).unwrap().len(),
        1
    );
    // The name is free again.
    h.ecs.create_service(service(1)).unwrap();
    h.steady(&web()).await;
}

/// A service deleted by force goes INACTIVE even when some of its tasks are on an
/// instance that stays lost (tasks that may never be seen reaching STOPPED).
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
