//! The etcd the tests use: the cluster `scripts/etcd` starts (`ECS_ETCD_ENDPOINTS`);
//! a test fails, never skips, without it.

#![allow(dead_code)]

/// The endpoints, from `ECS_ETCD_ENDPOINTS`.
pub fn endpoints() -> Vec<String> {
    let list = std::env::var("ECS_ETCD_ENDPOINTS").unwrap_or_else(|_| {
        panic!("ECS_ETCD_ENDPOINTS is not set: run `eval \"$(scripts/etcd)\"` first (scripts/test does)")
    });
    list.split(',').map(str::to_owned).collect()
}

pub async fn client() -> etcd_client::Client {
    etcd_client::Client::connect(endpoints(), None)
        .await
        .expect("connect to etcd")
}

/// A root no other test (or run) uses.
pub fn root(name: &str) -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    format!("ecs-test/{name}-{}-{nanos}", std::process::id())
}

/// Deletes everything under `root`.
pub async fn clean(client: &etcd_client::Client, root: &str) {
    let mut kv = client.kv_client();
    kv.delete(
        format!("{root}/"),
        Some(etcd_client::DeleteOptions::new().with_prefix()),
    )
    .await
    .expect("clean up");
}
