//! Stopped tasks stay visible for `stopped_task_ttl`, then are forgotten from memory and
//! from the store (paused clock).

use std::sync::Arc;
use std::time::Duration;

use ecs_core::cluster::Resources;
use ecs_core::control::{EcsConfig, ListTasks, RegisterContainerInstance, RunTask, StopTask};
use ecs_core::runtime::InMemoryRuntime;
use ecs_core::store::{Kind, MemoryStore, Store};
use ecs_core::task::TaskStatus;
use ecs_core::{ClusterName, Ecs, TaskDefinition};

const WEB: &str = r#"{"family": "web", "containerDefinitions": [
    {"name": "app", "image": "busybox", "memory": 128, "cpu": 128}]}"#;

fn dev() -> ClusterName {
    "dev".parse().unwrap()
}

fn stopped() -> ListTasks {
    let mut f = ListTasks::new(dev());
    f.desired_status = Some(TaskStatus::Stopped);
    f
}

#[tokio::test(flavor = "current_thread", start_paused = true)]
async fn stopped_tasks_are_forgotten_after_their_ttl_from_memory_and_store() {
    let store = Arc::new(MemoryStore::new());
    let mut config = EcsConfig::default();
    config.stopped_task_ttl = Duration::from_secs(600);
    let ecs = Ecs::open(config.clone(), store.clone()).await.unwrap();
    ecs.create_cluster(dev()).unwrap();
    let rt = InMemoryRuntime::new(Resources::new(4096, 8192));
    ecs.register_container_instance(RegisterContainerInstance::new(
        dev(),
        "i-1".parse().unwrap(),
        Arc::new(rt),
    ))
    .await
    .unwrap();
    ecs.register_task_definition(TaskDefinition::from_json(WEB).unwrap().definition)
        .unwrap();
    let out = ecs
        .run_task(RunTask::new(dev(), "web".parse().unwrap(), 3))
        .unwrap();
    let ids: Vec<_> = out.tasks.iter().map(|t| t.task_id.clone()).collect();
    for id in &ids[..2] {
        ecs.wait_for(id, |t| t.last_status == TaskStatus::Running)
            .await
            .unwrap();
        ecs.stop_task(StopTask::new(dev(), id.clone()).with_reason("done"))
            .unwrap();
        ecs.wait_for(id, |t| t.last_status == TaskStatus::Stopped)
            .await
            .unwrap();
    }
    ecs.flush().await.unwrap();
    assert_eq!(store.load(Kind::Task).await.unwrap().len(), 3);

    // Visible for the TTL.
    tokio::time::sleep(Duration::from_secs(540)).await;
    assert_eq!(ecs.describe_tasks(&dev(), &ids).unwrap().len(), 3);
    assert_eq!(ecs.list_tasks(stopped()).unwrap().len(), 2);

    // Then gone, from memory and from the store; the running one stays.
    tokio::time::sleep(Duration::from_secs(120)).await;
    ecs.flush().await.unwrap();
    let left = ecs.describe_tasks(&dev(), &ids).unwrap();
    assert_eq!(left.len(), 1);
    assert_eq!(left[0].task_id, ids[2]);
    assert!(ecs.list_tasks(stopped()).unwrap().is_empty());
    let records = store.load(Kind::Task).await.unwrap();
    assert_eq!(records.len(), 1);
    assert_eq!(records[0].key, ids[2].to_string());

    // A restart does not bring them back.
    ecs.halt().await;
    drop(ecs);
    let ecs = Ecs::open(config, store.clone()).await.unwrap();
    assert_eq!(ecs.describe_tasks(&dev(), &ids).unwrap().len(), 1);
}
