//! Resources as requests name them: ECS takes a name, an id or a full ARN alike
//! (`web`, `arn:aws:ecs:REGION:ACCOUNT:cluster/web`), and a cluster defaults to
//! `default`.

use std::str::FromStr;

use ecs_core::{CapacityProviderName, ClusterName, InstanceId, ServiceName, TaskId};

use crate::protocol::ApiError;

/// The last part of an ARN's resource (`cluster/NAME`, `task/CLUSTER/ID`), or the
/// text itself when it is not an ARN.
fn last_part(text: &str) -> &str {
    if text.starts_with("arn:") {
        text.rsplit_once('/').map_or(text, |(_, last)| last)
    } else {
        text
    }
}

fn parse<T: FromStr<Err = ecs_core::Error>>(member: &str, text: &str) -> Result<T, ApiError> {
    last_part(text)
        .parse()
        .map_err(|e: ecs_core::Error| ApiError::invalid(format!("{member}: {e}")))
}

/// The cluster a request names (`cluster`), `default` when it names none.
pub(crate) fn cluster(text: Option<&str>) -> Result<ClusterName, ApiError> {
    parse("cluster", text.unwrap_or("default"))
}

/// A task named by its id or ARN.
pub(crate) fn task(member: &str, text: &str) -> Result<TaskId, ApiError> {
    parse(member, text)
}

/// A container instance named by its id or ARN.
pub(crate) fn instance(member: &str, text: &str) -> Result<InstanceId, ApiError> {
    parse(member, text)
}

/// A service named by its name or ARN.
pub(crate) fn service(member: &str, text: &str) -> Result<ServiceName, ApiError> {
    parse(member, text)
}

/// A capacity provider named by its name or ARN.
pub(crate) fn capacity_provider(
    member: &str,
    text: &str,
) -> Result<CapacityProviderName, ApiError> {
    parse(member, text)
}

/// The instance group an Auto Scaling group's name or ARN names
/// (`arn:aws:autoscaling:REGION:ACCOUNT:autoScalingGroup:ID:autoScalingGroupName/NAME`).
pub(crate) fn instance_group(text: &str) -> String {
    match text.rsplit_once(":autoScalingGroupName/") {
        Some((_, name)) => name.to_owned(),
        None => text.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_arns_name_the_same_resource() {
        assert_eq!(cluster(None).unwrap().as_str(), "default");
        assert_eq!(
            cluster(Some("arn:aws:ecs:us-east-1:000000000000:cluster/dev"))
                .unwrap()
                .as_str(),
            "dev"
        );
        assert_eq!(
            task("task", "arn:aws:ecs:us-east-1:000000000000:task/dev/abc123")
                .unwrap()
                .to_string(),
            "abc123"
        );
        let e = cluster(Some("no spaces")).unwrap_err();
        assert_eq!(e.code, "InvalidParameterException");
        assert!(e.message.starts_with("cluster: "), "{}", e.message);
    }
}
