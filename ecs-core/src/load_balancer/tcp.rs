//! The built-in load balancer: a TCP proxy in front of the registered targets, with
//! health checks and connection draining.

use std::fmt;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};

use async_trait::async_trait;
use tokio::net::TcpListener;
use tokio::runtime::Handle;
use tokio::sync::watch;
use tokio::time::{Instant, MissedTickBehavior};

use super::balancer::LoadBalancer;
use super::config::TcpLoadBalancerConfig;
use super::pool::{Claim, Drain, Pool, Recorded, Signal, Started};
use super::probe::probe;
use super::proxy;
use super::stats::{Counters, LoadBalancerStats};
use super::target::{Target, TargetHealth};
use crate::Error;

/// A TCP load balancer: accepts connections on its address and forwards each to a
/// healthy target, chosen by its [`Algorithm`](super::Algorithm); checks its targets'
/// health; drains the ones deregistered. See the [module](super) for an example.
///
/// Dropping it (or [`shutdown`](Self::shutdown)) stops it: the listener closes, health
/// checks stop, open connections are cut. Share it as `Arc<TcpLoadBalancer>` (or
/// `Arc<dyn LoadBalancer>`).
pub struct TcpLoadBalancer {
    inner: Arc<Inner>,
}

/// What the balancer's tasks share.
pub(crate) struct Inner {
    /// For messages.
    pub(crate) name: String,
    pub(crate) config: TcpLoadBalancerConfig,
    local_addr: SocketAddr,
    runtime: Handle,
    pool: Mutex<Pool>,
    pub(crate) counters: Counters,
    /// `true` once shut down.
    shutdown: watch::Sender<bool>,
    /// Bumped when a target is added or removed or its health changes.
    changes: watch::Sender<()>,
}

impl Inner {
    fn pool(&self) -> MutexGuard<'_, Pool> {
        self.pool.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Chooses a target for a new connection among the healthy ones not in `tried`.
    pub(crate) fn pick(&self, tried: &[u64]) -> Option<Claim> {
        self.pool().pick(self.config.algorithm, tried)
    }

    /// Resolves once the balancer is shut down.
    pub(crate) async fn stopped(&self) {
        let mut shutdown = self.shutdown.subscribe();
        // An error means the sender is gone, which only happens with `self`.
        let _ = shutdown.wait_for(|stopped| *stopped).await;
    }

    fn is_shut_down(&self) -> bool {
        *self.shutdown.borrow()
    }

    pub(crate) fn spawn(&self, task: impl Future<Output = ()> + Send + 'static) {
        self.runtime.spawn(task);
    }

    fn changed(&self) {
        self.changes.send_replace(());
    }

    fn start_health_check(self: &Arc<Self>, started: Started) {
        self.spawn(check_health(self.clone(), started));
    }
}

/// Checks one registration's health every interval until it drains, is removed, or the
/// balancer stops.
async fn check_health(inner: Arc<Inner>, started: Started) {
    let Started {
        serial,
        target,
        mut signal,
    } = started;
    let check = &inner.config.health_check;
    let mut ticker = tokio::time::interval(check.interval);
    ticker.set_missed_tick_behavior(MissedTickBehavior::Delay);
    loop {
        let outcome = tokio::select! {
            biased;
            _ = inner.stopped() => return,
            _ = signal.wait_for(|s| *s != Signal::Active) => return,
            outcome = async {
                ticker.tick().await;
                probe(check, target.address).await
            } => outcome,
        };
        if let Err(failure) = &outcome {
            tracing::debug!(load_balancer = %inner.name, %target, reason = failure.reason(),
                "health check failed");
        }
        let recorded = inner.pool().record(serial, check, &outcome);
        match recorded {
            Recorded::Stop => return,
            Recorded::Same => {}
            Recorded::Changed => inner.changed(),
        }
    }
}

/// Waits for a draining registration's connections to close, or cuts them at its
/// deadline, then removes it.
async fn drain(inner: Arc<Inner>, drain: Drain) {
    let mut open = drain.open();
    // The sender lives in `drain`: waiting cannot fail.
    if tokio::time::timeout_at(drain.deadline, open.wait_for(|n| *n == 0))
        .await
        .is_err()
    {
        drain.cut();
        let _ = open.wait_for(|n| *n == 0).await;
    }
    let restarted = inner.pool().remove_drained(drain.serial);
    if let Some(started) = restarted {
        inner.start_health_check(started);
    }
    inner.changed();
}

impl TcpLoadBalancer {
    /// Listens on `config.listen` and starts forwarding (to no target yet). Must be
    /// called within a tokio runtime, in which the balancer's tasks then run.
    ///
    /// Errors: [`Error::InvalidLoadBalancerConfig`] for a configuration that cannot
    /// work, [`Error::LoadBalancerBind`] when the address cannot be listened on,
    /// [`Error::LoadBalancer`] outside a tokio runtime.
    pub async fn bind(config: TcpLoadBalancerConfig) -> Result<Self, Error> {
        config.validate()?;
        let address = config.listen;
        let runtime = Handle::try_current().map_err(|_| Error::LoadBalancer {
            name: config.name.clone().unwrap_or_else(|| address.to_string()),
            reason: "must be started within a tokio runtime".into(),
        })?;
        let bind_error = |e: std::io::Error| Error::LoadBalancerBind {
            address,
            kind: e.kind(),
            message: e.to_string(),
        };
        let listener = TcpListener::bind(address).await.map_err(bind_error)?;
        let local_addr = listener.local_addr().map_err(bind_error)?;
        let inner = Arc::new(Inner {
            name: config
                .name
                .clone()
                .unwrap_or_else(|| local_addr.to_string()),
            config,
            local_addr,
            runtime,
            pool: Mutex::default(),
            counters: Counters::default(),
            shutdown: watch::Sender::new(false),
            changes: watch::Sender::new(()),
        });
        inner.spawn(proxy::accept(inner.clone(), listener));
        tracing::debug!(load_balancer = %inner.name, %local_addr, "listening");
        Ok(Self { inner })
    }

    /// The address it listens on (with the port chosen when the configuration's was 0).
    pub fn local_addr(&self) -> SocketAddr {
        self.inner.local_addr
    }

    /// Its configuration.
    pub fn config(&self) -> &TcpLoadBalancerConfig {
        &self.inner.config
    }

    /// Its counts now.
    pub fn stats(&self) -> LoadBalancerStats {
        let targets = self.inner.pool().stats();
        self.inner.counters.snapshot(targets)
    }

    /// Waits until `done` holds for the targets' health (checked now, then at each
    /// change: a target added, removed, or changing state), and returns it. Waits
    /// forever if it never holds: bound it with `tokio::time::timeout`.
    pub async fn wait_for_targets(
        &self,
        mut done: impl FnMut(&[TargetHealth]) -> bool,
    ) -> Vec<TargetHealth> {
        let mut changes = self.inner.changes.subscribe();
        loop {
            let health = self.inner.pool().health();
            if done(&health) || changes.changed().await.is_err() {
                return health;
            }
        }
    }

    /// Stops it: closes the listener, stops health checks, cuts open connections.
    /// Registering targets then fails; deregistering them returns at once. Dropping
    /// the balancer does the same.
    pub fn shutdown(&self) {
        if !self.inner.shutdown.send_replace(true) {
            tracing::debug!(load_balancer = %self.inner.name, "shut down");
        }
    }
}

impl Drop for TcpLoadBalancer {
    fn drop(&mut self) {
        self.shutdown();
    }
}

impl fmt::Debug for TcpLoadBalancer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TcpLoadBalancer")
            .field("name", &self.inner.name)
            .field("local_addr", &self.inner.local_addr)
            .field("algorithm", &self.inner.config.algorithm)
            .finish_non_exhaustive()
    }
}

#[async_trait]
impl LoadBalancer for TcpLoadBalancer {
    fn name(&self) -> String {
        self.inner.name.clone()
    }

    /// Adds targets as `initial` and starts their health checks at once. A draining
    /// target is added again once drained.
    async fn register_targets(&self, targets: &[Target]) -> Result<(), Error> {
        if self.inner.is_shut_down() {
            return Err(Error::LoadBalancer {
                name: self.inner.name.clone(),
                reason: "it is shut down".into(),
            });
        }
        let started: Vec<Started> = {
            let mut pool = self.inner.pool();
            targets.iter().filter_map(|t| pool.register(t)).collect()
        };
        if !started.is_empty() {
            self.inner.changed();
        }
        for started in started {
            tracing::debug!(load_balancer = %self.inner.name, target = %started.target,
                "registered");
            self.inner.start_health_check(started);
        }
        Ok(())
    }

    /// Drains the targets: no new connections; returns once each one's open connections
    /// have closed, or were cut when the deregistration delay passed. The draining goes
    /// on if the returned future is dropped.
    async fn deregister_targets(&self, targets: &[Target]) -> Result<(), Error> {
        let now = Instant::now();
        let deadline = now
            .checked_add(self.inner.config.deregistration_delay)
            .unwrap_or(now + std::time::Duration::from_secs(3600));
        let drains: Vec<Drain> = {
            let mut pool = self.inner.pool();
            targets
                .iter()
                .filter_map(|t| pool.drain(t, deadline))
                .collect()
        };
        if drains.is_empty() {
            return Ok(());
        }
        self.inner.changed();
        let (done, mut drained) = watch::channel(drains.len());
        for d in drains {
            let (inner, done) = (self.inner.clone(), done.clone());
            self.inner.spawn(async move {
                drain(inner, d).await;
                done.send_modify(|left| *left = left.saturating_sub(1));
            });
        }
        drop(done);
        // Fails only if a drain task was dropped unfinished (the runtime shutting down).
        let _ = drained.wait_for(|left| *left == 0).await;
        Ok(())
    }

    async fn target_health(&self) -> Result<Vec<TargetHealth>, Error> {
        Ok(self.inner.pool().health())
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Weak;
    use std::time::Duration;

    use super::*;
    use crate::load_balancer::HealthCheck;

    #[tokio::test]
    async fn dropping_the_balancer_stops_its_tasks() {
        let backend = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let lb = TcpLoadBalancer::bind(
            TcpLoadBalancerConfig::default()
                .with_health_check(HealthCheck::tcp().with_interval(Duration::from_millis(20))),
        )
        .await
        .unwrap();
        let target = Target::new("t", backend.local_addr().unwrap());
        lb.register_targets(&[target]).await.unwrap();
        let weak: Weak<Inner> = Arc::downgrade(&lb.inner);
        drop(lb);
        let deadline = Instant::now() + Duration::from_secs(5);
        while weak.strong_count() > 0 {
            assert!(Instant::now() < deadline, "tasks still hold the balancer");
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }

    #[test]
    fn outside_a_runtime_bind_is_an_error() {
        let config = TcpLoadBalancerConfig::default().with_name("web");
        let result = futures::executor::block_on(TcpLoadBalancer::bind(config));
        assert_eq!(
            result.unwrap_err().to_string(),
            "load balancer web: must be started within a tokio runtime"
        );
    }
}
