//! The requests of Application Auto Scaling's operations on a service:
//! RegisterScalableTarget, PutScalingPolicy and DeleteScalingPolicy. (Deregistering a
//! target and describing its activities name the service only.)

use super::{ScalableTarget, ScalingPolicy};
use crate::ids::{ClusterName, ServiceName};

/// RegisterScalableTarget: makes a REPLICA service scalable between the target's
/// bounds, or changes them.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct RegisterScalableTarget {
    /// The service's cluster.
    pub cluster: ClusterName,
    /// The service (ECS's `ResourceId`, `service/CLUSTER/NAME`).
    pub service: ServiceName,
    /// Its bounds.
    pub target: ScalableTarget,
}

impl RegisterScalableTarget {
    /// `service` of `cluster` scales within `target`.
    pub fn new(cluster: ClusterName, service: ServiceName, target: ScalableTarget) -> Self {
        Self {
            cluster,
            service,
            target,
        }
    }
}

/// PutScalingPolicy: adds a policy to a scalable service, or replaces the one of the
/// same name.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct PutScalingPolicy {
    /// The service's cluster.
    pub cluster: ClusterName,
    /// The service.
    pub service: ServiceName,
    /// The policy.
    pub policy: ScalingPolicy,
}

impl PutScalingPolicy {
    /// `policy` for `service` of `cluster`.
    pub fn new(cluster: ClusterName, service: ServiceName, policy: ScalingPolicy) -> Self {
        Self {
            cluster,
            service,
            policy,
        }
    }
}

/// DeleteScalingPolicy: removes a service's policy by name.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct DeleteScalingPolicy {
    /// The service's cluster.
    pub cluster: ClusterName,
    /// The service.
    pub service: ServiceName,
    /// The policy's name.
    pub policy_name: String,
}

impl DeleteScalingPolicy {
    /// Removes `policy_name` from `service` of `cluster`.
    pub fn new(cluster: ClusterName, service: ServiceName, policy_name: impl Into<String>) -> Self {
        Self {
            cluster,
            service,
            policy_name: policy_name.into(),
        }
    }
}
