//! The AWS JSON 1.1 protocol: `POST /` with the operation in `X-Amz-Target`
//! (`PREFIX.Operation`), a JSON body in and out, and errors as
//! `{"__type": ..., "message": ...}` with a 4xx or 5xx status.

mod error;
mod json;

pub use error::{ApiError, Dialect};
pub use json::{from_value, parse};

/// ECS's target prefix (its API version).
pub const ECS_PREFIX: &str = "AmazonEC2ContainerServiceV20141113";
/// Application Auto Scaling's target prefix.
pub const AUTOSCALING_PREFIX: &str = "AnyScaleFrontendService";
/// The content type of requests and answers.
pub const CONTENT_TYPE: &str = "application/x-amz-json-1.1";

/// An operation's answer: a JSON value, or (for the largest answers, written straight
/// from the control plane's records) JSON text already made.
#[derive(Debug)]
pub enum Answer {
    /// A value; its members that are null are left out, as ECS leaves them.
    Value(serde_json::Value),
    /// JSON text.
    Text(Vec<u8>),
}

impl From<serde_json::Value> for Answer {
    fn from(value: serde_json::Value) -> Self {
        Answer::Value(value)
    }
}

/// Which API an operation belongs to, and its name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    /// ECS or Application Auto Scaling.
    pub dialect: Dialect,
    /// The operation (`RunTask` ...).
    pub operation: String,
}

impl Target {
    /// Reads `X-Amz-Target`.
    pub fn parse(header: Option<&str>) -> Result<Self, ApiError> {
        let Some(header) = header else {
            return Err(ApiError::client(
                "UnknownOperationException",
                "the request names no operation: X-Amz-Target is missing",
            ));
        };
        let unknown = || {
            ApiError::client(
                "UnknownOperationException",
                format!("unknown operation {header:?}"),
            )
        };
        let (prefix, operation) = header.split_once('.').ok_or_else(unknown)?;
        let dialect = match prefix {
            ECS_PREFIX => Dialect::Ecs,
            AUTOSCALING_PREFIX => Dialect::AutoScaling,
            _ => return Err(unknown()),
        };
        Ok(Self {
            dialect,
            operation: operation.to_owned(),
        })
    }

    /// The service name requests to it are signed for.
    pub fn signing_name(&self) -> &'static str {
        match self.dialect {
            Dialect::Ecs => "ecs",
            Dialect::AutoScaling => "application-autoscaling",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets_name_their_api_and_operation() {
        let t = Target::parse(Some("AmazonEC2ContainerServiceV20141113.RunTask")).unwrap();
        assert_eq!(t.dialect, Dialect::Ecs);
        assert_eq!(t.operation, "RunTask");
        assert_eq!(t.signing_name(), "ecs");
        let t = Target::parse(Some("AnyScaleFrontendService.PutScalingPolicy")).unwrap();
        assert_eq!(t.signing_name(), "application-autoscaling");
        for bad in [None, Some("RunTask"), Some("DynamoDB_20120810.GetItem")] {
            assert_eq!(
                Target::parse(bad).unwrap_err().code,
                "UnknownOperationException"
            );
        }
    }
}
