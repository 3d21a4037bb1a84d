//! The [`Store`] trait every store implements, and [`StoreExt`], single-write sugar
//! over it for every store.

use std::sync::Arc;

use super::{Kind, Record, Write};
use crate::Error;

/// A transactional, versioned key-value store for the control plane's state.
///
/// Implementations: [`MemoryStore`](super::MemoryStore) for tests,
/// [`FileStore`](super::FileStore) on disk, `EtcdStore` (crate `ecs-store-etcd`) on
/// etcd. Every one passes the same
/// conformance checks (`ecs_core::store::conformance`, feature `conformance`).
#[async_trait::async_trait]
pub trait Store: Send + Sync + std::fmt::Debug + 'static {
    /// Every record of a kind, in key order.
    async fn load(&self, kind: Kind) -> Result<Vec<Record>, Error>;

    /// One record.
    async fn get(&self, kind: Kind, key: &str) -> Result<Option<Record>, Error>;

    /// Applies all writes in one transaction if every expectation holds, returning each
    /// write's new version (0 for deletes); otherwise applies none and returns
    /// [`Error::StoreConflict`] for the first that failed.
    ///
    /// Writes apply in order, and each sees the ones before it: a create then a replace
    /// of the same key expecting version 1 is valid. An empty list commits nothing and
    /// succeeds. When `commit` returns `Ok`, the writes are durable as far as the store
    /// promises (synced to disk for [`FileStore`](super::FileStore)). A conflict
    /// applied nothing. After another error the outcome may be unknown (a failed sync to
    /// disk; for a store over the network, a lost connection): read the records again
    /// before acting on them.
    async fn commit(&self, writes: Vec<Write>) -> Result<Vec<u64>, Error>;

    /// Whether this writer still holds the store, as far as it knows without asking
    /// it: [`Error::StoreFenced`] once it knows it lost it (a leader whose lease ran
    /// out while, say, its process was frozen). The control plane asks before every
    /// action on an engine, after the barrier that made the action's intent durable,
    /// so that a writer fenced off acts on nothing more even before its next commit
    /// is refused. A store with one writer by construction holds it always (the
    /// default).
    fn check_fence(&self) -> Result<(), Error> {
        Ok(())
    }
}

#[async_trait::async_trait]
impl<S: Store + ?Sized> Store for Arc<S> {
    async fn load(&self, kind: Kind) -> Result<Vec<Record>, Error> {
        (**self).load(kind).await
    }

    async fn get(&self, kind: Kind, key: &str) -> Result<Option<Record>, Error> {
        (**self).get(kind, key).await
    }

    async fn commit(&self, writes: Vec<Write>) -> Result<Vec<u64>, Error> {
        (**self).commit(writes).await
    }

    fn check_fence(&self) -> Result<(), Error> {
        (**self).check_fence()
    }
}

/// Single-write transactions, for every [`Store`] (implemented for all of them; not to
/// be implemented).
#[async_trait::async_trait]
pub trait StoreExt: Store {
    /// Creates a record, which must not exist, and returns its version (1).
    async fn create(&self, kind: Kind, key: &str, value: Vec<u8>) -> Result<u64, Error> {
        one(self.commit(vec![Write::create(kind, key, value)]).await?)
    }

    /// Replaces a record at version `expected`, and returns its new version.
    async fn replace(
        &self,
        kind: Kind,
        key: &str,
        expected: u64,
        value: Vec<u8>,
    ) -> Result<u64, Error> {
        one(self
            .commit(vec![Write::replace(kind, key, expected, value)])
            .await?)
    }

    /// Deletes a record at version `expected`.
    async fn delete(&self, kind: Kind, key: &str, expected: u64) -> Result<(), Error> {
        self.commit(vec![Write::delete(kind, key, expected)])
            .await
            .map(drop)
    }
}

impl<S: Store + ?Sized> StoreExt for S {}

fn one(versions: Vec<u64>) -> Result<u64, Error> {
    match versions.as_slice() {
        [v] => Ok(*v),
        _ => Err(Error::Store {
            path: None,
            reason: format!("a commit of one write returned {} versions", versions.len()),
        }),
    }
}
