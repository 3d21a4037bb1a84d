//! Scaling policies as Application Auto Scaling defines them for ECS services: target
//! tracking and step scaling.

use std::time::Duration;

use crate::Error;
use crate::task_definition::enums::api_enum;

/// A metric a policy watches.
#[derive(Debug, Clone, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub enum Metric {
    /// `ECSServiceAverageCPUUtilization`: the service's CPU use against its tasks' CPU
    /// units, in percent.
    CpuUtilization,
    /// `ECSServiceAverageMemoryUtilization`: the service's memory use against its tasks'
    /// memory, in percent.
    MemoryUtilization,
    /// A metric the user's [`MetricsSource`](super::MetricsSource) supplies.
    Custom(String),
}

impl Metric {
    /// The API's name for predefined metrics; the name for custom ones.
    pub fn name(&self) -> &str {
        match self {
            Metric::CpuUtilization => "ECSServiceAverageCPUUtilization",
            Metric::MemoryUtilization => "ECSServiceAverageMemoryUtilization",
            Metric::Custom(n) => n,
        }
    }
}

impl std::fmt::Display for Metric {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// Keeps a metric near a target value by scaling out when it is above and in when it is
/// well below (`TargetTrackingScalingPolicyConfiguration`).
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct TargetTracking {
    /// The metric.
    pub metric: Metric,
    /// Its target value (percent for utilizations).
    pub target_value: f64,
    /// After a scale-out, no further scale-out nor any scale-in for this long (default
    /// 300 s).
    pub scale_out_cooldown: Duration,
    /// After a scale-in, no further scale-in for this long (default 300 s); a scale-out
    /// may still happen.
    pub scale_in_cooldown: Duration,
    /// Never scales in (another policy or the user does).
    pub disable_scale_in: bool,
}

impl TargetTracking {
    /// Tracks `metric` at `target_value`, with the default cooldowns.
    pub fn new(metric: Metric, target_value: f64) -> Self {
        Self {
            metric,
            target_value,
            scale_out_cooldown: Duration::from_secs(300),
            scale_in_cooldown: Duration::from_secs(300),
            disable_scale_in: false,
        }
    }

    /// Sets both cooldowns.
    pub fn with_cooldowns(mut self, scale_out: Duration, scale_in: Duration) -> Self {
        self.scale_out_cooldown = scale_out;
        self.scale_in_cooldown = scale_in;
        self
    }

    /// Turns scale-in off.
    pub fn without_scale_in(mut self) -> Self {
        self.disable_scale_in = true;
        self
    }
}

api_enum!(
    /// How an alarm compares its metric with its threshold.
    ComparisonOperator {
        /// metric >= threshold
        GreaterThanOrEqualToThreshold = "GreaterThanOrEqualToThreshold",
        /// metric > threshold
        GreaterThanThreshold = "GreaterThanThreshold",
        /// metric < threshold
        LessThanThreshold = "LessThanThreshold",
        /// metric <= threshold
        LessThanOrEqualToThreshold = "LessThanOrEqualToThreshold",
    }
);

impl ComparisonOperator {
    /// Whether `value` breaches `threshold`.
    pub fn breaches(self, value: f64, threshold: f64) -> bool {
        match self {
            ComparisonOperator::GreaterThanOrEqualToThreshold => value >= threshold,
            ComparisonOperator::GreaterThanThreshold => value > threshold,
            ComparisonOperator::LessThanThreshold => value < threshold,
            ComparisonOperator::LessThanOrEqualToThreshold => value <= threshold,
        }
    }
}

/// A CloudWatch-style alarm: the metric's average over each period breaching the
/// threshold for `evaluation_periods` periods in a row puts it in ALARM.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct Alarm {
    /// Its name, quoted in scaling activities' causes.
    pub name: String,
    /// The metric.
    pub metric: Metric,
    /// The comparison.
    pub comparison: ComparisonOperator,
    /// The threshold.
    pub threshold: f64,
    /// Periods in a row that must breach.
    pub evaluation_periods: u32,
}

impl Alarm {
    /// An alarm on `metric` `comparison` `threshold` for `evaluation_periods` periods.
    pub fn new(
        name: impl Into<String>,
        metric: Metric,
        comparison: ComparisonOperator,
        threshold: f64,
        evaluation_periods: u32,
    ) -> Self {
        Self {
            name: name.into(),
            metric,
            comparison,
            threshold,
            evaluation_periods,
        }
    }
}

api_enum!(
    /// How a step's adjustment applies (`AdjustmentType`).
    AdjustmentType {
        /// Add (or remove) this many tasks.
        ChangeInCapacity = "ChangeInCapacity",
        /// Add (or remove) this percentage of the current count.
        PercentChangeInCapacity = "PercentChangeInCapacity",
        /// Set the count to this.
        ExactCapacity = "ExactCapacity",
    }
);

/// One step: when the metric minus the alarm's threshold lies in
/// [`lower_bound`, `upper_bound`), adjust by `scaling_adjustment`.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct StepAdjustment {
    /// Inclusive lower bound of the breach (`None`: negative infinity).
    pub lower_bound: Option<f64>,
    /// Exclusive upper bound of the breach (`None`: infinity).
    pub upper_bound: Option<f64>,
    /// The adjustment.
    pub scaling_adjustment: i32,
}

impl StepAdjustment {
    /// A step over [`lower`, `upper`) of the breach.
    pub fn new(lower: Option<f64>, upper: Option<f64>, scaling_adjustment: i32) -> Self {
        Self {
            lower_bound: lower,
            upper_bound: upper,
            scaling_adjustment,
        }
    }

    /// Application Auto Scaling's intervals: [lower, upper) above the threshold,
    /// (lower, upper] below it.
    fn contains(&self, breach: f64, below: bool) -> bool {
        if below {
            self.lower_bound.is_none_or(|l| breach > l)
                && self.upper_bound.is_none_or(|u| breach <= u)
        } else {
            self.lower_bound.is_none_or(|l| breach >= l)
                && self.upper_bound.is_none_or(|u| breach < u)
        }
    }
}

/// Scales by steps while an alarm is in ALARM (`StepScalingPolicyConfiguration`).
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct StepScaling {
    /// The alarm that triggers it.
    pub alarm: Alarm,
    /// How adjustments apply.
    pub adjustment_type: AdjustmentType,
    /// The steps, by how far the metric is past the threshold.
    pub steps: Vec<StepAdjustment>,
    /// With `PercentChangeInCapacity`, the least number of tasks to add or remove.
    pub min_adjustment_magnitude: Option<u32>,
    /// After an adjustment, none for this long (default 300 s).
    pub cooldown: Duration,
}

impl StepScaling {
    /// Steps of `adjustment_type` while `alarm` is in ALARM.
    pub fn new(alarm: Alarm, adjustment_type: AdjustmentType, steps: Vec<StepAdjustment>) -> Self {
        Self {
            alarm,
            adjustment_type,
            steps,
            min_adjustment_magnitude: None,
            cooldown: Duration::from_secs(300),
        }
    }

    /// Sets the cooldown.
    pub fn with_cooldown(mut self, cooldown: Duration) -> Self {
        self.cooldown = cooldown;
        self
    }

    /// The step for a breach of `breach` (metric minus threshold).
    pub(crate) fn step_for(&self, breach: f64) -> Option<&StepAdjustment> {
        let below = matches!(
            self.alarm.comparison,
            ComparisonOperator::LessThanThreshold | ComparisonOperator::LessThanOrEqualToThreshold
        );
        self.steps.iter().find(|s| s.contains(breach, below))
    }

    /// The count after applying `adjustment` to `current`.
    pub(crate) fn apply(&self, current: u32, adjustment: i32) -> u32 {
        let current = i64::from(current);
        let next = match self.adjustment_type {
            AdjustmentType::ExactCapacity => i64::from(adjustment),
            AdjustmentType::ChangeInCapacity => current + i64::from(adjustment),
            _ => {
                let raw = (current as f64 * f64::from(adjustment) / 100.0).trunc() as i64;
                let min = i64::from(self.min_adjustment_magnitude.unwrap_or(0));
                let change = if raw.abs() < min {
                    min * i64::from(adjustment.signum())
                } else if raw == 0 {
                    // Application Auto Scaling rounds a fractional change away from zero.
                    i64::from(adjustment.signum())
                } else {
                    raw
                };
                current + change
            }
        };
        u32::try_from(next.max(0)).unwrap_or(u32::MAX)
    }
}

/// A scaling policy.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub enum PolicyKind {
    /// `TargetTrackingScaling`.
    TargetTracking(TargetTracking),
    /// `StepScaling`.
    StepScaling(StepScaling),
}

/// A named policy of a service (PutScalingPolicy).
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct ScalingPolicy {
    /// Its name, unique per service.
    pub name: String,
    /// What it does.
    pub kind: PolicyKind,
}

impl ScalingPolicy {
    /// A target tracking policy.
    pub fn target_tracking(name: impl Into<String>, config: TargetTracking) -> Self {
        Self {
            name: name.into(),
            kind: PolicyKind::TargetTracking(config),
        }
    }

    /// A step scaling policy.
    pub fn step_scaling(name: impl Into<String>, config: StepScaling) -> Self {
        Self {
            name: name.into(),
            kind: PolicyKind::StepScaling(config),
        }
    }

    /// The metrics it watches.
    pub fn metric(&self) -> &Metric {
        match &self.kind {
            PolicyKind::TargetTracking(t) => &t.metric,
            PolicyKind::StepScaling(s) => &s.alarm.metric,
        }
    }

    pub(crate) fn validate(&self) -> Result<(), Error> {
        let bad = |why: String| Error::InvalidScaling(format!("policy {:?}: {why}", self.name));
        if self.name.is_empty() || self.name.len() > 256 {
            return Err(bad("the name must have 1 to 256 characters".into()));
        }
        match &self.kind {
            PolicyKind::TargetTracking(t) => {
                if !(t.target_value.is_finite() && t.target_value > 0.0) {
                    return Err(bad(format!(
                        "targetValue {} must be a positive number",
                        t.target_value
                    )));
                }
            }
            PolicyKind::StepScaling(s) => {
                if s.steps.is_empty() {
                    return Err(bad("stepAdjustments must not be empty".into()));
                }
                if s.alarm.evaluation_periods == 0 {
                    return Err(bad("the alarm needs at least 1 evaluation period".into()));
                }
                // Unbounded steps say so with `None`: every number given is finite (a
                // durable copy could not keep infinities, JSON has none).
                if !s.alarm.threshold.is_finite()
                    || s.steps.iter().any(|st| {
                        st.lower_bound.is_some_and(|b| !b.is_finite())
                            || st.upper_bound.is_some_and(|b| !b.is_finite())
                    })
                {
                    return Err(bad(
                        "the alarm's threshold and the steps' bounds must be finite numbers (an open bound is none)".into(),
                    ));
                }
                let mut sorted = s.steps.clone();
                sorted.sort_by(|a, b| {
                    a.lower_bound
                        .unwrap_or(f64::NEG_INFINITY)
                        .total_cmp(&b.lower_bound.unwrap_or(f64::NEG_INFINITY))
                });
                if s.steps
                    .iter()
                    .any(|st| st.lower_bound.is_none() && st.upper_bound.is_none())
                {
                    return Err(bad("a step needs a lower or an upper bound".into()));
                }
                for w in sorted.windows(2) {
                    let end = w[0].upper_bound.unwrap_or(f64::INFINITY);
                    let start = w[1].lower_bound.unwrap_or(f64::NEG_INFINITY);
                    if end > start {
                        return Err(bad(format!(
                            "step intervals overlap: one ends at {end}, the next starts at {start}"
                        )));
                    }
                    if end < start {
                        return Err(bad(format!(
                            "step intervals leave a gap between {end} and {start}"
                        )));
                    }
                }
            }
        }
        Ok(())
    }
}
