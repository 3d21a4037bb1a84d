//! How long a control plane's parts live: dropping the last `Ecs` ends every loop it
//! started and lets its store go, leaving the containers for a later adoption;
//! `shutdown` does the same once every change is durable.

mod support;

use std::sync::Arc;
use std::time::Duration;

use ecs_core::cluster::Resources;
use ecs_core::control::{EcsConfig, RegisterContainerInstance, RunTask};
use ecs_core::runtime::{ContainerRuntime, ContainerState, InMemoryRuntime};
use ecs_core::service::CreateService;
use ecs_core::store::FileStore;
use ecs_core::task::TaskStatus;
use ecs_core::{ClusterName, Ecs, InstanceId, TaskDefinition};
use support::counting::Counting;

const WEB: &str = r#"{"family": "web", "containerDefinitions": [
    {"name": "app", "image": "busybox", "memory": 128, "cpu": 128}]}"#;

fn dev() -> ClusterName {
    "dev".parse().unwrap()
}

fn i1() -> InstanceId {
    "i-1".parse().unwrap()
}

fn config() -> EcsConfig {
    let mut config = EcsConfig::default();
    config.resync_interval = Duration::from_secs(1);
    config
}

/// A cluster with one instance on `runtime`, the `web` definition, two standalone tasks
/// and a service of two, all RUNNING.
async fn busy(ecs: &Ecs, runtime: Arc<dyn ContainerRuntime>) {
    ecs.create_cluster(dev()).unwrap();
    ecs.register_container_instance(RegisterContainerInstance::new(dev(), i1(), runtime))
        .await
        .unwrap();
    ecs.register_task_definition(TaskDefinition::from_json(WEB).unwrap().definition)
        .unwrap();
    let out = ecs
        .run_task(RunTask::new(dev(), "web".parse().unwrap(), 2))
        .unwrap();
    for t in &out.tasks {
        ecs.wait_for(&t.task_id, |t| t.last_status == TaskStatus::Running)
            .await
            .unwrap();
    }
    ecs.create_service(CreateService::new(
        dev(),
        "svc".parse().unwrap(),
        "web".parse().unwrap(),
        2,
    ))
    .unwrap();
    ecs.wait_for_service(&dev(), &"svc".parse().unwrap(), |s| s.running_count == 2)
        .await
        .unwrap();
}

fn running(rt: &InMemoryRuntime) -> usize {
    rt.containers()
        .iter()
        .filter(|c| c.state == ContainerState::Running)
        .count()
}

/// Opens the store file off the runtime's threads, as its docs ask.
async fn open(path: std::path::PathBuf) -> Result<FileStore, ecs_core::Error> {
    tokio::task::spawn_blocking(move || FileStore::open(path))
        .await
        .unwrap()
}

#[tokio::test(flavor = "current_thread", start_paused = true)]
async fn no_loop_of_a_dropped_control_plane_touches_its_runtime() {
    let engine = InMemoryRuntime::new(Resources::new(4096, 8192));
    let counting = Arc::new(Counting::new(Arc::new(engine.clone())));
    let ecs = Ecs::new(config());
    busy(&ecs, counting.clone()).await;

    // Alive, its loops call the engine (the agent's resyncs, every second).
    let before = counting.total();
    tokio::time::sleep(Duration::from_secs(10)).await;
    let alive = counting.total();
    assert!(
        alive > before,
        "the counter sees the loops at work: {:?}",
        counting.calls()
    );

    drop(ecs);
    let at_drop = counting.total();
    // An hour of virtual time: every resync, reconnect, controller pass and persister
    // wake-up would have come due many times over.
    tokio::time::sleep(Duration::from_secs(3600)).await;
    assert_eq!(
        counting.total(),
        at_drop,
        "calls after the drop: {:?}",
        counting.calls()
    );
    // Nothing of the control plane holds the runtime any more: every loop's future was
    // dropped, the agents' too.
    assert_eq!(Arc::strong_count(&counting), 1);
    // The containers were left running, for a later adoption.
    assert_eq!(running(&engine), 4);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_control_plane_dropped_with_tasks_running_lets_its_file_store_go_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("state.redb");
    let engine = InMemoryRuntime::new(Resources::new(4096, 8192));
    let ecs = Ecs::open(config(), Arc::new(open(path.clone()).await.unwrap()))
        .await
        .unwrap();
    busy(&ecs, Arc::new(engine.clone())).await;
    ecs.flush().await.unwrap();

    drop(ecs);
    // At once: no wait, no retry.
    let store = open(path.clone()).await.expect("the store is free");
    let ecs = Ecs::open(config(), Arc::new(store)).await.unwrap();
    ecs.register_container_instance(RegisterContainerInstance::new(
        dev(),
        i1(),
        Arc::new(engine.clone()),
    ))
    .await
    .unwrap();
    let report = &ecs.recovery_reports()[0];
    assert_eq!(report.adopted.len(), 4, "{report:?}");
    assert!(report.orphans.is_empty() && report.vanished.is_empty());
    assert_eq!(running(&engine), 4);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_makes_every_change_durable_then_stops() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("state.redb");
    let engine = InMemoryRuntime::new(Resources::new(4096, 8192));
    let counting = Arc::new(Counting::new(Arc::new(engine.clone())));
    let ecs = Ecs::open(config(), Arc::new(open(path.clone()).await.unwrap()))
        .await
        .unwrap();
    busy(&ecs, counting.clone()).await;
    let other = ecs.clone();
    // A change made just before: shutdown waits until it is durable.
    ecs.create_cluster("late".parse().unwrap()).unwrap();
    ecs.shutdown().await.unwrap();

    // A clone is told the control plane stopped, rather than waiting forever.
    let err = other.flush().await.unwrap_err();
    assert!(err.to_string().contains("shut down"), "{err}");
    // Every loop had ended when `shutdown` returned: with the last handle gone, nothing
    // holds the runtime (no future of a loop is left to call it).
    drop(other);
    assert_eq!(Arc::strong_count(&counting), 1, "{:?}", counting.calls());

    let ecs = Ecs::open(config(), Arc::new(open(path).await.unwrap()))
        .await
        .unwrap();
    ecs.describe_cluster(&"late".parse().unwrap())
        .expect("the change made just before the shutdown is in the store");
    assert_eq!(running(&engine), 4);
}
