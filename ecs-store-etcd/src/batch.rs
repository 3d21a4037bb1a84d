//! Commits too large for one etcd transaction: more writes than `--max-txn-ops`, more
//! bytes than a request carries, or a key written twice (etcd refuses a transaction
//! that puts one key twice).
//!
//! Such a commit is made whole by a commit record, `<root>/commit`:
//!
//! 1. **Check.** Every expectation is checked against the versions read (keys only),
//!    the writes in order as [`Write::check`] does: a conflict is reported, and
//!    nothing written. (One writer at a time, fenced: nobody else writes between
//!    this read and step 3.)
//! 2. **Stage.** The writes are cut into chunks that each fit a transaction, none
//!    writing a key twice, and staged under `<root>/batch/<n>`, where no reader looks.
//! 3. **Commit point.** One transaction creates the commit record (the chunk count),
//!    if none exists. From here the commit will be applied whole.
//! 4. **Apply.** Chunk `i` is applied in one transaction that compares the commit
//!    record's `mod_revision` with the one its last step left and puts it again: its
//!    etcd `version` is then `i + 2`, so the record says how far the commit went, and
//!    each chunk applies exactly once whoever applies it.
//! 5. **Finish.** One transaction deletes the commit record and the staged chunks.
//!
//! A writer that dies after step 3 leaves the commit to the next store opened on the
//! root, which applies the chunks left ([`finish_any`]); one that dies before leaves
//! only staged chunks, which are deleted. Small commits compare that no commit record
//! exists, so none lands in the middle of a large one.

use std::collections::{HashMap, HashSet};

use ecs_core::store::{Kind, Write};
use etcd_client::{Compare, CompareOp, DeleteOptions, GetOptions, TxnOp, TxnOpResponse};

use crate::store::{EtcdStore, timed};

/// A write's kind, key and expectation, without its value (for checks and diagnoses).
pub(crate) fn without_value(w: &Write) -> Write {
    match w {
        Write::Put {
            kind,
            key,
            expected,
            ..
        } => Write::Put {
            kind: *kind,
            key: key.clone(),
            expected: *expected,
            value: Vec::new(),
        },
        Write::Delete {
            kind,
            key,
            expected,
        } => Write::delete(*kind, key.clone(), *expected),
    }
}

/// Whether `writes` fit one transaction: each a key of its own, room for the compares
/// of the commit record and the fence, and bytes under the limit.
pub(crate) fn fits_one_txn(store: &EtcdStore, writes: &[Write]) -> bool {
    if writes.len() + 2 > store.max_ops() {
        return false;
    }
    let mut bytes = 0;
    let mut seen = HashSet::with_capacity(writes.len());
    for w in writes {
        if !seen.insert((w.kind(), w.key())) {
            return false;
        }
        bytes += size(w);
    }
    bytes <= store.max_bytes()
}

fn size(w: &Write) -> usize {
    let value = match w {
        Write::Put { value, .. } => value.len(),
        Write::Delete { .. } => 0,
    };
    // The key twice (compare and operation) and some framing.
    2 * (w.key().len() + 64) + value
}

/// One staged operation: a put or a delete of an etcd key.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Op {
    Put(Vec<u8>, Vec<u8>),
    Delete(Vec<u8>),
}

impl Op {
    fn key(&self) -> &[u8] {
        match self {
            Op::Put(k, _) | Op::Delete(k) => k,
        }
    }

    fn txn_op(self) -> TxnOp {
        match self {
            Op::Put(k, v) => TxnOp::put(k, v, None),
            Op::Delete(k) => TxnOp::delete(k, None),
        }
    }
}

/// Commits `writes`, too large for one transaction, as the module says.
pub(crate) async fn commit(
    store: &EtcdStore,
    writes: Vec<Write>,
) -> Result<Vec<u64>, ecs_core::Error> {
    let (versions, chunks) = check_and_cut(store, writes).await?;
    let revision = stage(store, &chunks).await?;
    apply(store, chunks, 0, revision).await?;
    Ok(versions)
}

/// Step 1, and the cutting of step 2: the versions the writes leave, and the chunks.
async fn check_and_cut(
    store: &EtcdStore,
    writes: Vec<Write>,
) -> Result<(Vec<u64>, Vec<Vec<Op>>), ecs_core::Error> {
    let mut found = current_versions(store, &writes).await?;
    let mut versions = Vec::with_capacity(writes.len());
    for w in &writes {
        let slot = found.entry((w.kind(), w.key().to_owned())).or_default();
        let after = w.check(*slot)?;
        *slot = (after != 0).then_some(after);
        versions.push(after);
    }
    let ops = writes
        .into_iter()
        .map(|w| {
            let key = store.keys().record(w.kind(), w.key());
            match w {
                Write::Put { value, .. } => Op::Put(key, value),
                Write::Delete { .. } => Op::Delete(key),
            }
        })
        .collect();
    let chunks = chunks(
        ops,
        store.max_ops().saturating_sub(2).max(1),
        store.max_bytes(),
    );
    Ok((versions, chunks))
}

/// Steps 2 and 3: stages the chunks and writes the commit record; the revision it
/// landed at.
async fn stage(store: &EtcdStore, chunks: &[Vec<Op>]) -> Result<i64, ecs_core::Error> {
    // Leftovers of an attempt that never reached its commit point.
    clear_staged(store).await?;
    // Several chunks per transaction, within its limits.
    let mut puts = Vec::new();
    let mut bytes = 0;
    for (n, chunk) in chunks.iter().enumerate() {
        let encoded = encode(chunk);
        if !puts.is_empty()
            && (puts.len() + 1 >= store.max_ops() || bytes + encoded.len() > store.max_bytes())
        {
            write(
                store,
                std::mem::take(&mut puts),
                Vec::new(),
                "staging chunks",
            )
            .await?;
            bytes = 0;
        }
        bytes += encoded.len();
        puts.push(TxnOp::put(store.keys().chunk(n), encoded, None));
    }
    if !puts.is_empty() {
        write(store, puts, Vec::new(), "staging chunks").await?;
    }
    write(
        store,
        vec![TxnOp::put(
            store.keys().commit(),
            chunks.len().to_string(),
            None,
        )],
        vec![no_commit_record(store)],
        "the commit point",
    )
    .await
}

/// Steps 4 and 5: applies `chunks` from `next` on, the commit record at `revision`,
/// then finishes.
async fn apply(
    store: &EtcdStore,
    chunks: Vec<Vec<Op>>,
    next: usize,
    mut revision: i64,
) -> Result<(), ecs_core::Error> {
    let count = chunks.len();
    for chunk in chunks.into_iter().skip(next) {
        revision = apply_chunk(store, chunk, count, revision).await?;
    }
    write(
        store,
        vec![
            TxnOp::delete(store.keys().commit(), None),
            TxnOp::delete(
                store.keys().batch(),
                Some(DeleteOptions::new().with_prefix()),
            ),
        ],
        vec![Compare::mod_revision(
            store.keys().commit(),
            CompareOp::Equal,
            revision,
        )],
        "finishing",
    )
    .await?;
    Ok(())
}

/// Applies one chunk if the commit record is still at `revision`, counting it there;
/// the record's new revision.
async fn apply_chunk(
    store: &EtcdStore,
    chunk: Vec<Op>,
    count: usize,
    revision: i64,
) -> Result<i64, ecs_core::Error> {
    let mut ops: Vec<TxnOp> = chunk.into_iter().map(Op::txn_op).collect();
    ops.push(TxnOp::put(store.keys().commit(), count.to_string(), None));
    write(
        store,
        ops,
        vec![Compare::mod_revision(
            store.keys().commit(),
            CompareOp::Equal,
            revision,
        )],
        "applying a chunk",
    )
    .await
}

/// Finishes a large commit a writer left halfway, if any; deletes chunks staged for one
/// that never reached its commit point.
pub(crate) async fn finish_any(store: &EtcdStore) -> Result<(), ecs_core::Error> {
    let mut kv = store.kv();
    let head = timed(
        "reading the commit record",
        kv.get(store.keys().commit(), None),
    )
    .await?;
    let Some(head) = head.kvs().first() else {
        let staged = timed(
            "looking for staged chunks",
            kv.get(
                store.keys().batch(),
                Some(GetOptions::new().with_prefix().with_count_only()),
            ),
        )
        .await?;
        if staged.count() > 0 {
            clear_staged(store).await?;
        }
        return Ok(());
    };
    let count: usize = std::str::from_utf8(head.value())
        .ok()
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| ecs_core::Error::Store {
            path: None,
            reason: format!(
                "etcd: the commit record {} holds {:?}, not a chunk count",
                String::from_utf8_lossy(&store.keys().commit()),
                String::from_utf8_lossy(head.value())
            ),
        })?;
    let next = usize::try_from(head.version() - 1).unwrap_or(0);
    tracing::warn!(
        "etcd: finishing a large commit a previous writer left halfway ({next} of {count} chunks applied)"
    );
    // Those applied already are not read again (`apply` skips them).
    let mut chunks = vec![Vec::new(); next.min(count)];
    for n in next..count {
        let r = timed(
            "reading a staged chunk",
            kv.get(store.keys().chunk(n), None),
        )
        .await?;
        let Some(staged) = r.kvs().first() else {
            return Err(ecs_core::Error::Store {
                path: None,
                reason: format!("etcd: staged chunk {n} of {count} is missing"),
            });
        };
        chunks.push(decode(staged.value())?);
    }
    apply(store, chunks, next, head.mod_revision()).await
}

/// The compare that no large commit is under way (its record absent): the condition of
/// every small commit, of a commit point, and of clearing staged chunks.
pub(crate) fn no_commit_record(store: &EtcdStore) -> Compare {
    Compare::create_revision(store.keys().commit(), CompareOp::Equal, 0)
}

/// Deletes chunks staged for a commit that never reached its commit point (never those
/// of a commit under way).
async fn clear_staged(store: &EtcdStore) -> Result<i64, ecs_core::Error> {
    let everything = TxnOp::delete(
        store.keys().batch(),
        Some(DeleteOptions::new().with_prefix()),
    );
    write(
        store,
        vec![everything],
        vec![no_commit_record(store)],
        "clearing staged chunks",
    )
    .await
}

/// The versions of every key `writes` touch, as they are now (keys only).
async fn current_versions(
    store: &EtcdStore,
    writes: &[Write],
) -> Result<HashMap<(Kind, String), Option<u64>>, ecs_core::Error> {
    let mut keys: Vec<(Kind, String)> = Vec::new();
    let mut seen = HashSet::new();
    for w in writes {
        if seen.insert((w.kind(), w.key())) {
            keys.push((w.kind(), w.key().to_owned()));
        }
    }
    let mut found = HashMap::with_capacity(keys.len());
    for part in keys.chunks(store.max_ops().max(1)) {
        let reads: Vec<TxnOp> = part
            .iter()
            .map(|(k, key)| {
                TxnOp::get(
                    store.keys().record(*k, key),
                    Some(GetOptions::new().with_keys_only()),
                )
            })
            .collect();
        let mut kv = store.kv();
        let response = timed(
            "reading versions",
            kv.txn(etcd_client::Txn::new().and_then(reads)),
        )
        .await?;
        for (slot, r) in part.iter().zip(response.op_responses()) {
            let version = match r {
                TxnOpResponse::Get(g) => g.kvs().first().map(|kv| kv.version() as u64),
                _ => None,
            };
            found.insert(slot.clone(), version);
        }
    }
    Ok(found)
}

/// One transaction of `ops` if `compares` (and the fence) hold; the revision it made.
/// Refused: [`Error::StoreFenced`](ecs_core::Error::StoreFenced) if the fence failed,
/// else an error saying that the commit record moved (another writer finished it).
async fn write(
    store: &EtcdStore,
    ops: Vec<TxnOp>,
    mut compares: Vec<Compare>,
    what: &str,
) -> Result<i64, ecs_core::Error> {
    let mut reads = Vec::new();
    if let Some(fence) = store.fence() {
        compares.push(fence.compare());
        reads.push(TxnOp::get(fence.key().to_vec(), None));
    }
    let what = format!("a large commit, {what}");
    let mut kv = store.kv();
    let response = timed(
        &what,
        kv.txn(
            etcd_client::Txn::new()
                .when(compares)
                .and_then(ops)
                .or_else(reads),
        ),
    )
    .await?;
    if response.succeeded() {
        return Ok(response.header().map_or(0, |h| h.revision()));
    }
    if let Some(fence) = store.fence() {
        let kv = match response.op_responses().first() {
            Some(TxnOpResponse::Get(r)) => r.kvs().first().cloned(),
            _ => None,
        };
        fence.refused(kv.as_ref())?;
    }
    Err(ecs_core::Error::Store {
        path: None,
        reason: format!("etcd: {what}: the commit record moved under it"),
    })
}

/// Cuts `ops` into chunks of at most `max_ops` operations and about `max_bytes` bytes
/// (one larger operation alone), none touching a key twice, in order.
fn chunks(ops: Vec<Op>, max_ops: usize, max_bytes: usize) -> Vec<Vec<Op>> {
    let mut out: Vec<Vec<Op>> = Vec::new();
    let mut current: Vec<Op> = Vec::new();
    let mut keys: HashSet<Vec<u8>> = HashSet::new();
    let mut bytes = 0;
    for op in ops {
        let n = op_size(&op);
        let full = current.len() >= max_ops
            || (!current.is_empty() && bytes + n > max_bytes)
            || keys.contains(op.key());
        if full {
            out.push(std::mem::take(&mut current));
            keys.clear();
            bytes = 0;
        }
        keys.insert(op.key().to_vec());
        bytes += n;
        current.push(op);
    }
    if !current.is_empty() {
        out.push(current);
    }
    out
}

fn op_size(op: &Op) -> usize {
    match op {
        Op::Put(k, v) => k.len() + v.len() + 16,
        Op::Delete(k) => k.len() + 16,
    }
}

/// A chunk as bytes: per operation a tag (0 put, 1 delete), the key's length (u32 LE)
/// and the key, and for a put the value's length and the value.
fn encode(chunk: &[Op]) -> Vec<u8> {
    let mut out = Vec::with_capacity(chunk.iter().map(op_size).sum());
    for op in chunk {
        let (tag, key, value) = match op {
            Op::Put(k, v) => (0u8, k, Some(v)),
            Op::Delete(k) => (1u8, k, None),
        };
        out.push(tag);
        out.extend_from_slice(&(key.len() as u32).to_le_bytes());
        out.extend_from_slice(key);
        if let Some(v) = value {
            out.extend_from_slice(&(v.len() as u32).to_le_bytes());
            out.extend_from_slice(v);
        }
    }
    out
}

fn decode(mut bytes: &[u8]) -> Result<Vec<Op>, ecs_core::Error> {
    let damaged = || ecs_core::Error::Store {
        path: None,
        reason: "etcd: a staged chunk is damaged".into(),
    };
    fn take<'a>(bytes: &mut &'a [u8], n: usize) -> Option<&'a [u8]> {
        let (head, rest) = bytes.split_at_checked(n)?;
        *bytes = rest;
        Some(head)
    }
    fn sized<'a>(bytes: &mut &'a [u8]) -> Option<&'a [u8]> {
        let len = u32::from_le_bytes(take(bytes, 4)?.try_into().ok()?) as usize;
        take(bytes, len)
    }
    let mut ops = Vec::new();
    while !bytes.is_empty() {
        let tag = take(&mut bytes, 1).ok_or_else(damaged)?[0];
        let key = sized(&mut bytes).ok_or_else(damaged)?.to_vec();
        ops.push(match tag {
            0 => Op::Put(key, sized(&mut bytes).ok_or_else(damaged)?.to_vec()),
            1 => Op::Delete(key),
            _ => return Err(damaged()),
        });
    }
    Ok(ops)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn put(k: &str) -> Op {
        Op::Put(k.as_bytes().to_vec(), vec![7; 10])
    }

    #[test]
    fn chunks_hold_each_key_once_and_keep_the_order() {
        let ops = vec![
            put("a"),
            put("b"),
            put("a"),
            Op::Delete(b"c".to_vec()),
            put("d"),
        ];
        let cut = chunks(ops.clone(), 10, 1 << 20);
        assert_eq!(cut.len(), 2);
        assert_eq!(cut.concat(), ops);
        let cut = chunks(ops.clone(), 2, 1 << 20);
        assert_eq!(cut.iter().map(Vec::len).collect::<Vec<_>>(), [2, 2, 1]);
        // By bytes: each op is 27 bytes; 60 holds two.
        let cut = chunks(ops.clone(), 10, 60);
        assert!(cut.iter().all(|c| c.len() <= 2));
        assert_eq!(cut.concat(), ops);
        // One op larger than the budget still goes, alone.
        let big = vec![Op::Put(b"big".to_vec(), vec![0; 100]), put("x")];
        assert_eq!(chunks(big, 10, 50).len(), 2);
    }

    /// A writer that died after its commit point, one chunk applied: the next store
    /// opened on the root applies the rest, exactly once, and readers see it whole.
    #[tokio::test]
    async fn a_commit_left_halfway_is_finished_by_the_next_store() {
        use ecs_core::store::Store;
        let endpoints = std::env::var("ECS_ETCD_ENDPOINTS")
            .expect("ECS_ETCD_ENDPOINTS is not set: run `eval \"$(scripts/etcd)\"` first");
        let endpoints: Vec<&str> = endpoints.split(',').collect();
        let client = etcd_client::Client::connect(endpoints, None).await.unwrap();
        let root = format!("ecs-test/halfway-{}", std::process::id());
        let store = EtcdStore::open(&client, &root)
            .await
            .unwrap()
            .with_max_txn_ops(8);
        let mut writes: Vec<Write> = (0..20)
            .map(|i| Write::create(Kind::Task, format!("t-{i:02}"), "1"))
            .collect();
        writes.push(Write::replace(Kind::Task, "t-00", 1, "2"));
        let (versions, chunks) = check_and_cut(&store, writes).await.unwrap();
        assert!(chunks.len() >= 3, "{} chunks", chunks.len());
        let revision = stage(&store, &chunks).await.unwrap();
        let count = chunks.len();
        let first = chunks.into_iter().next().unwrap();
        apply_chunk(&store, first, count, revision).await.unwrap();
        drop(store);

        let next = EtcdStore::open(&client, &root).await.unwrap();
        let tasks = next.load(Kind::Task).await.unwrap();
        assert_eq!(tasks.len(), 20);
        assert_eq!(
            (tasks[0].version, tasks[0].value.as_slice()),
            (2, &b"2"[..])
        );
        assert!(tasks[1..].iter().all(|t| t.version == 1));
        assert_eq!(versions[20], 2);
        let mut kv = client.kv_client();
        let left = kv
            .get(
                format!("{root}/"),
                Some(GetOptions::new().with_prefix().with_keys_only()),
            )
            .await
            .unwrap();
        assert!(
            left.kvs()
                .iter()
                .all(|kv| kv.key().starts_with(format!("{root}/records/").as_bytes())),
            "the commit record and its chunks are gone"
        );
        kv.delete(format!("{root}/"), Some(DeleteOptions::new().with_prefix()))
            .await
            .unwrap();
    }

    #[test]
    fn encoding_round_trips_and_refuses_damage() {
        let ops = vec![
            put("a"),
            Op::Delete(b"b".to_vec()),
            Op::Put(b"e".to_vec(), vec![]),
        ];
        let bytes = encode(&ops);
        assert_eq!(decode(&bytes).unwrap(), ops);
        assert!(decode(&bytes[..bytes.len() - 3]).is_err());
        assert!(decode(&[9, 0, 0, 0, 0]).is_err());
        assert_eq!(decode(&[]).unwrap(), []);
    }
}
