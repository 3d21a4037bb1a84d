//! RunTask's and StartTask's overrides on the in-memory runtime: what reaches the
//! engine (command, environment, memory and CPU), what placement uses (the overridden
//! sizes), what the task shows (ECS's `overrides` with an entry per container, and the
//! sizes), ECS's refusals (unknown container, no name, over 8192 characters, a
//! definition the overrides make invalid), and that a restart keeps what a task was
//! placed by.

use std::sync::Arc;
use std::time::Duration;

use ecs_core::cluster::Resources;
use ecs_core::control::{EcsConfig, RegisterContainerInstance, RunTask, StartTask};
use ecs_core::runtime::{ContainerId, InMemoryRuntime};
use ecs_core::store::MemoryStore;
use ecs_core::task::{ContainerOverride, MAX_OVERRIDES_CHARS, Task, TaskOverride, TaskStatus};
use ecs_core::task_definition::KeyValuePair;
use ecs_core::{ClusterName, Ecs, Error, TaskDefinition, TaskId};

const APP: &str = r#"{"family": "app", "containerDefinitions": [
    {"name": "main", "image": "busybox", "memory": 128, "cpu": 128,
     "command": ["sleep", "3600"],
     "environment": [{"name": "MODE", "value": "default"}, {"name": "KEEP", "value": "me"}]},
    {"name": "sidecar", "image": "busybox", "memory": 64, "essential": false,
     "command": ["sleep", "3600"]}]}"#;

fn dev() -> ClusterName {
    "dev".parse().unwrap()
}

async fn setup(ecs: &Ecs, memory_mib: u32) -> InMemoryRuntime {
    ecs.create_cluster(dev()).unwrap();
    let rt = InMemoryRuntime::new(Resources::new(4096, memory_mib));
    ecs.register_container_instance(RegisterContainerInstance::new(
        dev(),
        "i-1".parse().unwrap(),
        Arc::new(rt.clone()),
    ))
    .await
    .unwrap();
    ecs.register_task_definition(TaskDefinition::from_json(APP).unwrap().definition)
        .unwrap();
    rt
}

async fn running(ecs: &Ecs, id: &TaskId) -> Task {
    tokio::time::timeout(
        Duration::from_secs(600),
        ecs.wait_for(id, |t| t.last_status == TaskStatus::Running),
    )
    .await
    .expect("RUNNING within 10 virtual minutes")
    .unwrap()
}

fn main_override() -> TaskOverride {
    TaskOverride::default().with_container(
        ContainerOverride::new("main")
            .with_command(["sh", "-c", "echo $MODE; sleep 3600"])
            .with_environment([
                KeyValuePair::new("MODE", "override"),
                KeyValuePair::new("EXTRA", "1"),
            ])
            .with_memory(512)
            .with_cpu(256),
    )
}

fn runtime_id(task: &Task, container: &str) -> ContainerId {
    task.container(container)
        .and_then(|c| c.runtime_id.clone())
        .expect("created")
}

#[tokio::test(start_paused = true)]
async fn overrides_reach_the_engine_and_show_on_the_task_as_ecs_shows_them() {
    let ecs = Ecs::new(EcsConfig::default());
    let rt = setup(&ecs, 8192).await;
    let out = ecs
        .run_task(RunTask::new(dev(), "app".parse().unwrap(), 1).with_overrides(main_override()))
        .unwrap();
    let task = running(&ecs, &out.tasks[0].task_id).await;

    let spec = rt.spec(&runtime_id(&task, "main")).unwrap();
    assert_eq!(
        spec.command.as_deref(),
        Some(
            &[
                "sh".to_owned(),
                "-c".into(),
                "echo $MODE; sleep 3600".into()
            ][..]
        )
    );
    let env = &spec.environment;
    assert_eq!(env["MODE"], "override");
    assert_eq!(env["EXTRA"], "1");
    assert_eq!(env["KEEP"], "me", "variables not overridden are kept");
    assert_eq!(spec.memory_limit_mib, Some(512));
    assert_eq!(spec.cpu_shares, Some(256));
    // The container not overridden is as defined.
    let sidecar = rt.spec(&runtime_id(&task, "sidecar")).unwrap();
    assert_eq!(sidecar.memory_limit_mib, Some(64));

    // ECS shows an entry per container, the overridden one with what changed.
    let names: Vec<_> = task
        .overrides
        .container_overrides
        .iter()
        .map(|o| o.name.as_deref().unwrap())
        .collect();
    assert_eq!(names, ["main", "sidecar"]);
    assert_eq!(task.overrides.container_overrides[0].memory, Some(512));
    assert_eq!(
        task.overrides.container_overrides[1],
        ContainerOverride::new("sidecar")
    );
    let main = task.container("main").unwrap();
    assert_eq!(main.memory.as_deref(), Some("512"));
    assert_eq!(main.cpu.as_deref(), Some("256"));
    // And in DescribeTasks' JSON.
    let json = serde_json::to_value(&task).unwrap();
    assert_eq!(json["overrides"]["containerOverrides"][0]["name"], "main");
    assert_eq!(json["overrides"]["containerOverrides"][0]["memory"], 512);
    assert_eq!(json["containers"][0]["memory"], "512");
}

#[tokio::test(start_paused = true)]
async fn placement_uses_the_overridden_sizes() {
    let ecs = Ecs::new(EcsConfig::default());
    // 1000 MiB: the definition's 192 MiB fits five times; with main at 512, once.
    let _rt = setup(&ecs, 1000).await;
    let out = ecs
        .run_task(RunTask::new(dev(), "app".parse().unwrap(), 3).with_overrides(main_override()))
        .unwrap();
    assert_eq!(out.tasks.len(), 1);
    assert_eq!(out.failures.len(), 1, "{:?}", out.failures);
    assert_eq!(out.failures[0].reason, "RESOURCE:MEMORY");
    let cluster = ecs.describe_cluster(&dev()).unwrap();
    let held = cluster
        .instance(&"i-1".parse().unwrap())
        .unwrap()
        .remaining_resources();
    assert_eq!(held.memory, 1000 - 512 - 64);
    assert_eq!(held.cpu, 4096 - 256);
    // Task-level sizes are overridden too, and placed by.
    let task_level = TaskOverride::default().with_memory("2 GB");
    let out = ecs
        .run_task(RunTask::new(dev(), "app".parse().unwrap(), 1).with_overrides(task_level))
        .unwrap();
    assert!(out.tasks.is_empty());
    assert_eq!(out.failures[0].reason, "RESOURCE:MEMORY");
}

#[tokio::test(start_paused = true)]
async fn overrides_ecs_refuses_are_refused_and_start_nothing() {
    let ecs = Ecs::new(EcsConfig::default());
    let rt = setup(&ecs, 8192).await;
    let refused = |overrides: TaskOverride| -> String {
        let err = ecs
            .run_task(RunTask::new(dev(), "app".parse().unwrap(), 1).with_overrides(overrides))
            .unwrap_err();
        match err {
            Error::InvalidParameter {
                operation: "RunTask",
                member: "overrides",
                reason,
            } => reason,
            other => panic!("{other:?}"),
        }
    };
    let unknown = refused(
        TaskOverride::default().with_container(ContainerOverride::new("web").with_memory(64)),
    );
    assert!(
        unknown.contains("\"web\" is not a container of task definition app"),
        "{unknown}"
    );
    let mut nameless = ContainerOverride::default().with_memory(64);
    nameless.name = None;
    let reason = refused(TaskOverride::default().with_container(nameless));
    assert!(
        reason.contains("containerOverrides[0].name: required"),
        "{reason}"
    );
    let twice = refused(
        TaskOverride::default()
            .with_container(ContainerOverride::new("main").with_cpu(1))
            .with_container(ContainerOverride::new("main").with_cpu(2)),
    );
    assert!(twice.contains("overridden twice"), "{twice}");
    let big = refused(TaskOverride::default().with_container(
        ContainerOverride::new("main").with_command(["x".repeat(MAX_OVERRIDES_CHARS)]),
    ));
    assert!(big.contains("8192"), "{big}");
    // Valid on its own, but the definition it makes breaks ECS's rules: a container
    // above the task's memory.
    let too_much = refused(
        TaskOverride::default()
            .with_memory("256")
            .with_container(ContainerOverride::new("main").with_memory(512)),
    );
    assert!(too_much.contains("breaks ECS's rules"), "{too_much}");
    // StartTask checks them the same way.
    let start = StartTask::new(dev(), "app".parse().unwrap(), vec!["i-1".parse().unwrap()])
        .with_overrides(
            TaskOverride::default().with_container(ContainerOverride::new("nope").with_cpu(1)),
        );
    assert!(matches!(
        ecs.start_task(start),
        Err(Error::InvalidParameter {
            operation: "StartTask",
            ..
        })
    ));
    assert!(rt.containers().is_empty());
    assert!(
        ecs.list_tasks(ecs_core::control::ListTasks::new(dev()))
            .unwrap()
            .is_empty()
    );
}

#[tokio::test(start_paused = true)]
async fn start_task_runs_with_overrides() {
    let ecs = Ecs::new(EcsConfig::default());
    let rt = setup(&ecs, 8192).await;
    let start = StartTask::new(dev(), "app".parse().unwrap(), vec!["i-1".parse().unwrap()])
        .with_overrides(main_override());
    let out = ecs.start_task(start).unwrap();
    let task = running(&ecs, &out.tasks[0].task_id).await;
    let spec = rt.spec(&runtime_id(&task, "main")).unwrap();
    assert_eq!(spec.memory_limit_mib, Some(512));
}

#[tokio::test(start_paused = true)]
async fn a_restart_holds_what_an_overridden_task_was_placed_by() {
    let store = Arc::new(MemoryStore::new());
    let ecs = Ecs::open(EcsConfig::default(), store.clone())
        .await
        .unwrap();
    let rt = setup(&ecs, 8192).await;
    let out = ecs
        .run_task(RunTask::new(dev(), "app".parse().unwrap(), 1).with_overrides(main_override()))
        .unwrap();
    let id = out.tasks[0].task_id.clone();
    running(&ecs, &id).await;
    let held = |ecs: &Ecs| {
        ecs.describe_cluster(&dev())
            .unwrap()
            .instance(&"i-1".parse().unwrap())
            .unwrap()
            .remaining_resources()
    };
    let before = held(&ecs);
    assert_eq!(before.memory, 8192 - 512 - 64);
    ecs.shutdown().await.unwrap();

    let ecs = Ecs::open(EcsConfig::default(), store).await.unwrap();
    ecs.register_container_instance(RegisterContainerInstance::new(
        dev(),
        "i-1".parse().unwrap(),
        Arc::new(rt.clone()),
    ))
    .await
    .unwrap();
    assert_eq!(held(&ecs), before);
    let task = running(&ecs, &id).await;
    assert_eq!(task.overrides.container_overrides[0].memory, Some(512));
}
