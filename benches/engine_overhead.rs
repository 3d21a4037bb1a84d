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
//! Needs the engines `scripts/engines` provisions. Wall time until every container runs,
//! and the CPU time spent meanwhile by this process and by the rest of the machine (the
//! engine, runc, the shims, the containers): starting containers is bound by CPU, and
//! the library's process shares the cores with the engine.

#[path = "../tests/support/engines.rs"]
mod engines;

use std::collections::HashSet;
use std::sync::Arc;
use std::time::{Duration, Instant};

use ecs::control::{EcsConfig, RegisterContainerInstance, RunTask, StopTask};
use ecs::runtime::{ContainerRuntime, labels};
use ecs::task::{Event, MAX_TASKS_PER_CALL, TaskStatus};
use ecs::{Ecs, TaskDefinition, TaskId};
use futures::future::join_all;

const SCRIPT: &str = "trap 'exit 0' TERM; while true; do sleep 5; done";

/// Each container's memory limit (MiB). Not the engines' 6 MiB minimum: runc's own init
/// process runs in the container's memory cgroup before the command starts and needs about
/// 6.2 MiB there (5.3 MiB of Go heap, 1 MiB of kernel memory), so at 6 MiB the kernel
/// OOM-kills some of them (`runc:[2:INIT]` in the kernel log) and libpod reports only
/// "`runc start ...` failed: exit status 1".
const MEMORY_MIB: u32 = 32;

/// The machine's (idle, total) CPU time so far, in clock ticks (Linux: /proc/stat).
fn machine_ticks() -> (u64, u64) {
    let stat = std::fs::read_to_string("/proc/stat").unwrap_or_default();
    let fields: Vec<u64> = stat
        .lines()
        .next()
        .unwrap_or_default()
        .split_whitespace()
        .skip(1)
        .filter_map(|f| f.parse().ok())
        .collect();
    // user nice system idle iowait irq softirq steal ...: the first seven are this
    // machine's time; steal is the hypervisor's, nobody's here.
    let idle = fields.get(3).copied().unwrap_or(0) + fields.get(4).copied().unwrap_or(0);
    (idle, fields.iter().take(7).sum())
}

/// This process's CPU time so far (user + system), in clock ticks (/proc/self/stat).
fn own_ticks() -> u64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    // The fields after the command's closing parenthesis; utime and stime are the 12th
    // and 13th of them.
    let rest = stat.rsplit_once(')').map(|(_, r)| r).unwrap_or_default();
    let f: Vec<u64> = rest
        .split_whitespace()
        .skip(11)
        .take(2)
        .filter_map(|v| v.parse().ok())
        .collect();
    f.iter().sum()
}

/// Clock ticks per second of /proc's figures (USER_HZ: 100 on Linux).
const TICKS: f64 = 100.0;

/// One run's wall time and where its CPU time went.
#[derive(Clone, Copy)]
struct Run {
    wall: Duration,
    /// CPU seconds of this process (the library, or the raw client library).
    own_cpu: f64,
    /// CPU seconds of everything else on the machine (the engine, runc, shims).
    other_cpu: f64,
}

/// Wall and CPU time from its start.
struct Clock {
    at: Instant,
    own: u64,
    machine: (u64, u64),
}

impl Clock {
    fn start() -> Self {
        Self {
            at: Instant::now(),
            own: own_ticks(),
            machine: machine_ticks(),
        }
    }

    fn stop(&self) -> Run {
        let wall = self.at.elapsed();
        let (own, (idle, total)) = (own_ticks(), machine_ticks());
        let own = own.saturating_sub(self.own);
        let busy = total
            .saturating_sub(self.machine.1)
            .saturating_sub(idle.saturating_sub(self.machine.0));
        Run {
            wall,
            own_cpu: own as f64 / TICKS,
            other_cpu: busy.saturating_sub(own) as f64 / TICKS,
        }
    }
}

/// The machine's idle share of CPU time over `over`.
async fn idle_share(over: Duration) -> f64 {
    let (idle0, total0) = machine_ticks();
    tokio::time::sleep(over).await;
    let (idle1, total1) = machine_ticks();
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
async fn library(rt: Arc<dyn ContainerRuntime>, n: u32, tag: &str) -> Run {
    let ecs = Ecs::new(EcsConfig::default());
    let cluster = format!("bench-{tag}").parse().unwrap();
    ecs.create_cluster(Clone::clone(&cluster)).unwrap();
    ecs.register_container_instance(RegisterContainerInstance::new(
        cluster.clone(),
        "i-1".parse().unwrap(),
        rt.clone(),
    ))
    .await
    .unwrap();
    let family = format!("bench-{tag}");
    let td = format!(
        r#"{{"family": "{family}", "containerDefinitions": [{{"name": "c", "image": "{}", "cpu": 0, "memory": {MEMORY_MIB},
            "command": ["sh", "-c", "{SCRIPT}"]}}]}}"#,
        engines::image()
    );
    ecs.register_task_definition(TaskDefinition::from_json(&td).unwrap().definition)
        .unwrap();
    let mut events = ecs.subscribe();
    let clock = Clock::start();
    // RunTask starts at most 10 tasks a call: all calls at once, as the raw path
    // starts all containers at once.
    let mut tasks = Vec::new();
    let mut left = n;
    while left > 0 {
        let count = left.min(MAX_TASKS_PER_CALL);
        let out = ecs
            .run_task(RunTask::new(
                Clone::clone(&cluster),
                family.parse().unwrap(),
                count,
            ))
            .unwrap();
        assert_eq!(out.tasks.len() as u32, count, "{:?}", out.failures);
        tasks.extend(out.tasks);
        left -= count;
    }
    // One listener counts them RUNNING (n `wait_for`s would each see every event: the
    // waiting would cost n x events in this process, which the raw path does not pay).
    let ids: HashSet<TaskId> = tasks.iter().map(|t| t.task_id.clone()).collect();
    let mut running: HashSet<TaskId> = HashSet::new();
    let mut look = true;
    while running.len() < ids.len() {
        if look {
            // At first, and after missing events: the state as it is.
            let ids: Vec<TaskId> = ids.iter().cloned().collect();
            running.extend(
                ecs.describe_tasks(&cluster, &ids)
                    .unwrap()
                    .into_iter()
                    .filter(|t| t.last_status == TaskStatus::Running)
                    .map(|t| t.task_id),
            );
            look = false;
            continue;
        }
        match events.recv().await {
            Ok(Event::TaskStateChange(t))
                if t.last_status == TaskStatus::Running && ids.contains(&t.task_id) =>
            {
                running.insert(t.task_id.clone());
            }
            Ok(_) => {}
            Err(_) => look = true,
        }
    }
    let took = clock.stop();
    // Clean up (not timed): stop everything and wait until removed.
    for t in &tasks {
        ecs.stop_task(StopTask::new(cluster.clone(), t.task_id.clone()).with_reason("bench done"))
            .unwrap();
    }
    join_all(
        tasks
            .iter()
            .map(|t| ecs.wait_for(&t.task_id, |t| t.last_status == TaskStatus::Stopped)),
    )
    .await;
    took
}

/// The same containers straight through the engine's client library (bollard), with no
/// part of this project in the way: image check, create, start, inspect, all at once.
async fn raw_docker(docker: &bollard::Docker, n: u32, tag: &str) -> Run {
    use bollard::models::{ContainerCreateBody, HostConfig};
    use bollard::query_parameters::{CreateContainerOptionsBuilder, RemoveContainerOptionsBuilder};
    let clock = Clock::start();
    let ids = join_all((0..n).map(|i| async move {
        docker.inspect_image(&engines::image()).await.unwrap();
        let body = ContainerCreateBody {
            image: Some(engines::image()),
            cmd: Some(vec!["sh".into(), "-c".into(), SCRIPT.into()]),
            labels: Some([(labels::CLUSTER.to_owned(), format!("raw-{tag}"))].into()),
            host_config: Some(HostConfig {
                memory: Some(i64::from(MEMORY_MIB) << 20),
                ..Default::default()
            }),
            ..Default::default()
        };
        let options = CreateContainerOptionsBuilder::new()
            .name(&format!("raw-{tag}-{i}"))
            .build();
        let id = docker
            .create_container(Some(options), body)
            .await
            .unwrap()
            .id;
        docker.start_container(&id, None).await.unwrap();
        docker.inspect_container(&id, None).await.unwrap();
        id
    }))
    .await;
    let took = clock.stop();
    let force = RemoveContainerOptionsBuilder::new().force(true).build();
    join_all(
        ids.iter()
            .map(|id| docker.remove_container(id, Some(force.clone()))),
    )
    .await;
    took
}

/// The same through podman-api, likewise.
async fn raw_podman(podman: &podman_api::Podman, n: u32, tag: &str) -> Run {
    use podman_api::opts::{ContainerCreateOpts, ContainerDeleteOpts};
    let clock = Clock::start();
    let ids = join_all((0..n).map(|i| async move {
        assert!(
            podman
                .images()
                .get(engines::image())
                .exists()
                .await
                .unwrap()
        );
        let resources = serde_json::from_value(serde_json::json!({
            "memory": { "limit": i64::from(MEMORY_MIB) << 20 }
        }))
        .unwrap();
        let opts = ContainerCreateOpts::builder()
            .name(format!("raw-{tag}-{i}"))
            .image(engines::image())
            .command(["sh", "-c", SCRIPT])
            .labels([(labels::CLUSTER, format!("raw-{tag}"))])
            .resource_limits(resources)
            .build();
        let id = podman.containers().create(&opts).await.unwrap().id;
        let container = podman.containers().get(&id);
        container.start(None).await.unwrap();
        container.inspect().await.unwrap();
        id
    }))
    .await;
    let took = clock.stop();
    let force = ContainerDeleteOpts::builder().force(true).build();
    join_all(
        ids.iter()
            .map(|id| async { podman.containers().get(id.as_str()).delete(&force).await }),
    )
    .await;
    took
}

/// One engine: its runtime for the library, and its client library for the raw path.
enum Engine {
    Docker(bollard::Docker),
    Podman(podman_api::Podman),
}

impl Engine {
    async fn raw(&self, n: u32, tag: &str) -> Run {
        match self {
            Engine::Docker(d) => raw_docker(d, n, tag).await,
            Engine::Podman(p) => raw_podman(p, n, tag).await,
        }
    }
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_unstable_by(f64::total_cmp);
    let mid = v.len() / 2;
    if v.len().is_multiple_of(2) {
        (v[mid - 1] + v[mid]) / 2.0
    } else {
        v[mid]
    }
}

/// The medians of a path's runs: wall seconds, own CPU seconds, others' CPU seconds.
fn medians(runs: &[Run]) -> (f64, f64, f64) {
    (
        median(runs.iter().map(|r| r.wall.as_secs_f64()).collect()),
        median(runs.iter().map(|r| r.own_cpu).collect()),
        median(runs.iter().map(|r| r.other_cpu).collect()),
    )
}

fn secs(v: &[Run]) -> String {
    v.iter()
        .map(|r| format!("{:.2}", r.wall.as_secs_f64()))
        .collect::<Vec<_>>()
        .join(" / ")
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
    // Rounds of raw, library, raw, library, ..., raw: the medians of each, so that one
    // slow run (the engine's background cleanup, another process) does not decide.
    let rounds: usize = std::env::var("ECS_BENCH_ROUNDS")
        .ok()
        .and_then(|r| r.parse().ok())
        .unwrap_or(if smoke { 1 } else { 3 });
    let (docker_host, podman_socket) = (engines::docker_host(), engines::podman_socket());
    let engines: Vec<(&str, Arc<dyn ContainerRuntime>, Engine)> = vec![
        (
            "docker",
            Arc::new(engines::docker()),
            Engine::Docker(
                bollard::Docker::connect_with_unix(
                    docker_host.trim_start_matches("unix://"),
                    120,
                    bollard::API_DEFAULT_VERSION,
                )
                .expect("docker (run scripts/engines)"),
            ),
        ),
        (
            "podman",
            Arc::new(engines::podman()),
            Engine::Podman(podman_api::Podman::unix(
                podman_socket.trim_start_matches("unix://"),
            )),
        ),
    ];
    for n in sizes {
        for (name, rt, engine) in &engines {
            if !named.is_empty() && !named.iter().any(|n| n == name) {
                continue;
            }
            let tag = format!("{name}-{n}-{}", std::process::id());
            // Each run starts on an idle machine.
            let settle = || async {
                if !smoke {
                    settle().await;
                }
            };
            let (mut raws, mut libs) = (Vec::new(), Vec::new());
            for round in 0..=rounds {
                settle().await;
                raws.push(engine.raw(n, &format!("{tag}-r{round}")).await);
                if round == rounds {
                    break;
                }
                settle().await;
                libs.push(library(rt.clone(), n, &format!("{tag}-l{round}")).await);
            }
            let (lib, lib_own, lib_other) = medians(&libs);
            let (raw, raw_own, raw_other) = medians(&raws);
            let overhead = (lib / raw - 1.0) * 100.0;
            println!(
                "{name} {n} tasks: library {lib:.2} s, raw {raw:.2} s (medians): {overhead:+.1}% \
                 [library runs {}; raw runs {}]\n  \
                 CPU seconds (medians), this process / the rest of the machine: \
                 library {lib_own:.2} / {lib_other:.2}, raw {raw_own:.2} / {raw_other:.2}",
                secs(&libs),
                secs(&raws),
            );
        }
    }
}
