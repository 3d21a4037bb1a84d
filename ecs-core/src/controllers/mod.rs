//! The control loops: each service's controller (with its load balancer
//! registration), auto scaling and its engine stats, and the retention of stopped
//! tasks.
//!
//! Each reconciles what the state holds now with what it should be, through a narrow
//! [`Context`] (the state, the shared commands, the settings), as kube-runtime's
//! reconcilers do: it never reaches the facade, and the facade only starts it.

pub(crate) mod capacity;
pub(crate) mod engine_stats;
pub(crate) mod load_balancing;
pub(crate) mod metadata;
mod registration;
pub(crate) mod retention;
pub(crate) mod scaler;
pub(crate) mod service;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use crate::autoscaling::MetricsSource;
use crate::config::EcsConfig;
use crate::ops::Ops;
use crate::state::State;

use engine_stats::EngineStats;

/// What the controllers work with.
pub(crate) struct Context {
    /// The shared commands, and through them the state.
    pub(crate) ops: Arc<Ops>,
    /// The user's metrics, if set.
    metrics: Mutex<Option<Arc<dyn MetricsSource>>>,
    /// CPU and memory from the containers' stats.
    pub(crate) engine_stats: EngineStats,
    /// Whether the auto scaling loop runs.
    scaler_started: AtomicBool,
    /// Whether the retention loop runs.
    retention_started: AtomicBool,
    /// The task metadata endpoint's listeners.
    pub(crate) metadata: metadata::Endpoints,
    /// The instance groups of capacity providers, and the capacity loop's memory.
    pub(crate) capacity: capacity::Groups,
}

impl Context {
    pub(crate) fn new(ops: Arc<Ops>) -> Self {
        Self {
            ops,
            metrics: Mutex::new(None),
            engine_stats: EngineStats::default(),
            scaler_started: AtomicBool::new(false),
            retention_started: AtomicBool::new(false),
            metadata: metadata::Endpoints::default(),
            capacity: capacity::Groups::default(),
        }
    }

    pub(crate) fn state(&self) -> &State {
        &self.ops.state
    }

    pub(crate) fn config(&self) -> &EcsConfig {
        &self.ops.config
    }

    /// The user's metrics source, if one is set.
    pub(crate) fn metrics_source(&self) -> Option<Arc<dyn MetricsSource>> {
        self.metrics
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// Makes auto scaling read `source` first.
    pub(crate) fn set_metrics_source(&self, source: Arc<dyn MetricsSource>) {
        *self.metrics.lock().unwrap_or_else(|e| e.into_inner()) = Some(source);
    }

    /// Starts the service's controller.
    pub(crate) fn start_service(
        self: &Arc<Self>,
        key: crate::state::ServiceKey,
        wake: Arc<tokio::sync::Notify>,
    ) {
        self.ops
            .supervisor
            .spawn(service::run(self.clone(), key, wake));
    }

    /// Starts forgetting stopped tasks past their TTL, unless it runs already. Must be
    /// called within a Tokio runtime.
    pub(crate) fn start_retention(&self) {
        if !self.retention_started.swap(true, Ordering::SeqCst) {
            let ttl = self.config().stopped_task_ttl;
            self.ops
                .supervisor
                .spawn(retention::run(self.ops.state.clone(), ttl));
        }
    }

    /// Starts the auto scaling loop, unless it runs already.
    pub(crate) fn start_scaler(self: &Arc<Self>) {
        if !self.scaler_started.swap(true, Ordering::SeqCst) {
            self.ops.supervisor.spawn(scaler::run(self.clone()));
        }
    }
}
