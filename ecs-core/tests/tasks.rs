//! Tasks on the in-memory runtime: their lifecycle from launch to STOPPED, RunTask's
//! overrides, containers restarted in place by their restart policy, and the resync
//! that finds what the engine's events missed, at what it costs the engine.
//!
//! One test binary; each theme is a module in `tasks/`.

mod support;

#[path = "tasks/lifecycle.rs"]
mod lifecycle;
#[path = "tasks/metadata.rs"]
mod metadata;
#[path = "tasks/overrides.rs"]
mod overrides;
#[path = "tasks/restart_policy.rs"]
mod restart_policy;
#[path = "tasks/resync.rs"]
mod resync;
#[path = "tasks/secrets.rs"]
mod secrets;
