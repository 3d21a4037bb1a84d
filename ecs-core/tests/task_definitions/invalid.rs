//! Invalid task definitions: each is rejected with exactly the violations expected, each
//! at its JSON path; malformed JSON and wrong shapes say where.

use ecs_core::task_definition::{TaskDefinition, ViolationKind as K};
use ecs_core::{Error, JsonPath};

/// Rejects `json` with exactly `expected` (in any order).
#[track_caller]
fn assert_rejected(json: &str, expected: &[(&str, K)]) {
    let violations = match TaskDefinition::from_json(json) {
        Err(Error::Invalid(v)) => v,
        Err(other) => panic!("expected violations, got {other}"),
        Ok(loaded) => panic!("accepted: {:?}", loaded.definition),
    };
    let actual: Vec<(String, K)> = violations
        .iter()
        .map(|v| (v.path.to_string(), v.kind.clone()))
        .collect();
    for (path, kind) in expected {
        assert!(
            actual.iter().any(|(p, k)| p == path && k == kind),
            "missing {path}: {kind}\nactual: {violations}"
        );
    }
    assert_eq!(
        actual.len(),
        expected.len(),
        "unexpected extra violations: {violations}"
    );
}

/// A one-container definition with `container` merged into a valid base container.
fn one(container_fields: &str) -> String {
    format!(
        r#"{{"family": "f", "containerDefinitions": [{{"name": "app", "image": "busybox", "memory": 64 {container_fields}}}]}}"#
    )
}

#[test]
fn missing_family_and_containers() {
    assert_rejected(
        "{}",
        &[
            ("family", K::Required),
            ("containerDefinitions", K::Required),
        ],
    );
}

#[test]
fn empty_container_list() {
    assert_rejected(
        r#"{"family": "f", "containerDefinitions": []}"#,
        &[("containerDefinitions", K::Empty)],
    );
}

#[test]
fn bad_family_name() {
    assert_rejected(
        r#"{"family": "my app!", "containerDefinitions": [{"name": "a", "image": "x", "memory": 8}]}"#,
        &[(
            "family",
            K::InvalidName {
                value: "my app!".into(),
                rule: "up to 255 letters, digits, hyphens and underscores",
            },
        )],
    );
}

#[test]
fn missing_name_and_image() {
    assert_rejected(
        r#"{"family": "f", "containerDefinitions": [{"memory": 8}]}"#,
        &[
            ("containerDefinitions[0].name", K::Required),
            ("containerDefinitions[0].image", K::Required),
        ],
    );
}

#[test]
fn duplicate_container_names() {
    assert_rejected(
        r#"{"family": "f", "containerDefinitions": [
            {"name": "a", "image": "x", "memory": 8},
            {"name": "a", "image": "y", "memory": 8}]}"#,
        &[(
            "containerDefinitions[1].name",
            K::DuplicateContainerName {
                name: "a".into(),
                first: 0,
            },
        )],
    );
}

#[test]
fn no_essential_container() {
    assert_rejected(
        &one(r#", "essential": false"#),
        &[("containerDefinitions", K::NoEssentialContainer)],
    );
}

#[test]
fn too_many_containers() {
    let containers: Vec<String> = (0..11)
        .map(|i| format!(r#"{{"name": "c{i}", "image": "x", "memory": 8}}"#))
        .collect();
    let json = format!(
        r#"{{"family": "f", "containerDefinitions": [{}]}}"#,
        containers.join(",")
    );
    assert_rejected(
        &json,
        &[("containerDefinitions", K::TooMany { max: 10, found: 11 })],
    );
}

#[test]
fn reservation_above_hard_limit() {
    assert_rejected(
        &one(r#", "memoryReservation": 128"#),
        &[(
            "containerDefinitions[0].memoryReservation",
            K::ReservationAboveLimit {
                reservation: 128,
                limit: 64,
            },
        )],
    );
}

#[test]
fn memory_below_docker_minimum() {
    assert_rejected(
        r#"{"family": "f", "containerDefinitions": [{"name": "a", "image": "x", "memory": 4}]}"#,
        &[(
            "containerDefinitions[0].memory",
            K::OutOfRange {
                min: 6,
                max: i32::MAX as i64,
                found: 4,
            },
        )],
    );
}

#[test]
fn containers_above_task_memory_and_cpu() {
    assert_rejected(
        r#"{"family": "f", "cpu": "0.25 vCPU", "memory": "512", "containerDefinitions": [
            {"name": "a", "image": "x", "memory": 600, "cpu": 200},
            {"name": "b", "image": "x", "memoryReservation": 100, "cpu": 100}]}"#,
        &[
            (
                "containerDefinitions[0].memory",
                K::MemoryAboveTask {
                    needed: 600,
                    task: 512,
                },
            ),
            (
                "memory",
                K::MemoryAboveTask {
                    needed: 700,
                    task: 512,
                },
            ),
            (
                "cpu",
                K::CpuAboveTask {
                    needed: 300,
                    task: 256,
                },
            ),
        ],
    );
}

#[test]
fn malformed_task_sizes() {
    assert_rejected(
        r#"{"family": "f", "cpu": "2 cores", "memory": "lots", "containerDefinitions": [{"name": "a", "image": "x"}]}"#,
        &[
            (
                "cpu",
                K::InvalidTaskSize {
                    field: "cpu",
                    value: "2 cores".into(),
                    reason: "unknown CPU unit \"cores\" (expected CPU units such as \"256\", or vCPU such as \"0.5 vCPU\")".into(),
                },
            ),
            (
                "memory",
                K::InvalidTaskSize {
                    field: "memory",
                    value: "lots".into(),
                    reason: "\"lots\" does not start with a number".into(),
                },
            ),
        ],
    );
}

#[test]
fn task_cpu_out_of_range() {
    assert_rejected(
        r#"{"family": "f", "cpu": "256 vCPU", "containerDefinitions": [{"name": "a", "image": "x", "memory": 8}]}"#,
        &[(
            "cpu",
            K::OutOfRange {
                min: 128,
                max: 196_608,
                found: 262_144,
            },
        )],
    );
}

#[test]
fn ports_out_of_range() {
    assert_rejected(
        &one(
            r#", "portMappings": [{"containerPort": 0}, {"containerPort": 80, "hostPort": 70000}]"#,
        ),
        &[
            (
                "containerDefinitions[0].portMappings[0].containerPort",
                K::OutOfRange {
                    min: 1,
                    max: 65_535,
                    found: 0,
                },
            ),
            (
                "containerDefinitions[0].portMappings[1].hostPort",
                K::OutOfRange {
                    min: 0,
                    max: 65_535,
                    found: 70_000,
                },
            ),
        ],
    );
}

#[test]
fn host_port_claimed_twice() {
    assert_rejected(
        r#"{"family": "f", "containerDefinitions": [
            {"name": "a", "image": "x", "memory": 8, "portMappings": [{"containerPort": 80, "hostPort": 8080}]},
            {"name": "b", "image": "x", "memory": 8, "portMappings": [
                {"containerPort": 81, "hostPort": 8080, "protocol": "udp"},
                {"containerPort": 82, "hostPort": 8080}]}]}"#,
        &[(
            "containerDefinitions[1].portMappings[1].hostPort",
            K::DuplicateHostPort {
                port: 8080,
                protocol: "tcp",
                first: JsonPath::root()
                    .key("containerDefinitions")
                    .index(0)
                    .key("portMappings")
                    .index(0)
                    .key("hostPort"),
            },
        )],
    );
}

#[test]
fn host_mode_port_must_match() {
    assert_rejected(
        r#"{"family": "f", "networkMode": "host", "containerDefinitions": [
            {"name": "a", "image": "x", "memory": 8, "portMappings": [{"containerPort": 80, "hostPort": 8080}]}]}"#,
        &[(
            "containerDefinitions[0].portMappings[0].hostPort",
            K::HostPortMismatch {
                mode: "host",
                container_port: 80,
                host_port: 8080,
            },
        )],
    );
}

#[test]
fn links_outside_bridge_mode() {
    assert_rejected(
        r#"{"family": "f", "networkMode": "host", "containerDefinitions": [
            {"name": "a", "image": "x", "memory": 8, "links": ["b"]},
            {"name": "b", "image": "x", "memory": 8}]}"#,
        &[(
            "containerDefinitions[0].links",
            K::NotAllowedInNetworkMode { mode: "host" },
        )],
    );
}

#[test]
fn link_to_missing_container_and_to_itself() {
    assert_rejected(
        &one(r#", "links": ["db:database", "app"]"#),
        &[
            (
                "containerDefinitions[0].links[0]",
                K::UnknownContainer { name: "db".into() },
            ),
            (
                "containerDefinitions[0].links[1]",
                K::SelfReference { name: "app".into() },
            ),
        ],
    );
}

#[test]
fn depends_on_missing_container() {
    assert_rejected(
        &one(r#", "dependsOn": [{"containerName": "ghost", "condition": "START"}]"#),
        &[(
            "containerDefinitions[0].dependsOn[0].containerName",
            K::UnknownContainer {
                name: "ghost".into(),
            },
        )],
    );
}

#[test]
fn dependency_cycle() {
    assert_rejected(
        r#"{"family": "f", "containerDefinitions": [
            {"name": "a", "image": "x", "memory": 8, "dependsOn": [{"containerName": "b", "condition": "START"}]},
            {"name": "b", "image": "x", "memory": 8, "dependsOn": [{"containerName": "c", "condition": "START"}]},
            {"name": "c", "image": "x", "memory": 8, "dependsOn": [{"containerName": "a", "condition": "START"}]}]}"#,
        &[(
            "containerDefinitions[2].dependsOn",
            K::DependencyCycle {
                cycle: vec!["a".into(), "b".into(), "c".into(), "a".into()],
            },
        )],
    );
}

#[test]
fn healthy_needs_a_health_check() {
    assert_rejected(
        r#"{"family": "f", "containerDefinitions": [
            {"name": "a", "image": "x", "memory": 8, "dependsOn": [{"containerName": "b", "condition": "HEALTHY"}]},
            {"name": "b", "image": "x", "memory": 8}]}"#,
        &[(
            "containerDefinitions[0].dependsOn[0].condition",
            K::HealthyWithoutHealthCheck { name: "b".into() },
        )],
    );
}

#[test]
fn success_on_an_essential_container() {
    assert_rejected(
        r#"{"family": "f", "containerDefinitions": [
            {"name": "a", "image": "x", "memory": 8, "dependsOn": [{"containerName": "b", "condition": "SUCCESS"}]},
            {"name": "b", "image": "x", "memory": 8}]}"#,
        &[(
            "containerDefinitions[0].dependsOn[0].condition",
            K::ConditionOnEssential {
                condition: "SUCCESS",
                name: "b".into(),
            },
        )],
    );
}

#[test]
fn health_check_out_of_range() {
    assert_rejected(
        &one(
            r#", "healthCheck": {"command": ["CMD-SHELL", "true"], "interval": 1, "timeout": 200, "retries": 11, "startPeriod": 301}"#,
        ),
        &[
            (
                "containerDefinitions[0].healthCheck.interval",
                K::OutOfRange {
                    min: 5,
                    max: 300,
                    found: 1,
                },
            ),
            (
                "containerDefinitions[0].healthCheck.timeout",
                K::OutOfRange {
                    min: 2,
                    max: 60,
                    found: 200,
                },
            ),
            (
                "containerDefinitions[0].healthCheck.retries",
                K::OutOfRange {
                    min: 1,
                    max: 10,
                    found: 11,
                },
            ),
            (
                "containerDefinitions[0].healthCheck.startPeriod",
                K::OutOfRange {
                    min: 0,
                    max: 300,
                    found: 301,
                },
            ),
        ],
    );
}

#[test]
fn health_check_command_form() {
    assert_rejected(
        &one(r#", "healthCheck": {"command": ["curl", "-f", "http://localhost"]}"#),
        &[(
            "containerDefinitions[0].healthCheck.command[0]",
            K::Malformed {
                value: "curl".into(),
                reason: "a health check command starts with CMD, CMD-SHELL or NONE".into(),
            },
        )],
    );
}

#[test]
fn mount_of_undeclared_volume() {
    assert_rejected(
        &one(r#", "mountPoints": [{"sourceVolume": "data", "containerPath": "/data"}]"#),
        &[(
            "containerDefinitions[0].mountPoints[0].sourceVolume",
            K::UnknownVolume {
                name: "data".into(),
            },
        )],
    );
}

#[test]
fn volumes_from_missing_container() {
    assert_rejected(
        &one(r#", "volumesFrom": [{"sourceContainer": "data"}]"#),
        &[(
            "containerDefinitions[0].volumesFrom[0].sourceContainer",
            K::UnknownContainer {
                name: "data".into(),
            },
        )],
    );
}

#[test]
fn duplicate_and_conflicting_volumes() {
    assert_rejected(
        r#"{"family": "f", "volumes": [
            {"name": "v", "host": {"sourcePath": "/a"}},
            {"name": "v", "host": {"sourcePath": "/b"}, "dockerVolumeConfiguration": {"scope": "task"}}],
           "containerDefinitions": [{"name": "a", "image": "x", "memory": 8}]}"#,
        &[
            (
                "volumes[1].name",
                K::DuplicateVolumeName {
                    name: "v".into(),
                    first: 0,
                },
            ),
            (
                "volumes[1]",
                K::ConflictingVolumeKinds {
                    kinds: vec!["host", "dockerVolumeConfiguration"],
                },
            ),
        ],
    );
}

#[test]
fn autoprovision_needs_shared_scope() {
    assert_rejected(
        r#"{"family": "f", "volumes": [{"name": "v", "dockerVolumeConfiguration": {"scope": "task", "autoprovision": true}}],
           "containerDefinitions": [{"name": "a", "image": "x", "memory": 8}]}"#,
        &[(
            "volumes[0].dockerVolumeConfiguration.autoprovision",
            K::RequiresOther {
                requires: "scope is shared",
            },
        )],
    );
}

#[test]
fn ulimit_soft_above_hard() {
    assert_rejected(
        &one(r#", "ulimits": [{"name": "nofile", "softLimit": 2048, "hardLimit": 1024}]"#),
        &[(
            "containerDefinitions[0].ulimits[0].softLimit",
            K::SoftLimitAboveHard {
                soft: 2048,
                hard: 1024,
            },
        )],
    );
}

#[test]
fn stop_timeout_above_the_fargate_maximum() {
    // On EC2 the agent's settings bound it; on Fargate ECS documents 120 s.
    let ec2 = one(r#", "stopTimeout": 600"#);
    assert!(TaskDefinition::from_json(&ec2).is_ok());
    assert_rejected(
        r#"{"family": "f", "requiresCompatibilities": ["FARGATE"], "networkMode": "awsvpc",
            "cpu": "256", "memory": "512",
            "containerDefinitions": [{"name": "app", "image": "busybox", "stopTimeout": 600}]}"#,
        &[(
            "containerDefinitions[0].stopTimeout",
            K::OutOfRange {
                min: 0,
                max: 120,
                found: 600,
            },
        )],
    );
}

#[test]
fn port_ranges_and_names() {
    assert_rejected(
        r#"{"family": "f", "networkMode": "host", "containerDefinitions": [{"name": "a", "image": "x", "memory": 8,
            "portMappings": [{"containerPortRange": "9000-9100"}, {"containerPort": 80, "name": "-Web"}]}]}"#,
        &[
            (
                "containerDefinitions[0].portMappings[0].containerPortRange",
                K::NotAllowedInNetworkMode { mode: "host" },
            ),
            (
                "containerDefinitions[0].portMappings[1].name",
                K::Malformed {
                    value: "-Web".into(),
                    reason: "up to 64 lowercase letters, digits, underscores and hyphens, not \
                             starting with a hyphen"
                        .into(),
                },
            ),
        ],
    );
    assert_rejected(
        &one(r#", "portMappings": [{"containerPortRange": "9100-9000", "hostPort": 9000}]"#),
        &[
            (
                "containerDefinitions[0].portMappings[0].containerPortRange",
                K::Malformed {
                    value: "9100-9000".into(),
                    reason: "expected \"start-end\" with 1 <= start < end <= 65535".into(),
                },
            ),
            (
                "containerDefinitions[0].portMappings[0].hostPort",
                K::RequiresOther {
                    requires: "containerPortRange is not set",
                },
            ),
        ],
    );
}

#[test]
fn ports_in_network_mode_none() {
    assert_rejected(
        r#"{"family": "f", "networkMode": "none", "containerDefinitions": [
            {"name": "a", "image": "x", "memory": 8, "portMappings": [{"containerPort": 80}]}]}"#,
        &[(
            "containerDefinitions[0].portMappings",
            K::NotAllowedInNetworkMode { mode: "none" },
        )],
    );
}

#[test]
fn fargate_needs_size_and_awsvpc() {
    assert_rejected(
        r#"{"family": "f", "requiresCompatibilities": ["FARGATE"], "containerDefinitions": [{"name": "a", "image": "x"}]}"#,
        &[
            (
                "cpu",
                K::RequiredBy {
                    by: "requiresCompatibilities FARGATE",
                },
            ),
            (
                "memory",
                K::RequiredBy {
                    by: "requiresCompatibilities FARGATE",
                },
            ),
            (
                "networkMode",
                K::MustBe {
                    expected: "awsvpc",
                    by: "requiresCompatibilities FARGATE",
                },
            ),
        ],
    );
}

#[test]
fn proxy_container_must_exist() {
    assert_rejected(
        r#"{"family": "f", "proxyConfiguration": {"type": "APPMESH", "containerName": "envoy"},
           "containerDefinitions": [{"name": "a", "image": "x", "memory": 8}]}"#,
        &[(
            "proxyConfiguration.containerName",
            K::UnknownContainer {
                name: "envoy".into(),
            },
        )],
    );
}

#[test]
fn placement_constraint_without_expression() {
    assert_rejected(
        r#"{"family": "f", "placementConstraints": [{"type": "memberOf"}],
           "containerDefinitions": [{"name": "a", "image": "x", "memory": 8}]}"#,
        &[("placementConstraints[0].expression", K::Required)],
    );
}

#[test]
fn describe_output_wrapper_says_how_to_fix_it() {
    assert_rejected(
        r#"{"taskDefinition": {"family": "f", "containerDefinitions": [{"name": "a", "image": "x", "memory": 8}]}, "tags": []}"#,
        &[
            ("taskDefinition", K::DescribeOutputWrapper),
            ("family", K::Required),
            ("containerDefinitions", K::Required),
        ],
    );
}

#[test]
fn many_problems_reported_together() {
    let err = TaskDefinition::from_json(
        r#"{"family": "", "containerDefinitions": [
            {"name": "a", "image": "", "memory": 8, "links": ["zz"]},
            {"name": "a", "image": "x", "memory": 8, "portMappings": [{"containerPort": 99999}]}]}"#,
    )
    .unwrap_err();
    let Error::Invalid(v) = &err else {
        panic!("{err}")
    };
    assert_eq!(v.len(), 5, "{err}");
    let text = err.to_string();
    assert!(
        text.starts_with("invalid task definition: 5 problems\n"),
        "{text}"
    );
    assert!(text.contains("containerDefinitions[1].portMappings[0].containerPort: must be between 1 and 65535, found 99999"), "{text}");
}

#[test]
fn malformed_json_gives_line_and_column() {
    let err =
        TaskDefinition::from_json("{\n  \"family\": \"f\",\n  \"containerDefinitions\": [\n}")
            .unwrap_err();
    match &err {
        Error::Syntax { line, column, .. } => assert_eq!((*line, *column), (4, 1), "{err}"),
        other => panic!("{other}"),
    }
    assert!(
        err.to_string()
            .starts_with("malformed JSON at line 4, column 1: "),
        "{err}"
    );
}

#[test]
fn wrong_types_give_the_path() {
    let err = TaskDefinition::from_json(
        r#"{"family": "f", "containerDefinitions": [{"name": "a", "image": "x",
            "portMappings": [{"containerPort": 80, "protocol": "sctp"}]}]}"#,
    )
    .unwrap_err();
    match &err {
        Error::Shape { path, line, .. } => {
            assert_eq!(
                path.to_string(),
                "containerDefinitions[0].portMappings[0].protocol"
            );
            assert_eq!(*line, Some(2));
        }
        other => panic!("{other}"),
    }
    assert!(
        err.to_string()
            .contains("unknown variant `sctp`, expected `tcp` or `udp`"),
        "{err}"
    );

    let err = TaskDefinition::from_json(&one(r#", "cpu": "a lot""#)).unwrap_err();
    assert!(
        matches!(&err, Error::Shape { path, .. } if path.to_string() == "containerDefinitions[0].cpu"),
        "{err}"
    );
    assert!(
        err.to_string()
            .contains(r#"expected an integer, found the string "a lot""#),
        "{err}"
    );
}

#[test]
fn not_an_object() {
    let err = TaskDefinition::from_json("[1, 2]").unwrap_err();
    assert!(
        matches!(&err, Error::Shape { path, .. } if path.is_root()),
        "{err}"
    );
}
