//! From JSON text to a validated [`TaskDefinition`]: syntax, shape, what the model did
//! not keep or read differently, then the rules.

use serde_json::Value;

use super::TaskDefinition;
use super::diagnostics::{Violation, ViolationKind, Violations, Warning, WarningKind};
use super::validate;
use crate::Error;
use crate::json_path::JsonPath;

/// A task definition that passed validation, with what deserves a look.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct Loaded {
    /// The definition, as written (nothing dropped but unknown keys).
    pub definition: TaskDefinition,
    /// Unknown keys, values read in another form, AWS-only features, placeholders ...
    pub warnings: Vec<Warning>,
}

impl TaskDefinition {
    /// Reads a task definition from the JSON of `aws ecs register-task-definition
    /// --cli-input-json` (or the `taskDefinition` object of describe output) and
    /// validates it.
    ///
    /// Errors: [`Error::Syntax`] (malformed JSON, with line and column),
    /// [`Error::Shape`] (a value of the wrong type, with its path), or
    /// [`Error::Invalid`] with every rule the document breaks.
    pub fn from_json(json: &str) -> Result<Loaded, Error> {
        let value: Value = serde_json::from_str(json).map_err(|e| Error::Syntax {
            line: e.line(),
            column: e.column(),
            message: strip_position(&e),
        })?;
        let mut unknown = Vec::new();
        let mut de = serde_json::Deserializer::from_str(json);
        let typed = serde_path_to_error::deserialize(serde_ignored::Deserializer::new(
            &mut de,
            &mut |path: serde_ignored::Path<'_>| unknown.push(ignored_path(&path)),
        ))
        .map_err(shape_error);
        finish(value, typed, unknown)
    }

    /// As [`TaskDefinition::from_json`], from an already parsed JSON value.
    pub fn from_value(value: Value) -> Result<Loaded, Error> {
        let mut unknown = Vec::new();
        let typed = serde_path_to_error::deserialize(serde_ignored::Deserializer::new(
            &value,
            &mut |path: serde_ignored::Path<'_>| unknown.push(ignored_path(&path)),
        ))
        .map_err(shape_error);
        finish(value, typed, unknown)
    }

    /// Checks this definition against ECS's rules, as registering does.
    ///
    /// Returns the warnings when it passes, and [`Error::Invalid`] with every violation
    /// when it does not.
    pub fn validate(&self) -> Result<Vec<Warning>, Error> {
        let report = validate::validate(self);
        if report.violations.is_empty() {
            Ok(report.warnings)
        } else {
            Err(Error::Invalid(Violations(report.violations)))
        }
    }

    /// The definition as a JSON value, in the API's shape.
    pub fn to_value(&self) -> Value {
        // Serializing these plain data types cannot fail: every map key is a string.
        serde_json::to_value(self).unwrap_or(Value::Null)
    }

    /// The definition as pretty-printed JSON, in the API's shape.
    pub fn to_json_pretty(&self) -> String {
        serde_json::to_string_pretty(&self.to_value()).unwrap_or_default()
    }
}

fn finish(
    value: Value,
    typed: Result<TaskDefinition, Error>,
    unknown: Vec<JsonPath>,
) -> Result<Loaded, Error> {
    if !value.is_object() {
        return Err(Error::Shape {
            path: JsonPath::root(),
            line: None,
            column: None,
            message: "a task definition is a JSON object".to_owned(),
        });
    }
    let definition = typed?;
    let mut warnings: Vec<Warning> = unknown
        .into_iter()
        .map(|path| Warning {
            path,
            kind: WarningKind::UnknownField,
        })
        .collect();
    compare(
        &value,
        &definition.to_value(),
        JsonPath::root(),
        &mut warnings,
    );

    let mut violations = Vec::new();
    if is_describe_wrapper(&value) {
        violations.push(Violation {
            path: JsonPath::root().key("taskDefinition"),
            kind: ViolationKind::DescribeOutputWrapper,
        });
    }
    let report = validate::validate(&definition);
    violations.extend(report.violations);
    if !violations.is_empty() {
        return Err(Error::Invalid(Violations(violations)));
    }
    warnings.extend(report.warnings);
    Ok(Loaded {
        definition,
        warnings,
    })
}

/// `{"taskDefinition": {...}, "tags": [...]}`: what `describe-task-definition` prints.
fn is_describe_wrapper(value: &Value) -> bool {
    value.get("taskDefinition").is_some_and(Value::is_object)
        && value.get("containerDefinitions").is_none()
}

/// serde_ignored's path of an ignored key, as a [`JsonPath`].
fn ignored_path(path: &serde_ignored::Path<'_>) -> JsonPath {
    use serde_ignored::Path as P;
    match path {
        P::Root => JsonPath::root(),
        P::Seq { parent, index } => ignored_path(parent).index(*index),
        P::Map { parent, key } => ignored_path(parent).key(key.as_str()),
        P::Some { parent } | P::NewtypeStruct { parent } | P::NewtypeVariant { parent } => {
            ignored_path(parent)
        }
    }
}

/// Walks what was read (`input`) beside what the model writes back (`output`) and
/// reports values read in another form. (Unknown keys are reported by the
/// deserializer, including those whose value is `null`.)
fn compare(input: &Value, output: &Value, path: JsonPath, warnings: &mut Vec<Warning>) {
    match (input, output) {
        (Value::Object(a), Value::Object(b)) => {
            for (key, v) in a {
                if let Some(w) = b.get(key) {
                    compare(v, w, path.key(key), warnings);
                }
            }
        }
        (Value::Array(a), Value::Array(b)) if a.len() == b.len() => {
            for (i, (v, w)) in a.iter().zip(b).enumerate() {
                compare(v, w, path.index(i), warnings);
            }
        }
        (Value::Number(a), Value::Number(b)) if a.as_f64() == b.as_f64() => {}
        (a, b) if a == b || same_instant(a, b) => {}
        (a, b) => warnings.push(Warning {
            path,
            kind: WarningKind::Normalized {
                from: a.to_string(),
                to: b.to_string(),
            },
        }),
    }
}

/// Timestamps are written back in one canonical form; another spelling of the same
/// instant (`+00:00` for `Z`, microseconds, epoch seconds) is not a change worth a warning.
fn same_instant(input: &Value, output: &Value) -> bool {
    let Some(out) = output
        .as_str()
        .and_then(|s| s.parse::<jiff::Timestamp>().ok())
    else {
        return false;
    };
    match input {
        Value::String(s) => s.parse::<jiff::Timestamp>().is_ok_and(|t| t == out),
        Value::Number(n) => n
            .as_f64()
            .is_some_and(|secs| (secs * 1000.0).round() as i64 == out.as_millisecond()),
        _ => false,
    }
}

/// Reads any API shape from JSON text, with the same errors as task definitions:
/// [`Error::Syntax`] with line and column, or [`Error::Shape`] with the path.
pub(crate) fn from_json_text<T: serde::de::DeserializeOwned>(json: &str) -> Result<T, Error> {
    serde_json::from_str::<Value>(json).map_err(|e| Error::Syntax {
        line: e.line(),
        column: e.column(),
        message: strip_position(&e),
    })?;
    let mut de = serde_json::Deserializer::from_str(json);
    serde_path_to_error::deserialize(&mut de).map_err(shape_error)
}

fn shape_error(e: serde_path_to_error::Error<serde_json::Error>) -> Error {
    let path = JsonPath::from(e.path());
    let inner = e.into_inner();
    let (line, column) = if inner.line() > 0 {
        (Some(inner.line()), Some(inner.column()))
    } else {
        (None, None)
    };
    Error::Shape {
        path,
        line,
        column,
        message: strip_position(&inner),
    }
}

/// serde_json appends " at line L column C" to its messages; the error carries both apart.
fn strip_position(e: &serde_json::Error) -> String {
    let text = e.to_string();
    match text.rfind(" at line ") {
        Some(at) if e.line() > 0 => text[..at].to_owned(),
        _ => text,
    }
}
