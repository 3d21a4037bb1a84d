//! Recovery of the whole control plane from its store on disk: N tasks RUNNING on 100
//! in-memory instances, their state in a `FileStore`; the control plane is halted (as a
//! crash) and a new one opened on the file. Measured: opening (read, decode, rebuild
//! the state and every task's reservation), then registering the 100 instances again
//! (each one's containers listed and every task adopted), until every task is RUNNING
//! under the new control plane with its adoption durable.
//!
//! ```text
//! cargo bench --bench recovery            # 100,000 tasks
//! ```
//!
//! Without `--bench` (as `cargo test --benches` runs it): 500 tasks.

use std::sync::Arc;
use std::time::{Duration, Instant};

use ecs::cluster::Resources;
use ecs::control::{EcsConfig, ListTasks, RegisterContainerInstance, RunTask};
use ecs::runtime::InMemoryRuntime;
use ecs::store::FileStore;
use ecs::task::{MAX_TASKS_PER_CALL, TaskStatus};
use ecs::{ClusterName, Ecs, InstanceId, TaskDefinition};

const INSTANCES: usize = 100;

fn cluster() -> ClusterName {
    "bench".parse().unwrap()
}

fn running(ecs: &Ecs) -> usize {
    let ids = ecs.list_tasks(ListTasks::new(cluster())).unwrap();
    ecs.describe_tasks(&cluster(), &ids)
        .unwrap()
        .iter()
        .filter(|t| t.last_status == TaskStatus::Running)
        .count()
}

async fn until_running(ecs: &Ecs, n: usize) {
    let deadline = Instant::now() + Duration::from_secs(600);
    while running(ecs) < n {
        assert!(
            Instant::now() < deadline,
            "not all RUNNING within 10 minutes"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn register(ecs: &Ecs, engines: &[(InstanceId, InMemoryRuntime)]) {
    for (id, rt) in engines {
        ecs.register_container_instance(RegisterContainerInstance::new(
            cluster(),
            id.clone(),
            Arc::new(rt.clone()),
        ))
        .await
        .unwrap();
    }
}

async fn run(n: usize) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("state.ecs");
    let mut config = EcsConfig::default();
    // The runners' safety-net inspections would only add noise here.
    config.resync_interval = Duration::from_secs(3600);
    let engines: Vec<(InstanceId, InMemoryRuntime)> = (0..INSTANCES)
        .map(|i| {
            (
                format!("i-{i}").parse().unwrap(),
                InMemoryRuntime::new(Resources::new(1 << 24, 1 << 24)),
            )
        })
        .collect();

    let ecs = Ecs::open(config.clone(), Arc::new(FileStore::open(&path).unwrap()))
        .await
        .unwrap();
    ecs.create_cluster(cluster()).unwrap();
    register(&ecs, &engines).await;
    ecs.register_task_definition(
        TaskDefinition::from_json(
            r#"{"family": "app", "containerDefinitions": [{"name": "app", "image": "busybox",
                "memory": 8, "cpu": 1, "command": ["sleep", "1000000"]}]}"#,
        )
        .unwrap()
        .definition,
    )
    .unwrap();
    let start = Instant::now();
    let mut left = n;
    while left > 0 {
        let count = left.min(MAX_TASKS_PER_CALL as usize);
        let out = ecs
            .run_task(RunTask::new(
                cluster(),
                "app".parse().unwrap(),
                count as u32,
            ))
            .unwrap();
        assert_eq!(out.tasks.len(), count, "{:?}", out.failures);
        left -= count;
    }
    until_running(&ecs, n).await;
    ecs.flush().await.unwrap();
    println!(
        "{n} tasks started and durable in {:.2} s; file {:.1} MiB",
        start.elapsed().as_secs_f64(),
        std::fs::metadata(&path).unwrap().len() as f64 / f64::from(1 << 20)
    );
    ecs.halt().await;
    drop(ecs);

    let start = Instant::now();
    let store = FileStore::open(&path).unwrap();
    let ecs = Ecs::open(config, Arc::new(store)).await.unwrap();
    let opened = start.elapsed();
    register(&ecs, &engines).await;
    let attached = start.elapsed();
    until_running(&ecs, n).await;
    ecs.flush().await.unwrap();
    let total = start.elapsed();
    let adopted: usize = ecs
        .recovery_reports()
        .iter()
        .map(|r| {
            assert!(r.orphans.is_empty() && r.vanished.is_empty() && r.stopping.is_empty());
            r.adopted.len()
        })
        .sum();
    assert_eq!(adopted, n);
    println!(
        "recovery of {n} tasks: open {:.2} s (file, decode, state), instances registered again \
         and every task adopted {:.2} s, all RUNNING and durable {:.2} s",
        opened.as_secs_f64(),
        attached.as_secs_f64(),
        total.as_secs_f64()
    );
    ecs.halt().await;
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let full = std::env::args().any(|a| a == "--bench");
    let n = std::env::var("ECS_RECOVERY_TASKS")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(if full { 100_000 } else { 500 });
    run(n).await;
}
