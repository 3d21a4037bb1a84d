//! CreateService's and UpdateService's inputs in the API's JSON shapes, with ECS's
//! defaults and validation.

use serde::{Deserialize, Serialize};

use crate::Error;
use crate::ids::{ClusterName, ServiceName, TaskDefinitionRef};
use crate::placement::api::{PlacementConstraint, PlacementStrategy};
use crate::task_definition::enums::api_enum;

api_enum!(
    /// How a service decides its task count (`schedulingStrategy`).
    SchedulingStrategy {
        /// `desiredCount` tasks, placed by the service's strategies.
        Replica = "REPLICA",
        /// One task on each ACTIVE instance meeting the constraints.
        Daemon = "DAEMON",
    }
);

/// Stops a deployment that cannot reach a steady state (`deploymentCircuitBreaker`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct DeploymentCircuitBreaker {
    /// Whether the breaker watches deployments.
    pub enable: bool,
    /// Whether a failed deployment rolls back to the last COMPLETED one.
    pub rollback: bool,
    /// Whether a task reaching a healthy state resets the failure count (ECS's default:
    /// true).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reset_on_healthy_task: Option<bool>,
}

impl DeploymentCircuitBreaker {
    /// The breaker, with or without rollback.
    pub fn new(enable: bool, rollback: bool) -> Self {
        Self {
            enable,
            rollback,
            reset_on_healthy_task: None,
        }
    }

    /// ECS's failure threshold for a deployment of `desired` tasks: half of it, rounded
    /// up, but at least 3 and at most 200.
    pub fn threshold(desired: u32) -> u32 {
        desired.div_ceil(2).clamp(3, 200)
    }
}

/// How a rolling deployment proceeds (`deploymentConfiguration`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct DeploymentConfiguration {
    /// The circuit breaker, off when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deployment_circuit_breaker: Option<DeploymentCircuitBreaker>,
    /// Upper limit of RUNNING and PENDING tasks, in percent of `desiredCount` (rounded
    /// down). Default 200 (REPLICA), 100 (DAEMON).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub maximum_percent: Option<u32>,
    /// Lower limit of healthy RUNNING tasks, in percent of `desiredCount` (rounded up).
    /// Default 100 (REPLICA), 0 (DAEMON).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub minimum_healthy_percent: Option<u32>,
}

impl DeploymentConfiguration {
    /// Limits `minimum_healthy_percent` and `maximum_percent`.
    pub fn with_percents(mut self, minimum_healthy: u32, maximum: u32) -> Self {
        self.minimum_healthy_percent = Some(minimum_healthy);
        self.maximum_percent = Some(maximum);
        self
    }

    /// Turns the circuit breaker on.
    pub fn with_circuit_breaker(mut self, rollback: bool) -> Self {
        self.deployment_circuit_breaker = Some(DeploymentCircuitBreaker::new(true, rollback));
        self
    }

    /// The percentages with ECS's defaults for `strategy` filled in: (minimum healthy,
    /// maximum).
    pub fn percents(&self, strategy: SchedulingStrategy) -> (u32, u32) {
        let (min, max) = match strategy {
            SchedulingStrategy::Daemon => (0, 100),
            _ => (100, 200),
        };
        (
            self.minimum_healthy_percent.unwrap_or(min),
            self.maximum_percent.unwrap_or(max),
        )
    }

    /// The circuit breaker, when enabled.
    pub fn breaker(&self) -> Option<DeploymentCircuitBreaker> {
        self.deployment_circuit_breaker.filter(|b| b.enable)
    }

    fn validate(&self, strategy: SchedulingStrategy) -> Result<(), Error> {
        let (min, max) = self.percents(strategy);
        let bad =
            |reason: String| Error::InvalidService(format!("deploymentConfiguration: {reason}"));
        if min > 100 {
            return Err(bad(format!("minimumHealthyPercent {min} is above 100")));
        }
        if max < 100 {
            return Err(bad(format!("maximumPercent {max} is below 100")));
        }
        if strategy == SchedulingStrategy::Daemon && max != 100 {
            return Err(bad(format!(
                "maximumPercent {max}: a DAEMON service runs one task per instance, so it must be 100"
            )));
        }
        if max <= min && !(strategy == SchedulingStrategy::Daemon && min < 100) {
            return Err(bad(format!(
                "maximumPercent {max} must be above minimumHealthyPercent {min}, or a deployment could never start a new task nor stop an old one"
            )));
        }
        Ok(())
    }
}

/// A load balancer a service's tasks register with (`loadBalancers`); wired by the
/// load-balancing layer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct LoadBalancer {
    /// The target group.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target_group_arn: Option<String>,
    /// A classic load balancer's name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub load_balancer_name: Option<String>,
    /// The container that receives the traffic.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub container_name: Option<String>,
    /// Its port.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub container_port: Option<u16>,
}

impl LoadBalancer {
    /// Traffic to `container`'s `port` through the target group `target_group` (a name
    /// or ARN given to [`Ecs::register_target_group`](crate::Ecs::register_target_group)).
    pub fn target_group(
        target_group: impl Into<String>,
        container: impl Into<String>,
        port: u16,
    ) -> Self {
        Self {
            target_group_arn: Some(target_group.into()),
            load_balancer_name: None,
            container_name: Some(container.into()),
            container_port: Some(port),
        }
    }
}

/// A resource tag.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct Tag {
    /// The key.
    pub key: String,
    /// The value.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
}

/// CreateService's input. Build one with [`CreateService::new`] and the `with_*`
/// methods, or read the API's JSON with [`CreateService::from_json`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct CreateService {
    /// The cluster (its name or ARN); `default` when absent.
    #[serde(default = "default_cluster", deserialize_with = "cluster_name_or_arn")]
    pub cluster: ClusterName,
    /// The service's name, unique among the cluster's ACTIVE and DRAINING services.
    pub service_name: ServiceName,
    /// `family`, `family:revision` or an ARN.
    pub task_definition: TaskDefinitionRef,
    /// How many tasks (REPLICA); absent for DAEMON.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub desired_count: Option<u32>,
    /// REPLICA (default) or DAEMON.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scheduling_strategy: Option<SchedulingStrategy>,
    /// Where tasks go, in order of preference.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub placement_strategy: Vec<PlacementStrategy>,
    /// Where tasks may go.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub placement_constraints: Vec<PlacementConstraint>,
    /// The capacity providers its tasks go to. When empty and no `launch_type` is set,
    /// the cluster's default strategy at creation (as ECS does: a later default does
    /// not change the service); none, the cluster's instances (`EC2`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub capacity_provider_strategy: Vec<crate::capacity::CapacityProviderStrategyItem>,
    /// `EC2`: any instance of the cluster, never a capacity provider's default strategy.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub launch_type: Option<crate::task::LaunchType>,
    /// Rolling deployment limits and the circuit breaker.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deployment_configuration: Option<DeploymentConfiguration>,
    /// How long after a task starts its failing health checks are ignored.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub health_check_grace_period_seconds: Option<u32>,
    /// Load balancers the tasks register with.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub load_balancers: Vec<LoadBalancer>,
    /// Tags.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tags: Vec<Tag>,
    /// Lets ExecuteCommand run commands in the service's tasks.
    #[serde(default)]
    pub enable_execute_command: bool,
    /// Service Connect: the service's tasks reachable by name in a namespace.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service_connect_configuration: Option<super::ServiceConnectConfiguration>,
}

/// ECS accepts a cluster's name or its ARN (`arn:aws:ecs:REGION:ACCOUNT:cluster/NAME`).
fn cluster_name_or_arn<'de, D: serde::Deserializer<'de>>(d: D) -> Result<ClusterName, D::Error> {
    let text = String::deserialize(d)?;
    let name = match text.strip_prefix("arn:") {
        Some(rest) => rest
            .rsplit_once(":cluster/")
            .map_or(text.as_str(), |(_, n)| n),
        None => text.as_str(),
    };
    name.parse().map_err(serde::de::Error::custom)
}

fn default_cluster() -> ClusterName {
    ClusterName::new("default").unwrap_or_else(|_| unreachable!("\"default\" is a valid name"))
}

impl CreateService {
    /// A REPLICA service of `desired_count` tasks of `task_definition` on `cluster`.
    pub fn new(
        cluster: ClusterName,
        service_name: ServiceName,
        task_definition: TaskDefinitionRef,
        desired_count: u32,
    ) -> Self {
        Self {
            cluster,
            service_name,
            task_definition,
            desired_count: Some(desired_count),
            scheduling_strategy: None,
            placement_strategy: Vec::new(),
            placement_constraints: Vec::new(),
            capacity_provider_strategy: Vec::new(),
            launch_type: None,
            deployment_configuration: None,
            health_check_grace_period_seconds: None,
            load_balancers: Vec::new(),
            tags: Vec::new(),
            enable_execute_command: false,
            service_connect_configuration: None,
        }
    }

    /// With Service Connect.
    pub fn with_service_connect(mut self, c: super::ServiceConnectConfiguration) -> Self {
        self.service_connect_configuration = Some(c);
        self
    }

    /// With ExecuteCommand enabled (or not) for its tasks.
    pub fn with_execute_command(mut self, enable: bool) -> Self {
        self.enable_execute_command = enable;
        self
    }

    /// A DAEMON service: one task of `task_definition` on each instance.
    pub fn daemon(
        cluster: ClusterName,
        service_name: ServiceName,
        task_definition: TaskDefinitionRef,
    ) -> Self {
        let mut s = Self::new(cluster, service_name, task_definition, 0);
        s.desired_count = None;
        s.scheduling_strategy = Some(SchedulingStrategy::Daemon);
        s
    }

    /// Reads CreateService's JSON (`aws ecs create-service --cli-input-json`); members
    /// this library does not model (launch type, network configuration ...) are ignored.
    pub fn from_json(json: &str) -> Result<Self, Error> {
        crate::task_definition::load::from_json_text(json)
    }

    /// With a capacity provider strategy.
    pub fn with_capacity_provider_strategy(
        mut self,
        strategy: Vec<crate::capacity::CapacityProviderStrategyItem>,
    ) -> Self {
        self.capacity_provider_strategy = strategy;
        self
    }

    /// Appends a placement strategy.
    pub fn with_placement_strategy(mut self, s: PlacementStrategy) -> Self {
        self.placement_strategy.push(s);
        self
    }

    /// Appends a placement constraint.
    pub fn with_placement_constraint(mut self, c: PlacementConstraint) -> Self {
        self.placement_constraints.push(c);
        self
    }

    /// Sets the deployment configuration.
    pub fn with_deployment_configuration(mut self, c: DeploymentConfiguration) -> Self {
        self.deployment_configuration = Some(c);
        self
    }

    /// Sets the health check grace period.
    pub fn with_health_check_grace_period(mut self, seconds: u32) -> Self {
        self.health_check_grace_period_seconds = Some(seconds);
        self
    }

    /// Appends a load balancer.
    pub fn with_load_balancer(mut self, lb: LoadBalancer) -> Self {
        self.load_balancers.push(lb);
        self
    }

    /// Appends a tag.
    pub fn with_tag(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.tags.push(Tag {
            key: key.into(),
            value: Some(value.into()),
        });
        self
    }

    /// The scheduling strategy, REPLICA by default.
    pub fn strategy(&self) -> SchedulingStrategy {
        self.scheduling_strategy
            .unwrap_or(SchedulingStrategy::Replica)
    }

    /// ECS's rules, against the cluster's limits.
    pub(crate) fn validate(&self, limits: &ServiceLimits) -> Result<(), Error> {
        crate::capacity::validate_strategy("CreateService", &self.capacity_provider_strategy)?;
        if self.launch_type.is_some() && !self.capacity_provider_strategy.is_empty() {
            return Err(Error::InvalidParameter {
                operation: "CreateService",
                member: "launchType",
                reason: "a launch type and a capacity provider strategy cannot both be set"
                    .to_owned(),
            });
        }
        let strategy = self.strategy();
        match (strategy, self.desired_count) {
            (SchedulingStrategy::Daemon, Some(_)) => {
                return Err(Error::InvalidService(
                    "desiredCount: a DAEMON service runs one task per instance; leave desiredCount out".into(),
                ));
            }
            (SchedulingStrategy::Daemon, None) => {
                if !self.placement_strategy.is_empty() {
                    return Err(Error::InvalidService(
                        "placementStrategy: a DAEMON service takes no placement strategy".into(),
                    ));
                }
            }
            (_, None) => {
                return Err(Error::InvalidService(
                    "desiredCount: required for a REPLICA service".into(),
                ));
            }
            (_, Some(n)) => limits.check_desired(n)?,
        }
        self.deployment_configuration
            .unwrap_or_default()
            .validate(strategy)?;
        check_placement(&self.placement_strategy, &self.placement_constraints)?;
        // ECS's limits on tags, as TagResource keeps them; a key given twice is refused
        // rather than one of its values dropped.
        let mut tags = crate::tags::Tags::new();
        for tag in &self.tags {
            let value = tag.value.clone().unwrap_or_default();
            if tags.insert(tag.key.clone(), value).is_some() {
                return Err(Error::InvalidService(format!(
                    "tags: key {:?} is given twice",
                    tag.key
                )));
            }
        }
        crate::tags::merged("CreateService", &crate::tags::Tags::new(), &tags)?;
        Ok(())
    }
}

fn check_placement(
    strategies: &[PlacementStrategy],
    constraints: &[PlacementConstraint],
) -> Result<(), Error> {
    for s in strategies {
        crate::placement::Strategy::from_api(s)?;
    }
    for c in constraints {
        crate::placement::Constraint::from_api(c)?;
    }
    if strategies.len() > crate::placement::MAX_STRATEGIES {
        return Err(Error::InvalidService(format!(
            "placementStrategy: at most {} strategies, found {}",
            crate::placement::MAX_STRATEGIES,
            strategies.len()
        )));
    }
    Ok(())
}

/// DeleteService's input.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct DeleteService {
    /// The cluster (its name or ARN); `default` when absent.
    #[serde(default = "default_cluster", deserialize_with = "cluster_name_or_arn")]
    pub cluster: ClusterName,
    /// The service.
    pub service: ServiceName,
    /// Deletes a REPLICA service whose desired count is above zero (it scales to zero
    /// while DRAINING).
    #[serde(default)]
    pub force: bool,
}

impl DeleteService {
    /// Deletes `service` of `cluster` (refused while it wants tasks: scale it to zero
    /// first, or set `force`).
    pub fn new(cluster: ClusterName, service: ServiceName) -> Self {
        Self {
            cluster,
            service,
            force: false,
        }
    }

    /// With `force` set as given.
    pub fn with_force(mut self, force: bool) -> Self {
        self.force = force;
        self
    }
}

/// UpdateService's input: every member left `None` keeps its value.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct UpdateService {
    /// The cluster (its name or ARN); `default` when absent.
    #[serde(default = "default_cluster", deserialize_with = "cluster_name_or_arn")]
    pub cluster: ClusterName,
    /// The service.
    pub service: ServiceName,
    /// A new task count (REPLICA only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub desired_count: Option<u32>,
    /// A new task definition: starts a new deployment.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub task_definition: Option<TaskDefinitionRef>,
    /// New deployment limits.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deployment_configuration: Option<DeploymentConfiguration>,
    /// New placement strategies (for tasks placed from now on).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub placement_strategy: Option<Vec<PlacementStrategy>>,
    /// New placement constraints.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub placement_constraints: Option<Vec<PlacementConstraint>>,
    /// A new grace period.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub health_check_grace_period_seconds: Option<u32>,
    /// Starts a new deployment even with the same task definition.
    #[serde(default)]
    pub force_new_deployment: bool,
    /// Enables or disables ExecuteCommand for the tasks started from now on (as in
    /// ECS, tasks already running keep what they were started with).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enable_execute_command: Option<bool>,
    /// A new Service Connect configuration: starts a new deployment when it differs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service_connect_configuration: Option<super::ServiceConnectConfiguration>,
}

impl UpdateService {
    /// Changes nothing yet: set the members to change, or use the `with_` methods.
    pub fn new(cluster: ClusterName, service: ServiceName) -> Self {
        Self {
            cluster,
            service,
            desired_count: None,
            task_definition: None,
            deployment_configuration: None,
            placement_strategy: None,
            placement_constraints: None,
            health_check_grace_period_seconds: None,
            force_new_deployment: false,
            enable_execute_command: None,
            service_connect_configuration: None,
        }
    }

    /// Changes the Service Connect configuration.
    pub fn with_service_connect(mut self, c: super::ServiceConnectConfiguration) -> Self {
        self.service_connect_configuration = Some(c);
        self
    }

    /// Changes the desired count.
    pub fn with_desired_count(mut self, n: u32) -> Self {
        self.desired_count = Some(n);
        self
    }

    /// Deploys another task definition.
    pub fn with_task_definition(mut self, td: TaskDefinitionRef) -> Self {
        self.task_definition = Some(td);
        self
    }

    pub(crate) fn validate(
        &self,
        strategy: SchedulingStrategy,
        current: &DeploymentConfiguration,
        limits: &ServiceLimits,
    ) -> Result<(), Error> {
        if strategy == SchedulingStrategy::Daemon
            && self
                .placement_strategy
                .as_ref()
                .is_some_and(|p| !p.is_empty())
        {
            return Err(Error::InvalidService(
                "placementStrategy: a DAEMON service takes no placement strategy".into(),
            ));
        }
        if let Some(n) = self.desired_count {
            if strategy == SchedulingStrategy::Daemon {
                return Err(Error::InvalidService(
                    "desiredCount: a DAEMON service's count follows its instances".into(),
                ));
            }
            limits.check_desired(n)?;
        }
        self.deployment_configuration
            .unwrap_or(*current)
            .validate(strategy)?;
        check_placement(
            self.placement_strategy.as_deref().unwrap_or_default(),
            self.placement_constraints.as_deref().unwrap_or_default(),
        )
    }
}

/// A cluster's service limits (ECS's service quotas), configurable per cluster.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct ServiceLimits {
    /// Services per cluster (ECS: 5,000).
    pub services_per_cluster: u32,
    /// Tasks per service (ECS: 5,000).
    pub tasks_per_service: u32,
}

impl Default for ServiceLimits {
    fn default() -> Self {
        Self {
            services_per_cluster: 5_000,
            tasks_per_service: 5_000,
        }
    }
}

impl ServiceLimits {
    /// Limits of `services` services per cluster and `tasks` tasks per service.
    pub fn new(services: u32, tasks: u32) -> Self {
        Self {
            services_per_cluster: services,
            tasks_per_service: tasks,
        }
    }

    fn check_desired(&self, n: u32) -> Result<(), Error> {
        if n > self.tasks_per_service {
            return Err(Error::InvalidService(format!(
                "desiredCount {n} is above the cluster's limit of {} tasks per service",
                self.tasks_per_service
            )));
        }
        Ok(())
    }
}
