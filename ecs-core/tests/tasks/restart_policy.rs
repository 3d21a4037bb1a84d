//! A container's `restartPolicy` on the in-memory runtime (tokio's paused clock): a
//! container that exits after running for its attempt period is restarted in place
//! (same container, the task stays RUNNING, its restart count shown); one that exits
//! sooner, or with an ignored exit code, is not; an essential container that is not
//! restarted stops the task as ever.

use std::sync::Arc;
use std::time::Duration;

use ecs_core::cluster::Resources;
use ecs_core::control::{EcsConfig, RegisterContainerInstance, RunTask};
use ecs_core::runtime::InMemoryRuntime;
use ecs_core::task::{ContainerStatus, StopCode, Task, TaskStatus};
use ecs_core::{ClusterName, Ecs, TaskDefinition, TaskId};

fn dev() -> ClusterName {
    "dev".parse().unwrap()
}

/// A task of one essential container running `command` with a restart policy.
async fn run(command: &str, policy: &str) -> (Ecs, InMemoryRuntime, TaskId) {
    let ecs = Ecs::new(EcsConfig::default());
    ecs.create_cluster(dev()).unwrap();
    let rt = InMemoryRuntime::new(Resources::new(4096, 8192));
    ecs.register_container_instance(RegisterContainerInstance::new(
        dev(),
        "i-1".parse().unwrap(),
        Arc::new(rt.clone()),
    ))
    .await
    .unwrap();
    let json = format!(
        r#"{{"family": "app", "containerDefinitions": [{{"name": "app", "image": "busybox",
            "memory": 64, "command": ["sh", "-c", "{command}"], "restartPolicy": {policy}}}]}}"#
    );
    ecs.register_task_definition(TaskDefinition::from_json(&json).unwrap().definition)
        .unwrap();
    let id = ecs
        .run_task(RunTask::new(dev(), "app".parse().unwrap(), 1))
        .unwrap()
        .tasks
        .remove(0)
        .task_id;
    (ecs, rt, id)
}

async fn until(ecs: &Ecs, id: &TaskId, what: &str, f: impl Fn(&Task) -> bool) -> Task {
    tokio::time::timeout(Duration::from_secs(3600), ecs.wait_for(id, f))
        .await
        .unwrap_or_else(|_| panic!("{what} not within a virtual hour"))
        .unwrap()
}

#[tokio::test(start_paused = true)]
async fn a_container_that_ran_its_period_is_restarted_in_place() {
    let (ecs, rt, id) = run(
        "sleep 70; exit 3",
        r#"{"enabled": true, "restartAttemptPeriod": 60}"#,
    )
    .await;
    let first = until(&ecs, &id, "RUNNING", |t| {
        t.last_status == TaskStatus::Running
    })
    .await;
    let container = first.containers[0].runtime_id.clone().unwrap();
    let twice = until(&ecs, &id, "two restarts", |t| {
        t.containers[0].restart_count == 2
    })
    .await;
    assert_eq!(twice.last_status, TaskStatus::Running);
    assert_eq!(twice.containers[0].last_status, ContainerStatus::Running);
    assert_eq!(twice.containers[0].exit_code, None);
    // In place: the same container, never a second one.
    assert_eq!(twice.containers[0].runtime_id.as_ref(), Some(&container));
    assert_eq!(rt.containers().len(), 1);
    assert_eq!(twice.started_at, first.started_at);
}

#[tokio::test(start_paused = true)]
async fn a_container_that_exits_before_its_period_is_not_restarted() {
    let (ecs, _rt, id) = run(
        "sleep 10; exit 3",
        r#"{"enabled": true, "restartAttemptPeriod": 60}"#,
    )
    .await;
    let stopped = until(&ecs, &id, "STOPPED", |t| {
        t.last_status == TaskStatus::Stopped
    })
    .await;
    assert_eq!(stopped.stop_code, Some(StopCode::EssentialContainerExited));
    assert_eq!(stopped.containers[0].exit_code, Some(3));
    assert_eq!(stopped.containers[0].restart_count, 0);
}

#[tokio::test(start_paused = true)]
async fn an_ignored_exit_code_is_not_restarted() {
    let (ecs, _rt, id) = run(
        "sleep 70; exit 0",
        r#"{"enabled": true, "ignoredExitCodes": [0], "restartAttemptPeriod": 60}"#,
    )
    .await;
    let stopped = until(&ecs, &id, "STOPPED", |t| {
        t.last_status == TaskStatus::Stopped
    })
    .await;
    assert_eq!(stopped.containers[0].exit_code, Some(0));
    assert_eq!(stopped.containers[0].restart_count, 0);
}

#[tokio::test(start_paused = true)]
async fn the_default_period_is_300_seconds_and_a_disabled_policy_restarts_nothing() {
    // 200 s is under the default 300: no restart.
    let (ecs, _rt, id) = run("sleep 200; exit 1", r#"{"enabled": true}"#).await;
    let stopped = until(&ecs, &id, "STOPPED", |t| {
        t.last_status == TaskStatus::Stopped
    })
    .await;
    assert_eq!(stopped.containers[0].restart_count, 0);
    // 310 s is over it: restarted.
    let (ecs, _rt, id) = run("sleep 310; exit 1", r#"{"enabled": true}"#).await;
    until(&ecs, &id, "a restart", |t| {
        t.containers[0].restart_count == 1
    })
    .await;
    // Disabled: the task stops at the first exit.
    let (ecs, _rt, id) = run(
        "sleep 70; exit 1",
        r#"{"enabled": false, "restartAttemptPeriod": 60}"#,
    )
    .await;
    let stopped = until(&ecs, &id, "STOPPED", |t| {
        t.last_status == TaskStatus::Stopped
    })
    .await;
    assert_eq!(stopped.containers[0].restart_count, 0);
}

#[tokio::test(start_paused = true)]
async fn a_non_essential_container_is_restarted_while_the_task_runs_on() {
    let ecs = Ecs::new(EcsConfig::default());
    ecs.create_cluster(dev()).unwrap();
    let rt = InMemoryRuntime::new(Resources::new(4096, 8192));
    ecs.register_container_instance(RegisterContainerInstance::new(
        dev(),
        "i-1".parse().unwrap(),
        Arc::new(rt.clone()),
    ))
    .await
    .unwrap();
    let json = r#"{"family": "pair", "containerDefinitions": [
        {"name": "main", "image": "busybox", "memory": 64, "command": ["sleep", "3600"]},
        {"name": "helper", "image": "busybox", "memory": 64, "essential": false,
         "command": ["sh", "-c", "sleep 90; exit 2"],
         "restartPolicy": {"enabled": true, "restartAttemptPeriod": 60}}]}"#;
    ecs.register_task_definition(TaskDefinition::from_json(json).unwrap().definition)
        .unwrap();
    let id = ecs
        .run_task(RunTask::new(dev(), "pair".parse().unwrap(), 1))
        .unwrap()
        .tasks
        .remove(0)
        .task_id;
    let restarted = until(&ecs, &id, "the helper restarted", |t| {
        t.container("helper").unwrap().restart_count == 1
    })
    .await;
    assert_eq!(restarted.last_status, TaskStatus::Running);
    assert_eq!(
        restarted.container("helper").unwrap().last_status,
        ContainerStatus::Running
    );
    assert_eq!(restarted.container("main").unwrap().restart_count, 0);
}
