//! A cluster as DescribeClusters shows it.

use crate::ids::{Arn, ClusterName};

/// A cluster as ECS's DescribeClusters shows it (`clusterArn`, `clusterName`, `status`
/// and the counts). ECS's other members (settings, capacity providers, statistics,
/// tags) join as the library grows them.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct ClusterDescription {
    /// Its ARN (`cluster/NAME`).
    pub cluster_arn: Arn,
    /// Its name.
    pub cluster_name: ClusterName,
    /// `ACTIVE`; `INACTIVE` as DeleteCluster answers (a deleted cluster is gone).
    pub status: String,
    /// Its container instances, whatever their status (ECS counts ACTIVE and DRAINING).
    pub registered_container_instances_count: usize,
    /// Its tasks whose last status is RUNNING.
    pub running_tasks_count: usize,
    /// Its tasks on their way to RUNNING (PROVISIONING, PENDING, ACTIVATING) that are
    /// still meant to run.
    pub pending_tasks_count: usize,
    /// Its services that are ACTIVE (DRAINING ones are on their way out).
    pub active_services_count: usize,
    /// Its settings (`containerInsights`), by name.
    #[serde(default)]
    pub settings: std::collections::BTreeMap<String, String>,
    /// Its tags.
    #[serde(default)]
    pub tags: crate::tags::Tags,
    /// The capacity providers it may use.
    #[serde(default)]
    pub capacity_providers: Vec<crate::ids::CapacityProviderName>,
    /// The strategy of launches that name neither a strategy nor a launch type.
    #[serde(default)]
    pub default_capacity_provider_strategy: Vec<crate::capacity::CapacityProviderStrategyItem>,
}
