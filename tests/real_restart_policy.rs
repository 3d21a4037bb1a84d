//! A container's `restartPolicy` on real Docker and real Podman: a container that exits
//! after its attempt period (60 s, ECS's minimum) is restarted in place by the engine
//! (the same container, started again: it says so itself in a host file), while the
//! task stays RUNNING and shows the restart count.

#[path = "support/engines.rs"]
mod engines;

use std::sync::Arc;
use std::time::Duration;

use ecs::Ecs;
use ecs::control::{EcsConfig, RunTask, StopTask};
use ecs::runtime::ContainerRuntime;
use ecs::task::{ContainerStatus, TaskStatus};
use tokio::time::timeout;

async fn restarted_on(instance: &str, runtime: Arc<dyn ContainerRuntime>) {
    let out = engines::out_dir();
    let ecs = Ecs::new(EcsConfig::default());
    let cluster = engines::cluster_of_one(&ecs, "restart", instance, runtime).await;
    let family = format!("restart-{}", std::process::id());
    let container = r#", "memory": 32,
        "command": ["sh", "-c", "echo started >> /out/starts; sleep 61; exit 1"],
        "restartPolicy": {"enabled": true, "restartAttemptPeriod": 60},
        "stopTimeout": 2"#;
    ecs.register_task_definition(engines::out_task(&family, out.path(), container))
        .unwrap();
    let task = ecs
        .run_task(RunTask::new(cluster.clone(), family.parse().unwrap(), 1))
        .unwrap()
        .tasks
        .remove(0);
    let running = timeout(
        Duration::from_secs(60),
        ecs.wait_for(&task.task_id, |t| t.last_status == TaskStatus::Running),
    )
    .await
    .expect("RUNNING within a minute")
    .unwrap();
    let restarted = timeout(
        Duration::from_secs(180),
        ecs.wait_for(&task.task_id, |t| {
            t.containers[0].restart_count == 1 || t.last_status == TaskStatus::Stopped
        }),
    )
    .await
    .expect("restarted within 3 minutes")
    .unwrap();
    assert_eq!(restarted.last_status, TaskStatus::Running, "{restarted:?}");
    assert_eq!(restarted.containers[0].restart_count, 1);
    assert_eq!(
        restarted.containers[0].runtime_id,
        running.containers[0].runtime_id
    );
    // The engine started the same container again: it ran its command twice. (Polled:
    // the restart is recorded as soon as the engine accepts it, the write follows.)
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        let starts = std::fs::read_to_string(out.path().join("starts")).unwrap_or_default();
        if starts.lines().count() == 2 {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "{instance}: the container wrote {starts:?}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let now = ecs
        .describe_tasks(&cluster, std::slice::from_ref(&task.task_id))
        .unwrap();
    assert_eq!(now[0].containers[0].last_status, ContainerStatus::Running);
    ecs.stop_task(StopTask::new(cluster, task.task_id.clone()))
        .unwrap();
    timeout(
        Duration::from_secs(60),
        ecs.wait_for(&task.task_id, |t| t.last_status == TaskStatus::Stopped),
    )
    .await
    .expect("STOPPED within a minute")
    .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn docker_restarts_a_container_in_place() {
    restarted_on("i-docker", Arc::new(engines::docker())).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn podman_restarts_a_container_in_place() {
    restarted_on("i-podman", Arc::new(engines::podman())).await;
}
