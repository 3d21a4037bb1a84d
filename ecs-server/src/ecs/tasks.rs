//! RunTask, StartTask, StopTask, DescribeTasks, ListTasks.

use ecs_core::placement::api::{PlacementConstraint, PlacementStrategy};
use ecs_core::task::{ListTasks, RunTask, RunTaskOutput, StartTask, StopTask, TaskOverride};
use ecs_core::{TaskDefinitionRef, TaskGroup};
use serde::Deserialize;
use serde_json::{Value, json};

use super::{names, page, wire};
use crate::protocol::{Answer, ApiError};
use crate::server::App;

/// RunTask's and StartTask's `launchType`: tasks run on the cluster's container
/// instances here, which is ECS's EC2 launch type.
fn check_launch_type(launch_type: Option<&str>) -> Result<(), ApiError> {
    match launch_type {
        None | Some("EC2") => Ok(()),
        Some(other @ ("FARGATE" | "EXTERNAL" | "MANAGED_INSTANCES")) => Err(ApiError::client(
            "UnsupportedFeatureException",
            format!(
                "launchType {other}: this server runs tasks on its clusters' container \
                     instances only (launch type EC2)"
            ),
        )),
        Some(other) => Err(ApiError::invalid(format!(
            "launchType: {other:?} is not EC2, FARGATE, EXTERNAL or MANAGED_INSTANCES"
        ))),
    }
}

fn task_definition(text: &str) -> Result<TaskDefinitionRef, ApiError> {
    text.parse()
        .map_err(|e| ApiError::invalid(format!("taskDefinition: {e}")))
}

fn group(text: Option<String>) -> Result<Option<TaskGroup>, ApiError> {
    text.map(|g| {
        g.parse()
            .map_err(|e: ecs_core::Error| ApiError::invalid(format!("group: {e}")))
    })
    .transpose()
}

fn launched(app: &App, out: RunTaskOutput) -> Value {
    let scope = app.ecs.arn_scope();
    json!({
        "tasks": out.tasks.iter().map(|t| wire::task(scope, t)).collect::<Vec<_>>(),
        "failures": out.failures.iter().map(|f| {
            let mut v = json!({ "reason": f.reason });
            if let Some(arn) = &f.arn {
                v["arn"] = json!(arn.to_string());
            }
            if let Some(detail) = &f.detail {
                v["detail"] = json!(detail);
            }
            v
        }).collect::<Vec<_>>(),
    })
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct RunTaskInput {
    cluster: Option<String>,
    task_definition: String,
    count: Option<u32>,
    group: Option<String>,
    started_by: Option<String>,
    #[serde(default)]
    placement_constraints: Vec<PlacementConstraint>,
    #[serde(default)]
    placement_strategy: Vec<PlacementStrategy>,
    overrides: Option<TaskOverride>,
    #[serde(default)]
    enable_execute_command: bool,
    launch_type: Option<String>,
    #[serde(default)]
    capacity_provider_strategy: Vec<ecs_core::capacity::CapacityProviderStrategyItem>,
    #[serde(default)]
    tags: Vec<super::tags::TagInput>,
}

/// Places and starts `count` tasks; with a capacity provider (named or the cluster's
/// default), those that do not fit wait for capacity.
pub(crate) fn run(app: &App, input: RunTaskInput) -> Result<Value, ApiError> {
    check_launch_type(input.launch_type.as_deref())?;
    let mut request = RunTask::new(
        names::cluster(input.cluster.as_deref())?,
        task_definition(&input.task_definition)?,
        input.count.unwrap_or(1),
    );
    request.group = group(input.group)?;
    request.started_by = input.started_by;
    request.placement_constraints = input.placement_constraints;
    request.placement_strategy = input.placement_strategy;
    request.overrides = input.overrides;
    request.enable_execute_command = input.enable_execute_command;
    request.tags = super::tags::read("RunTask", input.tags)?;
    request.capacity_provider_strategy = input.capacity_provider_strategy;
    if input.launch_type.is_some() {
        request.launch_type = Some(ecs_core::task::LaunchType::Ec2);
    }
    let out = app.ecs.run_task(request).map_err(|e| app.error(e))?;
    Ok(launched(app, out))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct StartTaskInput {
    cluster: Option<String>,
    task_definition: String,
    container_instances: Vec<String>,
    group: Option<String>,
    started_by: Option<String>,
    overrides: Option<TaskOverride>,
    #[serde(default)]
    enable_execute_command: bool,
    #[serde(default)]
    tags: Vec<super::tags::TagInput>,
}

/// Starts one task on each instance named.
pub(crate) fn start(app: &App, input: StartTaskInput) -> Result<Value, ApiError> {
    let instances = input
        .container_instances
        .iter()
        .map(|i| names::instance("containerInstances", i))
        .collect::<Result<Vec<_>, _>>()?;
    let mut request = StartTask::new(
        names::cluster(input.cluster.as_deref())?,
        task_definition(&input.task_definition)?,
        instances,
    );
    request.group = group(input.group)?;
    request.started_by = input.started_by;
    request.overrides = input.overrides;
    request.enable_execute_command = input.enable_execute_command;
    request.tags = super::tags::read("StartTask", input.tags)?;
    let out = app.ecs.start_task(request).map_err(|e| app.error(e))?;
    Ok(launched(app, out))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct StopTaskInput {
    cluster: Option<String>,
    task: String,
    reason: Option<String>,
}

/// Asks a task to stop; answers with it as it is now (desired STOPPED).
pub(crate) fn stop(app: &App, input: StopTaskInput) -> Result<Value, ApiError> {
    let mut request = StopTask::new(
        names::cluster(input.cluster.as_deref())?,
        names::task("task", &input.task)?,
    );
    request.reason = input.reason;
    let task = app.ecs.stop_task(request).map_err(|e| app.error(e))?;
    Ok(json!({ "task": wire::task(app.ecs.arn_scope(), &task) }))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct DescribeTasksInput {
    cluster: Option<String>,
    tasks: Vec<String>,
}

/// The tasks asked for, and a `MISSING` failure for each unknown one; written
/// straight from the tasks (up to 100 of them).
pub(crate) fn describe(app: &App, input: DescribeTasksInput) -> Result<Answer, ApiError> {
    if input.tasks.is_empty() || input.tasks.len() > 100 {
        return Err(ApiError::invalid(format!(
            "tasks: {} tasks, outside 1 to 100 per call",
            input.tasks.len()
        )));
    }
    let cluster = names::cluster(input.cluster.as_deref())?;
    let mut ids = Vec::with_capacity(input.tasks.len());
    let mut failures = Vec::new();
    for text in &input.tasks {
        // ECS reports a malformed id as a failure of its own, not the whole call's.
        match names::task("tasks", text) {
            Ok(id) if !ids.contains(&id) => ids.push(id),
            Ok(_) => {}
            Err(_) => failures.push(json!({ "arn": text, "reason": "MISSING" })),
        }
    }
    let tasks = app
        .ecs
        .describe_tasks(&cluster, &ids)
        .map_err(|e| app.error(e))?;
    let scope = app.ecs.arn_scope();
    for id in &ids {
        if !tasks.iter().any(|t| t.task_id == *id) {
            failures.push(json!({
                "arn": scope.arn(format!("task/{cluster}/{id}")).to_string(),
                "reason": "MISSING",
            }));
        }
    }
    #[derive(serde::Serialize)]
    struct Out<'a> {
        tasks: Vec<wire::WireTask<'a>>,
        failures: Vec<Value>,
    }
    let out = Out {
        tasks: tasks
            .iter()
            .map(|task| wire::WireTask { scope, task })
            .collect(),
        failures,
    };
    serde_json::to_vec(&out)
        .map(Answer::Text)
        .map_err(|e| ApiError::server(format!("DescribeTasks' answer could not be written: {e}")))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ListTasksInput {
    cluster: Option<String>,
    container_instance: Option<String>,
    family: Option<String>,
    started_by: Option<String>,
    service_name: Option<String>,
    desired_status: Option<String>,
    launch_type: Option<String>,
    next_token: Option<String>,
    max_results: Option<i64>,
}

/// The ARNs of the cluster's tasks matching the filters, 100 at most per page.
pub(crate) fn list(app: &App, input: ListTasksInput) -> Result<Value, ApiError> {
    let cluster = names::cluster(input.cluster.as_deref())?;
    let mut request = ListTasks::new(cluster.clone());
    request.container_instance = input
        .container_instance
        .as_deref()
        .map(|i| names::instance("containerInstance", i))
        .transpose()?;
    request.family = input.family;
    request.started_by = input.started_by;
    request.service_name = input.service_name;
    request.desired_status = match input.desired_status.as_deref() {
        // ECS's default filter.
        None => Some(ecs_core::task::TaskStatus::Running),
        Some(s @ ("RUNNING" | "PENDING" | "STOPPED")) => Some(
            s.parse()
                .map_err(|e: ecs_core::Error| ApiError::invalid(format!("desiredStatus: {e}")))?,
        ),
        Some(other) => {
            return Err(ApiError::invalid(format!(
                "desiredStatus: {other:?} is not RUNNING, PENDING or STOPPED"
            )));
        }
    };
    let size = page::size(input.max_results, 100)?;
    let after = page::after(input.next_token.as_deref())?
        .map(|a| names::task("nextToken", &a))
        .transpose()?;
    // The cluster is checked whatever the launch type; every task here runs on a
    // container instance (EC2), so another launch type lists none.
    let (ids, more) = app
        .ecs
        .list_tasks_page(&request, after.as_ref(), size)
        .map_err(|e| app.error(e))?;
    let (ids, more) = match input.launch_type.as_deref() {
        Some("FARGATE" | "EXTERNAL" | "MANAGED_INSTANCES") => (Vec::new(), false),
        launch_type => {
            check_launch_type(launch_type)?;
            (ids, more)
        }
    };
    let scope = app.ecs.arn_scope();
    let arns: Vec<String> = ids
        .iter()
        .map(|id| scope.arn(format!("task/{cluster}/{id}")).to_string())
        .collect();
    let next_token = more
        .then(|| ids.last().map(|id| page::token(id.as_str())))
        .flatten();
    Ok(json!({ "taskArns": arns, "nextToken": next_token }))
}
