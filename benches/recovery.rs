//! Recovery of the whole control plane from its store: N tasks RUNNING on 100 in-memory
//! instances, their state in a `FileStore` and then, built with the `etcd` feature, in
//! an `EtcdStore` on the three-member cluster of `scripts/etcd` (`ECS_ETCD_ENDPOINTS`),
//! side by side; the control plane is halted (as a crash, or a leader's death) and a
//! new one opened on the store. Measured: opening (read, decode, rebuild the state and
//! every task's reservation), then registering the 100 instances again (each one's
//! containers listed and every task adopted), until every task is RUNNING under the new
//! control plane with its adoption durable.
//!
//! ```text
//! eval "$(scripts/etcd)"; cargo bench --bench recovery --features etcd   # 100,000 tasks
//! ```
//!
//! Without `--bench` (as `cargo test --benches` runs it): 500 tasks.

use std::sync::Arc;
use std::time::{Duration, Instant};

use ecs::cluster::Resources;
use ecs::control::{EcsConfig, ListTasks, RegisterContainerInstance, RunTask};
use ecs::runtime::InMemoryRuntime;
use ecs::store::{FileStore, Store};
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

/// Where the state is kept: a file, or a root on etcd. `open` is called once per
/// control plane.
enum Backing {
    File(std::path::PathBuf),
    #[cfg(feature = "etcd")]
    Etcd(Box<ecs::etcd::etcd_client::Client>, String),
}

impl Backing {
    async fn open(&self) -> Arc<dyn Store> {
        match self {
            Backing::File(path) => Arc::new(FileStore::open(path).unwrap()),
            #[cfg(feature = "etcd")]
            Backing::Etcd(client, root) => {
                Arc::new(ecs::etcd::EtcdStore::open(client, root).await.unwrap())
            }
        }
    }

    fn name(&self) -> &'static str {
        match self {
            Backing::File(_) => "FileStore",
            #[cfg(feature = "etcd")]
            Backing::Etcd(..) => "EtcdStore (3 members)",
        }
    }

    fn size(&self) -> String {
        match self {
            Backing::File(path) => format!(
                "file {:.1} MiB",
                std::fs::metadata(path).unwrap().len() as f64 / f64::from(1 << 20)
            ),
            #[cfg(feature = "etcd")]
            Backing::Etcd(_, root) => format!("etcd, under {root}/"),
        }
    }
}

/// The seconds to start and persist the tasks, and to recover them.
async fn run(n: usize, backing: &Backing) -> (f64, f64) {
    println!("== {}", backing.name());
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

    let ecs = Ecs::open(config.clone(), backing.open().await)
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
    let started = start.elapsed().as_secs_f64();
    println!(
        "{n} tasks started and durable in {started:.2} s; {}",
        backing.size()
    );
    ecs.halt().await;
    drop(ecs);

    let start = Instant::now();
    let ecs = Ecs::open(config, backing.open().await).await.unwrap();
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
    (started, total.as_secs_f64())
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let full = std::env::args().any(|a| a == "--bench");
    let n = std::env::var("ECS_RECOVERY_TASKS")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(if full { 100_000 } else { 500 });
    let dir = tempfile::tempdir().unwrap();
    let mut figures = vec![(
        "FileStore",
        run(n, &Backing::File(dir.path().join("state.ecs"))).await,
    )];
    #[cfg(feature = "etcd")]
    {
        let endpoints: Vec<String> = std::env::var("ECS_ETCD_ENDPOINTS")
            .expect("ECS_ETCD_ENDPOINTS: run `eval \"$(scripts/etcd)\"` first")
            .split(',')
            .map(str::to_owned)
            .collect();
        let client = ecs::etcd::etcd_client::Client::connect(&endpoints, None)
            .await
            .unwrap();
        let root = format!("ecs-bench/recovery-{}", std::process::id());
        let backing = Backing::Etcd(Box::new(client.clone()), root.clone());
        figures.push((backing.name(), run(n, &backing).await));
        client
            .kv_client()
            .delete(
                format!("{root}/"),
                Some(ecs::etcd::etcd_client::DeleteOptions::new().with_prefix()),
            )
            .await
            .unwrap();
    }
    #[cfg(not(feature = "etcd"))]
    println!("== EtcdStore: not built; run with --features etcd (and scripts/etcd)");
    println!();
    println!("| store | {n} tasks started and durable | their recovery (open, adopt, durable) |");
    for (name, (started, recovered)) in figures {
        println!("| {name} | {started:.2} s | {recovered:.2} s |");
    }
}
