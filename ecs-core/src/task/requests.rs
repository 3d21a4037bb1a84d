//! The shapes of RunTask, ListTasks and their answers.

use crate::ids::{ClusterName, InstanceId, TaskDefinitionRef};
use crate::placement::api::{PlacementConstraint, PlacementStrategy};
use crate::task::{Task, TaskStatus};

/// RunTask: `count` tasks of a task definition on a cluster, placed by the scheduler.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct RunTask {
    /// The cluster.
    pub cluster: ClusterName,
    /// The task definition (`family` means its latest ACTIVE revision).
    pub task_definition: TaskDefinitionRef,
    /// How many tasks.
    pub count: u32,
    /// The task group; `family:FAMILY` when unset.
    pub group: Option<String>,
    /// A tag for who started them.
    pub started_by: Option<String>,
    /// Strategies, in RunTask's shape.
    pub placement_strategy: Vec<PlacementStrategy>,
    /// Constraints, in RunTask's shape (added to the task definition's).
    pub placement_constraints: Vec<PlacementConstraint>,
}

impl RunTask {
    /// `count` tasks of `task_definition` on `cluster`.
    pub fn new(cluster: ClusterName, task_definition: TaskDefinitionRef, count: u32) -> Self {
        Self {
            cluster,
            task_definition,
            count,
            group: None,
            started_by: None,
            placement_strategy: Vec::new(),
            placement_constraints: Vec::new(),
        }
    }
}

/// A task that could not be placed or started, as RunTask reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TaskFailure {
    /// What failed (an instance, for StartTask).
    pub arn: Option<String>,
    /// Why: `RESOURCE:MEMORY`, `ATTRIBUTE`, ...
    pub reason: String,
    /// More about it.
    pub detail: Option<String>,
}

/// RunTask's answer.
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub struct RunTaskOutput {
    /// The tasks started, PROVISIONING.
    pub tasks: Vec<Task>,
    /// Why the others could not be placed.
    pub failures: Vec<TaskFailure>,
}

/// ListTasks filters; unset ones match everything.
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub struct ListTasks {
    /// Tasks of this family.
    pub family: Option<String>,
    /// Tasks with this desired status (RUNNING or STOPPED).
    pub desired_status: Option<TaskStatus>,
    /// Tasks on this instance.
    pub container_instance: Option<InstanceId>,
    /// Tasks of this service.
    pub service_name: Option<String>,
    /// Tasks started by this.
    pub started_by: Option<String>,
}

impl ListTasks {
    pub(crate) fn matches(&self, t: &Task) -> bool {
        self.family
            .as_deref()
            .is_none_or(|f| t.task_definition.family.as_str() == f)
            && self.desired_status.is_none_or(|s| t.desired_status == s)
            && self
                .container_instance
                .as_ref()
                .is_none_or(|i| t.container_instance == *i)
            && self
                .service_name
                .as_deref()
                .is_none_or(|s| t.group.strip_prefix("service:") == Some(s))
            && self
                .started_by
                .as_deref()
                .is_none_or(|s| t.started_by.as_deref() == Some(s))
    }
}
