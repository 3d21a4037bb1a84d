//! Service auto scaling, as Application Auto Scaling does it for ECS: a scalable target
//! (minimum and maximum task count) per service, target tracking and step scaling
//! policies on CPU, memory or your own metrics, cooldowns, and scaling activities that
//! say why.
//!
//! - [`policy`]: the policies and alarms.
//! - [`metrics`]: the [`MetricsSource`] trait, and the built-in source from the
//!   backends' container stats.
//! - `evaluate`: each policy's decision, a pure function of its datapoints.
//! - `scaler`: the loop that samples once per period, evaluates, and sets the
//!   service's desired count.
//!
//! ```
//! use std::sync::Arc;
//! use std::time::Duration;
//! use ecs_core::autoscaling::{
//!     Metric, PutScalingPolicy, RegisterScalableTarget, ScalableTarget, ScalingPolicy,
//!     TargetTracking,
//! };
//! use ecs_core::cluster::Resources;
//! use ecs_core::control::RegisterContainerInstance;
//! use ecs_core::runtime::{InMemoryRuntime, memory::Matcher};
//! use ecs_core::service::CreateService;
//! use ecs_core::{Ecs, TaskDefinition};
//!
//! # #[tokio::main(flavor = "current_thread", start_paused = true)]
//! # async fn main() -> Result<(), ecs_core::Error> {
//! let ecs = Ecs::new(Default::default());
//! let dev: ecs_core::ClusterName = "dev".parse()?;
//! let web: ecs_core::ServiceName = "web".parse()?;
//! ecs.create_cluster("dev".parse()?)?;
//! let runtime = InMemoryRuntime::new(Resources::new(8192, 16384));
//! let instance = RegisterContainerInstance::new(dev.clone(), "i-1".parse()?, Arc::new(runtime.clone()));
//! ecs.register_container_instance(instance).await?;
//! ecs.register_task_definition(
//!     TaskDefinition::from_json(r#"{"family": "web", "containerDefinitions":
//!         [{"name": "app", "image": "busybox", "cpu": 512, "memory": 64}]}"#)?.definition,
//! )?;
//! ecs.create_service(CreateService::new(dev.clone(), web.clone(), "web".parse()?, 1))?;
//! let target = ScalableTarget::new(1, 4);
//! ecs.register_scalable_target(RegisterScalableTarget::new(dev.clone(), web.clone(), target))?;
//! let cpu50 = ScalingPolicy::target_tracking("cpu50", TargetTracking::new(Metric::CpuUtilization, 50.0));
//! ecs.put_scaling_policy(PutScalingPolicy::new(dev.clone(), web.clone(), cpu50))?;
//! // Each task burns a whole CPU: twice its 512 units.
//! runtime.set_usage(Matcher::Any, 1.0, 32 << 20);
//! ecs.wait_for_service(&dev, &web, |s| s.desired_count == 4).await?;
//! let activity = &ecs.describe_scaling_activities(&dev, &web)?[0];
//! assert!(activity.cause.contains("AlarmHigh-cpu50 in state ALARM triggered policy cpu50"));
//! # Ok(())
//! # }
//! ```

pub(crate) mod evaluate;
pub mod metrics;
pub mod policy;
mod requests;

use std::collections::VecDeque;

pub use evaluate::AutoScalingConfig;
pub use metrics::{MetricsSource, ServiceRef};
pub use policy::{
    AdjustmentType, Alarm, ComparisonOperator, Metric, PolicyKind, ScalingPolicy, StepAdjustment,
    StepScaling, TargetTracking,
};
pub use requests::{DeleteScalingPolicy, PutScalingPolicy, RegisterScalableTarget};

use crate::Error;
use crate::ids::{ClusterName, ServiceName};
use crate::task_definition::enums::api_enum;

/// A service's scaling bounds (RegisterScalableTarget, dimension
/// `ecs:service:DesiredCount`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct ScalableTarget {
    /// The fewest tasks.
    pub min_capacity: u32,
    /// The most tasks.
    pub max_capacity: u32,
}

impl ScalableTarget {
    /// Between `min` and `max` tasks.
    pub fn new(min: u32, max: u32) -> Self {
        Self {
            min_capacity: min,
            max_capacity: max,
        }
    }

    pub(crate) fn validate(&self, tasks_per_service: u32) -> Result<(), Error> {
        if self.min_capacity > self.max_capacity {
            return Err(Error::InvalidScaling(format!(
                "minCapacity {} is above maxCapacity {}",
                self.min_capacity, self.max_capacity
            )));
        }
        if self.max_capacity > tasks_per_service {
            return Err(Error::InvalidScaling(format!(
                "maxCapacity {} is above the cluster's limit of {tasks_per_service} tasks per service",
                self.max_capacity
            )));
        }
        Ok(())
    }
}

api_enum!(
    /// How a scaling activity ended.
    ActivityStatus {
        /// The desired count was set.
        Successful = "Successful",
        /// Setting it failed.
        Failed = "Failed",
    }
);

/// One change of a service's desired count by auto scaling (DescribeScalingActivities).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct ScalingActivity {
    /// A unique id.
    pub activity_id: String,
    /// `service/CLUSTER/NAME`.
    pub resource_id: String,
    /// `Setting desired count to 4.`
    pub description: String,
    /// Why: `monitor alarm ... in state ALARM triggered policy ...`.
    pub cause: String,
    /// The count before.
    pub from: u32,
    /// The count asked.
    pub to: u32,
    /// How it ended.
    pub status_code: ActivityStatus,
    /// What went wrong, when it failed.
    pub status_message: Option<String>,
    /// When.
    pub start_time: jiff::Timestamp,
}

/// A scalable service, its bounds and its policies (DescribeScalableTargets,
/// DescribeScalingPolicies).
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct ScalableService {
    /// The service's cluster.
    pub cluster: ClusterName,
    /// The service.
    pub service: ServiceName,
    /// Its bounds.
    pub target: ScalableTarget,
    /// Its policies, in the order they were put.
    pub policies: Vec<ScalingPolicy>,
}

/// What the control plane holds for a scalable service.
#[derive(Debug)]
pub(crate) struct ScalingEntry {
    pub(crate) target: ScalableTarget,
    pub(crate) policies: Vec<(ScalingPolicy, evaluate::PolicyState)>,
    /// Newest first.
    pub(crate) activities: VecDeque<ScalingActivity>,
}

/// Activities kept per service.
pub(crate) const MAX_ACTIVITIES: usize = 100;
