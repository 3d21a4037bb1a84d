//! Random faults while a service grows and shrinks: launches failing, launches slow,
//! instances lost. At every event: no instance terminated with a running container, the
//! group never beyond its maximum; in the end every task runs on as few instances as
//! the target allows. `ECS_CAPACITY_SEEDS` runs more seeds (3 by default).

use std::time::Duration;

use ecs_core::service::{CreateService, UpdateService};

use super::*;

fn seeds() -> u64 {
    std::env::var("ECS_CAPACITY_SEEDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(3)
}

#[tokio::test(start_paused = true)]
async fn random_faults_break_no_invariant() {
    let mut lost = 0;
    for seed in 0..seeds() {
        lost += run(seed).await;
    }
    assert!(
        lost > 0,
        "no seed lost an instance: the seeds test less than they say"
    );
}

/// One seed; how many instances it lost.
async fn run(seed: u64) -> usize {
    let mut rng = fastrand::Rng::with_seed(seed);
    let (ecs, provider) = plane(1, 30, Duration::from_secs(10), scaling(100)).await;
    let mut events = ecs.subscribe();
    ecs.create_service(CreateService::new(
        cluster(),
        web(),
        "web".parse().unwrap(),
        2,
    ))
    .unwrap();
    let mut lost = 0;
    for (step, desired) in [60u32, 100, 20, 5].into_iter().enumerate() {
        ecs.update_service(UpdateService::new(cluster(), web()).with_desired_count(desired))
            .unwrap();
        let deadline = tokio::time::Instant::now() + Duration::from_secs(4 * 3600);
        let mut next_fault = tokio::time::Instant::now() + Duration::from_secs(rng.u64(5..120));
        let mut faults = 0;
        loop {
            let now = tokio::time::Instant::now();
            assert!(
                now < deadline,
                "seed {seed} step {step}: {desired} tasks not running in 4 h"
            );
            tokio::select! {
                e = events.recv() => { let _ = e; }
                () = tokio::time::sleep(Duration::from_secs(1)) => {}
            }
            // The invariants, at every event.
            assert!(
                provider.terminated_running().is_empty(),
                "seed {seed}: terminated with a running container: {:?}",
                provider.terminated_running()
            );
            assert!(
                provider.live().len() <= 30,
                "seed {seed}: beyond the maximum"
            );
            if faults < 3 && tokio::time::Instant::now() >= next_fault {
                faults += 1;
                match rng.u8(0..3) {
                    0 => provider.fail_next_launches(rng.u32(1..3)),
                    1 => provider.set_launch_delay(Duration::from_secs(rng.u64(0..90))),
                    _ => {
                        let live = provider.live();
                        if !live.is_empty() {
                            provider.lose(&live[rng.usize(..live.len())]);
                            lost += 1;
                        }
                    }
                }
                next_fault = tokio::time::Instant::now() + Duration::from_secs(rng.u64(5..120));
            }
            if faults >= 3 && running(&ecs) == desired as usize {
                // Settled: exactly the instances the tasks occupy (as ECS counts them:
                // running tasks are not moved to free instances), none of them lost.
                let occupied: std::collections::BTreeSet<_> = tasks(&ecs)
                    .into_iter()
                    .filter(|t| t.last_status != ecs_core::task::TaskStatus::Stopped)
                    .filter_map(|t| t.container_instance)
                    .collect();
                let needed = occupied.len().max(1);
                if registered(&ecs) == needed && provider.live().len() == needed {
                    break;
                }
            }
        }
    }
    // Lost instances were let go too: the cluster holds only live ones.
    let live = provider.live();
    assert!(
        ecs.describe_cluster(&cluster())
            .unwrap()
            .instances()
            .all(|i| live.contains(i.id()))
    );
    lost
}
