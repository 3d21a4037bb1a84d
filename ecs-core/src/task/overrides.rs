//! RunTask's and StartTask's `overrides` (ECS's `TaskOverride`): what they may change
//! of a task definition for one task, ECS's checks, and the task definition the task
//! then runs, is placed by and shows.

use serde::{Deserialize, Serialize};

use crate::Error;
use crate::task_definition::{EnvironmentFile, KeyValuePair, ResourceRequirement, TaskDefinition};

/// ECS's limit on a request's overrides: 8192 characters of JSON, its formatting
/// included.
pub const MAX_OVERRIDES_CHARS: usize = 8192;

/// What one task changes of its task definition (ECS's `TaskOverride`).
///
/// ```
/// use ecs_core::task::{ContainerOverride, TaskOverride};
/// use ecs_core::task_definition::KeyValuePair;
///
/// let overrides: TaskOverride = serde_json::from_str(r#"{
///     "containerOverrides": [{"name": "app", "command": ["sh", "-c", "echo $GREETING"],
///                             "environment": [{"name": "GREETING", "value": "hi"}],
///                             "memory": 256}],
///     "memory": "512"
/// }"#).unwrap();
/// let app = ContainerOverride::new("app")
///     .with_command(["sh", "-c", "echo $GREETING"])
///     .with_environment([KeyValuePair::new("GREETING", "hi")])
///     .with_memory(256);
/// assert_eq!(overrides.container_overrides, [app]);
/// assert_eq!(overrides.memory.as_deref(), Some("512"));
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct TaskOverride {
    /// Per container, by name.
    #[serde(default)]
    pub container_overrides: Vec<ContainerOverride>,
    /// The task's CPU, as the task definition's `cpu` is written (`"512"`, `"0.5 vCPU"`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cpu: Option<String>,
    /// The task's memory, as the task definition's `memory` is written (`"1024"`,
    /// `"1 GB"`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub memory: Option<String>,
    /// The task's role (kept and shown; no AWS credentials are served locally).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub task_role_arn: Option<String>,
    /// The task execution role (likewise).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub execution_role_arn: Option<String>,
}

/// What one task changes of one of its containers (ECS's `ContainerOverride`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct ContainerOverride {
    /// The container: required as soon as anything is overridden.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Replaces the container's command.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub command: Option<Vec<String>>,
    /// Added to the container's environment, replacing variables of the same name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub environment: Option<Vec<KeyValuePair>>,
    /// Replaces the container's environment files.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub environment_files: Option<Vec<EnvironmentFile>>,
    /// Replaces the container's CPU units.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cpu: Option<i32>,
    /// Replaces the container's hard memory limit (MiB).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub memory: Option<i32>,
    /// Replaces the container's soft memory limit (MiB).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub memory_reservation: Option<i32>,
    /// Replaces the container's GPUs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resource_requirements: Option<Vec<ResourceRequirement>>,
}

impl ContainerOverride {
    /// Overrides nothing yet of container `name`.
    pub fn new(name: impl Into<String>) -> Self {
        Self {
            name: Some(name.into()),
            ..Self::default()
        }
    }

    /// With this command.
    pub fn with_command<S: Into<String>>(mut self, command: impl IntoIterator<Item = S>) -> Self {
        self.command = Some(command.into_iter().map(Into::into).collect());
        self
    }

    /// With these environment variables added (or replaced).
    pub fn with_environment(mut self, vars: impl IntoIterator<Item = KeyValuePair>) -> Self {
        self.environment = Some(vars.into_iter().collect());
        self
    }

    /// With this CPU (units).
    pub fn with_cpu(mut self, cpu: i32) -> Self {
        self.cpu = Some(cpu);
        self
    }

    /// With this hard memory limit (MiB).
    pub fn with_memory(mut self, mib: i32) -> Self {
        self.memory = Some(mib);
        self
    }

    /// With this soft memory limit (MiB).
    pub fn with_memory_reservation(mut self, mib: i32) -> Self {
        self.memory_reservation = Some(mib);
        self
    }

    fn changes_something(&self) -> bool {
        self.command.is_some()
            || self.environment.is_some()
            || self.environment_files.is_some()
            || self.cpu.is_some()
            || self.memory.is_some()
            || self.memory_reservation.is_some()
            || self.resource_requirements.is_some()
    }
}

impl TaskOverride {
    /// With this override of one container added.
    pub fn with_container(mut self, container: ContainerOverride) -> Self {
        self.container_overrides.push(container);
        self
    }

    /// With the task's CPU set (as the task definition writes it).
    pub fn with_cpu(mut self, cpu: impl Into<String>) -> Self {
        self.cpu = Some(cpu.into());
        self
    }

    /// With the task's memory set (as the task definition writes it).
    pub fn with_memory(mut self, memory: impl Into<String>) -> Self {
        self.memory = Some(memory.into());
        self
    }

    /// Whether applying them leaves a task definition as it is.
    pub fn changes_nothing(&self) -> bool {
        self.cpu.is_none()
            && self.memory.is_none()
            && self.task_role_arn.is_none()
            && self.execution_role_arn.is_none()
            && !self
                .container_overrides
                .iter()
                .any(ContainerOverride::changes_something)
    }

    /// Checks the overrides as ECS does, for `operation`, and returns the task
    /// definition a task of `td` runs with them: the one it is placed by, whose
    /// containers the engine creates, and which must itself pass ECS's rules (a
    /// container's memory above the task's is refused as it would be at registration).
    pub(crate) fn apply(
        &self,
        operation: &'static str,
        td: &TaskDefinition,
    ) -> Result<TaskDefinition, Error> {
        let refuse = |reason: String| Error::InvalidParameter {
            operation,
            member: "overrides",
            reason,
        };
        let size = serde_json::to_string(self).map_or(0, |json| json.chars().count());
        if size > MAX_OVERRIDES_CHARS {
            return Err(refuse(format!(
                "{size} characters of JSON, above ECS's limit of {MAX_OVERRIDES_CHARS}"
            )));
        }
        let mut seen = Vec::new();
        for (j, o) in self.container_overrides.iter().enumerate() {
            let at = format!("containerOverrides[{j}]");
            let Some(name) = o.name.as_deref() else {
                if o.changes_something() {
                    return Err(refuse(format!(
                        "{at}.name: required when a container's settings are overridden"
                    )));
                }
                continue;
            };
            if seen.contains(&name) {
                return Err(refuse(format!(
                    "{at}.name: container {name:?} is overridden twice"
                )));
            }
            seen.push(name);
            for (member, value) in [("cpu", o.cpu), ("memory", o.memory)] {
                if value.is_some_and(|v| v < 0) {
                    return Err(refuse(format!("{at}.{member}: must not be negative")));
                }
            }
            if o.memory_reservation.is_some_and(|v| v <= 0) {
                return Err(refuse(format!("{at}.memoryReservation: must be positive")));
            }
            if !td.containers().iter().any(|c| c.name() == name) {
                return Err(refuse(format!(
                    "{at}.name: {name:?} is not a container of task definition {}",
                    td.family()
                )));
            }
        }
        let effective = self.merged(td);
        match effective.validate() {
            Ok(_) => Ok(effective),
            Err(Error::Invalid(violations)) => Err(refuse(format!(
                "task definition {} with these overrides breaks ECS's rules: {violations}",
                td.family()
            ))),
            Err(e) => Err(e),
        }
    }

    /// `td` with the overrides applied, unchecked: for a task whose overrides were
    /// checked when it was run (a restarted control plane must load it whatever the
    /// rules have become since).
    pub(crate) fn merged(&self, td: &TaskDefinition) -> TaskDefinition {
        let mut effective = td.clone();
        for o in &self.container_overrides {
            let Some(c) = effective
                .container_definitions
                .iter_mut()
                .flatten()
                .find(|c| Some(c.name()) == o.name.as_deref())
            else {
                continue;
            };
            if let Some(command) = &o.command {
                c.command = Some(command.clone());
            }
            if let Some(vars) = &o.environment {
                let env = c.environment.get_or_insert_with(Vec::new);
                for var in vars {
                    match env.iter_mut().find(|e| e.name == var.name) {
                        Some(e) => e.value = var.value.clone(),
                        None => env.push(var.clone()),
                    }
                }
            }
            if let Some(files) = &o.environment_files {
                c.environment_files = Some(files.clone());
            }
            if let Some(cpu) = o.cpu {
                c.cpu = Some(cpu);
            }
            if let Some(memory) = o.memory {
                c.memory = Some(memory);
            }
            if let Some(reservation) = o.memory_reservation {
                c.memory_reservation = Some(reservation);
            }
            if let Some(r) = &o.resource_requirements {
                c.resource_requirements = Some(r.clone());
            }
        }
        if let Some(cpu) = &self.cpu {
            effective.cpu = Some(cpu.clone());
        }
        if let Some(memory) = &self.memory {
            effective.memory = Some(memory.clone());
        }
        if let Some(role) = &self.task_role_arn {
            effective.task_role_arn = Some(role.clone());
        }
        if let Some(role) = &self.execution_role_arn {
            effective.execution_role_arn = Some(role.clone());
        }
        effective
    }

    /// As ECS shows a task's overrides: one entry per container of `td`, in definition
    /// order, each with its name and what was overridden of it.
    pub(crate) fn shown(&self, td: &TaskDefinition) -> TaskOverride {
        let container_overrides = td
            .containers()
            .iter()
            .map(|c| {
                self.container_overrides
                    .iter()
                    .find(|o| o.name.as_deref() == Some(c.name()))
                    .cloned()
                    .unwrap_or_else(|| ContainerOverride::new(c.name()))
            })
            .collect();
        TaskOverride {
            container_overrides,
            ..self.clone()
        }
    }
}
