//! RegisterTaskDefinition, DescribeTaskDefinition, DeregisterTaskDefinition,
//! ListTaskDefinitions, ListTaskDefinitionFamilies.

use ecs_core::task_definition::{TaskDefinition, TaskDefinitionStatus};
use ecs_core::{Family, TaskDefinitionRef};
use serde::Deserialize;
use serde_json::{Value, json};

use super::{page, wire};
use crate::protocol::ApiError;
use crate::server::App;

/// Registers the body, which is the task definition's own JSON as the aws CLI's
/// `--cli-input-json` takes it, its `tags` included.
pub(crate) fn register(app: &App, input: Value) -> Result<Value, ApiError> {
    if let Some(list) = input.get("tags") {
        let list = crate::protocol::from_value(list.clone())?;
        super::tags::read("RegisterTaskDefinition", list)?;
    }
    let loaded = TaskDefinition::from_value(input).map_err(|e| app.error(e))?;
    for w in &loaded.warnings {
        tracing::info!(warning = %w, "RegisterTaskDefinition");
    }
    let registered = app
        .ecs
        .register_task_definition(loaded.definition)
        .map_err(|e| app.error(e))?;
    Ok(json!({
        "taskDefinition": wire::task_definition(&registered.definition),
        "tags": wire::task_definition_tags(&registered.definition),
    }))
}

fn reference(text: &str) -> Result<TaskDefinitionRef, ApiError> {
    text.parse()
        .map_err(|e| ApiError::client_exception(format!("taskDefinition: {e}")))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Named {
    task_definition: String,
    #[serde(default)]
    include: Vec<String>,
}

/// One revision: `family:revision`, its ARN, or a family's latest ACTIVE one; its tags
/// when asked (`include: ["TAGS"]`).
pub(crate) fn describe(app: &App, input: Named) -> Result<Value, ApiError> {
    let td = app
        .ecs
        .describe_task_definition(&reference(&input.task_definition)?)
        .map_err(|e| app.error(e))?;
    let mut out = json!({ "taskDefinition": wire::task_definition(&td) });
    if input.include.iter().any(|i| i == "TAGS") {
        out["tags"] = wire::task_definition_tags(&td);
    }
    Ok(out)
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct DeleteInput {
    task_definitions: Vec<String>,
}

/// Marks INACTIVE revisions DELETE_IN_PROGRESS (at most 10 per call).
pub(crate) fn delete(app: &App, input: DeleteInput) -> Result<Value, ApiError> {
    let n = input.task_definitions.len();
    if n == 0 || n > 10 {
        return Err(ApiError::invalid(format!(
            "taskDefinitions: {n} revisions, outside 1 to 10 per call"
        )));
    }
    let references = input
        .task_definitions
        .iter()
        .map(|t| reference(t))
        .collect::<Result<Vec<_>, _>>()?;
    let scope = app.ecs.arn_scope();
    let (mut deleted, mut failures) = (Vec::new(), Vec::new());
    for (reference, outcome) in references
        .iter()
        .zip(app.ecs.delete_task_definitions(&references))
    {
        match outcome {
            Ok(td) => deleted.push(wire::task_definition(&td)),
            Err(e) => failures.push(json!({
                "arn": wire::task_definition_arn(scope, reference).to_string(),
                "reason": if matches!(e, ecs_core::Error::NotFound { .. }) { "MISSING".to_owned() } else { e.to_string() },
            })),
        }
    }
    Ok(json!({ "taskDefinitions": deleted, "failures": failures }))
}

/// Marks a revision INACTIVE.
pub(crate) fn deregister(app: &App, input: Named) -> Result<Value, ApiError> {
    let td = app
        .ecs
        .deregister_task_definition(&reference(&input.task_definition)?)
        .map_err(|e| app.error(e))?;
    Ok(json!({ "taskDefinition": wire::task_definition(&td) }))
}

/// ListTaskDefinitions' `status`: ACTIVE by default.
fn status(text: Option<&str>) -> Result<Option<TaskDefinitionStatus>, ApiError> {
    match text {
        None => Ok(Some(TaskDefinitionStatus::Active)),
        Some(s) => s
            .parse()
            .map(Some)
            .map_err(|e: ecs_core::Error| ApiError::invalid(format!("status: {e}"))),
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ListTaskDefinitions {
    family_prefix: Option<String>,
    status: Option<String>,
    sort: Option<String>,
    next_token: Option<String>,
    max_results: Option<i64>,
}

/// The revisions' ARNs, by family and revision (`sort` DESC: newest first).
pub(crate) fn list(app: &App, input: ListTaskDefinitions) -> Result<Value, ApiError> {
    let status = status(input.status.as_deref())?;
    let descending = match input.sort.as_deref() {
        None | Some("ASC") => false,
        Some("DESC") => true,
        Some(other) => {
            return Err(ApiError::invalid(format!(
                "sort: {other:?} is not ASC or DESC"
            )));
        }
    };
    // ECS's `familyPrefix` is a whole family name.
    let family: Option<Family> = match input.family_prefix.as_deref() {
        None => None,
        Some(f) => Some(
            f.parse()
                .map_err(|e: ecs_core::Error| ApiError::invalid(format!("familyPrefix: {e}")))?,
        ),
    };
    // Sorted by family, then revision as a number: the keys pad the revision.
    let mut keys: Vec<String> = app
        .ecs
        .list_task_definitions(family.as_ref(), status)
        .iter()
        .filter_map(|r| Some(format!("{}:{:010}", r.family, r.revision?.get())))
        .collect();
    keys.sort();
    if descending {
        keys.reverse();
    }
    let page = page::page_in(
        keys,
        descending,
        input.next_token.as_deref(),
        input.max_results,
        100,
    )?;
    let scope = app.ecs.arn_scope();
    let arns: Vec<String> = page
        .items
        .iter()
        .filter_map(|key| {
            let (family, revision) = key.rsplit_once(':')?;
            let revision: u32 = revision.parse().ok()?;
            Some(
                scope
                    .arn(format!("task-definition/{family}:{revision}"))
                    .to_string(),
            )
        })
        .collect();
    Ok(json!({ "taskDefinitionArns": arns, "nextToken": page.next_token }))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ListFamilies {
    family_prefix: Option<String>,
    status: Option<String>,
    next_token: Option<String>,
    max_results: Option<i64>,
}

/// The families, in name order, as ECS's `status` selects them: ACTIVE, those with an
/// ACTIVE revision; INACTIVE, those with none; ALL (the default), every one.
pub(crate) fn list_families(app: &App, input: ListFamilies) -> Result<Value, ApiError> {
    let every = app.ecs.list_task_definition_families(None);
    let active = || {
        app.ecs
            .list_task_definition_families(Some(TaskDefinitionStatus::Active))
    };
    let selected: Vec<Family> = match input.status.as_deref() {
        None | Some("ALL") => every,
        Some("ACTIVE") => active(),
        Some("INACTIVE") => {
            let active = active();
            every.into_iter().filter(|f| !active.contains(f)).collect()
        }
        Some(other) => {
            return Err(ApiError::invalid(format!(
                "status: {other:?} is not ACTIVE, INACTIVE or ALL"
            )));
        }
    };
    let prefix = input.family_prefix.unwrap_or_default();
    let families: Vec<String> = selected
        .iter()
        .map(|f| f.to_string())
        .filter(|f| f.starts_with(&prefix))
        .collect();
    let page = page::page(
        families,
        input.next_token.as_deref(),
        input.max_results,
        100,
    )?;
    Ok(json!({ "families": page.items, "nextToken": page.next_token }))
}
