//! The bytes a control plane holds per live task, at 100,000 RUNNING tasks on 100
//! in-memory instances: the heap counted by an instrumented allocator, before and after.
//! Side by side, in the same run: what the in-memory engines alone hold for the same
//! containers (made straight through the runtime trait), so that the control plane's own
//! share shows; and the task's record as the store keeps it (JSON), for scale.
//!
//! ```text
//! cargo bench --bench footprint           # 100,000 tasks
//! ```
//!
//! Without `--bench` (as `cargo test --benches` runs it): 2,000 tasks.
//! `ECS_FOOTPRINT_TASKS=N` for another size.

use std::alloc::System;
use std::sync::Arc;
use std::time::{Duration, Instant};

use ecs::cluster::Resources;
use ecs::control::{EcsConfig, ListTasks, RegisterContainerInstance, RunTask};
use ecs::runtime::{ContainerRuntime, InMemoryRuntime, PullPolicy, TaskContext, container_spec};
use ecs::store::{Kind, MemoryStore, Store};
use ecs::task::{MAX_TASKS_PER_CALL, TaskStatus};
use ecs::{ClusterName, Ecs, TaskDefinition};
use stats_alloc::{INSTRUMENTED_SYSTEM, StatsAlloc};

#[global_allocator]
static ALLOCATOR: &StatsAlloc<System> = &INSTRUMENTED_SYSTEM;

/// The bytes the process holds on its heap now.
fn held() -> i64 {
    let s = ALLOCATOR.stats();
    // (Reallocations are counted in both already.)
    s.bytes_allocated as i64 - s.bytes_deallocated as i64
}

const INSTANCES: usize = 100;
const APP: &str = r#"{"family": "app", "containerDefinitions": [{"name": "app",
    "image": "busybox", "memory": 8, "cpu": 1, "command": ["sleep", "1000000"],
    "environment": [{"name": "MODE", "value": "bench"}]}]}"#;

fn cluster() -> ClusterName {
    "bench".parse().unwrap()
}

fn engines() -> Vec<InMemoryRuntime> {
    (0..INSTANCES)
        .map(|_| InMemoryRuntime::new(Resources::new(1 << 24, 1 << 24)))
        .collect()
}

/// The engines alone: `n` containers of the same spec, created and started through the
/// runtime trait.
async fn engines_alone(n: usize) -> i64 {
    let td = TaskDefinition::from_json(APP).unwrap().definition;
    let before = held();
    let engines = engines();
    for rt in &engines {
        rt.ensure_image("busybox", PullPolicy::IfNotPresent)
            .await
            .unwrap();
    }
    for i in 0..n {
        let ctx = TaskContext {
            cluster: cluster().to_string(),
            task_arn: format!("arn:aws:ecs:us-east-1:000000000000:task/bench/{i:032x}"),
            task_id: format!("{i:032x}"),
            service: None,
            group: "family:app".into(),
            service_connect: None,
        };
        let spec = container_spec(&td, &td.containers()[0], &ctx);
        let rt = &engines[i % INSTANCES];
        let id = rt.create_container(&spec).await.unwrap();
        rt.start_container(&id).await.unwrap();
    }
    let bytes = held() - before;
    drop(engines);
    bytes
}

async fn running(ecs: &Ecs, n: usize) {
    let deadline = Instant::now() + Duration::from_secs(600);
    loop {
        let ids = ecs.list_tasks(ListTasks::new(cluster())).unwrap();
        let up = ecs
            .describe_tasks(&cluster(), &ids)
            .unwrap()
            .iter()
            .filter(|t| t.last_status == TaskStatus::Running)
            .count();
        if up == n {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "{up} of {n} RUNNING after 10 minutes"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// The whole control plane with `n` tasks RUNNING, with a store or without; returns the
/// bytes held, the store's task records' bytes, and the bytes the loops held (freed when
/// they end: each task's runner, its channels, each instance's agent loops).
async fn control_plane(n: usize, durable: bool) -> (i64, usize, i64) {
    let mut config = EcsConfig::default();
    config.resync_interval = Duration::from_secs(3600);
    let store = MemoryStore::new();
    let before = held();
    let ecs = if durable {
        Ecs::open(config, Arc::new(store.clone())).await.unwrap()
    } else {
        Ecs::new(config)
    };
    ecs.create_cluster(cluster()).unwrap();
    for (i, rt) in engines().into_iter().enumerate() {
        ecs.register_container_instance(RegisterContainerInstance::new(
            cluster(),
            format!("i-{i}").parse().unwrap(),
            Arc::new(rt),
        ))
        .await
        .unwrap();
    }
    ecs.register_task_definition(TaskDefinition::from_json(APP).unwrap().definition)
        .unwrap();
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
    running(&ecs, n).await;
    ecs.flush().await.unwrap();
    // Let the event bus's receivers go: only what the state holds is counted.
    let bytes = held() - before;
    let records: usize = store
        .load(Kind::Task)
        .await
        .unwrap()
        .iter()
        .map(|r| r.value.len())
        .sum();
    let before_halt = held();
    ecs.halt().await;
    let loops = before_halt - held();
    (bytes, records, loops)
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let full = std::env::args().any(|a| a == "--bench");
    let n: usize = std::env::var("ECS_FOOTPRINT_TASKS")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(if full { 100_000 } else { 2_000 });
    let per = |bytes: i64| bytes as f64 / n as f64;
    let engines = engines_alone(n).await;
    let (memory, _, loops) = control_plane(n, false).await;
    let (durable, records, _) = control_plane(n, true).await;
    println!("{n} live tasks on {INSTANCES} in-memory instances, bytes held per task:");
    println!(
        "  the in-memory engines alone (one container each):  {:>8.0}",
        per(engines)
    );
    println!(
        "  Ecs::new, engines included:                        {:>8.0}  (the control plane's own: {:.0})",
        per(memory),
        per(memory - engines)
    );
    println!(
        "    of which the loops' (runners, their channels, agents), freed when they end: {:.0}",
        per(loops)
    );
    println!(
        "  Ecs::open on a MemoryStore, engines and store incl.: {:>6.0}  (the control plane's own: {:.0}; the store's task record: {:.0})",
        per(durable),
        per(durable - engines) - records as f64 / n as f64,
        records as f64 / n as f64
    );
}
