//! Task placement as ECS does it: filters (CPU, memory, ports, GPUs, instance status,
//! agent), constraints (`distinctInstance`, `memberOf` with the cluster query language,
//! your own), then strategies in order (`binpack`, `spread`, `random`, your own).
//!
//! Two schedulers make the same choices: [`IndexedScheduler`] (use it; O(log n) per task)
//! and [`ReferenceScheduler`] (scans every instance; the oracle in tests).
//!
//! ```
//! use ecs_core::cluster::{Cluster, InstanceRegistration, Resources};
//! use ecs_core::placement::{IndexedScheduler, PlacementRequest, Scheduler, Strategy, TaskRequirements};
//! use ecs_core::placement::rules::BinpackField;
//!
//! let mut cluster = Cluster::new("prod".parse()?);
//! for (id, zone) in [("i-1", "us-east-1a"), ("i-2", "us-east-1b")] {
//!     cluster.register_instance(
//!         InstanceRegistration::new(id.parse()?, Resources::new(2048, 4096)).with_zone(zone),
//!     )?;
//! }
//! let request = PlacementRequest::new("service:web", TaskRequirements::new(Resources::new(256, 512)), 4)
//!     .with_strategy(Strategy::spread_zones())
//!     .with_strategy(Strategy::Binpack(BinpackField::Memory));
//! let outcome = IndexedScheduler::with_seed(1).place(&mut cluster, &request)?;
//! let order: Vec<&str> = outcome.placements.iter().map(|p| p.instance.as_str()).collect();
//! assert_eq!(order, ["i-1", "i-2", "i-1", "i-2"]);
//! # Ok::<(), ecs_core::Error>(())
//! ```

pub mod api;
mod filter;
mod indexed;
mod outcome;
pub mod query;
mod reference;
mod request;
mod requirements;
pub mod rules;
mod spread;

pub use indexed::IndexedScheduler;
pub use outcome::{Failure, FailureReason, Outcome, Placement, Rejection};
pub use reference::ReferenceScheduler;
pub use request::{MAX_CONSTRAINTS, MAX_STRATEGIES, PlacementRequest};
pub use requirements::TaskRequirements;
pub use rules::{Constraint, CustomConstraint, CustomStrategy, PlacementContext, Strategy};

use crate::Error;
use crate::cluster::Cluster;

/// Places tasks on a cluster.
pub trait Scheduler {
    /// Places up to `request.count` tasks, reserving what each holds, so that a batch never
    /// overcommits. Tasks that fit nowhere are counted in [`Outcome::unplaced`], with why.
    fn place(
        &mut self,
        cluster: &mut Cluster,
        request: &PlacementRequest,
    ) -> Result<Outcome, Error>;

    /// What [`place`](Self::place) would do, without changing `cluster` (a dry run: the
    /// allocations it names are not made).
    fn plan(&mut self, cluster: &Cluster, request: &PlacementRequest) -> Result<Outcome, Error> {
        let mut scratch = cluster.clone();
        self.place(&mut scratch, request)
    }
}
