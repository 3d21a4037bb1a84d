//! Crash recovery on real Docker: a child process embeds the library with its state in a
//! file (`FileStore`), runs a service of 3 tasks, and is killed with SIGKILL; a new
//! child opens the same file and must adopt the very containers that kept running
//! (same container ids), starting nothing twice. Then a child is killed while it scales
//! the service from 3 to 5, at a random instant, and the next one finishes the job: 5
//! tasks, each with one container, and no other container of the cluster on the engine.
//!
//! The children are this test binary run again on `child` (an ignored test: it is
//! only ever run that way, with `ECS_RECOVERY_STORE` set).

#[path = "support/engines.rs"]
mod engines;

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

use ecs::control::{EcsConfig, ListTasks, RegisterContainerInstance};
use ecs::docker::DockerRuntime;
use ecs::runtime::{ContainerRuntime, ContainerState, labels};
use ecs::service::{CreateService, UpdateService};
use ecs::store::FileStore;
use ecs::task::TaskStatus;
use ecs::{ClusterName, Ecs, ServiceName, TaskDefinition};

fn web() -> ServiceName {
    "web".parse().unwrap()
}

/// A child's life: open the store, (first time) create the cluster, definition and
/// service, register the Docker instance (again), apply `ECS_RECOVERY_DESIRED`, and
/// report on stdout; then wait to be killed.
async fn child_main(store: &str, cluster: ClusterName) {
    let mut config = EcsConfig::default();
    config.resync_interval = Duration::from_secs(2);
    let store = Arc::new(FileStore::open(store).expect("the store"));
    let ecs = Ecs::open(config, store).await.expect("open");
    let first = ecs.describe_cluster(&cluster).is_err();
    if first {
        let image = engines::image();
        ecs.create_cluster(cluster.clone()).unwrap();
        ecs.register_task_definition(
            TaskDefinition::from_json(&format!(
                r#"{{"family": "{cluster}", "containerDefinitions": [{{"name": "app",
                    "image": "{image}", "memory": 16,
                    "command": ["sh", "-c", "trap 'exit 0' TERM; while true; do sleep 1; done"]}}]}}"#
            ))
            .unwrap()
            .definition,
        )
        .unwrap();
        ecs.create_service(CreateService::new(
            cluster.clone(),
            web(),
            cluster.to_string().parse().unwrap(),
            3,
        ))
        .unwrap();
    }
    let docker = engines::docker();
    ecs.register_container_instance(RegisterContainerInstance::new(
        cluster.clone(),
        "i-docker".parse().unwrap(),
        Arc::new(docker),
    ))
    .await
    .unwrap();
    for r in ecs.recovery_reports() {
        println!(
            "REPORT adopted={} stopping={} resumed={} vanished={} orphans={}",
            r.adopted.len(),
            r.stopping.len(),
            r.resumed.len(),
            r.vanished.len(),
            r.orphans.len()
        );
    }
    if let Ok(n) = std::env::var("ECS_RECOVERY_DESIRED") {
        let n: u32 = n.parse().unwrap();
        ecs.update_service(UpdateService::new(cluster.clone(), web()).with_desired_count(n))
            .unwrap();
        ecs.flush().await.unwrap();
        // The parent kills us at a random instant from here.
        println!("ASKED");
    }
    // Ready: as many tasks as desired, every one RUNNING and none on its way out.
    // (Not "steady": that takes 40 s of health for tasks without a health check.)
    let tasks = loop {
        let desired = ecs
            .describe_service(&cluster, &web())
            .unwrap()
            .desired_count;
        let ids = ecs.list_tasks(ListTasks::new(cluster.clone())).unwrap();
        let live: Vec<_> = ecs
            .describe_tasks(&cluster, &ids)
            .unwrap()
            .into_iter()
            .filter(|t| t.last_status != TaskStatus::Stopped)
            .collect();
        if live.len() == desired as usize
            && live.iter().all(|t| {
                t.last_status == TaskStatus::Running && t.desired_status == TaskStatus::Running
            })
        {
            break live;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    ecs.flush().await.unwrap();
    let mut line = format!("READY {}", tasks.len());
    for t in tasks {
        let c = t.containers[0].runtime_id.clone().unwrap();
        line.push_str(&format!(" {}={}", t.task_id, c.0));
    }
    println!("{line}");
    std::future::pending::<()>().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "a child process of the test below, run only by it"]
async fn child() {
    let store = std::env::var("ECS_RECOVERY_STORE").expect("run by real_recovery's parent");
    let cluster = std::env::var("ECS_RECOVERY_CLUSTER")
        .unwrap()
        .parse()
        .unwrap();
    child_main(&store, cluster).await;
}

struct Running {
    child: Child,
    lines: std::sync::mpsc::Receiver<String>,
}

fn spawn(store: &std::path::Path, cluster: &ClusterName, desired: Option<u32>) -> Running {
    let mut cmd = Command::new(std::env::current_exe().unwrap());
    cmd.args([
        "child",
        "--exact",
        "--ignored",
        "--nocapture",
        "--test-threads=1",
    ])
    .env("ECS_RECOVERY_STORE", store)
    .env("ECS_RECOVERY_CLUSTER", cluster.to_string())
    .stdout(Stdio::piped())
    .stderr(Stdio::inherit());
    if let Some(n) = desired {
        cmd.env("ECS_RECOVERY_DESIRED", n.to_string());
    }
    let mut child = cmd.spawn().unwrap();
    let out = BufReader::new(child.stdout.take().unwrap());
    let (tx, lines) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in out.lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                return;
            }
        }
    });
    Running { child, lines }
}

impl Running {
    /// The first line with `prefix`, from there, within `within`.
    fn expect(&self, prefix: &str, within: Duration) -> String {
        let deadline = std::time::Instant::now() + within;
        loop {
            let left = deadline.saturating_duration_since(std::time::Instant::now());
            match self.lines.recv_timeout(left) {
                // (The test harness's "test child ... " may come first on the line.)
                Ok(line) if line.contains(prefix) => {
                    let at = line.find(prefix).unwrap_or(0);
                    return line[at..].to_owned();
                }
                Ok(_) => {}
                Err(e) => panic!("no {prefix} line from the child within {within:?}: {e}"),
            }
        }
    }

    /// SIGKILL: no cleanup of any kind runs.
    fn kill(self) {
        drop(self);
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        // Also when a check fails: no child outlives the test.
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `task=container` pairs of a READY line.
fn tasks_of(ready: &str) -> BTreeMap<String, String> {
    ready
        .split_whitespace()
        .skip(2)
        .map(|p| {
            let (t, c) = p.split_once('=').unwrap();
            (t.to_owned(), c.to_owned())
        })
        .collect()
}

async fn on_engine(docker: &DockerRuntime, cluster: &ClusterName) -> Vec<(String, bool)> {
    docker
        .list_containers(&BTreeMap::from([(
            labels::CLUSTER.to_owned(),
            cluster.to_string(),
        )]))
        .await
        .unwrap()
        .into_iter()
        .map(|c| (c.id.0, c.state == ContainerState::Running))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_control_plane_adopts_its_containers_on_restart() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("state.ecs");
    let cluster: ClusterName = format!("recovery-{}", std::process::id()).parse().unwrap();
    let docker = engines::docker();
    let outcome = std::panic::AssertUnwindSafe(async {
        // First life: 3 tasks.
        let first = spawn(&store, &cluster, None);
        let ready = first.expect("READY", Duration::from_secs(90));
        let before = tasks_of(&ready);
        assert_eq!(before.len(), 3, "{ready}");
        first.kill();
        let mut after_kill: Vec<String> = on_engine(&docker, &cluster)
            .await
            .into_iter()
            .filter(|(_, running)| *running)
            .map(|(id, _)| id)
            .collect();
        after_kill.sort();
        let mut expected: Vec<String> = before.values().cloned().collect();
        expected.sort();
        assert_eq!(
            after_kill, expected,
            "the containers outlived their control plane"
        );

        // Second life: the same tasks on the same containers.
        let second = spawn(&store, &cluster, None);
        let report = second.expect("REPORT", Duration::from_secs(60));
        assert_eq!(
            report,
            "REPORT adopted=3 stopping=0 resumed=0 vanished=0 orphans=0"
        );
        let ready = second.expect("READY", Duration::from_secs(60));
        assert_eq!(tasks_of(&ready), before, "same tasks, same containers");
        assert_eq!(
            on_engine(&docker, &cluster).await.len(),
            3,
            "nothing started twice"
        );
        second.kill();

        // Killed while scaling to 5, at a random instant (from at once to 2 s in).
        let third = spawn(&store, &cluster, Some(5));
        third.expect("ASKED", Duration::from_secs(60));
        tokio::time::sleep(Duration::from_millis(fastrand::u64(0..2000))).await;
        third.kill();
        let fourth = spawn(&store, &cluster, None);
        let ready = fourth.expect("READY", Duration::from_secs(90));
        let tasks = tasks_of(&ready);
        assert!(ready.starts_with("READY 5 "), "{ready}");
        assert_eq!(tasks.len(), 5, "{ready}");
        for (task, container) in &before {
            assert_eq!(
                tasks.get(task),
                Some(container),
                "{task} kept its container"
            );
        }
        // Exactly the tasks' containers: none twice, none orphaned (a container the
        // third life had started is either a task's here, or was removed).
        let mut engine: Vec<String> = on_engine(&docker, &cluster)
            .await
            .into_iter()
            .map(|(id, _)| id)
            .collect();
        engine.sort();
        let mut expected: Vec<String> = tasks.values().cloned().collect();
        expected.sort();
        assert_eq!(engine, expected);
        fourth.kill();
    });
    let outcome = futures::FutureExt::catch_unwind(outcome).await;
    // Whatever happened: no container of this test is left behind.
    for (id, _) in on_engine(&docker, &cluster).await {
        let _ = docker
            .remove_container(&ecs::runtime::ContainerId(id))
            .await;
    }
    if let Err(panic) = outcome {
        std::panic::resume_unwind(panic);
    }
}
