//! [`EtcdStore`]: the [`Store`] trait on etcd.

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use ecs_core::store::{Kind, Record, Store, Write};
use etcd_client::{Client, Compare, CompareOp, GetOptions, KvClient, Txn, TxnOp, TxnOpResponse};
use tokio::sync::RwLock;

use crate::batch;
use crate::election::Fence;
use crate::keys::Keys;

/// etcd's default `--max-txn-ops`: at most this many compares, and as many operations
/// in each branch, in one transaction.
pub const DEFAULT_MAX_TXN_OPS: usize = 128;

/// The bytes a transaction carries at most (keys and values), under etcd's default
/// `--max-request-bytes` of 1.5 MiB with room for the request's framing.
pub const DEFAULT_MAX_TXN_BYTES: usize = 1 << 20;

/// Records read per request by [`Store::load`].
const PAGE: i64 = 500;

/// The longest wait for one request's answer (the client sets none: a member that
/// stopped answering, without closing its connection, would hold a call forever).
pub(crate) const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);

/// Loads begun again when etcd compacted their revision away under them.
const SNAPSHOT_ATTEMPTS: u32 = 5;

/// The largest answer read: a page of [`PAGE`] records of 64 KiB, and room.
const MAX_MESSAGE: usize = 64 << 20;

/// Attempts of a read (idempotent) before its error is returned, over about 6 s: a
/// member that died fails the requests it held, and etcd may take a second or two to
/// elect a new raft leader.
const READ_ATTEMPTS: u32 = 8;

/// A [`Store`] on etcd, for control planes of which one leads (see the crate's docs).
///
/// A record is the key `<root>/records/<kind>/<key>`, its version etcd's own per-key
/// `version` (1 on creation, +1 on each put, reset by a delete: exactly
/// [`Record::version`]). A commit is one etcd transaction whose compares are the
/// writes' expected versions (and, [fenced](Self::open_fenced), the leader's key); one
/// too large for a transaction (more writes than `--max-txn-ops`, more bytes than a
/// request carries) or writing a key twice is staged, then applied chunk by chunk
/// behind a commit record that makes it whole: a reader never sees half of it, and a
/// writer that dies halfway has it finished by the next one to open the store.
///
/// One writer at a time: the leader of an election (fenced), or a lone process.
pub struct EtcdStore {
    kv: KvClient,
    keys: Keys,
    fence: Option<Fence>,
    max_ops: usize,
    max_bytes: usize,
    /// Taken shared by reads and small commits, exclusively by a large commit, so that
    /// this store's own readers never see one half applied.
    gate: RwLock<()>,
    /// A large commit of this store failed halfway: finished before anything else.
    unfinished: AtomicBool,
}

impl std::fmt::Debug for EtcdStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EtcdStore")
            .field("root", &self.keys.root())
            .field("fence", &self.fence)
            .field("max_ops", &self.max_ops)
            .field("max_bytes", &self.max_bytes)
            .finish_non_exhaustive()
    }
}

impl EtcdStore {
    /// Opens the store under `root` (a key prefix, such as `"ecs/prod"`) for a lone
    /// writer, finishing (or undoing) a large commit a previous writer left halfway.
    pub async fn open(client: &Client, root: &str) -> Result<Self, ecs_core::Error> {
        Self::build(client, root, None).await
    }

    /// Opens the store under `root` for the leader holding `fence` (from
    /// [`Leadership::fence`](crate::Leadership::fence)): every commit also checks that
    /// the leadership is still this one's, so a leader succeeded by another is refused
    /// with [`Error::StoreFenced`](ecs_core::Error::StoreFenced).
    pub async fn open_fenced(
        client: &Client,
        root: &str,
        fence: Fence,
    ) -> Result<Self, ecs_core::Error> {
        Self::build(client, root, Some(fence)).await
    }

    async fn build(
        client: &Client,
        root: &str,
        fence: Option<Fence>,
    ) -> Result<Self, ecs_core::Error> {
        let store = Self {
            // Pages of large records (task definitions reach 64 KiB) exceed tonic's
            // default 4 MiB per message.
            kv: client.kv_client().max_decoding_message_size(MAX_MESSAGE),
            keys: Keys::new(root),
            fence,
            max_ops: DEFAULT_MAX_TXN_OPS,
            max_bytes: DEFAULT_MAX_TXN_BYTES,
            gate: RwLock::new(()),
            unfinished: AtomicBool::new(true),
        };
        store.settle().await?;
        Ok(store)
    }

    /// Sets the operations a transaction may hold: the etcd cluster's `--max-txn-ops`
    /// (128 unless it was changed). At least 8.
    pub fn with_max_txn_ops(mut self, ops: usize) -> Self {
        self.max_ops = ops.max(8);
        self
    }

    /// Sets the bytes a transaction may carry, under the cluster's
    /// `--max-request-bytes`. At least 1 KiB.
    pub fn with_max_txn_bytes(mut self, bytes: usize) -> Self {
        self.max_bytes = bytes.max(1024);
        self
    }

    /// The key prefix under which it keeps its records.
    pub fn root(&self) -> &str {
        self.keys.root()
    }

    pub(crate) fn kv(&self) -> KvClient {
        self.kv.clone()
    }

    pub(crate) fn keys(&self) -> &Keys {
        &self.keys
    }

    pub(crate) fn fence(&self) -> Option<&Fence> {
        self.fence.as_ref()
    }

    pub(crate) fn max_ops(&self) -> usize {
        self.max_ops
    }

    pub(crate) fn max_bytes(&self) -> usize {
        self.max_bytes
    }

    /// Finishes a large commit left halfway, if this store may have one: alone (under
    /// the gate taken exclusively), so that no reader of this store pages through it
    /// meanwhile. Called before taking the gate.
    async fn settle(&self) -> Result<(), ecs_core::Error> {
        if self.unfinished.load(Ordering::SeqCst) {
            let _alone = self.gate.write().await;
            if self.unfinished.load(Ordering::SeqCst) {
                batch::finish_any(self).await?;
                self.unfinished.store(false, Ordering::SeqCst);
            }
        }
        Ok(())
    }

    /// The gate, shared, once no large commit is left halfway (one that failed between
    /// `settle` and the guard is finished first).
    async fn settled(&self) -> Result<tokio::sync::RwLockReadGuard<'_, ()>, ecs_core::Error> {
        loop {
            self.settle().await?;
            let guard = self.gate.read().await;
            if !self.unfinished.load(Ordering::SeqCst) {
                return Ok(guard);
            }
        }
    }

    /// A read, tried again while etcd answers with errors (a member down, a leader
    /// election of etcd's own) for a few seconds.
    async fn read<T, F, Fut>(&self, what: &str, mut attempt: F) -> Result<T, ecs_core::Error>
    where
        F: FnMut(KvClient) -> Fut,
        Fut: Future<Output = Result<T, etcd_client::Error>>,
    {
        let mut delay = Duration::from_millis(50);
        for n in 1.. {
            let answer = match tokio::time::timeout(REQUEST_TIMEOUT, attempt(self.kv())).await {
                Ok(answer) => answer,
                Err(_) if n < READ_ATTEMPTS => {
                    tracing::debug!("etcd: {what}: no answer in {REQUEST_TIMEOUT:?}; retrying");
                    continue;
                }
                Err(_) => return Err(no_answer(what)),
            };
            match answer {
                Ok(v) => return Ok(v),
                // Answered for good: a revision compacted away is not coming back.
                Err(e) if e.to_string().contains("compacted") => {
                    return Err(etcd_error(what, e));
                }
                Err(e) if n < READ_ATTEMPTS => {
                    tracing::debug!(error = %e, "etcd: {what} failed; retrying in {delay:?}");
                    tokio::time::sleep(delay).await;
                    delay *= 2;
                }
                Err(e) => return Err(etcd_error(what, e)),
            }
        }
        unreachable!("the loop returns")
    }

    async fn commit_small(&self, writes: Vec<Write>) -> Result<Vec<u64>, ecs_core::Error> {
        let mut compares = Vec::with_capacity(writes.len() + 2);
        let mut reads = Vec::with_capacity(writes.len() + 2);
        let mut ops = Vec::with_capacity(writes.len());
        // What the diagnosis of a refusal needs (kind, key, expectation), without the
        // values, which go into the transaction.
        let plan: Vec<Write> = writes.iter().map(batch::without_value).collect();
        for w in writes {
            let key = self.keys.record(w.kind(), w.key());
            compares.push(match w.expected() {
                None => Compare::version(key.clone(), CompareOp::Equal, 0),
                Some(v) if v > 0 => Compare::version(key.clone(), CompareOp::Equal, to_i64(v)),
                // No record is ever at version 0 (etcd's 0 means none): a compare that
                // never holds, so that the refusal is diagnosed as a conflict.
                Some(_) => Compare::create_revision(key.clone(), CompareOp::Less, 0),
            });
            reads.push(TxnOp::get(key.clone(), None));
            ops.push(match w {
                Write::Put { value, .. } => TxnOp::put(key, value, None),
                Write::Delete { .. } => TxnOp::delete(key, None),
            });
        }
        // No large commit may be under way (one a previous writer left is finished
        // before anything else: `settle`).
        compares.push(batch::no_commit_record(self));
        reads.push(TxnOp::get(self.keys.commit(), None));
        if let Some(fence) = &self.fence {
            compares.push(fence.compare());
            reads.push(TxnOp::get(fence.key().to_vec(), None));
        }
        let txn = Txn::new().when(compares).and_then(ops).or_else(reads);
        let response = timed("a commit", self.kv().txn(txn)).await?;
        if response.succeeded() {
            return Ok(plan
                .iter()
                .map(|w| w.check(w.expected()).unwrap_or_default())
                .collect());
        }
        let responses = response.op_responses();
        let found = |i: usize| -> Option<&etcd_client::KeyValue> {
            match responses.get(i) {
                Some(TxnOpResponse::Get(r)) => r.kvs().first(),
                _ => None,
            }
        };
        if let Some(fence) = &self.fence {
            fence.refused(found(plan.len() + 1))?;
        }
        if found(plan.len()).is_some() {
            self.unfinished.store(true, Ordering::SeqCst);
            return Err(ecs_core::Error::Store {
                path: None,
                reason: "a large commit was under way in etcd; it is finished first, then \
                         this one can be tried again"
                    .into(),
            });
        }
        for (i, w) in plan.iter().enumerate() {
            let version = found(i).map(|kv| kv.version() as u64);
            w.check(version)?;
        }
        Err(ecs_core::Error::Store {
            path: None,
            reason: "etcd refused a commit whose expectations all hold".into(),
        })
    }
}

#[async_trait::async_trait]
impl Store for EtcdStore {
    async fn load(&self, kind: Kind) -> Result<Vec<Record>, ecs_core::Error> {
        let _gate = self.settled().await?;
        let prefix = self.keys.kind(kind);
        let end = crate::keys::prefix_end(&prefix);
        // Every page at the revision of the first, so that the whole is one instant; if
        // etcd compacted that revision away meanwhile, again from the start.
        for _ in 0..SNAPSHOT_ATTEMPTS {
            let mut records = Vec::new();
            let mut from = prefix.clone();
            let mut revision = 0;
            loop {
                let page = self
                    .read("a load", |mut kv| {
                        let mut options = GetOptions::new()
                            .with_range(end.clone())
                            .with_limit(PAGE)
                            .with_revision(revision);
                        if revision != 0 {
                            // At a revision the first page saw committed: any member
                            // that has applied it answers the same, without a round of
                            // consensus (one that has not yet says so, and is retried).
                            options = options.with_serializable();
                        }
                        let from = from.clone();
                        async move { kv.get(from, Some(options)).await }
                    })
                    .await;
                let response = match page {
                    Ok(r) => r,
                    Err(e) if revision != 0 && e.to_string().contains("compacted") => {
                        break;
                    }
                    Err(e) => return Err(e),
                };
                if revision == 0 {
                    revision = response.header().map_or(0, |h| h.revision());
                }
                for kv in response.kvs() {
                    records.push(self.record(kind, kv)?);
                }
                match response.kvs().last() {
                    Some(last) if response.more() => {
                        from = last.key().to_vec();
                        from.push(0);
                    }
                    _ => return Ok(records),
                }
            }
        }
        Err(ecs_core::Error::Store {
            path: None,
            reason: format!(
                "etcd: loading {kind}: its revision was compacted away {SNAPSHOT_ATTEMPTS} times \
                 running (--auto-compaction-retention too short for the keyspace?)"
            ),
        })
    }

    async fn get(&self, kind: Kind, key: &str) -> Result<Option<Record>, ecs_core::Error> {
        let _gate = self.settled().await?;
        let full = self.keys.record(kind, key);
        let response = self
            .read("a read", |mut kv| {
                let full = full.clone();
                async move { kv.get(full, None).await }
            })
            .await?;
        response
            .kvs()
            .first()
            .map(|kv| self.record(kind, kv))
            .transpose()
    }

    async fn commit(&self, writes: Vec<Write>) -> Result<Vec<u64>, ecs_core::Error> {
        if writes.is_empty() {
            return Ok(Vec::new());
        }
        if batch::fits_one_txn(self, &writes) {
            let _gate = self.settled().await?;
            return self.commit_small(writes).await;
        }
        self.settle().await?;
        let _gate = self.gate.write().await;
        // Until it returns: a commit dropped halfway (its caller gave up, the control
        // plane halted) is finished before anything else, as one that failed is.
        self.unfinished.store(true, Ordering::SeqCst);
        let outcome = batch::commit(self, writes).await;
        if matches!(outcome, Ok(_) | Err(ecs_core::Error::StoreConflict { .. })) {
            self.unfinished.store(false, Ordering::SeqCst);
        }
        outcome
    }

    fn check_fence(&self) -> Result<(), ecs_core::Error> {
        match &self.fence {
            Some(fence) => fence.check(),
            None => Ok(()),
        }
    }
}

impl EtcdStore {
    fn record(&self, kind: Kind, kv: &etcd_client::KeyValue) -> Result<Record, ecs_core::Error> {
        let key = self.keys.record_name(kind, kv.key())?;
        Ok(Record {
            kind,
            key,
            version: kv.version() as u64,
            value: kv.value().to_vec(),
        })
    }
}

/// A request's answer, or the store's error if it failed or took longer than
/// [`REQUEST_TIMEOUT`] (a member that hangs rather than fails: its outcome is unknown,
/// as after any failed commit).
pub(crate) async fn timed<T>(
    what: &str,
    request: impl Future<Output = Result<T, etcd_client::Error>>,
) -> Result<T, ecs_core::Error> {
    match tokio::time::timeout(REQUEST_TIMEOUT, request).await {
        Ok(answer) => answer.map_err(|e| etcd_error(what, e)),
        Err(_) => Err(no_answer(what)),
    }
}

fn no_answer(what: &str) -> ecs_core::Error {
    ecs_core::Error::Store {
        path: None,
        reason: format!("etcd: {what}: no answer in {REQUEST_TIMEOUT:?}"),
    }
}

/// An etcd client error as the store's.
pub(crate) fn etcd_error(what: &str, e: etcd_client::Error) -> ecs_core::Error {
    ecs_core::Error::Store {
        path: None,
        reason: format!("etcd: {what} failed: {e}"),
    }
}

pub(crate) fn to_i64(v: u64) -> i64 {
    i64::try_from(v).unwrap_or(i64::MAX)
}
