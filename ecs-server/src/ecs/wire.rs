//! The control plane's records in the shapes ECS's API answers with: ARNs where ECS
//! has them (`clusterArn`, `taskDefinitionArn`, `containerInstanceArn`), timestamps as
//! epoch seconds (the JSON 1.1 protocol's), `launchType` EC2.

use ecs_core::cluster::{ClusterDescription, ContainerInstance, Resources};
use ecs_core::service::{Deployment, Service};
use ecs_core::task::{Container, Task};
use ecs_core::task_definition::TaskDefinition;
use ecs_core::{Arn, ArnScope, ClusterName, InstanceId, TaskDefinitionRef};
use serde_json::{Value, json};

/// A timestamp as the protocol sends it: seconds since the epoch, with milliseconds.
pub(crate) fn timestamp(t: jiff::Timestamp) -> Value {
    json!(t.as_millisecond() as f64 / 1000.0)
}

fn optional_timestamp(t: Option<jiff::Timestamp>) -> Value {
    t.map_or(Value::Null, timestamp)
}

/// A cluster's ARN.
pub(crate) fn cluster_arn(scope: &ArnScope, cluster: &ClusterName) -> Arn {
    scope.arn(format!("cluster/{cluster}"))
}

/// A container instance's ARN (`container-instance/CLUSTER/ID`).
pub(crate) fn instance_arn(scope: &ArnScope, cluster: &ClusterName, id: &InstanceId) -> Arn {
    scope.arn(format!("container-instance/{cluster}/{id}"))
}

/// A task definition revision's ARN.
pub(crate) fn task_definition_arn(scope: &ArnScope, reference: &TaskDefinitionRef) -> Arn {
    scope.arn(format!("task-definition/{reference}"))
}

/// Drops the members whose value is null: ECS leaves absent members out.
fn compact(mut value: Value) -> Value {
    if let Value::Object(map) = &mut value {
        map.retain(|_, v| !v.is_null());
    }
    value
}

/// Tags as ECS sends them: `[{"key": ..., "value": ...}]`.
pub(crate) fn tags(tags: &ecs_core::tags::Tags) -> Value {
    json!(
        tags.iter()
            .map(|(k, v)| json!({"key": k, "value": v}))
            .collect::<Vec<_>>()
    )
}

/// DescribeClusters' `Cluster`.
pub(crate) fn cluster(d: &ClusterDescription) -> Value {
    let mut settings: Vec<Value> = d
        .settings
        .iter()
        .map(|(name, value)| json!({"name": name, "value": value}))
        .collect();
    if !d.settings.contains_key("containerInsights") {
        settings.push(json!({"name": "containerInsights", "value": "disabled"}));
    }
    json!({
        "clusterArn": d.cluster_arn.to_string(),
        "clusterName": d.cluster_name.as_str(),
        "status": d.status,
        "registeredContainerInstancesCount": d.registered_container_instances_count,
        "runningTasksCount": d.running_tasks_count,
        "pendingTasksCount": d.pending_tasks_count,
        "activeServicesCount": d.active_services_count,
        "statistics": [],
        "tags": tags(&d.tags),
        "settings": settings,
        "capacityProviders": d.capacity_providers.iter().map(|p| p.as_str()).collect::<Vec<_>>(),
        "defaultCapacityProviderStrategy": d.default_capacity_provider_strategy,
    })
}

/// DescribeCapacityProviders' `CapacityProvider`; with managed scaling's last
/// decision, when given, as this server's own `x-managedScalingState` member.
pub(crate) fn capacity_provider(
    p: &ecs_core::capacity::CapacityProvider,
    last: Option<ecs_core::capacity::scaling::ScalingDecision>,
) -> Value {
    let on = |b: bool| if b { "ENABLED" } else { "DISABLED" };
    let m = &p.managed_scaling;
    let mut value = json!({
        "capacityProviderArn": p.capacity_provider_arn.to_string(),
        "name": p.name.as_str(),
        "status": p.status.to_string(),
        "type": "EC2_AUTOSCALING",
        "autoScalingGroupProvider": {
            "autoScalingGroupArn": p.instance_group,
            "managedScaling": {
                "status": on(m.enabled),
                "targetCapacity": m.target_capacity,
                "minimumScalingStepSize": m.minimum_scaling_step_size,
                "maximumScalingStepSize": m.maximum_scaling_step_size,
                "instanceWarmupPeriod": m.instance_warmup_period.as_secs(),
            },
            "managedTerminationProtection": on(p.managed_termination_protection),
            "managedDraining": on(p.managed_draining),
        },
        "tags": tags(&p.tags),
    });
    if let (Some(d), Value::Object(map)) = (last, &mut value) {
        map.insert(
            "x-managedScalingState".into(),
            json!({
                "capacityProviderReservation": d.reservation,
                "instancesNeeded": d.needed,
                "instancesDesired": d.desired,
            }),
        );
    }
    value
}

/// A task definition as DescribeTaskDefinition and RegisterTaskDefinition answer: its
/// own JSON, with its timestamps in the protocol's form; its tags go beside it
/// ([`task_definition_tags`]), as in ECS.
pub(crate) fn task_definition(td: &TaskDefinition) -> Value {
    let mut value = td.to_value();
    if let Value::Object(map) = &mut value {
        map.remove("tags");
        map.insert("registeredAt".into(), optional_timestamp(td.registered_at));
        map.insert(
            "deregisteredAt".into(),
            optional_timestamp(td.deregistered_at),
        );
        map.retain(|_, v| !v.is_null());
    }
    value
}

/// A task definition's tags, as ECS sends them beside it.
pub(crate) fn task_definition_tags(td: &TaskDefinition) -> Value {
    json!(
        td.tags
            .iter()
            .flatten()
            .map(|t| json!({"key": t.key, "value": t.value.clone().unwrap_or_default()}))
            .collect::<Vec<_>>()
    )
}

/// A value written as its `Display` text: ARNs made as they are written.
struct Text<T>(T);

impl<T: std::fmt::Display> serde::Serialize for Text<T> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(&self.0)
    }
}

/// Seconds since the epoch, with milliseconds, as the protocol writes timestamps.
fn seconds(t: jiff::Timestamp) -> f64 {
    t.as_millisecond() as f64 / 1000.0
}

/// A container as DescribeTasks shows it, written straight from the task.
struct WireContainer<'a> {
    scope: &'a ArnScope,
    task: &'a Task,
    container: &'a Container,
}

impl serde::Serialize for WireContainer<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let (scope, t, c) = (self.scope, self.task, self.container);
        let mut m = s.serialize_map(None)?;
        m.serialize_entry(
            "containerArn",
            &Text(format_args!(
                "arn:aws:ecs:{}:{}:container/{}/{}/{}",
                scope.region, scope.account, t.cluster, t.task_id, c.name
            )),
        )?;
        m.serialize_entry("taskArn", &t.task_arn)?;
        m.serialize_entry("name", &c.name)?;
        m.serialize_entry("image", &c.image)?;
        if let Some(id) = &c.runtime_id {
            m.serialize_entry("runtimeId", &Text(id))?;
        }
        m.serialize_entry("lastStatus", c.last_status.as_str())?;
        if let Some(code) = c.exit_code {
            m.serialize_entry("exitCode", &code)?;
        }
        if let Some(reason) = &c.reason {
            m.serialize_entry("reason", reason)?;
        }
        m.serialize_entry("healthStatus", c.health_status.as_str())?;
        m.serialize_entry(
            "networkBindings",
            &c.network_bindings
                .iter()
                .map(|b| {
                    json!({
                        "bindIP": "0.0.0.0",
                        "containerPort": b.container_port,
                        "hostPort": b.host_port,
                        "protocol": b.protocol,
                    })
                })
                .collect::<Vec<_>>(),
        )?;
        for (key, value) in [
            ("cpu", &c.cpu),
            ("memory", &c.memory),
            ("memoryReservation", &c.memory_reservation),
        ] {
            if let Some(v) = value {
                m.serialize_entry(key, v)?;
            }
        }
        m.end()
    }
}

/// DescribeTasks' `Task`, written straight from the control plane's task: no JSON
/// tree is built for it (DescribeTasks answers up to 100 at once).
pub(crate) struct WireTask<'a> {
    /// The ARNs' region and account.
    pub(crate) scope: &'a ArnScope,
    /// The task.
    pub(crate) task: &'a Task,
}

impl serde::Serialize for WireTask<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let (scope, t) = (self.scope, self.task);
        let (region, account) = (&scope.region, &scope.account);
        let mut m = s.serialize_map(None)?;
        m.serialize_entry("taskArn", &t.task_arn)?;
        m.serialize_entry(
            "clusterArn",
            &Text(format_args!(
                "arn:aws:ecs:{region}:{account}:cluster/{}",
                t.cluster
            )),
        )?;
        m.serialize_entry(
            "taskDefinitionArn",
            &Text(format_args!(
                "arn:aws:ecs:{region}:{account}:task-definition/{}",
                t.task_definition
            )),
        )?;
        // None while the task waits for capacity.
        if let Some(instance) = &t.container_instance {
            m.serialize_entry(
                "containerInstanceArn",
                &Text(format_args!(
                    "arn:aws:ecs:{region}:{account}:container-instance/{}/{instance}",
                    t.cluster
                )),
            )?;
        }
        if let Some(provider) = &t.capacity_provider_name {
            m.serialize_entry("capacityProviderName", &Text(provider))?;
        }
        m.serialize_entry("group", &Text(&t.group))?;
        if let Some(by) = &t.started_by {
            m.serialize_entry("startedBy", by)?;
        }
        m.serialize_entry("overrides", &*t.overrides)?;
        if let Some(cpu) = &t.cpu {
            m.serialize_entry("cpu", cpu)?;
        }
        if let Some(memory) = &t.memory {
            m.serialize_entry("memory", memory)?;
        }
        m.serialize_entry("lastStatus", t.last_status.as_str())?;
        m.serialize_entry("desiredStatus", t.desired_status.as_str())?;
        m.serialize_entry("healthStatus", t.health_status.as_str())?;
        m.serialize_entry("launchType", "EC2")?;
        m.serialize_entry("enableExecuteCommand", &t.enable_execute_command)?;
        m.serialize_entry(
            "containers",
            &t.containers
                .iter()
                .map(|c| WireContainer {
                    scope,
                    task: t,
                    container: c,
                })
                .collect::<Vec<_>>(),
        )?;
        m.serialize_entry("createdAt", &seconds(t.created_at))?;
        for (key, at) in [
            ("startedAt", t.started_at),
            ("stoppingAt", t.stopping_at),
            ("stoppedAt", t.stopped_at),
        ] {
            if let Some(at) = at {
                m.serialize_entry(key, &seconds(at))?;
            }
        }
        if let Some(code) = t.stop_code {
            m.serialize_entry("stopCode", code.as_str())?;
        }
        if let Some(reason) = &t.stopped_reason {
            m.serialize_entry("stoppedReason", reason)?;
        }
        m.serialize_entry("version", &t.version)?;
        m.serialize_entry("attachments", &[(); 0])?;
        m.serialize_entry(
            "tags",
            &t.tags
                .iter()
                .map(|(k, v)| json!({"key": k, "value": v}))
                .collect::<Vec<_>>(),
        )?;
        m.end()
    }
}

/// DescribeTasks' `Task`, as a JSON value (for answers of one task).
pub(crate) fn task(scope: &ArnScope, t: &Task) -> Value {
    serde_json::to_value(WireTask { scope, task: t }).unwrap_or(Value::Null)
}

fn deployment(scope: &ArnScope, d: &Deployment) -> Value {
    compact(json!({
        "id": d.id.as_str(),
        "status": d.status.as_str(),
        "taskDefinition": task_definition_arn(scope, &d.task_definition).to_string(),
        "desiredCount": d.desired_count,
        "pendingCount": d.pending_count,
        "runningCount": d.running_count,
        "failedTasks": d.failed_tasks,
        "createdAt": timestamp(d.created_at),
        "updatedAt": timestamp(d.updated_at),
        "launchType": "EC2",
        "rolloutState": d.rollout_state.as_str(),
        "rolloutStateReason": d.rollout_state_reason,
        "serviceConnectConfiguration": d.service_connect_configuration,
    }))
}

/// DescribeServices' `Service`.
pub(crate) fn service(scope: &ArnScope, s: &Service) -> Value {
    compact(json!({
        "serviceArn": s.service_arn.to_string(),
        "serviceName": s.service_name.as_str(),
        "clusterArn": cluster_arn(scope, &s.cluster).to_string(),
        "status": s.status.as_str(),
        "schedulingStrategy": s.scheduling_strategy.as_str(),
        "desiredCount": s.desired_count,
        "runningCount": s.running_count,
        "pendingCount": s.pending_count,
        // A service names a launch type or a capacity provider strategy, not both.
        "launchType": s.capacity_provider_strategy.is_empty().then_some("EC2"),
        "capacityProviderStrategy": (!s.capacity_provider_strategy.is_empty())
            .then_some(&s.capacity_provider_strategy),
        "taskDefinition": task_definition_arn(scope, &s.task_definition).to_string(),
        "deploymentConfiguration": s.deployment_configuration,
        "deployments": s.deployments.iter().map(|d| deployment(scope, d)).collect::<Vec<_>>(),
        "events": s.events.iter().map(|e| json!({
            "id": e.id,
            "createdAt": timestamp(e.created_at),
            "message": e.message,
        })).collect::<Vec<_>>(),
        "placementStrategy": s.placement_strategy,
        "placementConstraints": s.placement_constraints,
        "healthCheckGracePeriodSeconds": s.health_check_grace_period_seconds,
        "loadBalancers": s.load_balancers,
        "tags": s.tags,
        "enableExecuteCommand": s.enable_execute_command,
        "createdAt": timestamp(s.created_at),
    }))
}

fn resources(r: Resources) -> Value {
    json!([
        {"name": "CPU", "type": "INTEGER", "integerValue": r.cpu},
        {"name": "MEMORY", "type": "INTEGER", "integerValue": r.memory},
        {"name": "GPU", "type": "INTEGER", "integerValue": r.gpus},
    ])
}

/// DescribeContainerInstances' `ContainerInstance`.
pub(crate) fn container_instance(
    scope: &ArnScope,
    cluster: &ClusterName,
    i: &ContainerInstance,
) -> Value {
    let attributes: Vec<Value> = i
        .attributes()
        .iter()
        .map(|(name, value)| compact(json!({"name": name, "value": value})))
        .collect();
    compact(json!({
        "containerInstanceArn": instance_arn(scope, cluster, i.id()).to_string(),
        "ec2InstanceId": i.id().to_string(),
        "status": i.status().as_str(),
        "agentConnected": i.agent_connected(),
        "versionInfo": {"agentVersion": i.agent_version()},
        "registeredResources": resources(i.registered_resources()),
        "remainingResources": resources(i.remaining_resources()),
        "runningTasksCount": i.running_tasks_count(),
        "pendingTasksCount": 0,
        "attributes": attributes,
        "registeredAt": timestamp(i.registered_at()),
        "tags": tags(i.tags()),
        "capacityProviderName": i
            .attribute(ecs_core::capacity::PROVIDER_ATTRIBUTE)
            .flatten(),
    }))
}
