//! The runtime conformance suite against a real Docker engine, which `scripts/engines`
//! provisions (the README's test command runs it first). No engine is a failure, not a
//! skip.

use std::sync::Arc;

use ecs_backend_docker::DockerRuntime;
use ecs_core::conformance::{self, Fixture};

fn fixture(name: &str) -> Fixture {
    let socket =
        std::env::var("ECS_DOCKER_HOST").unwrap_or_else(|_| "unix:///var/run/docker.sock".into());
    let image = std::env::var("ECS_TEST_IMAGE").unwrap_or_else(|_| "ecs-test/busybox:1".into());
    let runtime = DockerRuntime::connect(&socket)
        .unwrap_or_else(|e| panic!("Docker at {socket}: {e} (run scripts/engines)"))
        .publishing_on("127.0.0.1");
    Fixture {
        runtime: Arc::new(runtime),
        image,
        missing_image: "registry.invalid/ecs-missing:1".into(),
        prefix: format!("ecs-conf-docker-{name}-{}", std::process::id()),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn docker_passes_the_whole_suite() {
    conformance::run_all(&fixture("all")).await;
}

/// The host as the engine describes it is this machine: its CPUs (as `nproc` counts
/// them, the CPUs the engine may use) x 1024 units, and its memory (/proc/meminfo's
/// MemTotal) in MiB, the instance's registered resources.
#[tokio::test]
async fn the_host_is_this_machine() {
    let host = fixture("host").runtime.describe_host().await.unwrap();
    let nproc = std::process::Command::new("nproc").output().unwrap();
    let cpus: u32 = String::from_utf8_lossy(&nproc.stdout)
        .trim()
        .parse()
        .unwrap();
    let meminfo = std::fs::read_to_string("/proc/meminfo").unwrap();
    let kib: u64 = meminfo
        .lines()
        .find_map(|l| l.strip_prefix("MemTotal:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap();
    assert_eq!(host.resources.cpu, cpus * 1024, "{host:?}");
    assert_eq!(u64::from(host.resources.memory), kib >> 10, "{host:?}");
}
