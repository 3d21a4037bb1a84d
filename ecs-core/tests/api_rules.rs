//! The API's rules (`ecs_core::control`'s documentation): requests refused where ECS
//! refuses them, with ECS's limits and nothing changed; errors naming the kind of what
//! is missing or already there, and carrying their source; placement failures naming
//! what the instances lacked; operations that start background work refusing to run
//! outside Tokio.

use std::error::Error as _;
use std::sync::Arc;

use ecs_core::cluster::{InstanceStatus, Resources};
use ecs_core::control::{
    DeregisterContainerInstance, RegisterContainerInstance, RunTask, StartTask, StopTask,
    UpdateContainerInstancesState,
};
use ecs_core::runtime::{Capabilities, InMemoryRuntime};
use ecs_core::service::{CreateService, DeleteService, UpdateService};
use ecs_core::task::MAX_TASKS_PER_CALL;
use ecs_core::{
    ClusterName, Ecs, Error, MAX_TASK_DEFINITION_BYTES, ResourceKind, TaskDefinition, TaskGroup,
};

const WEB: &str = r#"{"family": "web", "containerDefinitions": [
    {"name": "app", "image": "busybox", "memory": 32}]}"#;

fn dev() -> ClusterName {
    "dev".parse().unwrap()
}

async fn setup() -> (Ecs, InMemoryRuntime) {
    let ecs = Ecs::new(Default::default());
    ecs.create_cluster(dev()).unwrap();
    let rt = InMemoryRuntime::new(Resources::new(4096, 8192));
    ecs.register_container_instance(RegisterContainerInstance::new(
        dev(),
        "i-1".parse().unwrap(),
        Arc::new(rt.clone()),
    ))
    .await
    .unwrap();
    ecs.register_task_definition(TaskDefinition::from_json(WEB).unwrap().definition)
        .unwrap();
    (ecs, rt)
}

/// The operation and member of an `InvalidParameter`, or a panic naming what came.
fn invalid(err: Error) -> (&'static str, &'static str) {
    match err {
        Error::InvalidParameter {
            operation, member, ..
        } => (operation, member),
        other => panic!("expected InvalidParameter, got {other:?}"),
    }
}

fn no_tasks(ecs: &Ecs) -> bool {
    ecs.list_tasks(ecs_core::control::ListTasks::new(dev()))
        .unwrap()
        .is_empty()
}

#[tokio::test(start_paused = true)]
async fn run_task_takes_one_to_ten_tasks_and_refuses_the_rest_whole() {
    let (ecs, rt) = setup().await;
    for count in [0, MAX_TASKS_PER_CALL + 1, 1000] {
        let err = ecs
            .run_task(RunTask::new(dev(), "web".parse().unwrap(), count))
            .unwrap_err();
        assert!(err.to_string().contains("1 to 10"), "{err}");
        assert_eq!(invalid(err), ("RunTask", "count"));
    }
    assert!(no_tasks(&ecs));
    assert!(rt.containers().is_empty());
    let out = ecs
        .run_task(RunTask::new(dev(), "web".parse().unwrap(), 10))
        .unwrap();
    assert_eq!(out.tasks.len(), 10);
}

#[tokio::test(start_paused = true)]
async fn started_by_and_group_follow_ecs_rules() {
    let (ecs, _rt) = setup().await;
    for by in ["has space", "é", ""] {
        let mut r = RunTask::new(dev(), "web".parse().unwrap(), 1);
        r.started_by = Some(by.into());
        assert_eq!(
            invalid(ecs.run_task(r).unwrap_err()),
            ("RunTask", "startedBy")
        );
    }
    let mut r = RunTask::new(dev(), "web".parse().unwrap(), 1);
    r.started_by = Some("a".repeat(129));
    assert_eq!(
        invalid(ecs.run_task(r).unwrap_err()),
        ("RunTask", "startedBy")
    );
    // StartTask's limit is 36.
    let start = StartTask::new(dev(), "web".parse().unwrap(), vec!["i-1".parse().unwrap()])
        .with_started_by("a".repeat(37));
    assert_eq!(
        invalid(ecs.start_task(start).unwrap_err()),
        ("StartTask", "startedBy")
    );
    // A service's group is the service's.
    let mut r = RunTask::new(dev(), "web".parse().unwrap(), 1);
    r.group = Some("service:web".parse().unwrap());
    assert_eq!(invalid(ecs.run_task(r).unwrap_err()), ("RunTask", "group"));
    assert!(no_tasks(&ecs));
    // A group of one's own that spells a service's, or that is empty, is no group of
    // one's own.
    for group in ["service:web", ""] {
        let mut r = RunTask::new(dev(), "web".parse().unwrap(), 1);
        r.group = Some(TaskGroup::Custom(group.into()));
        assert_eq!(invalid(ecs.run_task(r).unwrap_err()), ("RunTask", "group"));
    }
    // The allowed ones run, and the group is typed on the task.
    let mut r = RunTask::new(dev(), "web".parse().unwrap(), 1);
    r.started_by = Some("ci/job-7_a".into());
    r.group = Some("batch".parse().unwrap());
    let task = ecs.run_task(r).unwrap().tasks.remove(0);
    assert_eq!(task.group, TaskGroup::Custom("batch".into()));
    let plain = ecs
        .run_task(RunTask::new(dev(), "web".parse().unwrap(), 1))
        .unwrap()
        .tasks
        .remove(0);
    assert_eq!(plain.group, TaskGroup::Family("web".parse().unwrap()));
    assert_eq!(plain.task_arn.name(), plain.task_id.as_str());
}

#[tokio::test(start_paused = true)]
async fn start_task_takes_one_to_ten_instances() {
    let (ecs, rt) = setup().await;
    for n in [0, 11] {
        let start = StartTask::new(
            dev(),
            "web".parse().unwrap(),
            vec!["i-1".parse().unwrap(); n],
        );
        assert_eq!(
            invalid(ecs.start_task(start).unwrap_err()),
            ("StartTask", "containerInstances")
        );
    }
    assert!(rt.containers().is_empty());
    assert!(no_tasks(&ecs));
}

#[tokio::test(start_paused = true)]
async fn a_task_definition_above_64_kib_is_refused_and_not_registered() {
    let (ecs, _rt) = setup().await;
    let big = format!(
        r#"{{"family": "big", "containerDefinitions": [{{"name": "app", "image": "busybox",
            "memory": 32, "environment": [{{"name": "BLOB", "value": "{}"}}]}}]}}"#,
        "x".repeat(MAX_TASK_DEFINITION_BYTES)
    );
    let err = ecs
        .register_task_definition(TaskDefinition::from_json(&big).unwrap().definition)
        .unwrap_err();
    assert!(err.to_string().contains("64 KiB"), "{err}");
    assert_eq!(
        invalid(err),
        ("RegisterTaskDefinition", "containerDefinitions")
    );
    let err = ecs
        .describe_task_definition(&"big".parse().unwrap())
        .unwrap_err();
    assert!(err.is_not_found(ResourceKind::TaskDefinition), "{err}");
    // Just under the limit is fine.
    let fits = big.replace(
        &"x".repeat(MAX_TASK_DEFINITION_BYTES),
        &"x".repeat(MAX_TASK_DEFINITION_BYTES - 1024),
    );
    ecs.register_task_definition(TaskDefinition::from_json(&fits).unwrap().definition)
        .unwrap();
}

#[tokio::test(start_paused = true)]
async fn stop_task_and_instance_requests_follow_ecs_limits() {
    let (ecs, _rt) = setup().await;
    let task = ecs
        .run_task(RunTask::new(dev(), "web".parse().unwrap(), 1))
        .unwrap()
        .tasks
        .remove(0);
    let long = StopTask::new(dev(), task.task_id.clone()).with_reason("r".repeat(256));
    assert_eq!(
        invalid(ecs.stop_task(long).unwrap_err()),
        ("StopTask", "reason")
    );
    let err = ecs
        .stop_task(StopTask::new(dev(), "0123".parse().unwrap()))
        .unwrap_err();
    assert!(err.is_not_found(ResourceKind::Task), "{err}");
    // Stopping without a reason is ECS's default reason.
    let stopped = ecs
        .stop_task(StopTask::new(dev(), task.task_id.clone()))
        .unwrap();
    assert_eq!(
        stopped.stopped_reason.as_deref(),
        Some("Task stopped by user")
    );

    let eleven = vec!["i-1".parse().unwrap(); 11];
    let err = ecs
        .update_container_instances_state(UpdateContainerInstancesState::new(
            dev(),
            eleven,
            InstanceStatus::Draining,
        ))
        .unwrap_err();
    assert_eq!(
        invalid(err),
        ("UpdateContainerInstancesState", "containerInstances")
    );
    let err = ecs
        .update_container_instances_state(UpdateContainerInstancesState::new(
            dev(),
            vec!["i-1".parse().unwrap()],
            InstanceStatus::Inactive,
        ))
        .unwrap_err();
    assert_eq!(invalid(err), ("UpdateContainerInstancesState", "status"));
    let instance = ecs
        .describe_cluster(&dev())
        .unwrap()
        .instance(&"i-1".parse().unwrap())
        .map(|i| i.status());
    assert_eq!(instance, Some(InstanceStatus::Active));
}

#[tokio::test(start_paused = true)]
async fn errors_name_the_kind_and_cluster_of_what_is_missing_or_there() {
    let (ecs, _rt) = setup().await;
    match ecs.create_cluster(dev()).unwrap_err() {
        Error::AlreadyExists { kind, id, cluster } => {
            assert_eq!(
                (kind, id.as_str(), cluster),
                (ResourceKind::Cluster, "dev", None)
            );
        }
        other => panic!("{other:?}"),
    }
    let err = ecs.describe_cluster(&"prod".parse().unwrap()).unwrap_err();
    assert!(err.is_not_found(ResourceKind::Cluster), "{err}");
    assert_eq!(err.to_string(), "cluster prod not found");

    let err = ecs
        .deregister_container_instance(DeregisterContainerInstance::new(
            dev(),
            "i-9".parse().unwrap(),
        ))
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "container instance i-9 not found in cluster dev"
    );

    let web = CreateService::new(dev(), "web".parse().unwrap(), "web".parse().unwrap(), 1);
    ecs.create_service(web.clone()).unwrap();
    match ecs.create_service(web).unwrap_err() {
        Error::AlreadyExists { kind, id, cluster } => {
            assert_eq!(kind, ResourceKind::Service);
            assert_eq!(id, "web");
            assert_eq!(cluster, Some(dev()));
        }
        other => panic!("{other:?}"),
    }
    let nope = "nope".parse().unwrap();
    let err = ecs
        .update_service(UpdateService::new(dev(), nope).with_desired_count(2))
        .unwrap_err();
    assert_eq!(err.to_string(), "service nope not found in cluster dev");
    let err = ecs
        .delete_service(DeleteService::new(dev(), "nope".parse().unwrap()))
        .unwrap_err();
    assert!(err.is_not_found(ResourceKind::Service), "{err}");
}

#[tokio::test(start_paused = true)]
async fn an_engine_error_is_the_source_of_the_control_planes() {
    let ecs = Ecs::new(Default::default());
    ecs.create_cluster(dev()).unwrap();
    let rt = InMemoryRuntime::new(Resources::new(4096, 8192));
    rt.set_unavailable(true);
    let err = ecs
        .register_container_instance(RegisterContainerInstance::new(
            dev(),
            "i-1".parse().unwrap(),
            Arc::new(rt),
        ))
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Runtime { .. }), "{err:?}");
    let source = err.source().expect("the runtime's error as the source");
    assert!(
        source.to_string().to_lowercase().contains("unavailable"),
        "{source}"
    );
    // Nothing was registered.
    assert!(ecs.describe_cluster(&dev()).unwrap().is_empty());
}

#[tokio::test(start_paused = true)]
async fn a_placement_failure_names_the_attribute_missing_and_on_how_many_instances() {
    let ecs = Ecs::new(Default::default());
    ecs.create_cluster(dev()).unwrap();
    let mut caps = Capabilities::ALL;
    caps.health_checks = false;
    for id in ["i-1", "i-2"] {
        let rt = InMemoryRuntime::new(Resources::new(4096, 8192));
        rt.set_capabilities(caps);
        ecs.register_container_instance(RegisterContainerInstance::new(
            dev(),
            id.parse().unwrap(),
            Arc::new(rt),
        ))
        .await
        .unwrap();
    }
    ecs.register_task_definition(
        TaskDefinition::from_json(
            r#"{"family": "checked", "containerDefinitions": [{"name": "a", "image": "busybox",
                "memory": 32, "healthCheck": {"command": ["CMD", "true"]}}]}"#,
        )
        .unwrap()
        .definition,
    )
    .unwrap();
    let out = ecs
        .run_task(RunTask::new(dev(), "checked".parse().unwrap(), 1))
        .unwrap();
    assert!(out.tasks.is_empty());
    assert_eq!(out.failures.len(), 1, "{:?}", out.failures);
    assert_eq!(out.failures[0].reason, "ATTRIBUTE");
    assert_eq!(
        out.failures[0].detail.as_deref(),
        Some("2 container instances lack the attribute ecs.capability.container-health-check")
    );
}

#[test]
fn operations_that_start_background_work_refuse_to_run_outside_tokio() {
    let ecs = Ecs::new(Default::default());
    ecs.create_cluster(dev()).unwrap();
    ecs.register_task_definition(TaskDefinition::from_json(WEB).unwrap().definition)
        .unwrap();
    let err = ecs
        .run_task(RunTask::new(dev(), "web".parse().unwrap(), 1))
        .unwrap_err();
    assert!(
        matches!(
            err,
            Error::NoRuntime {
                operation: "RunTask"
            }
        ),
        "{err:?}"
    );
    let err = ecs
        .create_service(CreateService::new(
            dev(),
            "web".parse().unwrap(),
            "web".parse().unwrap(),
            1,
        ))
        .unwrap_err();
    assert!(
        matches!(
            err,
            Error::NoRuntime {
                operation: "CreateService"
            }
        ),
        "{err:?}"
    );
    assert!(ecs.list_services(&dev()).unwrap().is_empty());
}
