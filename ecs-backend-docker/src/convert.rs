//! The only file that speaks bollard's types: container specs to Docker's create body,
//! Docker's answers to the core's types, Docker's errors to [`RuntimeError`], log frames
//! to lines, exec requests and their output.

use std::collections::{BTreeMap, HashMap};

use bollard::container::LogOutput;
use bollard::errors::Error as DockerError;
use bollard::exec::{CreateExecOptions, StartExecOptions};
use bollard::models::{
    ContainerCreateBody, ContainerInspectResponse, ContainerStateStatusEnum, ContainerSummary,
    ContainerSummaryHealthStatusEnum, ContainerSummaryStateEnum, EndpointSettings, EventMessage,
    ExecInspectResponse, HealthConfig, HealthStatusEnum, HostConfig, HostConfigLogConfig, Ipam,
    NetworkCreateRequest, NetworkingConfig, PortBinding as DockerPortBinding, PortSummaryTypeEnum,
    ResourcesUlimits,
};
use bollard::query_parameters::{LogsOptions, LogsOptionsBuilder};
use ecs_core::runtime::{
    ContainerEvent, ContainerEventKind, ContainerId, ContainerInfo, ContainerNetwork,
    ContainerSpec, ContainerState, ExecChunk, ExecSpec, HealthStatus, LogLine, LogOptions,
    LoggingSpec, MountSpec, RuntimeError, StdStream,
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
    // Service Connect's network replaces the default bridge, in bridge mode only.
    let joined = spec.network.as_ref().filter(|_| network_mode == "bridge");
    let links: Vec<String> = spec.links.iter().map(|(n, a)| format!("{n}:{a}")).collect();
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
        network_mode: Some(
            joined
                .map_or(network_mode, |n| n.network.as_str())
                .to_owned(),
        ),
        port_bindings: (!port_bindings.is_empty() && network_mode == "bridge")
            .then_some(port_bindings),
        privileged: spec.privileged.then_some(true),
        readonly_rootfs: spec.readonly_root_filesystem.then_some(true),
        links: (!links.is_empty()).then(|| links.clone()),
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
        log_config: spec.logging.as_ref().map(log_config),
        ..Default::default()
    };
    let nanos = |d: std::time::Duration| i64::try_from(d.as_nanos()).unwrap_or(i64::MAX);
    ContainerCreateBody {
        image: Some(spec.image.clone()),
        cmd: spec.command.clone(),
        entrypoint: spec.entry_point.clone(),
        env: Some(
            spec.full_environment()
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
        networking_config: joined.map(|n| NetworkingConfig {
            endpoints_config: Some(HashMap::from([(
                n.network.clone(),
                EndpointSettings {
                    // The network's embedded DNS answers these names with this container.
                    aliases: (!n.aliases.is_empty()).then(|| n.aliases.clone()),
                    // Docker reads legacy links on a user-defined network from here (only
                    // the default bridge reads HostConfig's), as its CLI sends them.
                    links: (!links.is_empty()).then_some(links),
                    ..Default::default()
                },
            )])),
        }),
        ..Default::default()
    }
}

/// The create request of Service Connect's network `name`: a bridge (user-defined, so
/// with Docker's embedded DNS) labelled `labels`.
pub(crate) fn network_create(
    name: &str,
    labels: &BTreeMap<String, String>,
) -> NetworkCreateRequest {
    NetworkCreateRequest {
        name: name.to_owned(),
        driver: Some("bridge".into()),
        labels: Some(labels.iter().map(|(k, v)| (k.clone(), v.clone())).collect()),
        ..Default::default()
    }
}

/// A container's log driver and its options as Docker takes them (`HostConfig.LogConfig`):
/// the task definition's, as they are (Docker's own drivers and option names).
fn log_config(logging: &LoggingSpec) -> HostConfigLogConfig {
    HostConfigLogConfig {
        typ: Some(logging.driver.as_str().to_owned()),
        config: (!logging.options.is_empty()).then(|| {
            logging
                .options
                .iter()
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect()
        }),
    }
}

/// Docker's query for `options`. Its `since` and `until` are whole seconds (bollard sends
/// them as integers), so the query takes the whole seconds around them and
/// [`log_lines`]' caller keeps only the lines within them, by the lines' own
/// nanosecond times (asked for always). Its `tail` counts lines over both streams before
/// the other filters, as [`LogOptions::tail`] means it.
pub(crate) fn logs_options(options: &LogOptions) -> LogsOptions {
    let seconds = |t: jiff::Timestamp, up: bool| {
        let s = t.as_second() + i64::from(up && t.subsec_nanosecond() > 0);
        i32::try_from(s).unwrap_or(if s < 0 { 1 } else { i32::MAX })
    };
    let mut b = LogsOptionsBuilder::new()
        .follow(options.follow)
        .stdout(options.stdout)
        .stderr(options.stderr)
        .timestamps(true);
    if let Some(since) = options.since {
        // 0 means "from the start": a time before the epoch is that too.
        b = b.since(seconds(since, false).max(0));
    }
    if let Some(until) = options.until {
        // 0 means "no end": the first second is the earliest end Docker can take.
        b = b.until(seconds(until, true).max(1));
    }
    if let Some(tail) = options.tail {
        b = b.tail(&tail.to_string());
    }
    b.build()
}

/// The lines of one frame of Docker's log stream (written with their times).
pub(crate) fn log_lines(frame: LogOutput) -> Vec<LogLine> {
    let (stream, bytes) = match frame {
        LogOutput::StdErr { message } => (StdStream::Stderr, message),
        LogOutput::StdOut { message } | LogOutput::Console { message } => {
            (StdStream::Stdout, message)
        }
        LogOutput::StdIn { .. } => return Vec::new(),
    };
    LogLine::parse_chunk(stream, &bytes)
}

/// An exec's creation request for `spec`.
pub(crate) fn exec_options(spec: &ExecSpec) -> CreateExecOptions<String> {
    CreateExecOptions {
        cmd: Some(spec.command.clone()),
        attach_stdin: Some(spec.interactive),
        attach_stdout: Some(true),
        attach_stderr: Some(true),
        tty: Some(spec.tty),
        ..Default::default()
    }
}

/// How an exec created for `spec` is started: attached, on a terminal if asked.
pub(crate) fn exec_start(spec: &ExecSpec) -> StartExecOptions {
    StartExecOptions {
        detach: false,
        tty: spec.tty,
        output_capacity: None,
    }
}

/// A chunk of an exec's output (a terminal's comes as one stream: standard output).
pub(crate) fn exec_chunk(frame: LogOutput) -> Option<ExecChunk> {
    match frame {
        LogOutput::StdErr { message } => Some(ExecChunk::new(StdStream::Stderr, message.to_vec())),
        LogOutput::StdOut { message } | LogOutput::Console { message } => {
            Some(ExecChunk::new(StdStream::Stdout, message.to_vec()))
        }
        LogOutput::StdIn { .. } => None,
    }
}

/// An exec's exit code once it has exited (`None` while it runs).
pub(crate) fn exec_exit_code(r: &ExecInspectResponse) -> Option<i32> {
    if r.running == Some(true) {
        return None;
    }
    Some(
        r.exit_code
            .and_then(|c| i32::try_from(c).ok())
            .unwrap_or(-1),
    )
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

/// A container as Docker's list describes it, without asking for more: the same state,
/// health and ports as [`info`] gives from an inspect of it, except what the list does
/// not carry. The exit code and the health come from the status text as `docker ps`
/// shows it (API 1.41 has no other field for either; a newer engine's `Health` field is
/// preferred when present): `Exited (137) 3 seconds ago`, `Up 2 minutes (healthy)`,
/// `Up 1 second (unhealthy)`, `Up 3 seconds (health: starting)`. Never OOM-killed
/// (the list does not say). Docker's text shows the health of running containers only:
/// an exited container's is unknown here, where inspect says what its last check found
/// (Docker turns it `unhealthy` when the container stops). A dead container or one being
/// removed shows no exit code: 0 here.
pub(crate) fn summary_info(c: ContainerSummary) -> ContainerInfo {
    let status = c.status.as_deref().unwrap_or("");
    let run_state = match c.state {
        Some(
            ContainerSummaryStateEnum::RUNNING
            | ContainerSummaryStateEnum::RESTARTING
            | ContainerSummaryStateEnum::PAUSED,
        ) => ContainerState::Running,
        Some(ContainerSummaryStateEnum::CREATED) | None => ContainerState::Created,
        Some(_) => ContainerState::Exited {
            exit_code: status_exit_code(status).unwrap_or(0),
        },
    };
    let health = match c.health.and_then(|h| h.status) {
        Some(ContainerSummaryHealthStatusEnum::HEALTHY) => HealthStatus::Healthy,
        Some(ContainerSummaryHealthStatusEnum::UNHEALTHY) => HealthStatus::Unhealthy,
        Some(_) => HealthStatus::Unknown,
        None => status_health(status),
    };
    let mut by_key: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for p in c.ports.unwrap_or_default() {
        // A port exposed but not published has no public port, as in inspect's map.
        let hosts = by_key
            .entry(format!(
                "{}/{}",
                p.private_port,
                match p.typ {
                    Some(PortSummaryTypeEnum::UDP) => "udp",
                    Some(PortSummaryTypeEnum::SCTP) => "sctp",
                    _ => "tcp",
                }
            ))
            .or_default();
        if let Some(public) = p.public_port {
            hosts.push(public.to_string());
        }
    }
    // Its own name is the one without a further '/' (the others are legacy links'
    // aliases, `/linking/alias`).
    let names = c.names.unwrap_or_default();
    let name = names
        .iter()
        .map(|n| n.trim_start_matches('/'))
        .find(|n| !n.contains('/'))
        .or_else(|| names.first().map(|n| n.trim_start_matches('/')))
        .unwrap_or_default()
        .to_owned();
    let mut out = ContainerInfo::new(
        ContainerId(c.id.unwrap_or_default()),
        name,
        c.labels.unwrap_or_default().into_iter().collect(),
        run_state,
    );
    out.health = health;
    out.ports = ecs_core::runtime::port_bindings(by_key);
    out
}

/// The exit code in Docker's status text of a stopped container (`Exited (137) 3 seconds
/// ago`; a restarting one's, `Restarting (1) 2 seconds ago`, is its last exit).
fn status_exit_code(status: &str) -> Option<i32> {
    let rest = status
        .strip_prefix("Exited (")
        .or_else(|| status.strip_prefix("Restarting ("))?;
    rest.split_once(')')?.0.trim().parse().ok()
}

/// The health in Docker's status text of a running container: the parenthesised end of
/// `Up 2 minutes (healthy)`, `(unhealthy)` or `(health: starting)`; none is unknown.
fn status_health(status: &str) -> HealthStatus {
    if !status.starts_with("Up ") {
        return HealthStatus::Unknown;
    }
    match status.rsplit_once('(').map(|(_, end)| end.trim_end()) {
        Some("healthy)") => HealthStatus::Healthy,
        Some("unhealthy)") => HealthStatus::Unhealthy,
        _ => HealthStatus::Unknown,
    }
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

/// A network's first IPv4 subnet and its gateway (from its IPAM configuration: inspect's
/// and the list's), where its containers reach the host.
pub(crate) fn container_network(ipam: Option<&Ipam>) -> Option<ContainerNetwork> {
    ipam?
        .config
        .as_ref()?
        .iter()
        .filter_map(|c| ContainerNetwork::parse(c.gateway.as_deref(), c.subnet.as_deref()?))
        .find(|n| n.gateway.is_ipv4())
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

/// Of the networks Docker lists, those named exactly `name` (its name filter matches
/// parts of names): the one to keep, and the ids of the others. The one kept is the
/// oldest, the one any caller may already have been given (ties, and times that do not
/// parse, go to the smallest id), so that every caller keeps the same one.
pub(crate) fn settled<'a>(
    networks: &'a [bollard::models::Network],
    name: &str,
) -> Option<(&'a bollard::models::Network, Vec<String>)> {
    let mut named: Vec<_> = networks
        .iter()
        .filter(|n| n.name.as_deref() == Some(name))
        .map(|n| {
            let created = n
                .created
                .as_deref()
                .and_then(|c| c.parse::<jiff::Timestamp>().ok())
                .unwrap_or(jiff::Timestamp::MAX);
            (created, n.id.as_deref().unwrap_or(""), n)
        })
        .collect();
    named.sort_by(|a, b| (a.0, a.1).cmp(&(b.0, b.1)));
    let mut named = named.into_iter().map(|(_, _, n)| n);
    let keep = named.next()?;
    Some((keep, named.filter_map(|n| n.id.clone()).collect()))
}

/// Whether Docker refused a network's name as ambiguous: more than one network has it
/// (Docker 20.10 creates a second network of a name in use; see `settle_network`).
pub(crate) fn ambiguous(e: &DockerError) -> bool {
    matches!(
        e,
        DockerError::DockerResponseServerError {
            status_code: 400,
            message,
        } if message.contains("ambiguous")
    )
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

#[cfg(test)]
mod tests {
    use bollard::models::{ContainerSummaryHealth, Network, PortSummary};
    use ecs_core::runtime::{NetworkAttachment, PortBinding};

    use super::*;

    fn on_network(mode: NetworkMode) -> ContainerCreateBody {
        let mut spec = ContainerSpec::new("web", "busybox");
        spec.network_mode = mode;
        spec.links = vec![("db-1".into(), "db".into())];
        spec.network = Some(NetworkAttachment {
            network: "ecs-sc-ns".into(),
            aliases: vec!["web".into(), "web.ns".into()],
        });
        create_body(&spec, "0.0.0.0")
    }

    #[test]
    fn a_bridge_container_joins_its_network_with_its_aliases_and_links() {
        for mode in [NetworkMode::Bridge, NetworkMode::Awsvpc] {
            let body = on_network(mode);
            let host = body.host_config.unwrap();
            assert_eq!(host.network_mode.as_deref(), Some("ecs-sc-ns"));
            assert_eq!(host.links, Some(vec!["db-1:db".to_owned()]));
            let endpoints = body.networking_config.unwrap().endpoints_config.unwrap();
            assert_eq!(endpoints.len(), 1);
            let endpoint = &endpoints["ecs-sc-ns"];
            assert_eq!(
                endpoint.aliases,
                Some(vec!["web".to_owned(), "web.ns".to_owned()])
            );
            assert_eq!(endpoint.links, Some(vec!["db-1:db".to_owned()]));
        }
    }

    #[test]
    fn host_and_none_modes_join_no_network() {
        for (mode, name) in [(NetworkMode::Host, "host"), (NetworkMode::None, "none")] {
            let body = on_network(mode);
            assert_eq!(
                body.host_config.unwrap().network_mode.as_deref(),
                Some(name)
            );
            assert!(body.networking_config.is_none());
        }
    }

    #[test]
    fn of_duplicate_networks_the_oldest_is_kept() {
        let network = |id: &str, name: &str, created: &str| Network {
            id: Some(id.into()),
            name: Some(name.into()),
            created: Some(created.into()),
            ..Default::default()
        };
        let listed = [
            // Docker's times drop trailing zeros: as text, this one sorts first.
            network("aaa", "ns", "2026-12-03T07:16:13.95Z"),
            network("ccc", "ns", "2026-12-03T07:16:13.9Z"),
            network("bbb", "ns-other", "2020-01-01T00:00:00Z"),
            // As old as ccc: the smaller id is kept.
            network("ddd", "ns", "2026-12-03T07:16:13.900Z"),
        ];
        let (keep, others) = settled(&listed, "ns").unwrap();
        assert_eq!(keep.id.as_deref(), Some("ccc"));
        assert_eq!(others, ["ddd", "aaa"]);
        assert!(settled(&listed, "missing").is_none());
        let (keep, others) = settled(&listed, "ns-other").unwrap();
        assert_eq!((keep.id.as_deref(), others.len()), (Some("bbb"), 0));
    }

    fn summary(state: ContainerSummaryStateEnum, status: &str) -> ContainerSummary {
        ContainerSummary {
            id: Some("c0ffee".into()),
            names: Some(vec!["/web".into()]),
            labels: Some(HashMap::from([("ecs.task".into(), "t1".into())])),
            state: Some(state),
            status: Some(status.into()),
            ..Default::default()
        }
    }

    fn state_and_health(
        state: ContainerSummaryStateEnum,
        status: &str,
    ) -> (ContainerState, HealthStatus) {
        let info = summary_info(summary(state, status));
        (info.state, info.health)
    }

    #[test]
    fn a_running_containers_health_is_read_from_its_status() {
        use ContainerSummaryStateEnum::RUNNING;
        for (status, health) in [
            ("Up 2 minutes (healthy)", HealthStatus::Healthy),
            ("Up About a minute (healthy)", HealthStatus::Healthy),
            ("Up 1 second (unhealthy)", HealthStatus::Unhealthy),
            ("Up 3 seconds (health: starting)", HealthStatus::Unknown),
            ("Up 7 seconds", HealthStatus::Unknown),
            ("Up Less than a second", HealthStatus::Unknown),
            // Paused: Docker's text no longer shows the health.
            ("Up 2 minutes (Paused)", HealthStatus::Unknown),
        ] {
            assert_eq!(
                state_and_health(RUNNING, status),
                (ContainerState::Running, health),
                "{status:?}"
            );
        }
    }

    #[test]
    fn an_exited_containers_exit_code_is_read_from_its_status() {
        use ContainerSummaryStateEnum::EXITED;
        for (status, exit_code) in [
            ("Exited (137) 3 seconds ago", 137),
            ("Exited (0) About a minute ago", 0),
            ("Exited (3) 2 hours ago", 3),
            ("Exited (-1) 5 seconds ago", -1),
        ] {
            assert_eq!(
                state_and_health(EXITED, status),
                (ContainerState::Exited { exit_code }, HealthStatus::Unknown),
                "{status:?}"
            );
        }
    }

    #[test]
    fn other_states_as_inspect_maps_them() {
        use ContainerSummaryStateEnum as S;
        assert_eq!(
            state_and_health(S::CREATED, "Created"),
            (ContainerState::Created, HealthStatus::Unknown)
        );
        assert_eq!(
            state_and_health(S::RESTARTING, "Restarting (1) 2 seconds ago"),
            (ContainerState::Running, HealthStatus::Unknown)
        );
        assert_eq!(
            state_and_health(S::PAUSED, "Up 2 minutes (Paused)").0,
            ContainerState::Running
        );
        // No exit code in the text: 0.
        assert_eq!(
            state_and_health(S::DEAD, "Dead").0,
            ContainerState::Exited { exit_code: 0 }
        );
        assert_eq!(
            state_and_health(S::REMOVING, "Removal In Progress").0,
            ContainerState::Exited { exit_code: 0 }
        );
    }

    #[test]
    fn a_newer_engines_health_field_wins_over_the_text() {
        let mut c = summary(ContainerSummaryStateEnum::RUNNING, "Up 2 minutes (healthy)");
        c.health = Some(ContainerSummaryHealth {
            status: Some(ContainerSummaryHealthStatusEnum::UNHEALTHY),
            ..Default::default()
        });
        assert_eq!(summary_info(c).health, HealthStatus::Unhealthy);
    }

    #[test]
    fn id_name_labels_and_published_ports_as_inspect_gives_them() {
        let mut c = summary(ContainerSummaryStateEnum::RUNNING, "Up 2 minutes");
        // Aliases of legacy links come with the container's own name.
        c.names = Some(vec!["/app/db".into(), "/db".into()]);
        let port = |private_port, public_port, typ, ip: &str| PortSummary {
            ip: Some(ip.into()),
            private_port,
            public_port,
            typ: Some(typ),
        };
        c.ports = Some(vec![
            // Bound on IPv4 and IPv6: one binding.
            port(80, Some(32768), PortSummaryTypeEnum::TCP, "0.0.0.0"),
            port(80, Some(32768), PortSummaryTypeEnum::TCP, "::"),
            port(53, Some(5353), PortSummaryTypeEnum::UDP, "127.0.0.1"),
            // Exposed, not published.
            port(9000, None, PortSummaryTypeEnum::TCP, ""),
        ]);
        let info = summary_info(c);
        assert_eq!(info.id, ContainerId("c0ffee".into()));
        assert_eq!(info.name, "db");
        assert_eq!(info.labels.get("ecs.task").map(String::as_str), Some("t1"));
        assert!(!info.oom_killed);
        assert_eq!(
            info.ports,
            [
                PortBinding {
                    container_port: 53,
                    host_port: 5353,
                    protocol: TransportProtocol::Udp,
                },
                PortBinding {
                    container_port: 80,
                    host_port: 32768,
                    protocol: TransportProtocol::Tcp,
                },
            ]
        );
    }
}
