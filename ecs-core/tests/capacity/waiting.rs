//! Tasks that no instance can hold yet wait in PROVISIONING for capacity, are placed as
//! instances arrive, stop when asked, and stop on their own past the timeout.

use std::time::Duration;

use ecs_core::control::{RunTask, StopTask};
use ecs_core::task::{LaunchType, StopCode, TaskStatus};

use super::*;

#[tokio::test(start_paused = true)]
async fn runtask_tasks_wait_for_capacity_then_run() {
    let (ecs, provider) = plane(0, 10, Duration::from_secs(20), scaling(100)).await;
    let out = ecs
        .run_task(RunTask::new(cluster(), "web".parse().unwrap(), 3))
        .unwrap();
    assert!(out.failures.is_empty(), "{:?}", out.failures);
    assert_eq!(out.tasks.len(), 3);
    for t in &out.tasks {
        assert_eq!(t.last_status, TaskStatus::Provisioning);
        assert_eq!(t.container_instance, None, "waits without an instance");
        assert_eq!(t.capacity_provider_name, Some(cp()));
    }
    let ids: Vec<_> = out.tasks.iter().map(|t| t.task_id.clone()).collect();
    eventually(Duration::from_secs(300), "the 3 tasks RUNNING", || {
        ecs.describe_tasks(&cluster(), &ids)
            .unwrap()
            .iter()
            .all(|t| t.last_status == TaskStatus::Running)
    })
    .await;
    // One instance holds them; the minimum step launched two.
    assert_eq!(provider.launches()[0].count, 2);
    let on: Vec<_> = ecs
        .describe_tasks(&cluster(), &ids)
        .unwrap()
        .into_iter()
        .map(|t| t.container_instance.unwrap())
        .collect();
    assert!(on.iter().all(|i| provider.live().contains(i)));
}

#[tokio::test(start_paused = true)]
async fn a_task_no_instance_can_hold_stops_after_the_timeout() {
    let mut config = config();
    config.capacity = config.capacity.with_wait_timeout(Duration::from_secs(600));
    let (ecs, provider) = plane_with(config, 0, 10, Duration::ZERO, scaling(100)).await;
    ecs.register_task_definition(
        TaskDefinition::from_json(
            r#"{"family": "huge", "containerDefinitions": [
                {"name": "app", "image": "busybox", "memory": 4096, "cpu": 128}]}"#,
        )
        .unwrap()
        .definition,
    )
    .unwrap();
    let out = ecs
        .run_task(RunTask::new(cluster(), "huge".parse().unwrap(), 1))
        .unwrap();
    let id = out.tasks[0].task_id.clone();
    tokio::time::sleep(Duration::from_secs(599)).await;
    let t = ecs
        .describe_tasks(&cluster(), std::slice::from_ref(&id))
        .unwrap()
        .remove(0);
    assert_eq!(
        t.last_status,
        TaskStatus::Provisioning,
        "still waiting before the timeout"
    );
    // Larger than any instance: no instance is launched for it.
    assert_eq!(provider.launched(), 0);
    eventually(Duration::from_secs(30), "stopped after the timeout", || {
        ecs.describe_tasks(&cluster(), std::slice::from_ref(&id))
            .unwrap()[0]
            .last_status
            == TaskStatus::Stopped
    })
    .await;
    let t = ecs.describe_tasks(&cluster(), &[id]).unwrap().remove(0);
    assert_eq!(t.stop_code, Some(StopCode::TaskFailedToStart));
    assert!(
        t.stopped_reason
            .as_deref()
            .unwrap_or("")
            .contains("Timed out waiting for capacity"),
        "{:?}",
        t.stopped_reason
    );
}

#[tokio::test(start_paused = true)]
async fn a_waiting_task_stops_at_once_when_asked() {
    // A group of at most 0 instances: nothing ever comes.
    let (ecs, _provider) = plane(0, 0, Duration::ZERO, scaling(100)).await;
    let out = ecs
        .run_task(RunTask::new(cluster(), "web".parse().unwrap(), 1))
        .unwrap();
    let id = out.tasks[0].task_id.clone();
    ecs.stop_task(StopTask::new(cluster(), id.clone())).unwrap();
    let t = ecs.describe_tasks(&cluster(), &[id]).unwrap().remove(0);
    assert_eq!(
        (t.last_status, t.desired_status),
        (TaskStatus::Stopped, TaskStatus::Stopped)
    );
    assert_eq!(t.stop_code, Some(StopCode::UserInitiated));
}

#[tokio::test(start_paused = true)]
async fn a_launch_type_bypasses_the_default_strategy() {
    let (ecs, provider) = plane(0, 10, Duration::ZERO, scaling(100)).await;
    let mut request = RunTask::new(cluster(), "web".parse().unwrap(), 1);
    request.launch_type = Some(LaunchType::Ec2);
    let out = ecs.run_task(request).unwrap();
    assert!(
        out.tasks.is_empty(),
        "no instance at all: nothing placed, nothing waits"
    );
    assert!(tasks(&ecs).is_empty());
    tokio::time::sleep(Duration::from_secs(60)).await;
    assert_eq!(
        provider.launched(),
        0,
        "nothing waits, so nothing is launched"
    );
}
