//! A capacity provider on real engines (provisioned by `scripts/engines`): each instance
//! a Docker daemon of its own, launched on this machine ([`LocalDockerInstances`]). A
//! service that outgrows the one instance it starts on gets new engines, runs every
//! task in real containers, then shrinks back to nothing, leaving no engine, no bridge
//! and no container.

#[path = "support/engines.rs"]
mod engines;

use std::sync::Arc;
use std::time::Duration;

use ecs::capacity::{CapacityProviderStrategyItem, InstanceGroup, ManagedScaling};
use ecs::cluster::Resources;
use ecs::config::CapacityConfig;
use ecs::control::{CreateCapacityProvider, DeleteService, EcsConfig, ListTasks};
use ecs::docker::LocalDockerInstances;
use ecs::service::{CreateService, UpdateService};
use ecs::task::TaskStatus;
use ecs::{ClusterName, Ecs, TaskDefinition};

async fn eventually(limit: Duration, what: &str, mut check: impl FnMut() -> bool) {
    let deadline = tokio::time::Instant::now() + limit;
    while !check() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "not within {limit:?}: {what}"
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

fn running(ecs: &Ecs, cluster: &ClusterName) -> usize {
    let ids = ecs.list_tasks(ListTasks::new(cluster.clone())).unwrap();
    ecs.describe_tasks(cluster, &ids)
        .unwrap()
        .iter()
        .filter(|t| t.last_status == TaskStatus::Running)
        .count()
}

fn registered(ecs: &Ecs, cluster: &ClusterName) -> usize {
    ecs.describe_cluster(cluster).unwrap().instances().count()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_service_outgrows_its_instance_and_shrinks_back_on_local_docker_engines() {
    // The provider's warnings (a launch that failed, and why) in the test's output.
    let _ = tracing_subscriber::fmt()
        .with_env_filter("warn,ecs_core=info")
        .with_test_writer()
        .try_init();
    let group = format!("cap{}", std::process::id() % 10_000);
    let root = std::path::PathBuf::from(format!("/var/lib/ecs-cap/{group}"));
    // Four tasks of 256 CPU units fill an instance of 1024.
    let local = LocalDockerInstances::new(&group, &root, Resources::new(1024, 1024))
        .with_images(&engines::docker_host(), [engines::image()]);
    let mut config = EcsConfig::default();
    config.capacity = CapacityConfig::default().with_period(Duration::from_secs(1));
    let ecs = Ecs::new(config);
    let cluster: ClusterName = group.parse().unwrap();
    ecs.create_cluster(cluster.clone()).unwrap();
    let json = format!(
        r#"{{"family": "{group}", "containerDefinitions": [
            {{"name": "app", "image": "{}", "memory": 64, "cpu": 256,
              "command": ["sh", "-c", "trap 'exit 0' TERM; while true; do sleep 1; done"],
              "stopTimeout": 5}}]}}"#,
        engines::image()
    );
    ecs.register_task_definition(TaskDefinition::from_json(&json).unwrap().definition)
        .unwrap();
    ecs.register_instance_group(&group, InstanceGroup::new(Arc::new(local.clone()), 0, 3))
        .await
        .unwrap();
    let cp: ecs::CapacityProviderName = group.parse().unwrap();
    ecs.create_capacity_provider(
        CreateCapacityProvider::new(cp.clone(), &group).with_managed_scaling(ManagedScaling {
            instance_warmup_period: Duration::from_secs(2),
            ..ManagedScaling::default()
        }),
    )
    .unwrap();
    ecs.put_cluster_capacity_providers(
        &cluster,
        std::slice::from_ref(&cp),
        vec![CapacityProviderStrategyItem::new(cp.clone())],
    )
    .unwrap();

    // Two tasks: one engine.
    let service: ecs::ServiceName = "web".parse().unwrap();
    ecs.create_service(CreateService::new(
        cluster.clone(),
        service.clone(),
        group.parse().unwrap(),
        2,
    ))
    .unwrap();
    eventually(Duration::from_secs(120), "2 tasks on 1 engine", || {
        running(&ecs, &cluster) == 2 && registered(&ecs, &cluster) == 1
    })
    .await;

    // Ten: three engines, every task a real container.
    ecs.update_service(UpdateService::new(cluster.clone(), service.clone()).with_desired_count(10))
        .unwrap();
    eventually(Duration::from_secs(300), "10 tasks on 3 engines", || {
        running(&ecs, &cluster) == 10 && registered(&ecs, &cluster) == 3
    })
    .await;
    let mut containers = 0;
    for i in ecs::capacity::InstanceProvider::instances(&local)
        .await
        .unwrap()
    {
        containers += i
            .runtime
            .list_containers(&Default::default())
            .await
            .unwrap()
            .len();
    }
    assert_eq!(containers, 10, "one container per task across the engines");

    // Back to none: the service deleted, every engine terminated.
    ecs.update_service(UpdateService::new(cluster.clone(), service.clone()).with_desired_count(0))
        .unwrap();
    ecs.delete_service(DeleteService::new(cluster.clone(), service))
        .unwrap();
    eventually(Duration::from_secs(300), "every engine terminated", || {
        registered(&ecs, &cluster) == 0
    })
    .await;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(120);
    while !ecs::capacity::InstanceProvider::instances(&local)
        .await
        .unwrap()
        .is_empty()
        || root.read_dir().is_ok_and(|mut d| d.next().is_some())
    {
        assert!(
            tokio::time::Instant::now() < deadline,
            "engines left under {}",
            root.display()
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    let bridges: Vec<_> = std::fs::read_dir("/sys/class/net")
        .unwrap()
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with("ecsi"))
        .collect();
    assert!(bridges.is_empty(), "bridges left: {bridges:?}");
    let _ = std::fs::remove_dir(&root);
}
