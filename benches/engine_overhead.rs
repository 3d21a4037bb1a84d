//! What the library adds to starting containers on real engines: N single-container
//! tasks through `run_task` (placement, agent, lifecycle, events), against the same
//! containers created and started with raw bollard / podman-api calls at the same
//! concurrency, in the same run.
//!
//! ```text
//! cargo bench --bench engine_overhead -- 100 500
//! cargo bench --bench engine_overhead -- 500 podman   # one engine only
//! ```
//!
//! Needs the engines `scripts/engines` provisions. Wall time until every container runs.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use ecs::control::{EcsConfig, RunTask};
use ecs::docker::DockerRuntime;
use ecs::podman::PodmanRuntime;
use ecs::runtime::{ContainerId, ContainerRuntime, ContainerSpec, PullPolicy, labels};
use ecs::task::TaskStatus;
use ecs::{Ecs, TaskDefinition};
use futures::future::join_all;

fn image() -> String {
    std::env::var("ECS_TEST_IMAGE").unwrap_or_else(|_| "ecs-test/busybox:1".into())
}

const SCRIPT: &str = "trap 'exit 0' TERM; while true; do sleep 5; done";

/// Each container's memory limit (MiB). Not the engines' 6 MiB minimum: runc's own init
/// process runs in the container's memory cgroup before the command starts and needs about
/// 6.2 MiB there (5.3 MiB of Go heap, 1 MiB of kernel memory), so at 6 MiB the kernel
/// OOM-kills some of them (`runc:[2:INIT]` in the kernel log) and libpod reports only
/// "`runc start ...` failed: exit status 1".
const MEMORY_MIB: u32 = 32;

/// The machine's idle share of CPU time over `over` (Linux: /proc/stat).
async fn idle_share(over: Duration) -> f64 {
    fn sample() -> (u64, u64) {
        let stat = std::fs::read_to_string("/proc/stat").unwrap_or_default();
        let fields: Vec<u64> = stat
            .lines()
            .next()
            .unwrap_or_default()
            .split_whitespace()
            .skip(1)
            .filter_map(|f| f.parse().ok())
            .collect();
        // user nice system idle iowait irq softirq steal ...
        let idle = fields.get(3).copied().unwrap_or(0) + fields.get(4).copied().unwrap_or(0);
        (idle, fields.iter().take(8).sum())
    }
    let (idle0, total0) = sample();
    tokio::time::sleep(over).await;
    let (idle1, total1) = sample();
    if total1 <= total0 {
        return 1.0;
    }
    (idle1 - idle0) as f64 / (total1 - total0) as f64
}

/// Waits until the engine has finished the previous phase's work (its cleanup of removed
/// containers goes on in the background): the machine 90% idle for two seconds in a row,
/// at most two minutes. Without it, what one phase leaves behind slows the next.
async fn settle() {
    let deadline = Instant::now() + Duration::from_secs(120);
    let mut quiet = 0;
    while quiet < 2 {
        if Instant::now() >= deadline {
            eprintln!("(the machine did not become idle within 2 minutes; measuring anyway)");
            return;
        }
        if idle_share(Duration::from_secs(1)).await >= 0.9 {
            quiet += 1;
        } else {
            quiet = 0;
        }
    }
}

/// Through the library: one instance, one run_task of `n`, until all RUNNING.
async fn library(rt: Arc<dyn ContainerRuntime>, n: u32, tag: &str) -> Duration {
    let ecs = Ecs::new(EcsConfig::default());
    let cluster = format!("bench-{tag}").parse().unwrap();
    ecs.create_cluster(Clone::clone(&cluster)).unwrap();
    ecs.register_instance(
        &cluster,
        "i-1".parse().unwrap(),
        rt.clone(),
        BTreeMap::new(),
    )
    .await
    .unwrap();
    let family = format!("bench-{tag}");
    let td = format!(
        r#"{{"family": "{family}", "containerDefinitions": [{{"name": "c", "image": "{}", "cpu": 0, "memory": {MEMORY_MIB},
            "command": ["sh", "-c", "{SCRIPT}"]}}]}}"#,
        image()
    );
    ecs.register_task_definition(TaskDefinition::from_json(&td).unwrap().definition)
        .unwrap();
    let start = Instant::now();
    let out = ecs
        .run_task(RunTask::new(
            Clone::clone(&cluster),
            family.parse().unwrap(),
            n,
        ))
        .await
        .unwrap();
    assert_eq!(out.tasks.len() as u32, n, "{:?}", out.failures);
    let waits = out
        .tasks
        .iter()
        .map(|t| ecs.wait_for(&t.task_id, |t| t.last_status == TaskStatus::Running));
    for t in join_all(waits).await {
        assert_eq!(t.unwrap().last_status, TaskStatus::Running);
    }
    let took = start.elapsed();
    // Clean up (not timed): stop everything and wait until removed.
    for t in &out.tasks {
        ecs.stop_task(&cluster, &t.task_id, "bench done").unwrap();
    }
    join_all(
        out.tasks
            .iter()
            .map(|t| ecs.wait_for(&t.task_id, |t| t.last_status == TaskStatus::Stopped)),
    )
    .await;
    took
}

/// The same containers, by hand: image check, create, start, inspect, all at once.
async fn raw(rt: Arc<dyn ContainerRuntime>, n: u32, tag: &str) -> Duration {
    let start = Instant::now();
    let ids = join_all((0..n).map(|i| {
        let rt = rt.clone();
        let tag = tag.to_owned();
        async move {
            rt.ensure_image(&image(), PullPolicy::IfNotPresent)
                .await
                .unwrap();
            let mut spec = ContainerSpec::new(format!("raw-{tag}-{i}"), image());
            spec.command = Some(vec!["sh".into(), "-c".into(), SCRIPT.into()]);
            spec.memory_limit_mib = Some(MEMORY_MIB);
            spec.labels
                .insert(labels::CLUSTER.into(), format!("raw-{tag}"));
            let id = rt.create_container(&spec).await.unwrap();
            rt.start_container(&id).await.unwrap();
            rt.inspect_container(&id).await.unwrap();
            id
        }
    }))
    .await;
    let took = start.elapsed();
    join_all(ids.iter().map(|id: &ContainerId| rt.remove_container(id))).await;
    took
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let mut sizes: Vec<u32> = std::env::args()
        .skip(1)
        .filter_map(|a| a.parse().ok())
        .collect();
    let smoke = !std::env::args().any(|a| a == "--bench");
    if smoke {
        // `cargo test --benches`: a smoke run (no waiting for an idle machine).
        sizes = vec![3];
    } else if sizes.is_empty() {
        sizes = vec![100, 500];
    }
    // Engines named on the command line (`docker`, `podman`), else both.
    let named: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| a == "docker" || a == "podman")
        .collect();
    let docker: Arc<dyn ContainerRuntime> = Arc::new(
        DockerRuntime::connect(
            &std::env::var("ECS_DOCKER_HOST")
                .unwrap_or_else(|_| "unix:///var/run/docker.sock".into()),
        )
        .expect("docker (run scripts/engines)"),
    );
    let podman: Arc<dyn ContainerRuntime> = Arc::new(
        PodmanRuntime::connect(
            &std::env::var("ECS_PODMAN_SOCKET")
                .unwrap_or_else(|_| "unix:///run/podman/podman.sock".into()),
        )
        .expect("podman (run scripts/engines)"),
    );
    for n in sizes {
        for (name, rt) in [("docker", &docker), ("podman", &podman)] {
            if !named.is_empty() && !named.iter().any(|n| n == name) {
                continue;
            }
            let tag = format!("{name}-{n}-{}", std::process::id());
            // Raw first, then the library, then raw again: the engine warms up the same.
            // Each starts on an idle machine.
            let settle = || async {
                if !smoke {
                    settle().await;
                }
            };
            settle().await;
            let raw1 = raw(rt.clone(), n, &format!("{tag}-a")).await;
            settle().await;
            let lib = library(rt.clone(), n, &tag).await;
            settle().await;
            let raw2 = raw(rt.clone(), n, &format!("{tag}-b")).await;
            let raw_avg = (raw1 + raw2) / 2;
            let overhead = (lib.as_secs_f64() / raw_avg.as_secs_f64() - 1.0) * 100.0;
            println!(
                "{name} {n} tasks: library {:.2} s, raw {:.2} s (runs {:.2} s / {:.2} s): {overhead:+.1}%",
                lib.as_secs_f64(),
                raw_avg.as_secs_f64(),
                raw1.as_secs_f64(),
                raw2.as_secs_f64()
            );
        }
    }
}
