//! Services: keep a number of tasks of one task definition running, replace the ones
//! that fail, and roll out new revisions within the deployment's limits, as ECS's
//! service scheduler does.
//!
//! - [`config`]: CreateService and UpdateService in the API's shapes, with validation.
//! - [`model`]: what DescribeServices returns: deployments, events, the throttle.
//! - [`connect`]: Service Connect: tasks reachable by name in a namespace.
//! - [`plan`]: the scheduler's decision as a pure function (what to start and stop).
//!
//! Each service's controller (one reconciler per service, woken by task and instance
//! changes and by a periodic resync, that observes, plans and acts) is the control
//! plane's.
//!
//! ```
//! use std::sync::Arc;
//! use ecs_core::cluster::Resources;
//! use ecs_core::control::RegisterContainerInstance;
//! use ecs_core::runtime::InMemoryRuntime;
//! use ecs_core::service::CreateService;
//! use ecs_core::{Ecs, TaskDefinition};
//!
//! # #[tokio::main(flavor = "current_thread", start_paused = true)]
//! # async fn main() -> Result<(), ecs_core::Error> {
//! let ecs = Ecs::new(Default::default());
//! let dev: ecs_core::ClusterName = "dev".parse()?;
//! ecs.create_cluster(dev.clone())?;
//! let runtime = InMemoryRuntime::new(Resources::new(4096, 8192));
//! let instance = RegisterContainerInstance::new(dev.clone(), "i-1".parse()?, Arc::new(runtime));
//! ecs.register_container_instance(instance).await?;
//! ecs.register_task_definition(
//!     TaskDefinition::from_json(r#"{"family": "web", "containerDefinitions":
//!         [{"name": "app", "image": "busybox", "memory": 64}]}"#)?.definition,
//! )?;
//! ecs.create_service(CreateService::new(dev.clone(), "web".parse()?, "web".parse()?, 3))?;
//! let web = ecs.wait_for_service(&dev, &"web".parse()?, |s| s.is_steady()).await?;
//! assert_eq!(web.running_count, 3);
//! assert_eq!(web.events[0].message, "(service web) has reached a steady state.");
//! # Ok(())
//! # }
//! ```

pub mod config;
pub mod connect;
pub mod model;
pub mod plan;

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::Notify;

pub use config::{
    CreateService, DeleteService, DeploymentCircuitBreaker, DeploymentConfiguration, LoadBalancer,
    SchedulingStrategy, ServiceLimits, Tag, UpdateService,
};
pub use connect::{
    ServiceConnectClientAlias, ServiceConnectConfiguration, ServiceConnectEndpoint,
    ServiceConnectService, TaskServiceConnect,
};
pub use model::{
    Deployment, DeploymentId, DeploymentStatus, RolloutState, Service, ServiceEvent, ServiceStatus,
    Throttle,
};

use crate::ids::{TaskDefinitionRef, TaskId};

/// The back-off of a service whose tasks keep failing (ECS's service throttle): after
/// `failures_before_throttle` failures in a row, launches wait `initial_delay`, doubling
/// with each further failure up to `max_delay`. A task that stays healthy for
/// `stable_after` resets it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct ThrottleConfig {
    /// Failures in a row before launches are delayed.
    pub failures_before_throttle: u32,
    /// The first delay.
    pub initial_delay: Duration,
    /// The longest delay.
    pub max_delay: Duration,
    /// How long a task must stay healthy to count as a success: it lifts the throttle,
    /// resets the circuit breaker's count, and completes its deployment. A task that
    /// crashes sooner is a failure (a crash loop never looks like a success).
    pub stable_after: Duration,
}

impl Default for ThrottleConfig {
    fn default() -> Self {
        Self {
            failures_before_throttle: 3,
            initial_delay: Duration::from_secs(10),
            max_delay: Duration::from_secs(15 * 60),
            stable_after: Duration::from_secs(30),
        }
    }
}

impl ThrottleConfig {
    /// A throttle with these parameters, and the default `stable_after`.
    pub fn new(
        failures_before_throttle: u32,
        initial_delay: Duration,
        max_delay: Duration,
    ) -> Self {
        Self {
            failures_before_throttle,
            initial_delay,
            max_delay,
            ..Self::default()
        }
    }

    /// The delay after `failures` failures in a row.
    pub fn delay(&self, failures: u32) -> Duration {
        if failures < self.failures_before_throttle.max(1) {
            return Duration::ZERO;
        }
        let doublings = (failures - self.failures_before_throttle.max(1)).min(30);
        self.initial_delay
            .saturating_mul(1 << doublings)
            .min(self.max_delay)
    }
}

/// The custom attribute giving the address an instance's published ports are reached
/// on (by load balancers); `127.0.0.1` when absent (an engine on this machine).
pub const HOST_IP_ATTRIBUTE: &str = "host-ip";

/// What the control plane holds for a service.
pub(crate) struct ServiceEntry {
    pub(crate) service: Service,
    /// Its tasks the controller has not yet seen STOPPED.
    pub(crate) tasks: BTreeSet<TaskId>,
    /// Wakes its controller.
    pub(crate) wake: Arc<Notify>,
    /// Counts the changes of `service`, for waiters.
    pub(crate) changed: tokio::sync::watch::Sender<u64>,
    /// The last deployment that COMPLETED: where a rollback returns.
    pub(crate) last_completed: Option<(DeploymentId, TaskDefinitionRef)>,
    /// That deployment's Service Connect configuration.
    pub(crate) last_completed_connect: Option<ServiceConnectConfiguration>,
    /// What the circuit breaker has counted.
    pub(crate) breaker: BreakerCount,
}

/// What a service's circuit breaker has counted (kept in the store: a restart neither
/// forgives failures nor rolls back twice).
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct BreakerCount {
    /// The PRIMARY deployment `failures` counts for, while it is IN_PROGRESS.
    pub(crate) deployment: Option<DeploymentId>,
    /// Its failures since it began or a task of it proved healthy.
    pub(crate) failures: u32,
    /// Deployments made by a rollback, still there: when one fails too, there is no
    /// second rollback (it would loop).
    pub(crate) rollbacks: BTreeSet<DeploymentId>,
}
