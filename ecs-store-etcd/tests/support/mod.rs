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

/// A three-member etcd cluster of a test's own (members can be killed and restarted),
/// on loopback ports `base + i*1000 + 379` (clients) and `+ 380` (peers), i = 1..3:
/// with a base below 29000, out of Linux's ephemeral range (32768 and up), where an
/// outgoing connection could hold them.
pub struct OwnCluster {
    // Dropped first (killed), then the folder they wrote in.
    members: Vec<Option<tokio::process::Child>>,
    base: u16,
    dir: tempfile::TempDir,
}

impl OwnCluster {
    pub async fn start(base: u16) -> Self {
        let mut cluster = Self {
            base,
            dir: tempfile::tempdir().unwrap(),
            members: Vec::new(),
        };
        for i in 1..=3 {
            let child = cluster.spawn(i, "new");
            cluster.members.push(Some(child));
        }
        cluster.wait_healthy().await;
        cluster
    }

    fn client_port(&self, i: usize) -> u16 {
        self.base + (i as u16) * 1000 + 379
    }

    pub fn endpoints(&self) -> Vec<String> {
        (1..=3)
            .map(|i| format!("http://127.0.0.1:{}", self.client_port(i)))
            .collect()
    }

    fn spawn(&self, i: usize, state: &str) -> tokio::process::Child {
        let bin = std::env::var("ECS_ETCD_BIN").unwrap_or_else(|_| {
            panic!(
                "ECS_ETCD_BIN is not set: run `eval \"$(scripts/etcd)\"` first (scripts/test does)"
            )
        });
        let peer = |i: usize| format!("http://127.0.0.1:{}", self.client_port(i) + 1);
        let initial: Vec<String> = (1..=3).map(|j| format!("m{j}={}", peer(j))).collect();
        let client = format!("http://127.0.0.1:{}", self.client_port(i));
        tokio::process::Command::new(bin)
            .args(["--name", &format!("m{i}")])
            .arg("--data-dir")
            .arg(self.dir.path().join(format!("m{i}")))
            .args([
                "--listen-client-urls",
                &client,
                "--advertise-client-urls",
                &client,
            ])
            .args([
                "--listen-peer-urls",
                &peer(i),
                "--initial-advertise-peer-urls",
                &peer(i),
            ])
            .args(["--initial-cluster", &initial.join(",")])
            .args([
                "--initial-cluster-state",
                state,
                "--initial-cluster-token",
                "own",
            ])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .expect("start etcd")
    }

    /// Waits until a write through every member's endpoint lands.
    pub async fn wait_healthy(&self) {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
        for endpoint in self.endpoints() {
            loop {
                let attempt = async {
                    let mut c = etcd_client::Client::connect([endpoint.as_str()], None).await?;
                    c.put("health", "ok", None).await
                };
                match tokio::time::timeout(std::time::Duration::from_secs(2), attempt).await {
                    Ok(Ok(_)) => break,
                    _ if std::time::Instant::now() < deadline => {
                        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
                    }
                    other => panic!("etcd at {endpoint} is not healthy: {other:?}"),
                }
            }
        }
    }

    /// The member (1..3) etcd's raft leader is.
    pub async fn leader(&self) -> usize {
        for i in 1..=3 {
            let Some(Some(_)) = self.members.get(i - 1) else {
                continue;
            };
            let endpoint = format!("http://127.0.0.1:{}", self.client_port(i));
            let Ok(mut c) = etcd_client::Client::connect([endpoint.as_str()], None).await else {
                continue;
            };
            if let Ok(status) = c.status().await
                && status.leader() == status.header().map_or(0, |h| h.member_id())
            {
                return i;
            }
        }
        panic!("no member leads")
    }

    /// SIGKILLs member `i` (1..3).
    pub async fn kill(&mut self, i: usize) {
        if let Some(mut c) = self.members[i - 1].take() {
            c.kill().await.unwrap();
        }
    }

    /// Starts member `i` again on its data.
    pub fn restart(&mut self, i: usize) {
        let child = self.spawn(i, "existing");
        self.members[i - 1] = Some(child);
    }
}
