//! Capacity providers: the cluster grows and shrinks its container instances as its
//! tasks need them (ECS's capacity providers with managed scaling).
//!
//! - [`CapacityProvider`]: a name, the [`InstanceGroup`] it manages (ECS's Auto Scaling
//!   group: an [`InstanceProvider`] with a minimum and a maximum size), its
//!   [`ManagedScaling`] and whether instances are protected and drained before they go.
//! - A cluster lists its providers and a default [`CapacityProviderStrategyItem`]
//!   strategy; RunTask and services name a strategy of their own, or use the default.
//!   [`strategy::split`] shares tasks among the providers (bases, then weights).
//! - A task that no instance of its provider can hold waits in PROVISIONING for
//!   capacity instead of failing, up to
//!   [`CapacityConfig::wait_timeout`](crate::config::CapacityConfig), and is placed as
//!   instances arrive.
//! - Managed scaling ([`scaling::decide`], pure) keeps `CapacityProviderReservation` at
//!   the target: it launches instances in steps, lets warm-up pass, and scales in by
//!   draining the emptiest instances first; an instance is terminated only once no
//!   task runs on it (managed termination protection), never below the minimum.
//!
//! [`InMemoryInstanceProvider`] simulates instances for tests.

mod memory;
pub(crate) mod model;
mod provider;
pub mod scaling;
pub mod strategy;

pub use memory::{InMemoryInstanceProvider, LaunchRecord};
pub use model::{
    CapacityProvider, CapacityProviderStatus, CapacityProviderStrategyItem, ManagedScaling, limits,
    validate_strategy,
};
pub use provider::{InstanceGroup, InstanceProvider, LaunchedInstance};

use std::collections::BTreeMap;

use tokio::time::Instant;

use crate::cluster::Resources;
use crate::ids::{CapacityProviderName, ClusterName, TaskId};
use crate::placement::Constraint;

/// The built-in attribute naming the capacity provider an instance belongs to (set
/// when the provider launches it; a user cannot set `ecs.*` attributes).
pub const PROVIDER_ATTRIBUTE: &str = "ecs.capacity-provider-name";

/// The constraint that keeps a task on `provider`'s instances.
pub(crate) fn on_provider(provider: &CapacityProviderName) -> Result<Constraint, crate::Error> {
    Constraint::member_of(&format!("attribute:{PROVIDER_ATTRIBUTE} == '{provider}'"))
}

/// The capacity providers and the tasks waiting for them, as the state holds them.
#[derive(Default)]
pub(crate) struct CapacityTables {
    /// Every provider, by name.
    pub(crate) providers: BTreeMap<CapacityProviderName, CapacityProviderEntry>,
    /// Tasks waiting in PROVISIONING for capacity.
    pub(crate) waiting: BTreeMap<TaskId, Waiting>,
}

/// A provider and the cluster it serves (ECS: one at most).
#[derive(Debug, Clone)]
pub(crate) struct CapacityProviderEntry {
    pub(crate) provider: CapacityProvider,
    pub(crate) cluster: Option<ClusterName>,
}

/// A task waiting for capacity: what placing it needs besides the task itself.
#[derive(Debug, Clone)]
pub(crate) struct Waiting {
    pub(crate) cluster: ClusterName,
    pub(crate) provider: CapacityProviderName,
    /// Since when (the timeout counts from here).
    pub(crate) since: Instant,
    /// What it needs of an instance.
    pub(crate) resources: Resources,
    /// Its request (count 1, group settled), as it was launched.
    pub(crate) request: crate::task::RunTask,
    /// Constraints the control plane added (a service's own).
    pub(crate) extra: Vec<Constraint>,
}
