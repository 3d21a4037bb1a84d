//! An engine restart, on Docker and on Podman: the engine's API server is stopped under
//! a running task and started again. The agent reports itself disconnected meanwhile,
//! reconnects, and keeps track of the container that kept running: same container, task
//! still RUNNING, and events flow again.
//!
//! Docker: the second daemon (`scripts/engines` starts it with live restore, so its
//! containers outlive it). Podman: its service on TCP (Podman has no daemon: the
//! containers run under conmon whatever happens to the API service). Both are engines
//! the other tests use; cargo runs test binaries one at a time, and the two tests here
//! take turns (`ONE_AT_A_TIME`), since each runs `scripts/engines` to restart its engine.

#[path = "support/engines.rs"]
mod engines;

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

use ecs::control::{EcsConfig, RegisterContainerInstance, RunTask};
use ecs::podman::PodmanRuntime;
use ecs::runtime::{
    Capabilities, ContainerEvent, ContainerId, ContainerInfo, ContainerRuntime, ContainerSpec,
    ContainerState, ContainerStats, HostInfo, PullPolicy, RuntimeError,
};
use ecs::task::{ContainerStatus, TaskStatus};
use ecs::{ClusterName, Ecs, InstanceId, TaskDefinition};
use tokio::time::{sleep, timeout};

const SOCKET_DIR: &str = "/run/ecs-docker2";

static ONE_AT_A_TIME: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// An engine's runtime that counts its failed lists: the agent's resyncs (one list of the
/// instance's containers each), which fail while the engine is down, are seen to happen
/// rather than waited for by the clock. Made `blind`, its lists and inspects fail: what
/// the agent learns then, it learns from events.
struct Counted {
    inner: Arc<dyn ContainerRuntime>,
    failed_lists: AtomicUsize,
    blind: AtomicBool,
}

#[async_trait::async_trait]
impl ContainerRuntime for Counted {
    fn name(&self) -> String {
        self.inner.name()
    }
    fn capabilities(&self) -> Capabilities {
        self.inner.capabilities()
    }
    async fn describe_host(&self) -> Result<HostInfo, RuntimeError> {
        self.inner.describe_host().await
    }
    async fn ensure_image(&self, image: &str, policy: PullPolicy) -> Result<(), RuntimeError> {
        self.inner.ensure_image(image, policy).await
    }
    async fn create_container(&self, spec: &ContainerSpec) -> Result<ContainerId, RuntimeError> {
        self.inner.create_container(spec).await
    }
    async fn start_container(&self, id: &ContainerId) -> Result<(), RuntimeError> {
        self.inner.start_container(id).await
    }
    async fn stop_container(&self, id: &ContainerId, t: Duration) -> Result<(), RuntimeError> {
        self.inner.stop_container(id, t).await
    }
    async fn remove_container(&self, id: &ContainerId) -> Result<(), RuntimeError> {
        self.inner.remove_container(id).await
    }
    async fn remove_volume(&self, name: &str) -> Result<(), RuntimeError> {
        self.inner.remove_volume(name).await
    }
    async fn inspect_container(&self, id: &ContainerId) -> Result<ContainerInfo, RuntimeError> {
        if self.blind.load(Ordering::SeqCst) {
            return Err(RuntimeError::Unavailable("blind: events only".into()));
        }
        self.inner.inspect_container(id).await
    }
    async fn container_stats(&self, id: &ContainerId) -> Result<ContainerStats, RuntimeError> {
        self.inner.container_stats(id).await
    }
    async fn list_containers(
        &self,
        labels: &BTreeMap<String, String>,
    ) -> Result<Vec<ContainerInfo>, RuntimeError> {
        if self.blind.load(Ordering::SeqCst) {
            return Err(RuntimeError::Unavailable("blind: events only".into()));
        }
        let answer = self.inner.list_containers(labels).await;
        if answer.is_err() {
            self.failed_lists.fetch_add(1, Ordering::SeqCst);
        }
        answer
    }
    async fn events(
        &self,
    ) -> Result<futures::stream::BoxStream<'static, ContainerEvent>, RuntimeError> {
        self.inner.events().await
    }
    async fn container_logs(
        &self,
        id: &ContainerId,
        options: &ecs::runtime::LogOptions,
    ) -> Result<
        futures::stream::BoxStream<'static, Result<ecs::runtime::LogLine, RuntimeError>>,
        RuntimeError,
    > {
        self.inner.container_logs(id, options).await
    }
    async fn exec(
        &self,
        id: &ContainerId,
        spec: &ecs::runtime::ExecSpec,
    ) -> Result<ecs::runtime::ExecSession, RuntimeError> {
        self.inner.exec(id, spec).await
    }

    async fn ensure_network(
        &self,
        name: &str,
        labels: &std::collections::BTreeMap<String, String>,
    ) -> Result<ecs::runtime::ContainerNetwork, RuntimeError> {
        self.inner.ensure_network(name, labels).await
    }
}

/// The pid of the process whose command line is exactly `cmdline` (NUL-separated).
fn pid_of(cmdline: &[&str]) -> Option<String> {
    let want = cmdline.join("\0");
    std::fs::read_dir("/proc").ok()?.flatten().find_map(|e| {
        let name = e.file_name().into_string().ok()?;
        name.parse::<u32>().ok()?;
        let found = std::fs::read_to_string(e.path().join("cmdline")).ok()?;
        (found.trim_end_matches('\0') == want).then_some(name)
    })
}

async fn agent_connected(
    ecs: &Ecs,
    cluster: &ClusterName,
    id: &InstanceId,
    want: bool,
    within: Duration,
) {
    timeout(within, async {
        while ecs
            .describe_cluster(cluster)
            .unwrap()
            .instance(id)
            .unwrap()
            .agent_connected()
            != want
        {
            sleep(Duration::from_millis(100)).await;
        }
    })
    .await
    .unwrap_or_else(|_| panic!("agent connected != {want} within {within:?}"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_agent_survives_a_docker_restart() {
    let _turn = ONE_AT_A_TIME.lock().await;
    let host = engines::docker2_host();
    let rt = Arc::new(engines::docker2());
    let pid = std::fs::read_to_string(format!("{SOCKET_DIR}/docker.pid"))
        .unwrap()
        .trim()
        .to_owned();
    survives_restart(rt, "i-docker2", &pid, &["docker", "-H", &host]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_agent_survives_a_podman_restart() {
    let _turn = ONE_AT_A_TIME.lock().await;
    let host = engines::podman_tcp_host();
    let rt = Arc::new(PodmanRuntime::connect(&host).expect("podman on TCP (run scripts/engines)"));
    // As scripts/engines starts it.
    let pid = pid_of(&["podman", "system", "service", "--time=0", &host])
        .expect("podman's TCP service (run scripts/engines)");
    survives_restart(rt, "i-podman", &pid, &["podman"]).await;
}

/// Runs a task on `rt`, stops the engine's API server (`pid`) and starts it again
/// (`scripts/engines`), then kills the container with the engine's CLI (`cli`).
async fn survives_restart(rt: Arc<dyn ContainerRuntime>, instance: &str, pid: &str, cli: &[&str]) {
    let rt = Arc::new(Counted {
        inner: rt,
        failed_lists: AtomicUsize::new(0),
        blind: AtomicBool::new(false),
    });
    let image = engines::image();
    let mut config = EcsConfig::default();
    config.resync_interval = Duration::from_secs(2);
    config.reconnect_interval = Duration::from_millis(500);
    let ecs = Ecs::new(config);
    let cluster: ClusterName = format!("restart-{}", std::process::id()).parse().unwrap();
    let instance: InstanceId = instance.parse().unwrap();
    ecs.create_cluster(cluster.clone()).unwrap();
    ecs.register_container_instance(RegisterContainerInstance::new(
        cluster.clone(),
        instance.clone(),
        rt.clone(),
    ))
    .await
    .unwrap();
    let family = format!("restart-{instance}-{}", std::process::id());
    let td = format!(
        r#"{{"family": "{family}", "containerDefinitions": [{{"name": "app", "image": "{image}", "memory": 16,
            "command": ["sh", "-c", "trap 'exit 0' TERM; while true; do sleep 1; done"]}}]}}"#
    );
    ecs.register_task_definition(TaskDefinition::from_json(&td).unwrap().definition)
        .unwrap();
    let out = ecs
        .run_task(RunTask::new(cluster.clone(), family.parse().unwrap(), 1))
        .unwrap();
    let id = out.tasks[0].task_id.clone();
    let task = timeout(
        Duration::from_secs(30),
        ecs.wait_for(&id, |t| t.last_status == TaskStatus::Running),
    )
    .await
    .unwrap()
    .unwrap();
    let container = task.container("app").unwrap().runtime_id.clone().unwrap();
    agent_connected(&ecs, &cluster, &instance, true, Duration::from_secs(10)).await;

    // Stop the engine's server (the container keeps running).
    assert!(
        std::process::Command::new("kill")
            .args(["-TERM", pid])
            .status()
            .unwrap()
            .success()
    );
    timeout(Duration::from_secs(30), async {
        while Path::new(&format!("/proc/{pid}")).exists() {
            sleep(Duration::from_millis(100)).await;
        }
    })
    .await
    .expect("the engine's server stopped");
    agent_connected(&ecs, &cluster, &instance, false, Duration::from_secs(10)).await;
    // Resyncs fail while it is down (one every 2 s); after two of them the task is
    // still not given up.
    let failed_before = rt.failed_lists.load(Ordering::SeqCst);
    timeout(Duration::from_secs(20), async {
        while rt.failed_lists.load(Ordering::SeqCst) < failed_before + 2 {
            sleep(Duration::from_millis(100)).await;
        }
    })
    .await
    .expect("two resyncs tried while the engine was down");
    let during = ecs
        .describe_tasks(&cluster, std::slice::from_ref(&id))
        .unwrap()
        .remove(0);
    assert_eq!(during.last_status, TaskStatus::Running);

    // Start it again, as provisioning does.
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/engines");
    let status = std::process::Command::new(script)
        .stdout(std::process::Stdio::null())
        .status()
        .unwrap();
    assert!(status.success(), "scripts/engines");
    agent_connected(&ecs, &cluster, &instance, true, Duration::from_secs(15)).await;
    let info = rt.inspect_container(&container).await.unwrap();
    assert_eq!(
        info.state,
        ContainerState::Running,
        "the container outlived the daemon"
    );
    let after = ecs
        .describe_tasks(&cluster, std::slice::from_ref(&id))
        .unwrap()
        .remove(0);
    assert_eq!(after.last_status, TaskStatus::Running);
    assert_eq!(
        after.container("app").unwrap().runtime_id.as_ref(),
        Some(&container),
        "same container"
    );

    // Events flow again: an outside kill is seen, with the resync made blind so that
    // only the event can tell.
    rt.blind.store(true, Ordering::SeqCst);
    let out = std::process::Command::new(cli[0])
        .args(&cli[1..])
        .args(["kill", &container.0])
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let stopped = timeout(
        Duration::from_secs(10),
        ecs.wait_for(&id, |t| t.last_status == TaskStatus::Stopped),
    )
    .await
    .expect("seen after the restart")
    .unwrap();
    assert_eq!(
        stopped.container("app").unwrap().last_status,
        ContainerStatus::Stopped
    );
    assert_eq!(stopped.container("app").unwrap().exit_code, Some(137));
}
