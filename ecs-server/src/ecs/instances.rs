//! RegisterContainerInstance, DescribeContainerInstances, ListContainerInstances,
//! UpdateContainerInstancesState, DeregisterContainerInstance, and the attributes
//! (PutAttributes, DeleteAttributes, ListAttributes).
//!
//! RegisterContainerInstance cannot hand the server a host, as ECS's agent does. Here
//! it registers, under a fresh `i-...` id, either a simulated host of the
//! `totalResources` the request gives (the in-memory runtime: tasks go through their
//! whole lifecycle, their containers run nothing), or, when it gives none, what the
//! server's configuration says ([`InstanceSource`]: by default a simulated host, in the
//! binary the machine's own engine).

use std::sync::Arc;

use ecs_core::cluster::{
    DeregisterContainerInstance, InstanceStatus, RegisterContainerInstance, Resources,
    UpdateContainerInstancesState,
};
use ecs_core::placement::query::Query;
use ecs_core::runtime::{ContainerRuntime, InMemoryRuntime};
use ecs_core::{ClusterName, InstanceId};
use serde::Deserialize;
use serde_json::{Value, json};

use super::{names, page, wire};
use crate::config::InstanceSource;
use crate::protocol::ApiError;
use crate::server::App;

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ResourceInput {
    name: String,
    #[serde(rename = "type")]
    kind: Option<String>,
    integer_value: Option<i64>,
}

#[derive(Deserialize)]
pub(crate) struct AttributeInput {
    name: String,
    value: Option<String>,
    #[serde(rename = "targetType")]
    target_type: Option<String>,
    #[serde(rename = "targetId")]
    target_id: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct RegisterInput {
    cluster: Option<String>,
    total_resources: Option<Vec<ResourceInput>>,
    #[serde(default)]
    attributes: Vec<AttributeInput>,
    #[serde(default)]
    tags: Vec<super::tags::TagInput>,
}

/// What a request's `totalResources` offer: CPU units and MiB of memory, both needed.
fn total_resources(list: &[ResourceInput]) -> Result<Resources, ApiError> {
    let amount = |name: &str| -> Result<u32, ApiError> {
        let r = list.iter().find(|r| r.name == name).ok_or_else(|| {
            ApiError::invalid(format!(
                "totalResources: {name} is missing (a simulated instance needs CPU and MEMORY)"
            ))
        })?;
        if r.kind.as_deref().is_some_and(|k| k != "INTEGER") {
            return Err(ApiError::invalid(format!(
                "totalResources: {name} must be of type INTEGER"
            )));
        }
        r.integer_value
            .and_then(|v| u32::try_from(v).ok())
            .filter(|v| *v > 0)
            .ok_or_else(|| {
                ApiError::invalid(format!(
                    "totalResources: {name} needs a positive integerValue"
                ))
            })
    };
    let gpus = list
        .iter()
        .find(|r| r.name == "GPU")
        .and_then(|r| r.integer_value)
        .and_then(|v| u32::try_from(v).ok())
        .unwrap_or(0);
    Ok(Resources::new(amount("CPU")?, amount("MEMORY")?).with_gpus(gpus))
}

fn new_instance_id() -> Result<InstanceId, ApiError> {
    // EC2's shape: `i-` and 17 hexadecimal digits (68 bits).
    format!("i-{:017x}", fastrand::u128(..) & ((1 << 68) - 1))
        .parse()
        .map_err(|e| ApiError::server(format!("could not make an instance id: {e}")))
}

fn describe_one(app: &App, cluster: &ClusterName, id: &InstanceId) -> Result<Value, ApiError> {
    let c = app
        .ecs
        .describe_cluster(cluster)
        .map_err(|e| app.error(e))?;
    let i = c.instance(id).ok_or_else(|| {
        ApiError::server(format!(
            "container instance {id} vanished as it was changed"
        ))
    })?;
    Ok(wire::container_instance(app.ecs.arn_scope(), cluster, i))
}

/// Registers a simulated host, or the configured engine, as a new instance.
pub(crate) async fn register(app: &App, input: RegisterInput) -> Result<Value, ApiError> {
    let cluster = names::cluster(input.cluster.as_deref())?;
    let tags = super::tags::read("RegisterContainerInstance", input.tags)?;
    let runtime: Arc<dyn ContainerRuntime> = match (&input.total_resources, &app.config.instances) {
        (Some(list), _) => Arc::new(InMemoryRuntime::new(total_resources(list)?)),
        (None, InstanceSource::Simulated(r)) => Arc::new(InMemoryRuntime::new(*r)),
        (None, InstanceSource::Engine(rt)) => rt.clone(),
    };
    let id = new_instance_id()?;
    let mut request = RegisterContainerInstance::new(cluster.clone(), id.clone(), runtime);
    for a in input.attributes {
        request = request.with_attribute(a.name, a.value.unwrap_or_default());
    }
    app.ecs
        .register_container_instance(request)
        .await
        .map_err(|e| app.error(e))?;
    super::tags::apply(
        app,
        &wire::instance_arn(app.ecs.arn_scope(), &cluster, &id),
        &tags,
    )?;
    Ok(json!({ "containerInstance": describe_one(app, &cluster, &id)? }))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct DescribeInput {
    cluster: Option<String>,
    container_instances: Vec<String>,
}

/// The instances asked for, and a `MISSING` failure for each unknown one.
pub(crate) fn describe(app: &App, input: DescribeInput) -> Result<Value, ApiError> {
    let n = input.container_instances.len();
    if n == 0 || n > 100 {
        return Err(ApiError::invalid(format!(
            "containerInstances: {n} instances, outside 1 to 100 per call"
        )));
    }
    let cluster = names::cluster(input.cluster.as_deref())?;
    let c = app
        .ecs
        .describe_cluster(&cluster)
        .map_err(|e| app.error(e))?;
    let scope = app.ecs.arn_scope();
    let mut found = Vec::new();
    let mut failures = Vec::new();
    for text in &input.container_instances {
        match names::instance("containerInstances", text)
            .ok()
            .and_then(|id| c.instance(&id))
        {
            Some(i) => found.push(wire::container_instance(scope, &cluster, i)),
            None => failures.push(json!({ "arn": text, "reason": "MISSING" })),
        }
    }
    Ok(json!({ "containerInstances": found, "failures": failures }))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ListInput {
    cluster: Option<String>,
    filter: Option<String>,
    status: Option<String>,
    next_token: Option<String>,
    max_results: Option<i64>,
}

/// The ARNs of the cluster's instances matching `filter` (the cluster query language)
/// and `status`, 100 at most per page.
pub(crate) fn list(app: &App, input: ListInput) -> Result<Value, ApiError> {
    let cluster = names::cluster(input.cluster.as_deref())?;
    let status: Option<InstanceStatus> = input
        .status
        .as_deref()
        .map(|s| {
            s.parse()
                .map_err(|e: ecs_core::Error| ApiError::invalid(format!("status: {e}")))
        })
        .transpose()?;
    let query = input
        .filter
        .as_deref()
        .map(|f| Query::parse(f).map_err(|e| ApiError::invalid(format!("filter: {e}"))))
        .transpose()?;
    let c = app
        .ecs
        .describe_cluster(&cluster)
        .map_err(|e| app.error(e))?;
    let matching: Box<dyn Iterator<Item = _>> = match &query {
        Some(q) => Box::new(c.instances_matching(q)),
        None => Box::new(c.instances()),
    };
    let mut ids: Vec<String> = matching
        .filter(|i| status.is_none_or(|s| i.status() == s))
        .map(|i| i.id().to_string())
        .collect();
    ids.sort();
    let page = page::page(ids, input.next_token.as_deref(), input.max_results, 100)?;
    let scope = app.ecs.arn_scope();
    let arns: Vec<String> = page
        .items
        .iter()
        .map(|id| {
            scope
                .arn(format!("container-instance/{cluster}/{id}"))
                .to_string()
        })
        .collect();
    Ok(json!({ "containerInstanceArns": arns, "nextToken": page.next_token }))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct UpdateStateInput {
    cluster: Option<String>,
    container_instances: Vec<String>,
    status: String,
}

/// Sets instances ACTIVE or DRAINING.
pub(crate) fn update_state(app: &App, input: UpdateStateInput) -> Result<Value, ApiError> {
    let cluster = names::cluster(input.cluster.as_deref())?;
    let ids = input
        .container_instances
        .iter()
        .map(|i| names::instance("containerInstances", i))
        .collect::<Result<Vec<_>, _>>()?;
    let status: InstanceStatus = input
        .status
        .parse()
        .map_err(|e: ecs_core::Error| ApiError::invalid(format!("status: {e}")))?;
    app.ecs
        .update_container_instances_state(UpdateContainerInstancesState::new(
            cluster.clone(),
            ids.clone(),
            status,
        ))
        .map_err(|e| app.error(e))?;
    let described = ids
        .iter()
        .map(|id| describe_one(app, &cluster, id))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(json!({ "containerInstances": described, "failures": [] }))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct DeregisterInput {
    cluster: Option<String>,
    container_instance: String,
    #[serde(default)]
    force: bool,
}

/// Removes an instance; answers with it as it was, INACTIVE.
pub(crate) fn deregister(app: &App, input: DeregisterInput) -> Result<Value, ApiError> {
    let cluster = names::cluster(input.cluster.as_deref())?;
    let id = names::instance("containerInstance", &input.container_instance)?;
    let described = app
        .ecs
        .describe_cluster(&cluster)
        .map_err(|e| app.error(e))?;
    let mut before = described
        .instance(&id)
        .map(|i| wire::container_instance(app.ecs.arn_scope(), &cluster, i))
        .ok_or_else(|| {
            app.error(ecs_core::Error::not_found_in(
                ecs_core::ResourceKind::ContainerInstance,
                &id,
                &cluster,
            ))
        })?;
    let mut request = DeregisterContainerInstance::new(cluster, id);
    request.force = input.force;
    app.ecs
        .deregister_container_instance(request)
        .map_err(|e| app.error(e))?;
    before["status"] = json!("INACTIVE");
    before["agentConnected"] = json!(false);
    Ok(json!({ "containerInstance": before }))
}

/// The instance an attribute targets (`targetId`, required: only container instances
/// carry attributes).
fn target(a: &AttributeInput) -> Result<InstanceId, ApiError> {
    if a.target_type
        .as_deref()
        .is_some_and(|t| t != "container-instance")
    {
        return Err(ApiError::invalid(format!(
            "attributes: {:?}: targetType must be container-instance",
            a.name
        )));
    }
    let id = a.target_id.as_deref().ok_or_else(|| {
        ApiError::client(
            "TargetNotFoundException",
            format!("attributes: {:?} names no targetId", a.name),
        )
    })?;
    names::instance("targetId", id)
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct AttributesInput {
    cluster: Option<String>,
    attributes: Vec<AttributeInput>,
}

fn attributes_out(attributes: &[AttributeInput]) -> Value {
    json!(
        attributes
            .iter()
            .map(|a| {
                let mut v = json!({
                    "name": a.name,
                    "targetType": "container-instance",
                    "targetId": a.target_id,
                });
                if let Some(value) = &a.value {
                    v["value"] = json!(value);
                }
                v
            })
            .collect::<Vec<_>>()
    )
}

/// Sets attributes on instances (PutAttributes, at most 10 per call).
pub(crate) fn put_attributes(app: &App, input: AttributesInput) -> Result<Value, ApiError> {
    let cluster = names::cluster(input.cluster.as_deref())?;
    if input.attributes.is_empty() || input.attributes.len() > 10 {
        return Err(ApiError::client(
            "AttributeLimitExceededException",
            format!(
                "attributes: {} attributes, outside 1 to 10 per call",
                input.attributes.len()
            ),
        ));
    }
    let attributes = input
        .attributes
        .iter()
        .map(|a| Ok((target(a)?, a.name.clone(), a.value.clone())))
        .collect::<Result<Vec<_>, ApiError>>()?;
    // All checked before any is set.
    app.ecs
        .put_attributes(&cluster, &attributes)
        .map_err(|e| target_error(app, e))?;
    Ok(json!({ "attributes": attributes_out(&input.attributes) }))
}

/// Removes attributes from instances (DeleteAttributes).
pub(crate) fn delete_attributes(app: &App, input: AttributesInput) -> Result<Value, ApiError> {
    let cluster = names::cluster(input.cluster.as_deref())?;
    let attributes = input
        .attributes
        .iter()
        .map(|a| Ok((target(a)?, a.name.clone())))
        .collect::<Result<Vec<_>, ApiError>>()?;
    app.ecs
        .delete_attributes(&cluster, &attributes)
        .map_err(|e| target_error(app, e))?;
    Ok(json!({ "attributes": attributes_out(&input.attributes) }))
}

/// ECS answers an unknown target with `TargetNotFoundException`.
fn target_error(app: &App, e: ecs_core::Error) -> ApiError {
    if e.is_not_found(ecs_core::ResourceKind::ContainerInstance) {
        ApiError::client("TargetNotFoundException", e.to_string())
    } else {
        app.error(e)
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ListAttributesInput {
    cluster: Option<String>,
    target_type: String,
    attribute_name: Option<String>,
    attribute_value: Option<String>,
    next_token: Option<String>,
    max_results: Option<i64>,
}

/// The attributes of the cluster's instances, by name (and value) if asked.
pub(crate) fn list_attributes(app: &App, input: ListAttributesInput) -> Result<Value, ApiError> {
    if input.target_type != "container-instance" {
        return Err(ApiError::invalid(format!(
            "targetType: {:?} is not container-instance",
            input.target_type
        )));
    }
    if input.attribute_value.is_some() && input.attribute_name.is_none() {
        return Err(ApiError::invalid(
            "attributeValue: needs attributeName".to_owned(),
        ));
    }
    let cluster = names::cluster(input.cluster.as_deref())?;
    let c = app
        .ecs
        .describe_cluster(&cluster)
        .map_err(|e| app.error(e))?;
    // Keyed `instance\nname` so that pages follow instance, then name.
    let mut entries: Vec<(String, Value)> = Vec::new();
    for i in c.instances() {
        for (name, value) in i.attributes() {
            if input.attribute_name.as_deref().is_some_and(|n| n != name)
                || input
                    .attribute_value
                    .as_deref()
                    .is_some_and(|v| value.as_deref() != Some(v))
            {
                continue;
            }
            let mut v = json!({
                "name": name,
                "targetType": "container-instance",
                "targetId": wire::instance_arn(app.ecs.arn_scope(), &cluster, i.id()).to_string(),
            });
            if let Some(value) = value {
                v["value"] = json!(value);
            }
            entries.push((format!("{}\n{name}", i.id()), v));
        }
    }
    entries.sort_by(|a, b| a.0.cmp(&b.0));
    let keys: Vec<String> = entries.iter().map(|(k, _)| k.clone()).collect();
    let page = page::page(keys, input.next_token.as_deref(), input.max_results, 100)?;
    let attributes: Vec<&Value> = entries
        .iter()
        .filter(|(k, _)| page.items.binary_search(k).is_ok())
        .map(|(_, v)| v)
        .collect();
    Ok(json!({ "attributes": attributes, "nextToken": page.next_token }))
}
