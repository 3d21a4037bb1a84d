//! The only file that speaks podman-api's types: container specs to libpod's create
//! options, libpod's answers to the core's types, its errors to [`RuntimeError`], log
//! chunks to lines, exec requests and their output.

use std::collections::BTreeMap;
use std::time::Duration;

use ecs_core::runtime::{
    ContainerId, ContainerInfo, ContainerNetwork, ContainerSpec, ContainerState, EngineLogDriver,
    ExecChunk, ExecSpec, HealthStatus, LogLine, LogOptions, LoggingSpec, MountSpec, RuntimeError,
    StdStream,
};
use ecs_core::task_definition::NetworkMode;
use podman_api::conn::TtyChunk;
use podman_api::models::{
    ContainerMount, InspectContainerData, LinuxCpu, LinuxMemory, LinuxResources, ListContainer,
    NamedVolume, Namespace, PerNetworkOptions, PortMapping, PosixRlimit, Schema2HealthConfig,
};
use podman_api::opts::{
    ContainerCreateOpts, ContainerLogsOpts, ExecCreateOpts, ExecStartOpts, NetworkCreateOpts,
};

const MIB: i64 = 1 << 20;

fn nanos(d: Duration) -> i64 {
    i64::try_from(d.as_nanos()).unwrap_or(i64::MAX)
}

/// A libpod model from its JSON (the generated models have no `Default`).
fn model<T: serde::de::DeserializeOwned>(v: serde_json::Value) -> Result<T, RuntimeError> {
    serde_json::from_value(v)
        .map_err(|e| RuntimeError::InvalidRequest(format!("libpod model: {e}")))
}

/// libpod's create options for `spec`, publishing ports on `publish_ip`.
pub(crate) fn create_opts(
    spec: &ContainerSpec,
    publish_ip: &str,
) -> Result<ContainerCreateOpts, RuntimeError> {
    let mut b = ContainerCreateOpts::builder()
        .name(&spec.name)
        .image(&spec.image)
        .labels(spec.labels.clone())
        .env(spec.full_environment())
        .stop_timeout(spec.stop_timeout.as_secs());
    if let Some(command) = &spec.command {
        b = b.command(command);
    }
    if let Some(entry_point) = &spec.entry_point {
        b = b.entrypoint(entry_point);
    }
    let nsmode = match spec.network_mode {
        NetworkMode::Host => "host",
        NetworkMode::None => "none",
        // awsvpc runs as bridge locally.
        _ => "bridge",
    };
    b = b.net_namespace(Namespace {
        nsmode: Some(nsmode.to_owned()),
        value: None,
    });
    // Service Connect's network replaces the default one (`podman`), in bridge mode only:
    // its DNS (aardvark-dns) answers the aliases with this container. (Links, which libpod
    // lacks, stay unmapped, as without it.)
    if let Some(attachment) = spec.network.as_ref().filter(|_| nsmode == "bridge") {
        b = b.networks([(
            attachment.network.clone(),
            PerNetworkOptions {
                aliases: (!attachment.aliases.is_empty()).then(|| attachment.aliases.clone()),
                interface_name: None,
                static_ips: None,
                static_mac: None,
            },
        )]);
    }
    if nsmode == "bridge" && !spec.ports.is_empty() {
        b = b.portmappings(spec.ports.iter().map(|p| PortMapping {
            container_port: Some(p.container_port),
            host_ip: Some(publish_ip.to_owned()),
            // 0 asks libpod for a free port.
            host_port: Some(p.host_port),
            protocol: Some(p.protocol.to_string()),
            range: None,
        }));
    }
    let memory: LinuxMemory = model(serde_json::json!({
        "limit": spec.memory_limit_mib.map(|m| i64::from(m) * MIB),
        "reservation": spec.memory_reservation_mib.map(|m| i64::from(m) * MIB),
    }))?;
    let cpu: Option<LinuxCpu> = spec
        .cpu_shares
        .map(|c| model(serde_json::json!({ "shares": u64::from(c.max(2)) })))
        .transpose()?;
    let mut resources: LinuxResources = model(serde_json::json!({}))?;
    resources.memory = Some(memory);
    resources.cpu = cpu;
    b = b.resource_limits(resources);
    if let Some(h) = &spec.health_check {
        b = b.health_config(Schema2HealthConfig {
            test: Some(h.command.clone()),
            interval: Some(nanos(h.interval)),
            timeout: Some(nanos(h.timeout)),
            retries: Some(i64::from(h.retries)),
            start_period: Some(nanos(h.start_period)),
        });
    }
    if spec.init {
        b = b.init(true);
    }
    if !spec.ulimits.is_empty() {
        let mut limits: Vec<PosixRlimit> = spec
            .ulimits
            .iter()
            .map(|u| PosixRlimit {
                // libpod adds the RLIMIT_ prefix itself.
                type_: Some(u.name.as_str().to_owned()),
                soft: u64::try_from(u.soft).ok().or(Some(u64::MAX)),
                hard: u64::try_from(u.hard).ok().or(Some(u64::MAX)),
            })
            .collect();
        // With explicit rlimits libpod drops containers.conf's default ulimits and sets
        // nofile and nproc to the host's maximum, which runc cannot always apply (the
        // Podman CLI fails the same way): give the ones the definition leaves out the
        // engine host's configured defaults.
        for name in ["nofile", "nproc"] {
            if !limits.iter().any(|l| l.type_.as_deref() == Some(name))
                && let Some((soft, hard)) = default_ulimit(name)
            {
                limits.push(PosixRlimit {
                    type_: Some(name.to_owned()),
                    soft: Some(soft),
                    hard: Some(hard),
                });
            }
        }
        b = b.r_limits(limits);
    }
    let mut mounts = Vec::new();
    let mut volumes = Vec::new();
    for m in &spec.mounts {
        match m {
            MountSpec::Bind {
                host_path,
                container_path,
                read_only,
            } => mounts.push(model::<ContainerMount>(serde_json::json!({
                "destination": container_path,
                "source": host_path,
                "type": "bind",
                "options": [if *read_only { "ro" } else { "rw" }],
            }))?),
            MountSpec::Volume {
                name,
                container_path,
                read_only,
            } => volumes.push(NamedVolume {
                dest: Some(container_path.clone()),
                name: Some(name.clone()),
                options: read_only.then(|| vec!["ro".into()]),
                is_anonymous: None,
            }),
        }
    }
    if !mounts.is_empty() {
        b = b.mounts(mounts);
    }
    if !volumes.is_empty() {
        b = b.volumes(volumes);
    }
    if let Some(user) = &spec.user {
        b = b.user(user);
    }
    if let Some(dir) = &spec.working_directory {
        b = b.work_dir(dir);
    }
    if let Some(hostname) = &spec.hostname {
        b = b.hostname(hostname);
    }
    if spec.privileged {
        b = b.privileged(true);
    }
    if spec.readonly_root_filesystem {
        b = b.read_only_fs(true);
    }
    if !spec.volumes_from.is_empty() {
        b = b.volumes_from(
            spec.volumes_from
                .iter()
                .map(|(n, ro)| format!("{n}:{}", if *ro { "ro" } else { "rw" })),
        );
    }
    if !spec.extra_hosts.is_empty() {
        b = b.hosts_add(spec.extra_hosts.iter().map(|(h, ip)| format!("{h}:{ip}")));
    }
    Ok(b.build())
}

/// The body of libpod's create request for `spec`: [`create_opts`] as podman-api writes
/// them, and the container's log configuration as libpod reads it. (podman-api's own
/// `log_configuration` writes Docker's shape, `{"Type", "Config"}`, where libpod's spec
/// generator reads `{"driver", "options", "size"}`: libpod would silently keep its
/// default driver.)
pub(crate) fn create_body(spec: &ContainerSpec, publish_ip: &str) -> Result<String, RuntimeError> {
    let opts = create_opts(spec, publish_ip)?;
    let Some(logging) = &spec.logging else {
        return opts
            .serialize()
            .map_err(|e| RuntimeError::InvalidRequest(format!("libpod create body: {e}")));
    };
    let mut body: serde_json::Value = opts
        .serialize()
        .ok()
        .and_then(|s| serde_json::from_str(&s).ok())
        .ok_or_else(|| RuntimeError::InvalidRequest("libpod create body".into()))?;
    body["log_configuration"] = log_configuration(logging)?;
    Ok(body.to_string())
}

/// A log driver and its options as libpod 4.3 takes them: `json-file` as itself, `local`
/// (Docker's, which libpod lacks) as libpod's own file format `k8s-file`; `max-size` (in
/// Docker's units, 1024-based) as libpod's `size` in bytes, `tag` as itself. libpod keeps
/// one file, truncated at its size: `max-file`, `compress` and Docker's other options have
/// no equivalent there and are left out.
fn log_configuration(logging: &LoggingSpec) -> Result<serde_json::Value, RuntimeError> {
    let driver = match logging.driver {
        EngineLogDriver::JsonFile => "json-file",
        EngineLogDriver::Local => "k8s-file",
        other => {
            return Err(RuntimeError::Unsupported {
                runtime: "podman".into(),
                capability: format!("the {other} log driver"),
            });
        }
    };
    let mut config = serde_json::json!({ "driver": driver });
    if let Some(size) = logging.options.get("max-size") {
        let bytes = ecs_core::runtime::log_size_bytes(size).ok_or_else(|| {
            RuntimeError::InvalidRequest(format!("log option max-size {size:?} is not a size"))
        })?;
        config["size"] = bytes.into();
    }
    if let Some(tag) = logging.options.get("tag") {
        config["options"] = serde_json::json!({ "tag": tag });
    }
    Ok(config)
}

/// libpod's query for `options`. Its `since` and `until` take nanoseconds (as RFC 3339)
/// but exclude their bounds: a nanosecond each way includes them, as the options mean.
/// Its `tail` counts lines over both streams before the other filters, as
/// [`LogOptions::tail`] means it. Lines always come with their times (whole seconds in
/// libpod 4.3's answer).
pub(crate) fn logs_opts(options: &LogOptions) -> ContainerLogsOpts {
    let nano = jiff::SignedDuration::from_nanos(1);
    let mut b = ContainerLogsOpts::builder()
        .follow(options.follow)
        .stdout(options.stdout)
        .stderr(options.stderr)
        .timestamps(options.timestamps);
    if let Some(since) = options.since {
        b = b.since(since.checked_sub(nano).unwrap_or(since).to_string());
    }
    if let Some(until) = options.until {
        b = b.until(until.checked_add(nano).unwrap_or(until).to_string());
    }
    if let Some(tail) = options.tail {
        b = b.tail(tail.to_string());
    }
    b.build()
}

/// The lines of one chunk of libpod's log stream (`timestamps`: each with its time).
pub(crate) fn log_lines(chunk: TtyChunk, timestamps: bool) -> Vec<LogLine> {
    let (stream, bytes) = match chunk {
        TtyChunk::StdOut(bytes) => (StdStream::Stdout, bytes),
        TtyChunk::StdErr(bytes) => (StdStream::Stderr, bytes),
        TtyChunk::StdIn(_) => return Vec::new(),
    };
    if timestamps {
        LogLine::parse_chunk(stream, &bytes)
    } else {
        let text = String::from_utf8_lossy(&bytes);
        let text = text.strip_suffix('\n').unwrap_or(&text);
        text.split('\n')
            .map(|line| LogLine::new(stream, None, line))
            .collect()
    }
}

/// An exec's creation request for `spec`.
pub(crate) fn exec_opts(spec: &ExecSpec) -> ExecCreateOpts {
    ExecCreateOpts::builder()
        .command(&spec.command)
        .attach_stdin(spec.interactive)
        .attach_stdout(true)
        .attach_stderr(true)
        .tty(spec.tty)
        .build()
}

/// How an exec created for `spec` is started: attached, on a terminal if asked.
pub(crate) fn exec_start(spec: &ExecSpec) -> ExecStartOpts {
    ExecStartOpts::builder().tty(spec.tty).build()
}

/// A chunk of an exec's output (a terminal's comes as one stream: standard output).
pub(crate) fn exec_chunk(chunk: TtyChunk) -> Option<ExecChunk> {
    match chunk {
        TtyChunk::StdOut(bytes) => Some(ExecChunk::new(StdStream::Stdout, bytes)),
        TtyChunk::StdErr(bytes) => Some(ExecChunk::new(StdStream::Stderr, bytes)),
        TtyChunk::StdIn(_) => None,
    }
}

/// An exec's exit code from libpod's inspect of it (untyped in podman-api: `{"Running":
/// .., "ExitCode": ..}`), once it has exited.
pub(crate) fn exec_exit_code(inspect: &serde_json::Value) -> Option<i32> {
    if inspect.get("Running").and_then(serde_json::Value::as_bool) != Some(false) {
        return None;
    }
    Some(
        inspect
            .get("ExitCode")
            .and_then(serde_json::Value::as_i64)
            .and_then(|c| i32::try_from(c).ok())
            .unwrap_or(-1),
    )
}

/// The engine host's default ulimit `name` (`nofile=S:H` in containers.conf's
/// `default_ulimits`), else this process's own limits (`/proc/self/limits`).
fn default_ulimit(name: &str) -> Option<(u64, u64)> {
    let conf = std::fs::read_to_string("/etc/containers/containers.conf").unwrap_or_default();
    let configured = conf.split(['"', '\'', ',', '[', ']']).find_map(|item| {
        let (soft, hard) = item
            .trim()
            .strip_prefix(name)?
            .strip_prefix('=')?
            .split_once(':')?;
        Some((soft.parse().ok()?, hard.parse().ok()?))
    });
    configured.or_else(|| {
        let label = if name == "nofile" {
            "Max open files"
        } else {
            "Max processes"
        };
        let limits = std::fs::read_to_string("/proc/self/limits").ok()?;
        let line = limits.lines().find(|l| l.starts_with(label))?;
        let mut values = line[label.len()..].split_whitespace();
        Some((values.next()?.parse().ok()?, values.next()?.parse().ok()?))
    })
}

pub(crate) fn health(status: Option<&str>) -> HealthStatus {
    match status {
        Some("healthy") => HealthStatus::Healthy,
        Some("unhealthy") => HealthStatus::Unhealthy,
        _ => HealthStatus::Unknown,
    }
}

/// A container's state from libpod's name of it (inspect's `State.Status`, the list's
/// `State`).
fn run_state(status: Option<&str>, exit_code: i32) -> ContainerState {
    match status {
        Some("running" | "paused" | "stopping") => ContainerState::Running,
        Some("created" | "configured" | "initialized") | None => ContainerState::Created,
        Some(_) => ContainerState::Exited { exit_code },
    }
}

pub(crate) fn info(r: InspectContainerData) -> ContainerInfo {
    let state = r.state;
    let exit_code = state.as_ref().and_then(|s| s.exit_code).unwrap_or(0);
    let run_state = run_state(state.as_ref().and_then(|s| s.status.as_deref()), exit_code);
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
        r.name.unwrap_or_default(),
        labels,
        run_state,
    );
    out.health = health(
        state
            .as_ref()
            .and_then(|s| s.health.as_ref())
            .and_then(|h| h.status.as_deref()),
    );
    out.oom_killed = state.as_ref().and_then(|s| s.oom_killed).unwrap_or(false);
    out.ports = ports;
    out
}

/// A container as libpod's list describes it, without asking for more: the same state,
/// health and ports as [`info`] gives from an inspect of it. libpod 4.x fills the list's
/// `Status` with the health check's status (`healthy`, `unhealthy`, `starting`, empty
/// without a check), from the same record as inspect's `State.Health.Status`; its ports
/// are the container's configured mappings, which inspect expands the same way. Never
/// OOM-killed (the list does not say).
pub(crate) fn list_info(c: ListContainer) -> ContainerInfo {
    let exit_code = c.exit_code.unwrap_or(0);
    let mut by_key: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for p in c.ports.unwrap_or_default() {
        let (Some(container_port), Some(host_port)) = (p.container_port, p.host_port) else {
            continue;
        };
        // As inspect expands them: one key per protocol of `tcp,udp` and per port of
        // the range.
        let protocols = p.protocol.unwrap_or_else(|| "tcp".to_owned());
        for protocol in protocols.split(',') {
            for i in 0..p.range.unwrap_or(1).max(1) {
                by_key
                    .entry(format!("{}/{protocol}", container_port.saturating_add(i)))
                    .or_default()
                    .push(host_port.saturating_add(i).to_string());
            }
        }
    }
    let mut out = ContainerInfo::new(
        ContainerId(c.id.unwrap_or_default()),
        c.names
            .unwrap_or_default()
            .into_iter()
            .next()
            .unwrap_or_default(),
        c.labels.unwrap_or_default().into_iter().collect(),
        run_state(c.state.as_deref(), exit_code),
    );
    out.health = health(c.status.as_deref());
    out.ports = ecs_core::runtime::port_bindings(by_key);
    out
}

/// The create request of Service Connect's network `name`: a bridge with DNS among its
/// containers (aardvark-dns; libpod's default network has none), labelled `labels`.
pub(crate) fn network_create(name: &str, labels: &BTreeMap<String, String>) -> NetworkCreateOpts {
    NetworkCreateOpts::builder()
        .name(name)
        .driver("bridge")
        .dns_enabled(true)
        .labels(labels.clone())
        .build()
}

/// A network's first IPv4 subnet and its gateway, where its containers reach the host.
pub(crate) fn container_network(network: &podman_api::models::Network) -> Option<ContainerNetwork> {
    network
        .subnets
        .as_ref()?
        .iter()
        .filter_map(|s| ContainerNetwork::parse(s.gateway.as_deref(), s.subnet.as_deref()?))
        .find(|n| n.gateway.is_ipv4())
}

/// libpod's errors by what the caller can do about them. (podman-api's `Error::clone`
/// recurses for most variants: errors are only ever moved.)
/// podman-api's error as a runtime error; `endpoint` (the engine's address) is named when
/// the engine could not be reached or answered something unexpected.
pub(crate) fn error(endpoint: &str, e: podman_api::Error) -> RuntimeError {
    use podman_api::Error as E;
    let fault = |code: u16, message: String| match code {
        404 => RuntimeError::NotFound(message),
        409 => RuntimeError::Conflict(message),
        400 => RuntimeError::InvalidRequest(message),
        _ if message.contains("already in use") || message.contains("address already in use") => {
            RuntimeError::Conflict(message)
        }
        // libpod's ErrCtrStateInvalid, answered with a 500 (an exec in a container that
        // is not running: "can only create exec sessions on running containers").
        _ if message.contains("container state improper") => RuntimeError::Conflict(message),
        // A create on a network that does not exist, answered with a 500 ("unable to find
        // network with name or ID N: network not found").
        _ if message.contains("network not found") => RuntimeError::NotFound(message),
        _ => RuntimeError::Unavailable(format!("Podman at {endpoint}: {code}: {message}")),
    };
    match e {
        E::Fault { code, message } => fault(code.as_u16(), message),
        E::Error(podman_api::conn::Error::Fault { code, message }) => fault(code.as_u16(), message),
        other => RuntimeError::Unavailable(format!("Podman at {endpoint}: {}", chain(&other))),
    }
}

/// An error and its causes, `: `-separated, each once (hyper repeats its cause in its own
/// message, OpenSSL's reasons sit deeper).
fn chain(e: &dyn std::error::Error) -> String {
    let mut out = e.to_string();
    let mut source = e.source();
    while let Some(cause) = source {
        let text = cause.to_string();
        if !out.contains(&text) {
            out.push_str(": ");
            out.push_str(&text);
        }
        source = cause.source();
    }
    out
}

/// Whether libpod answered "not modified" (already started, already stopped), which
/// podman-api reports as an error.
pub(crate) fn not_modified(e: &podman_api::Error) -> bool {
    use podman_api::Error as E;
    match e {
        E::Fault { code, .. } => code.as_u16() == 304,
        E::Error(podman_api::conn::Error::Fault { code, .. }) => code.as_u16() == 304,
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use ecs_core::runtime::{NetworkAttachment, PortBinding};
    use ecs_core::task_definition::TransportProtocol;

    use super::*;

    /// The create body of a container of `mode` attached to a Service Connect network.
    fn on_network(mode: NetworkMode) -> serde_json::Value {
        let mut spec = ContainerSpec::new("web", "busybox");
        spec.network_mode = mode;
        spec.network = Some(NetworkAttachment {
            network: "ecs-sc-ns".into(),
            aliases: vec!["web".into(), "web.ns".into()],
        });
        serde_json::from_str(&create_body(&spec, "0.0.0.0").unwrap()).unwrap()
    }

    #[test]
    fn a_bridge_container_joins_its_network_with_its_aliases() {
        for mode in [NetworkMode::Bridge, NetworkMode::Awsvpc] {
            let body = on_network(mode);
            assert_eq!(body["netns"]["nsmode"], "bridge");
            assert_eq!(
                body["Networks"],
                serde_json::json!({"ecs-sc-ns": {"aliases": ["web", "web.ns"]}})
            );
        }
    }

    #[test]
    fn host_and_none_modes_join_no_network() {
        for (mode, name) in [(NetworkMode::Host, "host"), (NetworkMode::None, "none")] {
            let body = on_network(mode);
            assert_eq!(body["netns"]["nsmode"], name);
            assert!(body.get("Networks").is_none(), "{body}");
        }
    }

    #[test]
    fn a_missing_network_is_not_found() {
        // libpod 4.3's answer to a create on a network that does not exist.
        let e = podman_api::Error::Fault {
            code: containers_api::conn::hyper::StatusCode::INTERNAL_SERVER_ERROR,
            message: "unable to find network with name or ID ecs-x: network not found: \
                      network not found"
                .into(),
        };
        assert!(matches!(
            error("unix:///run/podman/podman.sock", e),
            RuntimeError::NotFound(_)
        ));
    }

    /// A list entry as libpod 4.3 answers it (its JSON, as read from the engine).
    fn listed(
        state: &str,
        exit_code: i32,
        status: &str,
        ports: serde_json::Value,
    ) -> ListContainer {
        model(serde_json::json!({
            "Id": "c0ffee",
            "Names": ["web"],
            "Labels": {"ecs.task": "t1"},
            "State": state,
            "ExitCode": exit_code,
            "Exited": state == "exited",
            "Status": status,
            "Ports": ports,
        }))
        .expect("a libpod list entry")
    }

    #[test]
    fn state_exit_code_and_health_come_from_the_list() {
        let none = serde_json::Value::Null;
        for (state, exit_code, status, want_state, want_health) in [
            (
                "created",
                0,
                "",
                ContainerState::Created,
                HealthStatus::Unknown,
            ),
            (
                "running",
                0,
                "",
                ContainerState::Running,
                HealthStatus::Unknown,
            ),
            (
                "running",
                0,
                "starting",
                ContainerState::Running,
                HealthStatus::Unknown,
            ),
            (
                "running",
                0,
                "healthy",
                ContainerState::Running,
                HealthStatus::Healthy,
            ),
            (
                "running",
                0,
                "unhealthy",
                ContainerState::Running,
                HealthStatus::Unhealthy,
            ),
            (
                "stopping",
                0,
                "healthy",
                ContainerState::Running,
                HealthStatus::Healthy,
            ),
            (
                "exited",
                137,
                "healthy",
                ContainerState::Exited { exit_code: 137 },
                HealthStatus::Healthy,
            ),
            (
                "exited",
                7,
                "starting",
                ContainerState::Exited { exit_code: 7 },
                HealthStatus::Unknown,
            ),
            (
                "stopped",
                3,
                "",
                ContainerState::Exited { exit_code: 3 },
                HealthStatus::Unknown,
            ),
        ] {
            let info = list_info(listed(state, exit_code, status, none.clone()));
            assert_eq!(
                (info.state, info.health),
                (want_state, want_health),
                "{state} {exit_code} {status:?}"
            );
            assert_eq!(info.id, ContainerId("c0ffee".into()));
            assert_eq!(info.name, "web");
            assert_eq!(info.labels.get("ecs.task").map(String::as_str), Some("t1"));
            assert!(info.ports.is_empty());
            assert!(!info.oom_killed);
        }
    }

    #[test]
    fn ports_are_expanded_as_inspect_expands_them() {
        let info = list_info(listed(
            "running",
            0,
            "",
            serde_json::json!([
                {"host_ip": "127.0.0.1", "container_port": 80, "host_port": 41087,
                 "range": 1, "protocol": "tcp"},
                {"host_ip": "", "container_port": 53, "host_port": 5353,
                 "range": 2, "protocol": "tcp,udp"},
            ]),
        ));
        let binding = |container_port, host_port, protocol| PortBinding {
            container_port,
            host_port,
            protocol,
        };
        use TransportProtocol::{Tcp, Udp};
        assert_eq!(
            info.ports,
            [
                binding(53, 5353, Tcp),
                binding(53, 5353, Udp),
                binding(54, 5354, Tcp),
                binding(54, 5354, Udp),
                binding(80, 41087, Tcp),
            ]
        );
    }
}
