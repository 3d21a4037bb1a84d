//! Random crashes: a control plane on a store runs a service and standalone tasks through
//! random requests and engine faults, and is halted (every loop ends where it is, as a
//! SIGKILL would end it) at a random instant, twice per seed; the engines' calls take
//! random time, so the crash falls between any two steps of any operation. After the
//! last restart the state must converge, and: no task runs twice, no container is
//! left that no task owns, nothing made durable is lost, and the desired count is met.
//!
//! `ECS_CRASH_SEEDS=1000` searches further (default 120 seeds, 240 crashes).

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::Duration;

use ecs_core::cluster::Resources;
use ecs_core::control::{EcsConfig, ListTasks, RegisterContainerInstance, RunTask, StopTask};
use ecs_core::runtime::{ContainerState, InMemoryRuntime, labels};
use ecs_core::service::{CreateService, UpdateService};
use ecs_core::store::{Kind, MemoryStore, Record, Store, Write};
use ecs_core::task::{Task, TaskStatus};
use ecs_core::{ClusterName, Ecs, InstanceId, ServiceName, TaskDefinition, TaskId};

fn cluster() -> ClusterName {
    "dev".parse().unwrap()
}

fn web() -> ServiceName {
    "web".parse().unwrap()
}

fn definition(version: u32) -> TaskDefinition {
    TaskDefinition::from_json(&format!(
        r#"{{"family": "web", "containerDefinitions": [
            {{"name": "app", "image": "busybox", "memory": 128, "cpu": 128,
              "environment": [{{"name": "V", "value": "{version}"}}],
              "command": ["sh", "-c", "trap 'exit 0' TERM; while true; do sleep 1; done"]}}]}}"#
    ))
    .unwrap()
    .definition
}

fn config() -> EcsConfig {
    let mut c = EcsConfig::default();
    c.resync_interval = Duration::from_secs(5);
    c.instance_lost_timeout = Duration::from_secs(600);
    c
}

/// A store whose commits take time, as a disk's or a network's do: the window between a
/// change and its durability is real, and crashes fall inside it.
#[derive(Debug)]
struct SlowStore {
    inner: MemoryStore,
    latency: Duration,
}

#[async_trait::async_trait]
impl Store for SlowStore {
    async fn load(&self, kind: Kind) -> Result<Vec<Record>, ecs_core::Error> {
        self.inner.load(kind).await
    }

    async fn get(&self, kind: Kind, key: &str) -> Result<Option<Record>, ecs_core::Error> {
        self.inner.get(kind, key).await
    }

    async fn commit(&self, writes: Vec<Write>) -> Result<Vec<u64>, ecs_core::Error> {
        // Applied at the end: a crash meanwhile loses the whole commit, as it would.
        tokio::time::sleep(self.latency).await;
        self.inner.commit(writes).await
    }
}

/// What was made durable before each crash (flushed), which must survive it.
#[derive(Default)]
struct Durable {
    /// The desired count last flushed, and those asked for since (any may have landed).
    desired: u32,
    desired_since: Vec<u32>,
    revisions: u32,
    standalone: BTreeSet<TaskId>,
    /// Standalone tasks run since the last flush (any may have landed).
    standalone_since: Vec<TaskId>,
}

struct World {
    store: Arc<SlowStore>,
    engines: Vec<(InstanceId, InMemoryRuntime)>,
    durable: Durable,
}

impl World {
    /// A control plane on the store, its instances registered (again, but the
    /// `first` time, when the cluster is created first).
    async fn open(&self, first: bool) -> Ecs {
        let ecs = Ecs::open(config(), self.store.clone()).await.unwrap();
        if first {
            ecs.create_cluster(cluster()).unwrap();
        }
        for (id, rt) in &self.engines {
            ecs.register_container_instance(RegisterContainerInstance::new(
                cluster(),
                id.clone(),
                Arc::new(rt.clone()),
            ))
            .await
            .unwrap();
        }
        ecs
    }

    fn live(ecs: &Ecs) -> Vec<Task> {
        let ids = ecs.list_tasks(ListTasks::new(cluster())).unwrap();
        ecs.describe_tasks(&cluster(), &ids)
            .unwrap()
            .into_iter()
            .filter(|t| t.last_status != TaskStatus::Stopped)
            .collect()
    }

    /// One random request or fault.
    async fn step(&mut self, ecs: &Ecs, rng: &mut fastrand::Rng) {
        match rng.u8(0..10) {
            0..=2 => {
                let n = rng.u32(0..6);
                if ecs
                    .update_service(UpdateService::new(cluster(), web()).with_desired_count(n))
                    .is_ok()
                {
                    self.durable.desired_since.push(n);
                }
            }
            3 => {
                if let Ok(out) = ecs.run_task(RunTask::new(cluster(), "web".parse().unwrap(), 1))
                    && let Some(t) = out.tasks.first()
                {
                    // Durable only once flushed.
                    self.durable.standalone_since.push(t.task_id.clone());
                }
            }
            4 => {
                let live = Self::live(ecs);
                if !live.is_empty() {
                    let t = &live[rng.usize(..live.len())];
                    let _ = ecs.stop_task(
                        StopTask::new(cluster(), t.task_id.clone()).with_reason("random stop"),
                    );
                }
            }
            5 | 6 => {
                // An engine fault: a container dies.
                let (_, rt) = &self.engines[rng.usize(..self.engines.len())];
                let running: Vec<_> = rt
                    .containers()
                    .into_iter()
                    .filter(|c| c.state == ContainerState::Running)
                    .collect();
                if !running.is_empty() {
                    let c = &running[rng.usize(..running.len())];
                    let _ = rt.kill(&c.id, 1);
                }
            }
            7 => {
                let r = ecs
                    .register_task_definition(definition(rng.u32(..)))
                    .unwrap();
                let _ = ecs.update_service(
                    UpdateService::new(cluster(), web()).with_task_definition(r.reference),
                );
            }
            _ => {
                // Time passes.
                tokio::time::sleep(Duration::from_millis(rng.u64(0..3000))).await;
            }
        }
        if rng.bool() {
            // What is flushed is durable: from now on it must survive.
            ecs.flush().await.unwrap();
            let s = ecs.describe_service(&cluster(), &web()).unwrap();
            self.durable.desired = s.desired_count;
            self.durable.desired_since.clear();
            self.durable.revisions = ecs
                .describe_task_definition(&"web".parse().unwrap())
                .unwrap()
                .revision
                .unwrap() as u32;
            let since = std::mem::take(&mut self.durable.standalone_since);
            self.durable.standalone.extend(since);
        }
    }

    /// Converged: the service steady at its desired count, every task RUNNING or
    /// STOPPED, the engines holding exactly the live tasks' containers.
    fn converged(ecs: &Ecs, engines: &[(InstanceId, InMemoryRuntime)]) -> Result<(), String> {
        let s = ecs.describe_service(&cluster(), &web()).unwrap();
        let live = Self::live(ecs);
        let running_service = live
            .iter()
            .filter(|t| {
                t.group.to_string() == "service:web" && t.last_status == TaskStatus::Running
            })
            .count();
        if !s.is_steady() || running_service != s.desired_count as usize {
            return Err(format!(
                "service not converged: steady {}, desired {}, running {running_service}",
                s.is_steady(),
                s.desired_count
            ));
        }
        if let Some(t) = live.iter().find(|t| t.last_status != TaskStatus::Running) {
            return Err(format!("task {} is {}", t.task_id, t.last_status));
        }
        let arns: BTreeMap<String, &Task> =
            live.iter().map(|t| (t.task_arn.to_string(), t)).collect();
        let mut seen: BTreeMap<String, usize> = BTreeMap::new();
        for (i, rt) in engines {
            for c in rt.containers() {
                let arn = c.labels.get(labels::TASK_ARN).cloned().unwrap_or_default();
                let Some((arn, t)) = arns.get_key_value(arn.as_str()) else {
                    return Err(format!(
                        "container {} on {i} is no live task's ({arn})",
                        c.id.0
                    ));
                };
                if t.container_instance.as_ref() != Some(i) {
                    return Err(format!("container {} of {} on {i}", c.id.0, t.task_id));
                }
                *seen.entry(arn.clone()).or_default() += 1;
            }
        }
        for t in &live {
            if seen.get(&t.task_arn.to_string()) != Some(&t.containers.len()) {
                return Err(format!(
                    "task {} has {:?} containers on its engine",
                    t.task_id,
                    seen.get(&t.task_arn.to_string())
                ));
            }
        }
        Ok(())
    }
}

async fn one_seed(seed: u64) {
    let mut rng = fastrand::Rng::with_seed(seed);
    let mut world = World {
        store: Arc::new(SlowStore {
            inner: MemoryStore::new(),
            latency: Duration::from_millis(rng.u64(1..50)),
        }),
        engines: (0..3)
            .map(|i| {
                let rt = InMemoryRuntime::new(Resources::new(2048, 4096));
                // Engine calls take time: crashes fall between their steps.
                rt.set_latency(Duration::from_millis(rng.u64(0..80)));
                (format!("i-{i}").parse().unwrap(), rt)
            })
            .collect(),
        durable: Durable::default(),
    };
    let ecs = world.open(true).await;
    ecs.register_task_definition(definition(0)).unwrap();
    ecs.create_service(CreateService::new(
        cluster(),
        web(),
        "web".parse().unwrap(),
        3,
    ))
    .unwrap();
    ecs.flush().await.unwrap();
    world.durable.desired = 3;
    world.durable.revisions = 1;
    let mut ecs = ecs;
    for _crash in 0..2 {
        for _ in 0..rng.usize(1..25) {
            world.step(&ecs, &mut rng).await;
        }
        // The crash, at a random instant of whatever is under way.
        tokio::time::sleep(Duration::from_millis(rng.u64(0..2000))).await;
        ecs.halt().await;
        drop(ecs);
        ecs = world.open(false).await;
        // Every container on the engines belongs to a task in the store: runners create
        // containers only once their task is durable, so no crash leaves an orphan.
        for r in ecs.recovery_reports() {
            assert!(r.orphans.is_empty(), "seed {seed}: orphans {r:?}");
        }
        // Nothing durable was lost.
        let s = ecs.describe_service(&cluster(), &web()).unwrap();
        let d = &world.durable;
        assert!(
            s.desired_count == d.desired || d.desired_since.contains(&s.desired_count),
            "seed {seed}: desired count {} after the crash; durable {}, asked since {:?}",
            s.desired_count,
            d.desired,
            d.desired_since
        );
        let revisions = ecs
            .describe_task_definition(&"web".parse().unwrap())
            .unwrap()
            .revision
            .unwrap() as u32;
        assert!(revisions >= d.revisions, "seed {seed}: revisions lost");
        for t in &d.standalone {
            assert_eq!(
                ecs.describe_tasks(&cluster(), std::slice::from_ref(t))
                    .unwrap()
                    .len(),
                1,
                "seed {seed}: standalone task {t} lost"
            );
        }
        world.durable.desired = s.desired_count;
        world.durable.desired_since.clear();
        world.durable.standalone_since.clear();
    }
    // Converges within a virtual hour (back-off after repeated failures included).
    let deadline = tokio::time::Instant::now() + Duration::from_secs(3600);
    loop {
        match World::converged(&ecs, &world.engines) {
            Ok(()) => break,
            Err(e) if tokio::time::Instant::now() >= deadline => {
                panic!(
                    "seed {seed}: not converged: {e}\nreports: {:#?}",
                    ecs.recovery_reports()
                )
            }
            Err(_) => tokio::time::sleep(Duration::from_secs(1)).await,
        }
    }
    ecs.halt().await;
}

#[tokio::test(start_paused = true)]
async fn crashes_at_random_points_lose_nothing_and_repeat_nothing() {
    let seeds: u64 = std::env::var("ECS_CRASH_SEEDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(120);
    for seed in 0..seeds {
        one_seed(seed).await;
    }
}
