//! A service scaled from 2 to 200 tasks and back to 2: the provider grows the cluster
//! until every task runs, the reservation settles at the target, steps and warm-up
//! are honoured; then instances drain and go, never one with a running task, never
//! below the minimum. A group shrunk below what its tasks occupy: drained within the
//! services' limits without termination protection, kept with it.

use std::sync::Arc;
use std::time::Duration;

use ecs_core::capacity::InMemoryInstanceProvider;
use ecs_core::service::{CreateService, UpdateService};
use ecs_core::task::TaskStatus;

use super::*;

/// What must hold at every event.
struct Invariants {
    min: usize,
    max: usize,
    /// The minimum holds once reached.
    reached_min: bool,
}

impl Invariants {
    fn check(&mut self, ecs: &Ecs, provider: &InMemoryInstanceProvider) {
        assert_eq!(
            provider.terminated_running(),
            Vec::<ecs_core::InstanceId>::new(),
            "an instance was terminated with a running container"
        );
        let live = provider.live().len();
        assert!(
            live <= self.max,
            "{live} instances, more than the maximum {}",
            self.max
        );
        if live >= self.min {
            self.reached_min = true;
        }
        if self.reached_min {
            assert!(
                live >= self.min,
                "{live} instances, fewer than the minimum {}",
                self.min
            );
        }
        // Every task on an instance is on one the provider has.
        for t in tasks(ecs) {
            if t.last_status == TaskStatus::Running {
                let on = t
                    .container_instance
                    .as_ref()
                    .expect("a RUNNING task has an instance");
                assert!(
                    provider.live().contains(on),
                    "task {} runs on {on}, which is gone",
                    t.task_id
                );
            }
        }
    }
}

/// Checks the launches: each within the step sizes (unless the maximum capped it), the
/// next not before the last one's instances warmed up.
fn check_launches(provider: &InMemoryInstanceProvider, warmup: Duration) {
    let launches = provider.launches();
    for pair in launches.windows(2) {
        assert!(
            pair[1].asked_at >= pair[0].done_at + warmup,
            "a launch at {:?} came before the last one's warm-up ended ({:?} + {warmup:?})",
            pair[1].asked_at,
            pair[0].done_at
        );
    }
    for l in &launches {
        assert!(
            (2..=10).contains(&l.count),
            "a step of {} instances, outside the steps 2 to 10",
            l.count
        );
    }
}

#[tokio::test(start_paused = true)]
async fn a_service_grows_from_2_to_200_tasks_and_shrinks_back() {
    let warmup = Duration::from_secs(60);
    let (ecs, provider) = plane(2, 40, Duration::from_secs(30), scaling(100)).await;
    let mut inv = Invariants {
        min: 2,
        max: 40,
        reached_min: false,
    };
    let mut events = ecs.subscribe();

    // The minimum first.
    eventually(
        Duration::from_secs(300),
        "the group's minimum of 2 instances",
        || registered(&ecs) == 2,
    )
    .await;
    ecs.create_service(CreateService::new(
        cluster(),
        web(),
        "web".parse().unwrap(),
        2,
    ))
    .unwrap();
    eventually(Duration::from_secs(120), "2 tasks running", || {
        running(&ecs) == 2
    })
    .await;

    // 200 tasks: 25 instances of 8.
    ecs.update_service(UpdateService::new(cluster(), web()).with_desired_count(200))
        .unwrap();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(3600);
    let mut waited = false;
    while running(&ecs) < 200 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "200 tasks not running within an hour"
        );
        tokio::select! {
            e = events.recv() => { let _ = e; }
            () = tokio::time::sleep(Duration::from_secs(1)) => {}
        }
        inv.check(&ecs, &provider);
        // Growing, nothing is let go (no instance taken for spare while tasks wait).
        assert_eq!(
            provider.terminated(),
            Vec::<ecs_core::InstanceId>::new(),
            "terminated while growing"
        );
        waited |= tasks(&ecs)
            .iter()
            .any(|t| t.last_status == TaskStatus::Provisioning && t.container_instance.is_none());
    }
    assert!(waited, "some tasks waited for capacity in PROVISIONING");
    check_launches(&provider, warmup);
    eventually(
        Duration::from_secs(120),
        "the reservation settled at the target",
        || {
            ecs.capacity_provider_scaling(&cp())
                .is_some_and(|d| d.reservation == 100.0 && d.needed == 25)
        },
    )
    .await;
    assert_eq!(registered(&ecs), 25, "exactly the instances 200 tasks need");
    assert_eq!(provider.live().len(), 25);
    // Every task landed on the provider's instances, and says so.
    assert!(
        tasks(&ecs)
            .iter()
            .filter(|t| t.last_status == TaskStatus::Running)
            .all(|t| t.capacity_provider_name.as_ref() == Some(&cp()))
    );

    // Back to 2: instances drain and go, down to the minimum.
    ecs.update_service(UpdateService::new(cluster(), web()).with_desired_count(2))
        .unwrap();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(3600);
    let mut steady = false;
    while !(registered(&ecs) == 2 && provider.live().len() == 2 && running(&ecs) == 2) {
        assert!(
            tokio::time::Instant::now() < deadline,
            "not back to 2 instances within an hour"
        );
        tokio::select! {
            e = events.recv() => { let _ = e; }
            () = tokio::time::sleep(Duration::from_secs(1)) => {}
        }
        inv.check(&ecs, &provider);
        // The service never drops below its desired count once down to it (draining
        // respects its minimum healthy percent of 100).
        let now = running(&ecs);
        if now == 2 {
            steady = true;
        }
        if steady {
            assert!(
                now >= 2,
                "the service fell to {now} running tasks while instances drained"
            );
        }
    }
    assert_eq!(provider.terminated().len(), 23);
    assert!(provider.terminated_running().is_empty());
    let d = ecs.capacity_provider_scaling(&cp()).unwrap();
    // The 2 tasks keep 1 or 2 instances busy; the minimum keeps 2.
    assert!(d.needed <= 2 && d.desired == 2, "{d:?}");
}

#[tokio::test(start_paused = true)]
async fn a_lower_target_keeps_spare_instances() {
    let (ecs, provider) = plane(0, 40, Duration::from_secs(10), scaling(50)).await;
    ecs.create_service(CreateService::new(
        cluster(),
        web(),
        "web".parse().unwrap(),
        16,
    ))
    .unwrap();
    // 16 waiting tasks need 2 instances, 4 at 50 %. Where they land decides how many
    // instances they keep busy (ECS does not repack running tasks), and at 50 % the
    // provider keeps twice that many: settled, the reservation is at the target.
    eventually(Duration::from_secs(900), "16 tasks RUNNING at 50 %", || {
        running(&ecs) == 16
            && ecs.capacity_provider_scaling(&cp()).is_some_and(|d| {
                d.reservation == 50.0
                    && d.desired == 2 * d.needed
                    && registered(&ecs) == d.desired as usize
            })
    })
    .await;
    let d = ecs.capacity_provider_scaling(&cp()).unwrap();
    assert!((2..=8).contains(&d.needed), "{d:?}");
    assert_eq!(provider.live().len(), d.desired as usize);
}

/// A service of 16 tasks spread on 4 instances, then the group's maximum lowered to 2.
async fn shrunk_group(protected: bool) -> (Ecs, InMemoryInstanceProvider, Vec<usize>) {
    let mut create = ecs_core::control::CreateCapacityProvider::new(cp(), "asg");
    create.managed_termination_protection = protected;
    let mut config = config();
    config.service_throttle.stable_after = Duration::from_secs(5);
    let ecs = Ecs::new(config);
    ecs.create_cluster(cluster()).unwrap();
    ecs.register_task_definition(TaskDefinition::from_json(EIGHTH).unwrap().definition)
        .unwrap();
    let provider = InMemoryInstanceProvider::new("asg", SIZE);
    let group = |max| InstanceGroup::new(Arc::new(provider.clone()), 4, max);
    ecs.register_instance_group("asg", group(4)).await.unwrap();
    ecs.create_capacity_provider(create.with_managed_scaling(scaling(100)))
        .unwrap();
    ecs.put_cluster_capacity_providers(
        &cluster(),
        &[cp()],
        vec![ecs_core::capacity::CapacityProviderStrategyItem::new(cp())],
    )
    .unwrap();
    eventually(Duration::from_secs(300), "the group's 4 instances", || {
        registered(&ecs) == 4
    })
    .await;
    // Spread over the instances: 4 on each.
    ecs.create_service(
        CreateService::new(cluster(), web(), "web".parse().unwrap(), 16).with_placement_strategy(
            ecs_core::placement::api::PlacementStrategy::new(
                ecs_core::placement::api::PlacementStrategyType::Spread,
                Some("instanceId"),
            ),
        ),
    )
    .unwrap();
    eventually(Duration::from_secs(300), "16 tasks running", || {
        running(&ecs) == 16
    })
    .await;
    ecs.register_instance_group("asg", InstanceGroup::new(Arc::new(provider.clone()), 0, 2))
        .await
        .unwrap();
    // Watch the service for the next 30 minutes.
    let mut counts = Vec::new();
    for _ in 0..1800 {
        tokio::time::sleep(Duration::from_secs(1)).await;
        counts.push(running(&ecs));
        assert!(
            provider.terminated_running().is_empty(),
            "terminated with a running container"
        );
    }
    (ecs, provider, counts)
}

#[tokio::test(start_paused = true)]
async fn without_protection_instances_are_drained_within_the_services_limits() {
    let (ecs, provider, counts) = shrunk_group(false).await;
    assert_eq!(registered(&ecs), 2, "down to the new maximum");
    assert_eq!(provider.live().len(), 2);
    assert_eq!(running(&ecs), 16, "every task moved to the two left");
    // The service's minimum healthy percent (100) held while its tasks moved.
    assert!(
        counts.iter().all(|&n| n >= 16),
        "fell below 16 running: {:?}",
        counts.iter().min()
    );
}

#[tokio::test(start_paused = true)]
async fn with_protection_an_instance_with_tasks_is_kept() {
    let (ecs, provider, counts) = shrunk_group(true).await;
    assert_eq!(registered(&ecs), 4, "every instance runs tasks: none goes");
    assert!(provider.terminated().is_empty());
    assert!(counts.iter().all(|&n| n == 16));
    let instances = ecs.describe_cluster(&cluster()).unwrap();
    assert!(
        instances
            .instances()
            .all(|i| i.status() == ecs_core::cluster::InstanceStatus::Active)
    );
}
