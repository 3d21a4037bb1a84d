//! The service scheduler at scale: 1,000 services of 10 tasks on 1,000 simulated
//! instances. Two measures, each from the moment of the change to every placement
//! decision made:
//! - a burst of desired-count changes, every service 10 -> 50, then 50 -> 5;
//! - 10% of the instances lost, to all their tasks replaced in the plan.
//!
//! Each service is planned by the same pure function its controller calls
//! ([`ecs::service::plan::plan`]) and its starts placed by the `IndexedScheduler` on the
//! shared cluster, spread across zones, as the controllers would, one after another.
//!
//! ```text
//! cargo bench --bench services
//! ```

#[path = "support/mod.rs"]
mod support;

use std::collections::HashMap;
use std::time::{Duration, Instant};

use ecs::cluster::{AllocationId, Cluster, Resources};
use ecs::control::RegisterContainerInstance;
use ecs::placement::{IndexedScheduler, PlacementRequest, Scheduler, Strategy, TaskRequirements};
use ecs::service::plan::{InstanceState, PlanInput, PlanTask, TaskPhase, plan};
use ecs::{InstanceId, TaskId};

const SERVICES: usize = 1_000;
const INSTANCES: usize = 1_000;

struct SimTask {
    id: TaskId,
    instance: InstanceId,
    allocation: AllocationId,
}

struct SimService {
    group: String,
    desired: u32,
    tasks: Vec<SimTask>,
}

struct Sim {
    cluster: Cluster,
    scheduler: IndexedScheduler,
    services: Vec<SimService>,
    lost: HashMap<InstanceId, ()>,
    next: u64,
    /// Time spent in `plan` alone.
    planning: Duration,
}

impl Sim {
    fn new(instances: usize, services: usize) -> Self {
        let mut sim = Self {
            cluster: support::cluster(instances, 16_384, 65_536),
            scheduler: IndexedScheduler::with_seed(7),
            services: (0..services)
                .map(|i| SimService {
                    group: format!("service:svc-{i}"),
                    desired: 10,
                    tasks: Vec::new(),
                })
                .collect(),
            lost: HashMap::new(),
            next: 0,
            planning: Duration::ZERO,
        };
        sim.reconcile_all();
        sim
    }

    /// One pass of every service's controller: observe, plan, act.
    fn reconcile_all(&mut self) {
        for s in 0..self.services.len() {
            self.reconcile(s);
        }
    }

    fn reconcile(&mut self, s: usize) {
        let service = &self.services[s];
        let plan_tasks: Vec<PlanTask> = service
            .tasks
            .iter()
            .map(|t| {
                let zone = self.cluster.instance(&t.instance).and_then(|i| {
                    i.attribute("ecs.availability-zone")
                        .flatten()
                        .map(str::to_owned)
                });
                PlanTask {
                    id: t.id.clone(),
                    primary: true,
                    instance: Some(t.instance.clone()),
                    instance_state: if self.lost.contains_key(&t.instance) {
                        InstanceState::Lost
                    } else {
                        InstanceState::Active
                    },
                    phase: TaskPhase::Healthy,
                    spread_key: zone,
                    instance_remaining: 0,
                }
            })
            .collect();
        let planning = Instant::now();
        let decision = plan(&PlanInput {
            desired: service.desired,
            minimum_healthy_percent: 100,
            maximum_percent: 200,
            tasks: &plan_tasks,
            may_start: true,
            daemon_instances: None,
        });
        self.planning += planning.elapsed();
        // Stops: in this simulation a stopped task is gone at once, except on a lost
        // instance, where it cannot be stopped and keeps its resources.
        for (id, _) in &decision.stop {
            let service = &mut self.services[s];
            if let Some(at) = service.tasks.iter().position(|t| t.id == *id) {
                let t = service.tasks.swap_remove(at);
                if !self.lost.contains_key(&t.instance) {
                    self.cluster.release(t.allocation).unwrap();
                }
            }
        }
        if decision.start > 0 {
            let request = PlacementRequest::new(
                self.services[s].group.clone(),
                TaskRequirements::new(Resources::new(64, 128)),
                decision.start,
            )
            .with_strategy(Strategy::spread_zones())
            .with_strategy(Strategy::Random);
            let outcome = self
                .scheduler
                .place(&mut self.cluster, &request)
                .expect("a valid request");
            for p in outcome.placements {
                self.next += 1;
                self.services[s].tasks.push(SimTask {
                    id: TaskId::new(format!("t{}", self.next)).unwrap(),
                    instance: p.instance,
                    allocation: p.allocation,
                });
            }
        }
    }

    fn task_count(&self) -> usize {
        self.services.iter().map(|s| s.tasks.len()).sum()
    }

    /// Sets every service's desired count and reconciles them all.
    fn burst(&mut self, desired: u32) -> Duration {
        let start = Instant::now();
        for s in &mut self.services {
            s.desired = desired;
        }
        self.reconcile_all();
        start.elapsed()
    }

    /// Loses `fraction` of the instances and reconciles every service.
    fn lose(&mut self, fraction: f64) -> (Duration, usize) {
        let ids: Vec<InstanceId> = self.cluster.instances().map(|i| i.id().clone()).collect();
        let n = (ids.len() as f64 * fraction) as usize;
        let affected: usize = self
            .services
            .iter()
            .flat_map(|s| &s.tasks)
            .filter(|t| ids[..n].contains(&t.instance))
            .count();
        let start = Instant::now();
        for id in &ids[..n] {
            // Lost as the controllers see it: the agent is disconnected (no placement
            // there), and its tasks, unreachable, keep holding what they held.
            self.cluster.set_agent_connected(id, false).unwrap();
            self.lost.insert(id.clone(), ());
        }
        self.reconcile_all();
        (start.elapsed(), affected)
    }
}

/// The same burst through the whole control plane: 1,000 service controllers on an `Ecs`
/// whose instances are in-memory runtimes (every task gets its runner and container).
/// Returns the times from the requests to every service's counts reading the new desired
/// count, for 10 -> 50 and 50 -> 5, and from the 50 -> 5 requests to every task they
/// stopped being STOPPED.
fn through_controllers(instances: usize, services: usize) -> (Duration, Duration, Duration) {
    use std::collections::BTreeMap;
    use std::sync::Arc;

    use ecs::control::EcsConfig;
    use ecs::runtime::InMemoryRuntime;
    use ecs::service::{CreateService, UpdateService};

    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let mut config = EcsConfig::default();
        config.service_throttle.stable_after = Duration::ZERO;
        let ecs = ecs::Ecs::new(config);
        let cluster: ecs::ClusterName = "bench".parse().unwrap();
        ecs.create_cluster(cluster.clone()).unwrap();
        for i in 0..instances {
            let zone = support::ZONES[i % 3];
            ecs.register_container_instance(
                RegisterContainerInstance::new(
                    cluster.clone(),
                    format!("i-{i:06}").parse().unwrap(),
                    Arc::new(InMemoryRuntime::new(Resources::new(16_384, 65_536))),
                )
                .with_attributes(BTreeMap::from([(
                    "ecs.availability-zone".to_owned(),
                    zone.to_owned(),
                )])),
            )
            .await
            .unwrap();
        }
        ecs.register_task_definition(
            ecs::TaskDefinition::from_json(
                r#"{"family": "svc", "containerDefinitions": [{"name": "app",
                    "image": "busybox", "cpu": 64, "memory": 128}]}"#,
            )
            .unwrap()
            .definition,
        )
        .unwrap();
        let names: Vec<ecs::ServiceName> = (0..services)
            .map(|i| format!("svc-{i}").parse().unwrap())
            .collect();
        for n in &names {
            ecs.create_service(
                CreateService::new(cluster.clone(), n.clone(), "svc".parse().unwrap(), 10)
                    .with_placement_strategy(ecs::placement::api::PlacementStrategy::new(
                        ecs::placement::api::PlacementStrategyType::Spread,
                        Some("attribute:ecs.availability-zone"),
                    )),
            )
            .unwrap();
        }
        for n in &names {
            ecs.wait_for_service(&cluster, n, |s| s.is_steady())
                .await
                .unwrap();
        }
        let mut times = Vec::new();
        let mut start_down = Instant::now();
        for desired in [50, 5] {
            let start = Instant::now();
            start_down = start;
            for n in &names {
                ecs.update_service(
                    UpdateService::new(cluster.clone(), n.clone()).with_desired_count(desired),
                )
                .unwrap();
            }
            for n in &names {
                ecs.wait_for_service(&cluster, n, |s| {
                    s.desired_count == desired && s.running_count + s.pending_count == desired
                })
                .await
                .unwrap();
            }
            times.push(start.elapsed());
        }
        // Then until every task stopped by the scale-in is STOPPED (its container
        // removed, its resources released): when the counts above drop is a matter of
        // how a design counts a task that is being stopped; this is not.
        let stopping = {
            let mut stopping = ecs::task::ListTasks::new(cluster.clone());
            stopping.desired_status = Some(ecs::task::TaskStatus::Stopped);
            ecs.list_tasks(stopping).unwrap()
        };
        // One at a time, each on the task's own events: a poll of them all would copy
        // every task under the state's lock and slow what it measures.
        for id in &stopping {
            tokio::time::timeout(
                Duration::from_secs(600),
                ecs.wait_for(id, |t| t.last_status == ecs::task::TaskStatus::Stopped),
            )
            .await
            .expect("every stopped task reaches STOPPED")
            .unwrap();
        }
        times.push(start_down.elapsed());
        (times[0], times[1], times[2])
    })
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn main() {
    // `cargo test --benches` runs this without `--bench`: keep that quick.
    let quick = !std::env::args().any(|a| a == "--bench");
    let (services, instances, rounds) = if quick {
        (20, 20, 1)
    } else {
        (SERVICES, INSTANCES, 5)
    };

    let mut up = Vec::new();
    let mut down = Vec::new();
    let mut lost = Vec::new();
    let mut down_planning = Vec::new();
    let mut replaced = 0;
    for _ in 0..rounds {
        let mut sim = Sim::new(instances, services);
        assert_eq!(sim.task_count(), services * 10);
        up.push(sim.burst(50));
        assert_eq!(sim.task_count(), services * 50, "every task placed");
        sim.planning = Duration::ZERO;
        down.push(sim.burst(5));
        down_planning.push(sim.planning);
        assert_eq!(sim.task_count(), services * 5);
        sim.burst(10);
        let (t, affected) = sim.lose(0.10);
        lost.push(t);
        replaced = affected;
        assert_eq!(sim.task_count(), services * 10, "every lost task replaced");
        assert!(
            sim.services
                .iter()
                .flat_map(|s| &s.tasks)
                .all(|t| !sim.lost.contains_key(&t.instance))
        );
    }
    let (up, down, lost) = (median(up), median(down), median(lost));
    println!("{services} services x 10 tasks on {instances} instances (median of {rounds}):");
    println!(
        "  10 -> 50: {} placements decided in {:.1} ms ({:.0} placements/s)",
        services * 40,
        up.as_secs_f64() * 1e3,
        (services * 40) as f64 / up.as_secs_f64()
    );
    println!(
        "  50 -> 5:  {} stops decided in {:.1} ms (choosing them: {:.1} ms; the rest frees their resources)",
        services * 45,
        down.as_secs_f64() * 1e3,
        median(down_planning).as_secs_f64() * 1e3
    );
    println!(
        "  10% of instances lost: {replaced} tasks replaced in the plan in {:.1} ms",
        lost.as_secs_f64() * 1e3
    );
    let (up, down, stopped) = through_controllers(instances, services);
    println!(
        "through the controllers (Ecs, in-memory instances, a runner per task): 10 -> 50 placed in {:.0} ms, 50 -> 5 counted in {:.0} ms, every stopped task STOPPED in {:.0} ms",
        up.as_secs_f64() * 1e3,
        down.as_secs_f64() * 1e3,
        stopped.as_secs_f64() * 1e3
    );
}
