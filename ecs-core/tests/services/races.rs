//! A service controller racing requests on a multi-threaded runtime: a pass planned
//! before a scale to zero or a deletion must not launch after the request returned.

use std::time::Duration;

use crate::support::services::{Harness, cluster};
use ecs_core::control::{DeleteService, ListTasks};
use ecs_core::service::{CreateService, UpdateService};
use ecs_core::task::TaskStatus;

const WEB: &str = r#"{"family": "web", "containerDefinitions": [
    {"name": "app", "image": "busybox", "memory": 16, "cpu": 16}]}"#;

/// No task of a service is created after a concurrent UpdateService (desired 0) or
/// DeleteService has returned, even if the controller is mid-pass with a plan made on
/// an older snapshot.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_task_is_launched_after_scale_to_zero_or_delete_returns() {
    let h = Harness::new(4).await;
    h.register(WEB);
    let mut stale = 0;
    let mut after_delete = 0;
    for i in 0..300 {
        let name: ecs_core::ServiceName = format!("s{i}").parse().unwrap();
        h.ecs
            .create_service(CreateService::new(
                cluster(),
                name.clone(),
                "web".parse().unwrap(),
                0,
            ))
            .unwrap();
        tokio::time::sleep(Duration::from_millis(2)).await;
        h.ecs
            .update_service(UpdateService::new(cluster(), name.clone()).with_desired_count(20))
            .unwrap();
        // Give the controller a chance to be mid-pass.
        for _ in 0..(i % 50) {
            std::hint::spin_loop();
        }
        let del = i % 2 == 0;
        if del {
            h.ecs
                .delete_service(DeleteService::new(cluster(), name.clone()).with_force(true))
                .unwrap();
        } else {
            h.ecs
                .update_service(UpdateService::new(cluster(), name.clone()).with_desired_count(0))
                .unwrap();
        }
        let t0 = jiff::Timestamp::now();
        tokio::time::sleep(Duration::from_millis(20)).await;
        let ids = h.ecs.list_tasks(ListTasks::new(cluster())).unwrap();
        let late = h
            .ecs
            .describe_tasks(&cluster(), &ids)
            .unwrap()
            .into_iter()
            .filter(|t| t.group.to_string() == format!("service:{name}") && t.created_at > t0)
            .count();
        if late > 0 {
            if del {
                after_delete += late
            } else {
                stale += late
            }
        }
        let _ = TaskStatus::Running;
    }
    assert_eq!(
        (stale, after_delete),
        (0, 0),
        "tasks launched after desired 0 / delete had returned"
    );
}
