//! The task lifecycle on the in-memory runtime, with tokio's paused clock: states and
//! timestamps, dependsOn, essential containers, stop timeouts, health, failures that
//! leave nothing behind, resync after missed events, capabilities, lost instances.

use std::sync::Arc;
use std::time::Duration;

use ecs_core::cluster::Resources;
use ecs_core::control::{
    EcsConfig, ListTasks, RegisterContainerInstance, RunTask, StartTask, StopTask,
};
use ecs_core::runtime::memory::{Matcher, Operation};
use ecs_core::runtime::{
    Behavior, Capabilities, HealthStatus, InMemoryRuntime, RuntimeError, labels,
};
use ecs_core::task::{ContainerStatus, Event, StopCode, Task, TaskStatus};
use ecs_core::{ClusterName, Ecs, ResourceKind, TaskDefinition, TaskId};
use tokio::time::Instant;

fn cluster() -> ClusterName {
    "dev".parse().unwrap()
}

async fn setup() -> (Ecs, InMemoryRuntime) {
    setup_with(EcsConfig::default()).await
}

async fn setup_with(config: EcsConfig) -> (Ecs, InMemoryRuntime) {
    let ecs = Ecs::new(config);
    ecs.create_cluster(cluster()).unwrap();
    let rt = InMemoryRuntime::new(Resources::new(4096, 8192));
    ecs.register_container_instance(RegisterContainerInstance::new(
        cluster(),
        "i-1".parse().unwrap(),
        Arc::new(rt.clone()),
    ))
    .await
    .unwrap();
    (ecs, rt)
}

fn register(ecs: &Ecs, json: &str) {
    ecs.register_task_definition(TaskDefinition::from_json(json).unwrap().definition)
        .unwrap();
}

async fn run(ecs: &Ecs, family: &str) -> TaskId {
    let out = ecs
        .run_task(RunTask::new(cluster(), family.parse().unwrap(), 1))
        .unwrap();
    assert!(out.failures.is_empty(), "{:?}", out.failures);
    out.tasks[0].task_id.clone()
}

/// Waits (on the paused clock, bounded by a virtual hour) for a task condition.
async fn wait(ecs: &Ecs, id: &TaskId, what: &str, condition: impl Fn(&Task) -> bool) -> Task {
    tokio::time::timeout(Duration::from_secs(3600), ecs.wait_for(id, condition))
        .await
        .unwrap_or_else(|_| {
            panic!(
                "timed out waiting for {what}: {:?}",
                ecs.describe_tasks(&cluster(), std::slice::from_ref(id))
                    .unwrap()
            )
        })
        .unwrap()
}

async fn stopped(ecs: &Ecs, id: &TaskId) -> Task {
    wait(ecs, id, "STOPPED", |t| t.last_status == TaskStatus::Stopped).await
}

const WEB: &str = r#"{"family": "web", "containerDefinitions": [
    {"name": "app", "image": "busybox", "memory": 128, "cpu": 256,
     "portMappings": [{"containerPort": 80, "hostPort": 8080}, {"containerPort": 81}]}]}"#;

#[tokio::test(start_paused = true)]
async fn a_task_goes_through_every_state_and_frees_its_resources() {
    let (ecs, rt) = setup().await;
    register(&ecs, WEB);
    let mut events = ecs.subscribe();
    let id = run(&ecs, "web").await;
    let running = wait(&ecs, &id, "RUNNING", |t| {
        t.last_status == TaskStatus::Running
    })
    .await;
    assert_eq!(running.desired_status, TaskStatus::Running);
    assert!(running.started_at.is_some());
    let app = running.container("app").unwrap();
    assert_eq!(app.last_status, ContainerStatus::Running);
    assert_eq!(app.network_bindings.len(), 2);
    assert!(
        app.network_bindings
            .iter()
            .any(|b| b.container_port == 80 && b.host_port == 8080)
    );
    assert!(
        app.network_bindings
            .iter()
            .any(|b| b.container_port == 81 && b.host_port >= 32768)
    );
    let remaining = ecs
        .describe_cluster(&cluster())
        .unwrap()
        .instances()
        .next()
        .unwrap()
        .remaining_resources();
    assert_eq!(remaining, Resources::new(4096 - 256, 8192 - 128));

    // The labels that let the engine's state be traced back.
    let info = &rt.containers()[0];
    assert_eq!(info.labels[labels::CLUSTER], "dev");
    assert_eq!(info.labels[labels::TASK_ARN], running.task_arn.to_string());
    assert_eq!(info.labels[labels::TASK_DEFINITION_FAMILY], "web");
    assert_eq!(info.labels[labels::TASK_DEFINITION_VERSION], "1");
    assert_eq!(info.labels[labels::CONTAINER_NAME], "app");
    assert_eq!(info.labels[labels::TASK_GROUP], "family:web");
    assert!(info.name.starts_with("ecs-web-1-app-"));

    ecs.stop_task(StopTask::new(cluster(), id.clone()).with_reason("Task stopped by user"))
        .unwrap();
    let done = stopped(&ecs, &id).await;
    assert_eq!(done.stop_code, Some(StopCode::UserInitiated));
    assert_eq!(done.stopped_reason.as_deref(), Some("Task stopped by user"));
    assert_eq!(
        done.container("app").unwrap().exit_code,
        Some(143),
        "SIGTERM"
    );
    assert!(done.stopping_at.is_some() && done.stopped_at.is_some());
    assert!(rt.containers().is_empty(), "containers removed");
    let remaining = ecs
        .describe_cluster(&cluster())
        .unwrap()
        .instances()
        .next()
        .unwrap()
        .remaining_resources();
    assert_eq!(remaining, Resources::new(4096, 8192), "released at once");

    // Every state, in order, on the event stream.
    let mut seen = Vec::new();
    while let Ok(e) = events.try_recv() {
        if let Event::TaskStateChange(t) = e
            && seen.last() != Some(&t.last_status)
        {
            seen.push(t.last_status);
        }
    }
    use TaskStatus::*;
    assert_eq!(
        seen,
        [
            Provisioning,
            Pending,
            Activating,
            Running,
            Deactivating,
            Stopping,
            Deprovisioning,
            Stopped
        ]
    );
}

#[tokio::test(start_paused = true)]
async fn an_essential_container_exit_stops_the_task_a_non_essential_one_does_not() {
    let (ecs, rt) = setup().await;
    register(
        &ecs,
        r#"{"family": "pair", "containerDefinitions": [
            {"name": "main", "image": "busybox", "memory": 64},
            {"name": "helper", "image": "busybox", "memory": 64, "essential": false}]}"#,
    );
    rt.set_behavior(
        Matcher::Container("helper".into()),
        Behavior::exits(3, Duration::from_secs(10)),
    );
    rt.set_behavior(
        Matcher::Container("main".into()),
        Behavior::exits(7, Duration::from_secs(60)),
    );
    let id = run(&ecs, "pair").await;
    let start = Instant::now();
    let t = wait(&ecs, &id, "helper exit", |t| {
        t.container("helper").unwrap().exit_code.is_some()
    })
    .await;
    assert_eq!(
        t.last_status,
        TaskStatus::Running,
        "a non-essential exit does not stop the task"
    );
    assert_eq!(t.container("helper").unwrap().exit_code, Some(3));
    let t = stopped(&ecs, &id).await;
    assert_eq!(t.stop_code, Some(StopCode::EssentialContainerExited));
    assert_eq!(
        t.stopped_reason.as_deref(),
        Some("Essential container in task exited")
    );
    assert_eq!(t.container("main").unwrap().exit_code, Some(7));
    assert_eq!(start.elapsed().as_secs(), 60);
}

/// Containers start only once their dependencies reach the condition.
#[tokio::test(start_paused = true)]
async fn depends_on_orders_the_start() {
    let (ecs, rt) = setup().await;
    register(
        &ecs,
        r#"{"family": "ordered", "containerDefinitions": [
            {"name": "app", "image": "busybox", "memory": 32, "dependsOn": [
                {"containerName": "migrate", "condition": "SUCCESS"},
                {"containerName": "seed", "condition": "COMPLETE"},
                {"containerName": "db", "condition": "HEALTHY"},
                {"containerName": "sidecar", "condition": "START"}]},
            {"name": "migrate", "image": "busybox", "memory": 32, "essential": false},
            {"name": "seed", "image": "busybox", "memory": 32, "essential": false},
            {"name": "db", "image": "busybox", "memory": 32,
             "healthCheck": {"command": ["CMD-SHELL", "true"], "interval": 5}},
            {"name": "sidecar", "image": "busybox", "memory": 32}]}"#,
    );
    rt.set_behavior(
        Matcher::Container("migrate".into()),
        Behavior::exits(0, Duration::from_secs(20)),
    );
    rt.set_behavior(
        Matcher::Container("seed".into()),
        Behavior::exits(1, Duration::from_secs(30)),
    );
    rt.set_behavior(
        Matcher::Container("db".into()),
        Behavior::forever().healthy_after(Some(Duration::from_secs(40))),
    );
    let start = Instant::now();
    let id = run(&ecs, "ordered").await;
    let t = wait(&ecs, &id, "app running", |t| {
        t.container("app").unwrap().last_status == ContainerStatus::Running
    })
    .await;
    assert_eq!(
        start.elapsed().as_secs(),
        40,
        "app waits for the last condition (db HEALTHY at 40 s)"
    );
    assert_eq!(t.container("migrate").unwrap().exit_code, Some(0));
    assert_eq!(
        t.container("seed").unwrap().exit_code,
        Some(1),
        "COMPLETE accepts a failure"
    );
    assert_eq!(t.last_status, TaskStatus::Running);
    assert_eq!(
        t.health_status,
        HealthStatus::Healthy,
        "db is the only essential container with a check"
    );
}

#[tokio::test(start_paused = true)]
async fn a_dependency_past_its_start_timeout_fails_the_task() {
    let (ecs, rt) = setup().await;
    // As the ECS agent's functional test: the dependency sleeps 70 s with a 5 s
    // startTimeout and ignores SIGTERM; the dependent never starts.
    register(
        &ecs,
        r#"{"family": "timedout", "containerDefinitions": [
            {"name": "dependent", "image": "busybox", "memory": 32, "essential": true,
             "dependsOn": [{"containerName": "dependency", "condition": "SUCCESS"}]},
            {"name": "dependency", "image": "busybox", "memory": 32, "essential": false,
             "startTimeout": 5, "stopTimeout": 10}]}"#,
    );
    rt.set_behavior(
        Matcher::Container("dependency".into()),
        Behavior::exits(0, Duration::from_secs(70)).ignoring_sigterm(),
    );
    let start = Instant::now();
    let id = run(&ecs, "timedout").await;
    let t = stopped(&ecs, &id).await;
    assert_eq!(t.stop_code, Some(StopCode::TaskFailedToStart));
    assert!(
        t.stopped_reason
            .as_deref()
            .unwrap()
            .contains("did not reach SUCCESS within its startTimeout of 5s")
    );
    assert_eq!(
        t.container("dependency").unwrap().exit_code,
        Some(137),
        "killed at the stop timeout"
    );
    assert_eq!(
        t.container("dependent").unwrap().runtime_id,
        None,
        "never created"
    );
    assert_eq!(
        t.container("dependent").unwrap().last_status,
        ContainerStatus::Stopped
    );
    assert_eq!(
        start.elapsed().as_secs(),
        15,
        "5 s startTimeout + 10 s stopTimeout"
    );
}

#[tokio::test(start_paused = true)]
async fn stop_timeouts_are_honoured_per_container() {
    let (ecs, rt) = setup().await;
    register(
        &ecs,
        r#"{"family": "stops", "containerDefinitions": [
            {"name": "parent", "image": "busybox", "memory": 32,
             "dependsOn": [{"containerName": "stubborn", "condition": "START"},
                           {"containerName": "polite", "condition": "START"}]},
            {"name": "stubborn", "image": "busybox", "memory": 32, "stopTimeout": 2},
            {"name": "polite", "image": "busybox", "memory": 32, "stopTimeout": 20}]}"#,
    );
    rt.set_behavior(
        Matcher::Container("parent".into()),
        Behavior::forever().on_sigterm(0),
    );
    rt.set_behavior(
        Matcher::Container("stubborn".into()),
        Behavior::forever().ignoring_sigterm(),
    );
    rt.set_behavior(
        Matcher::Container("polite".into()),
        Behavior::forever().on_sigterm(0),
    );
    let id = run(&ecs, "stops").await;
    wait(&ecs, &id, "RUNNING", |t| {
        t.last_status == TaskStatus::Running
    })
    .await;
    let start = Instant::now();
    ecs.stop_task(StopTask::new(cluster(), id.clone()).with_reason("Task stopped by user"))
        .unwrap();
    let t = stopped(&ecs, &id).await;
    // The ECS agent's granular-stop-timeout expectations: parent 0, the one ignoring
    // SIGTERM 137 after its 2 s, the other 0.
    assert_eq!(t.container("parent").unwrap().exit_code, Some(0));
    assert_eq!(t.container("stubborn").unwrap().exit_code, Some(137));
    assert_eq!(t.container("polite").unwrap().exit_code, Some(0));
    assert_eq!(start.elapsed().as_secs(), 2);
}

#[tokio::test(start_paused = true)]
async fn task_health_follows_essential_containers() {
    let (ecs, rt) = setup().await;
    register(
        &ecs,
        r#"{"family": "hc", "containerDefinitions": [
            {"name": "web", "image": "busybox", "memory": 32,
             "healthCheck": {"command": ["CMD-SHELL", "wget -q localhost"], "interval": 5, "retries": 2}},
            {"name": "side", "image": "busybox", "memory": 32, "essential": false,
             "healthCheck": {"command": ["CMD-SHELL", "false"]}}]}"#,
    );
    rt.set_behavior(
        Matcher::Container("web".into()),
        Behavior::forever().healthy_after(Some(Duration::from_secs(10))),
    );
    rt.set_behavior(
        Matcher::Container("side".into()),
        Behavior::forever()
            .healthy_after(None)
            .unhealthy_after(Duration::from_secs(1)),
    );
    let id = run(&ecs, "hc").await;
    let t = wait(&ecs, &id, "side unhealthy", |t| {
        t.container("side").unwrap().health_status == HealthStatus::Unhealthy
    })
    .await;
    assert_eq!(
        t.health_status,
        HealthStatus::Unknown,
        "only essential containers count"
    );
    let t = wait(&ecs, &id, "healthy", |t| {
        t.health_status == HealthStatus::Healthy
    })
    .await;
    assert_eq!(
        t.container("web").unwrap().health_status,
        HealthStatus::Healthy
    );
    rt.set_health(
        &t.container("web").unwrap().runtime_id.clone().unwrap(),
        HealthStatus::Unhealthy,
    )
    .unwrap();
    let t = wait(&ecs, &id, "unhealthy", |t| {
        t.health_status == HealthStatus::Unhealthy
    })
    .await;
    assert_eq!(
        t.last_status,
        TaskStatus::Running,
        "a standalone task keeps running; services replace theirs"
    );
}

#[tokio::test(start_paused = true)]
async fn a_failing_start_leaves_nothing_behind() {
    let (ecs, rt) = setup().await;
    register(
        &ecs,
        r#"{"family": "two", "containerDefinitions": [
            {"name": "first", "image": "busybox", "memory": 32},
            {"name": "second", "image": "busybox", "memory": 32,
             "dependsOn": [{"containerName": "first", "condition": "START"}]}]}"#,
    );
    // The first container's start fails.
    rt.fail_next(Operation::Start, RuntimeError::Unavailable("later".into()));
    let id = run(&ecs, "two").await;
    let t = stopped(&ecs, &id).await;
    assert_eq!(t.stop_code, Some(StopCode::TaskFailedToStart));
    assert!(
        t.stopped_reason
            .as_deref()
            .unwrap()
            .starts_with("CannotStartContainerError"),
        "{t:?}"
    );
    assert!(rt.containers().is_empty(), "created containers removed");

    // Now the second container's start fails after the first one runs.
    rt.fail_next_for(
        "second",
        Operation::Start,
        RuntimeError::InvalidRequest("bad mount".into()),
    );
    let id = run(&ecs, "two").await;
    let t = stopped(&ecs, &id).await;
    assert_eq!(t.stop_code, Some(StopCode::TaskFailedToStart));
    assert_eq!(
        t.stopped_reason.as_deref(),
        Some("CannotStartContainerError: invalid request: bad mount")
    );
    assert_eq!(
        t.container("first").unwrap().exit_code,
        Some(143),
        "the one that ran was stopped"
    );
    assert!(
        rt.containers().is_empty(),
        "both removed, the one that ran included"
    );
    let remaining = ecs
        .describe_cluster(&cluster())
        .unwrap()
        .instances()
        .next()
        .unwrap()
        .remaining_resources();
    assert_eq!(remaining, Resources::new(4096, 8192));
}

#[tokio::test(start_paused = true)]
async fn a_missing_image_stops_the_task_with_cannot_pull() {
    let (ecs, rt) = setup().await;
    rt.restrict_images(["busybox"], []);
    register(
        &ecs,
        r#"{"family": "bad", "containerDefinitions": [{"name": "a", "image": "example.com/nonexistent", "memory": 32}]}"#,
    );
    let id = run(&ecs, "bad").await;
    let t = stopped(&ecs, &id).await;
    assert_eq!(t.stop_code, Some(StopCode::TaskFailedToStart));
    assert!(
        t.stopped_reason
            .as_deref()
            .unwrap()
            .starts_with("CannotPullContainerError: example.com/nonexistent")
    );
    assert!(rt.containers().is_empty());
}

#[tokio::test(start_paused = true)]
async fn a_missed_event_is_found_by_the_resync() {
    let (ecs, rt) = setup().await;
    register(&ecs, WEB);
    let id = run(&ecs, "web").await;
    let t = wait(&ecs, &id, "RUNNING", |t| {
        t.last_status == TaskStatus::Running
    })
    .await;
    let start = Instant::now();
    rt.kill_silently(&t.container("app").unwrap().runtime_id.clone().unwrap(), 42)
        .unwrap();
    let t = stopped(&ecs, &id).await;
    assert_eq!(t.container("app").unwrap().exit_code, Some(42));
    assert_eq!(t.stop_code, Some(StopCode::EssentialContainerExited));
    assert!(
        start.elapsed() <= Duration::from_secs(30),
        "within one resync interval"
    );
}

/// Events may be lost while the engine's event stream is down: when it reopens, every
/// runner of the instance resyncs at once, not a resync interval later.
#[tokio::test(start_paused = true)]
async fn an_exit_while_the_event_stream_was_down_is_found_when_it_reopens() {
    let mut config = EcsConfig::default();
    config.resync_interval = Duration::from_secs(600);
    config.reconnect_interval = Duration::from_secs(1);
    let (ecs, rt) = setup_with(config).await;
    register(&ecs, WEB);
    let id = run(&ecs, "web").await;
    let t = wait(&ecs, &id, "RUNNING", |t| {
        t.last_status == TaskStatus::Running
    })
    .await;
    let instance = |ecs: &Ecs| {
        ecs.describe_cluster(&cluster())
            .unwrap()
            .instances()
            .next()
            .unwrap()
            .agent_connected()
    };
    rt.set_unavailable(true);
    tokio::time::timeout(Duration::from_secs(10), async {
        while instance(&ecs) {
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    })
    .await
    .expect("the agent seen disconnected");
    // The container exits meanwhile; its event is lost with the stream.
    rt.kill(&t.container("app").unwrap().runtime_id.clone().unwrap(), 42)
        .unwrap();
    let back = Instant::now();
    rt.set_unavailable(false);
    let t = stopped(&ecs, &id).await;
    assert_eq!(t.container("app").unwrap().exit_code, Some(42));
    assert!(
        back.elapsed() <= Duration::from_secs(5),
        "found {:?} after the engine came back (the resync interval is 600 s)",
        back.elapsed()
    );
}

#[tokio::test(start_paused = true)]
async fn what_a_runtime_cannot_do_is_refused_not_half_honoured() {
    let (ecs, _full) = setup().await;
    let mut caps = Capabilities::ALL;
    caps.health_checks = false;
    let limited = InMemoryRuntime::new(Resources::new(4096, 8192));
    limited.set_capabilities(caps);
    ecs.register_container_instance(RegisterContainerInstance::new(
        cluster(),
        "i-2".parse().unwrap(),
        Arc::new(limited.clone()),
    ))
    .await
    .unwrap();
    // i-1 (registered with every capability) advertises health checks; i-2 does not.
    let state = ecs.describe_cluster(&cluster()).unwrap();
    let attr = |id: &str| {
        state
            .instance(&id.parse().unwrap())
            .unwrap()
            .attribute("ecs.capability.container-health-check")
    };
    assert!(attr("i-1").is_some());
    assert!(attr("i-2").is_none());

    register(
        &ecs,
        r#"{"family": "checked", "containerDefinitions": [{"name": "a", "image": "busybox", "memory": 32,
            "healthCheck": {"command": ["CMD", "true"]}}]}"#,
    );
    let err = ecs
        .start_task(StartTask::new(
            cluster(),
            "checked".parse().unwrap(),
            vec!["i-2".parse().unwrap()],
        ))
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "container instance i-2 (in-memory) does not support healthCheck"
    );
    // Placed by run_task: only i-1 qualifies.
    let out = ecs
        .run_task(RunTask::new(cluster(), "checked".parse().unwrap(), 2))
        .unwrap();
    assert_eq!(out.tasks.len(), 2);
    assert!(
        out.tasks
            .iter()
            .all(|t| t.container_instance.as_ref().unwrap().as_str() == "i-1")
    );
    assert!(limited.containers().is_empty());
    // With only the limited instance left, placement says why.
    let mut only_i2 = RunTask::new(cluster(), "checked".parse().unwrap(), 1);
    only_i2.placement_constraints =
        serde_json::from_str(r#"[{"type": "memberOf", "expression": "ec2InstanceId == i-2"}]"#)
            .unwrap();
    let out = ecs.run_task(only_i2).unwrap();
    assert!(out.tasks.is_empty());
    assert_eq!(
        out.failures
            .iter()
            .map(|f| f.reason.as_str())
            .collect::<Vec<_>>(),
        ["ATTRIBUTE", "MemberOf"]
    );
}

#[tokio::test(start_paused = true)]
async fn a_lost_instance_takes_no_new_tasks() {
    let (ecs, rt) = setup().await;
    register(&ecs, WEB);
    rt.lose();
    // The agent notices the event stream end.
    tokio::time::timeout(Duration::from_secs(60), async {
        while ecs
            .describe_cluster(&cluster())
            .unwrap()
            .instances()
            .next()
            .unwrap()
            .agent_connected()
        {
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    })
    .await
    .expect("agent marked disconnected");
    let out = ecs
        .run_task(RunTask::new(cluster(), "web".parse().unwrap(), 1))
        .unwrap();
    assert!(out.tasks.is_empty());
    assert_eq!(out.failures[0].reason, "AGENT");
}

#[tokio::test(start_paused = true)]
async fn list_and_describe_tasks() {
    let (ecs, _rt) = setup().await;
    register(&ecs, WEB);
    register(
        &ecs,
        r#"{"family": "other", "containerDefinitions": [{"name": "a", "image": "busybox", "memory": 32}]}"#,
    );
    let web = run(&ecs, "web").await;
    let mut req = RunTask::new(cluster(), "other".parse().unwrap(), 2);
    req.started_by = Some("me".into());
    // A service's group is the service's own: RunTask refuses it.
    req.group = Some("service:api".parse().unwrap());
    let err = ecs.run_task(req.clone()).unwrap_err();
    assert!(err.to_string().contains("group"), "{err}");
    req.group = Some("api".parse().unwrap());
    let others = ecs.run_task(req).unwrap().tasks;
    let mut f = ListTasks::new(cluster());
    f.family = Some("web".into());
    assert_eq!(ecs.list_tasks(f).unwrap(), std::slice::from_ref(&web));
    // A group of the caller's naming is no service's.
    let mut f = ListTasks::new(cluster());
    f.service_name = Some("api".into());
    assert_eq!(ecs.list_tasks(f).unwrap().len(), 0);
    let mut f = ListTasks::new(cluster());
    f.started_by = Some("me".into());
    f.container_instance = Some("i-1".parse().unwrap());
    assert_eq!(ecs.list_tasks(f).unwrap().len(), 2);
    ecs.stop_task(StopTask::new(cluster(), web.clone()).with_reason("done"))
        .unwrap();
    stopped(&ecs, &web).await;
    let mut f = ListTasks::new(cluster());
    f.desired_status = Some(TaskStatus::Running);
    assert_eq!(ecs.list_tasks(f).unwrap().len(), 2);
    let described = ecs
        .describe_tasks(
            &cluster(),
            &[
                web.clone(),
                others[0].task_id.clone(),
                "nope".parse().unwrap(),
            ],
        )
        .unwrap();
    assert_eq!(described.len(), 2);
    assert!(
        ecs.stop_task(StopTask::new("elsewhere".parse().unwrap(), web.clone()).with_reason("x"))
            .is_err()
    );
}

#[tokio::test(start_paused = true)]
async fn a_met_dependency_past_its_start_timeout_does_not_stall_the_others() {
    let (ecs, _rt) = setup().await;
    register(
        &ecs,
        r#"{"family": "deadlines", "containerDefinitions": [
            {"name": "app", "image": "busybox", "memory": 32,
             "dependsOn": [{"containerName": "db", "condition": "START"},
                           {"containerName": "init", "condition": "COMPLETE"}]},
            {"name": "db", "image": "busybox", "memory": 32, "startTimeout": 1},
            {"name": "init", "image": "busybox", "memory": 32, "essential": false,
             "command": ["sh", "-c", "sleep 4"]}]}"#,
    );
    let start = Instant::now();
    let id = run(&ecs, "deadlines").await;
    wait(&ecs, &id, "RUNNING", |t| {
        t.last_status == TaskStatus::Running
    })
    .await;
    assert_eq!(
        start.elapsed().as_secs(),
        4,
        "app starts when init completes, db's deadline long past"
    );
}

#[tokio::test(start_paused = true)]
async fn a_stop_wins_over_a_slow_pull() {
    let (ecs, rt) = setup().await;
    register(&ecs, WEB);
    rt.set_latency(Duration::from_secs(600));
    let id = run(&ecs, "web").await;
    wait(&ecs, &id, "PENDING", |t| {
        t.last_status == TaskStatus::Pending
    })
    .await;
    let start = Instant::now();
    let reply = ecs
        .stop_task(StopTask::new(cluster(), id.clone()).with_reason("changed my mind"))
        .unwrap();
    assert_eq!(
        reply.desired_status,
        TaskStatus::Stopped,
        "desiredStatus changes at once"
    );
    let t = stopped(&ecs, &id).await;
    assert_eq!(t.stop_code, Some(StopCode::UserInitiated));
    assert!(
        start.elapsed() < Duration::from_secs(600),
        "did not wait for the pull"
    );
}

#[tokio::test(start_paused = true)]
async fn containers_stop_in_reverse_dependency_order() {
    let (ecs, _rt) = setup().await;
    register(
        &ecs,
        r#"{"family": "order", "containerDefinitions": [
            {"name": "db", "image": "busybox", "memory": 32},
            {"name": "app", "image": "busybox", "memory": 32,
             "dependsOn": [{"containerName": "db", "condition": "START"}]}]}"#,
    );
    let id = run(&ecs, "order").await;
    wait(&ecs, &id, "RUNNING", |t| {
        t.last_status == TaskStatus::Running
    })
    .await;
    let mut events = ecs.subscribe();
    ecs.stop_task(StopTask::new(cluster(), id.clone()).with_reason("done"))
        .unwrap();
    stopped(&ecs, &id).await;
    let mut order = Vec::new();
    while let Ok(e) = events.try_recv() {
        if let Event::ContainerStateChange { task, container } = e
            && task.container(&container).unwrap().last_status == ContainerStatus::Stopped
            && !order.contains(&container)
        {
            order.push(container);
        }
    }
    assert_eq!(order, ["app", "db"]);
}

#[tokio::test(start_paused = true)]
async fn a_task_is_not_stopped_behind_an_unavailable_engine() {
    let (ecs, rt) = setup().await;
    register(&ecs, WEB);
    let id = run(&ecs, "web").await;
    wait(&ecs, &id, "RUNNING", |t| {
        t.last_status == TaskStatus::Running
    })
    .await;
    rt.set_unavailable(true);
    ecs.stop_task(StopTask::new(cluster(), id.clone()).with_reason("Task stopped by user"))
        .unwrap();
    // A virtual minute of failing stops: still STOPPING, still holding its resources.
    tokio::time::sleep(Duration::from_secs(60)).await;
    let t = ecs
        .describe_tasks(&cluster(), std::slice::from_ref(&id))
        .unwrap()
        .remove(0);
    assert_eq!(t.last_status, TaskStatus::Stopping);
    let held = ecs
        .describe_cluster(&cluster())
        .unwrap()
        .instances()
        .next()
        .unwrap()
        .running_tasks_count();
    assert_eq!(held, 1);
    rt.set_unavailable(false);
    let t = stopped(&ecs, &id).await;
    assert_eq!(t.container("app").unwrap().exit_code, Some(143));
    assert!(rt.containers().is_empty());
}

#[tokio::test(start_paused = true)]
async fn start_task_checks_every_instance_before_starting_any() {
    let (ecs, rt) = setup().await;
    register(&ecs, WEB);
    let err = ecs
        .start_task(StartTask::new(
            cluster(),
            "web".parse().unwrap(),
            vec!["i-1".parse().unwrap(), "i-nope".parse().unwrap()],
        ))
        .unwrap_err();
    assert!(
        matches!(err, ecs_core::Error::NotFound { kind: ResourceKind::ContainerInstance, ref id, .. } if id == "i-nope"),
        "{err}"
    );
    assert!(
        ecs.list_tasks(ListTasks::new(cluster()))
            .unwrap()
            .is_empty()
    );
    assert!(rt.containers().is_empty());
    let out = ecs
        .start_task(
            StartTask::new(
                cluster(),
                "web".parse().unwrap(),
                vec!["i-1".parse().unwrap()],
            )
            .with_started_by("me"),
        )
        .unwrap();
    assert_eq!(
        out.tasks[0].container_instance.as_ref().unwrap().as_str(),
        "i-1"
    );
    assert_eq!(out.tasks[0].started_by.as_deref(), Some("me"));
}

#[tokio::test(start_paused = true)]
async fn task_scoped_volumes_go_with_the_task_shared_ones_stay() {
    let (ecs, rt) = setup().await;
    register(
        &ecs,
        r#"{"family": "vols", "volumes": [
              {"name": "scratch"},
              {"name": "cache", "dockerVolumeConfiguration": {"scope": "shared", "autoprovision": true}}],
            "containerDefinitions": [{"name": "app", "image": "busybox", "memory": 32,
              "mountPoints": [{"sourceVolume": "scratch", "containerPath": "/s"},
                              {"sourceVolume": "cache", "containerPath": "/c"}]}]}"#,
    );
    let id = run(&ecs, "vols").await;
    wait(&ecs, &id, "RUNNING", |t| {
        t.last_status == TaskStatus::Running
    })
    .await;
    let mut volumes = rt.volumes();
    volumes.sort();
    assert_eq!(volumes, ["cache".to_owned(), format!("ecs-{id}-scratch")]);
    ecs.stop_task(StopTask::new(cluster(), id.clone()).with_reason("done"))
        .unwrap();
    stopped(&ecs, &id).await;
    assert_eq!(rt.volumes(), ["cache"]);
}

#[tokio::test(start_paused = true)]
async fn clusters_are_listed_and_described_with_their_counts() {
    let (ecs, _rt) = setup().await;
    // Created after "dev", named before it: listed by name.
    ecs.create_cluster("cache".parse().unwrap()).unwrap();
    register(
        &ecs,
        r#"{"family": "web", "containerDefinitions": [{"name": "app", "image": "busybox", "memory": 64}]}"#,
    );
    let stopped = run(&ecs, "web").await;
    wait(&ecs, &stopped, "RUNNING", |t| {
        t.last_status == TaskStatus::Running
    })
    .await;
    ecs.stop_task(StopTask::new(cluster(), stopped.clone()))
        .unwrap();
    wait(&ecs, &stopped, "STOPPED", |t| {
        t.last_status == TaskStatus::Stopped
    })
    .await;
    let running = run(&ecs, "web").await;
    wait(&ecs, &running, "RUNNING", |t| {
        t.last_status == TaskStatus::Running
    })
    .await;
    let pending = run(&ecs, "web").await;
    // On its way too, but asked to stop: not pending any more.
    let given_up = run(&ecs, "web").await;
    ecs.stop_task(StopTask::new(cluster(), given_up)).unwrap();
    for name in ["api", "old"] {
        ecs.create_service(ecs_core::service::CreateService::new(
            cluster(),
            name.parse().unwrap(),
            "web".parse().unwrap(),
            0,
        ))
        .unwrap();
    }
    // Deleted: no longer ACTIVE, not counted.
    ecs.delete_service(ecs_core::service::DeleteService::new(
        cluster(),
        "old".parse().unwrap(),
    ))
    .unwrap();

    let arns: Vec<String> = ecs.list_clusters().iter().map(|a| a.to_string()).collect();
    assert_eq!(
        arns,
        [
            "arn:aws:ecs:local:000000000000:cluster/cache",
            "arn:aws:ecs:local:000000000000:cluster/dev"
        ]
    );

    // In the order asked; a name of no cluster is left out.
    let described =
        ecs.describe_clusters(&["cache".parse().unwrap(), "nope".parse().unwrap(), cluster()]);
    assert_eq!(described.len(), 2);
    let (cache, dev) = (&described[0], &described[1]);
    assert_eq!(cache.cluster_name.as_str(), "cache");
    assert_eq!(
        (
            cache.registered_container_instances_count,
            cache.running_tasks_count,
            cache.pending_tasks_count,
            cache.active_services_count
        ),
        (0, 0, 0, 0)
    );
    // The second task has not been looked at by its runner yet (the clock is paused
    // and nothing has yielded): it is on its way, not running.
    let pending_now = ecs.describe_tasks(&cluster(), &[pending]).unwrap()[0].last_status;
    assert_ne!(pending_now, TaskStatus::Running);
    // The STOPPED one is still held (and described): it is left out of the counts.
    let held = ecs.describe_tasks(&cluster(), &[stopped]).unwrap();
    assert_eq!(held[0].last_status, TaskStatus::Stopped);
    assert_eq!(dev.cluster_arn.to_string(), arns[1]);
    assert_eq!(dev.status, "ACTIVE");
    assert_eq!(
        (
            dev.registered_container_instances_count,
            dev.running_tasks_count,
            dev.pending_tasks_count,
            dev.active_services_count
        ),
        (1, 1, 1, 1),
        "one instance, one task RUNNING ({running}), one on its way (not the one asked to stop), \
         the STOPPED one not counted, one ACTIVE service (not the deleted one)"
    );
    let json = serde_json::to_value(dev).unwrap();
    assert_eq!(json["clusterName"], "dev");
    assert_eq!(json["runningTasksCount"], 1);
    assert_eq!(json["registeredContainerInstancesCount"], 1);
}
