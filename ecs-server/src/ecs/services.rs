//! CreateService, UpdateService, DeleteService, DescribeServices, ListServices.

use ecs_core::service::{CreateService, DeleteService, UpdateService};
use serde::Deserialize;
use serde_json::{Value, json};

use super::{names, page, wire};
use crate::protocol::{ApiError, from_value};
use crate::server::App;

/// The request with its `service` named by name (ECS takes an ARN too), after its
/// `launchType` is checked.
fn normalized(mut input: Value) -> Result<Value, ApiError> {
    match input.get("launchType").and_then(Value::as_str) {
        None | Some("EC2") => {}
        Some(other) => {
            return Err(ApiError::client(
                "UnsupportedFeatureException",
                format!(
                    "launchType {other}: this server runs services on its clusters' \
                     container instances only (launch type EC2)"
                ),
            ));
        }
    }
    if let Some(service) = input.get_mut("service")
        && let Some(text) = service.as_str()
        && text.starts_with("arn:")
    {
        *service = json!(names::service("service", text)?.as_str());
    }
    Ok(input)
}

fn answer(app: &App, service: &ecs_core::service::Service) -> Value {
    json!({ "service": wire::service(app.ecs.arn_scope(), service) })
}

/// Creates a service.
pub(crate) fn create(app: &App, input: Value) -> Result<Value, ApiError> {
    let request: CreateService = from_value(normalized(input)?)?;
    let service = app.ecs.create_service(request).map_err(|e| app.error(e))?;
    Ok(answer(app, &service))
}

/// Changes a service: its count, its task definition (a new deployment) ...
pub(crate) fn update(app: &App, input: Value) -> Result<Value, ApiError> {
    let request: UpdateService = from_value(normalized(input)?)?;
    let service = app.ecs.update_service(request).map_err(|e| app.error(e))?;
    Ok(answer(app, &service))
}

/// Deletes a service (DRAINING, then INACTIVE once its tasks are gone).
pub(crate) fn delete(app: &App, input: Value) -> Result<Value, ApiError> {
    let request: DeleteService = from_value(normalized(input)?)?;
    let service = app.ecs.delete_service(request).map_err(|e| app.error(e))?;
    Ok(answer(app, &service))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct DescribeServicesInput {
    cluster: Option<String>,
    services: Vec<String>,
}

/// The services asked for, and a `MISSING` failure for each unknown one.
pub(crate) fn describe(app: &App, input: DescribeServicesInput) -> Result<Value, ApiError> {
    if input.services.is_empty() || input.services.len() > 10 {
        return Err(ApiError::invalid(format!(
            "services: {} services, outside 1 to 10 per call",
            input.services.len()
        )));
    }
    let cluster = names::cluster(input.cluster.as_deref())?;
    let mut wanted = Vec::new();
    for text in &input.services {
        let name = names::service("services", text)?;
        if !wanted.contains(&name) {
            wanted.push(name);
        }
    }
    let found = app
        .ecs
        .describe_services(&cluster, &wanted)
        .map_err(|e| app.error(e))?;
    let scope = app.ecs.arn_scope();
    let failures: Vec<Value> = wanted
        .iter()
        .filter(|n| !found.iter().any(|s| s.service_name == **n))
        .map(|n| {
            json!({
                "arn": scope.arn(format!("service/{cluster}/{n}")).to_string(),
                "reason": "MISSING",
            })
        })
        .collect();
    Ok(json!({
        "services": found.iter().map(|s| wire::service(scope, s)).collect::<Vec<_>>(),
        "failures": failures,
    }))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ListServicesInput {
    cluster: Option<String>,
    next_token: Option<String>,
    max_results: Option<i64>,
    launch_type: Option<String>,
    scheduling_strategy: Option<String>,
}

/// The ARNs of the cluster's ACTIVE and DRAINING services, 100 at most per page.
pub(crate) fn list(app: &App, input: ListServicesInput) -> Result<Value, ApiError> {
    let cluster = names::cluster(input.cluster.as_deref())?;
    let names = app.ecs.list_services(&cluster).map_err(|e| app.error(e))?;
    let mut keep: Vec<String> = Vec::with_capacity(names.len());
    let ec2 = matches!(input.launch_type.as_deref(), None | Some("EC2"));
    for name in names {
        if !ec2 {
            break;
        }
        if let Some(strategy) = input.scheduling_strategy.as_deref() {
            let service = app
                .ecs
                .describe_service(&cluster, &name)
                .map_err(|e| app.error(e))?;
            if service.scheduling_strategy.as_str() != strategy {
                continue;
            }
        }
        keep.push(name.to_string());
    }
    keep.sort();
    let page = page::page(keep, input.next_token.as_deref(), input.max_results, 100)?;
    let scope = app.ecs.arn_scope();
    let arns: Vec<String> = page
        .items
        .iter()
        .map(|n| scope.arn(format!("service/{cluster}/{n}")).to_string())
        .collect();
    Ok(json!({ "serviceArns": arns, "nextToken": page.next_token }))
}
