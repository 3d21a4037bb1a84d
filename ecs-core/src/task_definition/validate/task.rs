//! Task-level rules: family, containers list, task size, network mode, volumes,
//! placement constraints, tags and launch types.

use std::collections::HashMap;

use super::Report;
use crate::json_path::JsonPath;
use crate::task_definition::diagnostics::ViolationKind;
use crate::task_definition::enums::{Compatibility, NetworkMode, Scope};
use crate::task_definition::{TaskDefinition, units};

/// ECS's limit on containers per task definition.
pub(crate) const MAX_CONTAINERS: usize = 10;
/// ECS's limit on placement constraints per task definition.
const MAX_PLACEMENT_CONSTRAINTS: usize = 10;
use crate::tags::{MAX_KEY_CHARS, MAX_TAGS, MAX_VALUE_CHARS};
/// Task-level CPU units ECS accepts (0.125 to 192 vCPU).
const TASK_CPU_RANGE: (i64, i64) = (128, 196_608);

pub(super) fn check(td: &TaskDefinition, root: &JsonPath, r: &mut Report) {
    r.name(root.key("family"), td.family.as_deref());
    containers(td, root, r);
    size(td, root, r);
    totals(td, root, r);
    volumes(td, root, r);
    placement_constraints(td, root, r);
    tags(td, root, r);
    fargate(td, root, r);
    if let Some(storage) = &td.ephemeral_storage {
        r.range(
            root.key("ephemeralStorage").key("sizeInGiB"),
            Some(storage.size_in_gib),
            21,
            200,
        );
    }
}

fn containers(td: &TaskDefinition, root: &JsonPath, r: &mut Report) {
    let path = root.key("containerDefinitions");
    match &td.container_definitions {
        None => r.violation(path, ViolationKind::Required),
        Some(list) if list.is_empty() => r.violation(path, ViolationKind::Empty),
        Some(list) => {
            if list.len() > MAX_CONTAINERS {
                r.violation(
                    path.clone(),
                    ViolationKind::TooMany {
                        max: MAX_CONTAINERS,
                        found: list.len(),
                    },
                );
            }
            if !list.iter().any(|c| c.is_essential()) {
                r.violation(path, ViolationKind::NoEssentialContainer);
            }
        }
    }
}

fn size(td: &TaskDefinition, root: &JsonPath, r: &mut Report) {
    if let Some(cpu) = td.cpu.as_deref() {
        match units::parse_cpu_units(cpu) {
            Ok(units) => {
                let (min, max) = TASK_CPU_RANGE;
                let found = i64::from(units);
                if !(min..=max).contains(&found) {
                    r.violation(
                        root.key("cpu"),
                        ViolationKind::OutOfRange { min, max, found },
                    );
                }
            }
            Err(reason) => r.violation(
                root.key("cpu"),
                ViolationKind::InvalidTaskSize {
                    field: "cpu",
                    value: cpu.to_owned(),
                    reason,
                },
            ),
        }
    }
    if let Some(memory) = td.memory.as_deref()
        && let Err(reason) = units::parse_memory_mib(memory)
    {
        r.violation(
            root.key("memory"),
            ViolationKind::InvalidTaskSize {
                field: "memory",
                value: memory.to_owned(),
                reason,
            },
        );
    }
}

/// The containers' reservations must fit in the task's size when it has one.
fn totals(td: &TaskDefinition, root: &JsonPath, r: &mut Report) {
    if let Some(task) = td.memory_mib() {
        let needed: i64 = td
            .containers()
            .iter()
            .filter_map(|c| c.reserved_memory())
            .map(i64::from)
            .sum();
        if needed > i64::from(task) {
            r.violation(
                root.key("memory"),
                ViolationKind::MemoryAboveTask { needed, task },
            );
        }
    }
    if let Some(task) = td.cpu_units() {
        let needed: i64 = td
            .containers()
            .iter()
            .filter_map(|c| c.cpu)
            .map(i64::from)
            .sum();
        if needed > i64::from(task) {
            r.violation(
                root.key("cpu"),
                ViolationKind::CpuAboveTask { needed, task },
            );
        }
    }
}

fn volumes(td: &TaskDefinition, root: &JsonPath, r: &mut Report) {
    let mut seen: HashMap<&str, usize> = HashMap::new();
    for (i, v) in td.volumes().iter().enumerate() {
        let path = root.key("volumes").index(i);
        r.name(path.key("name"), v.name.as_deref());
        if let Some(name) = v.name.as_deref().filter(|n| !n.is_empty()) {
            if let Some(&first) = seen.get(name) {
                r.violation(
                    path.key("name"),
                    ViolationKind::DuplicateVolumeName {
                        name: name.to_owned(),
                        first,
                    },
                );
            } else {
                seen.insert(name, i);
            }
        }
        let kinds = v.kinds();
        if kinds.len() > 1 {
            r.violation(
                path.clone(),
                ViolationKind::ConflictingVolumeKinds { kinds },
            );
        }
        if let Some(docker) = &v.docker_volume_configuration
            && docker.autoprovision == Some(true)
            && docker.scope != Some(Scope::Shared)
        {
            r.violation(
                path.key("dockerVolumeConfiguration").key("autoprovision"),
                ViolationKind::RequiresOther {
                    requires: "scope is shared",
                },
            );
        }
    }
}

fn placement_constraints(td: &TaskDefinition, root: &JsonPath, r: &mut Report) {
    let list = td.placement_constraints();
    let path = root.key("placementConstraints");
    if list.len() > MAX_PLACEMENT_CONSTRAINTS {
        r.violation(
            path.clone(),
            ViolationKind::TooMany {
                max: MAX_PLACEMENT_CONSTRAINTS,
                found: list.len(),
            },
        );
    }
    for (i, c) in list.iter().enumerate() {
        let path = path.index(i);
        if c.kind.is_none() {
            r.violation(path.key("type"), ViolationKind::Required);
        }
        if let Some(expression) = r.required(path.key("expression"), c.expression.as_deref())
            && let Err(error) = crate::placement::query::Query::parse(expression)
        {
            r.violation(
                path.key("expression"),
                ViolationKind::InvalidExpression {
                    expression: expression.to_owned(),
                    error,
                },
            );
        }
    }
}

fn tags(td: &TaskDefinition, root: &JsonPath, r: &mut Report) {
    let tags = td.tags.as_deref().unwrap_or_default();
    let path = root.key("tags");
    if tags.len() > MAX_TAGS {
        r.violation(
            path.clone(),
            ViolationKind::TooMany {
                max: MAX_TAGS,
                found: tags.len(),
            },
        );
    }
    for (i, t) in tags.iter().enumerate() {
        let path = path.index(i);
        if let Some(key) = r.required(path.key("key"), t.key.as_deref())
            && key.chars().count() > MAX_KEY_CHARS
        {
            r.violation(
                path.key("key"),
                ViolationKind::Malformed {
                    value: key.to_owned(),
                    reason: format!("longer than {MAX_KEY_CHARS} characters"),
                },
            );
        }
        if let Some(value) = t.value.as_deref()
            && value.chars().count() > MAX_VALUE_CHARS
        {
            r.violation(
                path.key("value"),
                ViolationKind::Malformed {
                    value: value.to_owned(),
                    reason: format!("longer than {MAX_VALUE_CHARS} characters"),
                },
            );
        }
    }
}

/// Fargate needs a task size and awsvpc. They are checked so that a definition meant for
/// AWS stays registrable there; the launch type itself is only a warning (see `aws_only`).
fn fargate(td: &TaskDefinition, root: &JsonPath, r: &mut Report) {
    let compat = td.requires_compatibilities.as_deref().unwrap_or_default();
    if !compat.contains(&Compatibility::Fargate) {
        return;
    }
    const BY: &str = "requiresCompatibilities FARGATE";
    if td.cpu.is_none() {
        r.violation(root.key("cpu"), ViolationKind::RequiredBy { by: BY });
    }
    if td.memory.is_none() {
        r.violation(root.key("memory"), ViolationKind::RequiredBy { by: BY });
    }
    if td.network_mode != Some(NetworkMode::Awsvpc) {
        r.violation(
            root.key("networkMode"),
            ViolationKind::MustBe {
                expected: "awsvpc",
                by: BY,
            },
        );
    }
}
