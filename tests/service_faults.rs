//! A randomized fault test of the service controller on the in-memory runtime, with
//! tokio's paused clock: thousands of random faults and requests (containers killed,
//! health checks failing, starts failing, engines going away and coming back, instances
//! draining, new revisions, new desired counts). At every event the deployment limits
//! are checked; once the faults stop, the service must converge to exactly its desired
//! tasks, with no duplicate and no orphaned container.

#[path = "support/services.rs"]
mod support;

use std::collections::{HashMap, HashSet};
use std::time::Duration;

use ecs::cluster::InstanceStatus;
use ecs::control::EcsConfig;
use ecs::runtime::memory::{Matcher, Operation};
use ecs::runtime::{Behavior, HealthStatus, RuntimeError};
use ecs::service::{CreateService, DeploymentConfiguration, ThrottleConfig, UpdateService};
use ecs::task::{Event, Task, TaskStatus};
use ecs::{InstanceId, TaskId};
use support::{Harness, cluster, web};
use tokio::sync::broadcast;
use tokio::time::Instant;

const TD: &str = r#"{"family": "web", "containerDefinitions": [
    {"name": "app", "image": "busybox", "memory": 256, "cpu": 256,
     "command": ["sh", "-c", "trap 'exit 0' TERM; while true; do sleep 1; done"],
     "healthCheck": {"command": ["CMD-SHELL", "true"], "interval": 5}}]}"#;

const MIN: u32 = 50;
const MAX: u32 = 150;

fn max_tasks(desired: u32) -> usize {
    let max = desired * MAX / 100;
    // The planner's rule when rounding leaves no room either way (1 task at 50/150).
    if desired > 0 && max <= desired && min_healthy(desired) >= desired as usize {
        desired as usize + 1
    } else {
        max as usize
    }
}

fn min_healthy(desired: u32) -> usize {
    (desired * MIN).div_ceil(100) as usize
}

/// The service's tasks as the event stream tells them, and the checks made at each.
struct Checker {
    tasks: HashMap<TaskId, Task>,
    desired: u32,
    /// Tasks on an instance that was unreachable while they ran: the service may replace
    /// them before they stop, so they are left out of the count.
    tainted: HashSet<TaskId>,
    /// Instances unreachable now.
    outages: HashSet<InstanceId>,
    events: usize,
}

impl Checker {
    fn healthy(&self) -> usize {
        self.tasks
            .values()
            .filter(|t| {
                t.last_status == TaskStatus::Running
                    && t.desired_status == TaskStatus::Running
                    && t.health_status == HealthStatus::Healthy
            })
            .count()
    }

    fn existing(&self) -> usize {
        self.tasks
            .values()
            .filter(|t| t.last_status != TaskStatus::Stopped && !self.tainted.contains(&t.task_id))
            .count()
    }

    fn apply(&mut self, task: &Task, seed: u64) {
        if task.group != "service:web" {
            return;
        }
        self.events += 1;
        let before = self.tasks.insert(task.task_id.clone(), task.clone());
        if self.outages.contains(&task.container_instance) {
            self.tainted.insert(task.task_id.clone());
        }
        match before {
            None => {
                // A new task: the service never starts one above maximumPercent.
                assert!(
                    self.existing() <= max_tasks(self.desired),
                    "seed {seed}: started a task with {} existing, above {MAX}% of {}",
                    self.existing(),
                    self.desired
                );
            }
            Some(before) => {
                let was_healthy = before.last_status == TaskStatus::Running
                    && before.desired_status == TaskStatus::Running
                    && before.health_status == HealthStatus::Healthy;
                // Asked to stop (an exit it reports itself carries its stop code).
                let stopped_now = before.desired_status == TaskStatus::Running
                    && task.desired_status == TaskStatus::Stopped
                    && task.stop_code.is_none();
                if was_healthy && stopped_now && self.outages.is_empty() {
                    assert!(
                        self.healthy() >= min_healthy(self.desired),
                        "seed {seed}: stopped a healthy task leaving {} healthy, below {MIN}% of {}: {task:#?}",
                        self.healthy(),
                        self.desired
                    );
                }
            }
        }
    }

    fn drain(&mut self, rx: &mut broadcast::Receiver<Event>, seed: u64) {
        loop {
            match rx.try_recv() {
                Ok(e) => {
                    if let Some(t) = e.task() {
                        self.apply(t, seed);
                    }
                }
                Err(broadcast::error::TryRecvError::Empty) => return,
                Err(e) => panic!("seed {seed}: the event stream failed: {e}"),
            }
        }
    }
}

async fn run(seed: u64, steps: usize) -> usize {
    let mut rng = fastrand::Rng::with_seed(seed);
    let mut config = EcsConfig::default();
    config.instance_lost_timeout = Duration::from_secs(60);
    config.service_throttle =
        ThrottleConfig::new(3, Duration::from_secs(5), Duration::from_secs(60));
    let h = Harness::with_config(4, config).await;
    for _ in 0..3 {
        h.register(TD);
    }
    for (_, rt) in &h.runtimes {
        rt.set_behavior(
            Matcher::Any,
            Behavior::forever().healthy_after(Some(Duration::from_secs(3))),
        );
    }
    let mut rx = h.ecs.subscribe();
    let mut check = Checker {
        tasks: HashMap::new(),
        desired: 6,
        tainted: HashSet::new(),
        outages: HashSet::new(),
        events: 0,
    };
    h.ecs
        .create_service(
            CreateService::new(cluster(), web(), "web:1".parse().unwrap(), 6)
                .with_deployment_configuration(
                    DeploymentConfiguration::default().with_percents(MIN, MAX),
                ),
        )
        .unwrap();
    let mut outage_ends: Vec<(Instant, usize)> = Vec::new();
    for _ in 0..steps {
        tokio::time::sleep(Duration::from_millis(rng.u64(0..8_000))).await;
        check.drain(&mut rx, seed);
        // Engines whose outage is over come back.
        let now = Instant::now();
        for (_, i) in outage_ends.iter().filter(|(end, _)| *end <= now) {
            let (id, rt) = &h.runtimes[*i];
            rt.set_unavailable(false);
            check.outages.remove(id);
        }
        outage_ends.retain(|(end, _)| *end > now);
        let live: Vec<Task> = check
            .tasks
            .values()
            .filter(|t| t.last_status == TaskStatus::Running)
            .cloned()
            .collect();
        let pick = |rng: &mut fastrand::Rng| -> Option<&Task> {
            (!live.is_empty()).then(|| &live[rng.usize(..live.len())])
        };
        let runtime_of = |t: &Task| h.runtime(&t.container_instance).clone();
        match rng.u32(0..100) {
            0..=24 => {
                if let Some(t) = pick(&mut rng)
                    && let Some(c) = t.containers[0].runtime_id.clone()
                {
                    let _ = runtime_of(t).kill(&c, if rng.bool() { 1 } else { 137 });
                }
            }
            25..=39 => {
                if let Some(t) = pick(&mut rng)
                    && let Some(c) = t.containers[0].runtime_id.clone()
                {
                    let _ = runtime_of(t).set_health(&c, HealthStatus::Unhealthy);
                }
            }
            40..=49 => {
                let (_, rt) = &h.runtimes[rng.usize(..h.runtimes.len())];
                let op = [Operation::Create, Operation::Start, Operation::Pull][rng.usize(..3)];
                rt.fail_next(op, RuntimeError::Conflict("injected".into()));
            }
            50..=57 => {
                let i = rng.usize(..h.runtimes.len());
                let (id, rt) = &h.runtimes[i];
                if check.outages.insert(id.clone()) {
                    for t in check.tasks.values() {
                        if t.container_instance == *id && t.last_status != TaskStatus::Stopped {
                            check.tainted.insert(t.task_id.clone());
                        }
                    }
                    rt.set_unavailable(true);
                    // Short outages only disconnect; long ones make the instance lost.
                    let secs = if rng.bool() {
                        rng.u64(1..30)
                    } else {
                        rng.u64(61..200)
                    };
                    outage_ends.push((Instant::now() + Duration::from_secs(secs), i));
                }
            }
            58..=67 => {
                let (id, _) = &h.runtimes[rng.usize(..h.runtimes.len())];
                let status = if rng.bool() {
                    InstanceStatus::Draining
                } else {
                    InstanceStatus::Active
                };
                h.ecs
                    .update_container_instances_state(&cluster(), std::slice::from_ref(id), status)
                    .unwrap();
            }
            68..=79 => {
                let revision = rng.u32(1..=3);
                h.ecs
                    .update_service(
                        &cluster(),
                        &web(),
                        UpdateService::task_definition(format!("web:{revision}").parse().unwrap()),
                    )
                    .unwrap();
            }
            _ => {
                let desired = rng.u32(0..=10);
                check.desired = desired;
                h.ecs
                    .update_service(&cluster(), &web(), UpdateService::desired_count(desired))
                    .unwrap();
            }
        }
        check.drain(&mut rx, seed);
    }

    // The faults stop: every engine back, every instance ACTIVE, a final request.
    for (id, rt) in &h.runtimes {
        rt.set_unavailable(false);
        check.outages.remove(id);
    }
    let ids: Vec<InstanceId> = h.runtimes.iter().map(|(i, _)| i.clone()).collect();
    h.ecs
        .update_container_instances_state(&cluster(), &ids, InstanceStatus::Active)
        .unwrap();
    let desired = rng.u32(1..=8);
    check.desired = desired;
    h.ecs
        .update_service(&cluster(), &web(), UpdateService::desired_count(desired))
        .unwrap();
    let final_td = h.describe(&web()).task_definition.to_string();
    let deadline = Instant::now() + Duration::from_secs(3 * 3600);
    loop {
        match tokio::time::timeout_at(deadline, rx.recv()).await {
            Ok(Ok(e)) => {
                if let Some(t) = e.task() {
                    check.apply(t, seed);
                }
            }
            Ok(Err(e)) => panic!("seed {seed}: the event stream failed: {e}"),
            Err(_) => panic!(
                "seed {seed}: no convergence to {desired} tasks of {final_td}: {:#?}\n{:#?}",
                h.describe(&web()),
                h.live_tasks(&web())
            ),
        }
        let s = h.describe(&web());
        let live = h.live_tasks(&web());
        let containers: usize = h.runtimes.iter().map(|(_, rt)| rt.containers().len()).sum();
        if s.is_steady()
            && live.len() == desired as usize
            && live
                .iter()
                .all(|t| t.task_definition.to_string() == final_td)
            && containers == desired as usize
        {
            break;
        }
    }
    check.events
}

#[tokio::test(start_paused = true)]
async fn the_service_survives_random_faults_and_converges() {
    // More seeds for a deeper search: ECS_FAULT_SEEDS=200.
    let seeds: u64 = std::env::var("ECS_FAULT_SEEDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(12);
    let mut total = 0;
    for seed in 0..seeds {
        total += run(seed, 300).await;
    }
    // Thousands of task changes were checked, not a handful.
    assert!(total > 5_000, "only {total} events");
}

/// The same for a DAEMON service: instances drain, come back, lose their engine and
/// join; containers die; after the faults, exactly one task runs on each ACTIVE
/// instance, and no container is left anywhere else.
#[tokio::test(start_paused = true)]
async fn a_daemon_service_survives_random_faults_and_converges() {
    for seed in 0..8u64 {
        let mut rng = fastrand::Rng::with_seed(1000 + seed);
        let mut config = EcsConfig::default();
        config.instance_lost_timeout = Duration::from_secs(60);
        let mut h = Harness::with_config(3, config).await;
        h.register(TD);
        h.ecs
            .create_service(CreateService::daemon(
                cluster(),
                web(),
                "web".parse().unwrap(),
            ))
            .unwrap();
        let mut down: Vec<usize> = Vec::new();
        for _ in 0..150 {
            tokio::time::sleep(Duration::from_millis(rng.u64(0..10_000))).await;
            let i = rng.usize(..h.runtimes.len());
            let (id, rt) = (h.runtimes[i].0.clone(), h.runtimes[i].1.clone());
            match rng.u32(0..100) {
                0..=29 => {
                    if let Some(c) = rt.containers().first() {
                        let _ = rt.kill(&c.id, 1);
                    }
                }
                30..=49 => {
                    let status = if rng.bool() {
                        InstanceStatus::Draining
                    } else {
                        InstanceStatus::Active
                    };
                    h.ecs
                        .update_container_instances_state(&cluster(), &[id], status)
                        .unwrap();
                }
                50..=64 => {
                    rt.set_unavailable(true);
                    down.push(i);
                }
                65..=84 => {
                    if let Some(j) = down.pop() {
                        h.runtimes[j].1.set_unavailable(false);
                    }
                }
                85..=89 if h.runtimes.len() < 6 => {
                    h.add_instance().await;
                }
                _ => {
                    rt.fail_next(Operation::Start, RuntimeError::Conflict("injected".into()));
                }
            }
        }
        // Faults stop: every engine back, every instance ACTIVE.
        for (_, rt) in &h.runtimes {
            rt.set_unavailable(false);
        }
        let ids: Vec<InstanceId> = h.runtimes.iter().map(|(i, _)| i.clone()).collect();
        h.ecs
            .update_container_instances_state(&cluster(), &ids, InstanceStatus::Active)
            .unwrap();
        let n = ids.len();
        let converged = |h: &Harness| {
            let live = h.live_tasks(&web());
            let on: HashSet<&str> = live.iter().map(|t| t.container_instance.as_str()).collect();
            live.len() == n
                && on.len() == n
                && live.iter().all(|t| t.last_status == TaskStatus::Running)
                && h.runtimes.iter().all(|(_, rt)| rt.containers().len() == 1)
        };
        let deadline = Instant::now() + Duration::from_secs(3 * 3600);
        while !converged(&h) {
            assert!(
                Instant::now() < deadline,
                "seed {seed}: no convergence to one task on each of {n} instances: {:#?}\n{:#?}",
                h.describe(&web()),
                h.live_tasks(&web())
            );
            tokio::time::sleep(Duration::from_secs(5)).await;
        }
        assert_eq!(h.describe(&web()).desired_count, n as u32);
    }
}
