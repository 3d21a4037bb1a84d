//! Targets and their health, as ELB's target groups describe them.

use std::fmt;
use std::net::SocketAddr;

/// One target: a task's published port.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Target {
    /// The task's id.
    pub id: String,
    /// Where the task listens (its host port on its container instance).
    pub address: SocketAddr,
}

impl Target {
    /// The target `address` of task `id`.
    pub fn new(id: impl Into<String>, address: SocketAddr) -> Self {
        Self {
            id: id.into(),
            address,
        }
    }
}

impl fmt::Display for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({})", self.id, self.address)
    }
}

/// ELB's target health states.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum TargetState {
    /// Registered; its first health checks are in progress. Receives no traffic yet.
    Initial,
    /// Passed its health checks: receives traffic.
    Healthy,
    /// Failed its health checks: receives no new connections.
    Unhealthy,
    /// Being deregistered: receives no new connections while its open ones finish.
    Draining,
    /// Registered but not in use (ELB: its load balancer does not route to it).
    Unused,
}

impl TargetState {
    /// The state as ELB spells it (`initial`, `healthy`, `unhealthy`, `draining`,
    /// `unused`).
    pub fn as_str(self) -> &'static str {
        match self {
            TargetState::Initial => "initial",
            TargetState::Healthy => "healthy",
            TargetState::Unhealthy => "unhealthy",
            TargetState::Draining => "draining",
            TargetState::Unused => "unused",
        }
    }
}

impl fmt::Display for TargetState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A target's health: its state, and why when it is not healthy (ELB's reason code
/// and description, e.g. `Target.Timeout: Request timed out`).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct TargetHealth {
    /// The target.
    pub target: Target,
    /// Its state.
    pub state: TargetState,
    /// Why it is in that state, when it is not `healthy`.
    pub reason: Option<String>,
}

impl TargetHealth {
    /// `target` is in `state`, for `reason`.
    pub fn new(target: Target, state: TargetState, reason: Option<String>) -> Self {
        Self {
            target,
            state,
            reason,
        }
    }
}
