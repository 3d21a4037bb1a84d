//! A control plane restarted on its store finds its capacity providers, their clusters
//! and strategies, the group's instances (registered again, their containers adopted)
//! and the tasks that were waiting for capacity.

use std::sync::Arc;
use std::time::Duration;

use ecs_core::capacity::{CapacityProviderStrategyItem, InstanceGroup};
use ecs_core::control::{CreateCapacityProvider, RunTask};
use ecs_core::service::{CreateService, UpdateService};
use ecs_core::store::MemoryStore;
use ecs_core::task::TaskStatus;

use super::*;

#[tokio::test(start_paused = true)]
async fn providers_instances_and_waiting_tasks_survive_a_restart() {
    let store = Arc::new(MemoryStore::new());
    let ecs = Ecs::open(config(), store.clone()).await.unwrap();
    ecs.create_cluster(cluster()).unwrap();
    ecs.register_task_definition(TaskDefinition::from_json(EIGHTH).unwrap().definition)
        .unwrap();
    let provider = InMemoryInstanceProvider::new("asg", SIZE);
    ecs.register_instance_group("asg", InstanceGroup::new(Arc::new(provider.clone()), 0, 3))
        .await
        .unwrap();
    ecs.create_capacity_provider(
        CreateCapacityProvider::new(cp(), "asg").with_managed_scaling(scaling(100)),
    )
    .unwrap();
    ecs.put_cluster_capacity_providers(
        &cluster(),
        &[cp()],
        vec![CapacityProviderStrategyItem::new(cp())],
    )
    .unwrap();
    ecs.create_service(CreateService::new(
        cluster(),
        web(),
        "web".parse().unwrap(),
        24,
    ))
    .unwrap();
    eventually(Duration::from_secs(900), "24 tasks on 3 instances", || {
        running(&ecs) == 24 && registered(&ecs) == 3
    })
    .await;
    // The group is full: these wait.
    let waiting = ecs
        .run_task(RunTask::new(cluster(), "web".parse().unwrap(), 5))
        .unwrap();
    let waiting_ids: Vec<_> = waiting.tasks.iter().map(|t| t.task_id.clone()).collect();
    let running_before: Vec<_> = tasks(&ecs)
        .into_iter()
        .filter(|t| t.last_status == TaskStatus::Running)
        .map(|t| (t.task_id, t.container_instance))
        .collect();
    let placed_now = running_before
        .iter()
        .filter(|(id, _)| waiting_ids.contains(id))
        .count();
    assert_eq!(placed_now, 0, "nothing was free for them yet");
    ecs.shutdown().await.unwrap();

    // Again, on the same store: the same group registered, larger.
    let launched = provider.launched();
    let ecs = Ecs::open(config(), store).await.unwrap();
    assert_eq!(ecs.describe_capacity_providers(&[]).len(), 1);
    assert_eq!(
        cluster_providers(&ecs),
        (vec![cp()], vec![CapacityProviderStrategyItem::new(cp())])
    );
    let still: Vec<_> = ecs.describe_tasks(&cluster(), &waiting_ids).unwrap();
    assert!(
        still
            .iter()
            .all(|t| t.last_status == TaskStatus::Provisioning && t.container_instance.is_none())
    );
    // Its minimum at the 3 it has: none is launched for the minimum while they are
    // registered again.
    ecs.register_instance_group("asg", InstanceGroup::new(Arc::new(provider.clone()), 3, 5))
        .await
        .unwrap();
    assert_eq!(
        registered(&ecs),
        3,
        "the group's instances are registered again"
    );
    eventually(
        Duration::from_secs(900),
        "the waiting tasks RUNNING",
        || {
            ecs.describe_tasks(&cluster(), &waiting_ids)
                .unwrap()
                .iter()
                .all(|t| t.last_status == TaskStatus::Running)
        },
    )
    .await;
    // The service's tasks were adopted where they ran, none started again.
    let after = ecs
        .describe_tasks(
            &cluster(),
            &running_before
                .iter()
                .map(|(id, _)| id.clone())
                .collect::<Vec<_>>(),
        )
        .unwrap();
    for (t, (_, on)) in after.iter().zip(&running_before) {
        assert_eq!(
            (t.last_status, &t.container_instance),
            (TaskStatus::Running, on),
            "{t:?}"
        );
    }
    assert_eq!(running(&ecs), 24);
    // 29 tasks of an eighth need 4 instances: one short, and the minimum step is 2.
    assert_eq!(
        provider.launched(),
        launched + 2,
        "{:?}",
        provider.launches()
    );
    // The group again, its minimum at 0 (registered while its instances run: replaced).
    ecs.register_instance_group("asg", InstanceGroup::new(Arc::new(provider.clone()), 0, 5))
        .await
        .unwrap();
    // Nothing left to run: every instance goes (the group's minimum is 0).
    for id in waiting_ids {
        ecs.stop_task(ecs_core::control::StopTask::new(cluster(), id))
            .unwrap();
    }
    ecs.update_service(UpdateService::new(cluster(), web()).with_desired_count(0))
        .unwrap();
    eventually(Duration::from_secs(900), "every instance let go", || {
        running(&ecs) == 0 && registered(&ecs) == 0 && provider.live().is_empty()
    })
    .await;
    assert!(provider.terminated_running().is_empty());
}
