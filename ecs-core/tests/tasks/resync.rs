//! The safety net for missed events costs the engine one list per instance per resync
//! interval, and one per reopened event stream, however many tasks the instance runs
//! (a counting runtime around the in-memory one, paused clock).

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use crate::support::counting::Counting;
use ecs_core::cluster::Resources;
use ecs_core::control::{EcsConfig, RegisterContainerInstance, RunTask};
use ecs_core::runtime::InMemoryRuntime;
use ecs_core::task::{StopCode, TaskStatus};
use ecs_core::{ClusterName, Ecs, TaskDefinition};

const APP: &str = r#"{"family": "app", "containerDefinitions": [
    {"name": "app", "image": "busybox", "memory": 16, "cpu": 16}]}"#;

const INSTANCES: usize = 2;
const INTERVAL: Duration = Duration::from_secs(10);

fn dev() -> ClusterName {
    "dev".parse().unwrap()
}

struct Fleet {
    ecs: Ecs,
    engines: Vec<(InMemoryRuntime, Arc<Counting>)>,
}

impl Fleet {
    async fn new(resync: Duration) -> Self {
        let mut config = EcsConfig::default();
        config.resync_interval = resync;
        let ecs = Ecs::new(config);
        ecs.create_cluster(dev()).unwrap();
        let mut engines = Vec::new();
        for i in 0..INSTANCES {
            let rt = InMemoryRuntime::new(Resources::new(65_536, 65_536));
            let counting = Arc::new(Counting::new(Arc::new(rt.clone())));
            ecs.register_container_instance(RegisterContainerInstance::new(
                dev(),
                format!("i-{i}").parse().unwrap(),
                counting.clone(),
            ))
            .await
            .unwrap();
            engines.push((rt, counting));
        }
        ecs.register_task_definition(TaskDefinition::from_json(APP).unwrap().definition)
            .unwrap();
        Self { ecs, engines }
    }

    /// Starts `n` more tasks and waits until they run.
    async fn run(&self, n: u32) {
        let mut left = n;
        while left > 0 {
            let out = self
                .ecs
                .run_task(RunTask::new(dev(), "app".parse().unwrap(), left.min(10)))
                .unwrap();
            for t in &out.tasks {
                self.ecs
                    .wait_for(&t.task_id, |t| t.last_status == TaskStatus::Running)
                    .await
                    .unwrap();
            }
            left -= out.tasks.len() as u32;
        }
    }

    /// The calls each engine gets over `intervals` resync intervals, by operation.
    async fn calls_over(&self, intervals: u32) -> Vec<BTreeMap<&'static str, u64>> {
        let before: Vec<_> = self.engines.iter().map(|(_, c)| c.calls()).collect();
        tokio::time::sleep(INTERVAL * intervals).await;
        self.engines
            .iter()
            .zip(before)
            .map(|((_, c), before)| {
                c.calls()
                    .into_iter()
                    .map(|(op, n)| (op, n - before.get(op).copied().unwrap_or(0)))
                    .filter(|(_, n)| *n > 0)
                    .collect()
            })
            .collect()
    }
}

#[tokio::test(flavor = "current_thread", start_paused = true)]
async fn a_resync_lists_each_instance_once_however_many_tasks_it_runs() {
    let fleet = Fleet::new(INTERVAL).await;
    fleet.run(10).await;
    let few = fleet.calls_over(10).await;
    fleet.run(90).await;
    let many = fleet.calls_over(10).await;

    // One list per instance per interval (the window's ends fall between ticks or on
    // one), nothing else, and as many with 100 tasks as with 10.
    assert_eq!(few, many);
    for calls in &few {
        assert_eq!(calls.len(), 1, "{few:?}");
        assert!((9..=10).contains(&calls["list_containers"]), "{few:?}");
    }
}

#[tokio::test(flavor = "current_thread", start_paused = true)]
async fn a_reopened_event_stream_costs_one_list_per_instance() {
    // No periodic resync comes due meanwhile: each list counted is a reopen's.
    let fleet = Fleet::new(Duration::from_secs(3600)).await;
    fleet.run(40).await;
    let (rt, counting) = &fleet.engines[0];
    let (lists, inspects) = (
        counting.of("list_containers"),
        counting.of("inspect_container"),
    );
    // The engine goes away and comes back within one resync interval.
    rt.set_unavailable(true);
    tokio::time::sleep(Duration::from_millis(100)).await;
    rt.set_unavailable(false);
    // The agent reconnects after its reconnect interval (5 s), still within the interval.
    tokio::time::sleep(Duration::from_secs(6)).await;
    assert_eq!(counting.of("events"), 2, "{:?}", counting.calls());
    assert_eq!(
        counting.of("list_containers") - lists,
        1,
        "{:?}",
        counting.calls()
    );
    assert_eq!(
        counting.of("inspect_container"),
        inspects,
        "{:?}",
        counting.calls()
    );
}

#[tokio::test(flavor = "current_thread", start_paused = true)]
async fn an_exit_no_event_told_of_is_found_by_the_next_resync() {
    let fleet = Fleet::new(INTERVAL).await;
    fleet.run(20).await;
    let (rt, _) = &fleet.engines[1];
    let victim = rt.containers()[3].clone();
    rt.kill_silently(&victim.id, 3).unwrap();
    let task_id = victim.labels[ecs_core::runtime::labels::TASK_ARN]
        .rsplit('/')
        .next()
        .unwrap()
        .parse()
        .unwrap();
    let start = tokio::time::Instant::now();
    let task = fleet
        .ecs
        .wait_for(&task_id, |t| t.last_status == TaskStatus::Stopped)
        .await
        .unwrap();
    assert!(start.elapsed() <= INTERVAL);
    assert_eq!(task.stop_code, Some(StopCode::EssentialContainerExited));
    assert_eq!(task.containers[0].exit_code, Some(3));
}
