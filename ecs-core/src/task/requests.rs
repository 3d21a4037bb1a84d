//! The requests of the task operations (RunTask, StartTask, StopTask, ListTasks) and
//! RunTask's answer, with ECS's limits.

use crate::Error;
use crate::ids::{Arn, ClusterName, InstanceId, TaskDefinitionRef, TaskGroup, TaskId};
use crate::placement::api::{PlacementConstraint, PlacementStrategy};
use crate::task::{Task, TaskOverride, TaskStatus};
use crate::task_definition::TaskDefinition;

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
    /// The task group; `family:FAMILY` when unset. A `service:` group is a service's
    /// own: RunTask refuses it.
    pub group: Option<TaskGroup>,
    /// A tag for who started them.
    pub started_by: Option<String>,
    /// Strategies, in RunTask's shape.
    pub placement_strategy: Vec<PlacementStrategy>,
    /// Constraints, in RunTask's shape (added to the task definition's).
    pub placement_constraints: Vec<PlacementConstraint>,
    /// What the tasks change of their task definition (placed by the overridden sizes).
    pub overrides: Option<TaskOverride>,
    /// Lets ExecuteCommand run commands in the tasks' containers.
    pub enable_execute_command: bool,
    /// The tasks' tags.
    pub tags: crate::tags::Tags,
    /// The capacity providers the tasks go to (base and weight each); when empty, and
    /// no `launch_type` is set, the cluster's default strategy.
    pub capacity_provider_strategy: Vec<crate::capacity::CapacityProviderStrategyItem>,
    /// A launch type (`EC2` is the only one here): the tasks go to any instance of
    /// the cluster, never to a capacity provider's default strategy.
    pub launch_type: Option<LaunchType>,
    /// A Service Connect service's tasks' place in its namespace (set by services'
    /// controllers: RunTask's own tasks take no part, as in ECS).
    pub(crate) service_connect: Option<crate::service::TaskServiceConnect>,
}

/// ECS's launch types that this library runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[non_exhaustive]
pub enum LaunchType {
    /// The cluster's container instances.
    #[serde(rename = "EC2")]
    Ec2,
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
            overrides: None,
            enable_execute_command: false,
            tags: crate::tags::Tags::new(),
            capacity_provider_strategy: Vec::new(),
            launch_type: None,
            service_connect: None,
        }
    }

    /// With a capacity provider strategy.
    pub fn with_capacity_provider_strategy(
        mut self,
        strategy: Vec<crate::capacity::CapacityProviderStrategyItem>,
    ) -> Self {
        self.capacity_provider_strategy = strategy;
        self
    }

    /// With these overrides.
    pub fn with_overrides(mut self, overrides: TaskOverride) -> Self {
        self.overrides = Some(overrides);
        self
    }

    /// With ExecuteCommand enabled (or not).
    pub fn with_execute_command(mut self, enable: bool) -> Self {
        self.enable_execute_command = enable;
        self
    }
}

/// RunTask's and StartTask's most tasks (or instances) in one call.
pub const MAX_TASKS_PER_CALL: u32 = 10;

impl RunTask {
    /// Refuses what ECS refuses: a count outside 1 to 10, a `startedBy` of more than
    /// 128 characters or of other characters than letters, digits, `-`, `/` and `_`,
    /// and a group that names a service (a service's tasks are its own).
    pub(crate) fn validate(&self) -> Result<(), Error> {
        const OP: &str = "RunTask";
        crate::tags::merged(OP, &crate::tags::Tags::new(), &self.tags)?;
        crate::capacity::validate_strategy(OP, &self.capacity_provider_strategy)?;
        if self.launch_type.is_some() && !self.capacity_provider_strategy.is_empty() {
            return Err(Error::InvalidParameter {
                operation: OP,
                member: "launchType",
                reason: "a launch type and a capacity provider strategy cannot both be set"
                    .to_owned(),
            });
        }
        if !(1..=MAX_TASKS_PER_CALL).contains(&self.count) {
            return Err(Error::InvalidParameter {
                operation: OP,
                member: "count",
                reason: format!(
                    "{} is outside 1 to {MAX_TASKS_PER_CALL} tasks per call",
                    self.count
                ),
            });
        }
        if let Some(by) = &self.started_by {
            started_by(OP, by, 128)?;
        }
        check_group(OP, self.group.as_ref())
    }

    /// Its group, or RunTask's default: `family:` and the task definition's family.
    pub(crate) fn group_or_family(&self, td: &TaskDefinition) -> Result<TaskGroup, Error> {
        match &self.group {
            Some(g) => Ok(g.clone()),
            None => Ok(TaskGroup::Family(td.family().parse()?)),
        }
    }
}

/// A group RunTask and StartTask take: not a service's (a service's tasks are its
/// own), and well formed.
fn check_group(operation: &'static str, group: Option<&TaskGroup>) -> Result<(), Error> {
    let reason = match group {
        Some(TaskGroup::Service(s)) => format!("service:{s} is the group of a service's tasks"),
        Some(g) if !g.is_well_formed() => format!(
            "{:?} is not a group of one's own (1 to 255 characters, not service:NAME)",
            g.to_string()
        ),
        _ => return Ok(()),
    };
    Err(Error::InvalidParameter {
        operation,
        member: "group",
        reason,
    })
}

/// `startedBy`'s rule: at most `max` letters, digits, `-`, `/` and `_`.
fn started_by(operation: &'static str, by: &str, max: usize) -> Result<(), Error> {
    let reason = if by.is_empty() {
        "must not be empty".to_owned()
    } else if by.chars().count() > max {
        format!("longer than {max} characters")
    } else if let Some(c) = by
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '-' | '/' | '_')))
    {
        format!("{c:?} is not a letter, a digit, '-', '/' or '_'")
    } else {
        return Ok(());
    };
    Err(Error::InvalidParameter {
        operation,
        member: "startedBy",
        reason,
    })
}

/// StartTask: one task of a task definition on each of the named container instances,
/// without a placement strategy but with the same checks of resources, ports and the
/// runtimes' capabilities.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct StartTask {
    /// The cluster.
    pub cluster: ClusterName,
    /// The task definition (`family` means its latest ACTIVE revision).
    pub task_definition: TaskDefinitionRef,
    /// The instances, 1 to 10: one task on each.
    pub container_instances: Vec<InstanceId>,
    /// The task group; `family:FAMILY` when unset.
    pub group: Option<TaskGroup>,
    /// A tag for who started them (at most 36 characters).
    pub started_by: Option<String>,
    /// What the tasks change of their task definition.
    pub overrides: Option<TaskOverride>,
    /// Lets ExecuteCommand run commands in the tasks' containers.
    pub enable_execute_command: bool,
    /// The tasks' tags.
    pub tags: crate::tags::Tags,
}

impl StartTask {
    /// A task of `task_definition` on each of `container_instances`.
    pub fn new(
        cluster: ClusterName,
        task_definition: TaskDefinitionRef,
        container_instances: Vec<InstanceId>,
    ) -> Self {
        Self {
            cluster,
            task_definition,
            container_instances,
            group: None,
            started_by: None,
            overrides: None,
            enable_execute_command: false,
            tags: crate::tags::Tags::new(),
        }
    }

    /// With these overrides.
    pub fn with_overrides(mut self, overrides: TaskOverride) -> Self {
        self.overrides = Some(overrides);
        self
    }

    /// With ExecuteCommand enabled (or not).
    pub fn with_execute_command(mut self, enable: bool) -> Self {
        self.enable_execute_command = enable;
        self
    }

    /// Tagged with who started them.
    pub fn with_started_by(mut self, started_by: impl Into<String>) -> Self {
        self.started_by = Some(started_by.into());
        self
    }

    /// Refuses what ECS refuses: no instance or more than 10, a `startedBy` of more
    /// than 36 characters, a service's group.
    pub(crate) fn validate(&self) -> Result<(), Error> {
        const OP: &str = "StartTask";
        crate::tags::merged(OP, &crate::tags::Tags::new(), &self.tags)?;
        let n = self.container_instances.len();
        if n == 0 || n > MAX_TASKS_PER_CALL as usize {
            return Err(Error::InvalidParameter {
                operation: OP,
                member: "containerInstances",
                reason: format!("{n} instances, outside 1 to {MAX_TASKS_PER_CALL} per call"),
            });
        }
        if let Some(by) = &self.started_by {
            started_by(OP, by, 36)?;
        }
        check_group(OP, self.group.as_ref())
    }
}

/// StopTask: asks a task to stop.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct StopTask {
    /// The cluster.
    pub cluster: ClusterName,
    /// The task.
    pub task: TaskId,
    /// Why, shown as its `stoppedReason` (at most 255 characters).
    pub reason: Option<String>,
}

impl StopTask {
    /// Stops `task` of `cluster`.
    pub fn new(cluster: ClusterName, task: TaskId) -> Self {
        Self {
            cluster,
            task,
            reason: None,
        }
    }

    /// With a reason, shown as the task's `stoppedReason`.
    pub fn with_reason(mut self, reason: impl Into<String>) -> Self {
        self.reason = Some(reason.into());
        self
    }

    /// Refuses a reason longer than ECS's `stoppedReason` keeps (255 characters).
    pub(crate) fn validate(&self) -> Result<(), Error> {
        match &self.reason {
            Some(r) if r.chars().count() > 255 => Err(Error::InvalidParameter {
                operation: "StopTask",
                member: "reason",
                reason: "longer than 255 characters".into(),
            }),
            _ => Ok(()),
        }
    }
}

/// A task that could not be placed or started, as RunTask reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TaskFailure {
    /// What failed (a container instance, for StartTask).
    pub arn: Option<Arn>,
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

/// ListTasks: a cluster's tasks, filtered; unset filters match everything.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct ListTasks {
    /// The cluster.
    pub cluster: ClusterName,
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
    /// Every task of `cluster`.
    pub fn new(cluster: ClusterName) -> Self {
        Self {
            cluster,
            family: None,
            desired_status: None,
            container_instance: None,
            service_name: None,
            started_by: None,
        }
    }

    pub(crate) fn matches(&self, t: &Task) -> bool {
        t.cluster == self.cluster
            && self
                .family
                .as_deref()
                .is_none_or(|f| t.task_definition.family.as_str() == f)
            && self.desired_status.is_none_or(|s| t.desired_status == s)
            && self
                .container_instance
                .as_ref()
                .is_none_or(|i| t.container_instance.as_ref() == Some(i))
            && self
                .service_name
                .as_deref()
                .is_none_or(|s| t.group.service().is_some_and(|n| n.as_str() == s))
            && self
                .started_by
                .as_deref()
                .is_none_or(|s| t.started_by.as_deref() == Some(s))
    }
}
