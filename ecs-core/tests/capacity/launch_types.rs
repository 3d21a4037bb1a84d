//! What does not go through the cluster's default strategy: StartTask (on the instance
//! it names), DAEMON services (on every instance), services created with launch type
//! EC2 or before the cluster had a default strategy (ECS settles a service's strategy
//! when it is created).

use std::sync::Arc;
use std::time::Duration;

use ecs_core::capacity::CapacityProviderStrategyItem;
use ecs_core::control::{RegisterContainerInstance, StartTask};
use ecs_core::runtime::InMemoryRuntime;
use ecs_core::service::CreateService;
use ecs_core::task::{LaunchType, TaskStatus};

use super::*;

/// The plane of [`plane`] (group 0..4), plus a plain instance `i-plain` of the
/// cluster's own.
async fn with_plain_instance() -> (Ecs, InMemoryInstanceProvider) {
    let (ecs, provider) = plane(0, 4, Duration::from_secs(5), scaling(100)).await;
    ecs.register_container_instance(RegisterContainerInstance::new(
        cluster(),
        "i-plain".parse().unwrap(),
        Arc::new(InMemoryRuntime::new(SIZE)),
    ))
    .await
    .unwrap();
    (ecs, provider)
}

fn on_plain(ecs: &Ecs) -> usize {
    tasks(ecs)
        .iter()
        .filter(|t| {
            t.last_status == TaskStatus::Running
                && t.container_instance.as_ref().map(|i| i.as_str()) == Some("i-plain")
        })
        .count()
}

#[tokio::test(start_paused = true)]
async fn start_task_runs_on_the_instance_it_names() {
    let (ecs, provider) = with_plain_instance().await;
    let out = ecs
        .start_task(StartTask::new(
            cluster(),
            "web".parse().unwrap(),
            vec!["i-plain".parse().unwrap()],
        ))
        .unwrap();
    assert_eq!(out.tasks.len(), 1);
    assert_eq!(out.tasks[0].capacity_provider_name, None);
    eventually(
        Duration::from_secs(60),
        "the task RUNNING on i-plain",
        || on_plain(&ecs) == 1,
    )
    .await;
    tokio::time::sleep(Duration::from_secs(60)).await;
    assert_eq!(
        provider.launched(),
        0,
        "nothing waited, nothing was launched"
    );
}

#[tokio::test(start_paused = true)]
async fn daemon_and_ec2_services_stay_off_the_default_strategy() {
    let (ecs, provider) = with_plain_instance().await;
    ecs.create_service(CreateService::daemon(
        cluster(),
        "daemon".parse().unwrap(),
        "web".parse().unwrap(),
    ))
    .unwrap();
    let mut ec2 = CreateService::new(cluster(), web(), "web".parse().unwrap(), 2);
    ec2.launch_type = Some(LaunchType::Ec2);
    let created = ecs.create_service(ec2).unwrap();
    assert!(created.capacity_provider_strategy.is_empty());
    eventually(
        Duration::from_secs(120),
        "the daemon's task and both EC2 tasks on i-plain",
        || on_plain(&ecs) == 3,
    )
    .await;
    tokio::time::sleep(Duration::from_secs(120)).await;
    assert_eq!(provider.launched(), 0);
    // Both at once is refused.
    let mut both = CreateService::new(
        cluster(),
        "both".parse().unwrap(),
        "web".parse().unwrap(),
        1,
    )
    .with_capacity_provider_strategy(vec![CapacityProviderStrategyItem::new(cp())]);
    both.launch_type = Some(LaunchType::Ec2);
    assert!(ecs.create_service(both).is_err());
}

#[tokio::test(start_paused = true)]
async fn a_service_keeps_the_strategy_it_was_created_with() {
    let (ecs, provider) = with_plain_instance().await;
    // Created with the default strategy: it is the service's own from then on.
    let created = ecs
        .create_service(CreateService::new(
            cluster(),
            web(),
            "web".parse().unwrap(),
            2,
        ))
        .unwrap();
    assert_eq!(
        created.capacity_provider_strategy,
        vec![CapacityProviderStrategyItem::new(cp())]
    );
    eventually(
        Duration::from_secs(300),
        "2 tasks on the provider's instance",
        || running(&ecs) == 2,
    )
    .await;
    assert_eq!(on_plain(&ecs), 0);
    assert_eq!(provider.launched(), 2, "the minimum step");
    // A cluster without a default: a new service runs on the cluster's instances.
    ecs.create_cluster("plain".parse().unwrap()).unwrap();
    let other = ecs
        .create_service(CreateService::new(
            "plain".parse().unwrap(),
            "other".parse().unwrap(),
            "web".parse().unwrap(),
            1,
        ))
        .unwrap();
    assert!(other.capacity_provider_strategy.is_empty());
}
