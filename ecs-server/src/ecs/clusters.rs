//! CreateCluster, DescribeClusters, ListClusters.

use serde::Deserialize;
use serde_json::{Value, json};

use super::{names, page, tags, wire};
use crate::protocol::ApiError;
use crate::server::App;

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct CreateCluster {
    cluster_name: Option<String>,
    #[serde(default)]
    tags: Vec<tags::TagInput>,
    #[serde(default)]
    settings: Vec<SettingInput>,
}

#[derive(Deserialize)]
pub(crate) struct SettingInput {
    name: String,
    value: String,
}

fn settings(list: Vec<SettingInput>) -> Vec<(String, String)> {
    list.into_iter().map(|s| (s.name, s.value)).collect()
}

/// Creates a cluster; as in ECS, creating one that exists answers with it (as it is:
/// the request's tags and settings are for a new cluster).
pub(crate) fn create(app: &App, input: CreateCluster) -> Result<Value, ApiError> {
    let name = names::cluster(input.cluster_name.as_deref())?;
    let tags = tags::read("CreateCluster", input.tags)?;
    let settings = settings(input.settings);
    match app.ecs.create_cluster_with(name.clone(), &tags, &settings) {
        Ok(()) | Err(ecs_core::Error::AlreadyExists { .. }) => {}
        Err(e) => return Err(app.error(e)),
    }
    let described = app.ecs.describe_clusters(std::slice::from_ref(&name));
    let cluster = described
        .first()
        .ok_or_else(|| ApiError::server(format!("cluster {name} vanished as it was created")))?;
    Ok(json!({ "cluster": wire::cluster(cluster) }))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct DescribeClusters {
    #[serde(default)]
    clusters: Vec<String>,
}

/// The clusters asked for (`default` when none), and a `MISSING` failure for each
/// that does not exist.
pub(crate) fn describe(app: &App, input: DescribeClusters) -> Result<Value, ApiError> {
    if input.clusters.len() > 100 {
        return Err(ApiError::invalid(format!(
            "clusters: {} clusters, at most 100 per call",
            input.clusters.len()
        )));
    }
    let asked = if input.clusters.is_empty() {
        vec!["default".to_owned()]
    } else {
        input.clusters
    };
    let mut names = Vec::new();
    for text in &asked {
        let name = names::cluster(Some(text))?;
        if !names.contains(&name) {
            names.push(name);
        }
    }
    let found = app.ecs.describe_clusters(&names);
    let failures: Vec<Value> = names
        .iter()
        .filter(|n| !found.iter().any(|d| d.cluster_name == **n))
        .map(|n| {
            json!({
                "arn": wire::cluster_arn(app.ecs.arn_scope(), n).to_string(),
                "reason": "MISSING",
            })
        })
        .collect();
    Ok(json!({
        "clusters": found.iter().map(wire::cluster).collect::<Vec<_>>(),
        "failures": failures,
    }))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ListClusters {
    next_token: Option<String>,
    max_results: Option<i64>,
}

/// The clusters' ARNs, 100 at most per page.
pub(crate) fn list(app: &App, input: ListClusters) -> Result<Value, ApiError> {
    let arns = app
        .ecs
        .list_clusters()
        .iter()
        .map(|a| a.to_string())
        .collect();
    let page = page::page(arns, input.next_token.as_deref(), input.max_results, 100)?;
    Ok(json!({ "clusterArns": page.items, "nextToken": page.next_token }))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct DeleteCluster {
    cluster: String,
}

/// Deletes an empty cluster; answers with it, INACTIVE.
pub(crate) fn delete(app: &App, input: DeleteCluster) -> Result<Value, ApiError> {
    let name = names::cluster(Some(&input.cluster))?;
    let deleted = app.ecs.delete_cluster(&name).map_err(|e| app.error(e))?;
    Ok(json!({ "cluster": wire::cluster(&deleted) }))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct UpdateSettings {
    cluster: String,
    settings: Vec<SettingInput>,
}

/// Sets a cluster's settings (`containerInsights`).
pub(crate) fn update_settings(app: &App, input: UpdateSettings) -> Result<Value, ApiError> {
    let name = names::cluster(Some(&input.cluster))?;
    let described = app
        .ecs
        .update_cluster_settings(&name, &settings(input.settings))
        .map_err(|e| app.error(e))?;
    Ok(json!({ "cluster": wire::cluster(&described) }))
}
