//! The only file that speaks bollard's types: container specs to Docker's create body,
//! Docker's answers to the core's types, Docker's errors to [`RuntimeError`].

use std::collections::{BTreeMap, HashMap};

use bollard::errors::Error as DockerError;
use bollard::models::{
    ContainerCreateBody, ContainerInspectResponse, ContainerStateStatusEnum, EventMessage,
    HealthConfig, HealthStatusEnum, HostConfig, PortBinding as DockerPortBinding, ResourcesUlimits,
};
use ecs_core::runtime::{
    ContainerEvent, ContainerEventKind, ContainerId, ContainerInfo, ContainerSpec, ContainerState,
    HealthStatus, MountSpec, RuntimeError,
};
use ecs_core::task_definition::{NetworkMode, TransportProtocol};

const MIB: i64 = 1 << 20;

fn port_key(port: u16, protocol: TransportProtocol) -> String {
    format!("{port}/{protocol}")
}

/// The create body for `spec`, publishing ports on `publish_ip`.
pub(crate) fn create_body(spec: &ContainerSpec, publish_ip: &str) -> ContainerCreateBody {
    let mut port_bindings: HashMap<String, Option<Vec<DockerPortBinding>>> = HashMap::new();
    for p in &spec.ports {
        let binding = DockerPortBinding {
            host_ip: Some(publish_ip.to_owned()),
            // Empty asks Docker for an ephemeral port.
            host_port: Some(if p.host_port == 0 {
                String::new()
            } else {
                p.host_port.to_string()
            }),
        };
        port_bindings
            .entry(port_key(p.container_port, p.protocol))
            .or_insert_with(|| Some(Vec::new()))
            .get_or_insert_with(Vec::new)
            .push(binding);
    }
    let binds: Vec<String> = spec
        .mounts
        .iter()
        .map(|m| match m {
            MountSpec::Bind {
                host_path,
                container_path,
                read_only,
            } => {
                format!(
                    "{host_path}:{container_path}{}",
                    if *read_only { ":ro" } else { "" }
                )
            }
            MountSpec::Volume {
                name,
                container_path,
                read_only,
            } => {
                format!(
                    "{name}:{container_path}{}",
                    if *read_only { ":ro" } else { "" }
                )
            }
        })
        .collect();
    let network_mode = match spec.network_mode {
        NetworkMode::Host => "host",
        NetworkMode::None => "none",
        // awsvpc runs as bridge locally.
        _ => "bridge",
    };
    let host_config = HostConfig {
        // Docker refuses shares below 2.
        cpu_shares: spec.cpu_shares.map(|c| i64::from(c.max(2))),
        memory: spec.memory_limit_mib.map(|m| i64::from(m) * MIB),
        memory_reservation: spec.memory_reservation_mib.map(|m| i64::from(m) * MIB),
        init: spec.init.then_some(true),
        ulimits: (!spec.ulimits.is_empty()).then(|| {
            spec.ulimits
                .iter()
                .map(|u| ResourcesUlimits {
                    name: Some(u.name.to_string()),
                    soft: Some(u.soft),
                    hard: Some(u.hard),
                })
                .collect()
        }),
        binds: (!binds.is_empty()).then_some(binds),
        network_mode: Some(network_mode.to_owned()),
        port_bindings: (!port_bindings.is_empty() && network_mode == "bridge")
            .then_some(port_bindings),
        privileged: spec.privileged.then_some(true),
        readonly_rootfs: spec.readonly_root_filesystem.then_some(true),
        links: (!spec.links.is_empty())
            .then(|| spec.links.iter().map(|(n, a)| format!("{n}:{a}")).collect()),
        volumes_from: (!spec.volumes_from.is_empty()).then(|| {
            spec.volumes_from
                .iter()
                .map(|(n, ro)| format!("{n}:{}", if *ro { "ro" } else { "rw" }))
                .collect()
        }),
        extra_hosts: (!spec.extra_hosts.is_empty()).then(|| {
            spec.extra_hosts
                .iter()
                .map(|(h, ip)| format!("{h}:{ip}"))
                .collect()
        }),
        ..Default::default()
    };
    let nanos = |d: std::time::Duration| i64::try_from(d.as_nanos()).unwrap_or(i64::MAX);
    ContainerCreateBody {
        image: Some(spec.image.clone()),
        cmd: spec.command.clone(),
        entrypoint: spec.entry_point.clone(),
        env: Some(
            spec.environment
                .iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect(),
        ),
        labels: Some(
            spec.labels
                .iter()
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect(),
        ),
        exposed_ports: (!spec.ports.is_empty()).then(|| {
            spec.ports
                .iter()
                .map(|p| port_key(p.container_port, p.protocol))
                .collect()
        }),
        healthcheck: spec.health_check.as_ref().map(|h| HealthConfig {
            test: Some(h.command.clone()),
            interval: Some(nanos(h.interval)),
            timeout: Some(nanos(h.timeout)),
            retries: Some(i64::from(h.retries)),
            start_period: Some(nanos(h.start_period)),
            ..Default::default()
        }),
        user: spec.user.clone(),
        working_dir: spec.working_directory.clone(),
        hostname: spec.hostname.clone(),
        stop_timeout: i64::try_from(spec.stop_timeout.as_secs()).ok(),
        host_config: Some(host_config),
        ..Default::default()
    }
}

pub(crate) fn info(r: ContainerInspectResponse) -> ContainerInfo {
    let state = r.state.unwrap_or_default();
    let exit_code = state
        .exit_code
        .and_then(|c| i32::try_from(c).ok())
        .unwrap_or(0);
    let run_state = match state.status {
        Some(
            ContainerStateStatusEnum::RUNNING
            | ContainerStateStatusEnum::RESTARTING
            | ContainerStateStatusEnum::PAUSED,
        ) => ContainerState::Running,
        Some(ContainerStateStatusEnum::CREATED) | None => ContainerState::Created,
        Some(_) => ContainerState::Exited { exit_code },
    };
    let health = match state.health.and_then(|h| h.status) {
        Some(HealthStatusEnum::HEALTHY) => HealthStatus::Healthy,
        Some(HealthStatusEnum::UNHEALTHY) => HealthStatus::Unhealthy,
        _ => HealthStatus::Unknown,
    };
    let labels: BTreeMap<String, String> = r
        .config
        .and_then(|c| c.labels)
        .unwrap_or_default()
        .into_iter()
        .collect();
    let ports = ecs_core::runtime::port_bindings(
        r.network_settings
            .and_then(|n| n.ports)
            .unwrap_or_default()
            .into_iter()
            .map(|(key, bindings)| {
                let hosts = bindings
                    .unwrap_or_default()
                    .into_iter()
                    .filter_map(|b| b.host_port)
                    .collect();
                (key, hosts)
            }),
    );
    let mut out = ContainerInfo::new(
        ContainerId(r.id.unwrap_or_default()),
        r.name
            .unwrap_or_default()
            .trim_start_matches('/')
            .to_owned(),
        labels,
        run_state,
    );
    out.health = health;
    out.oom_killed = state.oom_killed.unwrap_or(false);
    out.ports = ports;
    out
}

/// A container event, for the actions the agent cares about.
pub(crate) fn event(e: EventMessage) -> Option<ContainerEvent> {
    let actor = e.actor?;
    let id = ContainerId(actor.id?);
    let action = e.action?;
    let kind = match action.as_str() {
        "start" => ContainerEventKind::Start,
        "die" => {
            let code = actor
                .attributes
                .as_ref()
                .and_then(|a| a.get("exitCode"))
                .and_then(|c| c.parse().ok());
            ContainerEventKind::Die {
                exit_code: code.unwrap_or(0),
            }
        }
        "oom" => ContainerEventKind::Oom,
        "health_status: healthy" => ContainerEventKind::Health(HealthStatus::Healthy),
        "health_status: unhealthy" => ContainerEventKind::Health(HealthStatus::Unhealthy),
        _ => return None,
    };
    Some(ContainerEvent { id, kind })
}

/// Docker's errors by what the caller can do about them.
pub(crate) fn error(e: DockerError) -> RuntimeError {
    match e {
        DockerError::DockerResponseServerError {
            status_code,
            message,
        } => match status_code {
            404 => RuntimeError::NotFound(message),
            409 => RuntimeError::Conflict(message),
            400 => RuntimeError::InvalidRequest(message),
            // "port is already allocated" comes back as a 500.
            _ if message.contains("already allocated") || message.contains("already in use") => {
                RuntimeError::Conflict(message)
            }
            _ => RuntimeError::Unavailable(format!("{status_code}: {message}")),
        },
        DockerError::RequestTimeoutError => RuntimeError::Timeout("request to dockerd".into()),
        other => RuntimeError::Unavailable(other.to_string()),
    }
}

/// Whether Docker answered "not modified" (already started, already stopped).
pub(crate) fn not_modified(e: &DockerError) -> bool {
    matches!(
        e,
        DockerError::DockerResponseServerError {
            status_code: 304,
            ..
        }
    )
}
