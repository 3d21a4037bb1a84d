//! The runtime conformance suite against a real Podman engine, which `scripts/engines`
//! provisions (the README's test command runs it first). No engine is a failure, not a
//! skip.

use std::sync::Arc;

use ecs_backend_podman::PodmanRuntime;
use ecs_core::conformance::{self, Fixture};

fn fixture(name: &str) -> Fixture {
    let socket = std::env::var("ECS_PODMAN_SOCKET")
        .unwrap_or_else(|_| "unix:///run/podman/podman.sock".into());
    let image = std::env::var("ECS_TEST_IMAGE").unwrap_or_else(|_| "ecs-test/busybox:1".into());
    let runtime = PodmanRuntime::connect(&socket)
        .unwrap_or_else(|e| panic!("Podman at {socket}: {e} (run scripts/engines)"))
        .publishing_on("127.0.0.1");
    Fixture {
        runtime: Arc::new(runtime),
        image,
        missing_image: "registry.invalid/ecs-missing:1".into(),
        prefix: format!("ecs-conf-podman-{name}-{}", std::process::id()),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn podman_passes_the_whole_suite() {
    conformance::run_all(&fixture("all")).await;
}

/// The host as the engine describes it is this machine.
#[tokio::test]
async fn the_host_is_this_machine() {
    conformance::host_is_this_machine(&fixture("host")).await;
}
