//! The control plane's clock: wall time for the timestamps it records (a task's
//! `startedAt`, a deployment's `updatedAt` ...), read as an offset on tokio's clock from
//! a base taken when the control plane starts. So the controllers can turn a durable
//! timestamp back into an instant of their timers after a restart (how long a task has
//! run, when a throttle ends); a paused clock in tests moves both; and the clock never
//! runs behind the newest time in the state it started from, nor behind itself (a wall
//! clock set back does not make tasks younger). The price: a step of the system's
//! clock (not a slew) while the control plane runs shows in its timestamps only after
//! a restart; tokio's clock does not count a host's suspension either.

use std::time::Duration;

use jiff::{SignedDuration, Timestamp};
use tokio::time::Instant;

/// Wall time, on tokio's clock.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Clock {
    base_wall: Timestamp,
    base: Instant,
}

impl Clock {
    /// A clock reading the wall time now, or `floor` if that is later.
    pub(crate) fn new(floor: Option<Timestamp>) -> Self {
        let wall = Timestamp::now();
        Self {
            base_wall: floor.map_or(wall, |f| f.max(wall)),
            base: Instant::now(),
        }
    }

    /// The time now.
    pub(crate) fn now(&self) -> Timestamp {
        let elapsed = Instant::now().saturating_duration_since(self.base);
        SignedDuration::try_from(elapsed)
            .ok()
            .and_then(|d| self.base_wall.checked_add(d).ok())
            .unwrap_or(self.base_wall)
    }

    /// The instant of tokio's clock that `t` was (or will be).
    pub(crate) fn instant_of(&self, t: Timestamp) -> Instant {
        let now = Instant::now();
        let ahead = t.duration_since(self.now());
        let by = Duration::try_from(ahead.abs()).unwrap_or(Duration::MAX);
        if ahead.is_negative() {
            // Older than the process's clock can say (a host that rebooted since): as
            // old as it can.
            now.checked_sub(by).unwrap_or_else(|| far_past(now))
        } else {
            // Further ahead than the clock can say: as far as it can (a year).
            now.checked_add(by)
                .or_else(|| now.checked_add(Duration::from_secs(365 * 86_400)))
                .unwrap_or(now)
        }
    }
}

/// The earliest instant tokio's clock can express before `now`, within a day.
fn far_past(now: Instant) -> Instant {
    let mut back = Duration::from_secs(86_400);
    while back > Duration::from_secs(1) {
        if let Some(t) = now.checked_sub(back) {
            return t;
        }
        back /= 2;
    }
    now
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn it_follows_tokio_and_turns_times_back_into_instants() {
        let clock = Clock::new(None);
        let t0 = clock.now();
        tokio::time::sleep(Duration::from_secs(90)).await;
        let t1 = clock.now();
        assert_eq!(t1.duration_since(t0), SignedDuration::from_secs(90));
        // 90 s ago, and 30 s ahead.
        assert_eq!(
            Instant::now() - clock.instant_of(t0),
            Duration::from_secs(90)
        );
        let ahead = t1.checked_add(SignedDuration::from_secs(30)).unwrap();
        assert_eq!(
            clock.instant_of(ahead) - Instant::now(),
            Duration::from_secs(30)
        );
    }

    #[tokio::test(start_paused = true)]
    async fn it_never_runs_behind_the_state_it_starts_from() {
        let later = Timestamp::now()
            .checked_add(SignedDuration::from_hours(5))
            .unwrap();
        let clock = Clock::new(Some(later));
        assert!(clock.now() >= later);
    }
}
