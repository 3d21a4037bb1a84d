//! What the built-in load balancer counts, for tests, benchmarks and monitoring.

use std::sync::atomic::{AtomicU64, Ordering};

use super::target::{Target, TargetState};

/// One target's counts.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct TargetStats {
    /// The target.
    pub target: Target,
    /// Its state.
    pub state: TargetState,
    /// Connections forwarded to it since it was registered.
    pub connections: u64,
    /// Connections open to it now (including those being connected).
    pub open_connections: usize,
    /// Connections to it that could not be opened (each was retried on another target).
    pub connect_failures: u64,
}

/// A snapshot of a [`TcpLoadBalancer`](super::TcpLoadBalancer)'s counts.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct LoadBalancerStats {
    /// Client connections accepted.
    pub accepted: u64,
    /// Client connections forwarded to a target.
    pub forwarded: u64,
    /// Client connections closed because no healthy target took them (none was
    /// healthy, or connecting to every one failed).
    pub failed: u64,
    /// Each registered target, in registration order.
    pub targets: Vec<TargetStats>,
}

impl LoadBalancerStats {
    /// The first registered target of task `id`.
    pub fn target(&self, id: &str) -> Option<&TargetStats> {
        self.targets.iter().find(|t| t.target.id == id)
    }
}

/// The balancer-wide counters.
#[derive(Debug, Default)]
pub(crate) struct Counters {
    pub(crate) accepted: AtomicU64,
    pub(crate) forwarded: AtomicU64,
    pub(crate) failed: AtomicU64,
}

impl Counters {
    /// Adds one.
    pub(crate) fn bump(counter: &AtomicU64) {
        counter.fetch_add(1, Ordering::Relaxed);
    }

    /// A snapshot, with `targets`.
    pub(crate) fn snapshot(&self, targets: Vec<TargetStats>) -> LoadBalancerStats {
        LoadBalancerStats {
            accepted: self.accepted.load(Ordering::Relaxed),
            forwarded: self.forwarded.load(Ordering::Relaxed),
            failed: self.failed.load(Ordering::Relaxed),
            targets,
        }
    }
}
