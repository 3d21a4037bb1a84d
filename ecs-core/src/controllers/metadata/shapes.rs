//! The task metadata endpoint's JSON (v4), in ECS's shapes, from a task, the definition
//! it runs and its containers' statistics. Pure: the server looks things up, these write
//! them.

use serde_json::{Value, json};

use crate::runtime::ContainerStats;
use crate::task::{Container, Task};
use crate::task_definition::{NetworkMode, TaskDefinition};

/// What the endpoint knows of where a task runs.
pub(crate) struct Place<'a> {
    /// Its instance's availability zone, when it has one.
    pub(crate) availability_zone: Option<&'a str>,
}

fn status(s: impl std::fmt::Display) -> String {
    s.to_string()
}

/// One container, as `${ECS_CONTAINER_METADATA_URI_V4}` answers.
pub(crate) fn container(task: &Task, c: &Container, td: &TaskDefinition) -> Value {
    let definition = td.containers().iter().find(|d| d.name() == c.name);
    let docker_id = c
        .runtime_id
        .as_ref()
        .map(ToString::to_string)
        .unwrap_or_default();
    let labels: serde_json::Map<String, Value> = definition
        .and_then(|d| d.docker_labels.clone())
        .unwrap_or_default()
        .into_iter()
        .map(|(k, v)| (k, Value::String(v)))
        .chain([
            (
                "com.amazonaws.ecs.cluster".to_owned(),
                json!(task.cluster.to_string()),
            ),
            ("com.amazonaws.ecs.container-name".to_owned(), json!(c.name)),
            (
                "com.amazonaws.ecs.task-arn".to_owned(),
                json!(task.task_arn.to_string()),
            ),
            (
                "com.amazonaws.ecs.task-definition-family".to_owned(),
                json!(task.task_definition.family.to_string()),
            ),
            (
                "com.amazonaws.ecs.task-definition-version".to_owned(),
                json!(td.revision.unwrap_or(0).to_string()),
            ),
        ])
        .collect();
    let mut out = json!({
        "DockerId": docker_id,
        "Name": c.name,
        "DockerName": crate::runtime::engine_name(td, &c.name, task.task_id.as_str()),
        "Image": c.image,
        "Labels": labels,
        "DesiredStatus": status(task.desired_status),
        "KnownStatus": status(c.last_status),
        "Limits": {
            "CPU": definition.and_then(|d| d.cpu).unwrap_or(0),
            "Memory": definition.and_then(|d| d.memory.or(d.memory_reservation)).unwrap_or(0),
        },
        "CreatedAt": task.created_at.to_string(),
        "Type": "NORMAL",
        "ContainerARN": format!("{}/{}", task.task_arn.to_string().replacen(":task/", ":container/", 1), c.name),
        "Networks": [{
            "NetworkMode": network_mode(td),
            "IPv4Addresses": [],
        }],
        "RestartCount": c.restart_count,
    });
    if let Some(started) = task.started_at {
        out["StartedAt"] = json!(started.to_string());
    }
    if let Some(code) = c.exit_code {
        out["ExitCode"] = json!(code);
    }
    if let Some(log) = definition.and_then(|d| d.log_configuration.as_ref()) {
        out["LogDriver"] = json!(log.log_driver.to_string());
        if let Some(options) = &log.options {
            out["LogOptions"] = json!(options);
        }
    }
    out
}

fn network_mode(td: &TaskDefinition) -> &'static str {
    match td.effective_network_mode() {
        NetworkMode::Host => "host",
        NetworkMode::None => "none",
        NetworkMode::Awsvpc => "awsvpc",
        _ => "bridge",
    }
}

/// The task, as `${ECS_CONTAINER_METADATA_URI_V4}/task` answers: every container of it.
pub(crate) fn task(task: &Task, td: &TaskDefinition, place: &Place<'_>) -> Value {
    let mut out = json!({
        "Cluster": task.cluster.to_string(),
        "TaskARN": task.task_arn.to_string(),
        "Family": task.task_definition.family.to_string(),
        "Revision": td.revision.unwrap_or(0).to_string(),
        "DesiredStatus": status(task.desired_status),
        "KnownStatus": status(task.last_status),
        "Containers": task.containers.iter().map(|c| container(task, c, td)).collect::<Vec<_>>(),
        "LaunchType": "EC2",
    });
    if let Some(service) = task.group.service() {
        out["ServiceName"] = json!(service.to_string());
    }
    if let Some(az) = place.availability_zone {
        out["AvailabilityZone"] = json!(az);
    }
    let mut limits = serde_json::Map::new();
    if let Some(cpu) = td.cpu_units() {
        // ECS gives the task's CPU in vCPUs here.
        limits.insert("CPU".into(), json!(f64::from(cpu) / 1024.0));
    }
    if let Some(memory) = td.memory_mib() {
        limits.insert("Memory".into(), json!(memory));
    }
    if !limits.is_empty() {
        out["Limits"] = Value::Object(limits);
    }
    if let Some(t) = task.started_at {
        out["PullStartedAt"] = json!(task.created_at.to_string());
        out["PullStoppedAt"] = json!(t.to_string());
    }
    out
}

/// When a statistics sample was read, the one before it, and the CPUs of its host.
pub(crate) struct Read<'a> {
    pub(crate) at: jiff::Timestamp,
    pub(crate) previous: Option<(&'a ContainerStats, jiff::Timestamp)>,
    pub(crate) online_cpus: u32,
}

/// Docker's `cpu_stats` (and `precpu_stats`) of a sample: `system_cpu_usage` counts
/// every CPU of the host as busy since the engine's clock began (as Docker's counts
/// host CPU time), so that the usual `cpu delta / system delta x online_cpus` is the
/// container's share of the host.
fn cpu_stats(s: Option<&ContainerStats>, online_cpus: u32) -> Value {
    let (total, system) = s.map_or((0, 0), |s| {
        (
            s.cpu_total_ns,
            s.sampled_at_ns.saturating_mul(u64::from(online_cpus)),
        )
    });
    json!({
        "cpu_usage": {"total_usage": total},
        "system_cpu_usage": system,
        "online_cpus": online_cpus,
    })
}

/// A container's statistics in the engine's stats shape (`docker stats`' JSON), as
/// `${ECS_CONTAINER_METADATA_URI_V4}/stats` answers, with the previous sample of it as
/// `precpu_stats` (zeros at the first, as Docker's first answer has); `null` while it
/// has none.
pub(crate) fn stats(c: &Container, stats: Option<&ContainerStats>, read: Read<'_>) -> Value {
    let Some(s) = stats else {
        return Value::Null;
    };
    json!({
        "read": read.at.to_string(),
        "preread": read.previous.map_or_else(
            || "0001-01-01T00:00:00Z".to_owned(),
            |(_, at)| at.to_string(),
        ),
        "name": c.name,
        "id": c.runtime_id.as_ref().map(ToString::to_string).unwrap_or_default(),
        "cpu_stats": cpu_stats(Some(s), read.online_cpus),
        "precpu_stats": cpu_stats(read.previous.map(|(p, _)| p), read.online_cpus),
        "memory_stats": {
            "usage": s.memory_bytes,
            "limit": s.memory_limit_bytes,
        },
    })
}
