//! Task definitions written by other people: the ECS API's own examples
//! (`../shared/reference/aws-ecs-api/examples-1.json`) and the compatibility corpus of
//! real files (`../shared/compat/taskdefs`). They are read in place, never copied here.
//!
//! `../shared` sits beside the repository on the project's machines (`../../shared` from
//! this crate, `ecs-core`). When it is absent these tests say so and pass, unless
//! `ECS_REQUIRE_SHARED=1` (which `scripts/test`, and so `.ci/run`, sets whenever
//! `../shared` exists), so CI can never skip them silently.

use std::path::{Path, PathBuf};

use ecs_core::Error;
use ecs_core::task_definition::{TaskDefinition, ViolationKind, WarningKind};
use serde_json::Value;

fn shared(relative: &str) -> Option<PathBuf> {
    let root = std::env::var_os("ECS_SHARED_DIR")
        .map(PathBuf::from)
        // Beside the repository: the workspace's root is this crate's parent.
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared"));
    let path = root.join(relative);
    if path.exists() {
        return Some(path);
    }
    assert!(
        std::env::var_os("ECS_REQUIRE_SHARED").is_none(),
        "ECS_REQUIRE_SHARED is set but {} does not exist",
        path.display()
    );
    eprintln!("note: {} is absent; nothing to check", path.display());
    None
}

#[test]
fn every_task_definition_of_the_api_examples_loads() {
    let Some(path) = shared("reference/aws-ecs-api/examples-1.json") else {
        return;
    };
    let examples: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let mut loaded = 0;
    for (operation, cases) in examples["examples"].as_object().unwrap() {
        for case in cases.as_array().unwrap() {
            // RegisterTaskDefinition's input is a definition; describe and register
            // outputs carry one under `taskDefinition`.
            let mut candidates = Vec::new();
            if operation == "RegisterTaskDefinition" {
                candidates.push(case["input"].clone());
            }
            for side in ["input", "output"] {
                if let Some(td) = case[side].get("taskDefinition").filter(|v| v.is_object()) {
                    candidates.push(td.clone());
                }
            }
            for td in candidates {
                let l = TaskDefinition::from_value(td.clone())
                    .unwrap_or_else(|e| panic!("{operation}: {e}\n{td:#}"));
                assert!(!l.definition.containers().is_empty());
                assert!(
                    !l.warnings
                        .iter()
                        .any(|w| matches!(w.kind, WarningKind::UnknownField)),
                    "{operation}: {:?}",
                    l.warnings
                );
                loaded += 1;
            }
        }
    }
    // RegisterTaskDefinition (input and output) and DescribeTaskDefinition (output).
    assert!(loaded >= 3, "only {loaded} task definitions found");
}

fn corpus() -> Option<Vec<(String, String)>> {
    let dir = shared("compat/taskdefs")?;
    let mut files: Vec<(String, String)> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .map(|p| {
            let name = p.file_name().unwrap().to_string_lossy().into_owned();
            (name, std::fs::read_to_string(&p).unwrap())
        })
        .collect();
    files.sort();
    Some(files)
}

#[test]
fn the_compat_corpus_is_accepted_or_rejected_as_labelled() {
    let Some(files) = corpus() else { return };
    assert!(files.len() >= 38, "found {}", files.len());
    for (name, text) in &files {
        let result = TaskDefinition::from_json(text);
        if name.contains("invalid-") {
            match result {
                Err(Error::Invalid(v)) => assert!(!v.is_empty(), "{name}"),
                Err(other) => panic!("{name}: expected violations with paths, got {other}"),
                Ok(_) => panic!("{name}: accepted, but it is invalid"),
            }
        } else if let Err(e) = result {
            panic!("{name}: rejected: {e}");
        }
    }
}

fn find<'a>(files: &'a [(String, String)], prefix: &str) -> &'a str {
    &files.iter().find(|(n, _)| n.starts_with(prefix)).unwrap().1
}

fn violations(text: &str) -> Vec<(String, ViolationKind)> {
    match TaskDefinition::from_json(text) {
        Err(Error::Invalid(v)) => v
            .iter()
            .map(|v| (v.path.to_string(), v.kind.clone()))
            .collect(),
        other => panic!("{other:?}"),
    }
}

#[test]
fn the_corpus_errors_name_the_problem() {
    let Some(files) = corpus() else { return };
    assert_eq!(
        violations(find(&files, "38-")),
        [(
            "containerDefinitions[1].links[0]".to_owned(),
            ViolationKind::UnknownContainer {
                name: "app-container".into()
            }
        )]
    );
    assert!(violations(find(&files, "39-")).contains(&(
        "taskDefinition".to_owned(),
        ViolationKind::DescribeOutputWrapper
    )));
    assert!(
        violations(find(&files, "40-"))
            .contains(&("containerDefinitions".to_owned(), ViolationKind::Required))
    );
    let blank = violations(find(&files, "36-"));
    for expected in [
        ("family", ViolationKind::Empty),
        ("containerDefinitions[0].name", ViolationKind::Empty),
        ("containerDefinitions[0].image", ViolationKind::Empty),
        ("containerDefinitions[0].links[0]", ViolationKind::Empty),
        (
            "containerDefinitions[0].environment[0].name",
            ViolationKind::Empty,
        ),
        (
            "containerDefinitions[0].secrets[0].name",
            ViolationKind::Empty,
        ),
    ] {
        assert!(
            blank.contains(&(expected.0.to_owned(), expected.1.clone())),
            "{expected:?} not in {blank:?}"
        );
    }
}

#[test]
fn the_corpus_liberties_read_as_meant() {
    let Some(files) = corpus() else { return };
    let sizes = |prefix| {
        let d = TaskDefinition::from_json(find(&files, prefix))
            .unwrap()
            .definition;
        (d.cpu_units(), d.memory_mib())
    };
    assert_eq!(sizes("05-"), (Some(512), Some(1024)));
    assert_eq!(sizes("06-"), (Some(256), Some(512)));
    assert_eq!(sizes("20-"), (Some(1024), Some(2048)));

    let l = TaskDefinition::from_json(find(&files, "05-")).unwrap();
    assert_eq!(l.definition.containers()[1].memory, Some(500));
    assert!(
        l.warnings
            .iter()
            .any(|w| w.path.to_string() == "containerDefinitions[1].memory"
                && matches!(w.kind, WarningKind::Normalized { .. }))
    );

    let l = TaskDefinition::from_json(find(&files, "31-")).unwrap();
    assert!(l.warnings.iter().any(|w| w.path.to_string()
        == "containerDefinitions[0].portBindings"
        && w.kind == WarningKind::UnknownField));

    let l = TaskDefinition::from_json(find(&files, "07-")).unwrap();
    assert_eq!(l.definition.network_mode, None, "null reads as unset");
}
