//! A control plane that runs for days stays flat: a service that crash-loops for 48
//! simulated hours beside 100,000 short standalone tasks (tokio's paused clock, the
//! in-memory runtime, a store). The tasks held, the store's task records and the bytes
//! the process holds are the same at hour 12 and hour 48, within a small margin.
//!
//! `ECS_SOAK_TASKS=N` runs another number of standalone tasks over the 48 hours.

use std::alloc::System;
use std::sync::Arc;
use std::time::Duration;

use ecs_core::cluster::Resources;
use ecs_core::control::{EcsConfig, ListTasks, RegisterContainerInstance, RunTask};
use ecs_core::runtime::memory::Matcher;
use ecs_core::runtime::{Behavior, InMemoryRuntime};
use ecs_core::service::{CreateService, ThrottleConfig};
use ecs_core::store::{Kind, MemoryStore, Store};
use ecs_core::task::TaskStatus;
use ecs_core::{ClusterName, Ecs, TaskDefinition};
use stats_alloc::{INSTRUMENTED_SYSTEM, StatsAlloc};

#[global_allocator]
static ALLOCATOR: &StatsAlloc<System> = &INSTRUMENTED_SYSTEM;

/// The bytes the process holds on its heap now.
fn held() -> isize {
    let s = ALLOCATOR.stats();
    // (Reallocations are counted in both already.)
    s.bytes_allocated as isize - s.bytes_deallocated as isize
}

const CRASH: &str = r#"{"family": "crash", "containerDefinitions": [
    {"name": "crash", "image": "busybox", "memory": 64, "cpu": 64}]}"#;
const JOB: &str = r#"{"family": "job", "containerDefinitions": [
    {"name": "job", "image": "busybox", "memory": 16, "cpu": 16}]}"#;

const HOURS: u64 = 48;

fn dev() -> ClusterName {
    "dev".parse().unwrap()
}

/// What is held at one instant.
#[derive(Debug, Clone, Copy)]
struct Picture {
    tasks: usize,
    records: usize,
    bytes: isize,
}

async fn picture(ecs: &Ecs, store: &MemoryStore) -> Picture {
    ecs.flush().await.unwrap();
    let mut all = ecs.list_tasks(ListTasks::new(dev())).unwrap().len();
    // ListTasks without a status lists both; count them once.
    let mut stopped = ListTasks::new(dev());
    stopped.desired_status = Some(TaskStatus::Stopped);
    let mut running = ListTasks::new(dev());
    running.desired_status = Some(TaskStatus::Running);
    let split = ecs.list_tasks(stopped).unwrap().len() + ecs.list_tasks(running).unwrap().len();
    all = all.max(split);
    Picture {
        tasks: all,
        records: store.load(Kind::Task).await.unwrap().len(),
        bytes: held(),
    }
}

fn within(a: f64, b: f64, margin: f64) -> bool {
    (a - b).abs() <= margin * a.max(b)
}

#[tokio::test(flavor = "current_thread", start_paused = true)]
async fn forty_eight_hours_of_a_crash_loop_and_100k_tasks_hold_what_twelve_do() {
    let total: u64 = std::env::var("ECS_SOAK_TASKS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(100_000);
    let minutes = HOURS * 60;
    // Spread evenly: as many launched by each minute as its share of the whole.
    let due = |minute: u64| total * minute / minutes;

    let store = MemoryStore::new();
    let mut config = EcsConfig::default();
    // A tight crash loop: a relaunch at most a minute after each crash.
    config.service_throttle =
        ThrottleConfig::new(3, Duration::from_secs(1), Duration::from_secs(60));
    let ecs = Ecs::open(config, Arc::new(store.clone())).await.unwrap();
    ecs.create_cluster(dev()).unwrap();
    for i in 0..4 {
        let rt = InMemoryRuntime::new(Resources::new(16_384, 65_536));
        rt.set_behavior(
            Matcher::Container("crash".into()),
            Behavior::exits(1, Duration::from_secs(5)),
        );
        rt.set_behavior(
            Matcher::Container("job".into()),
            Behavior::exits(0, Duration::from_secs(1)),
        );
        ecs.register_container_instance(RegisterContainerInstance::new(
            dev(),
            format!("i-{i}").parse().unwrap(),
            Arc::new(rt),
        ))
        .await
        .unwrap();
    }
    for td in [CRASH, JOB] {
        ecs.register_task_definition(TaskDefinition::from_json(td).unwrap().definition)
            .unwrap();
    }
    ecs.create_service(CreateService::new(
        dev(),
        "crash".parse().unwrap(),
        "crash".parse().unwrap(),
        2,
    ))
    .unwrap();

    let (mut launched, mut at_12) = (0u64, None);
    for minute in 1..=minutes {
        tokio::time::sleep(Duration::from_secs(60)).await;
        let mut left = due(minute) - launched;
        while left > 0 {
            let n = left.min(10);
            let out = ecs
                .run_task(RunTask::new(dev(), "job".parse().unwrap(), n as u32))
                .unwrap();
            assert!(out.failures.is_empty(), "{:?}", out.failures);
            launched += n;
            left -= n;
        }
        if minute == 12 * 60 {
            at_12 = Some(picture(&ecs, &store).await);
        }
    }
    let at_12 = at_12.unwrap();
    let at_48 = picture(&ecs, &store).await;
    assert_eq!(launched, total);

    let crash = ecs
        .describe_service(&dev(), &"crash".parse().unwrap())
        .unwrap();
    let failed: u32 = crash.deployments.iter().map(|d| d.failed_tasks).sum();
    eprintln!(
        "hour 12: {at_12:?}; hour 48: {at_48:?}; the service's failed tasks: {failed}; its events: {}",
        crash.events.len()
    );
    // It did crash-loop all along, and what it keeps of that is capped.
    assert!(failed > 1_000, "{failed}");
    assert!(crash.events.len() <= 100);

    assert!(
        within(at_12.tasks as f64, at_48.tasks as f64, 0.05),
        "tasks held: {at_12:?} then {at_48:?}"
    );
    assert!(
        within(at_12.records as f64, at_48.records as f64, 0.05),
        "task records: {at_12:?} then {at_48:?}"
    );
    assert!(
        within(at_12.bytes as f64, at_48.bytes as f64, 0.10),
        "bytes held: {at_12:?} then {at_48:?}"
    );
    // An hour's worth of stopped tasks, not the run's.
    let hourly = (total / HOURS) as usize;
    assert!(at_48.tasks < hourly * 3 / 2 + 100, "{at_48:?}");
}
