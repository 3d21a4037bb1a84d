//! The requests of the container instance operations: RegisterContainerInstance,
//! UpdateContainerInstancesState and DeregisterContainerInstance.

use std::collections::BTreeMap;
use std::sync::Arc;

use super::InstanceStatus;
use crate::Error;
use crate::ids::{ClusterName, InstanceId};
use crate::runtime::ContainerRuntime;

/// UpdateContainerInstancesState's most instances in one call.
pub const MAX_INSTANCES_PER_CALL: usize = 10;

/// RegisterContainerInstance: a host driven by `runtime` joins a cluster. Its resources
/// and built-in attributes come from the runtime's description of its host, its
/// capabilities become `ecs.capability.*` attributes, and `attributes` adds others (a
/// zone, custom ones).
#[derive(Clone)]
#[non_exhaustive]
pub struct RegisterContainerInstance {
    /// The cluster.
    pub cluster: ClusterName,
    /// The instance's id.
    pub instance: InstanceId,
    /// Its container engine.
    pub runtime: Arc<dyn ContainerRuntime>,
    /// Attributes besides the runtime's.
    pub attributes: BTreeMap<String, String>,
}

impl RegisterContainerInstance {
    /// `instance`, driven by `runtime`, joins `cluster`.
    pub fn new(
        cluster: ClusterName,
        instance: InstanceId,
        runtime: Arc<dyn ContainerRuntime>,
    ) -> Self {
        Self {
            cluster,
            instance,
            runtime,
            attributes: BTreeMap::new(),
        }
    }

    /// With these attributes besides the runtime's.
    pub fn with_attributes(mut self, attributes: BTreeMap<String, String>) -> Self {
        self.attributes = attributes;
        self
    }

    /// With one more attribute.
    pub fn with_attribute(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.attributes.insert(name.into(), value.into());
        self
    }
}

impl std::fmt::Debug for RegisterContainerInstance {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RegisterContainerInstance")
            .field("cluster", &self.cluster)
            .field("instance", &self.instance)
            .field("runtime", &self.runtime.name())
            .field("attributes", &self.attributes)
            .finish()
    }
}

/// UpdateContainerInstancesState: sets instances ACTIVE or DRAINING.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct UpdateContainerInstancesState {
    /// The cluster.
    pub cluster: ClusterName,
    /// The instances, 1 to 10.
    pub container_instances: Vec<InstanceId>,
    /// ACTIVE or DRAINING.
    pub status: InstanceStatus,
}

impl UpdateContainerInstancesState {
    /// Sets `container_instances` of `cluster` to `status`.
    pub fn new(
        cluster: ClusterName,
        container_instances: Vec<InstanceId>,
        status: InstanceStatus,
    ) -> Self {
        Self {
            cluster,
            container_instances,
            status,
        }
    }

    /// Refuses what ECS refuses: no instance or more than 10, a status other than
    /// ACTIVE or DRAINING.
    pub(crate) fn validate(&self) -> Result<(), Error> {
        const OP: &str = "UpdateContainerInstancesState";
        let n = self.container_instances.len();
        if n == 0 || n > MAX_INSTANCES_PER_CALL {
            return Err(Error::InvalidParameter {
                operation: OP,
                member: "containerInstances",
                reason: format!("{n} instances, outside 1 to {MAX_INSTANCES_PER_CALL} per call"),
            });
        }
        if !matches!(
            self.status,
            InstanceStatus::Active | InstanceStatus::Draining
        ) {
            return Err(Error::InvalidParameter {
                operation: OP,
                member: "status",
                reason: format!("can be set to ACTIVE or DRAINING, not {}", self.status),
            });
        }
        Ok(())
    }
}

/// DeregisterContainerInstance: an instance leaves its cluster.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct DeregisterContainerInstance {
    /// The cluster.
    pub cluster: ClusterName,
    /// The instance.
    pub container_instance: InstanceId,
    /// Deregisters an instance that still runs tasks: they are asked to stop
    /// (`TerminationNotice`), and services replace theirs elsewhere.
    pub force: bool,
}

impl DeregisterContainerInstance {
    /// Deregisters `container_instance` of `cluster` (refused while it runs tasks,
    /// unless `force` is set).
    pub fn new(cluster: ClusterName, container_instance: InstanceId) -> Self {
        Self {
            cluster,
            container_instance,
            force: false,
        }
    }

    /// With `force` set as given.
    pub fn with_force(mut self, force: bool) -> Self {
        self.force = force;
        self
    }
}
