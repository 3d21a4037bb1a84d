//! The labels the library puts on every container it creates, so that what runs can be
//! traced back to its cluster, task, definition and service from the engine alone. The
//! names are those the Amazon ECS agent uses, plus the task group.

/// The cluster's name.
pub const CLUSTER: &str = "com.amazonaws.ecs.cluster";
/// The task's ARN.
pub const TASK_ARN: &str = "com.amazonaws.ecs.task-arn";
/// The task definition's family.
pub const TASK_DEFINITION_FAMILY: &str = "com.amazonaws.ecs.task-definition-family";
/// The task definition's revision.
pub const TASK_DEFINITION_VERSION: &str = "com.amazonaws.ecs.task-definition-version";
/// The container's name in the task definition.
pub const CONTAINER_NAME: &str = "com.amazonaws.ecs.container-name";
/// The task group: `service:NAME` for a service's tasks, `family:NAME` by default.
pub const TASK_GROUP: &str = "com.amazonaws.ecs.task-group";
/// The service's name, for a service's tasks.
pub const SERVICE_NAME: &str = "com.amazonaws.ecs.service-name";
