//! [`Kind`]: the keyspaces of a store.

use std::fmt;
use std::str::FromStr;

/// What a record holds; each kind is its own keyspace (one redb table, one etcd key
/// prefix ...), so a key only needs to be unique within its kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum Kind {
    /// Task definitions, a record per family and revision.
    TaskDefinition,
    /// Services, with their deployments and load balancer settings.
    Service,
    /// Container instances, with their attributes.
    Instance,
    /// Tasks, with their desired and last status.
    Task,
    /// Auto scaling: scalable targets and their policies.
    Scaling,
    /// Clusters.
    Cluster,
    /// Capacity providers.
    CapacityProvider,
}

const NAMES: &[&str] = &[
    "task_definition",
    "service",
    "instance",
    "task",
    "scaling",
    "cluster",
    "capacity_provider",
];

impl Kind {
    /// Every kind, in order.
    pub const ALL: [Kind; 7] = [
        Kind::TaskDefinition,
        Kind::Service,
        Kind::Instance,
        Kind::Task,
        Kind::Scaling,
        Kind::Cluster,
        Kind::CapacityProvider,
    ];

    /// Its name in snake case, as stores name its keyspace: `"task_definition"`,
    /// `"service"`, `"instance"`, `"task"`, `"scaling"`, `"cluster"`,
    /// `"capacity_provider"`.
    pub const fn as_str(self) -> &'static str {
        match self {
            Kind::TaskDefinition => NAMES[0],
            Kind::Service => NAMES[1],
            Kind::Instance => NAMES[2],
            Kind::Task => NAMES[3],
            Kind::Scaling => NAMES[4],
            Kind::Cluster => NAMES[5],
            Kind::CapacityProvider => NAMES[6],
        }
    }
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Kind {
    type Err = crate::Error;

    /// Reads a name [`Kind::as_str`] gives.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Kind::ALL
            .into_iter()
            .find(|k| k.as_str() == s)
            .ok_or_else(|| crate::Error::UnknownValue {
                kind: "store kind",
                value: s.to_string(),
                expected: NAMES,
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_are_distinct() {
        for k in Kind::ALL {
            assert_eq!(k.as_str().parse::<Kind>().unwrap(), k);
            assert_eq!(k.to_string(), k.as_str());
        }
        let mut names: Vec<_> = Kind::ALL.iter().map(|k| k.as_str()).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), Kind::ALL.len());
        assert!("tasks".parse::<Kind>().is_err());
    }
}
