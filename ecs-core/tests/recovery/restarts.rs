//! Crash recovery on the in-memory runtime with tokio's paused clock: a control plane on a
//! store is halted (as a crash: every loop ends where it is, nothing cleans up) and a new
//! one opened on the same store; the instances' runtimes (the engines) live on.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::Duration;

use ecs_core::autoscaling::{PutScalingPolicy, RegisterScalableTarget};
use ecs_core::cluster::Resources;
use ecs_core::control::{
    DeregisterContainerInstance, EcsConfig, ListTasks, OrphanPolicy, RegisterContainerInstance,
    RunTask, StartTask,
};
use ecs_core::placement::api::{PlacementStrategy, PlacementStrategyType};
use ecs_core::runtime::{ContainerRuntime, ContainerSpec, InMemoryRuntime, PullPolicy, labels};
use ecs_core::service::{CreateService, Service, UpdateService};
use ecs_core::store::{Kind, MemoryStore, Store, StoreExt};
use ecs_core::task::{StopCode, Task, TaskStatus};
use ecs_core::{ClusterName, Ecs, Error, InstanceId, ServiceName, TaskDefinition};
use tokio::time::timeout;

const WEB: &str = r#"{"family": "web", "containerDefinitions": [
    {"name": "app", "image": "busybox", "memory": 128, "cpu": 128,
     "command": ["sh", "-c", "trap 'exit 0' TERM; while true; do sleep 1; done"]}]}"#;

fn cluster() -> ClusterName {
    "dev".parse().unwrap()
}

fn web() -> ServiceName {
    "web".parse().unwrap()
}

/// The engines: they outlive every control plane.
struct Engines(Vec<(InstanceId, InMemoryRuntime)>);

impl Engines {
    fn new(n: usize) -> Self {
        Self(
            (0..n)
                .map(|i| {
                    (
                        format!("i-{i}").parse().unwrap(),
                        InMemoryRuntime::new(Resources::new(4096, 8192)),
                    )
                })
                .collect(),
        )
    }

    /// Registers every instance (first start, or again after a restart).
    async fn register(&self, ecs: &Ecs) {
        for (id, rt) in &self.0 {
            ecs.register_container_instance(RegisterContainerInstance::new(
                cluster(),
                id.clone(),
                Arc::new(rt.clone()),
            ))
            .await
            .unwrap();
        }
    }

    /// The engine of `task`'s instance.
    fn of(&self, task: &Task) -> &InMemoryRuntime {
        &self
            .0
            .iter()
            .find(|(i, _)| Some(i) == task.container_instance.as_ref())
            .unwrap()
            .1
    }

    /// Every container on every engine: (instance, id, task ARN, running).
    fn containers(&self) -> Vec<(InstanceId, String, String, bool)> {
        self.0
            .iter()
            .flat_map(|(i, rt)| {
                rt.containers().into_iter().map(move |c| {
                    (
                        i.clone(),
                        c.id.0.clone(),
                        c.labels.get(labels::TASK_ARN).cloned().unwrap_or_default(),
                        c.state == ecs_core::runtime::ContainerState::Running,
                    )
                })
            })
            .collect()
    }
}

fn config() -> EcsConfig {
    let mut c = EcsConfig::default();
    c.instance_lost_timeout = Duration::from_secs(120);
    c
}

async fn first_start(store: &Arc<MemoryStore>, engines: &Engines) -> Ecs {
    let ecs = Ecs::open(config(), store.clone()).await.unwrap();
    ecs.create_cluster(cluster()).unwrap();
    engines.register(&ecs).await;
    ecs.register_task_definition(TaskDefinition::from_json(WEB).unwrap().definition)
        .unwrap();
    ecs
}

/// A first start with a service of `count` tasks on `n` instances, steady and flushed.
async fn with_service(n: usize, service: CreateService) -> (Arc<MemoryStore>, Engines, Ecs) {
    let store = Arc::new(MemoryStore::new());
    let engines = Engines::new(n);
    let ecs = first_start(&store, &engines).await;
    ecs.create_service(service).unwrap();
    wait_service(&ecs, "steady", |s| s.is_steady()).await;
    ecs.flush().await.unwrap();
    (store, engines, ecs)
}

fn web_service(count: u32) -> CreateService {
    CreateService::new(cluster(), web(), "web".parse().unwrap(), count)
}

/// The crash: every loop ends where it is, and the control plane is gone.
async fn crash(ecs: Ecs) {
    ecs.halt().await;
    drop(ecs);
}

/// One standalone task of `family`, RUNNING.
async fn run_one(ecs: &Ecs, family: &str) -> Task {
    let task = ecs
        .run_task(RunTask::new(cluster(), family.parse().unwrap(), 1))
        .unwrap()
        .tasks
        .remove(0);
    ecs.wait_for(&task.task_id, |t| t.last_status == TaskStatus::Running)
        .await
        .unwrap()
}

async fn wait_service(ecs: &Ecs, what: &str, f: impl Fn(&Service) -> bool) -> Service {
    match timeout(
        Duration::from_secs(3600),
        ecs.wait_for_service(&cluster(), &web(), f),
    )
    .await
    {
        Ok(s) => s.unwrap(),
        Err(_) => panic!(
            "{what}: {:#?}",
            ecs.describe_service(&cluster(), &web()).unwrap()
        ),
    }
}

fn live(ecs: &Ecs) -> Vec<Task> {
    let ids = ecs.list_tasks(ListTasks::new(cluster())).unwrap();
    ecs.describe_tasks(&cluster(), &ids)
        .unwrap()
        .into_iter()
        .filter(|t| t.last_status != TaskStatus::Stopped)
        .collect()
}

/// Each live task's first container: task id -> container id.
fn containers_of(ecs: &Ecs) -> BTreeMap<String, String> {
    live(ecs)
        .iter()
        .map(|t| {
            let id = t.containers[0].runtime_id.clone().unwrap();
            (t.task_id.to_string(), id.0)
        })
        .collect()
}

/// Every container on the engines belongs to a live task of `ecs`, and every live task
/// RUNNING has exactly its containers: nothing orphaned, nothing twice.
fn assert_engines_match(ecs: &Ecs, engines: &Engines) {
    let tasks = live(ecs);
    let arns: BTreeSet<String> = tasks.iter().map(|t| t.task_arn.to_string()).collect();
    let containers = engines.containers();
    for (i, id, arn, _) in &containers {
        assert!(
            arns.contains(arn.as_str()),
            "container {id} on {i} belongs to no live task ({arn})"
        );
    }
    for t in tasks
        .iter()
        .filter(|t| t.last_status == TaskStatus::Running)
    {
        let on_engine: Vec<_> = containers
            .iter()
            .filter(|c| c.2 == t.task_arn.to_string())
            .collect();
        assert_eq!(on_engine.len(), t.containers.len(), "{t:?}: {on_engine:?}");
        assert!(
            on_engine
                .iter()
                .all(|c| Some(&c.0) == t.container_instance.as_ref())
        );
    }
}

#[tokio::test(start_paused = true)]
async fn a_restarted_control_plane_adopts_what_runs() {
    let store = Arc::new(MemoryStore::new());
    let engines = Engines::new(2);
    let ecs = first_start(&store, &engines).await;
    ecs.create_service(CreateService::new(
        cluster(),
        web(),
        "web".parse().unwrap(),
        3,
    ))
    .unwrap();
    let standalone = ecs
        .run_task(RunTask::new(cluster(), "web".parse().unwrap(), 1))
        .unwrap()
        .tasks
        .remove(0);
    wait_service(&ecs, "steady", |s| s.is_steady()).await;
    ecs.wait_for(&standalone.task_id, |t| {
        t.last_status == TaskStatus::Running
    })
    .await
    .unwrap();
    ecs.flush().await.unwrap();
    let before = containers_of(&ecs);
    assert_eq!(before.len(), 4);
    crash(ecs).await;

    let ecs = Ecs::open(config(), store.clone()).await.unwrap();
    // Before the instances are back: everything is known, nothing is connected.
    let s = ecs.describe_service(&cluster(), &web()).unwrap();
    assert_eq!(s.desired_count, 3);
    assert_eq!(live(&ecs).len(), 4);
    let c = ecs.describe_cluster(&cluster()).unwrap();
    assert_eq!(c.len(), 2);
    assert!(c.instances().all(|i| !i.agent_connected()));
    assert_eq!(
        ecs.describe_task_definition(&"web:1".parse().unwrap())
            .unwrap()
            .revision,
        Some(1)
    );
    engines.register(&ecs).await;
    let adopted: BTreeSet<String> = ecs
        .recovery_reports()
        .iter()
        .flat_map(|r| {
            assert!(r.vanished.is_empty() && r.orphans.is_empty() && r.stopping.is_empty());
            r.adopted.iter().map(ToString::to_string)
        })
        .collect();
    assert_eq!(adopted, before.keys().cloned().collect());
    let s = wait_service(&ecs, "steady again", |s| s.is_steady()).await;
    assert_eq!(s.running_count, 3);
    // The same tasks on the same containers, and nothing started twice.
    let after = containers_of(&ecs);
    assert_eq!(after, before);
    assert_eq!(engines.containers().len(), 4);
    assert_engines_match(&ecs, &engines);

    // The adopted tasks are watched: a crash is seen and replaced.
    let victim = live(&ecs)
        .into_iter()
        .find(|t| t.group.to_string() == "service:web")
        .unwrap();
    engines
        .of(&victim)
        .kill(victim.containers[0].runtime_id.as_ref().unwrap(), 1)
        .unwrap();
    let stopped = ecs
        .wait_for(&victim.task_id, |t| t.last_status == TaskStatus::Stopped)
        .await
        .unwrap();
    assert_eq!(stopped.stop_code, Some(StopCode::EssentialContainerExited));
    wait_service(&ecs, "replaced", |s| {
        s.is_steady() && s.deployments[0].failed_tasks == 1
    })
    .await;
    assert_engines_match(&ecs, &engines);
}

#[tokio::test(start_paused = true)]
async fn what_changed_while_it_was_down_is_reconciled() {
    let (store, engines, ecs) = with_service(2, web_service(4)).await;
    let tasks = live(&ecs);
    crash(ecs).await;

    // While it is down: one container exits, one is removed, and a container of this
    // cluster that no task knows appears.
    let (exited, removed) = (&tasks[0], &tasks[1]);
    engines
        .of(exited)
        .kill(exited.containers[0].runtime_id.as_ref().unwrap(), 3)
        .unwrap();
    let rt = engines.of(removed).clone();
    rt.remove_container(removed.containers[0].runtime_id.as_ref().unwrap())
        .await
        .unwrap();
    let mut spec = ContainerSpec::new("stray", "busybox");
    spec.labels = BTreeMap::from([
        (labels::CLUSTER.to_owned(), cluster().to_string()),
        (
            labels::TASK_ARN.to_owned(),
            "arn:aws:ecs:local:000000000000:task/dev/0123456789abcdef0123456789abcdef".to_owned(),
        ),
    ]);
    let stray = rt.create_container(&spec).await.unwrap();
    rt.start_container(&stray).await.unwrap();

    let ecs = Ecs::open(config(), store.clone()).await.unwrap();
    engines.register(&ecs).await;
    let reports = ecs.recovery_reports();
    let all = |f: fn(&ecs_core::control::RecoveryReport) -> Vec<String>| -> Vec<String> {
        reports.iter().flat_map(f).collect()
    };
    assert_eq!(
        all(|r| r.vanished.iter().map(ToString::to_string).collect()),
        [removed.task_id.to_string()]
    );
    assert_eq!(
        all(|r| r.stopping.iter().map(ToString::to_string).collect()),
        [exited.task_id.to_string()]
    );
    assert_eq!(
        all(|r| r.orphans.iter().map(|c| c.0.clone()).collect()),
        std::slice::from_ref(&stray.0)
    );
    assert_eq!(
        all(|r| r.adopted.iter().map(ToString::to_string).collect()).len(),
        2
    );
    let gone = ecs
        .describe_tasks(&cluster(), std::slice::from_ref(&removed.task_id))
        .unwrap()
        .remove(0);
    assert_eq!(gone.last_status, TaskStatus::Stopped);
    assert!(
        gone.stopped_reason
            .as_deref()
            .is_some_and(|r| r.contains("while the control plane was down")),
        "{gone:?}"
    );
    let exited_now = ecs
        .wait_for(&exited.task_id, |t| t.last_status == TaskStatus::Stopped)
        .await
        .unwrap();
    assert_eq!(exited_now.containers[0].exit_code, Some(3));
    let s = wait_service(&ecs, "replaced both", |s| {
        s.is_steady() && s.running_count == 4
    })
    .await;
    assert_eq!(s.deployments[0].failed_tasks, 2, "{s:?}");
    assert_engines_match(&ecs, &engines);
    assert!(
        rt.containers().iter().all(|c| c.id != stray),
        "the orphan was removed"
    );
}

#[tokio::test(start_paused = true)]
async fn orphans_can_be_kept() {
    let store = Arc::new(MemoryStore::new());
    let engines = Engines::new(1);
    let ecs = first_start(&store, &engines).await;
    ecs.flush().await.unwrap();
    crash(ecs).await;
    let rt = &engines.0[0].1;
    rt.ensure_image("busybox", PullPolicy::IfNotPresent)
        .await
        .unwrap();
    let mut spec = ContainerSpec::new("stray", "busybox");
    spec.labels = BTreeMap::from([
        (labels::CLUSTER.to_owned(), cluster().to_string()),
        (labels::TASK_ARN.to_owned(), "arn:unknown".to_owned()),
    ]);
    let stray = rt.create_container(&spec).await.unwrap();
    rt.start_container(&stray).await.unwrap();
    let mut keep = config();
    keep.orphans = OrphanPolicy::Keep;
    let ecs = Ecs::open(keep, store.clone()).await.unwrap();
    engines.register(&ecs).await;
    assert_eq!(
        ecs.recovery_reports()[0].orphans,
        std::slice::from_ref(&stray)
    );
    ecs.flush().await.unwrap();
    tokio::time::sleep(Duration::from_secs(60)).await;
    assert!(rt.containers().iter().any(|c| c.id == stray));
}

#[tokio::test(start_paused = true)]
async fn an_instance_that_does_not_come_back_is_lost_and_its_tasks_replaced() {
    let store = Arc::new(MemoryStore::new());
    let engines = Engines::new(2);
    let ecs = first_start(&store, &engines).await;
    // Spread over both instances: 2 tasks each.
    ecs.create_service(
        CreateService::new(cluster(), web(), "web".parse().unwrap(), 4).with_placement_strategy(
            PlacementStrategy::new(PlacementStrategyType::Spread, Some("instanceId")),
        ),
    )
    .unwrap();
    wait_service(&ecs, "steady", |s| s.is_steady()).await;
    ecs.flush().await.unwrap();
    let (back, _) = &engines.0[0];
    let (gone, gone_rt) = &engines.0[1];
    let on_gone = live(&ecs)
        .iter()
        .filter(|t| t.container_instance.as_ref() == Some(gone))
        .count();
    assert_eq!(on_gone, 2);
    crash(ecs).await;

    let ecs = Ecs::open(config(), store.clone()).await.unwrap();
    ecs.register_container_instance(RegisterContainerInstance::new(
        cluster(),
        back.clone(),
        Arc::new(engines.0[0].1.clone()),
    ))
    .await
    .unwrap();
    let opened = tokio::time::Instant::now();
    let on_back = || {
        live(&ecs)
            .iter()
            .filter(|t| {
                t.last_status == TaskStatus::Running && t.container_instance.as_ref() == Some(back)
            })
            .count()
    };
    let s = wait_service(&ecs, "replaced on the instance that came back", |s| {
        s.is_steady() && on_back() == 4
    })
    .await;
    assert!(
        opened.elapsed() >= Duration::from_secs(120),
        "replaced after {:?}, before the lost timeout",
        opened.elapsed()
    );
    assert_eq!(s.running_count, 4);
    // Those on the lost instance are given up (to be stopped if it ever returns).
    let lost: Vec<Task> = live(&ecs)
        .into_iter()
        .filter(|t| t.container_instance.as_ref() == Some(gone))
        .collect();
    assert_eq!(lost.len(), on_gone);
    assert!(
        lost.iter().all(|t| t.desired_status == TaskStatus::Stopped),
        "{lost:?}"
    );
    // The lost engine's containers are still there: nothing could reach them.
    assert_eq!(gone_rt.containers().len(), on_gone, "{gone}");
}

#[tokio::test(start_paused = true)]
async fn intents_flushed_before_the_crash_survive_it_and_run_once() {
    let (store, engines, ecs) = with_service(1, web_service(2)).await;
    // Intents made durable, then a crash before anything may have acted on them.
    let standalone = ecs
        .run_task(RunTask::new(cluster(), "web".parse().unwrap(), 1))
        .unwrap()
        .tasks
        .remove(0);
    ecs.update_service(UpdateService::new(cluster(), web()).with_desired_count(3))
        .unwrap();
    ecs.flush().await.unwrap();
    crash(ecs).await;

    let ecs = Ecs::open(config(), store.clone()).await.unwrap();
    engines.register(&ecs).await;
    let s = wait_service(&ecs, "3 tasks", |s| s.is_steady() && s.running_count == 3).await;
    assert_eq!(s.desired_count, 3);
    ecs.wait_for(&standalone.task_id, |t| {
        t.last_status == TaskStatus::Running
    })
    .await
    .unwrap();
    // 3 service tasks and the standalone one, each once.
    assert_eq!(engines.containers().len(), 4);
    assert_engines_match(&ecs, &engines);
}

#[tokio::test(start_paused = true)]
async fn a_record_that_does_not_read_is_an_error_naming_it() {
    let store = Arc::new(MemoryStore::new());
    store
        .create(Kind::Task, "0123", b"{\"taskArn\": 7}".to_vec())
        .await
        .unwrap();
    let err = Ecs::open(config(), store.clone()).await.unwrap_err();
    assert!(matches!(err, Error::Store { .. }), "{err}");
    assert!(err.to_string().contains("task record \"0123\""), "{err}");
    // Left as it was.
    let r = store.get(Kind::Task, "0123").await.unwrap().unwrap();
    assert_eq!(
        (r.version, r.value.as_slice()),
        (1, &b"{\"taskArn\": 7}"[..])
    );
}

#[tokio::test(start_paused = true)]
async fn two_control_planes_on_one_store_the_second_stops_acting() {
    let store = Arc::new(MemoryStore::new());
    let engines = Engines::new(1);
    let first = first_start(&store, &engines).await;
    first.flush().await.unwrap();
    let second = Ecs::open(config(), store.clone()).await.unwrap();
    // The first writes on; the second's first write then conflicts.
    first
        .register_task_definition(TaskDefinition::from_json(WEB).unwrap().definition)
        .unwrap();
    first.flush().await.unwrap();
    second
        .register_task_definition(TaskDefinition::from_json(WEB).unwrap().definition)
        .unwrap();
    let err = second.flush().await.unwrap_err();
    assert!(err.to_string().contains("another writer"), "{err}");
}

#[tokio::test(start_paused = true)]
async fn auto_scaling_settings_and_history_survive_a_restart() {
    use ecs_core::autoscaling::{Metric, ScalableTarget, ScalingPolicy, TargetTracking};
    use ecs_core::runtime::memory::Matcher;
    let (store, engines, ecs) = with_service(2, web_service(2)).await;
    // Registered with its count below the minimum: an activity at once.
    ecs.register_scalable_target(RegisterScalableTarget::new(
        cluster(),
        web(),
        ScalableTarget::new(3, 8),
    ))
    .unwrap();
    ecs.put_scaling_policy(PutScalingPolicy::new(
        cluster(),
        web(),
        ScalingPolicy::target_tracking("cpu50", TargetTracking::new(Metric::CpuUtilization, 50.0)),
    ))
    .unwrap();
    let before = ecs.describe_scaling_activities(&cluster(), &web()).unwrap();
    assert_eq!(before.len(), 1);
    ecs.flush().await.unwrap();
    crash(ecs).await;

    let ecs = Ecs::open(config(), store.clone()).await.unwrap();
    engines.register(&ecs).await;
    assert_eq!(
        ecs.describe_scaling_activities(&cluster(), &web()).unwrap(),
        before
    );
    // The policy acts after the restart: each task burns a whole CPU against its 128
    // units (800%), so it scales out to the maximum.
    for (_, rt) in &engines.0 {
        rt.set_usage(Matcher::Any, 1.0, 32 << 20);
    }
    let s = wait_service(&ecs, "scaled out", |s| s.desired_count == 8).await;
    assert_eq!(s.desired_count, 8);
    let after = ecs.describe_scaling_activities(&cluster(), &web()).unwrap();
    assert_eq!(after.len(), 2, "{after:?}");
    assert!(after[0].cause.contains("AlarmHigh-cpu50"), "{after:?}");
}

#[tokio::test(start_paused = true)]
async fn an_orphan_can_be_adopted_as_the_task_its_labels_describe() {
    let store = Arc::new(MemoryStore::new());
    let engines = Engines::new(1);
    let ecs = first_start(&store, &engines).await;
    let task = run_one(&ecs, "web").await;
    ecs.flush().await.unwrap();
    crash(ecs).await;
    // The task's record is lost (say, a store restored from an older backup).
    let record = store
        .get(Kind::Task, task.task_id.as_str())
        .await
        .unwrap()
        .unwrap();
    store
        .delete(Kind::Task, task.task_id.as_str(), record.version)
        .await
        .unwrap();

    let mut adopt = config();
    adopt.orphans = OrphanPolicy::Adopt;
    let ecs = Ecs::open(adopt, store.clone()).await.unwrap();
    engines.register(&ecs).await;
    let report = &ecs.recovery_reports()[0];
    let container = task.containers[0].runtime_id.clone().unwrap();
    assert_eq!(report.orphans, std::slice::from_ref(&container));
    assert_eq!(report.adopted, std::slice::from_ref(&task.task_id));
    let again = ecs
        .wait_for(&task.task_id, |t| t.last_status == TaskStatus::Running)
        .await
        .unwrap();
    assert_eq!(again.task_arn, task.task_arn);
    assert_eq!(again.task_definition, task.task_definition);
    assert_eq!(again.containers[0].runtime_id, Some(container));
    // Its resources are held again, and it is durable again.
    let c = ecs.describe_cluster(&cluster()).unwrap();
    assert_eq!(c.instances().next().unwrap().running_tasks_count(), 1);
    ecs.flush().await.unwrap();
    assert!(
        store
            .get(Kind::Task, task.task_id.as_str())
            .await
            .unwrap()
            .is_some()
    );
    assert_engines_match(&ecs, &engines);
}

#[tokio::test(start_paused = true)]
async fn a_task_with_an_exited_init_container_is_adopted_as_running() {
    let store = Arc::new(MemoryStore::new());
    let engines = Engines::new(1);
    let ecs = first_start(&store, &engines).await;
    ecs.register_task_definition(
        TaskDefinition::from_json(
            r#"{"family": "init", "containerDefinitions": [
                {"name": "init", "image": "busybox", "memory": 32, "essential": false,
                 "command": ["sh", "-c", "exit 0"]},
                {"name": "app", "image": "busybox", "memory": 64,
                 "dependsOn": [{"containerName": "init", "condition": "SUCCESS"}],
                 "command": ["sh", "-c", "trap 'exit 0' TERM; while true; do sleep 1; done"]}]}"#,
        )
        .unwrap()
        .definition,
    )
    .unwrap();
    let task = run_one(&ecs, "init").await;
    assert_eq!(task.container("init").unwrap().exit_code, Some(0));
    ecs.flush().await.unwrap();
    crash(ecs).await;

    let ecs = Ecs::open(config(), store.clone()).await.unwrap();
    engines.register(&ecs).await;
    let report = &ecs.recovery_reports()[0];
    assert_eq!(
        report.adopted,
        std::slice::from_ref(&task.task_id),
        "{report:?}"
    );
    assert!(report.stopping.is_empty(), "{report:?}");
    tokio::time::sleep(Duration::from_secs(60)).await;
    let now = ecs
        .describe_tasks(&cluster(), std::slice::from_ref(&task.task_id))
        .unwrap()
        .remove(0);
    assert_eq!(now.last_status, TaskStatus::Running);
}

#[tokio::test(start_paused = true)]
async fn a_crash_while_a_deregistered_instance_s_tasks_stop_does_not_block_the_restart() {
    let store = Arc::new(MemoryStore::new());
    let engines = Engines::new(2);
    let ecs = first_start(&store, &engines).await;
    let (gone, gone_rt) = &engines.0[1];
    let task = ecs
        .start_task(StartTask::new(
            cluster(),
            "web".parse().unwrap(),
            vec![gone.clone()],
        ))
        .unwrap()
        .tasks
        .remove(0);
    ecs.wait_for(&task.task_id, |t| t.last_status == TaskStatus::Running)
        .await
        .unwrap();
    // Its stop will take a while on this engine; the crash comes first.
    gone_rt.set_latency(Duration::from_secs(30));
    ecs.deregister_container_instance(
        DeregisterContainerInstance::new(cluster(), gone.clone()).with_force(true),
    )
    .unwrap();
    ecs.flush().await.unwrap();
    crash(ecs).await;

    let ecs = Ecs::open(config(), store.clone()).await.unwrap();
    let t = ecs
        .describe_tasks(&cluster(), std::slice::from_ref(&task.task_id))
        .unwrap()
        .remove(0);
    assert_eq!(t.last_status, TaskStatus::Stopped);
    assert_eq!(t.stop_code, Some(StopCode::TerminationNotice));
    assert_eq!(ecs.describe_cluster(&cluster()).unwrap().len(), 1);
    // And the store says so too.
    ecs.flush().await.unwrap();
    let record = store
        .get(Kind::Task, task.task_id.as_str())
        .await
        .unwrap()
        .unwrap();
    let stored: serde_json::Value = serde_json::from_slice(&record.value).unwrap();
    assert_eq!(stored["lastStatus"], "STOPPED", "{stored}");
}

/// A restart asks each engine again what it can do: an instance recorded without
/// Service Connect takes a Service Connect service's tasks once its engine offers it;
/// and an adopted Service Connect task's network is made again if it went.
#[tokio::test(start_paused = true)]
async fn a_restart_learns_what_each_engine_can_do_now() {
    use ecs_core::runtime::Capabilities;
    use ecs_core::service::{ServiceConnectConfiguration, ServiceConnectService};

    const SERVER: &str = r#"{"family": "server", "containerDefinitions": [
        {"name": "app", "image": "busybox", "memory": 64,
         "command": ["sh", "-c", "trap 'exit 0' TERM; while true; do sleep 1; done"],
         "portMappings": [{"containerPort": 8080, "name": "http"}]}]}"#;
    let store = Arc::new(MemoryStore::new());
    let engines = Engines::new(1);
    let rt = &engines.0[0].1;
    let mut without = Capabilities::ALL;
    without.service_connect = false;
    rt.set_capabilities(without);
    let ecs = first_start(&store, &engines).await;
    ecs.register_task_definition(TaskDefinition::from_json(SERVER).unwrap().definition)
        .unwrap();
    let connect = ServiceConnectConfiguration::client("shop")
        .with_service(ServiceConnectService::new("http").with_client_alias(8080, "web"));
    ecs.create_service(
        CreateService::new(cluster(), web(), "server".parse().unwrap(), 1)
            .with_service_connect(connect),
    )
    .unwrap();
    wait_service(&ecs, "a placement failure", |s| {
        s.events
            .iter()
            .any(|e| e.message.contains("ecs.capability.service-connect-v1"))
    })
    .await;
    ecs.flush().await.unwrap();
    crash(ecs).await;

    // The engine offers it now.
    rt.set_capabilities(Capabilities::ALL);
    let ecs = Ecs::open(config(), store.clone()).await.unwrap();
    engines.register(&ecs).await;
    wait_service(&ecs, "steady", |s| s.is_steady()).await;
    assert_eq!(rt.resolve("ecs-sc-shop", "web").len(), 1);
    ecs.flush().await.unwrap();
    crash(ecs).await;

    // Adopted after another restart, the task's network is made again; it stays.
    let ecs = Ecs::open(config(), store.clone()).await.unwrap();
    engines.register(&ecs).await;
    wait_service(&ecs, "steady", |s| s.is_steady()).await;
    assert_eq!(rt.networks(), vec!["ecs-sc-shop".to_owned()]);
    assert_eq!(rt.resolve("ecs-sc-shop", "web").len(), 1);
}
