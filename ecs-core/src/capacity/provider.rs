//! The instances behind a capacity provider: a group (ECS's Auto Scaling group) that
//! launches and terminates container instances, each with its container engine.

use std::collections::BTreeMap;
use std::sync::Arc;

use async_trait::async_trait;

use crate::Error;
use crate::cluster::Resources;
use crate::ids::InstanceId;
use crate::runtime::ContainerRuntime;

/// Launches and terminates container instances: cloud machines, local engines, or
/// simulated ones ([`InMemoryInstanceProvider`](super::InMemoryInstanceProvider)).
///
/// The control plane registers what [`launch`](Self::launch) returns in the cluster and
/// calls [`terminate`](Self::terminate) only on instances it has emptied of tasks
/// (with managed termination protection) and deregistered. After a restart it asks
/// [`instances`](Self::instances) what exists and registers it again, adopting the
/// containers found there.
#[async_trait]
pub trait InstanceProvider: Send + Sync + std::fmt::Debug {
    /// What one instance offers: managed scaling counts in instances of this size.
    fn instance_resources(&self) -> Resources;

    /// Launches `count` instances and returns those that came up (fewer on a partial
    /// failure; an error when none did).
    async fn launch(&self, count: u32) -> Result<Vec<LaunchedInstance>, Error>;

    /// Terminates an instance and everything on it. Terminating one that is gone
    /// already succeeds.
    async fn terminate(&self, instance: &InstanceId) -> Result<(), Error>;

    /// The instances that exist now.
    async fn instances(&self) -> Result<Vec<LaunchedInstance>, Error>;
}

/// An instance a provider launched.
#[derive(Clone)]
pub struct LaunchedInstance {
    /// Its id, unique in its cluster.
    pub id: InstanceId,
    /// Its container engine.
    pub runtime: Arc<dyn ContainerRuntime>,
    /// Attributes it registers with besides its engine's (a zone, an instance type).
    pub attributes: BTreeMap<String, String>,
}

impl std::fmt::Debug for LaunchedInstance {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LaunchedInstance")
            .field("id", &self.id)
            .field("runtime", &self.runtime.name())
            .field("attributes", &self.attributes)
            .finish()
    }
}

/// An instance group (ECS's Auto Scaling group): a provider of instances and the
/// fewest and most instances it may have. A capacity provider names it in
/// `autoScalingGroupArn`.
#[derive(Debug, Clone)]
pub struct InstanceGroup {
    /// What launches and terminates its instances.
    pub provider: Arc<dyn InstanceProvider>,
    /// The fewest instances it keeps.
    pub min_size: u32,
    /// The most instances it may have.
    pub max_size: u32,
}

impl InstanceGroup {
    /// A group of `min_size` to `max_size` instances of `provider`.
    pub fn new(provider: Arc<dyn InstanceProvider>, min_size: u32, max_size: u32) -> Self {
        Self {
            provider,
            min_size,
            max_size,
        }
    }
}
