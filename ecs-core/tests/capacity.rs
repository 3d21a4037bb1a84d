//! Capacity providers on the in-memory runtime with tokio's paused clock: managed
//! scaling growing and shrinking a cluster as a service's tasks need, tasks waiting for
//! capacity, random faults (launches failing and slow, instances lost) with the
//! invariants checked at every event, and the requests refused.
//!
//! One test binary; each theme is a module in `capacity/`.

#[path = "capacity/faults.rs"]
mod faults;
#[path = "capacity/launch_types.rs"]
mod launch_types;
#[path = "capacity/requests.rs"]
mod requests;
#[path = "capacity/restart.rs"]
mod restart;
#[path = "capacity/scaling.rs"]
mod scaling;
#[path = "capacity/waiting.rs"]
mod waiting;

use std::sync::Arc;
use std::time::Duration;

use ecs_core::capacity::{
    CapacityProviderStrategyItem, InMemoryInstanceProvider, InstanceGroup, ManagedScaling,
};
use ecs_core::cluster::Resources;
use ecs_core::config::CapacityConfig;
use ecs_core::control::{CreateCapacityProvider, EcsConfig};
use ecs_core::task::{Task, TaskStatus};
use ecs_core::{CapacityProviderName, ClusterName, Ecs, ServiceName, TaskDefinition};

/// Eight of these fill one instance of [`SIZE`].
const EIGHTH: &str = r#"{"family": "web", "containerDefinitions": [
    {"name": "app", "image": "busybox", "memory": 256, "cpu": 128,
     "command": ["sh", "-c", "trap 'exit 0' TERM; while true; do sleep 1; done"]}]}"#;

const SIZE: Resources = Resources::new(1024, 2048);

fn cluster() -> ClusterName {
    "dev".parse().unwrap()
}

fn web() -> ServiceName {
    "web".parse().unwrap()
}

fn cp() -> CapacityProviderName {
    "cp".parse().unwrap()
}

/// Managed scaling as the tests use it: the target, steps 2 to 10, warm-up 60 s.
fn scaling(target: u32) -> ManagedScaling {
    ManagedScaling {
        enabled: true,
        target_capacity: target,
        minimum_scaling_step_size: 2,
        maximum_scaling_step_size: 10,
        instance_warmup_period: Duration::from_secs(60),
    }
}

/// A control plane with cluster `dev`, task definition `web` (an eighth of an
/// instance), and capacity provider `cp` on group `asg` of `min`..`max` instances that
/// launch after `delay`, the cluster's default strategy.
async fn plane(
    min: u32,
    max: u32,
    delay: Duration,
    managed: ManagedScaling,
) -> (Ecs, InMemoryInstanceProvider) {
    plane_with(config(), min, max, delay, managed).await
}

/// The tests' configuration: managed scaling decides every 5 s.
fn config() -> EcsConfig {
    let mut config = EcsConfig::default();
    config.capacity = CapacityConfig::default().with_period(Duration::from_secs(5));
    config
}

/// [`plane`] with `config`.
async fn plane_with(
    config: EcsConfig,
    min: u32,
    max: u32,
    delay: Duration,
    managed: ManagedScaling,
) -> (Ecs, InMemoryInstanceProvider) {
    let ecs = Ecs::new(config);
    ecs.create_cluster(cluster()).unwrap();
    ecs.register_task_definition(TaskDefinition::from_json(EIGHTH).unwrap().definition)
        .unwrap();
    let provider = InMemoryInstanceProvider::new("asg", SIZE);
    provider.set_launch_delay(delay);
    ecs.register_instance_group(
        "asg",
        InstanceGroup::new(Arc::new(provider.clone()), min, max),
    )
    .await
    .unwrap();
    ecs.create_capacity_provider(
        CreateCapacityProvider::new(cp(), "asg").with_managed_scaling(managed),
    )
    .unwrap();
    ecs.put_cluster_capacity_providers(
        &cluster(),
        &[cp()],
        vec![CapacityProviderStrategyItem::new(cp())],
    )
    .unwrap();
    (ecs, provider)
}

/// Every task of the cluster.
fn tasks(ecs: &Ecs) -> Vec<Task> {
    let ids = ecs
        .list_tasks(ecs_core::control::ListTasks::new(cluster()))
        .unwrap();
    ecs.describe_tasks(&cluster(), &ids).unwrap()
}

/// The service's RUNNING tasks.
fn running(ecs: &Ecs) -> usize {
    tasks(ecs)
        .iter()
        .filter(|t| t.group.service() == Some(&web()) && t.last_status == TaskStatus::Running)
        .count()
}

/// The cluster's capacity providers and default strategy, as DescribeClusters shows them.
fn cluster_providers(ecs: &Ecs) -> (Vec<CapacityProviderName>, Vec<CapacityProviderStrategyItem>) {
    let d = ecs.describe_clusters(&[cluster()]).remove(0);
    (d.capacity_providers, d.default_capacity_provider_strategy)
}

/// The cluster's registered instances.
fn registered(ecs: &Ecs) -> usize {
    ecs.describe_cluster(&cluster())
        .unwrap()
        .instances()
        .count()
}

/// Polls `check` once a simulated second until it holds, for at most `limit`.
async fn eventually(limit: Duration, what: &str, mut check: impl FnMut() -> bool) {
    let deadline = tokio::time::Instant::now() + limit;
    while !check() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "not within {limit:?}: {what}"
        );
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
}
