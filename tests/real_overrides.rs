//! RunTask's overrides on real Docker and real Podman, seen from inside the container:
//! the overridden command runs, the environment holds the overridden and the kept
//! variables, and the memory limit the container's cgroup enforces (v2's `memory.max`,
//! or v1's `memory.limit_in_bytes`) is the overridden one. The container writes what it
//! sees into a host directory the test reads.

#[path = "support/engines.rs"]
mod engines;

use std::sync::Arc;

use ecs::Ecs;
use ecs::control::{EcsConfig, RunTask};
use ecs::runtime::ContainerRuntime;
use ecs::task::{ContainerOverride, TaskOverride};
use ecs::task_definition::KeyValuePair;

async fn overridden_on(instance: &str, runtime: Arc<dyn ContainerRuntime>) {
    let out = engines::out_dir();
    let ecs = Ecs::new(EcsConfig::default());
    let cluster = engines::cluster_of_one(&ecs, "ovr", instance, runtime).await;
    let family = format!("ovr-{}", std::process::id());
    let container = r#", "memory": 64,
        "command": ["sh", "-c", "echo defined > /out/command"],
        "environment": [{"name": "MODE", "value": "defined"}, {"name": "KEEP", "value": "kept"}]"#;
    ecs.register_task_definition(engines::out_task(&family, out.path(), container))
        .unwrap();
    let script = "echo overridden > /out/command; \
                  echo \"$MODE $KEEP $EXTRA\" > /out/env; \
                  cat /sys/fs/cgroup/memory.max 2>/dev/null > /out/memory || \
                  cat /sys/fs/cgroup/memory/memory.limit_in_bytes > /out/memory";
    let overrides = TaskOverride::default().with_container(
        ContainerOverride::new("app")
            .with_command(["sh", "-c", script])
            .with_environment([
                KeyValuePair::new("MODE", "overridden"),
                KeyValuePair::new("EXTRA", "added"),
            ])
            .with_memory(96),
    );
    let request = RunTask::new(cluster, family.parse().unwrap(), 1).with_overrides(overrides);
    let stopped = engines::run_to_exit(&ecs, request).await;
    let read = |name: &str| {
        std::fs::read_to_string(out.path().join(name))
            .unwrap_or_else(|e| panic!("{instance}: /out/{name}: {e}"))
            .trim()
            .to_owned()
    };
    assert_eq!(read("command"), "overridden", "{instance}");
    assert_eq!(read("env"), "overridden kept added", "{instance}");
    assert_eq!(read("memory"), (96u64 << 20).to_string(), "{instance}");
    assert_eq!(stopped.containers[0].memory.as_deref(), Some("96"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn overrides_are_what_a_docker_container_sees() {
    overridden_on("i-docker", Arc::new(engines::docker())).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn overrides_are_what_a_podman_container_sees() {
    overridden_on("i-podman", Arc::new(engines::podman())).await;
}
