//! TagResource, UntagResource, ListTagsForResource, and the `tags` that creating
//! operations take.

use ecs_core::Arn;
use ecs_core::tags::Tags;
use serde::Deserialize;
use serde_json::{Value, json};

use super::wire;
use crate::protocol::ApiError;
use crate::server::App;

/// A tag as requests carry it.
#[derive(Deserialize)]
pub(crate) struct TagInput {
    key: String,
    #[serde(default)]
    value: Option<String>,
}

/// A request's `tags`, checked as ECS checks them (before anything is created with
/// them: a refused tag leaves nothing behind).
pub(crate) fn read(operation: &'static str, list: Vec<TagInput>) -> Result<Tags, ApiError> {
    let tags: Tags = list
        .into_iter()
        .map(|t| (t.key, t.value.unwrap_or_default()))
        .collect();
    ecs_core::tags::merged(operation, &Tags::new(), &tags)
        .map_err(|e| ApiError::invalid(e.to_string()))
}

fn resource(text: &str) -> Result<Arn, ApiError> {
    text.parse()
        .map_err(|e| ApiError::invalid(format!("resourceArn: {e}")))
}

/// ECS answers an unknown resource with `ResourceNotFoundException`, an unknown
/// cluster with `ClusterNotFoundException`.
fn error(app: &App, e: ecs_core::Error) -> ApiError {
    match &e {
        ecs_core::Error::NotFound { kind, .. } if *kind != ecs_core::ResourceKind::Cluster => {
            ApiError::client("ResourceNotFoundException", e.to_string())
        }
        _ => app.error(e),
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct TagResourceInput {
    resource_arn: String,
    tags: Vec<TagInput>,
}

/// Adds tags to a resource.
pub(crate) fn tag(app: &App, input: TagResourceInput) -> Result<Value, ApiError> {
    let arn = resource(&input.resource_arn)?;
    let tags = read("TagResource", input.tags)?;
    app.ecs
        .tag_resource(&arn, &tags)
        .map_err(|e| error(app, e))?;
    Ok(json!({}))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct UntagResourceInput {
    resource_arn: String,
    tag_keys: Vec<String>,
}

/// Removes tags from a resource.
pub(crate) fn untag(app: &App, input: UntagResourceInput) -> Result<Value, ApiError> {
    let arn = resource(&input.resource_arn)?;
    app.ecs
        .untag_resource(&arn, &input.tag_keys)
        .map_err(|e| error(app, e))?;
    Ok(json!({}))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ListTagsInput {
    resource_arn: String,
}

/// A resource's tags.
pub(crate) fn list(app: &App, input: ListTagsInput) -> Result<Value, ApiError> {
    let arn = resource(&input.resource_arn)?;
    let tags = app
        .ecs
        .list_tags_for_resource(&arn)
        .map_err(|e| error(app, e))?;
    Ok(json!({ "tags": wire::tags(&tags) }))
}

/// Tags a resource just created with the request's tags (checked beforehand).
pub(crate) fn apply(app: &App, arn: &Arn, tags: &Tags) -> Result<(), ApiError> {
    if tags.is_empty() {
        return Ok(());
    }
    app.ecs.tag_resource(arn, tags).map_err(|e| error(app, e))
}
