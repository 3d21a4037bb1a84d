//! RunTask's overrides on real Docker and real Podman, seen from inside the container:
//! the overridden command runs, the environment holds the overridden and the kept
//! variables, and the memory limit the container's cgroup enforces (v2's `memory.max`,
//! or v1's `memory.limit_in_bytes`) is the overridden one. The container writes what it sees into a host directory the test reads.

#[path = "support/engines.rs"]
mod engines;

use std::sync::Arc;
use std::time::Duration;

use ecs::control::{EcsConfig, RegisterContainerInstance, RunTask};
use ecs::runtime::ContainerRuntime;
use ecs::task::{ContainerOverride, StopCode, TaskOverride, TaskStatus};
use ecs::task_definition::KeyValuePair;
use ecs::{ClusterName, Ecs, TaskDefinition};
use tokio::time::timeout;

async fn overridden_on(instance: &str, runtime: Arc<dyn ContainerRuntime>) {
    let out = tempfile::tempdir().unwrap();
    // The engines write as root into a directory the test owns.
    std::fs::set_permissions(
        out.path(),
        std::os::unix::fs::PermissionsExt::from_mode(0o777),
    )
    .unwrap();
    let ecs = Ecs::new(EcsConfig::default());
    let cluster: ClusterName = format!("ovr-{instance}-{}", std::process::id())
        .parse()
        .unwrap();
    ecs.create_cluster(cluster.clone()).unwrap();
    ecs.register_container_instance(RegisterContainerInstance::new(
        cluster.clone(),
        instance.parse().unwrap(),
        runtime,
    ))
    .await
    .unwrap();
    let family = format!("ovr-{}", std::process::id());
    let json = format!(
        r#"{{"family": "{family}", "volumes": [{{"name": "out", "host": {{"sourcePath": "{dir}"}}}}],
            "containerDefinitions": [{{"name": "app", "image": "{image}", "memory": 64,
              "command": ["sh", "-c", "echo defined > /out/command"],
              "environment": [{{"name": "MODE", "value": "defined"}}, {{"name": "KEEP", "value": "kept"}}],
              "mountPoints": [{{"sourceVolume": "out", "containerPath": "/out"}}]}}]}}"#,
        dir = out.path().display(),
        image = engines::image(),
    );
    ecs.register_task_definition(TaskDefinition::from_json(&json).unwrap().definition)
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
    let task = ecs
        .run_task(
            RunTask::new(cluster.clone(), family.parse().unwrap(), 1).with_overrides(overrides),
        )
        .unwrap()
        .tasks
        .remove(0);
    let stopped = timeout(
        Duration::from_secs(120),
        ecs.wait_for(&task.task_id, |t| t.last_status == TaskStatus::Stopped),
    )
    .await
    .expect("STOPPED within 2 minutes")
    .unwrap();
    assert_eq!(stopped.stop_code, Some(StopCode::EssentialContainerExited));
    assert_eq!(stopped.containers[0].exit_code, Some(0), "{stopped:?}");
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
