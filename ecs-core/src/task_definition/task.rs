//! The task definition itself (`RegisterTaskDefinition`'s input and
//! `DescribeTaskDefinition`'s `taskDefinition` output in one type).

use serde::{Deserialize, Serialize};

use super::container::{ContainerDefinition, KeyValuePair};
use super::enums::{
    Compatibility, CpuArchitecture, IpcMode, IsolationMode, NetworkMode, OsFamily, PidMode,
    ProxyConfigurationType, TargetType, TaskDefinitionPlacementConstraintType,
    TaskDefinitionStatus,
};
use super::lenient;
use super::units;
use super::volume::Volume;

/// The blueprint of a task: its containers, the resources it needs, its networking and
/// volumes, and where it may be placed.
///
/// One type serves both directions of the API: what users write for
/// `RegisterTaskDefinition` and what `DescribeTaskDefinition` returns (the read-only
/// keys `taskDefinitionArn`, `revision`, `status`, `registeredAt` ... are `None` until a
/// registry fills them in). Load one with [`TaskDefinition::from_json`], which validates
/// it; build one in code with [`TaskDefinition::new`] and check it with
/// [`TaskDefinition::validate`].
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct TaskDefinition {
    /// The ARN of this revision (read-only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub task_definition_arn: Option<String>,
    /// The family: the name shared by all revisions.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub family: Option<String>,
    /// The IAM role the task's containers assume (AWS only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub task_role_arn: Option<String>,
    /// The IAM role the agent uses to pull images and fetch secrets (AWS only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub execution_role_arn: Option<String>,
    /// How containers are networked; `bridge` when unset on Linux.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub network_mode: Option<NetworkMode>,
    /// The containers. At least one, at most ten.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub container_definitions: Option<Vec<ContainerDefinition>>,
    /// The revision number within the family (read-only).
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "lenient::opt_int"
    )]
    pub revision: Option<i32>,
    /// Volumes the containers can mount.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub volumes: Option<Vec<Volume>>,
    /// ACTIVE or INACTIVE (read-only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<TaskDefinitionStatus>,
    /// Instance attributes a task needs, computed by ECS (read-only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub requires_attributes: Option<Vec<Attribute>>,
    /// Where tasks of this definition may be placed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub placement_constraints: Option<Vec<TaskDefinitionPlacementConstraint>>,
    /// The launch types this definition works with (read-only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub compatibilities: Option<Vec<Compatibility>>,
    /// The OS and CPU architecture the task needs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub runtime_platform: Option<RuntimePlatform>,
    /// The launch types the definition must be valid for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub requires_compatibilities: Option<Vec<Compatibility>>,
    /// Task-level CPU, as written: `"256"` (units), `"1 vCPU"`, `"0.5 vcpu"`.
    /// See [`TaskDefinition::cpu_units`].
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "lenient::opt_size_string"
    )]
    pub cpu: Option<String>,
    /// Task-level memory, as written: `"512"` (MiB), `"2GB"`, `".5 gb"`.
    /// See [`TaskDefinition::memory_mib`].
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "lenient::opt_size_string"
    )]
    pub memory: Option<String>,
    /// Elastic Inference accelerators (AWS only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub inference_accelerators: Option<Vec<InferenceAccelerator>>,
    /// The PID namespace.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pid_mode: Option<PidMode>,
    /// The IPC namespace.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ipc_mode: Option<IpcMode>,
    /// App Mesh proxy settings (AWS only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub proxy_configuration: Option<ProxyConfiguration>,
    /// When this revision was registered (read-only).
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        with = "lenient::timestamp"
    )]
    pub registered_at: Option<jiff::Timestamp>,
    /// When this revision was deregistered (read-only).
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        with = "lenient::timestamp"
    )]
    pub deregistered_at: Option<jiff::Timestamp>,
    /// When deletion was requested (read-only).
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        with = "lenient::timestamp"
    )]
    pub delete_requested_at: Option<jiff::Timestamp>,
    /// Who registered this revision (read-only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub registered_by: Option<String>,
    /// Fargate ephemeral storage (AWS only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ephemeral_storage: Option<EphemeralStorage>,
    /// Allows fault-injection requests from the task (AWS only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enable_fault_injection: Option<bool>,
    /// Trusted-execution settings (AWS only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trusted_execution_configuration: Option<TrustedExecutionConfiguration>,
    /// Tags. The API takes them beside the definition on register; describe output that
    /// people commit carries them too.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tags: Option<Vec<Tag>>,
}

impl TaskDefinition {
    /// A definition of `family` with the given containers; everything else unset.
    pub fn new(
        family: impl Into<String>,
        containers: impl IntoIterator<Item = ContainerDefinition>,
    ) -> Self {
        Self {
            family: Some(family.into()),
            container_definitions: Some(containers.into_iter().collect()),
            ..Self::default()
        }
    }

    /// Sets the network mode.
    #[must_use]
    pub fn with_network_mode(mut self, mode: NetworkMode) -> Self {
        self.network_mode = Some(mode);
        self
    }

    /// Sets the task-level CPU, in any form the API accepts (`"256"`, `"0.5 vCPU"`).
    #[must_use]
    pub fn with_cpu(mut self, cpu: impl Into<String>) -> Self {
        self.cpu = Some(cpu.into());
        self
    }

    /// Sets the task-level memory, in any form the API accepts (`"512"`, `"2 GB"`).
    #[must_use]
    pub fn with_memory(mut self, memory: impl Into<String>) -> Self {
        self.memory = Some(memory.into());
        self
    }

    /// Adds a volume.
    #[must_use]
    pub fn with_volume(mut self, volume: Volume) -> Self {
        self.volumes.get_or_insert_with(Vec::new).push(volume);
        self
    }

    /// Adds a `memberOf` placement constraint.
    #[must_use]
    pub fn with_member_of(mut self, expression: impl Into<String>) -> Self {
        self.placement_constraints
            .get_or_insert_with(Vec::new)
            .push(TaskDefinitionPlacementConstraint::member_of(expression));
        self
    }

    /// The family, or `""` when unset (validation rejects that).
    pub fn family(&self) -> &str {
        self.family.as_deref().unwrap_or("")
    }

    /// The containers (empty when unset).
    pub fn containers(&self) -> &[ContainerDefinition] {
        self.container_definitions.as_deref().unwrap_or_default()
    }

    /// Whether an essential container has a health check: then the task's health is
    /// theirs, and a task is healthy only once they all are (ECS's rule).
    pub fn has_essential_health_check(&self) -> bool {
        self.containers()
            .iter()
            .any(|c| c.is_essential() && c.health_check.is_some())
    }

    /// The container named `name`.
    pub fn container(&self, name: &str) -> Option<&ContainerDefinition> {
        self.containers().iter().find(|c| c.name() == name)
    }

    /// The volumes (empty when unset).
    pub fn volumes(&self) -> &[Volume] {
        self.volumes.as_deref().unwrap_or_default()
    }

    /// The placement constraints (empty when unset).
    pub fn placement_constraints(&self) -> &[TaskDefinitionPlacementConstraint] {
        self.placement_constraints.as_deref().unwrap_or_default()
    }

    /// The network mode, with ECS's default for Linux when unset: `bridge`.
    pub fn effective_network_mode(&self) -> NetworkMode {
        self.network_mode.unwrap_or(NetworkMode::Bridge)
    }

    /// Task-level CPU in CPU units (1024 per vCPU), when set and well-formed.
    pub fn cpu_units(&self) -> Option<u32> {
        self.cpu
            .as_deref()
            .and_then(|c| units::parse_cpu_units(c).ok())
    }

    /// Task-level memory in MiB, when set and well-formed.
    pub fn memory_mib(&self) -> Option<u32> {
        self.memory
            .as_deref()
            .and_then(|m| units::parse_memory_mib(m).ok())
    }
}

/// A task-definition placement constraint (`memberOf` with a cluster query expression).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct TaskDefinitionPlacementConstraint {
    /// The kind of constraint.
    #[serde(rename = "type", default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<TaskDefinitionPlacementConstraintType>,
    /// The cluster query expression, e.g. `attribute:ecs.instance-type =~ t3.*`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expression: Option<String>,
}

impl TaskDefinitionPlacementConstraint {
    /// A `memberOf` constraint with a cluster query expression.
    pub fn member_of(expression: impl Into<String>) -> Self {
        Self {
            kind: Some(TaskDefinitionPlacementConstraintType::MemberOf),
            expression: Some(expression.into()),
        }
    }
}

/// The platform a task needs.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct RuntimePlatform {
    /// The CPU architecture.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cpu_architecture: Option<CpuArchitecture>,
    /// The operating system family.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub operating_system_family: Option<OsFamily>,
}

/// App Mesh proxy settings.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct ProxyConfiguration {
    /// The kind of proxy.
    #[serde(rename = "type", default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<ProxyConfigurationType>,
    /// The container running the proxy.
    pub container_name: String,
    /// Proxy settings.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub properties: Option<Vec<KeyValuePair>>,
}

impl ProxyConfiguration {
    /// An App Mesh proxy run by `container_name`.
    pub fn new(container_name: impl Into<String>) -> Self {
        Self {
            kind: Some(ProxyConfigurationType::Appmesh),
            container_name: container_name.into(),
            properties: None,
        }
    }
}

/// An Elastic Inference accelerator.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct InferenceAccelerator {
    /// The device name containers refer to.
    pub device_name: String,
    /// The accelerator type.
    pub device_type: String,
}

impl InferenceAccelerator {
    /// An accelerator `device_name` of `device_type`.
    pub fn new(device_name: impl Into<String>, device_type: impl Into<String>) -> Self {
        Self {
            device_name: device_name.into(),
            device_type: device_type.into(),
        }
    }
}

/// Fargate ephemeral storage.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct EphemeralStorage {
    /// Size in GiB (21 to 200).
    #[serde(rename = "sizeInGiB", deserialize_with = "lenient::int")]
    pub size_in_gib: i32,
}

impl EphemeralStorage {
    /// `size_in_gib` GiB of storage.
    pub fn new(size_in_gib: i32) -> Self {
        Self { size_in_gib }
    }
}

/// Trusted-execution settings.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct TrustedExecutionConfiguration {
    /// The isolation mode.
    pub isolation_mode: IsolationMode,
    /// The attestation policy.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attestation_policy: Option<String>,
}

impl TrustedExecutionConfiguration {
    /// Trusted execution in `isolation_mode`.
    pub fn new(isolation_mode: IsolationMode) -> Self {
        Self {
            isolation_mode,
            attestation_policy: None,
        }
    }
}

/// A resource tag.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct Tag {
    /// The key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key: Option<String>,
    /// The value.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
}

impl Tag {
    /// A tag with both parts set.
    pub fn new(key: impl Into<String>, value: impl Into<String>) -> Self {
        Self {
            key: Some(key.into()),
            value: Some(value.into()),
        }
    }
}

/// An attribute: a name, an optional value, and what it is attached to.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct Attribute {
    /// The name, e.g. `com.amazonaws.ecs.capability.docker-remote-api.1.21`.
    pub name: String,
    /// The value.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
    /// The kind of resource it is attached to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target_type: Option<TargetType>,
    /// The id of that resource.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target_id: Option<String>,
}

impl Attribute {
    /// An attribute `name` with an optional value.
    pub fn new(name: impl Into<String>, value: Option<String>) -> Self {
        Self {
            name: name.into(),
            value,
            target_type: None,
            target_id: None,
        }
    }
}
