//! Forgets STOPPED tasks once they have been visible for `stopped_task_ttl`, as ECS
//! does: memory and the store stay flat under a service that crash-loops for days.

use std::sync::Arc;
use std::time::Duration;

use tokio::time::{Instant, MissedTickBehavior};

use crate::state::State;

/// Looks this often, within a tenth of the TTL (between a second and a minute).
fn period(ttl: Duration) -> Duration {
    (ttl / 10).clamp(Duration::from_secs(1), Duration::from_secs(60))
}

/// Runs until the supervisor ends it with the control plane.
pub(crate) async fn run(state: Arc<State>, ttl: Duration) {
    let every = period(ttl);
    let mut ticks = tokio::time::interval_at(Instant::now() + every, every);
    ticks.set_missed_tick_behavior(MissedTickBehavior::Delay);
    loop {
        ticks.tick().await;
        let forgotten = state.forget_stopped();
        if forgotten > 0 {
            tracing::debug!(forgotten, "stopped tasks past their ttl forgotten");
        }
    }
}
