//! The API server on loopback: DescribeTasks (100 tasks, ECS's most per call) and
//! ListTasks (a page of 100) with 1,000 and 10,000 tasks in the cluster; requests per
//! second and latency percentiles, from concurrent keep-alive HTTP/1.1 connections.
//!
//! Beside each, the same calls made in the process on `Ecs` (what the server adds is the
//! difference: HTTP, JSON both ways, the answer's ECS shapes). Signatures are not
//! checked here (`Auth::Disabled`): the bench has no SigV4 signer of its own.
//!
//! ```text
//! cargo bench --bench api
//! ECS_BENCH_SECONDS=10 cargo bench --bench api   # longer runs
//! ```

use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use ecs::cluster::{RegisterContainerInstance, Resources};
use ecs::config::EcsConfig;
use ecs::runtime::InMemoryRuntime;
use ecs::server::{Auth, Server, ServerConfig};
use ecs::task::{ListTasks, RunTask, TaskStatus};
use ecs::{ClusterName, Ecs, TaskDefinition, TaskId};
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;

/// Concurrent connections (this machine has two cores, shared with the server).
const CONNECTIONS: usize = 8;

fn seconds() -> Duration {
    Duration::from_secs_f64(
        std::env::var("ECS_BENCH_SECONDS")
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or(3.0),
    )
}

/// A cluster of `tasks` RUNNING tasks on simulated instances.
async fn cluster_with(tasks: usize) -> (Ecs, Vec<TaskId>) {
    let ecs = Ecs::new(EcsConfig::default());
    let cluster: ClusterName = "bench".parse().unwrap();
    ecs.create_cluster(cluster.clone()).unwrap();
    for i in 0..(tasks / 500).max(1) {
        ecs.register_container_instance(RegisterContainerInstance::new(
            cluster.clone(),
            format!("i-{i}").parse().unwrap(),
            Arc::new(InMemoryRuntime::new(Resources::new(1 << 20, 1 << 20))),
        ))
        .await
        .unwrap();
    }
    ecs.register_task_definition(
        TaskDefinition::from_json(
            r#"{"family": "web", "containerDefinitions": [
                {"name": "app", "image": "busybox", "memory": 16, "cpu": 16}]}"#,
        )
        .unwrap()
        .definition,
    )
    .unwrap();
    let mut ids = Vec::with_capacity(tasks);
    while ids.len() < tasks {
        let n = (tasks - ids.len()).min(10) as u32;
        let out = ecs
            .run_task(RunTask::new(cluster.clone(), "web".parse().unwrap(), n))
            .unwrap();
        assert!(out.failures.is_empty(), "{:?}", out.failures);
        ids.extend(out.tasks.into_iter().map(|t| t.task_id));
    }
    for id in &ids {
        ecs.wait_for(id, |t| t.last_status == TaskStatus::Running)
            .await
            .unwrap();
    }
    (ecs, ids)
}

struct Measure {
    elapsed: Duration,
    latencies: Vec<Duration>,
}

impl Measure {
    fn print(&mut self, what: &str) {
        self.latencies.sort();
        let at = |q: f64| {
            let i = ((self.latencies.len() as f64 * q) as usize).min(self.latencies.len() - 1);
            self.latencies[i].as_secs_f64() * 1e3
        };
        println!(
            "{what:<44} {:>9.0} req/s   p50 {:>7.3} ms   p99 {:>7.3} ms",
            self.latencies.len() as f64 / self.elapsed.as_secs_f64(),
            at(0.50),
            at(0.99),
        );
    }
}

/// `CONNECTIONS` clients sending `operation` with `body` for the bench's duration.
async fn over_http(address: std::net::SocketAddr, operation: &str, body: String) -> Measure {
    let client: Client<_, Full<Bytes>> = Client::builder(TokioExecutor::new())
        .pool_max_idle_per_host(CONNECTIONS)
        .build_http();
    let target = format!("AmazonEC2ContainerServiceV20141113.{operation}");
    let body = Bytes::from(body);
    // Made once: the loop measures requests, not building their address.
    let uri: hyper::Uri = format!("http://{address}/").parse().unwrap();
    let until = Instant::now() + seconds();
    let started = Instant::now();
    let mut workers = Vec::new();
    for _ in 0..CONNECTIONS {
        let (client, target, body, uri) =
            (client.clone(), target.clone(), body.clone(), uri.clone());
        workers.push(tokio::spawn(async move {
            let mut latencies = Vec::new();
            while Instant::now() < until {
                let request = hyper::Request::post(uri.clone())
                    .header("content-type", "application/x-amz-json-1.1")
                    .header("x-amz-target", &target)
                    .body(Full::new(body.clone()))
                    .unwrap();
                let t = Instant::now();
                let response = client.request(request).await.unwrap();
                assert_eq!(response.status(), 200);
                let answer = response.into_body().collect().await.unwrap().to_bytes();
                latencies.push(t.elapsed());
                assert!(answer.len() > 2);
            }
            latencies
        }));
    }
    let mut latencies = Vec::new();
    for w in workers {
        latencies.extend(w.await.unwrap());
    }
    Measure {
        elapsed: started.elapsed(),
        latencies,
    }
}

/// The same call made `CONNECTIONS` ways at once on the control plane itself.
async fn in_process<F>(call: F) -> Measure
where
    F: Fn() -> usize + Send + Sync + 'static,
{
    let call = Arc::new(call);
    let until = Instant::now() + seconds();
    let started = Instant::now();
    let mut workers = Vec::new();
    for _ in 0..CONNECTIONS {
        let call = call.clone();
        workers.push(tokio::spawn(async move {
            let mut latencies = Vec::new();
            while Instant::now() < until {
                let t = Instant::now();
                assert!(call() > 0);
                latencies.push(t.elapsed());
                // Each call is one request: let the other workers in, as connections would.
                tokio::task::yield_now().await;
            }
            latencies
        }));
    }
    let mut latencies = Vec::new();
    for w in workers {
        latencies.extend(w.await.unwrap());
    }
    Measure {
        elapsed: started.elapsed(),
        latencies,
    }
}

fn main() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        println!(
            "API server on loopback, {CONNECTIONS} connections, {:.0} s per row",
            seconds().as_secs_f64()
        );
        for tasks in [1_000, 10_000] {
            let (ecs, ids) = cluster_with(tasks).await;
            let config = ServerConfig::default()
                .with_listen("127.0.0.1:0".parse().unwrap())
                .with_auth(Auth::Disabled);
            let server = Server::bind(ecs.clone(), config).await.unwrap();
            let address = server.local_addr().unwrap();
            let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
            let serving = tokio::spawn(server.serve(async {
                let _ = stopped.await;
            }));

            let hundred: Vec<TaskId> = ids
                .iter()
                .step_by(ids.len() / 100)
                .take(100)
                .cloned()
                .collect();
            let describe = serde_json::json!({
                "cluster": "bench",
                "tasks": hundred.iter().map(|t| t.to_string()).collect::<Vec<_>>(),
            })
            .to_string();
            over_http(address, "DescribeTasks", describe)
                .await
                .print(&format!("DescribeTasks x100, {tasks} tasks, HTTP"));
            let bench: ecs::ClusterName = "bench".parse().unwrap();
            let (e, h, c) = (ecs.clone(), hundred.clone(), bench.clone());
            in_process(move || e.describe_tasks(&c, &h).unwrap().len())
                .await
                .print(&format!("describe_tasks x100, {tasks} tasks, in process"));

            let list = r#"{"cluster": "bench", "maxResults": 100}"#.to_owned();
            over_http(address, "ListTasks", list)
                .await
                .print(&format!("ListTasks page of 100, {tasks} tasks, HTTP"));
            let (e, request) = (ecs.clone(), ListTasks::new(bench.clone()));
            in_process(move || e.list_tasks_page(&request, None, 100).unwrap().0.len())
                .await
                .print(&format!(
                    "list_tasks_page of 100, {tasks} tasks, in process"
                ));
            // What a page cost before pages reached the core: every id of the cluster.
            let (e, c) = (ecs.clone(), bench.clone());
            in_process(move || e.list_tasks(ListTasks::new(c.clone())).unwrap().len())
                .await
                .print(&format!("list_tasks (every id), {tasks} tasks, in process"));

            let _ = stop.send(());
            serving.await.unwrap().unwrap();
        }
    });
}
