//! The decisions of scaling policies, as pure functions of their metric's history, the
//! current count and the clock, so that tests and the scaler agree on them.

use std::collections::VecDeque;
use std::time::Duration;

use tokio::time::Instant;

use super::policy::{PolicyKind, ScalingPolicy, StepScaling, TargetTracking};

/// How target tracking's alarms evaluate (Application Auto Scaling's fixed values by
/// default: scale out after 3 periods above the target, scale in after 15 periods below
/// 90% of it).
#[derive(Debug, Clone, Copy, PartialEq)]
#[non_exhaustive]
pub struct AutoScalingConfig {
    /// How often metrics are sampled and policies evaluated (one datapoint per period).
    pub period: Duration,
    /// Periods in a row above the target before scaling out.
    pub scale_out_periods: u32,
    /// Periods in a row below `scale_in_ratio` x target before scaling in.
    pub scale_in_periods: u32,
    /// How far below the target the metric must stay to scale in: no flapping around
    /// the target.
    pub scale_in_ratio: f64,
}

impl Default for AutoScalingConfig {
    fn default() -> Self {
        Self {
            period: Duration::from_secs(60),
            scale_out_periods: 3,
            scale_in_periods: 15,
            scale_in_ratio: 0.9,
        }
    }
}

/// What a policy remembers.
#[derive(Debug, Clone, Default)]
pub(crate) struct PolicyState {
    /// Datapoints, oldest first.
    pub(crate) history: VecDeque<f64>,
    pub(crate) last_scale_out: Option<Instant>,
    /// The count the last scale-out set: during its cooldown only a larger one goes.
    pub(crate) last_scale_out_to: Option<u32>,
    pub(crate) last_scale_in: Option<Instant>,
}

const HISTORY: usize = 256;

impl PolicyState {
    pub(crate) fn push(&mut self, value: f64) {
        self.history.push_back(value);
        if self.history.len() > HISTORY {
            self.history.pop_front();
        }
    }

    /// A period without data breaks every run of breaching datapoints, as a missing
    /// datapoint keeps an alarm from firing.
    pub(crate) fn gap(&mut self) {
        self.push(f64::NAN);
    }

    /// The last `n` datapoints, if there are that many and all are present.
    fn last(&self, n: u32) -> Option<impl Iterator<Item = f64> + '_> {
        let n = n as usize;
        if n == 0 || self.history.len() < n {
            return None;
        }
        let tail = self.history.iter().skip(self.history.len() - n).copied();
        self.history
            .iter()
            .skip(self.history.len() - n)
            .all(|v| v.is_finite())
            .then_some(tail)
    }

    fn latest(&self) -> Option<f64> {
        self.history.back().copied().filter(|v| v.is_finite())
    }
}

/// A policy's wish.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Decision {
    pub(crate) desired: u32,
    pub(crate) cause: String,
    pub(crate) scale_out: bool,
}

fn in_cooldown(last: Option<Instant>, cooldown: Duration, now: Instant) -> bool {
    last.is_some_and(|t| now < t + cooldown)
}

/// What `policy` asks for, given the current count and the target's bounds.
pub(crate) fn evaluate(
    policy: &ScalingPolicy,
    state: &PolicyState,
    resource: &str,
    current: u32,
    (min, max): (u32, u32),
    config: &AutoScalingConfig,
    now: Instant,
) -> Option<Decision> {
    match &policy.kind {
        PolicyKind::TargetTracking(t) => target_tracking(
            &policy.name,
            t,
            state,
            resource,
            current,
            (min, max),
            config,
            now,
        ),
        PolicyKind::StepScaling(s) => step(&policy.name, s, state, current, (min, max), now),
        #[allow(unreachable_patterns)]
        _ => None,
    }
}

#[allow(clippy::too_many_arguments)]
fn target_tracking(
    name: &str,
    t: &TargetTracking,
    state: &PolicyState,
    resource: &str,
    current: u32,
    (min, max): (u32, u32),
    config: &AutoScalingConfig,
    now: Instant,
) -> Option<Decision> {
    let latest = state.latest()?;
    // The count that brings the metric to the target, if load spreads evenly.
    let wanted = |current: u32| -> u32 {
        let exact = f64::from(current) * latest / t.target_value;
        // A hair of tolerance, so that exactly on target stays put.
        (exact - 1e-9).ceil().max(0.0) as u32
    };
    let high = state
        .last(config.scale_out_periods)
        .is_some_and(|mut v| v.all(|x| x > t.target_value));
    if high {
        let desired = wanted(current).clamp(min, max);
        // In the scale-out cooldown, only a larger scale-out than the last one goes
        // (Application Auto Scaling's rule).
        let allowed = !in_cooldown(state.last_scale_out, t.scale_out_cooldown, now)
            || state.last_scale_out_to.is_some_and(|to| desired > to);
        if desired > current && allowed {
            return Some(Decision {
                desired,
                cause: format!(
                    "monitor alarm TargetTracking-{resource}-AlarmHigh-{name} in state ALARM triggered policy {name}"
                ),
                scale_out: true,
            });
        }
    }
    let low = state
        .last(config.scale_in_periods)
        .is_some_and(|mut v| v.all(|x| x < t.target_value * config.scale_in_ratio));
    if low
        && !t.disable_scale_in
        && !in_cooldown(state.last_scale_in, t.scale_in_cooldown, now)
        && !in_cooldown(state.last_scale_out, t.scale_out_cooldown, now)
    {
        let desired = wanted(current).clamp(min, max);
        if desired < current {
            return Some(Decision {
                desired,
                cause: format!(
                    "monitor alarm TargetTracking-{resource}-AlarmLow-{name} in state ALARM triggered policy {name}"
                ),
                scale_out: false,
            });
        }
    }
    None
}

fn step(
    name: &str,
    s: &StepScaling,
    state: &PolicyState,
    current: u32,
    (min, max): (u32, u32),
    now: Instant,
) -> Option<Decision> {
    let alarm = &s.alarm;
    let in_alarm = state
        .last(alarm.evaluation_periods)
        .is_some_and(|mut v| v.all(|x| alarm.comparison.breaches(x, alarm.threshold)));
    if !in_alarm {
        return None;
    }
    let last = state.last_scale_out.max(state.last_scale_in);
    if in_cooldown(last, s.cooldown, now) {
        return None;
    }
    let breach = state.latest()? - alarm.threshold;
    let step = s.step_for(breach)?;
    let desired = s.apply(current, step.scaling_adjustment).clamp(min, max);
    (desired != current).then(|| Decision {
        desired,
        cause: format!(
            "monitor alarm {} in state ALARM triggered policy {name}",
            alarm.name
        ),
        scale_out: desired > current,
    })
}

/// Of several policies' wishes, Application Auto Scaling's choice: the largest
/// scale-out if any wants one; otherwise a scale-in only to the largest count any
/// scale-in asks, so no policy is pushed below what it needs.
pub(crate) fn choose(decisions: Vec<Decision>) -> Option<Decision> {
    let (out, inn): (Vec<_>, Vec<_>) = decisions.into_iter().partition(|d| d.scale_out);
    if !out.is_empty() {
        return out.into_iter().max_by_key(|d| d.desired);
    }
    inn.into_iter().max_by_key(|d| d.desired)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::autoscaling::policy::{
        AdjustmentType, Alarm, ComparisonOperator, Metric, StepAdjustment,
    };

    fn state(values: &[f64]) -> PolicyState {
        let mut s = PolicyState::default();
        for v in values {
            s.push(*v);
        }
        s
    }

    fn cpu(target: f64) -> ScalingPolicy {
        ScalingPolicy::target_tracking("cpu", TargetTracking::new(Metric::CpuUtilization, target))
    }

    #[tokio::test(start_paused = true)]
    async fn target_tracking_scales_out_to_bring_the_metric_to_target() {
        let c = AutoScalingConfig::default();
        let now = Instant::now();
        let d = evaluate(
            &cpu(50.0),
            &state(&[90.0, 95.0, 100.0]),
            "service/dev/web",
            2,
            (1, 10),
            &c,
            now,
        )
        .unwrap();
        // 2 tasks at 100% of a 50% target: 4 tasks.
        assert_eq!(d.desired, 4);
        assert!(d.scale_out);
        assert_eq!(
            d.cause,
            "monitor alarm TargetTracking-service/dev/web-AlarmHigh-cpu in state ALARM triggered policy cpu"
        );
        // Two periods above are not enough; a gap breaks the run.
        assert!(evaluate(&cpu(50.0), &state(&[95.0, 100.0]), "r", 2, (1, 10), &c, now).is_none());
        let mut gap = state(&[90.0, 95.0]);
        gap.gap();
        gap.push(100.0);
        assert!(evaluate(&cpu(50.0), &gap, "r", 2, (1, 10), &c, now).is_none());
        // Capped by max.
        let d = evaluate(&cpu(10.0), &state(&[90.0; 3]), "r", 2, (1, 5), &c, now).unwrap();
        assert_eq!(d.desired, 5);
    }

    #[tokio::test(start_paused = true)]
    async fn target_tracking_scales_in_only_well_below_target_for_long() {
        let c = AutoScalingConfig::default();
        let now = Instant::now();
        assert!(evaluate(&cpu(50.0), &state(&[20.0; 14]), "r", 8, (1, 10), &c, now).is_none());
        let d = evaluate(&cpu(50.0), &state(&[20.0; 15]), "r", 8, (1, 10), &c, now).unwrap();
        assert_eq!(d.desired, 4, "8 tasks at 20% of a 50% target: ceil(3.2)");
        assert!(!d.scale_out);
        // Just under target (above 90% of it): no scale-in, no flapping.
        assert!(evaluate(&cpu(50.0), &state(&[46.0; 30]), "r", 8, (1, 10), &c, now).is_none());
        // Not below min; not when disabled.
        let d = evaluate(&cpu(50.0), &state(&[1.0; 15]), "r", 8, (3, 10), &c, now).unwrap();
        assert_eq!(d.desired, 3);
        let off = ScalingPolicy::target_tracking(
            "cpu",
            TargetTracking::new(Metric::CpuUtilization, 50.0).without_scale_in(),
        );
        assert!(evaluate(&off, &state(&[1.0; 15]), "r", 8, (1, 10), &c, now).is_none());
    }

    #[tokio::test(start_paused = true)]
    async fn cooldowns_hold_back_repeated_scaling() {
        let c = AutoScalingConfig::default();
        let now = Instant::now();
        let mut s = state(&[100.0; 3]);
        s.last_scale_out = Some(now);
        assert!(
            evaluate(
                &cpu(50.0),
                &s,
                "r",
                2,
                (1, 10),
                &c,
                now + Duration::from_secs(299)
            )
            .is_none()
        );
        assert!(
            evaluate(
                &cpu(50.0),
                &s,
                "r",
                2,
                (1, 10),
                &c,
                now + Duration::from_secs(300)
            )
            .is_some()
        );
        let mut s = state(&[1.0; 15]);
        s.last_scale_out = Some(now);
        assert!(
            evaluate(
                &cpu(50.0),
                &s,
                "r",
                8,
                (1, 10),
                &c,
                now + Duration::from_secs(10)
            )
            .is_none()
        );
        s.last_scale_out = None;
        s.last_scale_in = Some(now);
        assert!(
            evaluate(
                &cpu(50.0),
                &s,
                "r",
                8,
                (1, 10),
                &c,
                now + Duration::from_secs(10)
            )
            .is_none()
        );
        // In the scale-out cooldown, only a scale-out larger than the last one goes.
        let mut s = state(&[100.0; 3]);
        s.last_scale_out = Some(now);
        s.last_scale_out_to = Some(8);
        // Scaled down by hand to 4 meanwhile: 4 x 100 / 50 = 8, not larger than 8.
        assert!(
            evaluate(
                &cpu(50.0),
                &s,
                "r",
                4,
                (1, 20),
                &c,
                now + Duration::from_secs(10)
            )
            .is_none()
        );
        let d = evaluate(
            &cpu(50.0),
            &s,
            "r",
            8,
            (1, 20),
            &c,
            now + Duration::from_secs(10),
        )
        .unwrap();
        assert_eq!(d.desired, 16, "larger than 8: allowed");
        // A scale-out is not held back by a scale-in cooldown.
        let mut s = state(&[100.0; 3]);
        s.last_scale_in = Some(now);
        assert!(evaluate(&cpu(50.0), &s, "r", 2, (1, 10), &c, now).is_some());
    }

    #[tokio::test(start_paused = true)]
    async fn step_scaling_picks_the_step_by_breach_size() {
        let c = AutoScalingConfig::default();
        let now = Instant::now();
        let policy = ScalingPolicy::step_scaling(
            "steps",
            StepScaling::new(
                Alarm::new(
                    "cpu-high",
                    Metric::CpuUtilization,
                    ComparisonOperator::GreaterThanOrEqualToThreshold,
                    70.0,
                    2,
                ),
                AdjustmentType::ChangeInCapacity,
                vec![
                    StepAdjustment::new(Some(0.0), Some(10.0), 1),
                    StepAdjustment::new(Some(10.0), Some(20.0), 2),
                    StepAdjustment::new(Some(20.0), None, 4),
                ],
            ),
        );
        let at = |v: f64| {
            evaluate(&policy, &state(&[v, v]), "r", 2, (1, 20), &c, now).map(|d| d.desired)
        };
        assert_eq!(at(75.0), Some(3));
        assert_eq!(at(85.0), Some(4));
        assert_eq!(at(95.0), Some(6));
        assert_eq!(at(60.0), None);
        let d = evaluate(&policy, &state(&[75.0, 75.0]), "r", 2, (1, 20), &c, now).unwrap();
        assert_eq!(
            d.cause,
            "monitor alarm cpu-high in state ALARM triggered policy steps"
        );
        assert!(evaluate(&policy, &state(&[60.0, 75.0]), "r", 2, (1, 20), &c, now).is_none());
    }

    #[test]
    fn percent_change_rounds_away_from_zero_and_respects_the_minimum_magnitude() {
        let mut s = StepScaling::new(
            Alarm::new(
                "a",
                Metric::CpuUtilization,
                ComparisonOperator::LessThanThreshold,
                10.0,
                1,
            ),
            AdjustmentType::PercentChangeInCapacity,
            vec![StepAdjustment::new(None, Some(0.0), -50)],
        );
        assert_eq!(s.apply(10, -50), 5);
        assert_eq!(s.apply(1, -50), 0);
        assert_eq!(s.apply(3, 10), 4, "10% of 3 rounds to 1 task");
        s.min_adjustment_magnitude = Some(3);
        assert_eq!(s.apply(4, 25), 7);
    }

    #[test]
    fn the_largest_scale_out_wins_and_scale_in_is_conservative() {
        let d = |desired, scale_out| Decision {
            desired,
            cause: String::new(),
            scale_out,
        };
        assert_eq!(
            choose(vec![d(3, true), d(6, true), d(1, false)])
                .unwrap()
                .desired,
            6
        );
        assert_eq!(choose(vec![d(2, false), d(4, false)]).unwrap().desired, 4);
        assert!(choose(vec![]).is_none());
    }
}
