//! The store's conformance suite on a real three-member etcd (`scripts/etcd`), with
//! etcd's own limits and with limits so small that every commit of more than a few
//! writes goes through the large-commit path.

mod support;

use ecs_core::store::{Kind, Store, StoreExt, Write, conformance};
use ecs_store_etcd::EtcdStore;

#[tokio::test]
async fn conformance_on_etcd() {
    let client = support::client().await;
    let root = support::root("conformance");
    let store = EtcdStore::open(&client, &root).await.unwrap();
    conformance::run(&store).await;
    support::clean(&client, &root).await;
}

#[tokio::test]
async fn conformance_on_etcd_with_tiny_transactions() {
    let client = support::client().await;
    let root = support::root("conformance-tiny");
    let store = EtcdStore::open(&client, &root)
        .await
        .unwrap()
        .with_max_txn_ops(8)
        .with_max_txn_bytes(4096);
    conformance::run(&store).await;
    support::clean(&client, &root).await;
}

/// What a store writes is what another store opened on the same root reads: the state
/// outlives the process that wrote it; and roots are apart.
#[tokio::test]
async fn a_second_store_on_the_root_reads_it_all() {
    let client = support::client().await;
    let root = support::root("reopen");
    let store = EtcdStore::open(&client, &root).await.unwrap();
    let writes = (0..300)
        .map(|i| Write::create(Kind::Task, format!("c/t-{i:03}"), format!("{i}")))
        .collect();
    store.commit(writes).await.unwrap();
    store
        .replace(Kind::Task, "c/t-007", 1, b"seven".to_vec())
        .await
        .unwrap();
    drop(store);
    let again = EtcdStore::open(&client, &root).await.unwrap();
    let tasks = again.load(Kind::Task).await.unwrap();
    assert_eq!(tasks.len(), 300);
    assert_eq!(
        (tasks[7].version, tasks[7].value.as_slice()),
        (2, &b"seven"[..])
    );
    let other = EtcdStore::open(&client, &support::root("elsewhere"))
        .await
        .unwrap();
    assert_eq!(other.load(Kind::Task).await.unwrap(), []);
    support::clean(&client, &root).await;
}

/// A large commit whose caller gives up after its commit point (its future dropped,
/// as a halted control plane's persister's is): the same store's next read finishes it
/// and sees all of it, and the next large commit lands.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_large_commit_dropped_after_its_commit_point_is_finished() {
    let client = support::client().await;
    let root = support::root("dropped");
    let store = std::sync::Arc::new(
        EtcdStore::open(&client, &root)
            .await
            .unwrap()
            .with_max_txn_ops(8),
    );
    let writes: Vec<Write> = (0..1500)
        .map(|i| Write::create(Kind::Task, format!("c/t-{i:04}"), "x"))
        .collect();
    let committing = {
        let store = store.clone();
        tokio::spawn(async move { store.commit(writes).await })
    };
    // Dropped as soon as the commit record exists.
    let mut kv = client.kv_client();
    let record = format!("{root}/commit");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    loop {
        let got = kv.get(record.as_str(), None).await.unwrap();
        if !got.kvs().is_empty() {
            committing.abort();
            break;
        }
        assert!(
            !committing.is_finished(),
            "the commit ended before it could be cut"
        );
        assert!(
            std::time::Instant::now() < deadline,
            "no commit point within 60 s"
        );
    }
    let _ = committing.await;
    let left = kv.get(record.as_str(), None).await.unwrap();
    assert_eq!(
        left.kvs().len(),
        1,
        "cut between its commit point and its end"
    );
    let applied = kv
        .get(
            format!("{root}/records/task/"),
            Some(
                etcd_client::GetOptions::new()
                    .with_prefix()
                    .with_count_only(),
            ),
        )
        .await
        .unwrap()
        .count();
    assert!(applied < 1500, "cut before it was all applied ({applied})");

    let tasks = store.load(Kind::Task).await.unwrap();
    assert_eq!(tasks.len(), 1500, "the store's next read finished it");
    assert!(
        kv.get(record.as_str(), None)
            .await
            .unwrap()
            .kvs()
            .is_empty()
    );
    let more: Vec<Write> = (0..300)
        .map(|i| Write::create(Kind::Service, format!("c/s-{i:03}"), "y"))
        .collect();
    store.commit(more).await.unwrap();
    assert_eq!(store.load(Kind::Service).await.unwrap().len(), 300);
    support::clean(&client, &root).await;
}
