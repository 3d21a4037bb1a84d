//! Running a command in a task's container ([`Ecs::execute_command`]), refused unless the
//! task was run with execute command enabled, as ECS refuses it.

use std::fmt;

use super::Ecs;
use super::logs::Target;
use crate::ids::{Arn, ClusterName, ContainerName, TaskId};
use crate::runtime::{ExecSession, ExecSpec};
use crate::task::ContainerStatus;
use crate::{Error, ResourceKind};

const OP: &str = "ExecuteCommand";

/// ECS's words when a task was not run with `enableExecuteCommand`.
pub const NOT_ENABLED: &str = "The execute command failed because execute command was not \
    enabled when the task was run or the execute command agent isn't running. Wait and try \
    again or run a new task with execute command enabled and try again.";

/// ExecuteCommand: runs a command in a container of a running task that was started with
/// `enableExecuteCommand` (RunTask's, StartTask's, or its service's).
///
/// ECS opens an SSM session for it; here the answer carries the session itself
/// ([`ExecSession`]): the command's output as it comes, its input when interactive, and
/// its exit code.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct ExecuteCommand {
    /// The cluster.
    pub cluster: ClusterName,
    /// The task.
    pub task: TaskId,
    /// The container; needed only when the task has more than one, as in ECS.
    pub container: Option<ContainerName>,
    /// The command, one string as ECS takes it: split into words by the shell's rules
    /// (quotes, backslashes), then run as they are, without a shell (`sh -c '...'` for
    /// one, as in ECS).
    pub command: String,
    /// With its standard input open ([`ExecSession::stdin`]). ECS takes only `true`;
    /// here `false` runs the command without input, for its output and exit code.
    pub interactive: bool,
    /// On a terminal (this library's own member: ECS's sessions always have one).
    pub tty: bool,
}

impl ExecuteCommand {
    /// Runs `command` in `task` of `cluster` (its only container, unless
    /// [`with_container`](Self::with_container) names one).
    pub fn new(
        cluster: ClusterName,
        task: TaskId,
        command: impl Into<String>,
        interactive: bool,
    ) -> Self {
        Self {
            cluster,
            task,
            container: None,
            command: command.into(),
            interactive,
            tty: false,
        }
    }

    /// In `container`.
    #[must_use]
    pub fn with_container(mut self, container: ContainerName) -> Self {
        self.container = Some(container);
        self
    }

    /// On a terminal.
    #[must_use]
    pub fn with_tty(mut self) -> Self {
        self.tty = true;
        self
    }

    /// The command's words: refuses an empty command and one whose quotes do not close.
    fn argv(&self) -> Result<Vec<String>, Error> {
        let invalid = |reason: &str| Error::InvalidParameter {
            operation: OP,
            member: "command",
            reason: reason.to_owned(),
        };
        let words = shlex::split(&self.command)
            .ok_or_else(|| invalid("its quotes do not close (or it ends with a backslash)"))?;
        if words.is_empty() {
            return Err(invalid("must not be empty"));
        }
        Ok(words)
    }
}

/// ExecuteCommand's answer.
#[non_exhaustive]
pub struct ExecuteCommandOutput {
    /// The cluster.
    pub cluster_arn: Arn,
    /// The task.
    pub task_arn: Arn,
    /// The container it runs in.
    pub container_name: ContainerName,
    /// Whether its input is open.
    pub interactive: bool,
    /// The running command: its output, input and exit code.
    pub session: ExecSession,
}

impl fmt::Debug for ExecuteCommandOutput {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ExecuteCommandOutput")
            .field("cluster_arn", &self.cluster_arn)
            .field("task_arn", &self.task_arn)
            .field("container_name", &self.container_name)
            .field("interactive", &self.interactive)
            .field("session", &self.session)
            .finish()
    }
}

impl Ecs {
    /// Runs a command in a task's container (ExecuteCommand): see [`ExecuteCommand`].
    /// Waits until the engine has started it.
    ///
    /// Refused, before anything runs: an empty or unbalanced command, a task not run with
    /// execute command enabled (ECS's `InvalidParameterException`, in its words:
    /// [`NOT_ENABLED`]), no container named in a task of several, a container that is
    /// not running, all as [`Error::InvalidParameter`]; an unknown cluster, task or
    /// container as [`Error::NotFound`]; an instance whose runtime cannot exec as
    /// [`Error::Unsupported`]; the engine's refusal as [`Error::Runtime`], with its error
    /// as the source.
    pub async fn execute_command(
        &self,
        request: ExecuteCommand,
    ) -> Result<ExecuteCommandOutput, Error> {
        let argv = request.argv()?;
        let (task, agent) = self.task_target(&request.cluster, &request.task)?;
        if !task.enable_execute_command {
            return Err(Error::InvalidParameter {
                operation: OP,
                member: "task",
                reason: NOT_ENABLED.to_owned(),
            });
        }
        let container = match &request.container {
            Some(name) => task.container(name.as_str()).ok_or_else(|| {
                Error::not_found_in(
                    ResourceKind::Container,
                    format!("{name} of task {}", request.task),
                    &request.cluster,
                )
            })?,
            None => match task.containers.as_slice() {
                [only] => only,
                _ => {
                    return Err(Error::InvalidParameter {
                        operation: OP,
                        member: "container",
                        reason: format!(
                            "task {} has {} containers: name the one to run the command in",
                            request.task,
                            task.containers.len()
                        ),
                    });
                }
            },
        };
        let name = ContainerName::new(container.name.clone())?;
        let id = container
            .runtime_id
            .clone()
            .filter(|_| container.last_status == ContainerStatus::Running)
            .ok_or_else(|| Error::InvalidParameter {
                operation: OP,
                member: "container",
                reason: format!(
                    "container {name} of task {} is not running (it is {})",
                    request.task, container.last_status
                ),
            })?;
        if !agent.capabilities.execute_command {
            return Err(Error::Unsupported {
                instance: agent.instance.to_string(),
                runtime: agent.runtime.name(),
                missing: "execute command".into(),
            });
        }
        let target = Target {
            container: name,
            instance: agent.instance.clone(),
            runtime: agent.runtime.clone(),
            task,
        };
        let mut spec = ExecSpec::new(argv);
        spec.interactive = request.interactive;
        spec.tty = request.tty;
        // Not by a control plane that no longer holds its store.
        self.state().check_fence()?;
        let session = target
            .runtime
            .exec(&id, &spec)
            .await
            .map_err(|e| target.error(e))?;
        Ok(ExecuteCommandOutput {
            cluster_arn: self
                .config()
                .arn_scope
                .arn(format!("cluster/{}", request.cluster)),
            task_arn: target.task.task_arn,
            container_name: target.container,
            interactive: request.interactive,
            session,
        })
    }
}
