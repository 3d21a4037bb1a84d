//! What ECS refuses of capacity providers and strategies is refused, naming the member,
//! and changes nothing.

use std::sync::Arc;
use std::time::Duration;

use ecs_core::capacity::{CapacityProviderStrategyItem, InMemoryInstanceProvider, InstanceGroup};
use ecs_core::control::{CreateCapacityProvider, RunTask, UpdateCapacityProvider};
use ecs_core::service::CreateService;
use ecs_core::{Error, ResourceKind};

use super::*;

fn member(e: Error) -> &'static str {
    match e {
        Error::InvalidParameter { member, .. } => member,
        other => panic!("expected InvalidParameter, got {other:?}"),
    }
}

#[tokio::test(start_paused = true)]
async fn bad_providers_are_refused() {
    let (ecs, _p) = plane(0, 4, Duration::ZERO, scaling(100)).await;
    let other = InMemoryInstanceProvider::new("other", SIZE);
    ecs.register_instance_group("other", InstanceGroup::new(Arc::new(other), 0, 2))
        .await
        .unwrap();
    let e = ecs
        .create_capacity_provider(CreateCapacityProvider::new(
            "ecs-mine".parse().unwrap(),
            "other",
        ))
        .unwrap_err();
    assert_eq!(member(e), "name");
    let e = ecs
        .create_capacity_provider(CreateCapacityProvider::new(
            "mine".parse().unwrap(),
            "nowhere",
        ))
        .unwrap_err();
    assert!(
        matches!(
            e,
            Error::NotFound {
                kind: ResourceKind::InstanceGroup,
                ..
            }
        ),
        "{e:?}"
    );
    let e = ecs
        .create_capacity_provider(CreateCapacityProvider::new(cp(), "other"))
        .unwrap_err();
    assert!(
        matches!(
            e,
            Error::AlreadyExists {
                kind: ResourceKind::CapacityProvider,
                ..
            }
        ),
        "{e:?}"
    );
    let e = ecs
        .create_capacity_provider(CreateCapacityProvider::new("mine".parse().unwrap(), "asg"))
        .unwrap_err();
    assert_eq!(
        member(e),
        "autoScalingGroupProvider.autoScalingGroupArn",
        "a group serves one provider"
    );
    let e = ecs
        .create_capacity_provider(
            CreateCapacityProvider::new("mine".parse().unwrap(), "other")
                .with_managed_scaling(scaling(0)),
        )
        .unwrap_err();
    assert_eq!(member(e), "managedScaling.targetCapacity");
    let mut bad = scaling(100);
    bad.minimum_scaling_step_size = 20;
    let e = ecs
        .update_capacity_provider({
            let mut u = UpdateCapacityProvider::new(cp());
            u.managed_scaling = Some(bad);
            u
        })
        .unwrap_err();
    assert_eq!(member(e), "managedScaling.minimumScalingStepSize");
    assert_eq!(
        ecs.describe_capacity_providers(&[]).len(),
        1,
        "nothing was created"
    );
    assert_eq!(
        ecs.describe_capacity_providers(&[cp()])[0].managed_scaling,
        scaling(100)
    );
}

#[tokio::test(start_paused = true)]
async fn bad_strategies_are_refused_and_place_nothing() {
    let (ecs, _p) = plane(0, 4, Duration::ZERO, scaling(100)).await;
    let item = |name: &str, base: u32, weight: u32| CapacityProviderStrategyItem {
        capacity_provider: name.parse().unwrap(),
        base,
        weight,
    };
    let run = |strategy: Vec<CapacityProviderStrategyItem>| {
        ecs.run_task(
            RunTask::new(cluster(), "web".parse().unwrap(), 1)
                .with_capacity_provider_strategy(strategy),
        )
    };
    for (strategy, why) in [
        (vec![item("cp", 0, 1), item("cp", 0, 1)], "named twice"),
        (vec![item("cp", 1, 0), item("b", 1, 1)], "may have a base"),
        (vec![item("cp", 0, 0)], "a weight"),
        (vec![item("cp", 0, 1001)], "more than 1000"),
    ] {
        let e = run(strategy).unwrap_err();
        assert!(e.to_string().contains(why), "{e}");
        assert_eq!(member(e), "capacityProviderStrategy");
    }
    // A provider the cluster does not list.
    let e = run(vec![item("elsewhere", 0, 1)]).unwrap_err();
    assert_eq!(member(e), "capacityProviderStrategy");
    let e = ecs
        .create_service(
            CreateService::new(cluster(), web(), "web".parse().unwrap(), 1)
                .with_capacity_provider_strategy(vec![item("cp", 0, 0)]),
        )
        .unwrap_err();
    assert_eq!(member(e), "capacityProviderStrategy");
    assert!(tasks(&ecs).is_empty(), "nothing was placed");
}

#[tokio::test(start_paused = true)]
async fn a_provider_in_use_is_neither_deleted_nor_taken_off() {
    let (ecs, _p) = plane(0, 4, Duration::ZERO, scaling(100)).await;
    let e = ecs.delete_capacity_provider(&cp()).unwrap_err();
    assert!(matches!(e, Error::CapacityProviderInUse { .. }), "{e:?}");
    // A default strategy naming a provider the cluster does not list.
    let e = ecs
        .put_cluster_capacity_providers(
            &cluster(),
            &[],
            vec![CapacityProviderStrategyItem::new(cp())],
        )
        .unwrap_err();
    assert_eq!(member(e), "defaultCapacityProviderStrategy");
    // One of another cluster.
    ecs.create_cluster("other".parse().unwrap()).unwrap();
    let e = ecs
        .put_cluster_capacity_providers(&"other".parse().unwrap(), &[cp()], vec![])
        .unwrap_err();
    assert!(matches!(e, Error::CapacityProviderInUse { .. }), "{e:?}");
    // Taken off while a task uses it.
    let out = ecs
        .run_task(RunTask::new(cluster(), "web".parse().unwrap(), 1))
        .unwrap();
    assert_eq!(out.tasks[0].capacity_provider_name, Some(cp()));
    let e = ecs
        .put_cluster_capacity_providers(&cluster(), &[], vec![])
        .unwrap_err();
    assert!(matches!(e, Error::CapacityProviderInUse { .. }), "{e:?}");
    assert_eq!(cluster_providers(&ecs).0, vec![cp()]);
    // Once nothing uses it: off the cluster, then deleted.
    ecs.stop_task(ecs_core::control::StopTask::new(
        cluster(),
        out.tasks[0].task_id.clone(),
    ))
    .unwrap();
    eventually(Duration::from_secs(120), "the task STOPPED", || {
        tasks(&ecs)
            .iter()
            .all(|t| t.last_status == ecs_core::task::TaskStatus::Stopped)
    })
    .await;
    // Its instance is still there: taking the provider off would leave it to no one.
    if registered(&ecs) > 0 {
        let e = ecs
            .put_cluster_capacity_providers(&cluster(), &[], vec![])
            .unwrap_err();
        assert!(e.to_string().contains("instances are registered"), "{e}");
    }
    eventually(Duration::from_secs(600), "its instance let go", || {
        registered(&ecs) == 0
    })
    .await;
    ecs.put_cluster_capacity_providers(&cluster(), &[], vec![])
        .unwrap();
    let gone = ecs.delete_capacity_provider(&cp()).unwrap();
    assert_eq!(
        gone.status,
        ecs_core::capacity::CapacityProviderStatus::Inactive
    );
    assert!(ecs.describe_capacity_providers(&[]).is_empty());
}
