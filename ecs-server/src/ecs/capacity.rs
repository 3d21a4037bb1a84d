//! CreateCapacityProvider, DescribeCapacityProviders, UpdateCapacityProvider,
//! DeleteCapacityProvider and PutClusterCapacityProviders.
//!
//! A provider's `autoScalingGroupArn` names an instance group the server was given
//! (the binary's `--instance-group`, or an embedding program's
//! [`Ecs::register_instance_group`](ecs_core::Ecs::register_instance_group)): a name,
//! or an Auto Scaling group ARN whose `autoScalingGroupName/NAME` part is one.

use std::time::Duration;

use ecs_core::capacity::{CapacityProviderStrategyItem, ManagedScaling};
use ecs_core::control::{CreateCapacityProvider, UpdateCapacityProvider};
use serde::Deserialize;
use serde_json::{Value, json};

use super::{names, page, tags, wire};
use crate::protocol::ApiError;
use crate::server::App;

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ManagedScalingInput {
    status: Option<String>,
    target_capacity: Option<u32>,
    minimum_scaling_step_size: Option<u32>,
    maximum_scaling_step_size: Option<u32>,
    instance_warmup_period: Option<u64>,
}

impl ManagedScalingInput {
    /// Over `base`: what the request leaves out stays.
    fn apply(self, mut base: ManagedScaling) -> Result<ManagedScaling, ApiError> {
        if let Some(s) = self.status {
            base.enabled = enabled("managedScaling.status", &s)?;
        }
        if let Some(v) = self.target_capacity {
            base.target_capacity = v;
        }
        if let Some(v) = self.minimum_scaling_step_size {
            base.minimum_scaling_step_size = v;
        }
        if let Some(v) = self.maximum_scaling_step_size {
            base.maximum_scaling_step_size = v;
        }
        if let Some(v) = self.instance_warmup_period {
            base.instance_warmup_period = Duration::from_secs(v);
        }
        Ok(base)
    }
}

/// `ENABLED` or `DISABLED`.
fn enabled(member: &str, text: &str) -> Result<bool, ApiError> {
    match text {
        "ENABLED" => Ok(true),
        "DISABLED" => Ok(false),
        other => Err(ApiError::invalid(format!(
            "{member}: {other:?} is not ENABLED or DISABLED"
        ))),
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct GroupProviderInput {
    auto_scaling_group_arn: Option<String>,
    managed_scaling: Option<ManagedScalingInput>,
    managed_termination_protection: Option<String>,
    managed_draining: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct CreateInput {
    name: String,
    auto_scaling_group_provider: Option<GroupProviderInput>,
    managed_instances_provider: Option<Value>,
    #[serde(default)]
    tags: Vec<tags::TagInput>,
}

pub(crate) fn create(app: &App, input: CreateInput) -> Result<Value, ApiError> {
    if input.managed_instances_provider.is_some() {
        return Err(ApiError::client(
            "UnsupportedFeatureException",
            "managedInstancesProvider: this server's capacity providers manage instance \
             groups (autoScalingGroupProvider)",
        ));
    }
    let group = input.auto_scaling_group_provider.ok_or_else(|| {
        ApiError::invalid("autoScalingGroupProvider: a capacity provider needs one")
    })?;
    let arn = group.auto_scaling_group_arn.ok_or_else(|| {
        ApiError::invalid("autoScalingGroupProvider.autoScalingGroupArn: required")
    })?;
    let name = names::capacity_provider("name", &input.name)?;
    let mut request = CreateCapacityProvider::new(name, names::instance_group(&arn));
    // ECS's defaults: termination protection DISABLED, draining ENABLED.
    request.managed_termination_protection = false;
    if let Some(m) = group.managed_scaling {
        request.managed_scaling = m.apply(ManagedScaling::default())?;
    }
    if let Some(p) = group.managed_termination_protection {
        request.managed_termination_protection = enabled("managedTerminationProtection", &p)?;
    }
    if let Some(d) = group.managed_draining {
        request.managed_draining = enabled("managedDraining", &d)?;
    }
    request.tags = tags::read("CreateCapacityProvider", input.tags)?;
    let provider = app
        .ecs
        .create_capacity_provider(request)
        .map_err(|e| app.error(e))?;
    Ok(json!({ "capacityProvider": wire::capacity_provider(&provider, None) }))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct DescribeInput {
    #[serde(default)]
    capacity_providers: Vec<String>,
    next_token: Option<String>,
    max_results: Option<i64>,
}

/// The providers named (every one when none is), a `MISSING` failure for each unknown.
pub(crate) fn describe(app: &App, input: DescribeInput) -> Result<Value, ApiError> {
    if input.capacity_providers.len() > 100 {
        return Err(ApiError::invalid(format!(
            "capacityProviders: {} names, at most 100 per call",
            input.capacity_providers.len()
        )));
    }
    let mut asked = Vec::new();
    for text in &input.capacity_providers {
        let name = names::capacity_provider("capacityProviders", text)?;
        if !asked.contains(&name) {
            asked.push(name);
        }
    }
    let found = app.ecs.describe_capacity_providers(&asked);
    let failures: Vec<Value> = asked
        .iter()
        .filter(|n| !found.iter().any(|p| p.name == **n))
        .map(|n| {
            json!({
                "arn": app.ecs.arn_scope().arn(format!("capacity-provider/{n}")).to_string(),
                "reason": "MISSING",
            })
        })
        .collect();
    // Paged by name (they come sorted), at most 10 to a page as in ECS.
    let sorted: Vec<String> = found.iter().map(|p| p.name.to_string()).collect();
    let page = page::page(sorted, input.next_token.as_deref(), input.max_results, 10)?;
    let shown: Vec<Value> = found
        .iter()
        .filter(|p| page.items.iter().any(|n| n == p.name.as_str()))
        .map(|p| wire::capacity_provider(p, app.ecs.capacity_provider_scaling(&p.name)))
        .collect();
    Ok(json!({
        "capacityProviders": shown,
        "failures": failures,
        "nextToken": page.next_token,
    }))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct UpdateInput {
    name: String,
    auto_scaling_group_provider: Option<GroupProviderInput>,
}

pub(crate) fn update(app: &App, input: UpdateInput) -> Result<Value, ApiError> {
    let name = names::capacity_provider("name", &input.name)?;
    let current = app
        .ecs
        .describe_capacity_providers(std::slice::from_ref(&name))
        .pop()
        .ok_or_else(|| ApiError::invalid(format!("capacity provider {name} does not exist")))?;
    let mut request = UpdateCapacityProvider::new(name);
    if let Some(g) = input.auto_scaling_group_provider {
        if g.auto_scaling_group_arn.is_some() {
            return Err(ApiError::invalid(
                "autoScalingGroupProvider.autoScalingGroupArn: a provider's group cannot change",
            ));
        }
        if let Some(m) = g.managed_scaling {
            request.managed_scaling = Some(m.apply(current.managed_scaling.clone())?);
        }
        if let Some(p) = g.managed_termination_protection {
            request.managed_termination_protection =
                Some(enabled("managedTerminationProtection", &p)?);
        }
        if let Some(d) = g.managed_draining {
            request.managed_draining = Some(enabled("managedDraining", &d)?);
        }
    }
    let provider = app
        .ecs
        .update_capacity_provider(request)
        .map_err(|e| app.error(e))?;
    Ok(json!({ "capacityProvider": wire::capacity_provider(&provider, None) }))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct DeleteInput {
    capacity_provider: String,
}

pub(crate) fn delete(app: &App, input: DeleteInput) -> Result<Value, ApiError> {
    let name = names::capacity_provider("capacityProvider", &input.capacity_provider)?;
    let provider = app
        .ecs
        .delete_capacity_provider(&name)
        .map_err(|e| app.error(e))?;
    Ok(json!({ "capacityProvider": wire::capacity_provider(&provider, None) }))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct PutInput {
    cluster: String,
    capacity_providers: Vec<String>,
    default_capacity_provider_strategy: Vec<CapacityProviderStrategyItem>,
}

pub(crate) fn put_cluster(app: &App, input: PutInput) -> Result<Value, ApiError> {
    let cluster = names::cluster(Some(&input.cluster))?;
    let mut providers = Vec::new();
    for text in &input.capacity_providers {
        let name = names::capacity_provider("capacityProviders", text)?;
        if providers.contains(&name) {
            return Err(ApiError::invalid(format!(
                "capacityProviders: {name} is named twice"
            )));
        }
        providers.push(name);
    }
    app.ecs
        .put_cluster_capacity_providers(
            &cluster,
            &providers,
            input.default_capacity_provider_strategy,
        )
        .map_err(|e| app.error(e))?;
    let described = app.ecs.describe_clusters(std::slice::from_ref(&cluster));
    let c = described
        .first()
        .ok_or_else(|| ApiError::server(format!("cluster {cluster} vanished")))?;
    Ok(json!({ "cluster": wire::cluster(c) }))
}
