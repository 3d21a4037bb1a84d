//! How the examples find a container engine: the local Docker engine if there is one
//! (`DOCKER_HOST` or `/var/run/docker.sock`), else Podman (`CONTAINER_HOST` or
//! `/run/podman/podman.sock`), else the in-memory runtime. On an engine they need the
//! test image (`ECS_TEST_IMAGE`, by default `ecs-test/busybox:1`, which
//! `scripts/engines` builds; no registry is needed).

use std::sync::Arc;

use ecs::cluster::Resources;
use ecs::runtime::{ContainerRuntime, InMemoryRuntime, PullPolicy};

/// The image the examples run.
pub fn image() -> String {
    std::env::var("ECS_TEST_IMAGE").unwrap_or_else(|_| "ecs-test/busybox:1".into())
}

/// The first engine that answers and has the image, or the in-memory runtime; and a
/// sentence saying which.
pub async fn pick_runtime(image: &str) -> (String, Arc<dyn ContainerRuntime>) {
    let mut candidates: Vec<(String, Arc<dyn ContainerRuntime>)> = Vec::new();
    if let Ok(docker) = ecs::docker::DockerRuntime::from_env() {
        candidates.push(("Docker".into(), Arc::new(docker.publishing_on("127.0.0.1"))));
    }
    if let Ok(podman) = ecs::podman::PodmanRuntime::from_env() {
        candidates.push(("Podman".into(), Arc::new(podman.publishing_on("127.0.0.1"))));
    }
    for (name, rt) in candidates {
        match rt.describe_host().await {
            Err(e) => println!("{name}: not available ({e})"),
            Ok(host) => match rt.ensure_image(image, PullPolicy::Never).await {
                Ok(()) => return (format!("{name} ({})", host.engine_version), rt),
                Err(e) => println!("{name}: found, but {e} (run scripts/engines)"),
            },
        }
    }
    (
        "the in-memory runtime (no engine with the image found)".into(),
        Arc::new(InMemoryRuntime::new(Resources::new(4096, 8192))),
    )
}
