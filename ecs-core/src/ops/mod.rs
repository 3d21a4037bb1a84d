//! The commands the facade and the controllers share: launch tasks (placement, the
//! task, its runner), ask a task to stop, change a service (its desired count above
//! all); and what they need to do so: the live agents ([`Fleet`]), the scheduler's
//! index and the loop [`Supervisor`].
//!
//! Above the state (which it changes only through [`State`]) and the agents (whose
//! runners it starts); below the controllers and the facade, which it never calls.

mod capacity;
mod fleet;
mod launch;
mod services;
mod stop;
mod supervisor;

use std::sync::{Arc, Mutex};

pub(crate) use fleet::Fleet;
pub(crate) use launch::{NewTask, new_task, task_context};
pub(crate) use services::not_found;
pub(crate) use supervisor::Supervisor;

/// Why the tasks of a deregistered instance stop (with `TerminationNotice`).
pub(crate) const DEREGISTERED: &str = "Container instance deregistered";

use crate::config::EcsConfig;
use crate::placement::IndexedScheduler;
use crate::state::State;

/// The shared commands, and what they act with.
pub(crate) struct Ops {
    /// The one writer of the state.
    pub(crate) state: Arc<State>,
    /// The agents of the registered instances.
    pub(crate) fleet: Fleet,
    /// The scheduler, with its index of the clusters' instances.
    scheduler: Mutex<IndexedScheduler>,
    /// Every background task of the control plane.
    pub(crate) supervisor: Supervisor,
    pub(crate) config: EcsConfig,
}

impl std::fmt::Debug for Ops {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Ops").finish_non_exhaustive()
    }
}

impl Ops {
    pub(crate) fn new(state: Arc<State>, config: EcsConfig) -> Self {
        Self {
            state,
            fleet: Fleet::default(),
            scheduler: Mutex::new(IndexedScheduler::new()),
            supervisor: Supervisor::default(),
            config,
        }
    }
}
