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
