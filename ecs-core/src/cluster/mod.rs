//! Clusters and their container instances: registered and remaining resources, built-in
//! and custom attributes, status, agent connectivity, and the resources tasks hold.

pub mod attributes;
#[allow(clippy::module_inception)]
mod cluster;
mod description;
pub(crate) mod index;
pub(crate) mod instance;
mod requests;
mod resources;

pub(crate) use cluster::check_attribute;
pub use cluster::{AllocationId, Cluster};
pub use description::ClusterDescription;
pub use instance::{ContainerInstance, InstanceRegistration, InstanceStatus};
pub use requests::{
    DeregisterContainerInstance, MAX_INSTANCES_PER_CALL, RegisterContainerInstance,
    UpdateContainerInstancesState,
};
pub use resources::{HostPort, Resources};
