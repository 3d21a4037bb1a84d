//! Capacity providers as ECS models them: a name, an instance group (ECS's Auto
//! Scaling group) and how it is managed, and the strategies that share tasks among
//! providers.

use std::time::Duration;

use crate::Error;
use crate::ids::{Arn, CapacityProviderName};

/// ECS's defaults and limits for managed scaling.
pub mod limits {
    /// `targetCapacity`'s default, in percent (instances fully used).
    pub const TARGET_CAPACITY: u32 = 100;
    /// `minimumScalingStepSize`'s default.
    pub const MIN_STEP: u32 = 1;
    /// `maximumScalingStepSize`'s default.
    pub const MAX_STEP: u32 = 10_000;
    /// `instanceWarmupPeriod`'s default, in seconds.
    pub const WARMUP_SECONDS: u64 = 300;
    /// A strategy holds at most this many providers.
    pub const STRATEGY_ITEMS: usize = 20;
    /// `base`'s maximum.
    pub const BASE: u32 = 100_000;
    /// `weight`'s maximum.
    pub const WEIGHT: u32 = 1_000;
}

/// A capacity provider's lifecycle (ECS's `CapacityProviderStatus`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
#[non_exhaustive]
pub enum CapacityProviderStatus {
    /// In use.
    Active,
    /// Deleted: its instances are being let go.
    Deprovisioning,
    /// Deleted, nothing left.
    Inactive,
}

impl std::fmt::Display for CapacityProviderStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Active => "ACTIVE",
            Self::Deprovisioning => "DEPROVISIONING",
            Self::Inactive => "INACTIVE",
        })
    }
}

/// Managed scaling (ECS's `ManagedScaling`): keep `CapacityProviderReservation` at
/// the target by launching and letting go of instances.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ManagedScaling {
    /// Whether managed scaling runs (`status` ENABLED).
    pub enabled: bool,
    /// The reservation to keep, 1 to 100 percent.
    pub target_capacity: u32,
    /// The fewest instances a scale-out launches, 1 to 10,000.
    pub minimum_scaling_step_size: u32,
    /// The most instances a scale-out launches, 1 to 10,000.
    pub maximum_scaling_step_size: u32,
    /// How long a new instance warms up before the next scale-out, up to 10,000 s.
    #[serde(with = "seconds")]
    pub instance_warmup_period: Duration,
}

impl Default for ManagedScaling {
    /// ECS's defaults, enabled.
    fn default() -> Self {
        Self {
            enabled: true,
            target_capacity: limits::TARGET_CAPACITY,
            minimum_scaling_step_size: limits::MIN_STEP,
            maximum_scaling_step_size: limits::MAX_STEP,
            instance_warmup_period: Duration::from_secs(limits::WARMUP_SECONDS),
        }
    }
}

impl ManagedScaling {
    /// Checks ECS's limits; `operation` names the request in the error.
    pub fn validate(&self, operation: &'static str) -> Result<(), Error> {
        let bad = |member: &'static str, reason: String| Error::InvalidParameter {
            operation,
            member,
            reason,
        };
        if !(1..=100).contains(&self.target_capacity) {
            return Err(bad(
                "managedScaling.targetCapacity",
                format!("{} is not between 1 and 100", self.target_capacity),
            ));
        }
        for (member, v) in [
            (
                "managedScaling.minimumScalingStepSize",
                self.minimum_scaling_step_size,
            ),
            (
                "managedScaling.maximumScalingStepSize",
                self.maximum_scaling_step_size,
            ),
        ] {
            if !(1..=10_000).contains(&v) {
                return Err(bad(member, format!("{v} is not between 1 and 10000")));
            }
        }
        if self.minimum_scaling_step_size > self.maximum_scaling_step_size {
            return Err(bad(
                "managedScaling.minimumScalingStepSize",
                format!(
                    "{} is more than maximumScalingStepSize {}",
                    self.minimum_scaling_step_size, self.maximum_scaling_step_size
                ),
            ));
        }
        if self.instance_warmup_period > Duration::from_secs(10_000) {
            return Err(bad(
                "managedScaling.instanceWarmupPeriod",
                format!(
                    "{} s is more than 10000",
                    self.instance_warmup_period.as_secs()
                ),
            ));
        }
        Ok(())
    }
}

/// A capacity provider: a group of instances the cluster grows and shrinks.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct CapacityProvider {
    /// Its ARN (`...:capacity-provider/NAME`).
    pub capacity_provider_arn: Arn,
    /// Its name.
    pub name: CapacityProviderName,
    /// Its lifecycle.
    pub status: CapacityProviderStatus,
    /// The instance group it manages (ECS's `autoScalingGroupArn`): the name an
    /// [`InstanceGroup`](super::InstanceGroup) was registered under.
    pub instance_group: String,
    /// How the group is scaled.
    pub managed_scaling: ManagedScaling,
    /// Whether an instance with running tasks is never let go (ENABLED).
    pub managed_termination_protection: bool,
    /// Whether an instance is drained before it is let go (ENABLED, ECS's default).
    pub managed_draining: bool,
    /// Its tags.
    #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub tags: crate::tags::Tags,
}

/// One provider of a strategy (ECS's `CapacityProviderStrategyItem`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CapacityProviderStrategyItem {
    /// The provider.
    pub capacity_provider: CapacityProviderName,
    /// Its share of the tasks beyond the bases, 0 to 1,000.
    #[serde(default)]
    pub weight: u32,
    /// The tasks it takes first, 0 to 100,000.
    #[serde(default)]
    pub base: u32,
}

impl CapacityProviderStrategyItem {
    /// `provider` with `weight` 1 and no base.
    pub fn new(provider: CapacityProviderName) -> Self {
        Self {
            capacity_provider: provider,
            weight: 1,
            base: 0,
        }
    }
}

/// Checks a strategy as ECS does: at most 20 providers, each once, bases and weights
/// in range, one base at most, and some weight. `operation` names the request.
pub fn validate_strategy(
    operation: &'static str,
    strategy: &[CapacityProviderStrategyItem],
) -> Result<(), Error> {
    let bad = |reason: String| Error::InvalidParameter {
        operation,
        member: "capacityProviderStrategy",
        reason,
    };
    if strategy.len() > limits::STRATEGY_ITEMS {
        return Err(bad(format!(
            "{} capacity providers; at most {} are allowed",
            strategy.len(),
            limits::STRATEGY_ITEMS
        )));
    }
    for (i, item) in strategy.iter().enumerate() {
        if strategy[..i]
            .iter()
            .any(|o| o.capacity_provider == item.capacity_provider)
        {
            return Err(bad(format!(
                "capacity provider {} is named twice",
                item.capacity_provider
            )));
        }
        if item.weight > limits::WEIGHT {
            return Err(bad(format!(
                "{}: weight {} is more than {}",
                item.capacity_provider,
                item.weight,
                limits::WEIGHT
            )));
        }
        if item.base > limits::BASE {
            return Err(bad(format!(
                "{}: base {} is more than {}",
                item.capacity_provider,
                item.base,
                limits::BASE
            )));
        }
    }
    if strategy.iter().filter(|s| s.base > 0).count() > 1 {
        return Err(bad(
            "only one capacity provider of a strategy may have a base".to_owned(),
        ));
    }
    if !strategy.is_empty() && strategy.iter().all(|s| s.weight == 0) {
        return Err(bad(
            "at least one capacity provider must have a weight greater than 0".to_owned(),
        ));
    }
    Ok(())
}

/// Serde for a duration as whole seconds.
mod seconds {
    use std::time::Duration;

    pub(super) fn serialize<S: serde::Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_u64(d.as_secs())
    }

    pub(super) fn deserialize<'de, D: serde::Deserializer<'de>>(
        d: D,
    ) -> Result<Duration, D::Error> {
        let secs = <u64 as serde::Deserialize>::deserialize(d)?;
        Ok(Duration::from_secs(secs))
    }
}
