//! Crash recovery: a control plane on a store halted (as a crash) or restarted and opened
//! again on the same store, the engines living on: what it adopts and reconciles, what it
//! keeps of the service controller's knowledge, and random crashes that must lose nothing.
//!
//! One test binary; each theme is a module in `recovery/`.

mod support;

#[path = "recovery/crashes.rs"]
mod crashes;
#[path = "recovery/fencing.rs"]
mod fencing;
#[path = "recovery/restart_limits.rs"]
mod restart_limits;
#[path = "recovery/restarts.rs"]
mod restarts;
