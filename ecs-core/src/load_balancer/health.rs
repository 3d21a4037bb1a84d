//! The health state machine: what a run of check outcomes makes of a target's state,
//! by ELB's rules (thresholds of consecutive successes and failures).

use super::config::HealthCheck;
use super::target::TargetState;

/// The reason of a target whose first checks are in progress.
pub(crate) const INITIAL: &str = "Elb.InitialHealthChecking: Initial health checks in progress";
/// The reason of a draining target.
pub(crate) const DRAINING: &str =
    "Target.DeregistrationInProgress: Target deregistration is in progress";

/// Why one health check failed: ELB's reason code and a description.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Failure {
    code: &'static str,
    description: String,
}

impl Failure {
    /// No answer within the timeout.
    pub(crate) fn timeout() -> Self {
        Self {
            code: "Target.Timeout",
            description: "Request timed out".into(),
        }
    }

    /// Refused, reset, or not a valid answer.
    pub(crate) fn failed(why: impl std::fmt::Display) -> Self {
        Self {
            code: "Target.FailedHealthChecks",
            description: format!("Health checks failed: {why}"),
        }
    }

    /// An HTTP answer whose code the matcher rejects.
    pub(crate) fn code_mismatch(code: u16) -> Self {
        Self {
            code: "Target.ResponseCodeMismatch",
            description: format!("Health checks failed with these codes: [{code}]"),
        }
    }

    /// As `TargetHealth::reason` shows it.
    pub(crate) fn reason(&self) -> String {
        format!("{}: {}", self.code, self.description)
    }
}

/// The outcome of one check.
pub(crate) type Outcome = Result<(), Failure>;

/// A target's run of consecutive successes or failures.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Streak {
    successes: u32,
    failures: u32,
}

impl Streak {
    /// Records `outcome` for a target in `state` (initial, healthy or unhealthy) whose
    /// reason is `reason`, and returns its new state and reason.
    pub(crate) fn record(
        &mut self,
        check: &HealthCheck,
        state: TargetState,
        reason: Option<String>,
        outcome: &Outcome,
    ) -> (TargetState, Option<String>) {
        match outcome {
            Ok(()) => {
                self.failures = 0;
                self.successes = self.successes.saturating_add(1);
                if self.successes >= check.healthy_threshold {
                    (TargetState::Healthy, None)
                } else {
                    (state, reason)
                }
            }
            Err(failure) => {
                self.successes = 0;
                self.failures = self.failures.saturating_add(1);
                if self.failures >= check.unhealthy_threshold || state == TargetState::Unhealthy {
                    (TargetState::Unhealthy, Some(failure.reason()))
                } else {
                    (state, reason)
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use TargetState::{Healthy, Initial, Unhealthy};

    /// Runs `outcomes` (`+` success, `-` failure) from a new target; the states after
    /// each.
    fn run(healthy: u32, unhealthy: u32, outcomes: &str) -> Vec<TargetState> {
        let check = HealthCheck::tcp()
            .with_healthy_threshold(healthy)
            .with_unhealthy_threshold(unhealthy);
        let mut streak = Streak::default();
        let (mut state, mut reason) = (Initial, Some(INITIAL.to_owned()));
        outcomes
            .chars()
            .map(|c| {
                let outcome = if c == '+' {
                    Ok(())
                } else {
                    Err(Failure::timeout())
                };
                (state, reason) = streak.record(&check, state, reason.take(), &outcome);
                assert_eq!(reason.is_none(), state == Healthy, "{outcomes}");
                state
            })
            .collect()
    }

    #[test]
    fn a_new_target_turns_healthy_after_the_threshold_in_a_row() {
        assert_eq!(
            run(3, 2, "+-+++"),
            [Initial, Initial, Initial, Initial, Healthy]
        );
        assert_eq!(run(1, 2, "+"), [Healthy]);
    }

    #[test]
    fn failures_in_a_row_make_it_unhealthy_and_successes_bring_it_back() {
        assert_eq!(
            run(1, 2, "+-+--"),
            [Healthy, Healthy, Healthy, Healthy, Unhealthy]
        );
        assert_eq!(run(2, 2, "--"), [Initial, Unhealthy]);
        assert_eq!(
            run(2, 1, "++-+-++"),
            [
                Initial, Healthy, Unhealthy, Unhealthy, Unhealthy, Unhealthy, Healthy
            ]
        );
    }

    #[test]
    fn an_unhealthy_target_shows_its_latest_failure() {
        let check = HealthCheck::tcp().with_unhealthy_threshold(1);
        let mut streak = Streak::default();
        let (state, reason) = streak.record(&check, Initial, None, &Err(Failure::timeout()));
        assert_eq!(reason.as_deref(), Some("Target.Timeout: Request timed out"));
        let (_, reason) = streak.record(&check, state, reason, &Err(Failure::code_mismatch(503)));
        assert_eq!(
            reason.as_deref(),
            Some("Target.ResponseCodeMismatch: Health checks failed with these codes: [503]")
        );
    }
}
