//! Control planes in HA: `ecs-server --etcd` processes sharing a root on the etcd of
//! `scripts/etcd`, their output lines as events, and a small client of the API (no
//! authentication) to whichever leads. Children are killed when the test ends.

#![allow(dead_code)]

use std::collections::HashMap;
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};
use tokio::sync::Notify;

/// etcd's client URLs, from `scripts/etcd`.
pub fn etcd_endpoints() -> String {
    std::env::var("ECS_ETCD_ENDPOINTS").unwrap_or_else(|_| {
        panic!("ECS_ETCD_ENDPOINTS is not set: run `eval \"$(scripts/etcd)\"` (scripts/test does)")
    })
}

/// A root no other test or run shares.
pub fn root(name: &str) -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    format!("ecs-test/{name}-{}-{nanos}", std::process::id())
}

/// One `ecs-server --etcd` process and every line it printed.
pub struct Node {
    pub name: String,
    child: Option<Child>,
    /// Every line, with when it was read.
    lines: Arc<Mutex<Vec<(Instant, String)>>>,
    printed: Arc<Notify>,
}

/// Three (or more) nodes on one root.
pub struct Nodes {
    pub root: String,
    pub ttl: Duration,
    pub nodes: Vec<Node>,
    data: tempfile::TempDir,
}

impl Nodes {
    /// Starts `n` nodes named `n1`.. on a new root, with leases of `ttl`.
    pub fn start(name: &str, n: usize, ttl: Duration) -> Self {
        let mut nodes = Self {
            root: root(name),
            ttl,
            nodes: Vec::new(),
            data: tempfile::tempdir().unwrap(),
        };
        for i in 1..=n {
            let node = nodes.spawn(&format!("n{i}"));
            nodes.nodes.push(node);
        }
        nodes
    }

    fn spawn(&self, name: &str) -> Node {
        let mut child = Command::new(env!("CARGO_BIN_EXE_ecs-server"))
            .args(["--etcd", &etcd_endpoints(), "--etcd-root", &self.root])
            .args(["--node", name, "--listen", "127.0.0.1:0", "--no-auth"])
            .args(["--lease-ttl", &self.ttl.as_secs().to_string()])
            .arg("--data")
            .arg(self.data.path().join(name))
            .env("DOCKER_HOST", super::engines::docker_host())
            .env("RUST_LOG", "warn,ecs_server=info")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .expect("start ecs-server");
        let lines = Arc::new(Mutex::new(Vec::new()));
        let printed = Arc::new(Notify::new());
        for out in [
            Box::new(child.stdout.take().unwrap()) as Box<dyn tokio::io::AsyncRead + Unpin + Send>,
            Box::new(child.stderr.take().unwrap()),
        ] {
            let (lines, printed, name) = (lines.clone(), printed.clone(), name.to_owned());
            tokio::spawn(async move {
                let mut reader = BufReader::new(out).lines();
                while let Ok(Some(line)) = reader.next_line().await {
                    if std::env::var_os("ECS_HA_ECHO").is_some() {
                        eprintln!("[{name}] {line}");
                    }
                    lines.lock().unwrap().push((Instant::now(), line));
                    printed.notify_waiters();
                }
            });
        }
        Node {
            name: name.to_owned(),
            child: Some(child),
            lines,
            printed,
        }
    }

    /// Starts node `i` again (after it was killed), on the same name and data.
    pub fn restart(&mut self, i: usize) {
        let name = self.nodes[i].name.clone();
        self.nodes[i] = self.spawn(&name);
    }

    /// Waits until some node other than `except` says (by its last role line) that it
    /// leads and serves; returns its index and its API's address.
    pub async fn leader(&self, except: &[usize], within: Duration) -> (usize, String) {
        let deadline = Instant::now() + within;
        loop {
            for (i, node) in self.nodes.iter().enumerate() {
                if except.contains(&i) || node.child.is_none() {
                    continue;
                }
                if let Some(addr) = node.leading_address() {
                    return (i, addr);
                }
            }
            assert!(
                Instant::now() < deadline,
                "no node led within {within:?}:\n{}",
                self.dump()
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// The leader once the dust settled: exactly one node says it leads, and it answers.
    pub async fn settled_leader(&self, within: Duration) -> (usize, String) {
        let deadline = Instant::now() + within;
        loop {
            let claims: Vec<(usize, String)> = self
                .nodes
                .iter()
                .enumerate()
                .filter(|(_, n)| n.child.is_some())
                .filter_map(|(i, n)| n.leading_address().map(|a| (i, a)))
                .collect();
            if let [(i, addr)] = claims.as_slice()
                && let Ok((200, _)) = call(addr, "ListClusters", &json!({})).await
            {
                return (*i, addr.clone());
            }
            assert!(
                Instant::now() < deadline,
                "no settled leader within {within:?}:\n{}",
                self.dump()
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Every node's lines, for a failure's message.
    pub fn dump(&self) -> String {
        self.nodes
            .iter()
            .map(|n| format!("--- {}\n{}", n.name, n.lines().join("\n")))
            .collect::<Vec<_>>()
            .join("\n")
    }

    pub fn signal(&self, i: usize, signal: &str) {
        let pid = self.nodes[i].pid().expect("the node runs");
        let status = std::process::Command::new("kill")
            .args([&format!("-{signal}"), &pid.to_string()])
            .status()
            .unwrap();
        assert!(status.success(), "kill -{signal} {pid}");
    }

    /// SIGKILLs node `i` and reaps it.
    pub async fn kill(&mut self, i: usize) {
        self.signal(i, "KILL");
        if let Some(mut c) = self.nodes[i].child.take() {
            c.wait().await.unwrap();
        }
    }

    /// Stops every node (SIGTERM), waiting for each with a deadline.
    pub async fn stop(mut self) {
        for i in 0..self.nodes.len() {
            if self.nodes[i].child.is_some() {
                let _ = std::process::Command::new("kill")
                    .args(["-CONT", &self.nodes[i].pid().unwrap().to_string()])
                    .status();
                self.signal(i, "TERM");
            }
        }
        for node in &mut self.nodes {
            if let Some(mut c) = node.child.take()
                && tokio::time::timeout(Duration::from_secs(20), c.wait())
                    .await
                    .is_err()
            {
                let _ = c.kill().await;
            }
        }
        let mut kv = ecs::etcd::etcd_client::Client::connect(
            etcd_endpoints().split(',').collect::<Vec<_>>(),
            None,
        )
        .await
        .unwrap()
        .kv_client();
        kv.delete(
            format!("{}/", self.root),
            Some(ecs::etcd::etcd_client::DeleteOptions::new().with_prefix()),
        )
        .await
        .unwrap();
    }
}

impl Node {
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().and_then(Child::id)
    }

    pub fn lines(&self) -> Vec<String> {
        self.lines
            .lock()
            .unwrap()
            .iter()
            .map(|(_, l)| l.clone())
            .collect()
    }

    /// When it last printed a line containing `text`.
    pub fn printed_at(&self, text: &str) -> Option<Instant> {
        let lines = self.lines.lock().unwrap();
        lines
            .iter()
            .rev()
            .find(|(_, l)| l.contains(text))
            .map(|(t, _)| *t)
    }

    /// The address it serves on if its last role line says it leads.
    fn leading_address(&self) -> Option<String> {
        let lines = self.lines();
        let role = lines
            .iter()
            .rposition(|l| l.contains(" leads (term ") || l.contains(" lost the leadership"))?;
        if !lines[role].contains(" leads (term ") {
            return None;
        }
        lines[role..]
            .iter()
            .find_map(|l| l.strip_prefix("ecs-server: listening on http://"))
            .map(str::to_owned)
    }

    /// Waits until it prints a line containing `text`; the line.
    pub async fn wait_line(&self, text: &str, within: Duration) -> String {
        let deadline = Instant::now() + within;
        loop {
            let printed = self.printed.notified();
            if let Some(l) = self.lines().into_iter().find(|l| l.contains(text)) {
                return l;
            }
            let left = deadline.saturating_duration_since(Instant::now());
            assert!(
                !left.is_zero(),
                "{} did not print {text:?} within {within:?}:\n{}",
                self.name,
                self.lines().join("\n")
            );
            let _ = tokio::time::timeout(left.min(Duration::from_millis(200)), printed).await;
        }
    }
}

/// One call of ECS's API (JSON 1.1, no signature) at `addr`, on a connection of its
/// own (none kept to a node that may be killed next): the status and the answer. Errs
/// when the exchange fails (the node is gone) or takes over 30 s.
pub async fn call(addr: &str, operation: &str, body: &Value) -> std::io::Result<(u16, Value)> {
    let client: Client<_, Full<Bytes>> = Client::builder(TokioExecutor::new())
        .pool_max_idle_per_host(0)
        .build_http();
    let request = hyper::Request::post(format!("http://{addr}/"))
        .header("content-type", "application/x-amz-json-1.1")
        .header(
            "x-amz-target",
            format!("AmazonEC2ContainerServiceV20141113.{operation}"),
        )
        .body(Full::new(Bytes::from(body.to_string())))
        .map_err(std::io::Error::other)?;
    let exchange = async {
        let response = client
            .request(request)
            .await
            .map_err(std::io::Error::other)?;
        let status = response.status().as_u16();
        let answer = response
            .into_body()
            .collect()
            .await
            .map_err(std::io::Error::other)?
            .to_bytes();
        Ok::<_, std::io::Error>((
            status,
            serde_json::from_slice(&answer).unwrap_or(Value::Null),
        ))
    };
    tokio::time::timeout(Duration::from_secs(30), exchange)
        .await
        .map_err(|_| std::io::Error::new(std::io::ErrorKind::TimedOut, "no answer in 30 s"))?
}

/// A call that must succeed (200).
pub async fn ok(addr: &str, operation: &str, body: Value) -> Value {
    match call(addr, operation, &body).await {
        Ok((200, v)) => v,
        other => panic!("{operation} {body} at {addr}: {other:?}"),
    }
}

/// A task as DescribeTasks says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TaskView {
    /// `lastStatus`.
    pub status: String,
    /// `healthStatus`.
    pub health: String,
    /// The task definition's revision.
    pub revision: String,
    /// Its one container's `runtimeId`.
    pub runtime: Option<String>,
}

impl TaskView {
    /// From one task of DescribeTasks' answer.
    pub fn from_json(t: &Value) -> Self {
        TaskView {
            status: t["lastStatus"].as_str().unwrap_or_default().to_owned(),
            health: t["healthStatus"].as_str().unwrap_or("UNKNOWN").to_owned(),
            revision: t["taskDefinitionArn"]
                .as_str()
                .and_then(|a| a.rsplit(':').next())
                .unwrap_or_default()
                .to_owned(),
            runtime: t["containers"][0]["runtimeId"].as_str().map(str::to_owned),
        }
    }
}

/// Looks (`look`) every 200 ms until `done` holds of what it sees, and returns that;
/// panics after `within`, saying `what` was awaited and what was seen last.
pub async fn poll<T: std::fmt::Debug, F: Future<Output = T>>(
    what: &str,
    within: Duration,
    mut look: impl FnMut() -> F,
    done: impl Fn(&T) -> bool,
) -> T {
    let deadline = Instant::now() + within;
    loop {
        let seen = look().await;
        if done(&seen) {
            return seen;
        }
        assert!(
            Instant::now() < deadline,
            "{what} not within {within:?}: {seen:#?}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// The service's tasks as DescribeTasks says, by task ARN.
pub async fn service_tasks(addr: &str, service: &str) -> HashMap<String, TaskView> {
    let listed = ok(addr, "ListTasks", json!({"serviceName": service})).await;
    let arns = listed["taskArns"].clone();
    if arns.as_array().is_none_or(Vec::is_empty) {
        return HashMap::new();
    }
    let described = ok(addr, "DescribeTasks", json!({"tasks": arns})).await;
    described["tasks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| {
            (
                t["taskArn"].as_str().unwrap().to_owned(),
                TaskView::from_json(t),
            )
        })
        .collect()
}

/// A container of the engine, by its labels.
#[derive(Debug, Clone)]
pub struct EngineContainer {
    pub id: String,
    /// `running`, `exited`, `created` ...
    pub state: String,
    pub task: String,
    pub name: String,
}

/// Every container of a task definition family on the engine (running or not).
pub fn containers(family: &str) -> Vec<EngineContainer> {
    let out = std::process::Command::new("docker")
        .args(["-H", &super::engines::docker_host(), "ps", "-a", "--no-trunc"])
        .args(["--filter", &format!("label=com.amazonaws.ecs.task-definition-family={family}")])
        .args([
            "--format",
            "{{.ID}} {{.State}} {{.Label \"com.amazonaws.ecs.task-arn\"}} {{.Label \"com.amazonaws.ecs.container-name\"}}",
        ])
        .output()
        .expect("docker ps");
    assert!(
        out.status.success(),
        "docker ps: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| {
            let mut f = l.split_whitespace();
            Some(EngineContainer {
                id: f.next()?.to_owned(),
                state: f.next()?.to_owned(),
                task: f.next()?.to_owned(),
                name: f.next()?.to_owned(),
            })
        })
        .collect()
}

/// Removes every container of a family (the test's leftovers).
pub fn remove_containers(family: &str) {
    let ids: Vec<String> = containers(family).into_iter().map(|c| c.id).collect();
    if !ids.is_empty() {
        let _ = std::process::Command::new("docker")
            .args(["-H", &super::engines::docker_host(), "rm", "-f"])
            .args(&ids)
            .output();
    }
}
