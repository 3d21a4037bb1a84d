//! Rules on one container at a time: name, image, resources, ports, health check,
//! timeouts, environment and Linux parameters.

use super::Report;
use crate::json_path::JsonPath;
use crate::task_definition::TaskDefinition;
use crate::task_definition::container::{ContainerDefinition, HealthCheck, LinuxParameters};
use crate::task_definition::diagnostics::{ViolationKind, WarningKind};
use crate::task_definition::enums::{Compatibility, LogDriver, NetworkMode, ResourceType};

/// The smallest memory limit Docker accepts, in MiB.
const MIN_MEMORY_MIB: i64 = 6;
const MAX_I32: i64 = i32::MAX as i64;

pub(super) fn check(
    td: &TaskDefinition,
    c: &ContainerDefinition,
    path: &JsonPath,
    task_memory: Option<u32>,
    r: &mut Report,
) {
    r.name(path.key("name"), c.name.as_deref());
    if let Some(image) = r.required(path.key("image"), c.image.as_deref())
        && looks_like_placeholder(image)
    {
        r.warning(
            path.key("image"),
            WarningKind::Placeholder {
                value: image.to_owned(),
            },
        );
    }
    resources(c, path, task_memory, r);
    network(td, c, path, r);
    if let Some(hc) = &c.health_check {
        health_check(hc, &path.key("healthCheck"), r);
    }
    // ECS documents 2 to 120 seconds on Fargate; on EC2 the agent's own settings apply.
    let max_timeout = if requires_fargate(td) { 120 } else { MAX_I32 };
    r.range(path.key("startTimeout"), c.start_timeout, 0, max_timeout);
    r.range(path.key("stopTimeout"), c.stop_timeout, 0, max_timeout);
    environment(c, path, r);
    if let Some(log) = &c.log_configuration {
        log_driver(
            log.log_driver,
            &path.key("logConfiguration").key("logDriver"),
            r,
        );
    }
    if let Some(lp) = &c.linux_parameters {
        linux_parameters(lp, &path.key("linuxParameters"), r);
    }
    for (i, u) in c.ulimits.as_deref().unwrap_or_default().iter().enumerate() {
        // -1 is "unlimited" for a hard limit.
        if u.hard_limit >= 0 && u.soft_limit > u.hard_limit {
            r.violation(
                path.key("ulimits").index(i).key("softLimit"),
                ViolationKind::SoftLimitAboveHard {
                    soft: u.soft_limit,
                    hard: u.hard_limit,
                },
            );
        }
    }
    if let Some(rp) = &c.restart_policy {
        let rp_path = path.key("restartPolicy");
        r.range(
            rp_path.key("restartAttemptPeriod"),
            rp.restart_attempt_period,
            60,
            1800,
        );
        let codes = rp.ignored_exit_codes.as_deref().unwrap_or_default();
        if codes.len() > 50 {
            r.violation(
                rp_path.key("ignoredExitCodes"),
                ViolationKind::TooMany {
                    max: 50,
                    found: codes.len(),
                },
            );
        }
    }
    for (i, req) in c
        .resource_requirements
        .as_deref()
        .unwrap_or_default()
        .iter()
        .enumerate()
    {
        let value = req.value.as_deref().unwrap_or("");
        if req.kind == ResourceType::Gpu && value.parse::<u32>().map_or(true, |n| n == 0) {
            r.violation(
                path.key("resourceRequirements").index(i).key("value"),
                ViolationKind::Malformed {
                    value: value.to_owned(),
                    reason: "a GPU requirement is a positive number of GPUs".into(),
                },
            );
        }
    }
    if let Some(creds) = &c.repository_credentials {
        r.required(
            path.key("repositoryCredentials")
                .key("credentialsParameter"),
            Some(creds.credentials_parameter.as_str()),
        );
    }
}

fn requires_fargate(td: &TaskDefinition) -> bool {
    td.requires_compatibilities
        .as_deref()
        .unwrap_or_default()
        .contains(&Compatibility::Fargate)
}

/// `${IMAGE}`, `<IMAGE_NAME>`, `{{image}}`: template variables nobody filled in.
fn looks_like_placeholder(value: &str) -> bool {
    value.contains("${") || value.contains("{{") || (value.contains('<') && value.contains('>'))
}

fn resources(c: &ContainerDefinition, path: &JsonPath, task_memory: Option<u32>, r: &mut Report) {
    r.range(path.key("cpu"), c.cpu, 0, 196_608);
    r.range(path.key("memory"), c.memory, MIN_MEMORY_MIB, MAX_I32);
    r.range(
        path.key("memoryReservation"),
        c.memory_reservation,
        MIN_MEMORY_MIB,
        MAX_I32,
    );
    if let (Some(reservation), Some(limit)) = (c.memory_reservation, c.memory)
        && reservation > limit
    {
        r.violation(
            path.key("memoryReservation"),
            ViolationKind::ReservationAboveLimit { reservation, limit },
        );
    }
    match task_memory {
        Some(task) => {
            if let Some(memory) = c.memory
                && i64::from(memory) > i64::from(task)
            {
                r.violation(
                    path.key("memory"),
                    ViolationKind::MemoryAboveTask {
                        needed: i64::from(memory),
                        task,
                    },
                );
            }
        }
        // Without a task size, a container with no memory setting reserves nothing.
        None if c.memory.is_none() && c.memory_reservation.is_none() => {
            r.warning(path.clone(), WarningKind::NoMemory);
        }
        None => {}
    }
}

/// What a log driver does here: `json-file` runs on the engine; `local` too, though ECS's
/// API does not list it; the AWS ones are reported as AWS-only (elsewhere); those that
/// need a daemon or service of their own are not run, the output kept by the engine's
/// default driver.
fn log_driver(driver: LogDriver, path: &JsonPath, r: &mut Report) {
    match driver {
        LogDriver::Local => r.warning(path.clone(), WarningKind::NotInEcs { value: "local" }),
        LogDriver::Syslog
        | LogDriver::Journald
        | LogDriver::Gelf
        | LogDriver::Fluentd
        | LogDriver::Splunk => r.warning(
            path.clone(),
            WarningKind::LogDriverNotRun {
                driver: driver.as_str(),
            },
        ),
        _ => {}
    }
}

fn network(td: &TaskDefinition, c: &ContainerDefinition, path: &JsonPath, r: &mut Report) {
    let mode = td.effective_network_mode();
    if mode == NetworkMode::None && !c.port_mappings().is_empty() {
        r.violation(
            path.key("portMappings"),
            ViolationKind::NotAllowedInNetworkMode {
                mode: mode.as_str(),
            },
        );
    }
    if mode == NetworkMode::Awsvpc {
        // ECS rejects these two in awsvpc mode: the task owns its network namespace.
        let extra_hosts = c.extra_hosts.as_ref().is_some_and(|h| !h.is_empty());
        for (key, set) in [
            ("hostname", c.hostname.is_some()),
            ("extraHosts", extra_hosts),
        ] {
            if set {
                r.violation(
                    path.key(key),
                    ViolationKind::NotAllowedInNetworkMode {
                        mode: mode.as_str(),
                    },
                );
            }
        }
    }
    let ranges = c
        .port_mappings()
        .iter()
        .filter(|pm| pm.container_port_range.is_some())
        .count();
    if ranges > 100 {
        r.violation(
            path.key("portMappings"),
            ViolationKind::TooMany {
                max: 100,
                found: ranges,
            },
        );
    }
    for (i, pm) in c.port_mappings().iter().enumerate() {
        let pm_path = path.key("portMappings").index(i);
        match (pm.container_port, pm.container_port_range.as_deref()) {
            (None, None) => r.violation(pm_path.key("containerPort"), ViolationKind::Required),
            (Some(_), Some(_)) => r.violation(
                pm_path.key("containerPortRange"),
                ViolationKind::RequiresOther {
                    requires: "containerPort is not set",
                },
            ),
            (None, Some(range)) => {
                let range_path = pm_path.key("containerPortRange");
                port_range(range, &range_path, r);
                if !matches!(mode, NetworkMode::Bridge | NetworkMode::Awsvpc) {
                    r.violation(
                        range_path,
                        ViolationKind::NotAllowedInNetworkMode {
                            mode: mode.as_str(),
                        },
                    );
                } else if pm.host_port.is_some() {
                    r.violation(
                        pm_path.key("hostPort"),
                        ViolationKind::RequiresOther {
                            requires: "containerPortRange is not set",
                        },
                    );
                }
            }
            (Some(_), None) => {}
        }
        if let Some(name) = pm.name.as_deref()
            && !is_port_name(name)
        {
            r.violation(
                pm_path.key("name"),
                ViolationKind::Malformed {
                    value: name.to_owned(),
                    reason: "up to 64 lowercase letters, digits, underscores and hyphens, not \
                             starting with a hyphen"
                        .into(),
                },
            );
        }
        r.range(pm_path.key("containerPort"), pm.container_port, 1, 65_535);
        r.range(pm_path.key("hostPort"), pm.host_port, 0, 65_535);
        if matches!(mode, NetworkMode::Host | NetworkMode::Awsvpc)
            && let (Some(container_port), Some(host_port)) = (pm.container_port, pm.host_port)
            && host_port != container_port
            && host_port != 0
        {
            r.violation(
                pm_path.key("hostPort"),
                ViolationKind::HostPortMismatch {
                    mode: mode.as_str(),
                    container_port,
                    host_port,
                },
            );
        }
    }
}

/// Service Connect's rule for port mapping names.
fn is_port_name(name: &str) -> bool {
    (1..=64).contains(&name.len())
        && !name.starts_with('-')
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-')
}

/// `"8000-8100"`: two ports, the first below the second.
fn port_range(range: &str, path: &JsonPath, r: &mut Report) {
    let parsed = range
        .split_once('-')
        .and_then(|(a, b)| Some((a.trim().parse::<u32>().ok()?, b.trim().parse::<u32>().ok()?)));
    let ok = matches!(parsed, Some((a, b)) if a >= 1 && a < b && b <= 65_535);
    if !ok {
        r.violation(
            path.clone(),
            ViolationKind::Malformed {
                value: range.to_owned(),
                reason: "expected \"start-end\" with 1 <= start < end <= 65535".into(),
            },
        );
    }
}

fn health_check(hc: &HealthCheck, path: &JsonPath, r: &mut Report) {
    match hc.command.first().map(String::as_str) {
        None => r.violation(path.key("command"), ViolationKind::Empty),
        Some("CMD" | "CMD-SHELL") if hc.command.len() < 2 => r.violation(
            path.key("command"),
            ViolationKind::Malformed {
                value: hc.command.join(" "),
                reason: "CMD and CMD-SHELL need a command after them".into(),
            },
        ),
        Some("CMD" | "CMD-SHELL" | "NONE") => {}
        Some(other) => r.violation(
            path.key("command").index(0),
            ViolationKind::Malformed {
                value: other.to_owned(),
                reason: "a health check command starts with CMD, CMD-SHELL or NONE".into(),
            },
        ),
    }
    r.range(path.key("interval"), hc.interval, 5, 300);
    r.range(path.key("timeout"), hc.timeout, 2, 60);
    r.range(path.key("retries"), hc.retries, 1, 10);
    r.range(path.key("startPeriod"), hc.start_period, 0, 300);
}

fn environment(c: &ContainerDefinition, path: &JsonPath, r: &mut Report) {
    for (i, kv) in c
        .environment
        .as_deref()
        .unwrap_or_default()
        .iter()
        .enumerate()
    {
        r.required(
            path.key("environment").index(i).key("name"),
            kv.name.as_deref(),
        );
    }
    for (i, s) in c.secrets.as_deref().unwrap_or_default().iter().enumerate() {
        let s_path = path.key("secrets").index(i);
        r.required(s_path.key("name"), Some(&s.name));
        r.required(s_path.key("valueFrom"), Some(&s.value_from));
    }
    for (i, m) in c.mount_points().iter().enumerate() {
        r.required(
            path.key("mountPoints").index(i).key("containerPath"),
            m.container_path.as_deref(),
        );
    }
}

fn linux_parameters(lp: &LinuxParameters, path: &JsonPath, r: &mut Report) {
    r.range(path.key("swappiness"), lp.swappiness, 0, 100);
    r.range(path.key("maxSwap"), lp.max_swap, 0, MAX_I32);
    r.range(
        path.key("sharedMemorySize"),
        lp.shared_memory_size,
        1,
        MAX_I32,
    );
    for (i, t) in lp.tmpfs.as_deref().unwrap_or_default().iter().enumerate() {
        let t_path = path.key("tmpfs").index(i);
        r.required(t_path.key("containerPath"), Some(&t.container_path));
        r.range(t_path.key("size"), Some(t.size), 1, MAX_I32);
    }
    for (i, d) in lp.devices.as_deref().unwrap_or_default().iter().enumerate() {
        r.required(
            path.key("devices").index(i).key("hostPath"),
            Some(&d.host_path),
        );
    }
}
