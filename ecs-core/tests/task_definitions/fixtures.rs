//! The project's own task definitions (`ecs-core/tests/data/taskdefs`): each loads,
//! validates, writes back what it read, and means what it says.

use std::path::{Path, PathBuf};

use ecs_core::task_definition::{
    ContainerCondition, NetworkMode, TaskDefinition, TaskDefinitionStatus, WarningKind,
};
use serde_json::Value;

fn fixture_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/taskdefs")
}

fn fixtures() -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(fixture_dir())
        .expect("fixture dir")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    files.sort();
    files
}

fn load(name: &str) -> ecs_core::task_definition::Loaded {
    let text = std::fs::read_to_string(fixture_dir().join(name)).expect(name);
    TaskDefinition::from_json(&text).unwrap_or_else(|e| panic!("{name}: {e}"))
}

/// `null` members read as absent, so they are not expected back; timestamps (`...At`)
/// come back in RFC 3339, whatever form they were read in.
fn normalized(v: &Value) -> Value {
    match v {
        Value::Object(m) => Value::Object(
            m.iter()
                .filter(|(_, v)| !v.is_null())
                .map(|(k, v)| match (k.ends_with("At"), v.as_f64()) {
                    (true, Some(secs)) => {
                        let t = jiff::Timestamp::from_millisecond((secs * 1000.0).round() as i64)
                            .unwrap();
                        (k.clone(), Value::String(t.to_string()))
                    }
                    _ => (k.clone(), normalized(v)),
                })
                .collect(),
        ),
        Value::Array(a) => Value::Array(a.iter().map(normalized).collect()),
        other => other.clone(),
    }
}

#[test]
fn there_are_at_least_twenty() {
    assert!(fixtures().len() >= 20, "found {}", fixtures().len());
}

#[test]
fn every_fixture_loads_validates_and_round_trips() {
    for path in fixtures() {
        let name = path.display().to_string();
        let text = std::fs::read_to_string(&path).unwrap();
        let loaded = TaskDefinition::from_json(&text).unwrap_or_else(|e| panic!("{name}: {e}"));
        let def = &loaded.definition;
        def.validate().unwrap_or_else(|e| panic!("{name}: {e}"));

        // Written, then read again: the same definition and the same JSON.
        let written = def.to_value();
        let again = TaskDefinition::from_value(written.clone())
            .unwrap_or_else(|e| panic!("{name} (second read): {e}"));
        assert_eq!(&again.definition, def, "{name}");
        assert_eq!(again.definition.to_value(), written, "{name}");
        assert!(
            again.warnings.iter().all(|w| !matches!(
                w.kind,
                WarningKind::UnknownField | WarningKind::Normalized { .. }
            )),
            "{name}: a second read still normalizes: {:?}",
            again.warnings
        );

        // Against the input: equal, unless a warning says what was read differently.
        let changed = loaded.warnings.iter().any(|w| {
            matches!(
                w.kind,
                WarningKind::UnknownField | WarningKind::Normalized { .. }
            )
        });
        let original: Value = serde_json::from_str(&text).unwrap();
        if !changed {
            assert_eq!(normalized(&original), written, "{name}");
        }
    }
}

fn warning_paths(
    loaded: &ecs_core::task_definition::Loaded,
    pred: fn(&WarningKind) -> bool,
) -> Vec<String> {
    loaded
        .warnings
        .iter()
        .filter(|w| pred(&w.kind))
        .map(|w| w.path.to_string())
        .collect()
}

#[test]
fn links_and_bridge_ports() {
    let l = load("02-web-and-db-links.json");
    let d = &l.definition;
    assert_eq!(d.containers().len(), 3);
    assert_eq!(d.effective_network_mode(), NetworkMode::Bridge);
    assert_eq!(d.containers()[0].links(), ["db:database", "cache"]);
    assert!(!d.containers()[2].is_essential());
    assert_eq!(d.containers()[2].reserved_memory(), Some(64));
    assert!(l.warnings.is_empty(), "{:?}", l.warnings);
}

#[test]
fn every_dependency_condition_reads() {
    let d = load("03-depends-on-all-conditions.json").definition;
    let app = d.container("app").unwrap();
    let conditions: Vec<_> = app.depends_on().iter().map(|d| d.condition).collect();
    assert_eq!(
        conditions,
        [
            ContainerCondition::Success,
            ContainerCondition::Complete,
            ContainerCondition::Healthy,
            ContainerCondition::Start
        ]
    );
    assert_eq!(app.start_timeout, Some(30));
}

#[test]
fn task_sizes_in_console_forms() {
    let d = load("05-task-level-vcpu-strings.json").definition;
    assert_eq!((d.cpu_units(), d.memory_mib()), (Some(1024), Some(2048)));
    assert_eq!(d.cpu.as_deref(), Some("1 vCPU"), "kept as written");
    let d = load("06-task-level-fractional.json").definition;
    assert_eq!((d.cpu_units(), d.memory_mib()), (Some(256), Some(512)));
}

#[test]
fn aws_only_features_are_kept_and_reported() {
    let l = load("07-fargate-aws-only.json");
    let aws = warning_paths(&l, |k| matches!(k, WarningKind::AwsOnly { .. }));
    for expected in [
        "taskRoleArn",
        "executionRoleArn",
        "networkMode",
        "requiresCompatibilities[0]",
        "ephemeralStorage",
        "containerDefinitions[0].image",
        "containerDefinitions[0].secrets",
        "containerDefinitions[0].environmentFiles",
        "containerDefinitions[0].logConfiguration.logDriver",
    ] {
        assert!(
            aws.contains(&expected.to_owned()),
            "{expected} missing from {aws:?}"
        );
    }
    assert_eq!(aws.len(), 9, "{aws:?}");
    let c = &l.definition.containers()[0];
    assert_eq!(c.secrets.as_ref().unwrap()[0].name, "DB_PASSWORD");
    assert_eq!(
        l.definition.ephemeral_storage.as_ref().unwrap().size_in_gib,
        30
    );
}

#[test]
fn describe_output_keys_are_read_only_warnings() {
    let l = load("13-describe-output-form.json");
    let read_only = warning_paths(&l, |k| matches!(k, WarningKind::ReadOnlyField));
    assert_eq!(
        read_only,
        [
            "taskDefinitionArn",
            "revision",
            "status",
            "requiresAttributes",
            "compatibilities",
            "registeredAt",
            "registeredBy"
        ]
    );
    assert_eq!(l.definition.revision, Some(7));
    assert_eq!(l.definition.status, Some(TaskDefinitionStatus::Active));
    assert_eq!(
        l.definition.registered_at.map(|t| t.as_millisecond()),
        Some(1_719_507_826_405)
    );
}

#[test]
fn nulls_read_as_unset() {
    let l = load("14-nulls-as-unset.json");
    assert_eq!(l.definition.network_mode, None);
    assert_eq!(l.definition.cpu, None);
    assert_eq!(l.definition.containers()[0].links, None);
    assert!(l.warnings.is_empty(), "{:?}", l.warnings);
}

#[test]
fn string_integers_are_read_and_reported() {
    let l = load("15-string-integers.json");
    let c = &l.definition.containers()[0];
    assert_eq!(
        (c.cpu, c.memory, c.memory_reservation),
        (Some(64), Some(256), Some(128))
    );
    assert_eq!(c.port_mappings()[0].container_port, Some(8080));
    let normalized = warning_paths(&l, |k| matches!(k, WarningKind::Normalized { .. }));
    assert_eq!(normalized.len(), 5, "{normalized:?}");
    assert!(
        l.warnings.contains(&ecs_core::task_definition::Warning {
            path: ecs_core::JsonPath::root()
                .key("containerDefinitions")
                .index(0)
                .key("memory"),
            kind: WarningKind::Normalized {
                from: "\"256\"".into(),
                to: "256".into()
            },
        })
    );
}

#[test]
fn unknown_keys_are_ignored_with_a_warning() {
    let l = load("21-unknown-key.json");
    assert_eq!(
        warning_paths(&l, |k| matches!(k, WarningKind::UnknownField)),
        ["containerDefinitions[0].portBindings"]
    );
    assert!(!l.definition.to_json_pretty().contains("portBindings"));
}

#[test]
fn empty_command_arrays_keep_the_image_defaults() {
    let d = load("22-entrypoint-empty-arrays.json").definition;
    let c = &d.containers()[0];
    assert_eq!(
        c.command.as_deref(),
        Some(&[][..]),
        "kept for the round trip"
    );
    assert_eq!(c.effective_command(), None);
    assert_eq!(c.effective_entry_point(), None);
}

#[test]
fn volumes_of_every_local_kind() {
    let d = load("09-volumes-and-mounts.json").definition;
    let kinds: Vec<Vec<&str>> = d.volumes().iter().map(|v| v.kinds()).collect();
    assert_eq!(
        kinds,
        [
            vec!["host"],
            vec![],
            vec!["host"],
            vec!["dockerVolumeConfiguration"]
        ]
    );
    assert_eq!(d.containers()[0].mount_points()[0].read_only, Some(true));
}

#[test]
fn epoch_timestamps_read_as_instants() {
    let l = load("24-epoch-timestamp.json");
    assert_eq!(
        l.definition.registered_at.map(|t| t.to_string()),
        Some("2024-06-27T17:03:46.405Z".to_owned())
    );
    assert_eq!(l.definition.status, Some(TaskDefinitionStatus::Inactive));
}

#[test]
fn unknown_keys_are_reported_even_when_null() {
    let l = TaskDefinition::from_json(
        r#"{"family": "f", "containerDefinitions": [{"name": "a", "image": "x", "memory": 8,
            "healthcheck": null}], "taskdefinitionArn": null}"#,
    )
    .unwrap();
    assert_eq!(
        warning_paths(&l, |k| matches!(k, WarningKind::UnknownField)),
        ["containerDefinitions[0].healthcheck", "taskdefinitionArn"]
    );
}

#[test]
fn other_spellings_of_an_instant_are_not_changes() {
    let l = TaskDefinition::from_json(
        r#"{"family": "f", "registeredAt": "2023-09-17T15:12:27.391000+00:00",
            "containerDefinitions": [{"name": "a", "image": "x", "memory": 8}]}"#,
    )
    .unwrap();
    assert_eq!(
        warning_paths(&l, |k| matches!(k, WarningKind::Normalized { .. })),
        Vec::<String>::new()
    );
    assert_eq!(
        l.definition.to_value()["registeredAt"],
        "2023-09-17T15:12:27.391Z"
    );
}
