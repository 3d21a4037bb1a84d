//! Property: writing a task definition and reading it back gives the same definition,
//! for definitions generated across the whole model.

use std::collections::BTreeMap;

use proptest::collection::{btree_map, vec};
use proptest::option::of;
use proptest::prelude::*;
use proptest::sample::select;

use super::*;
use crate::Error;

fn text() -> impl Strategy<Value = String> {
    prop_oneof![
        "[a-z][a-z0-9_-]{0,11}",
        any::<String>(),
        Just(String::new()),
    ]
}

fn name() -> impl Strategy<Value = String> {
    "[a-z][a-z0-9_-]{0,7}"
}

fn int() -> impl Strategy<Value = i32> {
    prop_oneof![0..70_000i32, any::<i32>()]
}

fn labels() -> impl Strategy<Value = BTreeMap<String, String>> {
    btree_map(text(), text(), 0..3)
}

fn port_mapping() -> impl Strategy<Value = PortMapping> {
    (
        of(int()),
        of(int()),
        of(select(TransportProtocol::ALL)),
        of(name()),
        of(select(ApplicationProtocol::ALL)),
    )
        .prop_map(
            |(container_port, host_port, protocol, name, app_protocol)| PortMapping {
                container_port,
                host_port,
                protocol,
                name,
                app_protocol,
                container_port_range: None,
            },
        )
}

fn health_check() -> impl Strategy<Value = HealthCheck> {
    (
        vec(text(), 0..3),
        of(int()),
        of(int()),
        of(int()),
        of(int()),
    )
        .prop_map(
            |(command, interval, timeout, retries, start_period)| HealthCheck {
                command,
                interval,
                timeout,
                retries,
                start_period,
            },
        )
}

fn linux_parameters() -> impl Strategy<Value = LinuxParameters> {
    (
        of(vec(name(), 0..2)),
        of(any::<bool>()),
        of(int()),
        of(vec((name(), int()), 0..2)),
        of(vec(select(DeviceCgroupPermission::ALL), 0..3)),
    )
        .prop_map(|(add, init, shm, tmpfs, permissions)| LinuxParameters {
            capabilities: add.map(|add| KernelCapabilities {
                add: Some(add),
                drop: None,
            }),
            devices: permissions.map(|p| {
                vec![Device {
                    host_path: "/dev/fuse".into(),
                    container_path: None,
                    permissions: Some(p),
                }]
            }),
            init_process_enabled: init,
            shared_memory_size: shm,
            tmpfs: tmpfs.map(|t| t.into_iter().map(|(p, s)| Tmpfs::new(p, s)).collect()),
            max_swap: None,
            swappiness: shm,
        })
}

prop_compose! {
    fn container()(
        (name, image, cpu, memory, memory_reservation, essential) in
            (of(name()), of(text()), of(int()), of(int()), of(int()), of(any::<bool>())),
        (links, port_mappings, command, entry_point) in
            (of(vec(name(), 0..3)), of(vec(port_mapping(), 0..3)), of(vec(text(), 0..3)), of(vec(text(), 0..2))),
        (environment, depends_on, health_check) in (
            of(vec((of(name()), of(text())), 0..3)),
            of(vec((name(), select(ContainerCondition::ALL)), 0..3)),
            of(health_check()),
        ),
        (docker_labels, ulimits, log, linux_parameters, stop_timeout) in (
            of(labels()),
            of(vec((select(UlimitName::ALL), int(), int()), 0..2)),
            of((select(LogDriver::ALL), of(labels()))),
            of(linux_parameters()),
            of(int()),
        ),
        (mount_points, user, secrets, resource_requirements) in (
            of(vec((of(name()), of(text()), of(any::<bool>())), 0..2)),
            of(text()),
            of(vec((text(), text()), 0..2)),
            of(vec((select(ResourceType::ALL), of(text())), 0..2)),
        ),
    ) -> ContainerDefinition {
        ContainerDefinition {
            name,
            image,
            cpu,
            memory,
            memory_reservation,
            essential,
            links,
            port_mappings,
            command,
            entry_point,
            environment: environment.map(|e| {
                e.into_iter().map(|(name, value)| KeyValuePair { name, value }).collect()
            }),
            depends_on: depends_on.map(|d| {
                d.into_iter().map(|(n, c)| ContainerDependency::new(n, c)).collect()
            }),
            health_check,
            docker_labels,
            ulimits: ulimits.map(|u| u.into_iter().map(|(n, s, h)| Ulimit::new(n, s, h)).collect()),
            log_configuration: log.map(|(driver, options)| LogConfiguration {
                log_driver: driver,
                options,
                secret_options: None,
            }),
            linux_parameters,
            stop_timeout,
            mount_points: mount_points.map(|m| {
                m.into_iter()
                    .map(|(source_volume, container_path, read_only)| MountPoint {
                        source_volume,
                        container_path,
                        read_only,
                    })
                    .collect()
            }),
            user,
            secrets: secrets.map(|s| s.into_iter().map(|(n, v)| Secret::new(n, v)).collect()),
            resource_requirements: resource_requirements.map(|r| {
                r.into_iter()
                    .map(|(kind, value)| ResourceRequirement { value, kind, sharing_strategy: None })
                    .collect()
            }),
            ..ContainerDefinition::default()
        }
    }
}

fn volume() -> impl Strategy<Value = Volume> {
    (
        of(name()),
        of(of(text())),
        of((of(select(Scope::ALL)), of(any::<bool>()), of(labels()))),
        of(text()),
    )
        .prop_map(|(name, host, docker, efs)| Volume {
            name,
            host: host.map(|source_path| HostVolumeProperties { source_path }),
            docker_volume_configuration: docker.map(|(scope, autoprovision, driver_opts)| {
                DockerVolumeConfiguration {
                    scope,
                    autoprovision,
                    driver: None,
                    driver_opts,
                    labels: None,
                }
            }),
            efs_volume_configuration: efs.map(EfsVolumeConfiguration::new),
            ..Volume::default()
        })
}

prop_compose! {
    fn task_definition()(
        (family, network_mode, cpu, memory, containers) in (
            of(name()),
            of(select(NetworkMode::ALL)),
            of(prop_oneof![Just("256".to_owned()), Just("0.5 vCPU".to_owned()), text()]),
            of(prop_oneof![Just("512".to_owned()), Just("2 GB".to_owned()), text()]),
            of(vec(container(), 0..4)),
        ),
        (volumes, constraints, compat, pid, ipc) in (
            of(vec(volume(), 0..3)),
            of(vec(of(text()), 0..2)),
            of(vec(select(Compatibility::ALL), 0..3)),
            of(select(PidMode::ALL)),
            of(select(IpcMode::ALL)),
        ),
        (revision, status, registered_ms, tags, platform) in (
            of(1..1000i32),
            of(select(TaskDefinitionStatus::ALL)),
            of(0..4_000_000_000_000i64),
            of(vec((of(text()), of(text())), 0..3)),
            of((of(select(CpuArchitecture::ALL)), of(select(OsFamily::ALL)))),
        ),
        roles in (of(text()), of(text())),
    ) -> TaskDefinition {
        TaskDefinition {
            family,
            network_mode,
            cpu,
            memory,
            container_definitions: containers,
            volumes,
            placement_constraints: constraints.map(|c| {
                c.into_iter()
                    .map(|expression| TaskDefinitionPlacementConstraint {
                        kind: Some(TaskDefinitionPlacementConstraintType::MemberOf),
                        expression,
                    })
                    .collect()
            }),
            requires_compatibilities: compat,
            pid_mode: pid,
            ipc_mode: ipc,
            revision,
            status,
            registered_at: registered_ms.map(|ms| jiff::Timestamp::from_millisecond(ms).unwrap()),
            tags: tags.map(|t| t.into_iter().map(|(key, value)| Tag { key, value }).collect()),
            runtime_platform: platform.map(|(cpu_architecture, operating_system_family)| {
                RuntimePlatform { cpu_architecture, operating_system_family }
            }),
            task_role_arn: roles.0,
            execution_role_arn: roles.1,
            ..TaskDefinition::default()
        }
    }
}

/// Definitions that follow every rule: unique names, memory set, distinct host ports,
/// dependencies only on earlier containers, declared volumes, in-range health checks.
fn valid_task_definition() -> impl Strategy<Value = TaskDefinition> {
    let container = (
        6..4096i32,
        of(0..1024i32),
        of(1..65_535i32),
        of((5..300i32, 2..60i32, 1..10i32)),
        vec(("[A-Z][A-Z0-9_]{0,6}", text()), 0..3),
        any::<bool>(),
        of(select(ContainerCondition::ALL)),
    );
    (
        name(),
        vec(container, 1..5),
        of(select(&["4 vCPU", "8192", "16 vcpu"][..])),
        any::<bool>(),
    )
        .prop_map(|(family, specs, cpu, with_volume)| {
            let mut containers: Vec<ContainerDefinition> = Vec::new();
            for (i, (memory, cpu, port, hc, env, essential, condition)) in
                specs.into_iter().enumerate()
            {
                let mut c = ContainerDefinition::new(format!("c{i}"), "busybox:1.36")
                    .with_memory(memory)
                    .with_essential(i == 0 || essential);
                c.cpu = cpu;
                if let Some(port) = port {
                    // Host ports are distinct per container by construction.
                    c = c.with_port_mapping(PortMapping::tcp(port as u16, 10_000 + i as u16));
                }
                if let Some((interval, timeout, retries)) = hc {
                    let mut check = HealthCheck::shell("true");
                    (check.interval, check.timeout, check.retries) =
                        (Some(interval), Some(timeout), Some(retries));
                    c = c.with_health_check(check);
                }
                for (k, v) in env {
                    c = c.with_env(k, v);
                }
                if let (Some(condition), Some(prev)) = (condition, i.checked_sub(1)) {
                    let target = &mut containers[prev];
                    let condition = match condition {
                        ContainerCondition::Healthy if target.health_check.is_none() => {
                            ContainerCondition::Start
                        }
                        ContainerCondition::Complete | ContainerCondition::Success => {
                            if prev == 0 {
                                ContainerCondition::Start
                            } else {
                                target.essential = Some(false);
                                condition
                            }
                        }
                        other => other,
                    };
                    c = c.with_dependency(format!("c{prev}"), condition);
                }
                if with_volume {
                    c = c.with_mount_point(MountPoint::new("data", format!("/data{i}")));
                }
                containers.push(c);
            }
            let mut td = TaskDefinition::new(family, containers);
            td.cpu = cpu.map(str::to_owned);
            if with_volume {
                td = td.with_volume(Volume::host("data", "/srv/data"));
            }
            td
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn valid_definitions_load_back_unchanged(td in valid_task_definition()) {
        let warnings = td.validate();
        prop_assert!(warnings.is_ok(), "{}", warnings.unwrap_err());
        let loaded = TaskDefinition::from_json(&td.to_json_pretty());
        prop_assert!(loaded.is_ok(), "{}", loaded.unwrap_err());
        let loaded = loaded.unwrap();
        prop_assert_eq!(&loaded.definition, &td);
        prop_assert!(loaded.warnings.is_empty(), "{:?}", loaded.warnings);
    }

    #[test]
    fn serialize_then_deserialize_is_identity(td in task_definition()) {
        let json = serde_json::to_string(&td).unwrap();
        let back: TaskDefinition = serde_json::from_str(&json).unwrap();
        prop_assert_eq!(&back, &td);
        prop_assert_eq!(back.to_value(), td.to_value());
    }

    /// What the model writes always reads back: either accepted as the same definition,
    /// with nothing unknown or normalized, or rejected by the rules, never by the parser.
    #[test]
    fn written_json_always_loads(td in task_definition()) {
        match TaskDefinition::from_json(&td.to_json_pretty()) {
            Ok(loaded) => {
                prop_assert_eq!(&loaded.definition, &td);
                let changed = loaded.warnings.iter().any(|w| {
                    matches!(w.kind, WarningKind::UnknownField | WarningKind::Normalized { .. })
                });
                prop_assert!(!changed, "{:?}", loaded.warnings);
                prop_assert!(td.validate().is_ok());
            }
            Err(Error::Invalid(v)) => {
                prop_assert!(!v.is_empty());
                prop_assert!(td.validate().is_err());
            }
            Err(other) => prop_assert!(false, "parse error on our own output: {}", other),
        }
    }
}
