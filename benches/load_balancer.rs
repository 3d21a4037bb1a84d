//! The built-in TCP load balancer against a direct connection to one task, in the same
//! run: a busybox httpd task on Docker, a bounded loopback load generator (a fixed
//! number of concurrent clients, each a new connection per request, for a fixed time),
//! direct to the task's published port, then through the load balancer, alternating.
//!
//! ```text
//! cargo bench --bench load_balancer
//! ```
//!
//! Needs the Docker engine `scripts/engines` provisions.

#[path = "../tests/support/engines.rs"]
mod engines;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use ecs::control::{EcsConfig, RegisterContainerInstance, RunTask, StopTask};
use ecs::load_balancer::{
    HealthCheck, LoadBalancer, Target, TargetState, TcpLoadBalancer, TcpLoadBalancerConfig,
};
use ecs::runtime::HealthStatus;
use ecs::task::TaskStatus;
use ecs::{Ecs, TaskDefinition};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const CLIENTS: usize = 16;

/// Requests per second and latencies (p50, p99) of `clients` clients for `duration`.
async fn drive(
    address: SocketAddr,
    clients: usize,
    duration: Duration,
) -> (f64, Duration, Duration, u64) {
    let start = Instant::now();
    let deadline = start + duration;
    let workers: Vec<_> = (0..clients)
        .map(|_| {
            tokio::spawn(async move {
                let mut latencies = Vec::new();
                let mut errors = 0u64;
                while Instant::now() < deadline {
                    let t = Instant::now();
                    match request(address).await {
                        Ok(()) => latencies.push(t.elapsed()),
                        Err(_) => errors += 1,
                    }
                }
                (latencies, errors)
            })
        })
        .collect();
    let mut all = Vec::new();
    let mut errors = 0;
    for w in workers {
        let (l, e) = w.await.unwrap();
        all.extend(l);
        errors += e;
    }
    let elapsed = start.elapsed().as_secs_f64();
    all.sort();
    let pct = |p: f64| {
        all.get(((all.len() as f64 * p) as usize).min(all.len().saturating_sub(1)))
            .copied()
            .unwrap_or_default()
    };
    (all.len() as f64 / elapsed, pct(0.5), pct(0.99), errors)
}

async fn request(address: SocketAddr) -> std::io::Result<()> {
    let mut s = tokio::net::TcpStream::connect(address).await?;
    s.write_all(b"GET / HTTP/1.0\r\nHost: bench\r\n\r\n")
        .await?;
    let mut buf = Vec::with_capacity(512);
    s.read_to_end(&mut buf).await?;
    if buf.starts_with(b"HTTP/1.0 200") || buf.starts_with(b"HTTP/1.1 200") {
        Ok(())
    } else {
        Err(std::io::Error::other("not a 200"))
    }
}

#[tokio::main]
async fn main() {
    let quick = !std::env::args().any(|a| a == "--bench");
    let (phase, rounds) = if quick {
        (Duration::from_millis(300), 1)
    } else {
        (Duration::from_secs(5), 3)
    };
    let docker = engines::docker();
    let ecs = Ecs::new(EcsConfig::default());
    let cluster: ecs::ClusterName = format!("lb-bench-{}", std::process::id()).parse().unwrap();
    ecs.create_cluster(cluster.clone()).unwrap();
    ecs.register_container_instance(RegisterContainerInstance::new(
        cluster.clone(),
        "i-1".parse().unwrap(),
        Arc::new(docker),
    ))
    .await
    .unwrap();
    let image = engines::image();
    ecs.register_task_definition(
        TaskDefinition::from_json(&format!(
            r#"{{"family": "lb-bench", "containerDefinitions": [
                {{"name": "web", "image": "{image}", "memory": 64, "cpu": 256,
                  "command": ["httpd", "-f", "-p", "80", "-h", "/www"],
                  "linuxParameters": {{"initProcessEnabled": true}}, "stopTimeout": 2,
                  "portMappings": [{{"containerPort": 80, "hostPort": 0}}],
                  "healthCheck": {{"command": ["CMD-SHELL", "wget -q -O /dev/null http://127.0.0.1/ || exit 1"], "interval": 5}}}}]}}"#
        ))
        .unwrap()
        .definition,
    )
    .unwrap();
    let task = ecs
        .run_task(RunTask::new(
            cluster.clone(),
            "lb-bench".parse().unwrap(),
            1,
        ))
        .unwrap()
        .tasks
        .remove(0);
    let task = tokio::time::timeout(
        Duration::from_secs(60),
        ecs.wait_for(&task.task_id, |t| t.health_status == HealthStatus::Healthy),
    )
    .await
    .expect("the task is healthy")
    .unwrap();
    let port = task.containers[0].network_bindings[0].host_port;
    let direct: SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();

    let lb = TcpLoadBalancer::bind(
        TcpLoadBalancerConfig::default().with_health_check(
            HealthCheck::tcp()
                .with_interval(Duration::from_secs(1))
                .with_healthy_threshold(1),
        ),
    )
    .await
    .unwrap();
    lb.register_targets(&[Target::new(task.task_id.to_string(), direct)])
        .await
        .unwrap();
    lb.wait_for_targets(|t| t.iter().all(|t| t.state == TargetState::Healthy))
        .await;
    let through = lb.local_addr();

    let (mut d_rps, mut l_rps) = (Vec::new(), Vec::new());
    let (mut d_lat, mut l_lat) = (Vec::new(), Vec::new());
    let mut errors = 0;
    for _ in 0..rounds {
        let (rps, p50, p99, e) = drive(direct, CLIENTS, phase).await;
        d_rps.push(rps);
        d_lat.push((p50, p99));
        errors += e;
        let (rps, p50, p99, e) = drive(through, CLIENTS, phase).await;
        l_rps.push(rps);
        l_lat.push((p50, p99));
        errors += e;
    }
    let mean = |v: &[f64]| v.iter().sum::<f64>() / v.len() as f64;
    let med = |v: &[(Duration, Duration)], i: usize| {
        let mut x: Vec<Duration> = v.iter().map(|p| if i == 0 { p.0 } else { p.1 }).collect();
        x.sort();
        x[x.len() / 2]
    };
    println!("{CLIENTS} clients, {rounds} x {phase:?} each way, a new connection per request:");
    println!(
        "  direct:      {:.0} requests/s, p50 {:?}, p99 {:?}",
        mean(&d_rps),
        med(&d_lat, 0),
        med(&d_lat, 1)
    );
    println!(
        "  through LB:  {:.0} requests/s, p50 {:?}, p99 {:?}",
        mean(&l_rps),
        med(&l_lat, 0),
        med(&l_lat, 1)
    );
    println!(
        "  load balancer throughput: {:.0}% of direct; added p50 latency {:?}; errors {errors}",
        100.0 * mean(&l_rps) / mean(&d_rps),
        med(&l_lat, 0).saturating_sub(med(&d_lat, 0))
    );
    let stats = lb.stats();
    println!(
        "  balancer: {} accepted, {} forwarded, {} failed",
        stats.accepted, stats.forwarded, stats.failed
    );
    assert_eq!(errors, 0, "requests failed");
    assert_eq!(stats.failed, 0, "the balancer failed connections");
    lb.shutdown();
    ecs.stop_task(StopTask::new(cluster.clone(), task.task_id.clone()).with_reason("bench done"))
        .unwrap();
    let _ = tokio::time::timeout(
        Duration::from_secs(30),
        ecs.wait_for(&task.task_id, |t| t.last_status == TaskStatus::Stopped),
    )
    .await;
}
