//! A randomized fault test of the service controller on the in-memory runtime, with
//! tokio's paused clock: thousands of random faults and requests (containers killed,
//! health checks failing, starts failing, engines going away and coming back, instances
//! draining, new revisions, new desired counts). At every event the deployment limits
//! are checked; once the faults stop, the service must converge to exactly its desired
//! tasks, with no duplicate and no orphaned container.

use std::collections::{HashMap, HashSet};
use std::time::Duration;

use crate::support::services::{Harness, cluster, web};
use ecs_core::cluster::InstanceStatus;
use ecs_core::control::{EcsConfig, UpdateContainerInstancesState};
use ecs_core::runtime::memory::{Matcher, Operation};
use ecs_core::runtime::{Behavior, HealthStatus, RuntimeError};
use ecs_core::service::{CreateService, DeploymentConfiguration, ThrottleConfig, UpdateService};
use ecs_core::task::{Event, StopCode, Task, TaskStatus};
use ecs_core::{Ecs, InstanceId, TaskId};
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

/// Lets `d` of virtual time pass while handing `on` each event as it is published. The
/// paused clock moves on only when no task is ready to run, and an event published makes
/// this one ready: `on` sees each event at the virtual instant it happened.
async fn watch(
    rx: &mut broadcast::Receiver<Event>,
    d: Duration,
    seed: u64,
    mut on: impl FnMut(&Event),
) {
    let deadline = Instant::now() + d;
    loop {
        tokio::select! {
            // What is already published is read before the caller acts again.
            biased;
            e = rx.recv() => match e {
                Ok(e) => on(&e),
                Err(e) => panic!("seed {seed}: the event stream failed: {e}"),
            },
            () = tokio::time::sleep_until(deadline) => return,
        }
    }
}

/// The service's tasks and the instances' connections as the event stream tells them, and
/// the deployment limits checked at each event.
///
/// What is checked, and why no more. The limits (README "Services", `service/plan.rs`)
/// bound what the service does, not the state: faults and requests move the state past
/// them freely (a kill or a lost engine takes healthy tasks away, a lower desired count
/// leaves more tasks than its maximum, an instance coming back brings its tasks back into
/// the count). So each event that is the service's own action is checked, and in this test
/// there are exactly two kinds, since nothing else starts or stops the group's tasks:
/// - a task appears: the service started it. After it, at most `max_tasks(desired)` tasks
///   exist that are not STOPPED, stopping ones included (they hold their instance), tasks
///   on lost instances not (the planner cannot reach them). This holds even when faults or
///   a lower count had left more: then a start must not add to them.
/// - a task's desiredStatus turns STOPPED with the stop code `ServiceSchedulerInitiated`:
///   the service asked it to stop (the stop code comes with the request; a task that exits
///   or fails to start sets its own in the same change). If the
///   task was healthy and its instance is not lost (a lost instance's tasks are replaced
///   whatever the minimum), at least `min_healthy(desired)` healthy tasks remain on
///   instances not lost. This holds even when faults had taken health below the minimum:
///   the service must not take more.
///
/// Every other event (a task's progress, health, exit; an instance change) is not the
/// service's doing, and between events the counts change only by an instance turning lost,
/// which is not either. The counts are the planner's, exactly: events are read at the
/// instant they are published (`watch`); every change of a task is one event (versions
/// are checked to follow each other); an instance counts as lost exactly when the
/// controller counts it so, `instance_lost_timeout` after the event that disconnected it.
/// "Healthy" is the planner's too, as every revision has a health check: RUNNING, still
/// wanted, and HEALTHY.
struct Checker {
    ecs: Ecs,
    seed: u64,
    desired: u32,
    lost_timeout: Duration,
    tasks: HashMap<TaskId, Task>,
    /// Since when each disconnected instance has been disconnected.
    disconnected: HashMap<InstanceId, Instant>,
    events: usize,
}

impl Checker {
    fn lost(&self, instance: &InstanceId) -> bool {
        self.disconnected
            .get(instance)
            .is_some_and(|since| *since + self.lost_timeout <= Instant::now())
    }

    fn healthy(&self, t: &Task) -> bool {
        t.last_status == TaskStatus::Running
            && t.desired_status == TaskStatus::Running
            && t.health_status == HealthStatus::Healthy
            && !self.lost(t.container_instance.as_ref().unwrap())
    }

    fn count_healthy(&self) -> usize {
        self.tasks.values().filter(|t| self.healthy(t)).count()
    }

    fn existing(&self) -> usize {
        self.tasks
            .values()
            .filter(|t| {
                t.last_status != TaskStatus::Stopped
                    && !self.lost(t.container_instance.as_ref().unwrap())
            })
            .count()
    }

    fn on(&mut self, event: &Event) {
        match event {
            Event::InstanceStateChange { instance, .. } => {
                // Read at the instant of the change (`watch`), and nothing changed it since:
                // an agent waits `reconnect_interval` between losing its engine and
                // reconnecting, and only this test ends an engine's stream, after it has
                // read every event.
                let connected = self
                    .ecs
                    .describe_cluster(&cluster())
                    .unwrap()
                    .instance(instance)
                    .expect("instances are never deregistered here")
                    .agent_connected();
                if connected {
                    self.disconnected.remove(instance);
                } else {
                    self.disconnected
                        .entry(instance.clone())
                        .or_insert_with(Instant::now);
                }
            }
            _ => {
                if let Some(t) = event.task() {
                    self.apply(t);
                }
            }
        }
    }

    fn apply(&mut self, task: &Task) {
        let seed = self.seed;
        if task.group.to_string() != "service:web" {
            return;
        }
        self.events += 1;
        let before = self.tasks.insert(task.task_id.clone(), task.clone());
        assert_eq!(
            task.version,
            before.as_ref().map_or(1, |b| b.version + 1),
            "seed {seed}: a change of {} was missed, the counts would be wrong",
            task.task_id
        );
        match before {
            None => assert!(
                self.existing() <= max_tasks(self.desired),
                "seed {seed}: started a task with {} existing, above {MAX}% of {}",
                self.existing(),
                self.desired
            ),
            Some(before) => {
                let asked_to_stop = before.desired_status == TaskStatus::Running
                    && task.desired_status == TaskStatus::Stopped
                    && task.stop_code == Some(StopCode::ServiceSchedulerInitiated);
                if asked_to_stop && self.healthy(&before) {
                    assert!(
                        self.count_healthy() >= min_healthy(self.desired),
                        "seed {seed}: stopped a healthy task leaving {} healthy, below {MIN}% of {}: {task:#?}",
                        self.count_healthy(),
                        self.desired
                    );
                }
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
    let lost_timeout = config.instance_lost_timeout;
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
        ecs: h.ecs.clone(),
        seed,
        desired: 6,
        lost_timeout,
        tasks: HashMap::new(),
        disconnected: HashMap::new(),
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
        let pause = Duration::from_millis(rng.u64(0..8_000));
        watch(&mut rx, pause, seed, |e| check.on(e)).await;
        // Engines whose outage is over come back.
        let now = Instant::now();
        for (_, i) in outage_ends.iter().filter(|(end, _)| *end <= now) {
            h.runtimes[*i].1.set_unavailable(false);
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
        let runtime_of = |t: &Task| h.runtime(t.container_instance.as_ref().unwrap()).clone();
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
                if outage_ends.iter().all(|(_, j)| *j != i) {
                    h.runtimes[i].1.set_unavailable(true);
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
                    .update_container_instances_state(UpdateContainerInstancesState::new(
                        cluster(),
                        vec![id.clone()],
                        status,
                    ))
                    .unwrap();
            }
            68..=79 => {
                let revision = rng.u32(1..=3);
                h.ecs
                    .update_service(
                        UpdateService::new(cluster(), web())
                            .with_task_definition(format!("web:{revision}").parse().unwrap()),
                    )
                    .unwrap();
            }
            _ => {
                let desired = rng.u32(0..=10);
                check.desired = desired;
                h.ecs
                    .update_service(
                        UpdateService::new(cluster(), web()).with_desired_count(desired),
                    )
                    .unwrap();
            }
        }
    }

    // The faults stop: every engine back, every instance ACTIVE, a final request.
    for (_, rt) in &h.runtimes {
        rt.set_unavailable(false);
    }
    let ids: Vec<InstanceId> = h.runtimes.iter().map(|(i, _)| i.clone()).collect();
    h.ecs
        .update_container_instances_state(UpdateContainerInstancesState::new(
            cluster(),
            ids.to_vec(),
            InstanceStatus::Active,
        ))
        .unwrap();
    let desired = rng.u32(1..=8);
    check.desired = desired;
    h.ecs
        .update_service(UpdateService::new(cluster(), web()).with_desired_count(desired))
        .unwrap();
    let final_td = h.describe(&web()).task_definition.to_string();
    let deadline = Instant::now() + Duration::from_secs(3 * 3600);
    loop {
        match tokio::time::timeout_at(deadline, rx.recv()).await {
            Ok(Ok(e)) => check.on(&e),
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

/// A DAEMON service's tasks as the event stream tells them, and its rule checked at each
/// event: no instance ever holds two of its tasks that are not STOPPED.
///
/// Why that exactly: the DAEMON controller replaces a task by stopping it first and
/// starting after. The planner (`service/plan.rs`, `start_on`) gives an instance a new
/// task only once nothing of the service is left on it (a task starting, running,
/// unhealthy, of an older revision or still stopping all count), never on a DRAINING or
/// lost instance, and stops any second task it finds. So neither a replacement (a task
/// that died, a lost instance's task once the instance is back) nor a rollout ever needs
/// two at once, and the rule is stronger than "two RUNNING on an ACTIVE instance": at most
/// one task not STOPPED on any instance. Only a start raises an instance's count, so the
/// first start that breaks it fails the check at its own event.
struct OnePerInstance {
    seed: u64,
    tasks: HashMap<TaskId, Task>,
}

impl OnePerInstance {
    fn on(&mut self, event: &Event) {
        let Some(task) = event
            .task()
            .filter(|t| t.group.to_string() == "service:web")
        else {
            return;
        };
        self.tasks.insert(task.task_id.clone(), (**task).clone());
        let on_it: Vec<&Task> = self
            .tasks
            .values()
            .filter(|t| {
                t.container_instance == task.container_instance
                    && t.last_status != TaskStatus::Stopped
            })
            .collect();
        assert!(
            on_it.len() <= 1,
            "seed {}: {} holds {} tasks of the DAEMON service: {on_it:#?}",
            self.seed,
            task.container_instance.as_ref().unwrap(),
            on_it.len()
        );
    }
}

/// The same for a DAEMON service: instances drain, come back, lose their engine and
/// join; containers die. At every event, at most one task per instance
/// (`OnePerInstance`); after the faults, exactly one task runs on each ACTIVE instance,
/// and no container is left anywhere else.
#[tokio::test(start_paused = true)]
async fn a_daemon_service_survives_random_faults_and_converges() {
    for seed in 0..8u64 {
        let mut rng = fastrand::Rng::with_seed(1000 + seed);
        let mut config = EcsConfig::default();
        config.instance_lost_timeout = Duration::from_secs(60);
        let mut h = Harness::with_config(3, config).await;
        h.register(TD);
        let mut rx = h.ecs.subscribe();
        let mut check = OnePerInstance {
            seed,
            tasks: HashMap::new(),
        };
        h.ecs
            .create_service(CreateService::daemon(
                cluster(),
                web(),
                "web".parse().unwrap(),
            ))
            .unwrap();
        let mut down: Vec<usize> = Vec::new();
        for _ in 0..150 {
            let pause = Duration::from_millis(rng.u64(0..10_000));
            watch(&mut rx, pause, seed, |e| check.on(e)).await;
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
                        .update_container_instances_state(UpdateContainerInstancesState::new(
                            cluster(),
                            vec![id],
                            status,
                        ))
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
            .update_container_instances_state(UpdateContainerInstancesState::new(
                cluster(),
                ids.to_vec(),
                InstanceStatus::Active,
            ))
            .unwrap();
        let n = ids.len();
        let converged = |h: &Harness| {
            let live = h.live_tasks(&web());
            let on: HashSet<&str> = live
                .iter()
                .map(|t| t.container_instance.as_ref().unwrap().as_str())
                .collect();
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
            watch(&mut rx, Duration::from_secs(5), seed, |e| check.on(e)).await;
        }
        assert_eq!(h.describe(&web()).desired_count, n as u32);
    }
}
