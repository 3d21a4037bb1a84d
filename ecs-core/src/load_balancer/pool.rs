//! The registered targets: their states, registration and draining, and the choice of
//! a target for a new connection. No I/O: the balancer's tasks act on what it decides.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use rustc_hash::FxHashMap;
use tokio::sync::watch;
use tokio::time::Instant;

use super::config::{Algorithm, HealthCheck};
use super::health::{DRAINING, INITIAL, Outcome, Streak};
use super::stats::TargetStats;
use super::target::{Target, TargetHealth, TargetState};

/// What a target's health check and connections are told.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Signal {
    /// Registered: health checks run.
    Active,
    /// Draining: health checks stop, open connections go on.
    Draining,
    /// The deregistration delay has passed: open connections are cut.
    Cut,
}

/// The part of a target its connections and its deregistration share, outside the
/// pool's lock.
#[derive(Debug)]
pub(crate) struct Shared {
    target: Target,
    open: watch::Sender<usize>,
    signal: watch::Sender<Signal>,
    connections: AtomicU64,
    connect_failures: AtomicU64,
}

impl Shared {
    fn new(target: Target) -> Self {
        Self {
            target,
            open: watch::Sender::new(0),
            signal: watch::Sender::new(Signal::Active),
            connections: AtomicU64::new(0),
            connect_failures: AtomicU64::new(0),
        }
    }

    fn open(&self) -> usize {
        *self.open.borrow()
    }
}

/// One registration of a target.
#[derive(Debug)]
struct Entry {
    state: TargetState,
    reason: Option<String>,
    streak: Streak,
    /// When draining: when its connections are cut.
    deadline: Option<Instant>,
    /// Registered again while draining: comes back once drained.
    reregister: bool,
    shared: Arc<Shared>,
}

/// A registration whose health checks are to start.
#[derive(Debug)]
pub(crate) struct Started {
    /// The registration.
    pub(crate) serial: u64,
    /// The target.
    pub(crate) target: Target,
    /// Tells the health check when to stop.
    pub(crate) signal: watch::Receiver<Signal>,
}

/// A connection's claim on a target: counted among its open connections until dropped.
#[derive(Debug)]
pub(crate) struct Claim {
    serial: u64,
    shared: Arc<Shared>,
}

impl Claim {
    /// The registration.
    pub(crate) fn serial(&self) -> u64 {
        self.serial
    }

    /// The target.
    pub(crate) fn target(&self) -> &Target {
        &self.shared.target
    }

    /// Tells the connection when to stop.
    pub(crate) fn signal(&self) -> watch::Receiver<Signal> {
        self.shared.signal.subscribe()
    }

    /// Counts a forwarded connection.
    pub(crate) fn connected(&self) {
        self.shared.connections.fetch_add(1, Ordering::Relaxed);
    }

    /// Counts a failed connect.
    pub(crate) fn connect_failed(&self) {
        self.shared.connect_failures.fetch_add(1, Ordering::Relaxed);
    }
}

impl Drop for Claim {
    fn drop(&mut self) {
        self.shared.open.send_modify(|n| *n = n.saturating_sub(1));
    }
}

/// A draining registration: what its deregistration waits on.
#[derive(Debug)]
pub(crate) struct Drain {
    /// The registration.
    pub(crate) serial: u64,
    /// When its open connections are cut.
    pub(crate) deadline: Instant,
    shared: Arc<Shared>,
}

impl Drain {
    /// Watches its open connections.
    pub(crate) fn open(&self) -> watch::Receiver<usize> {
        self.shared.open.subscribe()
    }

    /// Cuts its open connections.
    pub(crate) fn cut(&self) {
        self.shared.signal.send_replace(Signal::Cut);
    }
}

/// The registered targets, in registration order.
#[derive(Debug, Default)]
pub(crate) struct Pool {
    entries: BTreeMap<u64, Entry>,
    index: FxHashMap<Target, u64>,
    next_serial: u64,
    /// Advances with each choice: round robin's turn, and least connections' tie-break.
    cursor: usize,
}

impl Pool {
    /// Registers `target` (initial); `Some` when its health checks are to start. A
    /// draining target comes back once drained; a registered one is left as it is.
    pub(crate) fn register(&mut self, target: &Target) -> Option<Started> {
        if let Some(serial) = self.index.get(target) {
            if let Some(entry) = self.entries.get_mut(serial) {
                entry.reregister |= entry.state == TargetState::Draining;
            }
            return None;
        }
        Some(self.insert(target.clone()))
    }

    fn insert(&mut self, target: Target) -> Started {
        let serial = self.next_serial;
        self.next_serial += 1;
        let shared = Arc::new(Shared::new(target.clone()));
        let signal = shared.signal.subscribe();
        self.index.insert(target.clone(), serial);
        self.entries.insert(
            serial,
            Entry {
                state: TargetState::Initial,
                reason: Some(INITIAL.to_owned()),
                streak: Streak::default(),
                deadline: None,
                reregister: false,
                shared,
            },
        );
        Started {
            serial,
            target,
            signal,
        }
    }

    /// Starts draining `target` (its connections are cut at `deadline`), or joins its
    /// draining; `None` when it is not registered.
    pub(crate) fn drain(&mut self, target: &Target, deadline: Instant) -> Option<Drain> {
        let serial = *self.index.get(target)?;
        let entry = self.entries.get_mut(&serial)?;
        entry.reregister = false;
        if entry.state != TargetState::Draining {
            entry.state = TargetState::Draining;
            entry.reason = Some(DRAINING.to_owned());
            entry.deadline = Some(deadline);
            entry.shared.signal.send_replace(Signal::Draining);
        }
        Some(Drain {
            serial,
            deadline: entry.deadline.unwrap_or(deadline),
            shared: entry.shared.clone(),
        })
    }

    /// Removes a drained registration; `Some` when it was registered again meanwhile
    /// (a new registration, whose health checks are to start).
    pub(crate) fn remove_drained(&mut self, serial: u64) -> Option<Started> {
        let entry = self.entries.remove(&serial)?;
        let target = entry.shared.target.clone();
        self.index.remove(&target);
        entry.reregister.then(|| self.insert(target))
    }

    /// Records a health check's outcome; whether the registration's health checks go
    /// on, and whether its state or reason changed.
    pub(crate) fn record(
        &mut self,
        serial: u64,
        check: &HealthCheck,
        outcome: &Outcome,
    ) -> Recorded {
        let Some(entry) = self.entries.get_mut(&serial) else {
            return Recorded::Stop;
        };
        if entry.state == TargetState::Draining {
            return Recorded::Stop;
        }
        let before = (entry.state, entry.reason.clone());
        let (state, reason) = entry
            .streak
            .record(check, entry.state, entry.reason.take(), outcome);
        entry.state = state;
        entry.reason = reason;
        if before.0 != state {
            tracing::info!(target = %entry.shared.target, from = %before.0, to = %state,
                reason = entry.reason.as_deref().unwrap_or(""), "target health changed");
        }
        if (state, &entry.reason) == (before.0, &before.1) {
            Recorded::Same
        } else {
            Recorded::Changed
        }
    }

    /// Chooses a healthy target for a new connection, by `algorithm`, among those
    /// whose registrations are not in `tried`; counts the connection as open on it.
    pub(crate) fn pick(&mut self, algorithm: Algorithm, tried: &[u64]) -> Option<Claim> {
        let eligible = || {
            self.entries.iter().filter(|(serial, entry)| {
                entry.state == TargetState::Healthy && !tried.contains(serial)
            })
        };
        let count = eligible().count();
        if count == 0 {
            return None;
        }
        let start = self.cursor % count;
        let rotated = || eligible().skip(start).chain(eligible().take(start));
        let (&serial, entry) = match algorithm {
            Algorithm::RoundRobin => rotated().next(),
            Algorithm::LeastConnections => rotated().min_by_key(|(_, e)| e.shared.open()),
        }?;
        let shared = entry.shared.clone();
        self.cursor = self.cursor.wrapping_add(1);
        shared.open.send_modify(|n| *n += 1);
        Some(Claim { serial, shared })
    }

    /// Every registered target's health.
    pub(crate) fn health(&self) -> Vec<TargetHealth> {
        self.entries
            .values()
            .map(|e| TargetHealth::new(e.shared.target.clone(), e.state, e.reason.clone()))
            .collect()
    }

    /// Every registered target's counts.
    pub(crate) fn stats(&self) -> Vec<TargetStats> {
        self.entries
            .values()
            .map(|e| TargetStats {
                target: e.shared.target.clone(),
                state: e.state,
                connections: e.shared.connections.load(Ordering::Relaxed),
                open_connections: e.shared.open(),
                connect_failures: e.shared.connect_failures.load(Ordering::Relaxed),
            })
            .collect()
    }
}

/// What recording a health check's outcome did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Recorded {
    /// The registration is gone or draining: its health checks stop.
    Stop,
    /// Its state and reason are unchanged.
    Same,
    /// Its state or reason changed.
    Changed,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn target(i: u16) -> Target {
        Target::new(format!("t{i}"), ([127, 0, 0, 1], 1000 + i).into())
    }

    /// A pool of `n` healthy targets.
    fn healthy(n: u16) -> (Pool, Vec<u64>) {
        let check = HealthCheck::tcp().with_healthy_threshold(1);
        let mut pool = Pool::default();
        let serials = (0..n)
            .map(|i| {
                let started = pool.register(&target(i)).unwrap();
                assert_eq!(
                    pool.record(started.serial, &check, &Ok(())),
                    Recorded::Changed
                );
                started.serial
            })
            .collect();
        (pool, serials)
    }

    fn id(claim: &Claim) -> &str {
        &claim.target().id
    }

    #[test]
    fn round_robin_takes_each_healthy_target_in_turn() {
        let (mut pool, _) = healthy(3);
        let picks: Vec<String> = (0..6)
            .map(|_| id(&pool.pick(Algorithm::RoundRobin, &[]).unwrap()).to_owned())
            .collect();
        assert_eq!(picks, ["t0", "t1", "t2", "t0", "t1", "t2"]);
    }

    #[test]
    fn least_connections_takes_the_least_busy_and_spreads_ties() {
        let (mut pool, _) = healthy(3);
        let mut held: Vec<Claim> = (0..3)
            .map(|_| pool.pick(Algorithm::LeastConnections, &[]).unwrap())
            .collect();
        let mut ids: Vec<&str> = held.iter().map(id).collect();
        ids.sort();
        assert_eq!(ids, ["t0", "t1", "t2"], "ties go to each in turn");
        held.retain(|c| id(c) != "t1");
        for _ in 0..3 {
            assert_eq!(
                id(&pool.pick(Algorithm::LeastConnections, &[]).unwrap()),
                "t1"
            );
        }
        let stats = pool.stats();
        assert_eq!(stats.iter().map(|s| s.open_connections).sum::<usize>(), 2);
    }

    #[test]
    fn tried_initial_and_draining_targets_are_not_picked() {
        let (mut pool, serials) = healthy(2);
        assert!(pool.register(&target(9)).is_some());
        let claim = pool.pick(Algorithm::RoundRobin, &[serials[0]]).unwrap();
        assert_eq!(id(&claim), "t1");
        assert!(pool.pick(Algorithm::RoundRobin, &serials).is_none());
        let drain = pool.drain(&target(1), Instant::now()).unwrap();
        for _ in 0..3 {
            assert_eq!(id(&pool.pick(Algorithm::RoundRobin, &[]).unwrap()), "t0");
        }
        assert_eq!(*drain.open().borrow(), 1);
        drop(claim);
        assert_eq!(*drain.open().borrow(), 0);
    }

    #[test]
    fn a_target_registered_again_while_draining_comes_back_once_drained() {
        let (mut pool, serials) = healthy(1);
        assert!(pool.register(&target(0)).is_none(), "idempotent");
        let drain = pool.drain(&target(0), Instant::now()).unwrap();
        assert!(pool.register(&target(0)).is_none());
        assert_eq!(pool.health()[0].state, TargetState::Draining);
        let check = HealthCheck::tcp();
        assert_eq!(pool.record(serials[0], &check, &Ok(())), Recorded::Stop);
        let again = pool.remove_drained(drain.serial).unwrap();
        assert_ne!(again.serial, serials[0]);
        assert_eq!(pool.health()[0].state, TargetState::Initial);
        let drain = pool.drain(&target(0), Instant::now()).unwrap();
        assert!(pool.remove_drained(drain.serial).is_none());
        assert!(pool.health().is_empty());
        assert!(pool.drain(&target(0), Instant::now()).is_none(), "unknown");
    }
}
