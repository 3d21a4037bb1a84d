//! What a container runtime reports when an operation fails.

/// A failed runtime operation, by what the caller can do about it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RuntimeError {
    /// The container (or other object) does not exist.
    #[error("not found: {0}")]
    NotFound(String),
    /// The operation conflicts with the object's state (a name in use, already started ...).
    #[error("conflict: {0}")]
    Conflict(String),
    /// The image is not present and cannot be pulled (ECS: `CannotPullContainerError`).
    #[error("CannotPullContainerError: {image}: {reason}")]
    ImageUnavailable {
        /// The image reference.
        image: String,
        /// Why it could not be pulled.
        reason: String,
    },
    /// The engine cannot be reached or is not answering; retrying later may help.
    #[error("engine unavailable: {0}")]
    Unavailable(String),
    /// The operation did not finish in time; retrying may help.
    #[error("timed out: {0}")]
    Timeout(String),
    /// The engine refused the request as malformed; retrying will not help.
    #[error("invalid request: {0}")]
    InvalidRequest(String),
    /// The runtime lacks a capability the request needs.
    #[error("{runtime} does not support {capability}")]
    Unsupported {
        /// The runtime's name.
        runtime: String,
        /// What it lacks.
        capability: String,
    },
}

impl RuntimeError {
    /// The error's kind in one word (`not_found`, `unavailable` ...), as metrics label it.
    pub fn kind(&self) -> &'static str {
        match self {
            RuntimeError::NotFound(_) => "not_found",
            RuntimeError::Conflict(_) => "conflict",
            RuntimeError::ImageUnavailable { .. } => "image_unavailable",
            RuntimeError::Unavailable(_) => "unavailable",
            RuntimeError::Timeout(_) => "timeout",
            RuntimeError::InvalidRequest(_) => "invalid_request",
            RuntimeError::Unsupported { .. } => "unsupported",
        }
    }

    /// Whether the same call may succeed later (the engine was away or slow).
    pub fn is_retryable(&self) -> bool {
        matches!(
            self,
            RuntimeError::Unavailable(_) | RuntimeError::Timeout(_)
        )
    }
}
