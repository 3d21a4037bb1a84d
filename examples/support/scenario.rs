//! The placement scenario format of `examples/place.rs`: a cluster, a task definition,
//! a count, strategies and constraints in, placements and failures out, as JSON.

use std::collections::BTreeMap;

use ecs::TaskDefinition;
use ecs::cluster::{Cluster, InstanceRegistration, InstanceStatus, Resources};
use ecs::placement::api::{PlacementConstraint, PlacementStrategy};
use ecs::placement::{IndexedScheduler, PlacementRequest, Scheduler};
use serde::Deserialize;
use serde_json::{Value, json};

/// One container instance of a scenario.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Instance {
    id: String,
    cpu: u32,
    memory: u32,
    #[serde(default)]
    gpus: u32,
    #[serde(default)]
    status: Option<String>,
    #[serde(default = "connected", rename = "agentConnected")]
    agent_connected: bool,
    #[serde(default)]
    attributes: BTreeMap<String, Option<String>>,
}

fn connected() -> bool {
    true
}

/// A scenario: `{"instances": [...], "taskDefinition": {...}, "count": 10,
/// "placementStrategy": [...], "placementConstraints": [...]}`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct Scenario {
    instances: Vec<Instance>,
    task_definition: Value,
    #[serde(default = "one")]
    count: u32,
    #[serde(default)]
    placement_strategy: Vec<PlacementStrategy>,
    #[serde(default)]
    placement_constraints: Vec<PlacementConstraint>,
    #[serde(default)]
    group: Option<String>,
    #[serde(default)]
    seed: Option<u64>,
}

fn one() -> u32 {
    1
}

/// Runs a scenario: `{"tasks": [{"instanceId": ...}, ...], "failures": [{"reason": ..., "instances": n}, ...]}`.
pub fn run(text: &str) -> Result<Value, String> {
    let scenario: Scenario =
        serde_json::from_str(text).map_err(|e| format!("invalid scenario: {e}"))?;
    let td = TaskDefinition::from_value(scenario.task_definition)
        .map_err(|e| format!("taskDefinition: {e}"))?
        .definition;
    let mut cluster = Cluster::new("scenario".parse().map_err(|e| format!("{e}"))?);
    for (i, instance) in scenario.instances.into_iter().enumerate() {
        let at = |e: ecs::Error| format!("instances[{i}]: {e}");
        let id: ecs::InstanceId = instance.id.parse().map_err(at)?;
        let mut registration = InstanceRegistration::new(
            id.clone(),
            Resources::new(instance.cpu, instance.memory).with_gpus(instance.gpus),
        );
        for (name, value) in instance.attributes {
            // The id doubles as ecs.instance-id; the scenario may repeat it.
            if name == ecs::cluster::attributes::INSTANCE_ID {
                if value.as_deref() != Some(id.as_str()) {
                    return Err(format!(
                        "instances[{i}]: ecs.instance-id must equal the id {id}"
                    ));
                }
                continue;
            }
            registration.attributes.insert(name, value);
        }
        cluster.register_instance(registration).map_err(at)?;
        if let Some(status) = instance.status {
            let status: InstanceStatus = status.parse().map_err(at)?;
            cluster.set_status(&id, status).map_err(at)?;
        }
        cluster
            .set_agent_connected(&id, instance.agent_connected)
            .map_err(at)?;
    }
    let mut request = PlacementRequest::for_task_definition(&td, scenario.count)
        .and_then(|r| r.with_api_strategies(&scenario.placement_strategy))
        .and_then(|r| r.with_api_constraints(&scenario.placement_constraints))
        .map_err(|e| e.to_string())?;
    if let Some(group) = scenario.group {
        request = request.with_group(group);
    }
    let mut scheduler = match scenario.seed {
        Some(seed) => IndexedScheduler::with_seed(seed),
        None => IndexedScheduler::new(),
    };
    let outcome = scheduler
        .place(&mut cluster, &request)
        .map_err(|e| e.to_string())?;
    let tasks: Vec<Value> = outcome
        .placements
        .iter()
        .map(|p| json!({"instanceId": p.instance.as_str()}))
        .collect();
    let failures: Vec<Value> = outcome
        .failures
        .iter()
        .map(|f| json!({"reason": f.reason.to_string(), "instances": f.instances}))
        .collect();
    let rejections: Vec<Value> = outcome
        .rejections
        .iter()
        .map(|r| json!({"instanceId": r.instance.as_str(), "reason": r.reason.to_string()}))
        .collect();
    Ok(
        json!({"tasks": tasks, "unplaced": outcome.unplaced, "failures": failures, "rejections": rejections}),
    )
}
