//! Services on the in-memory runtime with tokio's paused clock: deployments, the
//! replacement of tasks that die or turn unhealthy, instances draining, lost and
//! re-registered, DAEMON services, deletion, Service Connect, the requests refused, and the controller
//! under random faults and racing requests.
//!
//! One test binary; each theme is a module in `services/`.

mod support;

#[path = "services/daemon.rs"]
mod daemon;
#[path = "services/deletion.rs"]
mod deletion;
#[path = "services/deployments.rs"]
mod deployments;
#[path = "services/faults.rs"]
mod faults;
#[path = "services/instances.rs"]
mod instances;
#[path = "services/races.rs"]
mod races;
#[path = "services/replacement.rs"]
mod replacement;
#[path = "services/requests.rs"]
mod requests;
#[path = "services/service_connect.rs"]
mod service_connect;

use ecs_core::placement::api::{PlacementStrategy, PlacementStrategyType};
use ecs_core::service::CreateService;
use support::services::{cluster, web};

const WEB: &str = r#"{"family": "web", "containerDefinitions": [
    {"name": "app", "image": "busybox", "memory": 128, "cpu": 128,
     "command": ["sh", "-c", "trap 'exit 0' TERM; while true; do sleep 1; done"]}]}"#;

const CHECKED: &str = r#"{"family": "web", "containerDefinitions": [
    {"name": "app", "image": "busybox", "memory": 128, "cpu": 128,
     "command": ["sh", "-c", "trap 'exit 0' TERM; while true; do sleep 1; done"],
     "healthCheck": {"command": ["CMD-SHELL", "true"], "interval": 5}}]}"#;

fn service(count: u32) -> CreateService {
    CreateService::new(cluster(), web(), "web".parse().unwrap(), count)
}

fn spread_zones() -> PlacementStrategy {
    PlacementStrategy::new(
        PlacementStrategyType::Spread,
        Some("attribute:ecs.availability-zone"),
    )
}
