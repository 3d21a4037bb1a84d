//! Amazon ECS's operations: each reads its input from the request's JSON and answers in
//! ECS's shapes; the operations of ECS's model that this server cannot honour answer
//! with ECS's `UnsupportedFeatureException`.

mod capacity;
mod clusters;
mod instances;
mod names;
pub(crate) mod page;
mod services;
mod tags;
mod task_definitions;
mod tasks;
pub(crate) mod wire;

use serde_json::Value;

use crate::protocol::{Answer, ApiError, parse};
use crate::server::App;

/// Runs `operation` on `body`.
pub(crate) async fn call(app: &App, operation: &str, body: &[u8]) -> Result<Answer, ApiError> {
    let depth = app.config.max_json_depth;
    if operation == "DescribeTasks" {
        return tasks::describe(app, parse(body, depth)?);
    }
    value(app, operation, body, depth).await.map(Answer::Value)
}

async fn value(app: &App, operation: &str, body: &[u8], depth: usize) -> Result<Value, ApiError> {
    match operation {
        "CreateCluster" => clusters::create(app, parse(body, depth)?),
        "DescribeClusters" => clusters::describe(app, parse(body, depth)?),
        "ListClusters" => clusters::list(app, parse(body, depth)?),
        "DeleteCluster" => clusters::delete(app, parse(body, depth)?),
        "UpdateClusterSettings" => clusters::update_settings(app, parse(body, depth)?),
        "DeleteTaskDefinitions" => task_definitions::delete(app, parse(body, depth)?),
        "TagResource" => tags::tag(app, parse(body, depth)?),
        "UntagResource" => tags::untag(app, parse(body, depth)?),
        "ListTagsForResource" => tags::list(app, parse(body, depth)?),
        "RegisterTaskDefinition" => task_definitions::register(app, parse(body, depth)?),
        "DescribeTaskDefinition" => task_definitions::describe(app, parse(body, depth)?),
        "DeregisterTaskDefinition" => task_definitions::deregister(app, parse(body, depth)?),
        "ListTaskDefinitions" => task_definitions::list(app, parse(body, depth)?),
        "ListTaskDefinitionFamilies" => task_definitions::list_families(app, parse(body, depth)?),
        "RunTask" => tasks::run(app, parse(body, depth)?),
        "StartTask" => tasks::start(app, parse(body, depth)?),
        "StopTask" => tasks::stop(app, parse(body, depth)?),
        "ListTasks" => tasks::list(app, parse(body, depth)?),
        "CreateService" => services::create(app, parse(body, depth)?),
        "UpdateService" => services::update(app, parse(body, depth)?),
        "DeleteService" => services::delete(app, parse(body, depth)?),
        "DescribeServices" => services::describe(app, parse(body, depth)?),
        "ListServices" => services::list(app, parse(body, depth)?),
        "RegisterContainerInstance" => instances::register(app, parse(body, depth)?).await,
        "DescribeContainerInstances" => instances::describe(app, parse(body, depth)?),
        "ListContainerInstances" => instances::list(app, parse(body, depth)?),
        "UpdateContainerInstancesState" => instances::update_state(app, parse(body, depth)?),
        "DeregisterContainerInstance" => instances::deregister(app, parse(body, depth)?),
        "PutAttributes" => instances::put_attributes(app, parse(body, depth)?),
        "DeleteAttributes" => instances::delete_attributes(app, parse(body, depth)?),
        "ListAttributes" => instances::list_attributes(app, parse(body, depth)?),
        "CreateCapacityProvider" => capacity::create(app, parse(body, depth)?),
        "DescribeCapacityProviders" => capacity::describe(app, parse(body, depth)?),
        "UpdateCapacityProvider" => capacity::update(app, parse(body, depth)?),
        "DeleteCapacityProvider" => capacity::delete(app, parse(body, depth)?),
        "PutClusterCapacityProviders" => capacity::put_cluster(app, parse(body, depth)?),
        other if MODEL_OPERATIONS.contains(&other) => Err(ApiError::client(
            "UnsupportedFeatureException",
            format!("{other} is not supported by this server"),
        )),
        other => Err(ApiError::client(
            "UnknownOperationException",
            format!("ECS has no operation {other:?}"),
        )),
    }
}

/// Every operation of ECS's API model (`service-2.json`, API version 2014-11-13).
const MODEL_OPERATIONS: &[&str] = &[
    "AssociateGatewayWithCluster",
    "ContinueServiceDeployment",
    "CreateCapacityProvider",
    "CreateCluster",
    "CreateDaemon",
    "CreateExpressGatewayService",
    "CreateGateway",
    "CreateService",
    "CreateTaskSet",
    "DeleteAccountSetting",
    "DeleteAttributes",
    "DeleteCapacityProvider",
    "DeleteCluster",
    "DeleteDaemon",
    "DeleteDaemonTaskDefinition",
    "DeleteExpressGatewayService",
    "DeleteGateway",
    "DeleteService",
    "DeleteTaskDefinitions",
    "DeleteTaskSet",
    "DeregisterContainerInstance",
    "DeregisterTaskDefinition",
    "DescribeCapacityProviders",
    "DescribeClusters",
    "DescribeContainerInstances",
    "DescribeDaemon",
    "DescribeDaemonDeployments",
    "DescribeDaemonRevisions",
    "DescribeDaemonTaskDefinition",
    "DescribeExpressGatewayService",
    "DescribeGateway",
    "DescribeGatewayResources",
    "DescribeGatewayRoute",
    "DescribeServiceDeployments",
    "DescribeServiceRevisions",
    "DescribeServices",
    "DescribeTaskDefinition",
    "DescribeTaskSets",
    "DescribeTasks",
    "DisassociateGatewayFromCluster",
    "DiscoverPollEndpoint",
    "ExecuteCommand",
    "GetTaskProtection",
    "ListAccountSettings",
    "ListAttributes",
    "ListClusters",
    "ListContainerInstances",
    "ListDaemonDeployments",
    "ListDaemonTaskDefinitions",
    "ListDaemons",
    "ListGatewayClusterAssociations",
    "ListGatewayRoutes",
    "ListGateways",
    "ListServiceDeployments",
    "ListServices",
    "ListServicesByNamespace",
    "ListTagsForResource",
    "ListTaskDefinitionFamilies",
    "ListTaskDefinitions",
    "ListTasks",
    "PutAccountSetting",
    "PutAccountSettingDefault",
    "PutAttributes",
    "PutClusterCapacityProviders",
    "RegisterContainerInstance",
    "RegisterDaemonTaskDefinition",
    "RegisterTaskDefinition",
    "RunTask",
    "StartTask",
    "StopServiceDeployment",
    "StopTask",
    "SubmitAttachmentStateChanges",
    "SubmitContainerStateChange",
    "SubmitTaskStateChange",
    "TagResource",
    "UntagResource",
    "UpdateCapacityProvider",
    "UpdateCluster",
    "UpdateClusterSettings",
    "UpdateContainerAgent",
    "UpdateContainerInstancesState",
    "UpdateDaemon",
    "UpdateExpressGatewayService",
    "UpdateGateway",
    "UpdateService",
    "UpdateServicePrimaryTaskSet",
    "UpdateTaskProtection",
    "UpdateTaskSet",
];
