//! What tasks' containers write and run, on the in-memory runtime with tokio's paused
//! clock: GetContainerLogs (the streams, tail, since, until, follow, an exited container,
//! a task definition's `logConfiguration` on the engine and the `awslogs` stream's name)
//! and ExecuteCommand (output and exit code, an interactive session, ECS's refusals).
//!
//! One test binary; each theme is a module in `logs_and_exec/`.

#[path = "logs_and_exec/exec.rs"]
mod exec;
#[path = "logs_and_exec/logs.rs"]
mod logs;

use std::sync::Arc;
use std::time::Duration;

use ecs_core::cluster::Resources;
use ecs_core::control::{RegisterContainerInstance, RunTask};
use ecs_core::runtime::{Capabilities, InMemoryRuntime};
use ecs_core::task::{Task, TaskStatus};
use ecs_core::{ClusterName, Ecs, TaskDefinition, TaskId};

fn cluster() -> ClusterName {
    "dev".parse().unwrap()
}

/// A control plane with one in-memory instance (with `capabilities`).
async fn setup_with(capabilities: Capabilities) -> (Ecs, InMemoryRuntime) {
    let ecs = Ecs::new(Default::default());
    ecs.create_cluster(cluster()).unwrap();
    let rt = InMemoryRuntime::new(Resources::new(4096, 8192));
    rt.set_capabilities(capabilities);
    ecs.register_container_instance(RegisterContainerInstance::new(
        cluster(),
        "i-1".parse().unwrap(),
        Arc::new(rt.clone()),
    ))
    .await
    .unwrap();
    (ecs, rt)
}

async fn setup() -> (Ecs, InMemoryRuntime) {
    setup_with(Capabilities::ALL).await
}

fn register(ecs: &Ecs, json: &str) {
    ecs.register_task_definition(TaskDefinition::from_json(json).unwrap().definition)
        .unwrap();
}

/// Runs one task of `family` (with execute command enabled or not) and waits until it
/// is RUNNING.
async fn run(ecs: &Ecs, family: &str, exec: bool) -> Task {
    let out = ecs
        .run_task(RunTask::new(cluster(), family.parse().unwrap(), 1).with_execute_command(exec))
        .unwrap();
    assert!(out.failures.is_empty(), "{:?}", out.failures);
    wait(ecs, &out.tasks[0].task_id, "RUNNING", |t| {
        t.last_status == TaskStatus::Running
    })
    .await
}

/// Waits (on the paused clock, bounded by a virtual hour) for a task condition.
async fn wait(ecs: &Ecs, id: &TaskId, what: &str, condition: impl Fn(&Task) -> bool) -> Task {
    tokio::time::timeout(Duration::from_secs(3600), ecs.wait_for(id, condition))
        .await
        .unwrap_or_else(|_| {
            panic!(
                "{what} not within an hour: {:?}",
                ecs.describe_tasks(&cluster(), std::slice::from_ref(id))
                    .unwrap()
            )
        })
        .unwrap()
}
