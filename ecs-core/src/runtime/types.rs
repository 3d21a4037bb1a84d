//! What goes in and out of a container runtime: container specifications, their state,
//! events and statistics, and the host's description.

use std::collections::BTreeMap;
use std::fmt;
use std::time::Duration;

use crate::cluster::Resources;
use crate::task_definition::{NetworkMode, TransportProtocol, UlimitName};

/// An engine's id for a container.
#[derive(
    Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
#[serde(transparent)]
pub struct ContainerId(pub String);

impl fmt::Display for ContainerId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// When to pull an image.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum PullPolicy {
    /// Pull only when the image is not present (the ECS agent's `prefer-cached`).
    #[default]
    IfNotPresent,
    /// Always pull (the agent's `always`); a present image is used if the pull fails.
    Always,
    /// Never pull: the image must be present.
    Never,
}

impl PullPolicy {
    /// What [`ensure_image`](super::ContainerRuntime::ensure_image) does under this
    /// policy, for a backend that knows whether `image` is `present` and how to `pull`
    /// it: every backend decides the same way, only the engine's calls differ.
    pub async fn apply<Fut>(
        self,
        image: &str,
        present: bool,
        pull: impl FnOnce() -> Fut,
    ) -> Result<(), super::RuntimeError>
    where
        Fut: std::future::Future<Output = Result<(), super::RuntimeError>>,
    {
        match self {
            PullPolicy::Never if present => Ok(()),
            PullPolicy::Never => Err(super::RuntimeError::ImageUnavailable {
                image: image.to_owned(),
                reason: "not present and the pull policy is never".into(),
            }),
            PullPolicy::IfNotPresent if present => Ok(()),
            // A present image serves when the registry cannot.
            PullPolicy::Always => match pull().await {
                Err(_) if present => Ok(()),
                other => other,
            },
            PullPolicy::IfNotPresent => pull().await,
        }
    }
}

/// A port to publish.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct PortSpec {
    /// The port inside the container.
    pub container_port: u16,
    /// The host port; 0 asks the engine for one.
    pub host_port: u16,
    /// TCP or UDP.
    pub protocol: TransportProtocol,
}

/// A health check, with ECS's defaults applied.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HealthCheckSpec {
    /// `["CMD", ...]` or `["CMD-SHELL", "..."]`.
    pub command: Vec<String>,
    /// Between checks.
    pub interval: Duration,
    /// For one check.
    pub timeout: Duration,
    /// Failures in a row before unhealthy.
    pub retries: u32,
    /// Grace after start.
    pub start_period: Duration,
}

/// A mount into the container.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MountSpec {
    /// A host path, bind mounted.
    Bind {
        /// On the host.
        host_path: String,
        /// In the container.
        container_path: String,
        /// Read-only.
        read_only: bool,
    },
    /// A named engine volume.
    Volume {
        /// The engine volume's name.
        name: String,
        /// In the container.
        container_path: String,
        /// Read-only.
        read_only: bool,
    },
}

/// A resource limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UlimitSpec {
    /// Which.
    pub name: UlimitName,
    /// Soft limit.
    pub soft: i64,
    /// Hard limit.
    pub hard: i64,
}

/// Everything an engine needs to create one container of a task.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ContainerSpec {
    /// The engine-side name, unique on the instance (`ecs-FAMILY-REV-CONTAINER-TASKID`).
    pub name: String,
    /// The image reference.
    pub image: String,
    /// Overrides the image's entry point when set.
    pub entry_point: Option<Vec<String>>,
    /// Overrides the image's command when set.
    pub command: Option<Vec<String>>,
    /// Environment variables.
    pub environment: BTreeMap<String, String>,
    /// Environment variables whose values are secrets (the container's `secrets` and
    /// `environmentFiles`, resolved): given to the container with `environment` (they
    /// win over it: an engine sets them last), redacted in `Debug`.
    pub secrets: BTreeMap<String, crate::secrets::SecretValue>,
    /// Labels (the library's own and the definition's `dockerLabels`).
    pub labels: BTreeMap<String, String>,
    /// Ports to publish.
    pub ports: Vec<PortSpec>,
    /// CPU shares (CPU units).
    pub cpu_shares: Option<u32>,
    /// Hard memory limit, MiB.
    pub memory_limit_mib: Option<u32>,
    /// Soft memory limit, MiB.
    pub memory_reservation_mib: Option<u32>,
    /// The health check.
    pub health_check: Option<HealthCheckSpec>,
    /// Mounts.
    pub mounts: Vec<MountSpec>,
    /// Runs an init process as PID 1.
    pub init: bool,
    /// Resource limits.
    pub ulimits: Vec<UlimitSpec>,
    /// User (and group).
    pub user: Option<String>,
    /// Working directory.
    pub working_directory: Option<String>,
    /// Hostname.
    pub hostname: Option<String>,
    /// Privileged.
    pub privileged: bool,
    /// Read-only root filesystem.
    pub readonly_root_filesystem: bool,
    /// The network mode.
    pub network_mode: NetworkMode,
    /// Links to other containers of the task: (engine name, alias).
    pub links: Vec<(String, String)>,
    /// Other containers of the task whose volumes this one mounts: (engine name, read-only).
    pub volumes_from: Vec<(String, bool)>,
    /// Extra `/etc/hosts` entries: (hostname, address).
    pub extra_hosts: Vec<(String, String)>,
    /// Seconds between SIGTERM and SIGKILL when stopped.
    pub stop_timeout: Duration,
    /// Where the engine keeps its output: `None` for the engine's default driver.
    pub logging: Option<super::LoggingSpec>,
    /// The engine network it joins instead of the engine's default bridge (bridge mode
    /// only), made with [`ensure_network`](super::ContainerRuntime::ensure_network),
    /// and the names it answers to there: Service Connect's.
    pub network: Option<NetworkAttachment>,
}

/// A container's place on an engine network of the library's own (a Service Connect
/// namespace's): the network, and the names the network's DNS gives it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NetworkAttachment {
    /// The engine network's name.
    pub network: String,
    /// DNS names that resolve to this container for the network's other containers.
    pub aliases: Vec<String>,
}

impl ContainerSpec {
    /// Every environment variable the container is given: `environment`, then
    /// `secrets` (a secret wins over a plain variable of the same name). The one place
    /// a backend reads secrets' values.
    pub fn full_environment(&self) -> impl Iterator<Item = (&str, &str)> {
        self.environment
            .iter()
            .filter(|(k, _)| !self.secrets.contains_key(*k))
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .chain(self.secrets.iter().map(|(k, v)| (k.as_str(), v.expose())))
    }

    /// A spec with a name and an image and nothing else (bridge networking, 30 s stop).
    pub fn new(name: impl Into<String>, image: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            image: image.into(),
            entry_point: None,
            command: None,
            environment: BTreeMap::new(),
            secrets: BTreeMap::new(),
            labels: BTreeMap::new(),
            ports: Vec::new(),
            cpu_shares: None,
            memory_limit_mib: None,
            memory_reservation_mib: None,
            health_check: None,
            mounts: Vec::new(),
            init: false,
            ulimits: Vec::new(),
            user: None,
            working_directory: None,
            hostname: None,
            privileged: false,
            readonly_root_filesystem: false,
            network_mode: NetworkMode::Bridge,
            links: Vec::new(),
            volumes_from: Vec::new(),
            extra_hosts: Vec::new(),
            stop_timeout: Duration::from_secs(30),
            logging: None,
            network: None,
        }
    }
}

/// A container's run state, as the engine sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ContainerState {
    /// Created, never started.
    Created,
    /// Running.
    Running,
    /// Exited with a code.
    Exited {
        /// The exit code (137: killed).
        exit_code: i32,
    },
}

/// A container's health, as its health check reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum HealthStatus {
    /// Passing.
    Healthy,
    /// Failing.
    Unhealthy,
    /// No check, or not decided yet.
    Unknown,
}

impl HealthStatus {
    /// ECS's spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            HealthStatus::Healthy => "HEALTHY",
            HealthStatus::Unhealthy => "UNHEALTHY",
            HealthStatus::Unknown => "UNKNOWN",
        }
    }
}

impl fmt::Display for HealthStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A published port as bound.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PortBinding {
    /// The port inside the container.
    pub container_port: u16,
    /// The host port it is reachable on.
    pub host_port: u16,
    /// TCP or UDP.
    pub protocol: TransportProtocol,
}

/// What an engine says about one container.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ContainerInfo {
    /// Its id.
    pub id: ContainerId,
    /// Its engine-side name.
    pub name: String,
    /// Its labels.
    pub labels: BTreeMap<String, String>,
    /// Its state.
    pub state: ContainerState,
    /// Its health.
    pub health: HealthStatus,
    /// Whether the kernel killed it for memory.
    pub oom_killed: bool,
    /// Its published ports.
    pub ports: Vec<PortBinding>,
}

impl ContainerInfo {
    /// An info with the given id, name, labels and state, healthy unknown, no ports.
    pub fn new(
        id: ContainerId,
        name: String,
        labels: BTreeMap<String, String>,
        state: ContainerState,
    ) -> Self {
        Self {
            id,
            name,
            labels,
            state,
            health: HealthStatus::Unknown,
            oom_killed: false,
            ports: Vec::new(),
        }
    }
}

/// Something that happened to a container.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ContainerEventKind {
    /// It started.
    Start,
    /// It exited.
    Die {
        /// The exit code.
        exit_code: i32,
    },
    /// Its health changed.
    Health(HealthStatus),
    /// The kernel killed it for memory.
    Oom,
}

/// A container event from an engine.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContainerEvent {
    /// Which container.
    pub id: ContainerId,
    /// What happened.
    pub kind: ContainerEventKind,
}

/// A container's resource use at one moment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct ContainerStats {
    /// CPU time used since the container started, in nanoseconds.
    pub cpu_total_ns: u64,
    /// When this sample was taken, in nanoseconds of the engine's clock (for deltas).
    pub sampled_at_ns: u64,
    /// Memory in use, bytes.
    pub memory_bytes: u64,
    /// Memory limit, bytes (0: none).
    pub memory_limit_bytes: u64,
}

/// What an engine says about its host, for registering it as a container instance.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct HostInfo {
    /// CPU units (1024 per CPU) and memory MiB the host offers to tasks.
    pub resources: Resources,
    /// Built-in attributes (`ecs.os-type`, `ecs.cpu-architecture`, ...).
    pub attributes: BTreeMap<String, String>,
    /// The engine and its version, e.g. `docker 20.10.24`.
    pub engine_version: String,
    /// The engine's default container network: where its containers reach the host
    /// (the task metadata endpoint), and the addresses they come from. `None`: they
    /// cannot reach it, and get no endpoint.
    pub container_network: Option<ContainerNetwork>,
}

/// An engine's default container network (its bridge).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ContainerNetwork {
    /// Where its containers reach the host.
    pub gateway: std::net::IpAddr,
    /// Its subnet's address.
    pub subnet: std::net::IpAddr,
    /// Its subnet's prefix length.
    pub prefix_len: u8,
}

impl ContainerNetwork {
    /// The network of `subnet` (`"172.17.0.0/16"`) whose host is at `gateway`, or at
    /// the subnet's first address when the engine does not say (Docker's default bridge
    /// does not); `None` when either does not parse.
    ///
    /// ```
    /// use ecs_core::runtime::ContainerNetwork;
    /// let bridge = ContainerNetwork::parse(None, "172.17.0.0/16").unwrap();
    /// assert_eq!(bridge.gateway.to_string(), "172.17.0.1");
    /// assert!(bridge.contains("172.17.3.4".parse().unwrap()));
    /// assert!(!bridge.contains("172.18.0.2".parse().unwrap()));
    /// ```
    pub fn parse(gateway: Option<&str>, subnet: &str) -> Option<Self> {
        let (address, prefix) = subnet.split_once('/')?;
        let subnet: std::net::IpAddr = address.parse().ok()?;
        let gateway = match gateway {
            Some(g) => g.parse().ok()?,
            None => match subnet {
                std::net::IpAddr::V4(v4) => {
                    std::net::Ipv4Addr::from(u32::from(v4).checked_add(1)?).into()
                }
                std::net::IpAddr::V6(v6) => {
                    std::net::Ipv6Addr::from(u128::from(v6).checked_add(1)?).into()
                }
            },
        };
        Some(Self {
            gateway,
            subnet,
            prefix_len: prefix.parse().ok()?,
        })
    }

    /// Whether `ip` is an address of this network.
    pub fn contains(&self, ip: std::net::IpAddr) -> bool {
        use std::net::IpAddr;
        match (self.subnet, ip) {
            (IpAddr::V4(net), IpAddr::V4(ip)) => {
                let bits = u32::from(self.prefix_len.min(32));
                let mask = u32::MAX.checked_shl(32 - bits).unwrap_or(0);
                u32::from(net) & mask == u32::from(ip) & mask
            }
            (IpAddr::V6(net), IpAddr::V6(ip)) => {
                let bits = u32::from(self.prefix_len.min(128));
                let mask = u128::MAX.checked_shl(128 - bits).unwrap_or(0);
                u128::from(net) & mask == u128::from(ip) & mask
            }
            _ => false,
        }
    }
}

impl HostInfo {
    /// A Linux x86-64 host offering `resources`, run by `engine_version`.
    pub fn linux(resources: Resources, engine_version: impl Into<String>) -> Self {
        Self {
            resources,
            attributes: BTreeMap::from([
                ("ecs.os-type".to_owned(), "linux".to_owned()),
                (
                    "ecs.cpu-architecture".to_owned(),
                    std::env::consts::ARCH.to_owned(),
                ),
            ]),
            engine_version: engine_version.into(),
            container_network: None,
        }
    }

    /// With its default container network.
    pub fn with_container_network(mut self, network: ContainerNetwork) -> Self {
        self.container_network = Some(network);
        self
    }
}

#[cfg(test)]
mod tests {
    use super::PullPolicy;
    use crate::runtime::RuntimeError;
    use std::cell::Cell;

    /// Applies `policy` with the image `present` or not and a pull that `works` or not:
    /// the answer, and whether it pulled.
    fn apply(policy: PullPolicy, present: bool, works: bool) -> (Result<(), RuntimeError>, bool) {
        let pulled = Cell::new(false);
        let answer = futures::executor::block_on(policy.apply("app:1", present, || {
            let pulled = &pulled;
            async move {
                // Pulled when the pull is awaited, not merely asked for.
                pulled.set(true);
                if works {
                    Ok(())
                } else {
                    Err(RuntimeError::Unavailable("registry down".into()))
                }
            }
        }));
        (answer, pulled.get())
    }

    #[test]
    fn pull_policies_decide_as_the_ecs_agent_does() {
        use PullPolicy::*;
        // Never: the image must be there; never pulled.
        assert!(matches!(apply(Never, true, true), (Ok(()), false)));
        for works in [true, false] {
            assert!(matches!(
                apply(Never, false, works),
                (Err(RuntimeError::ImageUnavailable { .. }), false)
            ));
        }
        // IfNotPresent: pulled only when missing.
        assert!(matches!(apply(IfNotPresent, true, false), (Ok(()), false)));
        assert!(matches!(apply(IfNotPresent, false, true), (Ok(()), true)));
        assert!(matches!(apply(IfNotPresent, false, false), (Err(_), true)));
        // Always: pulled; a present image serves when the pull fails.
        assert!(matches!(apply(Always, true, true), (Ok(()), true)));
        assert!(matches!(apply(Always, true, false), (Ok(()), true)));
        assert!(matches!(apply(Always, false, true), (Ok(()), true)));
        assert!(matches!(
            apply(Always, false, false),
            (Err(RuntimeError::Unavailable(_)), true)
        ));
    }
}
