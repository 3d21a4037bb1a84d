//! Container instance attributes: the built-in `ecs.*` ones and the rules for custom ones.

use crate::Error;

/// `ecs.instance-id`: the instance's id (always set, from [`InstanceId`](crate::InstanceId)).
pub const INSTANCE_ID: &str = "ecs.instance-id";
/// `ecs.availability-zone`.
pub const AVAILABILITY_ZONE: &str = "ecs.availability-zone";
/// `ecs.os-type`: `linux` or `windows`.
pub const OS_TYPE: &str = "ecs.os-type";
/// `ecs.os-family`: `LINUX`, `WINDOWS_SERVER_2022_CORE` ...
pub const OS_FAMILY: &str = "ecs.os-family";
/// `ecs.cpu-architecture`: `x86_64` or `arm64`.
pub const CPU_ARCHITECTURE: &str = "ecs.cpu-architecture";
/// `ecs.instance-type`, e.g. `m5.large`.
pub const INSTANCE_TYPE: &str = "ecs.instance-type";
/// `ecs.ami-id`.
pub const AMI_ID: &str = "ecs.ami-id";
/// `ecs.vpc-id`.
pub const VPC_ID: &str = "ecs.vpc-id";
/// `ecs.subnet-id`.
pub const SUBNET_ID: &str = "ecs.subnet-id";

/// Whether `name` is in the reserved `ecs.` namespace, which users cannot change.
pub fn is_builtin(name: &str) -> bool {
    name.starts_with("ecs.")
}

/// ECS's rule for custom attribute names: 1 to 128 letters, digits, hyphens,
/// underscores, periods and slashes.
pub(crate) fn check_name(name: &str) -> Result<(), Error> {
    let ok = (1..=128).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'/'));
    if ok {
        Ok(())
    } else {
        Err(Error::InvalidAttribute {
            name: name.to_owned(),
            reason: "a name is 1 to 128 letters, digits, hyphens, underscores, periods and slashes"
                .into(),
        })
    }
}

/// ECS's rule for attribute values: 1 to 128 letters, digits, hyphens, underscores,
/// periods, at signs, slashes, backslashes, colons and spaces.
pub(crate) fn check_value(name: &str, value: &str) -> Result<(), Error> {
    let ok = (1..=128).contains(&value.len())
        && value.bytes().all(|b| {
            b.is_ascii_alphanumeric()
                || matches!(b, b'-' | b'_' | b'.' | b'@' | b'/' | b'\\' | b':' | b' ')
        });
    if ok {
        Ok(())
    } else {
        Err(Error::InvalidAttribute {
            name: name.to_owned(),
            reason: format!(
                "value {value:?} is not 1 to 128 letters, digits, hyphens, underscores, periods, \
                 at signs, slashes, backslashes, colons or spaces"
            ),
        })
    }
}
