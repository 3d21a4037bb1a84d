//! Task definitions: the typed model of the ECS API's `TaskDefinition` and
//! `ContainerDefinition`, loading from the JSON AWS users write, and validation.
//!
//! The model keeps the API's shape exactly (camelCase keys, the API's enum strings,
//! optional fields as `Option`), so a definition reads and writes back equivalently.
//! Where AWS documents and tools take liberties (integers written as strings, task
//! sizes such as `"0.5 vCPU"`, `null` for unset, describe output keys), the loader
//! accepts them and says so in [`Loaded::warnings`].

mod container;
mod diagnostics;
pub(crate) mod enums;
mod lenient;
pub(crate) mod load;
mod task;
mod units;
mod validate;
mod volume;

#[cfg(test)]
mod proptests;

pub use container::{
    ContainerDefinition, ContainerDependency, ContainerRestartPolicy, Device, EnvironmentFile,
    FirelensConfiguration, HealthCheck, HostEntry, KernelCapabilities, KeyValuePair,
    LinuxParameters, LogConfiguration, MountPoint, NvidiaMpsAllocation, PortMapping,
    RepositoryCredentials, ResourceRequirement, Secret, SharingStrategy, SystemControl, Tmpfs,
    Ulimit, VolumeFrom,
};
pub use diagnostics::{Violation, ViolationKind, Violations, Warning, WarningKind};
pub use enums::{
    ApplicationProtocol, Compatibility, ContainerCondition, CpuArchitecture,
    DeviceCgroupPermission, EnabledDisabled, EnvironmentFileType, FirelensConfigurationType,
    IpcMode, IsolationMode, LogDriver, NetworkMode, OsFamily, PidMode, ProxyConfigurationType,
    ResourceType, Scope, TargetType, TaskDefinitionPlacementConstraintType, TaskDefinitionStatus,
    TransportProtocol, UlimitName, VersionConsistency,
};
pub use load::Loaded;
pub use task::{
    Attribute, EphemeralStorage, InferenceAccelerator, ProxyConfiguration, RuntimePlatform, Tag,
    TaskDefinition, TaskDefinitionPlacementConstraint, TrustedExecutionConfiguration,
};
pub use volume::{
    DockerVolumeConfiguration, EfsAuthorizationConfig, EfsVolumeConfiguration,
    FsxWindowsFileServerAuthorizationConfig, FsxWindowsFileServerVolumeConfiguration,
    HostVolumeProperties, S3FilesVolumeConfiguration, Volume,
};
