//! The checks every [`Store`] must pass: plain async functions that panic with a message
//! on the first broken promise, as the runtime conformance suite does. `ecs-core`'s tests
//! run them on [`MemoryStore`](super::MemoryStore) and [`FileStore`](super::FileStore);
//! a new store (etcd ...) runs [`run`] on a fresh, empty store of its own.
//!
//! Each check writes under keys of its own, so they can share one store.

use futures::future::join_all;

use super::{Kind, Record, Store, Write};
use crate::Error;

/// Every check, in turn, on one empty store.
pub async fn run(store: &dyn Store) {
    empty_commit(store).await;
    create_get_load(store).await;
    replace_bumps_the_version(store).await;
    delete_then_create_starts_again(store).await;
    conflicts_are_reported_and_change_nothing(store).await;
    a_failed_commit_applies_nothing(store).await;
    writes_see_earlier_writes_of_their_commit(store).await;
    load_is_in_key_order_and_kinds_are_apart(store).await;
    values_are_kept_byte_for_byte(store).await;
    concurrent_writers_lose_no_update(store).await;
    large_commits_are_whole(store).await;
    no_record_is_at_version_zero(store).await;
}

async fn commit(store: &dyn Store, writes: Vec<Write>) -> Vec<u64> {
    let what = format!("{writes:?}");
    store
        .commit(writes)
        .await
        .unwrap_or_else(|e| panic!("commit of {what} failed: {e}"))
}

async fn get(store: &dyn Store, kind: Kind, key: &str) -> Option<Record> {
    store
        .get(kind, key)
        .await
        .unwrap_or_else(|e| panic!("get {kind} {key:?} failed: {e}"))
}

async fn load(store: &dyn Store, kind: Kind, prefix: &str) -> Vec<Record> {
    let mut records = store
        .load(kind)
        .await
        .unwrap_or_else(|e| panic!("load {kind} failed: {e}"));
    records.retain(|r| r.key.starts_with(prefix));
    records
}

fn conflict(result: Result<Vec<u64>, Error>) -> (Kind, String, Option<u64>, Option<u64>) {
    match result {
        Err(Error::StoreConflict {
            kind,
            key,
            expected,
            found,
        }) => (kind, key, expected, found),
        other => panic!("expected a StoreConflict, got {other:?}"),
    }
}

/// A commit of no writes succeeds and returns no versions.
pub async fn empty_commit(store: &dyn Store) {
    assert_eq!(commit(store, vec![]).await, Vec::<u64>::new());
}

/// A created record is at version 1, and `get` and `load` return it; a missing one is
/// `None`.
pub async fn create_get_load(store: &dyn Store) {
    let versions = commit(store, vec![Write::create(Kind::Task, "cgl-1", "one")]).await;
    assert_eq!(versions, [1]);
    let want = Record {
        kind: Kind::Task,
        key: "cgl-1".into(),
        version: 1,
        value: b"one".to_vec(),
    };
    assert_eq!(get(store, Kind::Task, "cgl-1").await, Some(want.clone()));
    assert_eq!(get(store, Kind::Task, "cgl-2").await, None);
    assert_eq!(get(store, Kind::Service, "cgl-1").await, None);
    assert_eq!(load(store, Kind::Task, "cgl-").await, [want]);
}

/// Each replacement adds one to the version and replaces the value.
pub async fn replace_bumps_the_version(store: &dyn Store) {
    commit(store, vec![Write::create(Kind::Service, "rbv", "v1")]).await;
    for v in 1..=5u64 {
        let value = format!("v{}", v + 1);
        let got = commit(store, vec![Write::replace(Kind::Service, "rbv", v, value)]).await;
        assert_eq!(got, [v + 1]);
    }
    let r = get(store, Kind::Service, "rbv").await.expect("rbv exists");
    assert_eq!((r.version, r.value), (6, b"v6".to_vec()));
}

/// A delete returns 0 and removes the record; creating the key again starts at 1.
pub async fn delete_then_create_starts_again(store: &dyn Store) {
    commit(store, vec![Write::create(Kind::Instance, "dtc", "a")]).await;
    commit(store, vec![Write::replace(Kind::Instance, "dtc", 1, "b")]).await;
    assert_eq!(
        commit(store, vec![Write::delete(Kind::Instance, "dtc", 2)]).await,
        [0]
    );
    assert_eq!(get(store, Kind::Instance, "dtc").await, None);
    assert!(load(store, Kind::Instance, "dtc").await.is_empty());
    assert_eq!(
        commit(store, vec![Write::create(Kind::Instance, "dtc", "c")]).await,
        [1]
    );
}

/// Every kind of broken expectation is a [`Error::StoreConflict`] naming the record, the
/// version expected and the one found, and changes nothing.
pub async fn conflicts_are_reported_and_change_nothing(store: &dyn Store) {
    let k = Kind::Cluster;
    commit(store, vec![Write::create(k, "crc", "a")]).await;
    commit(store, vec![Write::replace(k, "crc", 1, "b")]).await;
    let cases = [
        (Write::create(k, "crc", "x"), None, Some(2)),
        (Write::replace(k, "crc", 1, "x"), Some(1), Some(2)),
        (Write::replace(k, "crc", 3, "x"), Some(3), Some(2)),
        (Write::delete(k, "crc", 1), Some(1), Some(2)),
        (Write::replace(k, "crc-missing", 1, "x"), Some(1), None),
        (Write::delete(k, "crc-missing", 1), Some(1), None),
    ];
    for (write, expected, found) in cases {
        let key = write.key().to_string();
        let got = conflict(store.commit(vec![write]).await);
        assert_eq!(got, (k, key, expected, found));
        let r = get(store, k, "crc").await.expect("crc exists");
        assert_eq!((r.version, r.value), (2, b"b".to_vec()));
        assert_eq!(get(store, k, "crc-missing").await, None);
    }
}

/// A commit with one broken expectation applies none of its writes, before or after it,
/// and reports the first that broke.
pub async fn a_failed_commit_applies_nothing(store: &dyn Store) {
    commit(
        store,
        vec![
            Write::create(Kind::Task, "afc-b", "b1"),
            Write::create(Kind::Task, "afc-d", "d1"),
        ],
    )
    .await;
    let got = conflict(
        store
            .commit(vec![
                Write::create(Kind::Task, "afc-a", "a1"),
                Write::replace(Kind::Task, "afc-b", 1, "b2"),
                Write::delete(Kind::Task, "afc-d", 1),
                Write::create(Kind::Service, "afc-c", "c1"),
                Write::replace(Kind::Task, "afc-b", 1, "b3"),
                Write::create(Kind::Task, "afc-d", "d2"),
            ])
            .await,
    );
    // The second replace of afc-b finds version 2, left by the first.
    assert_eq!(got, (Kind::Task, "afc-b".into(), Some(1), Some(2)));
    let tasks = load(store, Kind::Task, "afc-").await;
    let keys: Vec<_> = tasks
        .iter()
        .map(|r| (r.key.as_str(), r.version, r.value.as_slice()))
        .collect();
    assert_eq!(
        keys,
        [
            ("afc-b", 1, b"b1".as_slice()),
            ("afc-d", 1, b"d1".as_slice())
        ]
    );
    assert_eq!(get(store, Kind::Service, "afc-c").await, None);
}

/// Writes apply in order within a commit: each sees those before it.
pub async fn writes_see_earlier_writes_of_their_commit(store: &dyn Store) {
    let k = Kind::Scaling;
    let versions = commit(
        store,
        vec![
            Write::create(k, "wse", "1"),
            Write::replace(k, "wse", 1, "2"),
            Write::replace(k, "wse", 2, "3"),
        ],
    )
    .await;
    assert_eq!(versions, [1, 2, 3]);
    let versions = commit(
        store,
        vec![
            Write::delete(k, "wse", 3),
            Write::create(k, "wse", "again"),
            Write::create(k, "wse-other", "x"),
        ],
    )
    .await;
    assert_eq!(versions, [0, 1, 1]);
    let r = get(store, k, "wse").await.expect("wse exists");
    assert_eq!((r.version, r.value), (1, b"again".to_vec()));
    let versions = commit(
        store,
        vec![
            Write::create(k, "wse-gone", "x"),
            Write::delete(k, "wse-gone", 1),
        ],
    )
    .await;
    assert_eq!(versions, [1, 0]);
    assert_eq!(get(store, k, "wse-gone").await, None);
}

/// `load` returns a kind's records in key order (byte order of the UTF-8), and a key
/// in one kind is unrelated to the same key in another.
pub async fn load_is_in_key_order_and_kinds_are_apart(store: &dyn Store) {
    let keys = [
        "lko/b",
        "lko/a",
        "lko/a0",
        "lko/B",
        "lko/\u{e4}",
        "lko/10",
        "lko/9",
        "lko/",
    ];
    let writes = keys
        .iter()
        .map(|k| Write::create(Kind::TaskDefinition, *k, *k))
        .chain([Write::create(Kind::Cluster, "lko/a", "other kind")])
        .collect();
    commit(store, writes).await;
    let mut want: Vec<&str> = keys.to_vec();
    want.sort_unstable();
    let got = load(store, Kind::TaskDefinition, "lko/").await;
    let got_keys: Vec<&str> = got.iter().map(|r| r.key.as_str()).collect();
    assert_eq!(got_keys, want);
    assert!(got.iter().all(|r| r.value == r.key.as_bytes()));
    assert!(got.iter().all(|r| r.kind == Kind::TaskDefinition));
    let other = get(store, Kind::Cluster, "lko/a").await.expect("exists");
    assert_eq!(other.value, b"other kind");
    commit(store, vec![Write::delete(Kind::Cluster, "lko/a", 1)]).await;
    assert!(get(store, Kind::TaskDefinition, "lko/a").await.is_some());
}

/// Values of any bytes and size come back as written: empty, binary, 1 MiB.
pub async fn values_are_kept_byte_for_byte(store: &dyn Store) {
    let big: Vec<u8> = (0..1 << 20).map(|i: u32| (i * 7 % 251) as u8).collect();
    let values = [Vec::new(), vec![0, 255, 0, 10, 13], big];
    let writes = values
        .iter()
        .enumerate()
        .map(|(i, v)| Write::create(Kind::Task, format!("vkb-{i}"), v.clone()))
        .collect();
    commit(store, writes).await;
    for (i, v) in values.iter().enumerate() {
        let r = get(store, Kind::Task, &format!("vkb-{i}"))
            .await
            .expect("exists");
        assert!(r.value == *v, "vkb-{i}: value differs");
    }
}

/// Writers that read, change and write back with the version they read, retrying on
/// conflict, lose no update.
pub async fn concurrent_writers_lose_no_update(store: &dyn Store) {
    const WRITERS: u64 = 4;
    const ROUNDS: u64 = 10;
    commit(store, vec![Write::create(Kind::Service, "cwl", "0")]).await;
    let writer = |_: u64| async move {
        let mut conflicts = 0u64;
        for _ in 0..ROUNDS {
            loop {
                let r = get(store, Kind::Service, "cwl").await.expect("exists");
                let n: u64 = String::from_utf8(r.value).unwrap().parse().unwrap();
                let write = Write::replace(Kind::Service, "cwl", r.version, (n + 1).to_string());
                match store.commit(vec![write]).await {
                    Ok(_) => break,
                    Err(Error::StoreConflict { .. }) => {
                        conflicts += 1;
                        tokio::task::yield_now().await;
                    }
                    Err(e) => panic!("commit failed: {e}"),
                }
            }
        }
        conflicts
    };
    join_all((0..WRITERS).map(writer)).await;
    let r = get(store, Kind::Service, "cwl").await.expect("exists");
    assert_eq!(r.version, 1 + WRITERS * ROUNDS);
    assert_eq!(r.value, (WRITERS * ROUNDS).to_string().into_bytes());
}

/// A commit of thousands of writes (more than any one etcd transaction holds), with a
/// key written several times, lands whole and `load` returns all of it; one whose last
/// write is stale applies none of it.
pub async fn large_commits_are_whole(store: &dyn Store) {
    const N: usize = 2500;
    let k = Kind::Task;
    let key = |i: usize| format!("lcw/{i:05}");
    let mut writes: Vec<Write> = (0..N).map(|i| Write::create(k, key(i), "1")).collect();
    writes.push(Write::replace(k, key(0), 1, "2"));
    writes.push(Write::replace(k, key(0), 2, "3"));
    let versions = commit(store, writes).await;
    assert_eq!(versions.len(), N + 2);
    assert!(versions[..N].iter().all(|v| *v == 1));
    assert_eq!(versions[N..], [2, 3]);
    let all = load(store, k, "lcw/").await;
    assert_eq!(all.len(), N);
    assert!(
        all.windows(2).all(|w| w[0].key < w[1].key),
        "load is in key order"
    );
    assert_eq!((all[0].version, all[0].value.as_slice()), (3, &b"3"[..]));
    assert!(all[1..].iter().all(|r| r.version == 1 && r.value == b"1"));

    // Every replace but the last expects what is there; the last is stale.
    let mut writes: Vec<Write> = (1..N).map(|i| Write::replace(k, key(i), 1, "x")).collect();
    writes.push(Write::replace(k, key(0), 2, "x"));
    let (_, stale, expected, found) = conflict(store.commit(writes).await);
    assert_eq!((stale, expected, found), (key(0), Some(2), Some(3)));
    let all = load(store, k, "lcw/").await;
    assert!(
        all[1..].iter().all(|r| r.version == 1 && r.value == b"1"),
        "nothing applied"
    );

    let writes = (1..N)
        .map(|i| Write::delete(k, key(i), 1))
        .chain([Write::delete(k, key(0), 3)])
        .collect();
    let versions = commit(store, writes).await;
    assert!(versions.iter().all(|v| *v == 0));
    assert_eq!(load(store, k, "lcw/").await, []);
}

/// A replace or delete expecting version 0 conflicts, whether the record exists or not
/// (versions start at 1).
pub async fn no_record_is_at_version_zero(store: &dyn Store) {
    let k = Kind::Cluster;
    let (_, key, expected, found) =
        conflict(store.commit(vec![Write::replace(k, "zero", 0, "x")]).await);
    assert_eq!((key.as_str(), expected, found), ("zero", Some(0), None));
    let (_, _, _, found) = conflict(store.commit(vec![Write::delete(k, "zero", 0)]).await);
    assert_eq!(found, None);
    commit(store, vec![Write::create(k, "zero", "1")]).await;
    let (_, _, _, found) = conflict(store.commit(vec![Write::replace(k, "zero", 0, "x")]).await);
    assert_eq!(found, Some(1));
    assert_eq!(
        get(store, k, "zero").await.map(|r| r.value),
        Some(b"1".to_vec())
    );
}
