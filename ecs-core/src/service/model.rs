//! What DescribeServices returns: a service, its deployments and its events.

use std::time::Duration;

use super::config::{
    CreateService, DeploymentConfiguration, LoadBalancer, SchedulingStrategy, Tag,
};
use crate::ids::{Arn, ClusterName, ServiceName, TaskDefinitionRef};
use crate::placement::api::{PlacementConstraint, PlacementStrategy};
use crate::task_definition::enums::api_enum;

api_enum!(
    /// A service's status.
    ServiceStatus {
        /// Keeping its tasks running.
        Active = "ACTIVE",
        /// Deleted; scaling to zero.
        Draining = "DRAINING",
        /// Deleted, with no task left.
        Inactive = "INACTIVE",
    }
);

api_enum!(
    /// A deployment's place in its service.
    DeploymentStatus {
        /// The newest: the one the service converges to.
        Primary = "PRIMARY",
        /// An older one whose tasks are being replaced.
        Active = "ACTIVE",
        /// Replaced completely.
        Inactive = "INACTIVE",
    }
);

api_enum!(
    /// How a deployment's rollout is going (`rolloutState`).
    RolloutState {
        /// Reached its desired count of healthy tasks and replaced the older ones.
        Completed = "COMPLETED",
        /// Stopped by the circuit breaker.
        Failed = "FAILED",
        /// Under way.
        InProgress = "IN_PROGRESS",
    }
);

/// An opaque deployment id, `ecs-svc/` and digits as in ECS; also the `startedBy` of the
/// deployment's tasks.
#[derive(
    Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
#[serde(transparent)]
pub struct DeploymentId(pub(crate) String);

impl DeploymentId {
    /// The id's text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for DeploymentId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// One version of a service's task definition and configuration being rolled out.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct Deployment {
    /// Its id, also its tasks' `startedBy`.
    pub id: DeploymentId,
    /// PRIMARY, ACTIVE or INACTIVE.
    pub status: DeploymentStatus,
    /// What its tasks run.
    pub task_definition: TaskDefinitionRef,
    /// How many tasks it aims for.
    pub desired_count: u32,
    /// Its tasks not RUNNING yet.
    pub pending_count: u32,
    /// Its RUNNING tasks.
    pub running_count: u32,
    /// Its tasks that failed (to start, an essential exit, unhealthy) since it began.
    pub failed_tasks: u32,
    /// The rollout's state.
    pub rollout_state: RolloutState,
    /// Why it is in that state.
    pub rollout_state_reason: String,
    /// When it began.
    pub created_at: jiff::Timestamp,
    /// When it last changed.
    pub updated_at: jiff::Timestamp,
    /// The Service Connect configuration its tasks are started with.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service_connect_configuration: Option<super::ServiceConnectConfiguration>,
}

impl Deployment {
    /// A new deployment of `task_definition` aiming for `desired` tasks: PRIMARY and
    /// IN_PROGRESS, with a fresh id.
    pub(crate) fn new(
        task_definition: TaskDefinitionRef,
        desired: u32,
        now: jiff::Timestamp,
    ) -> Self {
        let id = DeploymentId(format!(
            "ecs-svc/{:019}",
            fastrand::u64(..) % 10_000_000_000_000_000_000
        ));
        Self {
            rollout_state_reason: format!("ECS deployment {id} in progress."),
            id,
            status: DeploymentStatus::Primary,
            task_definition,
            desired_count: desired,
            pending_count: 0,
            running_count: 0,
            failed_tasks: 0,
            rollout_state: RolloutState::InProgress,
            created_at: now,
            updated_at: now,
            service_connect_configuration: None,
        }
    }
}

/// One line of a service's history, in ECS's words.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct ServiceEvent {
    /// A unique id.
    pub id: String,
    /// When.
    pub created_at: jiff::Timestamp,
    /// What happened: `(service web) has reached a steady state.`
    pub message: String,
}

/// The back-off applied when a service's tasks keep failing to start: ECS's service
/// throttle, visible.
#[derive(Debug, Clone, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct Throttle {
    /// Tasks that failed in a row without one becoming healthy.
    pub consecutive_failures: u32,
    /// The wait before the next launch attempt (zero when not throttled).
    pub delay: Duration,
    /// When launches may resume, while throttled.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub until: Option<jiff::Timestamp>,
}

/// A service (DescribeServices' shape).
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct Service {
    /// Its ARN.
    pub service_arn: Arn,
    /// Its name.
    pub service_name: ServiceName,
    /// Its cluster.
    pub cluster: ClusterName,
    /// ACTIVE, DRAINING or INACTIVE.
    pub status: ServiceStatus,
    /// REPLICA or DAEMON.
    pub scheduling_strategy: SchedulingStrategy,
    /// The task count it keeps (for DAEMON, the eligible instances).
    pub desired_count: u32,
    /// Its RUNNING tasks.
    pub running_count: u32,
    /// Its tasks not RUNNING yet.
    pub pending_count: u32,
    /// The PRIMARY deployment's task definition.
    pub task_definition: TaskDefinitionRef,
    /// Rolling deployment limits and circuit breaker.
    pub deployment_configuration: DeploymentConfiguration,
    /// Newest first: the PRIMARY, then ACTIVE ones being replaced.
    pub deployments: Vec<Deployment>,
    /// Newest first, at most 100.
    pub events: Vec<ServiceEvent>,
    /// Placement strategies.
    pub placement_strategy: Vec<PlacementStrategy>,
    /// Placement constraints.
    pub placement_constraints: Vec<PlacementConstraint>,
    /// Its capacity provider strategy (empty: the cluster's default).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub capacity_provider_strategy: Vec<crate::capacity::CapacityProviderStrategyItem>,
    /// Grace period for health checks after a task starts.
    pub health_check_grace_period_seconds: u32,
    /// Load balancers.
    pub load_balancers: Vec<LoadBalancer>,
    /// Tags.
    pub tags: Vec<Tag>,
    /// Whether its tasks are started with ExecuteCommand enabled.
    #[serde(default)]
    pub enable_execute_command: bool,
    /// Its Service Connect configuration (the PRIMARY deployment's).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service_connect_configuration: Option<super::ServiceConnectConfiguration>,
    /// The start throttle.
    pub throttle: Throttle,
    /// Whether the service is in a steady state: its PRIMARY deployment COMPLETED and
    /// alone, with the desired count of tasks RUNNING and healthy (in its load
    /// balancers too) for the stability window. Not an ECS field: ECS says it in an
    /// event, which this mirrors.
    pub steady: bool,
    /// When it was created.
    pub created_at: jiff::Timestamp,
}

impl Service {
    pub(crate) fn from_request(
        r: &CreateService,
        arn: Arn,
        td: TaskDefinitionRef,
        now: jiff::Timestamp,
    ) -> Self {
        Self {
            service_arn: arn,
            service_name: r.service_name.clone(),
            cluster: r.cluster.clone(),
            status: ServiceStatus::Active,
            scheduling_strategy: r.strategy(),
            desired_count: r.desired_count.unwrap_or(0),
            running_count: 0,
            pending_count: 0,
            task_definition: td,
            deployment_configuration: r.deployment_configuration.unwrap_or_default(),
            deployments: Vec::new(),
            events: Vec::new(),
            placement_strategy: r.placement_strategy.clone(),
            placement_constraints: r.placement_constraints.clone(),
            capacity_provider_strategy: r.capacity_provider_strategy.clone(),
            health_check_grace_period_seconds: r.health_check_grace_period_seconds.unwrap_or(0),
            load_balancers: r.load_balancers.clone(),
            tags: r.tags.clone(),
            enable_execute_command: r.enable_execute_command,
            service_connect_configuration: r.service_connect_configuration.clone(),
            throttle: Throttle::default(),
            steady: false,
            created_at: now,
        }
    }

    /// The PRIMARY deployment.
    pub fn primary(&self) -> Option<&Deployment> {
        self.deployments
            .iter()
            .find(|d| d.status == DeploymentStatus::Primary)
    }

    /// Whether the service is in a steady state (see [`Service::steady`]).
    pub fn is_steady(&self) -> bool {
        self.steady && self.status == ServiceStatus::Active
    }

    /// `(service NAME)`, as ECS's messages begin.
    pub(crate) fn tag(&self) -> String {
        format!("(service {})", self.service_name)
    }
}
