//! Capacity on real engines: from a burst of demand (a service from 0 to 12 tasks, three
//! instances' worth) to every task RUNNING, through a capacity provider whose instances
//! are Docker daemons launched on this machine ([`LocalDockerInstances`]); beside it,
//! the provider's own launch time (one instance, then three at once, launched and
//! terminated straight through the provider), and the same burst on three instances
//! already there (the group's minimum at 3: starting the containers alone). What
//! capacity adds is the burst's time less those two: managed scaling's decision,
//! registering the instances, placing the tasks that waited.
//!
//! ```text
//! cargo bench --bench capacity --features docker
//! ECS_CAPACITY_RUNS=5 cargo bench --bench capacity --features docker
//! ```
//! Needs root and the engines of `scripts/engines`.

use std::sync::Arc;
use std::time::{Duration, Instant};

use ecs::capacity::{
    CapacityProviderStrategyItem, InstanceGroup, InstanceProvider, ManagedScaling,
};
use ecs::cluster::Resources;
use ecs::config::{CapacityConfig, EcsConfig};
use ecs::control::{CreateCapacityProvider, ListTasks};
use ecs::docker::LocalDockerInstances;
use ecs::service::{CreateService, UpdateService};
use ecs::task::TaskStatus;
use ecs::{ClusterName, Ecs, TaskDefinition};

const TASKS: u32 = 12;

fn env(name: &str, default: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| default.to_owned())
}

fn runs() -> usize {
    // Under `cargo test` (no `--bench`), one run: the figures are for `cargo bench`.
    if !std::env::args().any(|a| a == "--bench") {
        return 1;
    }
    env("ECS_CAPACITY_RUNS", "3").parse().unwrap_or(3)
}

fn provider(group: &str) -> LocalDockerInstances {
    LocalDockerInstances::new(
        group,
        format!("/var/lib/ecs-cap/{group}"),
        Resources::new(1024, 1024),
    )
    .with_images(
        &env("ECS_DOCKER_HOST", "unix:///var/run/docker.sock"),
        [env("ECS_TEST_IMAGE", "ecs-test/busybox:1")],
    )
}

/// Launches `n` instances and terminates them; how long the launch took.
async fn launch_alone(local: &LocalDockerInstances, n: u32) -> Duration {
    let started = Instant::now();
    let launched = local.launch(n).await.expect("launch");
    let took = started.elapsed();
    assert_eq!(launched.len(), n as usize);
    for i in launched {
        local.terminate(&i.id).await.expect("terminate");
    }
    took
}

/// The burst through the control plane: how long until every task ran, and until the
/// instances were let go again after the service went back to 0.
async fn burst(group: &str, min: u32) -> (Duration, Duration) {
    let local = provider(group);
    let mut config = EcsConfig::default();
    config.capacity = CapacityConfig::default().with_period(Duration::from_secs(1));
    let ecs = Ecs::new(config);
    let cluster: ClusterName = group.parse().unwrap();
    ecs.create_cluster(cluster.clone()).unwrap();
    let json = format!(
        r#"{{"family": "{group}", "containerDefinitions": [
            {{"name": "app", "image": "{}", "memory": 64, "cpu": 256,
              "command": ["sh", "-c", "trap 'exit 0' TERM; while true; do sleep 1; done"],
              "stopTimeout": 5}}]}}"#,
        env("ECS_TEST_IMAGE", "ecs-test/busybox:1")
    );
    ecs.register_task_definition(TaskDefinition::from_json(&json).unwrap().definition)
        .unwrap();
    ecs.register_instance_group(group, InstanceGroup::new(Arc::new(local.clone()), min, 3))
        .await
        .unwrap();
    let cp: ecs::CapacityProviderName = group.parse().unwrap();
    ecs.create_capacity_provider(
        CreateCapacityProvider::new(cp.clone(), group).with_managed_scaling(ManagedScaling {
            instance_warmup_period: Duration::from_secs(1),
            ..ManagedScaling::default()
        }),
    )
    .unwrap();
    ecs.put_cluster_capacity_providers(
        &cluster,
        std::slice::from_ref(&cp),
        vec![CapacityProviderStrategyItem::new(cp.clone())],
    )
    .unwrap();
    let service: ecs::ServiceName = "web".parse().unwrap();
    ecs.create_service(CreateService::new(
        cluster.clone(),
        service.clone(),
        group.parse().unwrap(),
        0,
    ))
    .unwrap();
    let running = || {
        let ids = ecs.list_tasks(ListTasks::new(cluster.clone())).unwrap();
        ecs.describe_tasks(&cluster, &ids)
            .unwrap()
            .iter()
            .filter(|t| t.last_status == TaskStatus::Running)
            .count()
    };
    let waiting = Instant::now();
    while ecs.describe_cluster(&cluster).unwrap().instances().count() < min as usize {
        assert!(
            waiting.elapsed() < Duration::from_secs(120),
            "the minimum did not come up"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let started = Instant::now();
    ecs.update_service(
        UpdateService::new(cluster.clone(), service.clone()).with_desired_count(TASKS),
    )
    .unwrap();
    // When the instances were all registered, and every task placed.
    let (mut registered_at, mut placed_at) = (None, None);
    while running() < TASKS as usize {
        assert!(
            started.elapsed() < Duration::from_secs(300),
            "the burst did not run in 5 minutes"
        );
        if registered_at.is_none()
            && ecs.describe_cluster(&cluster).unwrap().instances().count() == 3
        {
            registered_at = Some(started.elapsed());
        }
        if placed_at.is_none() {
            let ids = ecs.list_tasks(ListTasks::new(cluster.clone())).unwrap();
            let tasks = ecs.describe_tasks(&cluster, &ids).unwrap();
            if tasks.len() == TASKS as usize && tasks.iter().all(|t| t.container_instance.is_some())
            {
                placed_at = Some(started.elapsed());
            }
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let up = started.elapsed();
    if min == 0 {
        println!(
            "    burst timeline: 3 instances registered at {}, every task placed at {}, RUNNING at {}",
            registered_at.map_or("-".into(), s),
            placed_at.map_or("-".into(), s),
            s(up)
        );
    }
    if min > 0 {
        // The group's minimum stays: let it go to measure nothing more.
        ecs.delete_service(
            ecs::control::DeleteService::new(cluster.clone(), service).with_force(true),
        )
        .unwrap();
        // Managed scaling stops with the control plane: nothing relaunches them.
        drop(ecs);
        for i in local.instances().await.unwrap() {
            local.terminate(&i.id).await.unwrap();
        }
        return (up, Duration::ZERO);
    }
    let started = Instant::now();
    ecs.update_service(UpdateService::new(cluster.clone(), service).with_desired_count(0))
        .unwrap();
    while ecs.describe_cluster(&cluster).unwrap().instances().count() > 0
        || !local.instances().await.unwrap().is_empty()
    {
        assert!(
            started.elapsed() < Duration::from_secs(300),
            "the instances were not let go in 5 minutes"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    (up, started.elapsed())
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn s(d: Duration) -> String {
    format!("{:.2} s", d.as_secs_f64())
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    // RUST_LOG=info shows managed scaling's decisions and the provider's launches.
    if std::env::var_os("RUST_LOG").is_some() {
        let _ = tracing_subscriber::fmt()
            .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
            .try_init();
    }
    let runs = runs();
    let (mut one, mut three, mut bursts, mut downs) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    let mut ready = Vec::new();
    for run in 0..runs {
        let group = format!("bench{}x{run}", std::process::id() % 1000);
        let local = provider(&group);
        one.push(launch_alone(&local, 1).await);
        three.push(launch_alone(&local, 3).await);
        let (up, down) = burst(&format!("{group}b"), 0).await;
        bursts.push(up);
        downs.push(down);
        ready.push(burst(&format!("{group}r"), 3).await.0);
        for suffix in ["", "b", "r"] {
            let _ = std::fs::remove_dir(format!("/var/lib/ecs-cap/{group}{suffix}"));
        }
    }
    println!("capacity on local Docker engines, {runs} run(s), medians [all runs]");
    println!(
        "  the provider alone: launch 1 instance  {} {:?}",
        s(median(one.clone())),
        one.iter().map(|d| s(*d)).collect::<Vec<_>>()
    );
    println!(
        "  the provider alone: launch 3 instances {} {:?}",
        s(median(three.clone())),
        three.iter().map(|d| s(*d)).collect::<Vec<_>>()
    );
    println!(
        "  burst 0 -> {TASKS} tasks (3 instances) to every task RUNNING {} {:?}",
        s(median(bursts.clone())),
        bursts.iter().map(|d| s(*d)).collect::<Vec<_>>()
    );
    println!(
        "  back to 0 tasks, every instance terminated {} {:?}",
        s(median(downs.clone())),
        downs.iter().map(|d| s(*d)).collect::<Vec<_>>()
    );
    println!(
        "  the same burst on 3 instances already there {} {:?}",
        s(median(ready.clone())),
        ready.iter().map(|d| s(*d)).collect::<Vec<_>>()
    );
    let overhead = median(bursts).saturating_sub(median(three) + median(ready));
    println!(
        "  what capacity adds beyond launching and starting: {}",
        s(overhead)
    );
}
