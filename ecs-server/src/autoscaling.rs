//! Application Auto Scaling's API (target prefix `AnyScaleFrontendService`), for ECS
//! services: scalable targets, scaling policies and scaling activities, in its shapes
//! (PascalCase members) and with its errors (`ValidationException`,
//! `ObjectNotFoundException` ...).
//!
//! Target tracking policies are honoured on CPU, memory and custom metrics. Step
//! scaling policies need a CloudWatch alarm to drive them, which this server does not
//! have: they are refused, saying so.

use std::time::Duration;

use ecs_core::autoscaling::{
    DeleteScalingPolicy, Metric, PolicyKind, PutScalingPolicy, RegisterScalableTarget,
    ScalableService, ScalableTarget, ScalingPolicy, TargetTracking,
};
use ecs_core::{ClusterName, ServiceName};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::ecs::{page, wire};
use crate::protocol::{Answer, ApiError, Dialect, parse};
use crate::server::App;

const NAMESPACE: &str = "ecs";
const DIMENSION: &str = "ecs:service:DesiredCount";

fn validation(message: impl Into<String>) -> ApiError {
    ApiError::client("ValidationException", message)
}

fn error(e: ecs_core::Error) -> ApiError {
    ApiError::from_core(e, Dialect::AutoScaling)
}

/// Runs `operation` on `body`.
pub(crate) fn call(app: &App, operation: &str, body: &[u8]) -> Result<Answer, ApiError> {
    value(app, operation, body)
        .map(Answer::Value)
        .map_err(in_its_words)
}

/// The body's and the pages' errors, which the shared code names as ECS does, in
/// Application Auto Scaling's words.
fn in_its_words(e: ApiError) -> ApiError {
    match e.code {
        "InvalidParameterException" if e.message.starts_with("nextToken") => {
            ApiError::client("InvalidNextTokenException", e.message)
        }
        "InvalidParameterException" => validation(e.message),
        _ => e,
    }
}

fn value(app: &App, operation: &str, body: &[u8]) -> Result<Value, ApiError> {
    let depth = app.config.max_json_depth;
    match operation {
        "RegisterScalableTarget" => register_target(app, parse(body, depth)?),
        "DescribeScalableTargets" => describe_targets(app, parse(body, depth)?),
        "DeregisterScalableTarget" => deregister_target(app, parse(body, depth)?),
        "PutScalingPolicy" => put_policy(app, parse(body, depth)?),
        "DescribeScalingPolicies" => describe_policies(app, parse(body, depth)?),
        "DeleteScalingPolicy" => delete_policy(app, parse(body, depth)?),
        "DescribeScalingActivities" => describe_activities(app, parse(body, depth)?),
        other => Err(ApiError::client(
            "UnknownOperationException",
            format!("Application Auto Scaling operation {other:?} is not served here"),
        )),
    }
}

/// The namespace and dimension every request names: ECS services' desired count.
fn check_scope(namespace: &str, dimension: Option<&str>) -> Result<(), ApiError> {
    if namespace != NAMESPACE {
        return Err(validation(format!(
            "ServiceNamespace {namespace:?}: this server scales ECS services only (ecs)"
        )));
    }
    match dimension {
        None | Some(DIMENSION) => Ok(()),
        Some(other) => Err(validation(format!(
            "ScalableDimension {other:?}: an ECS service scales by {DIMENSION}"
        ))),
    }
}

/// `service/CLUSTER/NAME`, as ResourceId names a service.
fn resource(id: &str) -> Result<(ClusterName, ServiceName), ApiError> {
    let parts: Vec<&str> = id.split('/').collect();
    let ["service", cluster, service] = parts.as_slice() else {
        return Err(validation(format!(
            "ResourceId {id:?}: an ECS service is service/CLUSTER/NAME"
        )));
    };
    let cluster = cluster
        .parse()
        .map_err(|e| validation(format!("ResourceId {id:?}: {e}")))?;
    let service = service
        .parse()
        .map_err(|e| validation(format!("ResourceId {id:?}: {e}")))?;
    Ok((cluster, service))
}

fn resource_id(cluster: &ClusterName, service: &ServiceName) -> String {
    format!("service/{cluster}/{service}")
}

fn target_arn(app: &App, cluster: &ClusterName, service: &ServiceName) -> String {
    let scope = app.ecs.arn_scope();
    format!(
        "arn:aws:application-autoscaling:{}:{}:scalable-target/{}",
        scope.region,
        scope.account,
        resource_id(cluster, service)
    )
}

fn policy_arn(app: &App, cluster: &ClusterName, service: &ServiceName, name: &str) -> String {
    let scope = app.ecs.arn_scope();
    format!(
        "arn:aws:autoscaling:{}:{}:scalingPolicy:{}:resource/ecs/{}:policyName/{name}",
        scope.region,
        scope.account,
        resource_id(cluster, service).replace('/', "-"),
        resource_id(cluster, service)
    )
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct RegisterTargetInput {
    service_namespace: String,
    resource_id: String,
    scalable_dimension: String,
    min_capacity: Option<u32>,
    max_capacity: Option<u32>,
}

/// Makes a service scalable, or changes its bounds (either bound may be left out of a
/// change).
fn register_target(app: &App, input: RegisterTargetInput) -> Result<Value, ApiError> {
    check_scope(&input.service_namespace, Some(&input.scalable_dimension))?;
    let (cluster, service) = resource(&input.resource_id)?;
    let existing = app
        .ecs
        .describe_scalable_targets()
        .into_iter()
        .find(|t| t.cluster == cluster && t.service == service)
        .map(|t| t.target);
    let (min, max) = match (input.min_capacity, input.max_capacity, existing) {
        (Some(min), Some(max), _) => (min, max),
        (min, max, Some(t)) => (min.unwrap_or(t.min_capacity), max.unwrap_or(t.max_capacity)),
        _ => {
            return Err(validation(
                "MinCapacity and MaxCapacity are required to register a new scalable target",
            ));
        }
    };
    app.ecs
        .register_scalable_target(RegisterScalableTarget::new(
            cluster.clone(),
            service.clone(),
            ScalableTarget::new(min, max),
        ))
        .map_err(error)?;
    Ok(json!({ "ScalableTargetARN": target_arn(app, &cluster, &service) }))
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct DescribeTargetsInput {
    service_namespace: String,
    #[serde(default)]
    resource_ids: Vec<String>,
    scalable_dimension: Option<String>,
    max_results: Option<i64>,
    next_token: Option<String>,
}

fn wanted(ids: &[String], t: &ScalableService) -> bool {
    ids.is_empty() || ids.contains(&resource_id(&t.cluster, &t.service))
}

fn describe_targets(app: &App, input: DescribeTargetsInput) -> Result<Value, ApiError> {
    check_scope(
        &input.service_namespace,
        input.scalable_dimension.as_deref(),
    )?;
    let mut targets: Vec<ScalableService> = app
        .ecs
        .describe_scalable_targets()
        .into_iter()
        .filter(|t| wanted(&input.resource_ids, t))
        .collect();
    // Pages follow the resource ids in sorted order.
    targets.sort_by_key(|t| resource_id(&t.cluster, &t.service));
    let keys = targets
        .iter()
        .map(|t| resource_id(&t.cluster, &t.service))
        .collect();
    let page = page::page(keys, input.next_token.as_deref(), input.max_results, 50)?;
    let out: Vec<Value> = targets
        .iter()
        .filter(|t| {
            page.items
                .binary_search(&resource_id(&t.cluster, &t.service))
                .is_ok()
        })
        .map(|t| {
            json!({
                "ServiceNamespace": NAMESPACE,
                "ResourceId": resource_id(&t.cluster, &t.service),
                "ScalableDimension": DIMENSION,
                "MinCapacity": t.target.min_capacity,
                "MaxCapacity": t.target.max_capacity,
                "RoleARN": format!(
                    "arn:aws:iam::{}:role/aws-service-role/ecs.application-autoscaling.amazonaws.com/AWSServiceRoleForApplicationAutoScaling_ECSService",
                    app.ecs.arn_scope().account
                ),
                "ScalableTargetARN": target_arn(app, &t.cluster, &t.service),
            })
        })
        .collect();
    Ok(json!({ "ScalableTargets": out, "NextToken": page.next_token }))
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct TargetInput {
    service_namespace: String,
    resource_id: String,
    scalable_dimension: String,
}

fn deregister_target(app: &App, input: TargetInput) -> Result<Value, ApiError> {
    check_scope(&input.service_namespace, Some(&input.scalable_dimension))?;
    let (cluster, service) = resource(&input.resource_id)?;
    app.ecs
        .deregister_scalable_target(&cluster, &service)
        .map_err(error)?;
    Ok(json!({}))
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct PredefinedMetric {
    predefined_metric_type: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct CustomizedMetric {
    metric_name: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct TargetTrackingInput {
    target_value: f64,
    predefined_metric_specification: Option<PredefinedMetric>,
    customized_metric_specification: Option<CustomizedMetric>,
    scale_out_cooldown: Option<u64>,
    scale_in_cooldown: Option<u64>,
    #[serde(default)]
    disable_scale_in: bool,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct PutPolicyInput {
    policy_name: String,
    service_namespace: String,
    resource_id: String,
    scalable_dimension: String,
    policy_type: Option<String>,
    target_tracking_scaling_policy_configuration: Option<TargetTrackingInput>,
}

fn metric(t: &TargetTrackingInput) -> Result<Metric, ApiError> {
    match (
        &t.predefined_metric_specification,
        &t.customized_metric_specification,
    ) {
        (Some(p), None) => match p.predefined_metric_type.as_str() {
            "ECSServiceAverageCPUUtilization" => Ok(Metric::CpuUtilization),
            "ECSServiceAverageMemoryUtilization" => Ok(Metric::MemoryUtilization),
            other => Err(validation(format!(
                "PredefinedMetricType {other:?}: an ECS service tracks \
                 ECSServiceAverageCPUUtilization or ECSServiceAverageMemoryUtilization here"
            ))),
        },
        (None, Some(c)) => c
            .metric_name
            .clone()
            .map(Metric::Custom)
            .ok_or_else(|| validation("CustomizedMetricSpecification needs a MetricName")),
        _ => Err(validation(
            "a target tracking policy names one metric: PredefinedMetricSpecification or \
             CustomizedMetricSpecification",
        )),
    }
}

fn put_policy(app: &App, input: PutPolicyInput) -> Result<Value, ApiError> {
    check_scope(&input.service_namespace, Some(&input.scalable_dimension))?;
    let (cluster, service) = resource(&input.resource_id)?;
    let config = match (
        input.policy_type.as_deref(),
        input.target_tracking_scaling_policy_configuration,
    ) {
        (Some("StepScaling"), _) => {
            return Err(validation(
                "StepScaling policies are driven by CloudWatch alarms, which this server does \
                 not have; use TargetTrackingScaling",
            ));
        }
        (None | Some("TargetTrackingScaling"), Some(config)) => config,
        (None | Some("TargetTrackingScaling"), None) => {
            return Err(validation(
                "TargetTrackingScalingPolicyConfiguration is required for TargetTrackingScaling",
            ));
        }
        (Some(other), _) => {
            return Err(validation(format!(
                "PolicyType {other:?}: an ECS service takes TargetTrackingScaling here"
            )));
        }
    };
    let mut tracking = TargetTracking::new(metric(&config)?, config.target_value);
    let defaults = (tracking.scale_out_cooldown, tracking.scale_in_cooldown);
    tracking = tracking.with_cooldowns(
        config
            .scale_out_cooldown
            .map_or(defaults.0, Duration::from_secs),
        config
            .scale_in_cooldown
            .map_or(defaults.1, Duration::from_secs),
    );
    if config.disable_scale_in {
        tracking = tracking.without_scale_in();
    }
    app.ecs
        .put_scaling_policy(PutScalingPolicy::new(
            cluster.clone(),
            service.clone(),
            ScalingPolicy::target_tracking(input.policy_name.clone(), tracking),
        ))
        .map_err(error)?;
    Ok(json!({
        "PolicyARN": policy_arn(app, &cluster, &service, &input.policy_name),
        "Alarms": [],
    }))
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct DescribePoliciesInput {
    service_namespace: String,
    resource_id: Option<String>,
    scalable_dimension: Option<String>,
    #[serde(default)]
    policy_names: Vec<String>,
    max_results: Option<i64>,
    next_token: Option<String>,
}

fn policy_json(app: &App, t: &ScalableService, p: &ScalingPolicy) -> Value {
    let mut out = json!({
        "PolicyARN": policy_arn(app, &t.cluster, &t.service, &p.name),
        "PolicyName": p.name,
        "ServiceNamespace": NAMESPACE,
        "ResourceId": resource_id(&t.cluster, &t.service),
        "ScalableDimension": DIMENSION,
        "Alarms": [],
    });
    if let PolicyKind::TargetTracking(tt) = &p.kind {
        let metric = match &tt.metric {
            Metric::Custom(name) => json!({"CustomizedMetricSpecification": {
                "MetricName": name, "Namespace": "ecs", "Statistic": "Average"}}),
            m => json!({"PredefinedMetricSpecification": {"PredefinedMetricType": m.name()}}),
        };
        let mut config = json!({
            "TargetValue": tt.target_value,
            "ScaleOutCooldown": tt.scale_out_cooldown.as_secs(),
            "ScaleInCooldown": tt.scale_in_cooldown.as_secs(),
            "DisableScaleIn": tt.disable_scale_in,
        });
        if let (Value::Object(c), Value::Object(m)) = (&mut config, metric) {
            c.extend(m);
        }
        out["PolicyType"] = json!("TargetTrackingScaling");
        out["TargetTrackingScalingPolicyConfiguration"] = config;
    } else {
        out["PolicyType"] = json!("StepScaling");
    }
    out
}

fn describe_policies(app: &App, input: DescribePoliciesInput) -> Result<Value, ApiError> {
    check_scope(
        &input.service_namespace,
        input.scalable_dimension.as_deref(),
    )?;
    let only: Vec<String> = input.resource_id.into_iter().collect();
    let mut found: Vec<(String, Value)> = Vec::new();
    for t in app.ecs.describe_scalable_targets() {
        if !wanted(&only, &t) {
            continue;
        }
        for p in &t.policies {
            if input.policy_names.is_empty() || input.policy_names.contains(&p.name) {
                let key = format!("{}\n{}", resource_id(&t.cluster, &t.service), p.name);
                found.push((key, policy_json(app, &t, p)));
            }
        }
    }
    found.sort_by(|a, b| a.0.cmp(&b.0));
    let keys = found.iter().map(|(k, _)| k.clone()).collect();
    let page = page::page(keys, input.next_token.as_deref(), input.max_results, 50)?;
    let policies: Vec<&Value> = found
        .iter()
        .filter(|(k, _)| page.items.binary_search(k).is_ok())
        .map(|(_, v)| v)
        .collect();
    Ok(json!({ "ScalingPolicies": policies, "NextToken": page.next_token }))
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct DeletePolicyInput {
    policy_name: String,
    service_namespace: String,
    resource_id: String,
    scalable_dimension: String,
}

fn delete_policy(app: &App, input: DeletePolicyInput) -> Result<Value, ApiError> {
    check_scope(&input.service_namespace, Some(&input.scalable_dimension))?;
    let (cluster, service) = resource(&input.resource_id)?;
    app.ecs
        .delete_scaling_policy(DeleteScalingPolicy::new(
            cluster,
            service,
            input.policy_name,
        ))
        .map_err(error)?;
    Ok(json!({}))
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct DescribeActivitiesInput {
    service_namespace: String,
    resource_id: Option<String>,
    scalable_dimension: Option<String>,
    max_results: Option<i64>,
    next_token: Option<String>,
}

fn describe_activities(app: &App, input: DescribeActivitiesInput) -> Result<Value, ApiError> {
    check_scope(
        &input.service_namespace,
        input.scalable_dimension.as_deref(),
    )?;
    let services: Vec<(ClusterName, ServiceName)> = match &input.resource_id {
        Some(id) => vec![resource(id)?],
        None => app
            .ecs
            .describe_scalable_targets()
            .into_iter()
            .map(|t| (t.cluster, t.service))
            .collect(),
    };
    let mut found: Vec<(String, Value)> = Vec::new();
    for (cluster, service) in services {
        let activities = app
            .ecs
            .describe_scaling_activities(&cluster, &service)
            .map_err(error)?;
        for a in activities {
            // Newest first across services: keys sort by time, descending.
            let key = format!(
                "{:020}\n{}",
                i64::MAX - a.start_time.as_millisecond(),
                a.activity_id
            );
            let mut v = json!({
                "ActivityId": a.activity_id,
                "ServiceNamespace": NAMESPACE,
                "ResourceId": a.resource_id,
                "ScalableDimension": DIMENSION,
                "Description": a.description,
                "Cause": a.cause,
                "StartTime": wire::timestamp(a.start_time),
                "EndTime": wire::timestamp(a.start_time),
                "StatusCode": a.status_code.as_str(),
            });
            if let Some(m) = &a.status_message {
                v["StatusMessage"] = json!(m);
            }
            found.push((key, v));
        }
    }
    found.sort_by(|a, b| a.0.cmp(&b.0));
    let keys = found.iter().map(|(k, _)| k.clone()).collect();
    let page = page::page(keys, input.next_token.as_deref(), input.max_results, 50)?;
    let activities: Vec<&Value> = found
        .iter()
        .filter(|(k, _)| page.items.binary_search(k).is_ok())
        .map(|(_, v)| v)
        .collect();
    Ok(json!({ "ScalingActivities": activities, "NextToken": page.next_token }))
}
