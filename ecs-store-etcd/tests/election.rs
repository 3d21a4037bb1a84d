//! Leader election and fencing on a real etcd (`scripts/etcd`).

mod support;

use std::time::Duration;

use ecs_core::store::{Kind, Store, StoreExt};
use ecs_store_etcd::{Candidate, EtcdStore};

const TTL: Duration = Duration::from_secs(2);

#[tokio::test]
async fn one_leads_the_next_leads_when_it_resigns() {
    let client = support::client().await;
    let root = support::root("resign");
    let a = Candidate::new(&client, &root, "a", TTL);
    let b = Candidate::new(&client, &root, "b", TTL);
    assert_eq!(a.leader().await.unwrap(), None);
    let lead_a = a.campaign().await.unwrap();
    assert_eq!(b.leader().await.unwrap().as_deref(), Some("a"));
    let waiting = tokio::spawn(async move { b.campaign().await });
    // b stands by while a leads.
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(!waiting.is_finished(), "b leads beside a");
    let term_a = lead_a.term();
    lead_a.resign().await.unwrap();
    let lead_b = tokio::time::timeout(Duration::from_secs(5), waiting)
        .await
        .expect("b leads once a resigned")
        .unwrap()
        .unwrap();
    assert!(lead_b.term() > term_a);
    assert_eq!(a.leader().await.unwrap().as_deref(), Some("b"));
    lead_b.resign().await.unwrap();
    support::clean(&client, &root).await;
}

/// A leader whose lease is gone (revoked here, as etcd does when it expires) is refused
/// at its next commit, and knows it from then on; its successor writes.
#[tokio::test]
async fn a_leader_whose_lease_is_gone_is_fenced_off() {
    let client = support::client().await;
    let root = support::root("fence");
    let a = Candidate::new(&client, &root, "a", TTL);
    let lead_a = a.campaign().await.unwrap();
    let store_a = EtcdStore::open_fenced(&client, &root, lead_a.fence())
        .await
        .unwrap();
    store_a
        .create(Kind::Service, "c/web", b"1".to_vec())
        .await
        .unwrap();
    assert!(store_a.check_fence().is_ok());

    // The lease ends behind a's back.
    let mut raw = client.clone();
    let leader = raw.leader(format!("{root}/leader")).await.unwrap();
    let lease = leader.kv().unwrap().lease();
    raw.lease_revoke(lease).await.unwrap();

    let b = Candidate::new(&client, &root, "b", TTL);
    let lead_b = tokio::time::timeout(Duration::from_secs(5), b.campaign())
        .await
        .expect("b leads once a's lease is gone")
        .unwrap();
    let refused = store_a
        .replace(Kind::Service, "c/web", 1, b"a".to_vec())
        .await;
    assert!(
        matches!(refused, Err(ecs_core::Error::StoreFenced { .. })),
        "{refused:?}"
    );
    // Large commits are fenced too.
    let many = (0..300)
        .map(|i| ecs_core::store::Write::create(Kind::Task, format!("c/t-{i}"), "x"))
        .collect();
    let refused = store_a.commit(many).await;
    assert!(
        matches!(refused, Err(ecs_core::Error::StoreFenced { .. })),
        "{refused:?}"
    );
    assert!(store_a.check_fence().is_err());
    tokio::time::timeout(Duration::from_secs(1), lead_a.lost())
        .await
        .expect("a's leadership is lost");

    let store_b = EtcdStore::open_fenced(&client, &root, lead_b.fence())
        .await
        .unwrap();
    assert_eq!(
        store_b
            .replace(Kind::Service, "c/web", 1, b"b".to_vec())
            .await
            .unwrap(),
        2
    );
    assert!(
        store_b.load(Kind::Task).await.unwrap().is_empty(),
        "nothing of a's landed"
    );
    lead_b.resign().await.unwrap();
    support::clean(&client, &root).await;
}

/// A leader whose lease runs out without a renewal coming back (here: renewals stop
/// because its leadership handle is dropped, as if frozen) stops believing in it
/// locally, before etcd is even asked.
#[tokio::test]
async fn a_lease_not_renewed_in_time_fails_the_local_check() {
    let client = support::client().await;
    let root = support::root("local");
    let a = Candidate::new(&client, &root, "a", TTL);
    let lead = a.campaign().await.unwrap();
    let fence = lead.fence();
    assert!(fence.check().is_ok());
    // Renewals keep it valid past its first time to live.
    tokio::time::sleep(TTL + Duration::from_millis(500)).await;
    assert!(fence.check().is_ok(), "renewed");
    assert!(!lead.is_lost());
    drop(lead);
    assert!(fence.check().is_err());
    support::clean(&client, &root).await;
}
