//! Replacement: a task that crashes, dies without an event (found by the resync) or turns
//! unhealthy after its grace period is replaced; unhealthy within the grace period, it is
//! left alone.

use std::time::Duration;

use crate::support::services::{Harness, cluster, web};
use crate::{CHECKED, WEB, service};
use ecs_core::control::EcsConfig;
use ecs_core::runtime::HealthStatus;
use ecs_core::task::{StopCode, TaskStatus};
use tokio::time::Instant;

#[tokio::test(start_paused = true)]
async fn a_crashed_task_is_replaced() {
    let h = Harness::new(2).await;
    h.register(WEB);
    h.ecs.create_service(service(3)).unwrap();
    h.steady(&web()).await;
    let victim = h.live_tasks(&web()).remove(0);
    let container = victim.containers[0].runtime_id.clone().unwrap();
    h.runtime(victim.container_instance.as_ref().unwrap())
        .kill(&container, 1)
        .unwrap();
    let s = h
        .wait_service(&web(), "a replacement", |s| {
            s.deployments[0].failed_tasks == 1 && s.is_steady()
        })
        .await;
    assert_eq!(s.running_count, 3);
    let live = h.live_tasks(&web());
    assert_eq!(live.len(), 3);
    assert!(live.iter().all(|t| t.task_id != victim.task_id));
    let stopped = h.ecs.describe_tasks(&cluster(), &[victim.task_id]).unwrap();
    assert_eq!(
        stopped[0].stop_code,
        Some(StopCode::EssentialContainerExited)
    );
}

#[tokio::test(start_paused = true)]
async fn an_unhealthy_task_is_replaced_after_the_grace_period() {
    let h = Harness::new(1).await;
    h.register(CHECKED);
    h.ecs
        .create_service(service(2).with_health_check_grace_period(60))
        .unwrap();
    h.steady(&web()).await;
    let victim = h.live_tasks(&web()).remove(0);
    let container = victim.containers[0].runtime_id.clone().unwrap();
    let rt = h
        .runtime(victim.container_instance.as_ref().unwrap())
        .clone();
    let marked = Instant::now();
    rt.set_health(&container, HealthStatus::Unhealthy).unwrap();
    let stopped = tokio::time::timeout(
        Duration::from_secs(600),
        h.ecs
            .wait_for(&victim.task_id, |t| t.desired_status == TaskStatus::Stopped),
    )
    .await
    .unwrap()
    .unwrap();
    // The grace period counts from when the task was RUNNING, so at most 60 s.
    assert!(
        marked.elapsed() <= Duration::from_secs(60),
        "{:?}",
        marked.elapsed()
    );
    assert_eq!(
        stopped.stopped_reason.as_deref(),
        Some("Task failed container health checks")
    );
    let s = h
        .wait_service(&web(), "a replacement", |s| {
            s.is_steady() && s.deployments[0].failed_tasks == 1
        })
        .await;
    assert!(s.events.iter().any(|e| e.message
        == format!(
            "(service web) (task {}) failed container health checks.",
            victim.task_id
        )));
}

#[tokio::test(start_paused = true)]
async fn unhealthy_within_the_grace_period_is_left_alone() {
    let h = Harness::new(1).await;
    h.register(CHECKED);
    h.ecs
        .create_service(service(1).with_health_check_grace_period(3600))
        .unwrap();
    h.steady(&web()).await;
    let task = h.live_tasks(&web()).remove(0);
    let container = task.containers[0].runtime_id.clone().unwrap();
    h.runtime(task.container_instance.as_ref().unwrap())
        .set_health(&container, HealthStatus::Unhealthy)
        .unwrap();
    tokio::time::sleep(Duration::from_secs(1800)).await;
    let now = h
        .ecs
        .describe_tasks(&cluster(), std::slice::from_ref(&task.task_id))
        .unwrap();
    assert_eq!(now[0].desired_status, TaskStatus::Running);
    assert_eq!(now[0].health_status, HealthStatus::Unhealthy);
}

#[tokio::test(start_paused = true)]
async fn a_container_that_dies_without_an_event_is_replaced_after_a_resync() {
    let h = Harness::new(1).await;
    h.register(WEB);
    h.ecs.create_service(service(2)).unwrap();
    h.steady(&web()).await;
    let victim = h.live_tasks(&web()).remove(0);
    let container = victim.containers[0].runtime_id.clone().unwrap();
    let died = Instant::now();
    // The engine says nothing: only the periodic resync can notice.
    h.runtime(victim.container_instance.as_ref().unwrap())
        .kill_silently(&container, 1)
        .unwrap();
    let s = h
        .wait_service(&web(), "a replacement", |s| {
            s.deployments[0].failed_tasks == 1 && s.is_steady()
        })
        .await;
    let resync = EcsConfig::default().resync_interval;
    assert!(died.elapsed() >= Duration::from_secs(1));
    assert!(
        died.elapsed() <= resync + Duration::from_secs(60),
        "{:?}",
        died.elapsed()
    );
    assert_eq!(s.running_count, 2);
    // Exactly one replacement: two live tasks, one container each.
    assert_eq!(h.live_tasks(&web()).len(), 2);
    assert_eq!(h.runtimes[0].1.containers().len(), 2);
}
