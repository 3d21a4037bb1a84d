//! What the control plane keeps in a [`Store`](crate::store::Store): one record per
//! cluster, container instance, task definition revision, service and task, as JSON, and
//! the keys they are kept under.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::Error;
use crate::autoscaling::{ScalableTarget, ScalingActivity, ScalingPolicy};
use crate::cluster::{ContainerInstance, InstanceStatus, Resources};
use crate::ids::{ClusterName, InstanceId, ServiceName, TaskDefinitionRef};
use crate::service::{BreakerCount, DeploymentId, Service, ServiceLimits};
use crate::store::Kind;

/// A cluster: its name and service limits.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ClusterRecord {
    pub(crate) cluster_name: ClusterName,
    pub(crate) limits: ServiceLimits,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub(crate) tags: crate::tags::Tags,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub(crate) settings: BTreeMap<String, String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub(crate) capacity_providers: Vec<crate::ids::CapacityProviderName>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub(crate) default_capacity_provider_strategy:
        Vec<crate::capacity::CapacityProviderStrategyItem>,
}

/// A container instance as registered: what it offers, its attributes and status. Its
/// runtime is not kept: the program registers it again after a restart.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct InstanceRecord {
    pub(crate) cluster: ClusterName,
    pub(crate) id: InstanceId,
    pub(crate) status: InstanceStatus,
    pub(crate) registered_resources: Resources,
    pub(crate) attributes: BTreeMap<String, Option<String>>,
    pub(crate) agent_version: Option<String>,
    pub(crate) registered_at: jiff::Timestamp,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub(crate) tags: crate::tags::Tags,
}

impl InstanceRecord {
    /// Whether it records `i` as it is (compared in place: no copy of its attributes).
    pub(crate) fn describes(&self, i: &ContainerInstance) -> bool {
        self.id == i.id
            && self.status == i.status
            && self.registered_resources == i.registered
            && self.attributes == i.attributes
            && self.agent_version == i.agent_version
            && self.registered_at == i.registered_at
            && self.tags == i.tags
    }

    pub(crate) fn of(cluster: &ClusterName, i: &ContainerInstance) -> Self {
        Self {
            cluster: cluster.clone(),
            id: i.id.clone(),
            status: i.status,
            registered_resources: i.registered,
            attributes: i.attributes.clone(),
            agent_version: i.agent_version.clone(),
            registered_at: i.registered_at,
            tags: i.tags.clone(),
        }
    }
}

/// A service, its deployments and events, and where a rollback returns.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ServiceRecord {
    pub(crate) service: Service,
    pub(crate) last_completed: Option<(DeploymentId, TaskDefinitionRef)>,
    /// (Absent from records written before it was kept.)
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) last_completed_connect: Option<crate::service::ServiceConnectConfiguration>,
    /// (Absent from records written before it was kept.)
    #[serde(default)]
    pub(crate) breaker: BreakerCount,
}

/// A scalable service: its bounds, policies and recent activities. (The policies'
/// alarm states are not kept: they count periods again from the restart.)
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ScalingRecord {
    pub(crate) cluster: ClusterName,
    pub(crate) service_name: ServiceName,
    pub(crate) target: ScalableTarget,
    pub(crate) policies: Vec<ScalingPolicy>,
    pub(crate) activities: Vec<ScalingActivity>,
}

/// The key of a record of `cluster`'s `name` (an instance, a service).
pub(crate) fn scoped_key(cluster: &ClusterName, name: &str) -> String {
    format!("{cluster}/{name}")
}

pub(crate) fn encode<T: Serialize>(kind: Kind, key: &str, value: &T) -> Result<Vec<u8>, Error> {
    serde_json::to_vec(value).map_err(|e| Error::Store {
        path: None,
        reason: format!("cannot encode {kind} {key:?}: {e}"),
    })
}

/// Reads a record back; a record that does not read is an error naming it, never skipped.
pub(crate) fn decode<T: serde::de::DeserializeOwned>(
    kind: Kind,
    key: &str,
    value: &[u8],
) -> Result<T, Error> {
    let de = &mut serde_json::Deserializer::from_slice(value);
    serde_path_to_error::deserialize(de).map_err(|e| Error::Store {
        path: None,
        reason: format!("{kind} record {key:?} does not read: {e}"),
    })
}
