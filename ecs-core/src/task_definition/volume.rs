//! Task volumes (`Volume` in the API) and their kinds.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::enums::{EnabledDisabled, Scope};
use super::lenient;

/// A volume the task's containers can mount. At most one kind is set; none means a
/// volume managed by the engine for the task's lifetime.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct Volume {
    /// The name mount points refer to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// A bind mount of a host path (or, with no `sourcePath`, an engine-managed volume).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub host: Option<HostVolumeProperties>,
    /// A Docker volume.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub docker_volume_configuration: Option<DockerVolumeConfiguration>,
    /// An Amazon EFS file system (AWS only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub efs_volume_configuration: Option<EfsVolumeConfiguration>,
    /// An S3 Files file system (AWS only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub s3files_volume_configuration: Option<S3FilesVolumeConfiguration>,
    /// An FSx for Windows File Server share (AWS only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fsx_windows_file_server_volume_configuration:
        Option<FsxWindowsFileServerVolumeConfiguration>,
    /// The volume is configured when the task is launched, not here.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub configured_at_launch: Option<bool>,
}

impl Volume {
    /// A volume managed by the engine for the task's lifetime.
    pub fn named(name: impl Into<String>) -> Self {
        Self {
            name: Some(name.into()),
            ..Self::default()
        }
    }

    /// A bind mount of the host path `source_path`.
    pub fn host(name: impl Into<String>, source_path: impl Into<String>) -> Self {
        Self {
            name: Some(name.into()),
            host: Some(HostVolumeProperties {
                source_path: Some(source_path.into()),
            }),
            ..Self::default()
        }
    }

    /// The volume's name, or `""` when unset.
    pub fn name(&self) -> &str {
        self.name.as_deref().unwrap_or("")
    }

    /// The JSON keys of the volume kinds that are set (at most one is allowed).
    pub fn kinds(&self) -> Vec<&'static str> {
        let mut kinds = Vec::new();
        if self.host.is_some() {
            kinds.push("host");
        }
        if self.docker_volume_configuration.is_some() {
            kinds.push("dockerVolumeConfiguration");
        }
        if self.efs_volume_configuration.is_some() {
            kinds.push("efsVolumeConfiguration");
        }
        if self.s3files_volume_configuration.is_some() {
            kinds.push("s3filesVolumeConfiguration");
        }
        if self.fsx_windows_file_server_volume_configuration.is_some() {
            kinds.push("fsxWindowsFileServerVolumeConfiguration");
        }
        kinds
    }
}

/// A host bind mount.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct HostVolumeProperties {
    /// The host path; absent means an engine-managed volume.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_path: Option<String>,
}

/// A Docker (or Podman) named volume.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct DockerVolumeConfiguration {
    /// `task` (removed with the task) or `shared` (kept).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scope: Option<Scope>,
    /// Creates a shared volume when it does not exist yet.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub autoprovision: Option<bool>,
    /// The volume driver (default `local`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub driver: Option<String>,
    /// Driver options.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub driver_opts: Option<BTreeMap<String, String>>,
    /// Labels on the volume.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub labels: Option<BTreeMap<String, String>>,
}

impl DockerVolumeConfiguration {
    /// A `local` volume with `scope`.
    pub fn new(scope: Scope) -> Self {
        Self {
            scope: Some(scope),
            ..Self::default()
        }
    }
}

/// An Amazon EFS volume.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct EfsVolumeConfiguration {
    /// The file system id.
    pub file_system_id: String,
    /// The directory mounted as the root.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub root_directory: Option<String>,
    /// Encryption in transit.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub transit_encryption: Option<EnabledDisabled>,
    /// The port for encrypted traffic.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "lenient::opt_int"
    )]
    pub transit_encryption_port: Option<i32>,
    /// Access point and IAM authorization.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub authorization_config: Option<EfsAuthorizationConfig>,
}

impl EfsVolumeConfiguration {
    /// The root of the file system `file_system_id`.
    pub fn new(file_system_id: impl Into<String>) -> Self {
        Self {
            file_system_id: file_system_id.into(),
            ..Self::default()
        }
    }
}

/// EFS authorization.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct EfsAuthorizationConfig {
    /// The access point id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub access_point_id: Option<String>,
    /// Whether the task role is used for IAM authorization.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub iam: Option<EnabledDisabled>,
}

/// An S3 Files volume.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct S3FilesVolumeConfiguration {
    /// The file system ARN.
    pub file_system_arn: String,
    /// The directory mounted as the root.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub root_directory: Option<String>,
    /// The port for encrypted traffic.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "lenient::opt_int"
    )]
    pub transit_encryption_port: Option<i32>,
    /// The access point ARN.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub access_point_arn: Option<String>,
}

impl S3FilesVolumeConfiguration {
    /// The root of the file system `file_system_arn`.
    pub fn new(file_system_arn: impl Into<String>) -> Self {
        Self {
            file_system_arn: file_system_arn.into(),
            ..Self::default()
        }
    }
}

/// An FSx for Windows File Server volume.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct FsxWindowsFileServerVolumeConfiguration {
    /// The file system id.
    pub file_system_id: String,
    /// The share's directory.
    pub root_directory: String,
    /// The credentials.
    pub authorization_config: FsxWindowsFileServerAuthorizationConfig,
}

impl FsxWindowsFileServerVolumeConfiguration {
    /// The share `root_directory` of `file_system_id`, with credentials.
    pub fn new(
        file_system_id: impl Into<String>,
        root_directory: impl Into<String>,
        authorization_config: FsxWindowsFileServerAuthorizationConfig,
    ) -> Self {
        Self {
            file_system_id: file_system_id.into(),
            root_directory: root_directory.into(),
            authorization_config,
        }
    }
}

/// FSx for Windows File Server credentials.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct FsxWindowsFileServerAuthorizationConfig {
    /// The secret holding the credentials.
    pub credentials_parameter: String,
    /// The Active Directory domain.
    pub domain: String,
}

impl FsxWindowsFileServerAuthorizationConfig {
    /// Credentials in the secret `credentials_parameter` for `domain`.
    pub fn new(credentials_parameter: impl Into<String>, domain: impl Into<String>) -> Self {
        Self {
            credentials_parameter: credentials_parameter.into(),
            domain: domain.into(),
        }
    }
}
