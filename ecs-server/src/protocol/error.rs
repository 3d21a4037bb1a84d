//! Errors as the AWS JSON 1.1 protocol carries them: `{"__type": NAME, "message": ...}`
//! with an HTTP status, and how the control plane's errors map onto ECS's exceptions.

use axum::http::StatusCode;
use ecs_core::{Error, ResourceKind};

/// An error answered to a caller: ECS's (or Application Auto Scaling's) exception name,
/// its HTTP status and a message that says what and where.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{code}: {message}")]
pub struct ApiError {
    /// The exception's name (`ClusterNotFoundException` ...), sent as `__type`.
    pub code: &'static str,
    /// The HTTP status.
    pub status: StatusCode,
    /// What went wrong.
    pub message: String,
}

impl ApiError {
    /// A caller's error (400) named `code`.
    pub fn client(code: &'static str, message: impl Into<String>) -> Self {
        Self {
            code,
            status: StatusCode::BAD_REQUEST,
            message: message.into(),
        }
    }

    /// `InvalidParameterException`: a request ECS refuses as it is.
    pub fn invalid(message: impl Into<String>) -> Self {
        Self::client("InvalidParameterException", message)
    }

    /// `ClientException`: the caller's error that no finer exception names.
    pub fn client_exception(message: impl Into<String>) -> Self {
        Self::client("ClientException", message)
    }

    /// `ServerException` (500): the server failed; the request may be retried.
    pub fn server(message: impl Into<String>) -> Self {
        Self {
            code: "ServerException",
            status: StatusCode::INTERNAL_SERVER_ERROR,
            message: message.into(),
        }
    }

    /// The body AWS's clients read: `{"__type": ..., "message": ...}`.
    pub fn body(&self) -> serde_json::Value {
        serde_json::json!({ "__type": self.code, "message": self.message })
    }
}

/// Which service's exceptions an error is named in: Application Auto Scaling names its
/// own (`ObjectNotFoundException`, `ValidationException`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    /// Amazon ECS.
    Ecs,
    /// Application Auto Scaling.
    AutoScaling,
}

impl ApiError {
    /// The control plane's `error`, as `dialect`'s API names it.
    pub fn from_core(error: Error, dialect: Dialect) -> Self {
        let message = error.to_string();
        if dialect == Dialect::AutoScaling {
            return match &error {
                Error::NotFound { .. } => Self::client("ObjectNotFoundException", message),
                e if is_server_side(e) => Self::client("InternalServiceException", message)
                    .with_status(StatusCode::INTERNAL_SERVER_ERROR),
                Error::ServiceConflict { .. } => Self::client("ConcurrentUpdateException", message),
                _ => Self::client("ValidationException", message),
            };
        }
        match &error {
            Error::NotFound { kind, .. } => match kind {
                ResourceKind::Cluster => Self::client("ClusterNotFoundException", message),
                ResourceKind::Service => Self::client("ServiceNotFoundException", message),
                // ECS says "Unable to describe task definition." as a ClientException.
                ResourceKind::TaskDefinition => Self::client_exception(message),
                _ => Self::invalid(message),
            },
            // CreateService of a name in use: ECS's "Creation of service was not
            // idempotent." is an InvalidParameterException.
            Error::AlreadyExists { .. } => Self::invalid(message),
            Error::TaskDefinitionInactive(_)
            | Error::InstanceHasTasks { .. }
            | Error::Unsupported { .. } => Self::client_exception(message),
            Error::ServiceLimitExceeded { .. } => Self::client("LimitExceededException", message),
            Error::CapacityProviderInUse { .. } => Self::client("ResourceInUseException", message),
            Error::ClusterNotEmpty { holds, .. } => Self::client(
                match holds {
                    ecs_core::ClusterContents::ContainerInstances => {
                        "ClusterContainsContainerInstancesException"
                    }
                    ecs_core::ClusterContents::Services => "ClusterContainsServicesException",
                    _ => "ClusterContainsTasksException",
                },
                message,
            ),
            e if is_server_side(e) => Self::server(message),
            _ => Self::invalid(message),
        }
    }

    fn with_status(mut self, status: StatusCode) -> Self {
        self.status = status;
        self
    }
}

/// Failures of the server's side (its engines, its store, its runtime): the caller did
/// nothing wrong and may retry.
fn is_server_side(error: &Error) -> bool {
    matches!(
        error,
        Error::NoRuntime { .. }
            | Error::Runtime { .. }
            | Error::InstanceProvider { .. }
            | Error::LoadBalancer { .. }
            | Error::LoadBalancerBind { .. }
            | Error::MetadataEndpoint { .. }
            | Error::StoreConflict { .. }
            | Error::StoreForeign { .. }
            | Error::StoreCorrupt { .. }
            | Error::StoreVersion { .. }
            | Error::StoreInUse { .. }
            | Error::Store { .. }
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn not_found_names_the_resource_kind_as_ecs_does() {
        let cluster: ecs_core::ClusterName = "dev".parse().unwrap();
        let e = ApiError::from_core(
            Error::not_found(ResourceKind::Cluster, &cluster),
            Dialect::Ecs,
        );
        assert_eq!(e.code, "ClusterNotFoundException");
        assert_eq!(e.status, StatusCode::BAD_REQUEST);
        let e = ApiError::from_core(
            Error::not_found_in(ResourceKind::Service, "web", &cluster),
            Dialect::Ecs,
        );
        assert_eq!(e.code, "ServiceNotFoundException");
        assert_eq!(e.message, "service web not found in cluster dev");
        let e = ApiError::from_core(
            Error::not_found(ResourceKind::ScalableTarget, "service/dev/web"),
            Dialect::AutoScaling,
        );
        assert_eq!(e.code, "ObjectNotFoundException");
    }

    #[test]
    fn the_servers_own_failures_are_500s() {
        let e = ApiError::from_core(
            Error::Store {
                path: None,
                reason: "disk full".into(),
            },
            Dialect::Ecs,
        );
        assert_eq!(e.code, "ServerException");
        assert_eq!(e.status, StatusCode::INTERNAL_SERVER_ERROR);
        assert_eq!(
            e.body(),
            serde_json::json!({"__type": "ServerException", "message": "store: disk full"})
        );
    }
}
