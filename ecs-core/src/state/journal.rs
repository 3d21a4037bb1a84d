//! The journal: keeps a [`Store`] in step with the control plane's state.
//!
//! The state in memory is the working copy; the store is the durable one. One loop, the
//! persister, writes behind: it takes what changed since its last write (every record
//! compared with what it wrote, under the state's lock, so that the picture is of one
//! instant) and commits it as one transaction. The store thus always holds the state as
//! it was at some instant, never a mix of two.
//!
//! Nothing acts on the engines before what it acts on is durable: a runner waits at the
//! [`barrier`](Journal::barrier) before it creates a container or stops one, and a
//! barrier returns once a commit taken after it began has landed. So after a crash, the
//! store knows of every container the engines hold for a task (its intent was written
//! first), and recovery never starts one twice.
//!
//! A conflict (another writer changed a record this one wrote) means two control planes
//! share the store, and a fence (the store refused this writer: a leader that lost its
//! lease) that another leads now: either way the persister stops for good, barriers
//! never open again, and this control plane acts on nothing more. Other failures (a full disk, a lost connection)
//! leave the outcome unknown: it reads back the versions and tries again.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::{Notify, watch};

use super::records::{
    ClusterRecord, InstanceRecord, ScalingRecord, ServiceRecord, encode, scoped_key,
};
use super::{State, Tables};
use crate::Error;
use crate::ids::TaskId;
use crate::store::{Kind, Store, Write};
use crate::task::Task;
use crate::task_definition::TaskDefinition;

/// How often the persister looks for changes nobody asked to be made durable.
const SAFETY_INTERVAL: Duration = Duration::from_secs(1);

/// How often a barrier that waits asks the store whether this writer still holds it.
const FENCE_RECHECK: Duration = Duration::from_secs(1);

/// The journal's handle, shared by everything that waits on it.
pub(crate) struct Journal {
    /// The store, until the control plane lets it go ([`release`](Self::release)).
    store: Mutex<Option<Arc<dyn Store>>>,
    /// Barriers asked for, counted.
    requested: AtomicU64,
    /// The last barrier a commit satisfied.
    durable: watch::Sender<u64>,
    wake: Arc<Notify>,
    /// Why the persister stopped for good.
    failed: Mutex<Option<String>>,
}

impl Journal {
    pub(crate) fn new(store: Arc<dyn Store>) -> Self {
        Self {
            store: Mutex::new(Some(store)),
            requested: AtomicU64::new(0),
            durable: watch::channel(0).0,
            wake: Arc::new(Notify::new()),
            failed: Mutex::new(None),
        }
    }

    /// The store, while the control plane holds it.
    fn store(&self) -> Option<Arc<dyn Store>> {
        self.store.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// Lets the store go, for good (with `why`, which barriers report from now on): a
    /// control plane opened on it next finds it free once a commit in flight, if any,
    /// has ended.
    pub(crate) fn release(&self, why: &str) {
        if self.failure().is_none() {
            *self.failed.lock().unwrap_or_else(|e| e.into_inner()) = Some(why.to_owned());
        }
        self.store.lock().unwrap_or_else(|e| e.into_inner()).take();
        self.durable.send_modify(|_| {});
        self.wake.notify_one();
    }

    /// A change was made: the persister looks soon.
    pub(crate) fn poke(&self) {
        self.wake.notify_one();
    }

    /// Returns once everything changed before the call is durable. Errs if the
    /// persister stopped for good (the store was written by another control plane).
    pub(crate) async fn barrier(&self) -> Result<(), Error> {
        let ticket = self.requested.fetch_add(1, Ordering::SeqCst) + 1;
        self.wake.notify_one();
        let mut durable = self.durable.subscribe();
        loop {
            // Not if the persister stopped for good; and this writer must still hold
            // the store: a leader frozen past its lease learns here that it must not
            // act, and one whose lease runs out while its commits hang (etcd
            // unreachable) within a second of it.
            self.check_fence()?;
            if *durable.borrow_and_update() >= ticket {
                return Ok(());
            }
            tokio::select! {
                changed = durable.changed() => {
                    if changed.is_err() {
                        return Err(Error::Store {
                            path: None,
                            reason: "the control plane stopped".into(),
                        });
                    }
                }
                () = tokio::time::sleep(FENCE_RECHECK) => {}
            }
        }
    }

    /// `Err` once the persister stopped for good or the store says this writer was
    /// fenced off (which stops the persister too).
    pub(crate) fn check_fence(&self) -> Result<(), Error> {
        if let Some(reason) = self.failure() {
            return Err(Error::Store { path: None, reason });
        }
        let Some(store) = self.store() else {
            return Err(Error::Store {
                path: None,
                reason: "the control plane let its store go".into(),
            });
        };
        store
            .check_fence()
            .inspect_err(|e| self.fail(e.to_string()))
    }

    pub(crate) fn failure(&self) -> Option<String> {
        self.failed
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    pub(crate) fn fail(&self, reason: String) {
        tracing::error!("the state store: {reason}; this control plane acts on nothing more");
        *self.failed.lock().unwrap_or_else(|e| e.into_inner()) = Some(reason);
        // Wakes the waiters, which then see the failure.
        self.durable.send_modify(|_| {});
    }
}

/// What the persister last wrote, to tell what changed since.
#[derive(Default)]
pub(crate) struct Written {
    /// Each record's version in the store, by kind (so that looking for deleted
    /// clusters, instances and services never walks the tasks).
    versions: HashMap<Kind, HashMap<String, u64>>,
    pub(crate) clusters: HashMap<String, ClusterRecord>,
    pub(crate) instances: HashMap<String, InstanceRecord>,
    pub(crate) services: HashMap<String, ServiceRecord>,
    pub(crate) scaling: HashMap<String, ScalingRecord>,
    pub(crate) capacity_providers: HashMap<String, crate::capacity::CapacityProvider>,
    /// Each task's version (`Task::version`) as written.
    pub(crate) tasks: HashMap<TaskId, u64>,
    pub(crate) definitions: HashMap<String, TaskDefinition>,
    /// The registry's generation as written.
    pub(crate) registry: u64,
    /// Records a failed commit may or may not have written: their versions are read
    /// back before the next commit.
    unsure: HashSet<(Kind, String)>,
    /// Tasks changed since the last commit that landed (the state's `dirty_tasks`,
    /// taken): looked at again until one does.
    pending_tasks: HashSet<TaskId>,
}

impl Written {
    /// Forgets the value last written under `key`, so that the next commit writes the
    /// state's again (or deletes it, once its subject is gone).
    fn forget(&mut self, kind: Kind, key: &str) {
        match kind {
            Kind::Cluster => drop(self.clusters.remove(key)),
            Kind::Instance => drop(self.instances.remove(key)),
            Kind::Service => drop(self.services.remove(key)),
            Kind::Scaling => drop(self.scaling.remove(key)),
            Kind::CapacityProvider => drop(self.capacity_providers.remove(key)),
            Kind::TaskDefinition => {
                self.definitions.remove(key);
                // Looked at again only when the registry's generation differs.
                self.registry = u64::MAX;
            }
            _ => {
                if let Ok(id) = key.parse::<TaskId>() {
                    self.tasks.remove(&id);
                    self.pending_tasks.insert(id);
                }
            }
        }
    }

    pub(crate) fn version(&self, kind: Kind, key: &str) -> Option<u64> {
        self.versions.get(&kind)?.get(key).copied()
    }

    pub(crate) fn set_version(&mut self, kind: Kind, key: String, version: u64) {
        self.versions.entry(kind).or_default().insert(key, version);
    }

    fn forget_version(&mut self, kind: Kind, key: &str) {
        if let Some(v) = self.versions.get_mut(&kind) {
            v.remove(key);
        }
    }
}

/// One record to write (its value still to encode, outside the lock) or delete.
enum Change {
    Cluster(String, ClusterRecord),
    Instance(String, InstanceRecord),
    Service(String, ServiceRecord),
    Scaling(String, ScalingRecord),
    CapacityProvider(String, crate::capacity::CapacityProvider),
    Task(Arc<Task>),
    Definition(String, TaskDefinition),
    Delete(Kind, String),
}

/// What changed since `written`, at one instant; plus the registry's generation seen.
/// Tasks are looked at when they changed (the state notes which); the rest, small, is
/// compared whole, in place.
fn changes(s: &mut Tables, written: &mut Written) -> (Vec<Change>, u64) {
    if let Some(dirty) = &mut s.dirty_tasks {
        written.pending_tasks.extend(dirty.drain());
    }
    let s = &*s;
    let written = &*written;
    let mut out = Vec::new();
    let mut seen = HashSet::new();
    for (name, c) in &s.clusters {
        let key = name.to_string();
        let record = ClusterRecord {
            cluster_name: name.clone(),
            limits: c.limits,
            tags: c.tags.clone(),
            settings: c.settings.clone(),
            capacity_providers: c.capacity_providers.clone(),
            default_capacity_provider_strategy: c.default_strategy.clone(),
        };
        if written.clusters.get(&key) != Some(&record) {
            out.push(Change::Cluster(key.clone(), record));
        }
        seen.insert((Kind::Cluster, key));
        for i in c.cluster.instances() {
            let key = scoped_key(name, i.id.as_str());
            if !written.instances.get(&key).is_some_and(|r| r.describes(i)) {
                out.push(Change::Instance(key.clone(), InstanceRecord::of(name, i)));
            }
            seen.insert((Kind::Instance, key));
        }
    }
    for ((cluster, name), e) in &s.services {
        let key = scoped_key(cluster, name.as_str());
        let known = written.services.get(&key);
        if known.is_none_or(|r| {
            r.service != e.service
                || r.last_completed != e.last_completed
                || r.last_completed_connect != e.last_completed_connect
                || r.breaker != e.breaker
        }) {
            out.push(Change::Service(
                key.clone(),
                ServiceRecord {
                    service: e.service.clone(),
                    last_completed: e.last_completed.clone(),
                    last_completed_connect: e.last_completed_connect.clone(),
                    breaker: e.breaker.clone(),
                },
            ));
        }
        seen.insert((Kind::Service, key));
    }
    for ((cluster, name), e) in &s.scaling {
        let key = scoped_key(cluster, name.as_str());
        let same = written.scaling.get(&key).is_some_and(|r| {
            r.target == e.target
                && r.policies.iter().eq(e.policies.iter().map(|(p, _)| p))
                && r.activities.iter().eq(e.activities.iter())
        });
        if !same {
            out.push(Change::Scaling(
                key.clone(),
                ScalingRecord {
                    cluster: cluster.clone(),
                    service_name: name.clone(),
                    target: e.target,
                    policies: e.policies.iter().map(|(p, _)| p.clone()).collect(),
                    activities: e.activities.iter().cloned().collect(),
                },
            ));
        }
        seen.insert((Kind::Scaling, key));
    }
    for (name, e) in &s.capacity.providers {
        let key = name.to_string();
        if written.capacity_providers.get(&key) != Some(&e.provider) {
            out.push(Change::CapacityProvider(key.clone(), e.provider.clone()));
        }
        seen.insert((Kind::CapacityProvider, key));
    }
    for id in &written.pending_tasks {
        match s.tasks.get(id) {
            Some(e) if written.tasks.get(id) != Some(&e.task.version) => {
                out.push(Change::Task(e.task.clone()));
            }
            // Forgotten (stopped long enough ago): out of the store too.
            None if written.version(Kind::Task, id.as_str()).is_some() => {
                out.push(Change::Delete(Kind::Task, id.to_string()));
            }
            _ => {}
        }
    }
    let generation = s.registry.generation();
    if generation != written.registry {
        for td in s.registry.definitions() {
            let key = format!("{}:{}", td.family(), td.revision.unwrap_or(0));
            if written.definitions.get(&key) != Some(td) {
                out.push(Change::Definition(key, td.clone()));
            }
        }
    }
    // Records written before whose subject is gone (a deregistered instance ...).
    for kind in [
        Kind::Cluster,
        Kind::Instance,
        Kind::Service,
        Kind::Scaling,
        Kind::CapacityProvider,
    ] {
        for key in written
            .versions
            .get(&kind)
            .into_iter()
            .flat_map(HashMap::keys)
        {
            if !seen.contains(&(kind, key.clone())) {
                out.push(Change::Delete(kind, key.clone()));
            }
        }
    }
    (out, generation)
}

impl Change {
    /// The record it writes.
    fn key(&self) -> (Kind, String) {
        match self {
            Change::Cluster(k, _) => (Kind::Cluster, k.clone()),
            Change::Instance(k, _) => (Kind::Instance, k.clone()),
            Change::Service(k, _) => (Kind::Service, k.clone()),
            Change::Scaling(k, _) => (Kind::Scaling, k.clone()),
            Change::CapacityProvider(k, _) => (Kind::CapacityProvider, k.clone()),
            Change::Task(t) => (Kind::Task, t.task_id.to_string()),
            Change::Definition(k, _) => (Kind::TaskDefinition, k.clone()),
            Change::Delete(kind, k) => (*kind, k.clone()),
        }
    }

    /// The record's new value; `None` for a delete.
    fn encode(&self, kind: Kind, key: &str) -> Result<Option<Vec<u8>>, Error> {
        Ok(Some(match self {
            Change::Cluster(_, r) => encode(kind, key, r)?,
            Change::Instance(_, r) => encode(kind, key, r)?,
            Change::Service(_, r) => encode(kind, key, r)?,
            Change::Scaling(_, r) => encode(kind, key, r)?,
            Change::CapacityProvider(_, r) => encode(kind, key, r)?,
            Change::Task(t) => encode(kind, key, t.as_ref())?,
            Change::Definition(_, td) => encode(kind, key, td)?,
            Change::Delete(..) => return Ok(None),
        }))
    }
}

/// Encodes the changes as writes against the versions last written.
fn writes(changes: &[Change], written: &Written) -> Result<Vec<Write>, Error> {
    changes
        .iter()
        .map(|c| {
            let (kind, key) = c.key();
            let version = written.version(kind, &key);
            Ok(match (c.encode(kind, &key)?, version) {
                (Some(value), Some(v)) => Write::replace(kind, key, v, value),
                (Some(value), None) => Write::create(kind, key, value),
                (None, v) => Write::delete(kind, key, v.unwrap_or(0)),
            })
        })
        .collect()
}

/// Records a commit's outcome in `written`.
fn landed(written: &mut Written, changes: Vec<Change>, versions: &[u64], registry: u64) {
    for (c, &v) in changes.into_iter().zip(versions) {
        let (kind, key) = c.key();
        match c {
            Change::Cluster(_, r) => drop(written.clusters.insert(key.clone(), r)),
            Change::Instance(_, r) => drop(written.instances.insert(key.clone(), r)),
            Change::Service(_, r) => drop(written.services.insert(key.clone(), r)),
            Change::Scaling(_, r) => drop(written.scaling.insert(key.clone(), r)),
            Change::CapacityProvider(_, r) => {
                drop(written.capacity_providers.insert(key.clone(), r))
            }
            Change::Task(t) => drop(written.tasks.insert(t.task_id.clone(), t.version)),
            Change::Definition(_, td) => drop(written.definitions.insert(key.clone(), td)),
            Change::Delete(..) => {
                written.forget(kind, &key);
                written.forget_version(kind, &key);
                continue;
            }
        }
        written.set_version(kind, key, v);
    }
    written.registry = registry;
    written.pending_tasks.clear();
}

/// After a failure whose outcome is unknown: the versions as the store has them now.
/// False while the store cannot say (the keys stay unsure; nothing may be committed
/// against versions that may be stale, or the compare-and-swap would fail as if
/// another writer had been there).
async fn reread(store: &dyn Store, written: &mut Written) -> bool {
    let keys: Vec<(Kind, String)> = written.unsure.iter().cloned().collect();
    for (kind, key) in &keys {
        match store.get(*kind, key).await {
            Ok(Some(r)) => written.set_version(*kind, key.clone(), r.version),
            Ok(None) => written.forget_version(*kind, key),
            Err(_) => return false,
        }
        written.unsure.remove(&(*kind, key.clone()));
        // What is in the store may differ from what was last compared: write it again.
        written.forget(*kind, key);
    }
    true
}

/// Runs until the store is found shared or let go (the supervisor ends it with the
/// control plane).
pub(crate) async fn run(state: Arc<State>, mut written: Written) {
    let mut backoff = Duration::from_millis(50);
    let Some(journal) = state.journal().cloned() else {
        return;
    };
    loop {
        let Some(store) = journal.store() else {
            return;
        };
        if !written.unsure.is_empty() && !reread(store.as_ref(), &mut written).await {
            drop(store);
            tokio::time::sleep(backoff).await;
            backoff = (backoff * 2).min(Duration::from_secs(5));
            continue;
        }
        // Read first: every barrier asked for until now is satisfied by the picture
        // taken next.
        let target = journal.requested.load(Ordering::SeqCst);
        let (changes, registry) = changes(&mut state.lock(), &mut written);
        // Stopped for good (a conflict, a fence known lost before etcd refuses it),
        // checked as late as can be: nothing more is written, whatever changed since.
        if journal.failure().is_some() {
            return;
        }
        if !changes.is_empty() {
            let started = std::time::Instant::now();
            let outcome = match writes(&changes, &written) {
                Ok(w) => store.commit(w).await,
                Err(e) => Err(e),
            };
            metrics::histogram!(crate::telemetry::STORE_COMMIT_SECONDS)
                .record(started.elapsed().as_secs_f64());
            let result = if outcome.is_ok() { "ok" } else { "error" };
            metrics::counter!(crate::telemetry::STORE_COMMITS, "result" => result).increment(1);
            match outcome {
                Ok(versions) => {
                    landed(&mut written, changes, &versions, registry);
                    backoff = Duration::from_millis(50);
                }
                Err(e @ Error::StoreConflict { .. }) => {
                    journal.fail(format!("another writer changed it ({e})"));
                    return;
                }
                Err(e @ Error::StoreFenced { .. }) => {
                    journal.fail(e.to_string());
                    return;
                }
                Err(e) => {
                    tracing::warn!(error = %e, "the state store: a commit failed; retrying in {backoff:?}");
                    written.unsure.extend(changes.iter().map(Change::key));
                    drop(store);
                    tokio::time::sleep(backoff).await;
                    backoff = (backoff * 2).min(Duration::from_secs(5));
                    continue;
                }
            }
        } else {
            written.registry = registry;
            written.pending_tasks.clear();
        }
        drop(store);
        journal.durable.send_if_modified(|d| {
            let moved = *d < target;
            *d = (*d).max(target);
            moved
        });
        tokio::select! {
            () = journal.wake.notified() => {}
            () = tokio::time::sleep(SAFETY_INTERVAL) => {}
        }
    }
}
