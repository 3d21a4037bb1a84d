//! Writing your own placement strategy and constraint.
//!
//! ```text
//! cargo run --example custom_placement
//! ```
//!
//! The strategy prefers instances with the lowest `rack` attribute (say, the racks
//! nearest the storage); the constraint keeps at most two tasks of a group per instance.
//! Both are plain trait implementations; the scheduler calls them for every candidate.

use std::sync::Arc;

use ecs::cluster::{Cluster, ContainerInstance, InstanceRegistration, Resources};
use ecs::placement::{
    Constraint, CustomConstraint, CustomStrategy, IndexedScheduler, PlacementContext,
    PlacementRequest, Scheduler, Strategy, TaskRequirements,
};

/// Lower `rack` numbers first; instances without one last.
#[derive(Debug)]
struct NearestRack;

impl CustomStrategy for NearestRack {
    fn name(&self) -> &str {
        "nearest-rack"
    }

    fn score(&self, instance: &ContainerInstance, _ctx: &PlacementContext<'_>) -> i64 {
        instance
            .attribute("rack")
            .flatten()
            .and_then(|r| r.parse().ok())
            .unwrap_or(i64::MAX)
    }
}

/// At most this many tasks of the group per instance.
#[derive(Debug)]
struct AtMost(u32);

impl CustomConstraint for AtMost {
    fn name(&self) -> &str {
        "AtMostPerInstance"
    }

    fn admits(&self, instance: &ContainerInstance, ctx: &PlacementContext<'_>) -> bool {
        ctx.group_tasks_on(instance) < self.0
    }
}

fn main() -> Result<(), ecs::Error> {
    let mut cluster = Cluster::new("demo".parse()?);
    for (id, rack) in [("i-1", "7"), ("i-2", "3"), ("i-3", "5")] {
        cluster.register_instance(
            InstanceRegistration::new(id.parse()?, Resources::new(4096, 8192))
                .with_attribute("rack", rack),
        )?;
    }
    let request = PlacementRequest::new(
        "service:cache",
        TaskRequirements::new(Resources::new(256, 512)),
        7,
    )
    .with_strategy(Strategy::Custom(Arc::new(NearestRack)))
    .with_constraint(Constraint::Custom(Arc::new(AtMost(2))));
    let outcome = IndexedScheduler::new().place(&mut cluster, &request)?;
    for p in &outcome.placements {
        println!("task -> {}", p.instance);
    }
    for f in &outcome.failures {
        println!(
            "{} task(s) unplaced: {} ({} instances)",
            outcome.unplaced, f.reason, f.instances
        );
    }
    // Racks 3, 5, 7, two tasks each; the seventh fits nowhere.
    let order: Vec<&str> = outcome
        .placements
        .iter()
        .map(|p| p.instance.as_str())
        .collect();
    assert_eq!(order, ["i-2", "i-2", "i-3", "i-3", "i-1", "i-1"]);
    Ok(())
}
