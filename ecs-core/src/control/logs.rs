//! Reading what a task's container wrote ([`Ecs::get_container_logs`]), and the name
//! ECS's `awslogs` driver gives its CloudWatch stream ([`AwsLogStream`]).

use std::fmt;
use std::sync::Arc;

use futures::StreamExt;
use futures::stream::BoxStream;

use super::Ecs;
use crate::ids::{Arn, ClusterName, ContainerName, InstanceId, TaskId};
use crate::runtime::{ContainerId, ContainerRuntime, LogLine, LogOptions, RuntimeError};
use crate::task::Task;
use crate::task_definition::{LogConfiguration, LogDriver};
use crate::{Error, ResourceKind};

/// GetContainerLogs: what a task's container wrote on its standard output and error, as
/// [`LogOptions`] select it (since, until, tail, follow, the streams, timestamps).
///
/// This library's own operation: ECS has none (a task's output is read where its log
/// driver sends it, CloudWatch Logs' `GetLogEvents` for `awslogs`). Here every
/// container's output stays on its engine, whatever its `logConfiguration` says (the
/// `json-file` and `local` drivers run on the engine with their options, the others leave
/// the engine's default driver), and is read from there; the answer names the CloudWatch
/// stream an `awslogs` container would have written to ([`AwsLogStream`]). A container's
/// output is readable while its engine keeps the container: after it exited, until its
/// task stops (the task's containers are removed then).
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct GetContainerLogs {
    /// The cluster.
    pub cluster: ClusterName,
    /// The task.
    pub task: TaskId,
    /// The container, by its name in the task definition.
    pub container: ContainerName,
    /// Which lines (by default: all written so far, both streams, with timestamps).
    pub options: LogOptions,
}

impl GetContainerLogs {
    /// Everything `container` of `task` wrote so far.
    pub fn new(cluster: ClusterName, task: TaskId, container: ContainerName) -> Self {
        Self {
            cluster,
            task,
            container,
            options: LogOptions::default(),
        }
    }

    /// The lines `options` select.
    #[must_use]
    pub fn with_options(mut self, options: LogOptions) -> Self {
        self.options = options;
        self
    }
}

/// GetContainerLogs's answer: the lines, and where the task definition sends them.
#[non_exhaustive]
pub struct GetContainerLogsOutput {
    /// The task.
    pub task_arn: Arn,
    /// The container.
    pub container_name: ContainerName,
    /// Its task definition's log driver (`None` without a `logConfiguration`).
    pub log_driver: Option<LogDriver>,
    /// With `awslogs`: the log group and stream ECS would write to.
    pub aws_log_stream: Option<AwsLogStream>,
    /// The lines, as they are read from the engine (with `follow`, until the container
    /// stops or this is dropped). An engine's failure while reading is an item's
    /// [`Error::Runtime`].
    pub lines: BoxStream<'static, Result<LogLine, Error>>,
}

impl fmt::Debug for GetContainerLogsOutput {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("GetContainerLogsOutput")
            .field("task_arn", &self.task_arn)
            .field("container_name", &self.container_name)
            .field("log_driver", &self.log_driver)
            .field("aws_log_stream", &self.aws_log_stream)
            .finish_non_exhaustive()
    }
}

/// Where ECS's `awslogs` driver sends a container's output: the log group and the stream
/// named as ECS names it, to find "its" stream here.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct AwsLogStream {
    /// The log group (`awslogs-group`).
    pub group: Option<String>,
    /// The region (`awslogs-region`).
    pub region: Option<String>,
    /// The stream: `PREFIX/CONTAINER/TASK_ID` with an `awslogs-stream-prefix`; without
    /// one (allowed on EC2), the driver's own name, the container's engine id.
    pub stream: String,
}

impl AwsLogStream {
    /// The stream of container `container` of task `task_id` under `log`, if it is an
    /// `awslogs` configuration; without a prefix, the engine's `runtime_id` names it
    /// (`None` while the container has none).
    pub fn of(
        log: &LogConfiguration,
        container: &str,
        task_id: &TaskId,
        runtime_id: Option<&ContainerId>,
    ) -> Option<Self> {
        if log.log_driver != LogDriver::Awslogs {
            return None;
        }
        let option = |k: &str| log.options.as_ref().and_then(|o| o.get(k)).cloned();
        let stream = match option("awslogs-stream-prefix") {
            Some(prefix) => format!("{prefix}/{container}/{task_id}"),
            None => runtime_id?.to_string(),
        };
        Some(Self {
            group: option("awslogs-group"),
            region: option("awslogs-region"),
            stream,
        })
    }
}

/// What the facade's operations on a task's container need: the task, the container's
/// engine id, and its instance's runtime.
pub(super) struct Target {
    pub(super) task: Task,
    pub(super) container: ContainerName,
    pub(super) instance: InstanceId,
    pub(super) runtime: Arc<dyn ContainerRuntime>,
}

impl Target {
    /// A runtime's error in the words of the control plane: which instance, and why.
    pub(super) fn error(&self, error: RuntimeError) -> Error {
        Error::Runtime {
            instance: self.instance.to_string(),
            error,
        }
    }
}

impl Ecs {
    /// `task` of `cluster` (NotFound for an unknown cluster or task), with the live
    /// agent of its instance.
    pub(super) fn task_target(
        &self,
        cluster: &ClusterName,
        task: &TaskId,
    ) -> Result<(Task, Arc<crate::agent::Agent>), Error> {
        let task = {
            let s = self.state().lock();
            if !s.clusters.contains_key(cluster) {
                return Err(Error::not_found(ResourceKind::Cluster, cluster));
            }
            s.tasks
                .get(task)
                .filter(|e| e.task.cluster == *cluster)
                .map(|e| (*e.task).clone())
                .ok_or_else(|| Error::not_found_in(ResourceKind::Task, task, cluster))?
        };
        let Some(instance) = task.container_instance.clone() else {
            return Err(Error::InvalidParameter {
                operation: "GetContainerLogs",
                member: "task",
                reason: format!(
                    "task {task_id} waits for capacity: it has no containers yet",
                    task_id = task.task_id
                ),
            });
        };
        let agent = self
            .ops()
            .fleet
            .get(cluster, &instance)
            .ok_or_else(|| Error::Runtime {
                instance: instance.to_string(),
                error: RuntimeError::Unavailable(
                    "the instance's agent is not connected (registered again after a \
                     restart, its containers are reachable again)"
                        .into(),
                ),
            })?;
        Ok((task, agent))
    }

    /// What GetContainerLogs reads: the container's engine id, or why it has none.
    fn logs_target(&self, request: &GetContainerLogs) -> Result<(Target, ContainerId), Error> {
        let (task, agent) = self.task_target(&request.cluster, &request.task)?;
        let container = task.container(request.container.as_str()).ok_or_else(|| {
            Error::not_found_in(
                ResourceKind::Container,
                format!("{} of task {}", request.container, request.task),
                &request.cluster,
            )
        })?;
        let id = container
            .runtime_id
            .clone()
            .ok_or_else(|| Error::InvalidParameter {
                operation: "GetContainerLogs",
                member: "container",
                reason: format!(
                    "container {} of task {} has not been created yet: it has no output",
                    request.container, request.task
                ),
            })?;
        Ok((
            Target {
                container: request.container.clone(),
                instance: agent.instance.clone(),
                task,
                runtime: agent.runtime.clone(),
            },
            id,
        ))
    }

    /// Reads what a task's container wrote (GetContainerLogs): see [`GetContainerLogs`].
    /// Waits for the engine's answer (not for the lines: they come in the answer's
    /// stream). An unknown cluster, task or container is [`Error::NotFound`]; a container
    /// not created yet is [`Error::InvalidParameter`]; the engine's refusal is
    /// [`Error::Runtime`], with its error as the source.
    pub async fn get_container_logs(
        &self,
        request: GetContainerLogs,
    ) -> Result<GetContainerLogsOutput, Error> {
        let (target, id) = self.logs_target(&request)?;
        let log = self
            .state()
            .lock()
            .registry
            .describe(&target.task.task_definition)
            .ok()
            .and_then(|td| {
                td.containers()
                    .iter()
                    .find(|c| c.name() == request.container.as_str())
                    .and_then(|c| c.log_configuration.clone())
            });
        let lines = target
            .runtime
            .container_logs(&id, &request.options)
            .await
            .map_err(|e| target.error(e))?;
        let instance = target.instance.to_string();
        let lines = lines.map(move |line| {
            line.map_err(|error| Error::Runtime {
                instance: instance.clone(),
                error,
            })
        });
        Ok(GetContainerLogsOutput {
            aws_log_stream: log.as_ref().and_then(|l| {
                AwsLogStream::of(
                    l,
                    target.container.as_str(),
                    &target.task.task_id,
                    Some(&id),
                )
            }),
            log_driver: log.map(|l| l.log_driver),
            task_arn: target.task.task_arn,
            container_name: target.container,
            lines: Box::pin(lines),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn awslogs(options: &[(&str, &str)]) -> LogConfiguration {
        let mut log = LogConfiguration::new(LogDriver::Awslogs);
        log.options = Some(
            options
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect(),
        );
        log
    }

    #[test]
    fn awslogs_streams_are_named_as_ecs_names_them() {
        let task: TaskId = "0f1e2d3c4b5a".parse().unwrap();
        let id = ContainerId("c0ffee".into());
        let with_prefix = awslogs(&[
            ("awslogs-group", "/ecs/web"),
            ("awslogs-region", "eu-west-1"),
            ("awslogs-stream-prefix", "ecs"),
        ]);
        assert_eq!(
            AwsLogStream::of(&with_prefix, "app", &task, Some(&id)),
            Some(AwsLogStream {
                group: Some("/ecs/web".into()),
                region: Some("eu-west-1".into()),
                stream: "ecs/app/0f1e2d3c4b5a".into(),
            })
        );
        // Without a prefix, the driver names the stream after the container's id.
        let bare = awslogs(&[("awslogs-group", "/ecs/web")]);
        assert_eq!(
            AwsLogStream::of(&bare, "app", &task, Some(&id)).map(|s| s.stream),
            Some("c0ffee".into())
        );
        assert_eq!(AwsLogStream::of(&bare, "app", &task, None), None);
        let json = LogConfiguration::new(LogDriver::JsonFile);
        assert_eq!(AwsLogStream::of(&json, "app", &task, Some(&id)), None);
    }
}
