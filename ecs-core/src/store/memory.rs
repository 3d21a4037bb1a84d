//! [`MemoryStore`]: a store in memory, for tests, with a hook that simulates a crash.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use super::{Kind, Record, Store, Write};
use crate::Error;

/// A [`Store`] in memory, with the same semantics as the others. Clones share the data,
/// as clones of a handle to one database would: drop the control plane, keep a clone,
/// and start a new control plane on it to test recovery.
///
/// [`MemoryStore::fail_after`] simulates a crash at an exact point: the commits after
/// it fail without being applied, as if the process had died before them.
///
/// ```
/// use ecs_core::store::{Kind, MemoryStore, Store, StoreExt, Write};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), ecs_core::Error> {
/// let store = MemoryStore::new();
/// store.create(Kind::Task, "t-1", b"{}".to_vec()).await?;
///
/// // Let one more commit through, then "crash".
/// store.fail_after(1);
/// store.replace(Kind::Task, "t-1", 1, b"{\"desired\":\"STOPPED\"}".to_vec()).await?;
/// assert!(store.create(Kind::Task, "t-2", b"{}".to_vec()).await.is_err());
/// assert!(store.get(Kind::Task, "t-2").await?.is_none());
///
/// // "Restart": what was committed before the crash is all there is.
/// store.heal();
/// let tasks = store.load(Kind::Task).await?;
/// assert_eq!((tasks.len(), tasks[0].version), (1, 2));
/// # Ok(())
/// # }
/// ```
#[derive(Clone, Default)]
pub struct MemoryStore {
    inner: Arc<Mutex<Inner>>,
}

#[derive(Default)]
struct Inner {
    records: BTreeMap<Kind, BTreeMap<String, Stored>>,
    /// Commits applied so far.
    commits: u64,
    /// How many more commits may succeed before they all fail; `None`: no limit.
    allowed: Option<u64>,
}

#[derive(Clone)]
struct Stored {
    version: u64,
    value: Vec<u8>,
}

impl MemoryStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    /// Lets `n` more commits succeed, then fails every later one with [`Error::Store`]
    /// *without applying it*, as if the process had been killed right before it, until
    /// [`MemoryStore::heal`]. `fail_after(0)` fails the next commit. Reads still work.
    ///
    /// To crash a control plane at a random point of an operation: count the commits the
    /// operation makes once ([`MemoryStore::commits`] before and after), then rerun it on
    /// a fresh store with `fail_after(k)` for a `k` below that count, drop the control
    /// plane, `heal`, and start a new one on a clone of the store.
    pub fn fail_after(&self, n: u64) {
        self.lock().allowed = Some(n);
    }

    /// Ends [`MemoryStore::fail_after`]: commits succeed again.
    pub fn heal(&self) {
        self.lock().allowed = None;
    }

    /// How many commits have been applied (failed ones are not counted).
    pub fn commits(&self) -> u64 {
        self.lock().commits
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        // A panic while holding the lock happens before any change is made (commits
        // check everything first), so the data is consistent.
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl fmt::Debug for MemoryStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let inner = self.lock();
        f.debug_struct("MemoryStore")
            .field(
                "records",
                &inner.records.values().map(BTreeMap::len).sum::<usize>(),
            )
            .field("commits", &inner.commits)
            .field("allowed", &inner.allowed)
            .finish()
    }
}

#[async_trait::async_trait]
impl Store for MemoryStore {
    async fn load(&self, kind: Kind) -> Result<Vec<Record>, Error> {
        let inner = self.lock();
        Ok(inner
            .records
            .get(&kind)
            .into_iter()
            .flatten()
            .map(|(key, s)| record(kind, key, s))
            .collect())
    }

    async fn get(&self, kind: Kind, key: &str) -> Result<Option<Record>, Error> {
        let inner = self.lock();
        Ok(inner
            .records
            .get(&kind)
            .and_then(|records| records.get(key))
            .map(|s| record(kind, key, s)))
    }

    async fn commit(&self, writes: Vec<Write>) -> Result<Vec<u64>, Error> {
        let mut inner = self.lock();
        if inner.allowed == Some(0) {
            return Err(Error::Store {
                path: None,
                reason: "commit refused by MemoryStore::fail_after (a simulated crash); \
                         nothing was applied"
                    .to_string(),
            });
        }
        // Check every write against the records as the writes before it left them,
        // then apply them all at once.
        let mut staged: BTreeMap<(Kind, &str), Option<Stored>> = BTreeMap::new();
        let mut versions = Vec::with_capacity(writes.len());
        for write in &writes {
            let at = (write.kind(), write.key());
            let found = match staged.get(&at) {
                Some(staged) => staged.as_ref().map(|s| s.version),
                None => inner
                    .records
                    .get(&at.0)
                    .and_then(|r| r.get(at.1))
                    .map(|s| s.version),
            };
            let version = write.check(found)?;
            let after = match write {
                Write::Put { value, .. } => Some(Stored {
                    version,
                    value: value.clone(),
                }),
                Write::Delete { .. } => None,
            };
            staged.insert(at, after);
            versions.push(version);
        }
        for ((kind, key), after) in staged {
            let records = inner.records.entry(kind).or_default();
            match after {
                Some(stored) => {
                    records.insert(key.to_string(), stored);
                }
                None => {
                    records.remove(key);
                }
            }
        }
        inner.commits += 1;
        if let Some(allowed) = inner.allowed.as_mut() {
            *allowed -= 1;
        }
        Ok(versions)
    }
}

fn record(kind: Kind, key: &str, s: &Stored) -> Record {
    Record {
        kind,
        key: key.to_string(),
        version: s.version,
        value: s.value.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::{StoreExt, conformance};

    #[tokio::test]
    async fn conformance() {
        conformance::run(&MemoryStore::new()).await;
    }

    #[tokio::test]
    async fn clones_share_the_data() {
        let a = MemoryStore::new();
        let b = a.clone();
        a.create(Kind::Cluster, "default", b"{}".to_vec())
            .await
            .unwrap();
        assert_eq!(b.load(Kind::Cluster).await.unwrap().len(), 1);
        assert_eq!(b.commits(), 1);
    }

    #[tokio::test]
    async fn fail_after_applies_nothing_until_healed() {
        let store = MemoryStore::new();
        store.fail_after(2);
        for key in ["a", "b"] {
            store.create(Kind::Task, key, b"x".to_vec()).await.unwrap();
        }
        for key in ["c", "d"] {
            let err = store
                .commit(vec![
                    Write::create(Kind::Task, key, "x"),
                    Write::create(Kind::Service, key, "x"),
                ])
                .await
                .unwrap_err();
            assert!(matches!(err, Error::Store { path: None, .. }), "{err}");
        }
        assert_eq!(store.commits(), 2);
        assert_eq!(store.load(Kind::Task).await.unwrap().len(), 2);
        assert!(store.load(Kind::Service).await.unwrap().is_empty());
        store.heal();
        store.create(Kind::Task, "c", b"x".to_vec()).await.unwrap();
        assert_eq!(store.commits(), 3);

        store.fail_after(0);
        assert!(store.delete(Kind::Task, "c", 1).await.is_err());
        assert!(store.get(Kind::Task, "c").await.unwrap().is_some());
    }
}
