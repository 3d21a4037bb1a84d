//! Identifiers, as newtypes validated when they are made: no bare `String` stands for
//! a family, a service or an instance in the public API.

use std::fmt;
use std::num::NonZeroU32;
use std::str::FromStr;

use crate::Error;

/// Defines a name newtype: 1 to 255 ASCII letters, digits, hyphens and underscores, the
/// rule ECS applies to families, clusters, services and containers.
macro_rules! name_id {
    ($(#[$meta:meta])* $name:ident, $kind:literal) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub struct $name(String);

        impl $name {
            /// Validates and wraps `value`.
            pub fn new(value: impl Into<String>) -> Result<Self, Error> {
                let value = value.into();
                check_name($kind, &value)?;
                Ok(Self(value))
            }

            /// The name.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl FromStr for $name {
            type Err = Error;
            fn from_str(s: &str) -> Result<Self, Error> {
                Self::new(s)
            }
        }

        impl AsRef<str> for $name {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }
    };
}

fn check_name(kind: &'static str, value: &str) -> Result<(), Error> {
    let reason = if value.is_empty() {
        "must not be empty"
    } else if value.len() > 255 {
        "longer than 255 characters"
    } else if !value
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    {
        "only letters, digits, hyphens and underscores are allowed"
    } else {
        return Ok(());
    };
    Err(Error::InvalidId {
        kind,
        value: value.to_owned(),
        reason: reason.to_owned(),
    })
}

name_id!(
    /// A task definition family: the name its revisions share.
    Family,
    "family"
);
name_id!(
    /// A cluster's name.
    ClusterName,
    "cluster name"
);
name_id!(
    /// A service's name, unique within its cluster.
    ServiceName,
    "service name"
);
name_id!(
    /// A container's name, unique within its task definition.
    ContainerName,
    "container name"
);
name_id!(
    /// A capacity provider's name.
    CapacityProviderName,
    "capacity provider name"
);

/// Defines an opaque identifier newtype: 1 to 255 printable ASCII characters without
/// spaces (EC2 instance ids, UUIDs, ARNs' last parts).
macro_rules! opaque_id {
    ($(#[$meta:meta])* $name:ident, $kind:literal) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub struct $name(String);

        impl $name {
            /// Validates and wraps `value`.
            pub fn new(value: impl Into<String>) -> Result<Self, Error> {
                let value = value.into();
                let reason = if value.is_empty() {
                    "must not be empty"
                } else if value.len() > 255 {
                    "longer than 255 characters"
                } else if !value.bytes().all(|b| b.is_ascii_graphic()) {
                    "only printable ASCII characters without spaces are allowed"
                } else {
                    return Ok(Self(value));
                };
                Err(Error::InvalidId { kind: $kind, value, reason: reason.to_owned() })
            }

            /// The identifier.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl FromStr for $name {
            type Err = Error;
            fn from_str(s: &str) -> Result<Self, Error> {
                Self::new(s)
            }
        }

        impl AsRef<str> for $name {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }
    };
}

opaque_id!(
    /// A container instance's id (`i-0abc...`, or any id a backend gives its host).
    InstanceId,
    "instance id"
);
opaque_id!(
    /// A task's id, the last part of its ARN.
    TaskId,
    "task id"
);

/// A revision number within a family, from 1.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Revision(NonZeroU32);

impl Revision {
    /// The first revision of a family.
    pub const FIRST: Revision = Revision(NonZeroU32::MIN);

    /// Wraps `n`, which must not be 0.
    pub fn new(n: u32) -> Result<Self, Error> {
        NonZeroU32::new(n)
            .map(Self)
            .ok_or_else(|| Error::InvalidId {
                kind: "revision",
                value: n.to_string(),
                reason: "revisions start at 1".to_owned(),
            })
    }

    /// The number.
    pub fn get(self) -> u32 {
        self.0.get()
    }

    /// The revision after this one.
    pub fn next(self) -> Option<Self> {
        self.0.checked_add(1).map(Self)
    }
}

impl fmt::Display for Revision {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

impl FromStr for Revision {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self, Error> {
        let n = s.parse::<u32>().map_err(|_| Error::InvalidId {
            kind: "revision",
            value: s.to_owned(),
            reason: "not a positive integer".to_owned(),
        })?;
        Self::new(n)
    }
}

/// How a caller names a task definition: `family` (its latest ACTIVE revision),
/// `family:revision`, or the ARN `arn:aws:ecs:REGION:ACCOUNT:task-definition/family:revision`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct TaskDefinitionRef {
    /// The family.
    pub family: Family,
    /// The revision; `None` means the latest ACTIVE one.
    pub revision: Option<Revision>,
}

impl TaskDefinitionRef {
    /// A reference to one revision.
    pub fn new(family: Family, revision: Revision) -> Self {
        Self {
            family,
            revision: Some(revision),
        }
    }

    /// A reference to the latest ACTIVE revision of `family`.
    pub fn latest(family: Family) -> Self {
        Self {
            family,
            revision: None,
        }
    }
}

impl fmt::Display for TaskDefinitionRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.revision {
            Some(r) => write!(f, "{}:{r}", self.family),
            None => write!(f, "{}", self.family),
        }
    }
}

impl FromStr for TaskDefinitionRef {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self, Error> {
        let rest = if s.starts_with("arn:") {
            let arn: Arn = s.parse()?;
            match arn.resource.strip_prefix("task-definition/") {
                Some(rest) => rest.to_owned(),
                None => {
                    return Err(Error::InvalidId {
                        kind: "task definition ARN",
                        value: s.to_owned(),
                        reason: "the resource is not task-definition/FAMILY:REVISION".to_owned(),
                    });
                }
            }
        } else {
            s.to_owned()
        };
        match rest.split_once(':') {
            Some((family, revision)) => Ok(Self::new(family.parse()?, revision.parse()?)),
            None => Ok(Self::latest(rest.parse()?)),
        }
    }
}

/// A task's group (ECS's `group`): the service it belongs to (`service:NAME`), the
/// family RunTask started it from when no group was given (`family:NAME`), or a name
/// the caller chose. Placement's `distinctInstance` and spread count within a group.
///
/// ```
/// use ecs_core::TaskGroup;
/// let g: TaskGroup = "service:web".parse()?;
/// assert_eq!(g.service().map(|s| s.as_str()), Some("web"));
/// assert_eq!(g.to_string(), "service:web");
/// assert!("batch".parse::<TaskGroup>()?.service().is_none());
/// # Ok::<(), ecs_core::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum TaskGroup {
    /// The tasks of a service.
    Service(ServiceName),
    /// RunTask's default: the tasks run from a family.
    Family(Family),
    /// A group the caller named.
    Custom(String),
}

impl TaskGroup {
    /// Whether it reads back as itself: a `Custom` group that spells a service's or a
    /// family's (`service:web`), or that breaks the rules of groups (empty, longer than
    /// 255 characters), does not.
    pub fn is_well_formed(&self) -> bool {
        self.to_string().parse::<TaskGroup>().as_ref() == Ok(self)
    }

    /// The service whose task this is, if any.
    pub fn service(&self) -> Option<&ServiceName> {
        match self {
            TaskGroup::Service(s) => Some(s),
            _ => None,
        }
    }
}

impl fmt::Display for TaskGroup {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TaskGroup::Service(s) => write!(f, "service:{s}"),
            TaskGroup::Family(family) => write!(f, "family:{family}"),
            TaskGroup::Custom(g) => f.write_str(g),
        }
    }
}

impl FromStr for TaskGroup {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self, Error> {
        let bad = |reason: &str| Error::InvalidId {
            kind: "task group",
            value: s.to_owned(),
            reason: reason.to_owned(),
        };
        if s.is_empty() {
            return Err(bad("must not be empty"));
        }
        if s.len() > 255 {
            return Err(bad("longer than 255 characters"));
        }
        Ok(if let Some(name) = s.strip_prefix("service:") {
            TaskGroup::Service(name.parse()?)
        } else if let Some(name) = s.strip_prefix("family:") {
            TaskGroup::Family(name.parse()?)
        } else {
            TaskGroup::Custom(s.to_owned())
        })
    }
}

/// Where ARNs point: AWS's `arn:PARTITION:ecs:REGION:ACCOUNT:RESOURCE` shape, with a
/// local region and account by default, so that ARN-shaped identifiers read as users
/// expect without pretending to be AWS.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Arn {
    /// `aws`.
    pub partition: String,
    /// The region, `local` by default.
    pub region: String,
    /// The account, `000000000000` by default.
    pub account: String,
    /// `task-definition/web:3`, `task/CLUSTER/ID`, `service/CLUSTER/NAME` ...
    pub resource: String,
}

impl Arn {
    /// Its resource's last part: a task's id, a service's name, `family:revision`.
    pub fn name(&self) -> &str {
        self.resource
            .rsplit_once('/')
            .map_or(self.resource.as_str(), |(_, n)| n)
    }
}

/// The region and account the library puts in the ARNs it makes.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ArnScope {
    /// The region.
    pub region: String,
    /// The account.
    pub account: String,
}

impl Default for ArnScope {
    fn default() -> Self {
        Self {
            region: "local".to_owned(),
            account: "000000000000".to_owned(),
        }
    }
}

impl ArnScope {
    /// An ECS ARN for `resource` in this scope.
    pub fn arn(&self, resource: impl Into<String>) -> Arn {
        Arn {
            partition: "aws".to_owned(),
            region: self.region.clone(),
            account: self.account.clone(),
            resource: resource.into(),
        }
    }
}

impl fmt::Display for Arn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "arn:{}:ecs:{}:{}:{}",
            self.partition, self.region, self.account, self.resource
        )
    }
}

impl FromStr for Arn {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self, Error> {
        let bad = |reason: &str| Error::InvalidId {
            kind: "ARN",
            value: s.to_owned(),
            reason: reason.to_owned(),
        };
        let mut parts = s.splitn(6, ':');
        let (
            Some("arn"),
            Some(partition),
            Some(service),
            Some(region),
            Some(account),
            Some(resource),
        ) = (
            parts.next(),
            parts.next(),
            parts.next(),
            parts.next(),
            parts.next(),
            parts.next(),
        )
        else {
            return Err(bad("expected arn:PARTITION:ecs:REGION:ACCOUNT:RESOURCE"));
        };
        if service != "ecs" {
            return Err(bad("not an ECS ARN"));
        }
        if resource.is_empty() {
            return Err(bad("the resource is empty"));
        }
        Ok(Arn {
            partition: partition.to_owned(),
            region: region.to_owned(),
            account: account.to_owned(),
            resource: resource.to_owned(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn task_definition_refs() {
        let r: TaskDefinitionRef = "web:3".parse().unwrap();
        assert_eq!(
            (r.family.as_str(), r.revision.map(Revision::get)),
            ("web", Some(3))
        );
        let r: TaskDefinitionRef = "web".parse().unwrap();
        assert_eq!(r.revision, None);
        let r: TaskDefinitionRef =
            "arn:aws:ecs:us-east-1:123456789012:task-definition/hello_world:8"
                .parse()
                .unwrap();
        assert_eq!(r.to_string(), "hello_world:8");
        for bad in [
            "",
            "web:0",
            "web:x",
            "we b",
            "arn:aws:ecs:r:a:service/x",
            "arn:aws:s3:::b",
        ] {
            assert!(bad.parse::<TaskDefinitionRef>().is_err(), "{bad}");
        }
    }

    #[test]
    fn task_groups_read_back_and_old_records_always_load() {
        for text in ["service:web", "family:web", "batch"] {
            let g: TaskGroup = text.parse().unwrap();
            assert!(g.is_well_formed());
            assert_eq!(serde_json::to_string(&g).unwrap(), format!("{text:?}"));
        }
        assert!(!TaskGroup::Custom("service:web".into()).is_well_formed());
        // Earlier versions stored any string: it still loads, as a group of its own.
        let old: TaskGroup = serde_json::from_str("\"service:\"").unwrap();
        assert_eq!(old, TaskGroup::Custom("service:".into()));
        let long: TaskGroup = serde_json::from_str(&format!("{:?}", "x".repeat(300))).unwrap();
        assert_eq!(long, TaskGroup::Custom("x".repeat(300)));
    }

    #[test]
    fn arns_display_and_parse() {
        let arn = ArnScope::default().arn("task-definition/web:1");
        assert_eq!(
            arn.to_string(),
            "arn:aws:ecs:local:000000000000:task-definition/web:1"
        );
        assert_eq!(arn.to_string().parse::<Arn>().unwrap(), arn);
    }
}

/// Serializes an identifier as its text and reads it back through `FromStr`, so that a
/// malformed identifier in JSON is an error naming the rule it breaks.
macro_rules! serde_as_text {
    ($($name:ident),+) => {$(
        impl serde::Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.collect_str(self)
            }
        }

        impl<'de> serde::Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let text = <std::borrow::Cow<'de, str>>::deserialize(d)?;
                text.parse().map_err(serde::de::Error::custom)
            }
        }
    )+};
}

serde_as_text!(
    Family,
    ClusterName,
    ServiceName,
    ContainerName,
    CapacityProviderName,
    InstanceId,
    TaskId,
    TaskDefinitionRef,
    Arn
);

impl serde::Serialize for TaskGroup {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

/// Leniently: a group this library's earlier versions took as any string, and stored,
/// that no longer parses is kept as a [`TaskGroup::Custom`] group (a stored task must
/// always load).
impl<'de> serde::Deserialize<'de> for TaskGroup {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        Ok(text
            .parse()
            .unwrap_or_else(|_| TaskGroup::Custom(text.into_owned())))
    }
}
