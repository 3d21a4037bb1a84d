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
    // etcd answers an observer once there is a leader.
    let observer = {
        let b = b.clone();
        tokio::spawn(async move { b.observe().await })
    };
    let lead_a = a.campaign().await.unwrap();
    let mut changes = tokio::time::timeout(Duration::from_secs(5), observer)
        .await
        .expect("observing begins once a leads")
        .unwrap()
        .unwrap();
    let seen = tokio::time::timeout(Duration::from_secs(5), changes.next()).await;
    assert_eq!(
        seen.expect("a change is seen").unwrap().as_deref(),
        Some("a")
    );
    assert_eq!(b.leader().await.unwrap().as_deref(), Some("a"));
    let waiting = {
        let b = b.clone();
        tokio::spawn(async move { b.campaign().await })
    };
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
    let seen = tokio::time::timeout(Duration::from_secs(5), changes.next()).await;
    assert_eq!(
        seen.expect("the change to b is seen").unwrap().as_deref(),
        Some("b")
    );
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

/// Renewals keep a leadership past its lease's first time to live; dropping it ends
/// it at once: its fence fails, and another candidate leads without waiting for the
/// lease to run out (it is revoked). (A lease that runs out unrenewed, its holder
/// frozen, is `tests/ha_etcd.rs`'s SIGSTOP test, on processes.)
#[tokio::test]
async fn renewals_keep_a_leadership_and_dropping_it_hands_over() {
    let client = support::client().await;
    let root = support::root("local");
    let a = Candidate::new(&client, &root, "a", TTL);
    let lead = a.campaign().await.unwrap();
    let fence = lead.fence();
    assert!(fence.check().is_ok());
    tokio::time::sleep(TTL + Duration::from_millis(500)).await;
    assert!(fence.check().is_ok(), "renewed");
    assert!(!lead.is_lost());
    let b = Candidate::new(&client, &root, "b", Duration::from_secs(30));
    let waiting = tokio::spawn(async move { b.campaign().await });
    drop(lead);
    assert!(fence.check().is_err());
    let lead_b = tokio::time::timeout(Duration::from_secs(1), waiting)
        .await
        .expect("b leads within a second, well before a's lease would run out")
        .unwrap()
        .unwrap();
    lead_b.resign().await.unwrap();
    support::clean(&client, &root).await;
}
