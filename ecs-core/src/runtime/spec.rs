//! From a task definition's container to what an engine creates.

use std::collections::BTreeMap;
use std::time::Duration;

use super::labels;
use super::logs::{EngineLogDriver, LoggingSpec};
use super::types::{ContainerSpec, HealthCheckSpec, MountSpec, PortSpec, UlimitSpec};
use crate::task_definition::{
    ContainerDefinition, HealthCheck, LogConfiguration, LogDriver, NetworkMode, TaskDefinition,
};

/// Who a container belongs to: written into its labels and its engine-side name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TaskContext {
    /// The cluster's name.
    pub cluster: String,
    /// The task's ARN.
    pub task_arn: String,
    /// The task's id (the ARN's last part).
    pub task_id: String,
    /// The task group.
    pub group: String,
    /// The service, for a service's tasks.
    pub service: Option<String>,
    /// Its place in a Service Connect namespace: every container joins the namespace's
    /// network, answering there to its endpoints' names.
    pub service_connect: Option<crate::service::TaskServiceConnect>,
}

/// The engine-side name of a task's container: `ecs-FAMILY-REVISION-CONTAINER-TASKID`,
/// the ECS agent's pattern.
pub fn engine_name(td: &TaskDefinition, container: &str, task_id: &str) -> String {
    format!(
        "ecs-{}-{}-{}-{}",
        td.family(),
        td.revision.unwrap_or(0),
        container,
        task_id
    )
}

/// Seconds of an ECS duration field, with a default when unset.
fn seconds(value: Option<i32>, default: u64) -> Duration {
    Duration::from_secs(value.map_or(default, |v| u64::try_from(v).unwrap_or(0)))
}

fn health(hc: &HealthCheck) -> HealthCheckSpec {
    HealthCheckSpec {
        command: hc.command.clone(),
        interval: seconds(hc.interval, HealthCheck::DEFAULT_INTERVAL as u64),
        timeout: seconds(hc.timeout, HealthCheck::DEFAULT_TIMEOUT as u64),
        retries: hc
            .retries
            .map_or(HealthCheck::DEFAULT_RETRIES as u32, |r| r.max(0) as u32),
        start_period: seconds(hc.start_period, 0),
    }
}

/// Where an engine keeps a container's output under `log`: the drivers that write on the
/// engine's host (`json-file`, `local`) with their options; every other driver
/// (`awslogs`, `awsfirelens`, `splunk`, and `syslog`, `journald`, `gelf`, `fluentd`,
/// which need a daemon of their own) leaves the engine's default driver, so the output
/// stays readable through the engine.
pub fn logging_spec(log: &LogConfiguration) -> Option<LoggingSpec> {
    let driver = match log.log_driver {
        LogDriver::JsonFile => EngineLogDriver::JsonFile,
        LogDriver::Local => EngineLogDriver::Local,
        _ => return None,
    };
    Some(LoggingSpec::new(
        driver,
        log.options.clone().unwrap_or_default(),
    ))
}

/// The spec for container `c` of `td` in the task `ctx`.
///
/// Volumes: a host `sourcePath` is a bind mount; any other volume is an engine volume
/// named after the task (`ecs-TASKID-VOLUME`, task-scoped) or, for `shared` Docker
/// volumes, after the volume itself. Logs: see [`logging_spec`].
pub fn container_spec(
    td: &TaskDefinition,
    c: &ContainerDefinition,
    ctx: &TaskContext,
) -> ContainerSpec {
    let mut spec = ContainerSpec::new(
        engine_name(td, c.name(), &ctx.task_id),
        c.image.clone().unwrap_or_default(),
    );
    spec.entry_point = c.effective_entry_point().map(<[String]>::to_vec);
    spec.command = c.effective_command().map(<[String]>::to_vec);
    spec.environment = c
        .environment
        .iter()
        .flatten()
        .filter_map(|kv| Some((kv.name.clone()?, kv.value.clone().unwrap_or_default())))
        .collect();
    let mut l: BTreeMap<String, String> = c.docker_labels.clone().unwrap_or_default();
    l.insert(labels::CLUSTER.into(), ctx.cluster.clone());
    l.insert(labels::TASK_ARN.into(), ctx.task_arn.clone());
    l.insert(
        labels::TASK_DEFINITION_FAMILY.into(),
        td.family().to_owned(),
    );
    l.insert(
        labels::TASK_DEFINITION_VERSION.into(),
        td.revision.unwrap_or(0).to_string(),
    );
    l.insert(labels::CONTAINER_NAME.into(), c.name().to_owned());
    l.insert(labels::TASK_GROUP.into(), ctx.group.clone());
    if let Some(service) = &ctx.service {
        l.insert(labels::SERVICE_NAME.into(), service.clone());
    }
    spec.labels = l;
    let mode = td.effective_network_mode();
    spec.network_mode = mode;
    spec.ports = c
        .port_mappings()
        .iter()
        .filter_map(|pm| {
            let container_port = u16::try_from(pm.container_port?).ok()?;
            let host_port = match mode {
                NetworkMode::Host => container_port,
                _ => pm
                    .host_port
                    .and_then(|p| u16::try_from(p).ok())
                    .unwrap_or(0),
            };
            Some(PortSpec {
                container_port,
                host_port,
                protocol: pm.protocol(),
            })
        })
        .collect();
    spec.cpu_shares = c.cpu.and_then(|v| u32::try_from(v).ok()).filter(|v| *v > 0);
    spec.memory_limit_mib = c.memory.and_then(|v| u32::try_from(v).ok());
    spec.memory_reservation_mib = c.memory_reservation.and_then(|v| u32::try_from(v).ok());
    spec.health_check = c.health_check.as_ref().map(health);
    spec.mounts = c
        .mount_points()
        .iter()
        .filter_map(|m| {
            let source = m.source_volume.as_deref()?;
            let volume = td.volumes().iter().find(|v| v.name() == source)?;
            let container_path = m.container_path.clone()?;
            let read_only = m.read_only.unwrap_or(false);
            match volume.host.as_ref().and_then(|h| h.source_path.clone()) {
                Some(host_path) => Some(MountSpec::Bind {
                    host_path,
                    container_path,
                    read_only,
                }),
                None => {
                    let shared = volume
                        .docker_volume_configuration
                        .as_ref()
                        .is_some_and(|d| d.scope == Some(crate::task_definition::Scope::Shared));
                    let name = if shared {
                        volume.name().to_owned()
                    } else {
                        format!("ecs-{}-{}", ctx.task_id, volume.name())
                    };
                    Some(MountSpec::Volume {
                        name,
                        container_path,
                        read_only,
                    })
                }
            }
        })
        .collect();
    spec.init = c
        .linux_parameters
        .as_ref()
        .and_then(|l| l.init_process_enabled)
        .unwrap_or(false);
    spec.ulimits = c
        .ulimits
        .iter()
        .flatten()
        .map(|u| UlimitSpec {
            name: u.name,
            soft: i64::from(u.soft_limit),
            hard: i64::from(u.hard_limit),
        })
        .collect();
    spec.user = c.user.clone();
    spec.working_directory = c.working_directory.clone();
    spec.hostname = c.hostname.clone();
    spec.privileged = c.privileged.unwrap_or(false);
    spec.readonly_root_filesystem = c.readonly_root_filesystem.unwrap_or(false);
    spec.links = c
        .links()
        .iter()
        .map(|link| {
            let (name, alias) = link.split_once(':').unwrap_or((link, link));
            (engine_name(td, name, &ctx.task_id), alias.to_owned())
        })
        .collect();
    spec.volumes_from = c
        .volumes_from()
        .iter()
        .filter_map(|v| {
            let source = v.source_container.as_deref()?;
            Some((
                engine_name(td, source, &ctx.task_id),
                v.read_only.unwrap_or(false),
            ))
        })
        .collect();
    spec.extra_hosts = c
        .extra_hosts
        .iter()
        .flatten()
        .map(|h| (h.hostname.clone(), h.ip_address.clone()))
        .collect();
    spec.stop_timeout = seconds(c.stop_timeout, 30);
    spec.logging = c.log_configuration.as_ref().and_then(logging_spec);
    spec.network = ctx
        .service_connect
        .as_ref()
        .filter(|_| matches!(mode, NetworkMode::Bridge | NetworkMode::Awsvpc))
        .map(|sc| super::NetworkAttachment {
            network: sc.network.clone(),
            aliases: sc.aliases_of(c.name()),
        });
    spec
}
