//! Load balancing end to end on real Docker: a service of busybox httpd tasks behind
//! the built-in TCP load balancer, a bounded load generator on loopback sending requests
//! through it during a rolling deployment and a scale-in: no request fails, and every
//! task of both revisions answers some.

#[path = "support/engines.rs"]
mod engines;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use ecs::control::{DeleteService, EcsConfig, ListTasks, RegisterContainerInstance};
use ecs::load_balancer::{HealthCheck, Matcher, TcpLoadBalancer, TcpLoadBalancerConfig};
use ecs::service::{
    CreateService, DeploymentConfiguration, LoadBalancer, Service, ServiceStatus, UpdateService,
};
use ecs::{ClusterName, Ecs, ServiceName, TaskDefinition};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::sync::Mutex;
use tokio::time::timeout;

/// Revision `version`: httpd answering `v<version> <hostname>` (the hostname is the
/// container's short id, so each answer names its task).
fn web(family: &str, version: u32) -> TaskDefinition {
    let image = engines::image();
    TaskDefinition::from_json(&format!(
        r#"{{"family": "{family}", "containerDefinitions": [
            {{"name": "web", "image": "{image}", "memory": 32, "cpu": 64,
              "command": ["sh", "-c", "mkdir -p /srv && echo v{version} $(hostname) > /srv/index.html && exec httpd -f -p 80 -h /srv"],
              "linuxParameters": {{"initProcessEnabled": true}}, "stopTimeout": 5,
              "portMappings": [{{"containerPort": 80, "hostPort": 0}}],
              "healthCheck": {{"command": ["CMD-SHELL", "wget -q -O /dev/null http://127.0.0.1/ || exit 1"],
                              "interval": 5, "timeout": 2, "retries": 2, "startPeriod": 1}}}}]}}"#
    ))
    .unwrap()
    .definition
}

/// Requests through the load balancer until told to stop (at most `cap`), counting
/// failures and recording who answered.
struct Load {
    stop: Arc<AtomicBool>,
    ok: Arc<AtomicU64>,
    failed: Arc<AtomicU64>,
    answers: Arc<Mutex<BTreeMap<String, u64>>>,
    workers: Vec<tokio::task::JoinHandle<()>>,
}

impl Load {
    fn start(address: std::net::SocketAddr, workers: usize, cap: u64) -> Self {
        let stop = Arc::new(AtomicBool::new(false));
        let ok = Arc::new(AtomicU64::new(0));
        let failed = Arc::new(AtomicU64::new(0));
        let answers = Arc::new(Mutex::new(BTreeMap::new()));
        let handles = (0..workers)
            .map(|_| {
                let (stop, ok, failed, answers) =
                    (stop.clone(), ok.clone(), failed.clone(), answers.clone());
                tokio::spawn(async move {
                    while !stop.load(Ordering::Relaxed)
                        && ok.load(Ordering::Relaxed) + failed.load(Ordering::Relaxed) < cap
                    {
                        match timeout(Duration::from_secs(5), get(address)).await {
                            Ok(Ok(body)) => {
                                ok.fetch_add(1, Ordering::Relaxed);
                                *answers.lock().await.entry(body).or_insert(0) += 1;
                            }
                            Ok(Err(e)) => {
                                failed.fetch_add(1, Ordering::Relaxed);
                                eprintln!("request failed: {e}");
                            }
                            Err(_) => {
                                failed.fetch_add(1, Ordering::Relaxed);
                                eprintln!("request timed out");
                            }
                        }
                        tokio::time::sleep(Duration::from_millis(5)).await;
                    }
                })
            })
            .collect();
        Self {
            stop,
            ok,
            failed,
            answers,
            workers: handles,
        }
    }

    async fn finish(self) -> (u64, u64, BTreeMap<String, u64>) {
        self.stop.store(true, Ordering::Relaxed);
        for w in self.workers {
            w.await.unwrap();
        }
        let answers = self.answers.lock().await.clone();
        (
            self.ok.load(Ordering::Relaxed),
            self.failed.load(Ordering::Relaxed),
            answers,
        )
    }
}

/// One HTTP/1.0 GET; the body's first line, or an error for anything but a 200.
async fn get(address: std::net::SocketAddr) -> std::io::Result<String> {
    let mut s = tokio::net::TcpStream::connect(address).await?;
    s.write_all(b"GET / HTTP/1.0\r\nHost: lb\r\n\r\n").await?;
    let mut raw = Vec::new();
    s.read_to_end(&mut raw).await?;
    let text = String::from_utf8_lossy(&raw);
    if !text.starts_with("HTTP/1.0 200") && !text.starts_with("HTTP/1.1 200") {
        return Err(std::io::Error::other(format!("answer: {text:?}")));
    }
    let body = text.split("\r\n\r\n").nth(1).unwrap_or_default();
    Ok(body.trim().to_owned())
}

async fn wait(
    ecs: &Ecs,
    c: &ClusterName,
    s: &ServiceName,
    what: &str,
    f: impl Fn(&Service) -> bool,
) {
    engines::wait_for_service(ecs, c, s, what, Duration::from_secs(180), f).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_request_fails_during_a_rolling_deployment_and_a_scale_in() {
    let docker = engines::docker();
    let mut config = EcsConfig::default();
    config.service_throttle.stable_after = Duration::from_secs(2);
    let ecs = Ecs::new(config);
    let cluster: ClusterName = format!("lb-{}", std::process::id()).parse().unwrap();
    let service: ServiceName = "web".parse().unwrap();
    ecs.create_cluster(cluster.clone()).unwrap();
    ecs.register_container_instance(RegisterContainerInstance::new(
        cluster.clone(),
        "i-docker".parse().unwrap(),
        Arc::new(docker),
    ))
    .await
    .unwrap();
    let family = format!("lb-web-{}", std::process::id());
    let v1 = ecs
        .register_task_definition(web(&family, 1))
        .unwrap()
        .reference;
    let v2 = ecs
        .register_task_definition(web(&family, 2))
        .unwrap()
        .reference;

    let lb = Arc::new(
        TcpLoadBalancer::bind(
            TcpLoadBalancerConfig::default()
                .with_name("web-tg")
                .with_health_check(
                    HealthCheck::http("/", Matcher::default())
                        .with_interval(Duration::from_secs(1))
                        .with_timeout(Duration::from_secs(1))
                        .with_healthy_threshold(2),
                )
                .with_deregistration_delay(Duration::from_secs(10)),
        )
        .await
        .unwrap(),
    );
    ecs.register_target_group("web-tg", lb.clone());
    ecs.create_service(
        CreateService::new(cluster.clone(), service.clone(), v1.clone(), 3)
            .with_load_balancer(LoadBalancer::target_group("web-tg", "web", 80))
            .with_deployment_configuration(
                DeploymentConfiguration::default().with_percents(100, 200),
            ),
    )
    .unwrap();
    wait(&ecs, &cluster, &service, "steady on v1", |s| s.is_steady()).await;
    assert_eq!(lb.stats().targets.len(), 3);

    let load = Load::start(lb.local_addr(), 4, 100_000);
    // Some traffic to the first revision, then the rollout under load.
    timeout(Duration::from_secs(30), async {
        while load.ok.load(Ordering::Relaxed) < 200 {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    })
    .await
    .expect("traffic flows");
    ecs.update_service(
        UpdateService::new(cluster.clone(), service.clone()).with_task_definition(v2.clone()),
    )
    .unwrap();
    wait(&ecs, &cluster, &service, "steady on v2", |s| {
        s.is_steady() && s.task_definition == v2
    })
    .await;
    let after_rollout = load.ok.load(Ordering::Relaxed);
    ecs.update_service(UpdateService::new(cluster.clone(), service.clone()).with_desired_count(1))
        .unwrap();
    wait(&ecs, &cluster, &service, "scaled in to 1", |s| {
        s.is_steady() && s.running_count == 1
    })
    .await;
    // A little more traffic on the last task.
    let floor = load.ok.load(Ordering::Relaxed) + 100;
    timeout(Duration::from_secs(30), async {
        while load.ok.load(Ordering::Relaxed) < floor {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    })
    .await
    .expect("traffic flows after the scale-in");
    let (ok, failed, answers) = load.finish().await;
    println!(
        "{ok} requests answered, {failed} failed; {} after the rollout; answers: {answers:?}",
        ok - after_rollout
    );
    assert_eq!(
        failed, 0,
        "requests failed during the deployment or the scale-in"
    );
    assert_eq!(lb.stats().failed, 0);

    // Every task of the service, of both revisions, answered.
    let ids = ecs.list_tasks(ListTasks::new(cluster.clone())).unwrap();
    let tasks = ecs.describe_tasks(&cluster, &ids).unwrap();
    assert_eq!(tasks.len(), 6, "3 of v1, 3 of v2");
    let answered: BTreeSet<&str> = answers
        .keys()
        .filter_map(|a| a.split_whitespace().nth(1))
        .collect();
    for t in &tasks {
        let id = t.containers[0].runtime_id.clone().unwrap().0;
        assert!(
            answered.contains(&id[..12]),
            "task {} ({}) got no traffic",
            t.task_id,
            t.task_definition
        );
    }
    assert!(
        answers.keys().any(|a| a.starts_with("v1 "))
            && answers.keys().any(|a| a.starts_with("v2 "))
    );

    ecs.delete_service(DeleteService::new(cluster.clone(), service.clone()).with_force(true))
        .unwrap();
    wait(&ecs, &cluster, &service, "INACTIVE", |s| {
        s.status == ServiceStatus::Inactive
    })
    .await;
    lb.shutdown();
}
