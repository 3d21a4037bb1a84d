//! A container definition and the shapes nested in it (`ContainerDefinition` in the API).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::enums::{
    ApplicationProtocol, ContainerCondition, DeviceCgroupPermission, EnvironmentFileType,
    FirelensConfigurationType, LogDriver, ResourceType, TransportProtocol, UlimitName,
    VersionConsistency,
};
use super::lenient;

/// One container of a task: its image, resources, environment, ports, health check and
/// its dependencies on the task's other containers.
///
/// Fields mirror the API's `ContainerDefinition` one for one (same names in camelCase
/// JSON); `None` means the key was absent (or `null`). The accessors (`is_essential`,
/// `port_mappings`, ...) apply ECS's defaults.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct ContainerDefinition {
    /// The container's name, unique within the task.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// The image reference, e.g. `nginx:1.27` or `repo.example/app@sha256:...`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image: Option<String>,
    /// Private registry credentials (a Secrets Manager ARN; AWS only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub repository_credentials: Option<RepositoryCredentials>,
    /// CPU units reserved for the container (1024 = one vCPU).
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "lenient::opt_int"
    )]
    pub cpu: Option<i32>,
    /// Hard memory limit in MiB: the container is killed above it.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "lenient::opt_int"
    )]
    pub memory: Option<i32>,
    /// Soft memory limit in MiB: what the scheduler reserves.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "lenient::opt_int"
    )]
    pub memory_reservation: Option<i32>,
    /// Legacy links to other containers of the task, `name` or `name:alias` (bridge mode).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub links: Option<Vec<String>>,
    /// Ports the container listens on and how they are published.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub port_mappings: Option<Vec<PortMapping>>,
    /// Whether the task stops when this container stops (default `true`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub essential: Option<bool>,
    /// Restart the container in place when it exits.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub restart_policy: Option<ContainerRestartPolicy>,
    /// Overrides the image's ENTRYPOINT. An empty list keeps the image's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub entry_point: Option<Vec<String>>,
    /// Overrides the image's CMD. An empty list keeps the image's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub command: Option<Vec<String>>,
    /// Environment variables.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub environment: Option<Vec<KeyValuePair>>,
    /// Files of environment variables in S3 (AWS only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub environment_files: Option<Vec<EnvironmentFile>>,
    /// Task volumes mounted into the container.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mount_points: Option<Vec<MountPoint>>,
    /// Containers whose volumes this container mounts too.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub volumes_from: Option<Vec<VolumeFrom>>,
    /// Linux-specific settings: capabilities, devices, init, tmpfs, swap.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub linux_parameters: Option<LinuxParameters>,
    /// Environment variables whose values come from a secret store.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secrets: Option<Vec<Secret>>,
    /// Containers that must reach a condition before this one starts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub depends_on: Option<Vec<ContainerDependency>>,
    /// Seconds to wait for this container's dependencies before giving up.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "lenient::opt_int"
    )]
    pub start_timeout: Option<i32>,
    /// Seconds between SIGTERM and SIGKILL when the container is stopped.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "lenient::opt_int"
    )]
    pub stop_timeout: Option<i32>,
    /// Whether the image tag is resolved to a digest once.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version_consistency: Option<VersionConsistency>,
    /// The container's hostname.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hostname: Option<String>,
    /// The user (and group) the container runs as: `user`, `uid`, `user:group`, `uid:gid` ...
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
    /// The working directory of the command.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub working_directory: Option<String>,
    /// Turns networking off inside the container.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub disable_networking: Option<bool>,
    /// Runs the container privileged.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub privileged: Option<bool>,
    /// Mounts the root filesystem read-only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub readonly_root_filesystem: Option<bool>,
    /// DNS servers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dns_servers: Option<Vec<String>>,
    /// DNS search domains.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dns_search_domains: Option<Vec<String>>,
    /// Extra `/etc/hosts` entries.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub extra_hosts: Option<Vec<HostEntry>>,
    /// Security options such as `no-new-privileges` or SELinux/AppArmor labels.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub docker_security_options: Option<Vec<String>>,
    /// Keeps stdin open.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub interactive: Option<bool>,
    /// Allocates a TTY.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pseudo_terminal: Option<bool>,
    /// Labels put on the container.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub docker_labels: Option<BTreeMap<String, String>>,
    /// Resource limits.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ulimits: Option<Vec<Ulimit>>,
    /// Where the container's output goes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub log_configuration: Option<LogConfiguration>,
    /// The container's health check.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub health_check: Option<HealthCheck>,
    /// Namespaced kernel parameters (sysctls).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub system_controls: Option<Vec<SystemControl>>,
    /// GPUs and other special resources.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resource_requirements: Option<Vec<ResourceRequirement>>,
    /// FireLens log router settings (AWS only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub firelens_configuration: Option<FirelensConfiguration>,
    /// Active Directory credential specs (Windows gMSA; AWS only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub credential_specs: Option<Vec<String>>,
}

impl ContainerDefinition {
    /// A container with a name and an image; everything else unset.
    pub fn new(name: impl Into<String>, image: impl Into<String>) -> Self {
        Self {
            name: Some(name.into()),
            image: Some(image.into()),
            ..Self::default()
        }
    }

    /// Sets the hard memory limit, in MiB.
    #[must_use]
    pub fn with_memory(mut self, mib: i32) -> Self {
        self.memory = Some(mib);
        self
    }

    /// Sets the soft memory limit (what the scheduler reserves), in MiB.
    #[must_use]
    pub fn with_memory_reservation(mut self, mib: i32) -> Self {
        self.memory_reservation = Some(mib);
        self
    }

    /// Sets the CPU units.
    #[must_use]
    pub fn with_cpu(mut self, units: i32) -> Self {
        self.cpu = Some(units);
        self
    }

    /// Sets `essential`.
    #[must_use]
    pub fn with_essential(mut self, essential: bool) -> Self {
        self.essential = Some(essential);
        self
    }

    /// Sets the command.
    #[must_use]
    pub fn with_command<S: Into<String>>(mut self, command: impl IntoIterator<Item = S>) -> Self {
        self.command = Some(command.into_iter().map(Into::into).collect());
        self
    }

    /// Adds a port mapping.
    #[must_use]
    pub fn with_port_mapping(mut self, mapping: PortMapping) -> Self {
        self.port_mappings
            .get_or_insert_with(Vec::new)
            .push(mapping);
        self
    }

    /// Adds an environment variable.
    #[must_use]
    pub fn with_env(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.environment
            .get_or_insert_with(Vec::new)
            .push(KeyValuePair::new(name, value));
        self
    }

    /// Adds a dependency on another container of the task.
    #[must_use]
    pub fn with_dependency(
        mut self,
        container: impl Into<String>,
        condition: ContainerCondition,
    ) -> Self {
        self.depends_on
            .get_or_insert_with(Vec::new)
            .push(ContainerDependency::new(container, condition));
        self
    }

    /// Sets the health check.
    #[must_use]
    pub fn with_health_check(mut self, health_check: HealthCheck) -> Self {
        self.health_check = Some(health_check);
        self
    }

    /// Adds a mount point.
    #[must_use]
    pub fn with_mount_point(mut self, mount_point: MountPoint) -> Self {
        self.mount_points
            .get_or_insert_with(Vec::new)
            .push(mount_point);
        self
    }

    /// The name, or `""` when unset (validation rejects that).
    pub fn name(&self) -> &str {
        self.name.as_deref().unwrap_or("")
    }

    /// Whether the task stops when this container stops: `essential` defaults to `true`.
    pub fn is_essential(&self) -> bool {
        self.essential.unwrap_or(true)
    }

    /// The port mappings (empty when unset).
    pub fn port_mappings(&self) -> &[PortMapping] {
        self.port_mappings.as_deref().unwrap_or_default()
    }

    /// The links (empty when unset).
    pub fn links(&self) -> &[String] {
        self.links.as_deref().unwrap_or_default()
    }

    /// The dependencies (empty when unset).
    pub fn depends_on(&self) -> &[ContainerDependency] {
        self.depends_on.as_deref().unwrap_or_default()
    }

    /// The mount points (empty when unset).
    pub fn mount_points(&self) -> &[MountPoint] {
        self.mount_points.as_deref().unwrap_or_default()
    }

    /// The containers whose volumes are mounted (empty when unset).
    pub fn volumes_from(&self) -> &[VolumeFrom] {
        self.volumes_from.as_deref().unwrap_or_default()
    }

    /// The memory the scheduler reserves for this container, in MiB: the soft limit when
    /// set, else the hard limit.
    pub fn reserved_memory(&self) -> Option<i32> {
        self.memory_reservation.or(self.memory)
    }

    /// The command override, `None` when unset or empty (an empty list keeps the image's).
    pub fn effective_command(&self) -> Option<&[String]> {
        self.command.as_deref().filter(|c| !c.is_empty())
    }

    /// The entry point override, `None` when unset or empty (an empty list keeps the image's).
    pub fn effective_entry_point(&self) -> Option<&[String]> {
        self.entry_point.as_deref().filter(|c| !c.is_empty())
    }
}

/// Registry credentials kept in a secret store.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct RepositoryCredentials {
    /// The ARN of the secret holding the credentials.
    pub credentials_parameter: String,
}

impl RepositoryCredentials {
    /// Credentials kept in the secret `credentials_parameter`.
    pub fn new(credentials_parameter: impl Into<String>) -> Self {
        Self {
            credentials_parameter: credentials_parameter.into(),
        }
    }
}

/// A port the container listens on, and how the host exposes it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct PortMapping {
    /// The port inside the container.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "lenient::opt_int"
    )]
    pub container_port: Option<i32>,
    /// The host port. In bridge mode, 0 or absent asks for a dynamic port; in host and
    /// awsvpc modes it must equal the container port or be absent.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "lenient::opt_int"
    )]
    pub host_port: Option<i32>,
    /// `tcp` (default) or `udp`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub protocol: Option<TransportProtocol>,
    /// A name for the mapping (Service Connect).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// The application protocol (Service Connect).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub app_protocol: Option<ApplicationProtocol>,
    /// A range of container ports, `"start-end"`, instead of one `containerPort`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub container_port_range: Option<String>,
}

impl PortMapping {
    /// A TCP mapping of `container_port` to `host_port` (`0` for a dynamic host port).
    pub fn tcp(container_port: u16, host_port: u16) -> Self {
        Self {
            container_port: Some(i32::from(container_port)),
            host_port: Some(i32::from(host_port)),
            ..Self::default()
        }
    }

    /// The protocol, `tcp` when unset.
    pub fn protocol(&self) -> TransportProtocol {
        self.protocol.unwrap_or(TransportProtocol::Tcp)
    }
}

/// Restarts of a container in place, without stopping the task.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct ContainerRestartPolicy {
    /// Whether restarts are on.
    pub enabled: bool,
    /// Exit codes that do not cause a restart.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "lenient::opt_int_list"
    )]
    pub ignored_exit_codes: Option<Vec<i32>>,
    /// Seconds a container must run before a restart is attempted (60 to 1800).
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "lenient::opt_int"
    )]
    pub restart_attempt_period: Option<i32>,
}

/// A name and a value (environment variables, proxy properties).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct KeyValuePair {
    /// The name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// The value.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
}

impl KeyValuePair {
    /// A pair with both parts set.
    pub fn new(name: impl Into<String>, value: impl Into<String>) -> Self {
        Self {
            name: Some(name.into()),
            value: Some(value.into()),
        }
    }
}

/// A file of environment variables.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct EnvironmentFile {
    /// Where the file is (an S3 object ARN).
    pub value: String,
    /// The kind of location.
    #[serde(rename = "type")]
    pub kind: EnvironmentFileType,
}

impl EnvironmentFile {
    /// An environment file of `kind` at `value`.
    pub fn new(kind: EnvironmentFileType, value: impl Into<String>) -> Self {
        Self {
            value: value.into(),
            kind,
        }
    }
}

/// A task volume mounted into a container.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct MountPoint {
    /// The name of a volume in the task definition's `volumes`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_volume: Option<String>,
    /// Where it is mounted in the container.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub container_path: Option<String>,
    /// Mounts it read-only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub read_only: Option<bool>,
}

impl MountPoint {
    /// Mounts `source_volume` at `container_path`, read-write.
    pub fn new(source_volume: impl Into<String>, container_path: impl Into<String>) -> Self {
        Self {
            source_volume: Some(source_volume.into()),
            container_path: Some(container_path.into()),
            read_only: None,
        }
    }
}

/// Another container of the task whose volumes this container mounts.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct VolumeFrom {
    /// The other container's name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_container: Option<String>,
    /// Mounts them read-only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub read_only: Option<bool>,
}

impl VolumeFrom {
    /// Mounts the volumes of `source_container`, read-write.
    pub fn new(source_container: impl Into<String>) -> Self {
        Self {
            source_container: Some(source_container.into()),
            read_only: None,
        }
    }
}

/// Linux-specific container settings.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct LinuxParameters {
    /// Capabilities added to or dropped from the default set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub capabilities: Option<KernelCapabilities>,
    /// Host devices exposed to the container.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub devices: Option<Vec<Device>>,
    /// Runs an init process as PID 1 that forwards signals and reaps zombies.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub init_process_enabled: Option<bool>,
    /// Size of `/dev/shm` in MiB.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "lenient::opt_int"
    )]
    pub shared_memory_size: Option<i32>,
    /// tmpfs mounts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tmpfs: Option<Vec<Tmpfs>>,
    /// Swap the container may use, in MiB (0: none).
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "lenient::opt_int"
    )]
    pub max_swap: Option<i32>,
    /// How eagerly pages are swapped, 0 to 100.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "lenient::opt_int"
    )]
    pub swappiness: Option<i32>,
}

/// Linux capabilities to add or drop.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct KernelCapabilities {
    /// Capabilities added, e.g. `NET_ADMIN`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub add: Option<Vec<String>>,
    /// Capabilities dropped.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub drop: Option<Vec<String>>,
}

/// A host device exposed to the container.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct Device {
    /// The device on the host.
    pub host_path: String,
    /// Where it appears in the container.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub container_path: Option<String>,
    /// What the container may do with it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub permissions: Option<Vec<DeviceCgroupPermission>>,
}

impl Device {
    /// Exposes the host device `host_path` at the same path.
    pub fn new(host_path: impl Into<String>) -> Self {
        Self {
            host_path: host_path.into(),
            container_path: None,
            permissions: None,
        }
    }
}

/// A tmpfs mount.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct Tmpfs {
    /// Where it is mounted.
    pub container_path: String,
    /// Its size in MiB.
    #[serde(deserialize_with = "lenient::int")]
    pub size: i32,
    /// Mount options, e.g. `noexec`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mount_options: Option<Vec<String>>,
}

impl Tmpfs {
    /// A tmpfs of `size` MiB at `container_path`.
    pub fn new(container_path: impl Into<String>, size: i32) -> Self {
        Self {
            container_path: container_path.into(),
            size,
            mount_options: None,
        }
    }
}

/// An environment variable whose value comes from a secret store.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct Secret {
    /// The variable's name.
    pub name: String,
    /// The secret: an ARN (Secrets Manager, SSM Parameter Store) or a parameter name.
    pub value_from: String,
}

impl Secret {
    /// The variable `name` read from the secret `value_from`.
    pub fn new(name: impl Into<String>, value_from: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            value_from: value_from.into(),
        }
    }
}

/// "Start this container only once that one has reached a condition."
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct ContainerDependency {
    /// The container depended on.
    pub container_name: String,
    /// What it must reach.
    pub condition: ContainerCondition,
}

impl ContainerDependency {
    /// A dependency on `container_name` reaching `condition`.
    pub fn new(container_name: impl Into<String>, condition: ContainerCondition) -> Self {
        Self {
            container_name: container_name.into(),
            condition,
        }
    }
}

/// An `/etc/hosts` entry.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct HostEntry {
    /// The host name.
    pub hostname: String,
    /// Its address.
    pub ip_address: String,
}

impl HostEntry {
    /// `hostname` resolving to `ip_address`.
    pub fn new(hostname: impl Into<String>, ip_address: impl Into<String>) -> Self {
        Self {
            hostname: hostname.into(),
            ip_address: ip_address.into(),
        }
    }
}

/// A resource limit.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct Ulimit {
    /// Which limit.
    pub name: UlimitName,
    /// The soft limit.
    #[serde(deserialize_with = "lenient::int")]
    pub soft_limit: i32,
    /// The hard limit.
    #[serde(deserialize_with = "lenient::int")]
    pub hard_limit: i32,
}

impl Ulimit {
    /// The limit `name` with its soft and hard values.
    pub fn new(name: UlimitName, soft_limit: i32, hard_limit: i32) -> Self {
        Self {
            name,
            soft_limit,
            hard_limit,
        }
    }
}

/// Where a container's output goes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct LogConfiguration {
    /// The log driver.
    pub log_driver: LogDriver,
    /// Driver options.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub options: Option<BTreeMap<String, String>>,
    /// Driver options whose values come from a secret store.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret_options: Option<Vec<Secret>>,
}

impl LogConfiguration {
    /// Logs through `log_driver` with no options.
    pub fn new(log_driver: LogDriver) -> Self {
        Self {
            log_driver,
            options: None,
            secret_options: None,
        }
    }
}

/// A container health check, run inside the container by the engine.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct HealthCheck {
    /// `["CMD", exe, args...]` or `["CMD-SHELL", "shell command"]`.
    pub command: Vec<String>,
    /// Seconds between checks, 5 to 300 (default 30).
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "lenient::opt_int"
    )]
    pub interval: Option<i32>,
    /// Seconds before one check counts as failed, 2 to 60 (default 5).
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "lenient::opt_int"
    )]
    pub timeout: Option<i32>,
    /// Consecutive failures before the container is unhealthy, 1 to 10 (default 3).
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "lenient::opt_int"
    )]
    pub retries: Option<i32>,
    /// Seconds of grace after start during which failures do not count, 0 to 300.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "lenient::opt_int"
    )]
    pub start_period: Option<i32>,
}

impl HealthCheck {
    /// ECS's default interval, in seconds.
    pub const DEFAULT_INTERVAL: i32 = 30;
    /// ECS's default timeout, in seconds.
    pub const DEFAULT_TIMEOUT: i32 = 5;
    /// ECS's default retries.
    pub const DEFAULT_RETRIES: i32 = 3;

    /// A `CMD-SHELL` health check with ECS's defaults.
    pub fn shell(command: impl Into<String>) -> Self {
        Self {
            command: vec!["CMD-SHELL".to_owned(), command.into()],
            ..Self::default()
        }
    }
}

/// A namespaced kernel parameter.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct SystemControl {
    /// The parameter, e.g. `net.core.somaxconn`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    /// Its value.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
}

/// A special resource a container needs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct ResourceRequirement {
    /// How much: a count of GPUs, or an accelerator's device name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
    /// Which resource.
    #[serde(rename = "type")]
    pub kind: ResourceType,
    /// How GPUs are shared (NVIDIA MPS).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sharing_strategy: Option<SharingStrategy>,
}

impl ResourceRequirement {
    /// `value` of the resource `kind` (for GPUs, a count).
    pub fn new(kind: ResourceType, value: impl Into<String>) -> Self {
        Self {
            value: Some(value.into()),
            kind,
            sharing_strategy: None,
        }
    }
}

/// How a GPU is shared between containers.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct SharingStrategy {
    /// NVIDIA Multi-Process Service allocation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nvidia_mps: Option<NvidiaMpsAllocation>,
}

/// A share of a GPU under NVIDIA MPS.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct NvidiaMpsAllocation {
    /// GPU memory in MiB.
    #[serde(deserialize_with = "lenient::int")]
    pub memory: i32,
    /// The share of compute, in percent.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "lenient::opt_int"
    )]
    pub max_compute_percent: Option<i32>,
}

/// FireLens log routing settings.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct FirelensConfiguration {
    /// The router.
    #[serde(rename = "type")]
    pub kind: FirelensConfigurationType,
    /// Router options.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub options: Option<BTreeMap<String, String>>,
}

impl FirelensConfiguration {
    /// A FireLens router of `kind` with no options.
    pub fn new(kind: FirelensConfigurationType) -> Self {
        Self {
            kind,
            options: None,
        }
    }
}
