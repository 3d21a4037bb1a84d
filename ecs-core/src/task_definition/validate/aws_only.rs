//! Warnings for what only means something on AWS: kept in the model (so a definition
//! round-trips and can still be registered on AWS), reported so nobody expects it to act.

use super::Report;
use crate::json_path::JsonPath;
use crate::task_definition::TaskDefinition;
use crate::task_definition::diagnostics::WarningKind;
use crate::task_definition::enums::{Compatibility, LogDriver, NetworkMode, ResourceType};

/// Whether a definition carries one read-only key.
type Present = fn(&TaskDefinition) -> bool;

/// Keys of `DescribeTaskDefinition` output that registering ignores.
const READ_ONLY: &[(&str, Present)] = &[
    ("taskDefinitionArn", |td| td.task_definition_arn.is_some()),
    ("revision", |td| td.revision.is_some()),
    ("status", |td| td.status.is_some()),
    ("requiresAttributes", |td| td.requires_attributes.is_some()),
    ("compatibilities", |td| td.compatibilities.is_some()),
    ("registeredAt", |td| td.registered_at.is_some()),
    ("deregisteredAt", |td| td.deregistered_at.is_some()),
    ("deleteRequestedAt", |td| td.delete_requested_at.is_some()),
    ("registeredBy", |td| td.registered_by.is_some()),
];

pub(super) fn check(td: &TaskDefinition, root: &JsonPath, r: &mut Report) {
    for (key, present) in READ_ONLY {
        if present(td) {
            r.warning(root.key(*key), WarningKind::ReadOnlyField);
        }
    }
    let mut aws =
        |path: JsonPath, feature: &'static str| r.warning(path, WarningKind::AwsOnly { feature });
    if td.task_role_arn.is_some() {
        aws(root.key("taskRoleArn"), "an IAM task role");
    }
    if td.execution_role_arn.is_some() {
        aws(root.key("executionRoleArn"), "an IAM execution role");
    }
    if td.network_mode == Some(NetworkMode::Awsvpc) {
        aws(
            root.key("networkMode"),
            "the awsvpc network mode (an elastic network interface per task)",
        );
    }
    for (i, c) in td
        .requires_compatibilities
        .as_deref()
        .unwrap_or_default()
        .iter()
        .enumerate()
    {
        if matches!(c, Compatibility::Fargate | Compatibility::ManagedInstances) {
            aws(
                root.key("requiresCompatibilities").index(i),
                "this launch type",
            );
        }
    }
    if td.proxy_configuration.is_some() {
        aws(
            root.key("proxyConfiguration"),
            "an App Mesh proxy configuration",
        );
    }
    if td
        .inference_accelerators
        .as_ref()
        .is_some_and(|l| !l.is_empty())
    {
        aws(root.key("inferenceAccelerators"), "Elastic Inference");
    }
    if td.ephemeral_storage.is_some() {
        aws(root.key("ephemeralStorage"), "Fargate ephemeral storage");
    }
    if td.enable_fault_injection == Some(true) {
        aws(
            root.key("enableFaultInjection"),
            "AWS Fault Injection Service",
        );
    }
    if td.trusted_execution_configuration.is_some() {
        aws(
            root.key("trustedExecutionConfiguration"),
            "trusted execution",
        );
    }
    for (i, v) in td.volumes().iter().enumerate() {
        let path = root.key("volumes").index(i);
        if v.efs_volume_configuration.is_some() {
            aws(path.key("efsVolumeConfiguration"), "an Amazon EFS volume");
        }
        if v.fsx_windows_file_server_volume_configuration.is_some() {
            aws(
                path.key("fsxWindowsFileServerVolumeConfiguration"),
                "an FSx for Windows volume",
            );
        }
        if v.s3files_volume_configuration.is_some() {
            aws(path.key("s3filesVolumeConfiguration"), "an S3 Files volume");
        }
    }
    for (i, c) in td.containers().iter().enumerate() {
        let path = root.key("containerDefinitions").index(i);
        if c.image.as_deref().is_some_and(is_ecr_image) {
            aws(
                path.key("image"),
                "an Amazon ECR image (pulled with the execution role)",
            );
        }
        if c.repository_credentials.is_some() {
            aws(
                path.key("repositoryCredentials"),
                "registry credentials in Secrets Manager",
            );
        }
        if c.environment_files.as_ref().is_some_and(|l| !l.is_empty()) {
            aws(
                path.key("environmentFiles"),
                "environment files in Amazon S3 (read here through the program's \
                 SecretProvider, EcsConfig::secret_provider)",
            );
        }
        if c.secrets.as_ref().is_some_and(|l| !l.is_empty()) {
            aws(
                path.key("secrets"),
                "secrets from Secrets Manager or SSM Parameter Store (read here through \
                 the program's SecretProvider, EcsConfig::secret_provider)",
            );
        }
        if let Some(log) = &c.log_configuration {
            let log_path = path.key("logConfiguration");
            match log.log_driver {
                LogDriver::Awslogs => aws(
                    log_path.key("logDriver"),
                    "the awslogs log driver (CloudWatch Logs; the output stays readable \
                     here with GetContainerLogs, which names its log stream)",
                ),
                LogDriver::Awsfirelens => aws(
                    log_path.key("logDriver"),
                    "the awsfirelens log driver (the output stays readable here with \
                     GetContainerLogs)",
                ),
                _ => {}
            }
            if log.secret_options.as_ref().is_some_and(|l| !l.is_empty()) {
                aws(
                    log_path.key("secretOptions"),
                    "log driver secrets from Secrets Manager",
                );
            }
        }
        if c.firelens_configuration.is_some() {
            aws(path.key("firelensConfiguration"), "FireLens log routing");
        }
        if c.credential_specs.as_ref().is_some_and(|l| !l.is_empty()) {
            aws(
                path.key("credentialSpecs"),
                "Active Directory credential specs",
            );
        }
        for (j, req) in c
            .resource_requirements
            .as_deref()
            .unwrap_or_default()
            .iter()
            .enumerate()
        {
            if matches!(
                req.kind,
                ResourceType::InferenceAccelerator | ResourceType::NeuronDevice
            ) {
                aws(
                    path.key("resourceRequirements").index(j),
                    "this accelerator",
                );
            }
        }
    }
}

/// `123456789012.dkr.ecr.us-west-2.amazonaws.com/repo:tag` and the like.
fn is_ecr_image(image: &str) -> bool {
    let registry = image.split('/').next().unwrap_or("");
    registry.contains(".dkr.ecr.") && registry.contains(".amazonaws.com")
}
