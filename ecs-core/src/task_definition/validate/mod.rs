//! The rules ECS enforces on `RegisterTaskDefinition`, and a few it should.
//!
//! Every rule runs; every violation is collected with its JSON path, so a user fixes a
//! document in one pass. Rules are grouped by what they look at:
//! [`task`] (task-level fields), [`container`] (one container at a time), [`references`]
//! (names that point at other containers and volumes, and dependency cycles), and
//! [`aws_only`] (warnings for features that only mean something on AWS).

mod aws_only;
mod container;
mod references;
mod task;

use crate::json_path::JsonPath;

use super::TaskDefinition;
use super::diagnostics::{Violation, ViolationKind, Warning, WarningKind};

/// What validation found.
#[derive(Debug, Default)]
pub(crate) struct Report {
    pub(crate) violations: Vec<Violation>,
    pub(crate) warnings: Vec<Warning>,
}

impl Report {
    fn violation(&mut self, path: JsonPath, kind: ViolationKind) {
        self.violations.push(Violation { path, kind });
    }

    fn warning(&mut self, path: JsonPath, kind: WarningKind) {
        self.warnings.push(Warning { path, kind });
    }

    /// `value` must lie in `min..=max`.
    fn range(&mut self, path: JsonPath, value: Option<i32>, min: i64, max: i64) {
        if let Some(found) = value.map(i64::from)
            && !(min..=max).contains(&found)
        {
            self.violation(path, ViolationKind::OutOfRange { min, max, found });
        }
    }

    /// A string that must be present and not blank. Returns it when it is.
    fn required<'a>(&mut self, path: JsonPath, value: Option<&'a str>) -> Option<&'a str> {
        match value {
            None => {
                self.violation(path, ViolationKind::Required);
                None
            }
            Some(v) if v.trim().is_empty() => {
                self.violation(path, ViolationKind::Empty);
                None
            }
            Some(v) => Some(v),
        }
    }

    /// A name of up to 255 letters, digits, hyphens and underscores (families,
    /// containers, volumes).
    fn name(&mut self, path: JsonPath, value: Option<&str>) {
        if let Some(v) = self.required(path.clone(), value)
            && !is_valid_name(v)
        {
            self.violation(
                path,
                ViolationKind::InvalidName {
                    value: v.to_owned(),
                    rule: "up to 255 letters, digits, hyphens and underscores",
                },
            );
        }
    }
}

fn is_valid_name(name: &str) -> bool {
    (1..=255).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// Runs every rule over `td`.
pub(crate) fn validate(td: &TaskDefinition) -> Report {
    let mut report = Report::default();
    let root = JsonPath::root();
    task::check(td, &root, &mut report);
    let task_memory = td.memory_mib();
    for (i, c) in td.containers().iter().enumerate() {
        let path = root.key("containerDefinitions").index(i);
        container::check(td, c, &path, task_memory, &mut report);
    }
    references::check(td, &root, &mut report);
    aws_only::check(td, &root, &mut report);
    report
}
