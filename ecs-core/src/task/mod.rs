//! Tasks: running instances of a task definition, their containers, statuses and
//! timestamps, in ECS's vocabulary; the events published when they change; and the
//! requests that run and list them ([`RunTask`], [`ListTasks`]).

mod overrides;
mod requests;

use std::sync::Arc;

pub use overrides::{ContainerOverride, MAX_OVERRIDES_CHARS, TaskOverride};
pub use requests::{
    LaunchType, ListTasks, MAX_TASKS_PER_CALL, RunTask, RunTaskOutput, StartTask, StopTask,
    TaskFailure,
};

use crate::cluster::AllocationId;
use crate::ids::{Arn, ClusterName, InstanceId, ServiceName, TaskDefinitionRef, TaskGroup, TaskId};
use crate::runtime::{ContainerId, HealthStatus, PortBinding};
use crate::service::ServiceEvent;
use crate::task_definition::enums::api_enum;

api_enum!(
    /// Where a task is in its lifecycle (`lastStatus`, and `desiredStatus` RUNNING or
    /// STOPPED).
    TaskStatus {
        /// Resources are being set up.
        Provisioning = "PROVISIONING",
        /// Images are being pulled.
        Pending = "PENDING",
        /// Containers are being created and started.
        Activating = "ACTIVATING",
        /// Every container has started.
        Running = "RUNNING",
        /// About to stop.
        Deactivating = "DEACTIVATING",
        /// Containers are being stopped.
        Stopping = "STOPPING",
        /// Containers are being removed.
        Deprovisioning = "DEPROVISIONING",
        /// Done; its resources are free.
        Stopped = "STOPPED",
    }
);

api_enum!(
    /// A container's status within its task.
    ContainerStatus {
        /// Not started yet.
        Pending = "PENDING",
        /// Started.
        Running = "RUNNING",
        /// Exited.
        Stopped = "STOPPED",
    }
);

api_enum!(
    /// Why a task stopped (`stopCode`).
    StopCode {
        /// It could not start (image, create or start failure, dependency timeout).
        TaskFailedToStart = "TaskFailedToStart",
        /// An essential container exited.
        EssentialContainerExited = "EssentialContainerExited",
        /// Someone called `stop_task`.
        UserInitiated = "UserInitiated",
        /// A service stopped it (scale-in, deployment, unhealthy).
        ServiceSchedulerInitiated = "ServiceSchedulerInitiated",
        /// Its instance went away.
        TerminationNotice = "TerminationNotice",
    }
);

/// One container of a task.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct Container {
    /// Its name in the task definition.
    pub name: String,
    /// Its image.
    pub image: String,
    /// Whether the task stops when it stops.
    pub essential: bool,
    /// Its CPU units, as ECS shows them (overrides included).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cpu: Option<String>,
    /// Its hard memory limit in MiB, as ECS shows it (overrides included).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub memory: Option<String>,
    /// Its soft memory limit in MiB, as ECS shows it (overrides included).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub memory_reservation: Option<String>,
    /// The engine's id, once created.
    pub runtime_id: Option<ContainerId>,
    /// Its status.
    pub last_status: ContainerStatus,
    /// Its exit code, once exited.
    pub exit_code: Option<i32>,
    /// Why it stopped or failed, when known (`OutOfMemoryError: ...`, ...).
    pub reason: Option<String>,
    /// Its health.
    pub health_status: HealthStatus,
    /// Its published ports.
    pub network_bindings: Vec<PortBinding>,
    /// How many times its restart policy restarted it in place.
    #[serde(default)]
    pub restart_count: u32,
}

/// A task. It serializes as DescribeTasks' members are spelled (`taskArn`,
/// `lastStatus` ...), which is also how a durable store keeps it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct Task {
    /// Its ARN (`...:task/CLUSTER/ID`).
    pub task_arn: Arn,
    /// Its id.
    pub task_id: TaskId,
    /// Its cluster.
    pub cluster: ClusterName,
    /// The container instance it runs on; none while it waits for capacity.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub container_instance: Option<InstanceId>,
    /// The capacity provider whose instances it runs on (or waits for), if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub capacity_provider_name: Option<crate::ids::CapacityProviderName>,
    /// Its task definition, `family:revision`.
    pub task_definition: TaskDefinitionRef,
    /// Its task group (`service:NAME`, `family:NAME` ...).
    pub group: TaskGroup,
    /// Who started it (a service's deployment id, a user tag ...).
    pub started_by: Option<String>,
    /// What RunTask or StartTask overrode of its task definition, as ECS shows it: an
    /// entry per container. Shared: it never changes after the launch, and a task is
    /// copied on every change of its state.
    #[serde(default)]
    pub overrides: Arc<TaskOverride>,
    /// The task's CPU units as ECS shows them (the task definition's, or the
    /// override's), when set at task level.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cpu: Option<String>,
    /// The task's memory in MiB as ECS shows it, when set at task level.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub memory: Option<String>,
    /// Whether ExecuteCommand may run commands in its containers.
    #[serde(default)]
    pub enable_execute_command: bool,
    /// Its tags.
    #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub tags: crate::tags::Tags,
    /// Its place in its service's Service Connect namespace: the network its
    /// containers join and the names they answer to there.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service_connect: Option<crate::service::TaskServiceConnect>,
    /// Where it is.
    pub last_status: TaskStatus,
    /// Where it is going: RUNNING or STOPPED.
    pub desired_status: TaskStatus,
    /// HEALTHY when every essential container with a health check is healthy,
    /// UNHEALTHY when one is unhealthy, UNKNOWN otherwise.
    pub health_status: HealthStatus,
    /// Its containers, in definition order.
    pub containers: Vec<Container>,
    /// When it was created.
    pub created_at: jiff::Timestamp,
    /// When it reached RUNNING.
    pub started_at: Option<jiff::Timestamp>,
    /// When it began stopping.
    pub stopping_at: Option<jiff::Timestamp>,
    /// When it was STOPPED.
    pub stopped_at: Option<jiff::Timestamp>,
    /// Why it stopped.
    pub stop_code: Option<StopCode>,
    /// Why it stopped, in words (`Essential container in task exited`, ...).
    pub stopped_reason: Option<String>,
    /// When its health last turned HEALTHY (this control plane's own: how long it has
    /// been healthy, across a restart too); `None` while it is not.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub healthy_at: Option<jiff::Timestamp>,
    /// What it holds on its instance (this control plane's own bookkeeping: not
    /// stored, made again when a restarted control plane reloads the task).
    /// None while it waits for capacity.
    #[serde(skip)]
    pub allocation: Option<AllocationId>,
    /// Bumped at every change.
    pub version: u64,
}

impl Task {
    /// Whether `other` says the same as this task. What changes after a launch (the
    /// statuses, then each container's) is compared first, so that a change, the usual
    /// case on the state's hot path, is found without comparing every name and ARN.
    pub(crate) fn same_as(&self, other: &Task) -> bool {
        self.last_status == other.last_status
            && self.desired_status == other.desired_status
            && self.health_status == other.health_status
            && self.containers.len() == other.containers.len()
            && self.containers.iter().zip(&other.containers).all(|(a, b)| {
                a.last_status == b.last_status
                    && a.health_status == b.health_status
                    && a.exit_code == b.exit_code
                    && a.runtime_id == b.runtime_id
            })
            && self == other
    }

    /// The container named `name`.
    pub fn container(&self, name: &str) -> Option<&Container> {
        self.containers.iter().find(|c| c.name == name)
    }
}

/// Something that changed, published to the subscribers of [`Ecs::subscribe`](crate::Ecs::subscribe).
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum Event {
    /// A task's status, health or stop reason changed.
    TaskStateChange(Arc<Task>),
    /// One container of a task changed (started, exited, health).
    ContainerStateChange {
        /// The task, after the change.
        task: Arc<Task>,
        /// The container's name.
        container: String,
    },
    /// A container instance joined, left, changed status, or its agent connected or
    /// disconnected.
    InstanceStateChange {
        /// Its cluster.
        cluster: ClusterName,
        /// The instance.
        instance: InstanceId,
    },
    /// A service said something (`(service web) has reached a steady state.`).
    Service {
        /// Its cluster.
        cluster: ClusterName,
        /// The service.
        service: ServiceName,
        /// What it said.
        event: ServiceEvent,
    },
    /// Auto scaling changed a service's desired count (or failed to).
    ScalingActivity {
        /// Its cluster.
        cluster: ClusterName,
        /// The service.
        service: ServiceName,
        /// What was done, and why.
        activity: crate::autoscaling::ScalingActivity,
    },
}

impl Event {
    /// The task the event is about, after the change, if it is about a task.
    pub fn task(&self) -> Option<&Arc<Task>> {
        match self {
            Event::TaskStateChange(t) | Event::ContainerStateChange { task: t, .. } => Some(t),
            _ => None,
        }
    }
}
