//! Services end to end on real engines (provisioned by `scripts/engines`), the scenarios
//! `real_services` leaves out: a task whose container turns unhealthy (made so from
//! outside, with the engine's CLI) is replaced by a RUNNING and HEALTHY task, on Docker and
//! on Podman; a DAEMON service runs one task on each of a Docker and a Podman instance,
//! follows a second Docker daemon as it joins, leaves a DRAINING instance, and leaves no
//! container behind when deleted.

#[path = "support/engines.rs"]
mod engines;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use ecs::cluster::InstanceStatus;
use ecs::control::{
    DeleteService, EcsConfig, ListTasks, RegisterContainerInstance, UpdateContainerInstancesState,
};
use ecs::runtime::{ContainerRuntime, ContainerState, HealthStatus, labels};
use ecs::service::{CreateService, Service, ServiceStatus};
use ecs::task::{StopCode, Task, TaskStatus};
use ecs::{ClusterName, Ecs, ServiceName, TaskDefinition};
use tokio::time::{Instant, timeout};

/// A task definition whose one container `app` is healthy while `/tmp/ok` exists. It
/// creates the file, then idles; it traps TERM so that stops take no stop timeout. The
/// check's interval, timeout and retries are the validation's minimums, so that health
/// changes show within seconds.
fn checked_definition(family: &str) -> TaskDefinition {
    let image = engines::image();
    let json = format!(
        r#"{{"family": "{family}", "networkMode": "bridge", "containerDefinitions": [
            {{"name": "app", "image": "{image}", "memory": 32, "cpu": 64,
              "command": ["sh", "-c", "touch /tmp/ok; trap 'exit 0' TERM; while true; do sleep 1; done"],
              "healthCheck": {{"command": ["CMD-SHELL", "test -f /tmp/ok"],
                              "interval": 5, "timeout": 2, "retries": 1}}}}]}}"#
    );
    TaskDefinition::from_json(&json).expect("valid").definition
}

/// An engine the tests register as an instance.
struct Engine {
    instance: String,
    runtime: Arc<dyn ContainerRuntime>,
    /// The engine's CLI and its host flags, to act on containers from outside.
    cli: Vec<String>,
}

fn docker1() -> Engine {
    Engine {
        instance: "i-docker".into(),
        runtime: Arc::new(engines::docker()),
        cli: vec!["docker".into(), "-H".into(), engines::docker_host()],
    }
}

fn docker2() -> Engine {
    Engine {
        instance: "i-docker2".into(),
        runtime: Arc::new(engines::docker2()),
        cli: vec!["docker".into(), "-H".into(), engines::docker2_host()],
    }
}

fn podman() -> Engine {
    Engine {
        instance: "i-podman".into(),
        runtime: Arc::new(engines::podman()),
        cli: vec!["podman".into()],
    }
}

struct Harness {
    ecs: Ecs,
    cluster: ClusterName,
    service: ServiceName,
    family: String,
    /// The registered engines.
    engines: Vec<Engine>,
}

impl Harness {
    async fn new(name: &str, engines: Vec<Engine>) -> Self {
        let mut config = EcsConfig::default();
        // A task counts as a success after 2 s healthy: steady states come sooner.
        config.service_throttle.stable_after = Duration::from_secs(2);
        // A missed engine event costs at most 2 s.
        config.resync_interval = Duration::from_secs(2);
        let name = format!("health-{name}-{}", std::process::id());
        let mut h = Self {
            ecs: Ecs::new(config),
            cluster: name.parse().unwrap(),
            service: "app".parse().unwrap(),
            family: name,
            engines: Vec::new(),
        };
        h.ecs.create_cluster(h.cluster.clone()).unwrap();
        for e in engines {
            h.register(e).await;
        }
        h.ecs
            .register_task_definition(checked_definition(&h.family))
            .unwrap();
        h
    }

    async fn register(&mut self, e: Engine) {
        self.ecs
            .register_container_instance(RegisterContainerInstance::new(
                self.cluster.clone(),
                e.instance.parse().unwrap(),
                e.runtime.clone(),
            ))
            .await
            .unwrap();
        self.engines.push(e);
    }

    fn engine(&self, instance: &str) -> &Engine {
        self.engines
            .iter()
            .find(|e| e.instance == instance)
            .unwrap()
    }

    async fn wait(&self, what: &str, within: Duration, f: impl Fn(&Service) -> bool) -> Service {
        engines::wait_for_service(&self.ecs, &self.cluster, &self.service, what, within, f).await
    }

    fn tasks(&self, filter: &ListTasks) -> Vec<Task> {
        let ids = self.ecs.list_tasks(filter.clone()).unwrap();
        self.ecs.describe_tasks(&self.cluster, &ids).unwrap()
    }

    fn live(&self) -> Vec<Task> {
        let mut live = self.tasks(&ListTasks::new(self.cluster.clone()));
        live.retain(|t| t.last_status != TaskStatus::Stopped);
        live
    }

    /// Every task the cluster has had on `instance`, STOPPED ones included.
    fn ever_on(&self, instance: &str) -> Vec<Task> {
        let mut filter = ListTasks::new(self.cluster.clone());
        filter.container_instance = Some(instance.parse().unwrap());
        self.tasks(&filter)
    }

    /// The live tasks per instance, read in a steady state: all of them RUNNING.
    fn per_instance(&self) -> BTreeMap<String, usize> {
        let mut on = BTreeMap::new();
        for t in self.live() {
            assert_eq!(t.last_status, TaskStatus::Running, "steady, yet {t:?}");
            *on.entry(t.container_instance.as_ref().unwrap().to_string())
                .or_default() += 1;
        }
        on
    }

    /// Runs `args` in `task`'s container with the engine's CLI, as an operator would.
    fn exec(&self, task: &Task, args: &[&str]) {
        let cli = &self
            .engine(task.container_instance.as_ref().unwrap().as_str())
            .cli;
        let container = task.container("app").unwrap().runtime_id.clone().unwrap();
        let out = std::process::Command::new(&cli[0])
            .args(&cli[1..])
            .arg("exec")
            .arg(&container.0)
            .args(args)
            .output()
            .unwrap();
        assert!(out.status.success(), "{out:?}");
    }

    /// The containers of this cluster on `engine`, in any state.
    async fn containers(&self, engine: &Engine) -> Vec<ecs::runtime::ContainerInfo> {
        let cluster = BTreeMap::from([(labels::CLUSTER.to_owned(), self.cluster.to_string())]);
        engine.runtime.list_containers(&cluster).await.unwrap()
    }

    /// How many of this cluster's containers run on `engine`, as the engine says.
    async fn running_on(&self, engine: &Engine) -> usize {
        let all = self.containers(engine).await;
        all.iter()
            .filter(|c| c.state == ContainerState::Running)
            .count()
    }

    /// Deletes the service and checks that no container of the cluster is left anywhere.
    async fn delete(&self) {
        self.ecs
            .delete_service(
                DeleteService::new(self.cluster.clone(), self.service.clone()).with_force(true),
            )
            .unwrap();
        self.wait("INACTIVE", Duration::from_secs(60), |s| {
            s.status == ServiceStatus::Inactive
        })
        .await;
        for e in &self.engines {
            let left = self.containers(e).await;
            assert!(left.is_empty(), "{}: {left:?}", e.instance);
        }
    }
}

impl Drop for Harness {
    /// A failed test leaves no container behind on the shared engines (a passing one
    /// has checked that there is none).
    fn drop(&mut self) {
        if !std::thread::panicking() {
            return;
        }
        // Deleted first, so that the service does not replace what is removed below.
        let _ = self.ecs.delete_service(
            DeleteService::new(self.cluster.clone(), self.service.clone()).with_force(true),
        );
        let label = format!("label={}={}", labels::CLUSTER, self.cluster);
        for e in &self.engines {
            let cli = || {
                let mut c = std::process::Command::new(&e.cli[0]);
                c.args(&e.cli[1..]);
                c
            };
            let Ok(ps) = cli().args(["ps", "-aq", "--filter", &label]).output() else {
                continue;
            };
            let ids = String::from_utf8_lossy(&ps.stdout).into_owned();
            let ids: Vec<&str> = ids.split_whitespace().collect();
            if !ids.is_empty() {
                let _ = cli().args(["rm", "-f"]).args(&ids).output();
            }
        }
    }
}

/// Two tasks with a health check; one's container is made unhealthy from outside; the
/// service stops it for failing its health checks and a replacement turns HEALTHY.
async fn unhealthy_task_is_replaced(name: &str, engine: Engine) {
    let h = Harness::new(name, vec![engine]).await;
    let created = Instant::now();
    h.ecs
        .create_service(
            CreateService::new(
                h.cluster.clone(),
                h.service.clone(),
                format!("{}:1", h.family).parse().unwrap(),
                2,
            )
            // Short: it counts from RUNNING and is over before the service is steady
            // (first check at 5 s, then 2 s stable), so it does not delay the stop.
            .with_health_check_grace_period(5),
        )
        .unwrap();
    h.wait("a steady state", Duration::from_secs(90), |s| s.is_steady())
        .await;
    println!("{name}: steady {:?} after creation", created.elapsed());
    let tasks = h.live();
    assert_eq!(tasks.len(), 2, "{tasks:#?}");
    for t in &tasks {
        assert_eq!(t.health_status, HealthStatus::Healthy, "{t:?}");
    }

    let (victim, survivor) = (&tasks[0], &tasks[1]);
    // `rm` is one of busybox's shell applets, not a file in the image.
    h.exec(victim, &["sh", "-c", "rm /tmp/ok"]);
    let marked = Instant::now();
    let stopping = timeout(
        Duration::from_secs(60),
        h.ecs
            .wait_for(&victim.task_id, |t| t.desired_status == TaskStatus::Stopped),
    )
    .await
    .expect("the unhealthy task stopped")
    .unwrap();
    println!("{name}: stop requested {:?} after rm", marked.elapsed());
    // The engine's health check, not something else, turned it unhealthy.
    assert_eq!(
        stopping.health_status,
        HealthStatus::Unhealthy,
        "{stopping:?}"
    );
    // desiredStatus turns STOPPED at once; the stop code and reason come with the
    // runner's stop, so they are read once the task is STOPPED.
    let stopped = timeout(
        Duration::from_secs(30),
        h.ecs
            .wait_for(&victim.task_id, |t| t.last_status == TaskStatus::Stopped),
    )
    .await
    .expect("the unhealthy task STOPPED")
    .unwrap();
    println!("{name}: STOPPED {:?} after rm", marked.elapsed());
    assert_eq!(
        stopped.stop_code,
        Some(StopCode::ServiceSchedulerInitiated),
        "{stopped:?}"
    );
    assert_eq!(
        stopped.stopped_reason.as_deref(),
        Some("Task failed container health checks"),
        "{stopped:?}"
    );

    let s = h
        .wait(
            "steady after the replacement",
            Duration::from_secs(60),
            |s| s.is_steady() && s.deployments[0].failed_tasks == 1,
        )
        .await;
    println!("{name}: steady again {:?} after rm", marked.elapsed());
    assert_eq!((s.desired_count, s.running_count), (2, 2));
    assert!(
        s.events.iter().any(|e| e.message
            == format!(
                "(service app) (task {}) failed container health checks.",
                victim.task_id
            )),
        "{:#?}",
        s.events
    );
    let live = h.live();
    assert_eq!(live.len(), 2, "{live:#?}");
    // Only the unhealthy task was replaced.
    assert!(live.iter().all(|t| t.task_id != victim.task_id));
    assert!(live.iter().any(|t| t.task_id == survivor.task_id));
    for t in &live {
        assert_eq!(t.last_status, TaskStatus::Running, "{t:?}");
        assert_eq!(t.health_status, HealthStatus::Healthy, "{t:?}");
    }
    h.delete().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unhealthy_task_is_replaced_on_docker() {
    unhealthy_task_is_replaced("docker", docker1()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unhealthy_task_is_replaced_on_podman() {
    unhealthy_task_is_replaced("podman", podman()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_daemon_service_follows_docker_and_podman_instances() {
    let mut h = Harness::new("daemon", vec![docker1(), podman()]).await;
    let started = Instant::now();
    h.ecs
        .create_service(CreateService::daemon(
            h.cluster.clone(),
            h.service.clone(),
            format!("{}:1", h.family).parse().unwrap(),
        ))
        .unwrap();
    h.wait("one task on each instance", Duration::from_secs(90), |s| {
        s.is_steady() && s.desired_count == 2
    })
    .await;
    println!(
        "daemon: steady on 2 instances after {:?}",
        started.elapsed()
    );
    assert_eq!(
        h.per_instance(),
        BTreeMap::from([("i-docker".into(), 1), ("i-podman".into(), 1)])
    );
    // The engines agree: one running container each.
    for e in &h.engines {
        assert_eq!(h.running_on(e).await, 1, "{}", e.instance);
    }

    // A second Docker daemon joins: a task starts there.
    let joined = Instant::now();
    h.register(docker2()).await;
    h.wait("a task on the new instance", Duration::from_secs(90), |s| {
        s.is_steady() && s.desired_count == 3
    })
    .await;
    println!(
        "daemon: steady on 3 instances {:?} after the join",
        joined.elapsed()
    );
    assert_eq!(
        h.per_instance(),
        BTreeMap::from([
            ("i-docker".into(), 1),
            ("i-docker2".into(), 1),
            ("i-podman".into(), 1)
        ])
    );
    assert_eq!(h.running_on(h.engine("i-docker2")).await, 1);

    // Podman drains: its task stops and none takes its place there.
    let on_podman = h.ever_on("i-podman");
    assert_eq!(on_podman.len(), 1, "{on_podman:#?}");
    let drained = Instant::now();
    h.ecs
        .update_container_instances_state(UpdateContainerInstancesState::new(
            h.cluster.clone(),
            vec!["i-podman".parse().unwrap()],
            InstanceStatus::Draining,
        ))
        .unwrap();
    h.wait("steady on the other two", Duration::from_secs(60), |s| {
        s.is_steady() && s.desired_count == 2
    })
    .await;
    // Service changes wake `wait_for_service`, not the task's last steps: its own wait.
    timeout(
        Duration::from_secs(30),
        h.ecs.wait_for(&on_podman[0].task_id, |t| {
            t.last_status == TaskStatus::Stopped
        }),
    )
    .await
    .expect("podman's task STOPPED")
    .unwrap();
    println!(
        "daemon: podman's task gone {:?} after draining",
        drained.elapsed()
    );
    let stopped = h.ever_on("i-podman");
    assert_eq!(stopped.len(), 1, "{stopped:#?}");
    assert_eq!(stopped[0].task_id, on_podman[0].task_id);
    assert_eq!(
        stopped[0].stopped_reason.as_deref(),
        Some("Container instance is draining")
    );
    assert_eq!(h.running_on(h.engine("i-podman")).await, 0);
    assert_eq!(
        h.per_instance(),
        BTreeMap::from([("i-docker".into(), 1), ("i-docker2".into(), 1)])
    );

    h.delete().await;
    // Still the one task on podman: nothing was placed there while it drained.
    assert_eq!(h.ever_on("i-podman").len(), 1);
}
