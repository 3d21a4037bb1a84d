//! What placing tasks produced: where each went, and why the rest could not go anywhere.

use std::fmt;

use crate::cluster::{AllocationId, InstanceStatus};
use crate::ids::InstanceId;

/// One placed task: its instance and what it holds there.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Placement {
    /// Where it goes.
    pub instance: InstanceId,
    /// What it holds, to [`release`](crate::cluster::Cluster::release) when it stops.
    pub allocation: AllocationId,
}

/// Why an instance cannot take a task, in ECS's words.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum FailureReason {
    /// Not enough CPU left.
    Cpu,
    /// Not enough memory left.
    Memory,
    /// A host port the task needs is taken.
    Ports,
    /// Not enough GPUs left.
    Gpu,
    /// The instance is not ACTIVE (DRAINING, ...).
    Status(InstanceStatus),
    /// The instance's agent is disconnected.
    Agent,
    /// The instance lacks an attribute the task requires (a runtime capability ...):
    /// the first one missing.
    Attribute(String),
    /// A memberOf expression does not select it.
    MemberOf,
    /// It already runs a task of the group.
    DistinctInstance,
    /// A custom constraint rejects it.
    Custom(String),
}

impl fmt::Display for FailureReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FailureReason::Cpu => f.write_str("RESOURCE:CPU"),
            FailureReason::Memory => f.write_str("RESOURCE:MEMORY"),
            FailureReason::Ports => f.write_str("RESOURCE:PORTS"),
            FailureReason::Gpu => f.write_str("RESOURCE:GPU"),
            FailureReason::Status(s) => write!(f, "INSTANCE:{s}"),
            FailureReason::Agent => f.write_str("AGENT"),
            FailureReason::Attribute(_) => f.write_str("ATTRIBUTE"),
            FailureReason::MemberOf => f.write_str("MemberOf"),
            FailureReason::DistinctInstance => f.write_str("DistinctInstance"),
            FailureReason::Custom(name) => f.write_str(name),
        }
    }
}

impl FailureReason {
    /// What this reason says of `instances` container instances, in words.
    pub fn detail(&self, instances: u32) -> String {
        let n = instances;
        match self {
            FailureReason::Cpu => format!("{n} container instances lack the CPU units it needs"),
            FailureReason::Memory => format!("{n} container instances lack the memory it needs"),
            FailureReason::Ports => {
                format!("{n} container instances have a host port it needs taken")
            }
            FailureReason::Gpu => format!("{n} container instances lack the GPUs it needs"),
            FailureReason::Status(s) => format!("{n} container instances are {s}"),
            FailureReason::Agent => {
                format!("{n} container instances have their agent disconnected")
            }
            FailureReason::Attribute(a) => {
                format!("{n} container instances lack the attribute {a}")
            }
            FailureReason::MemberOf => {
                format!("{n} container instances are not selected by its memberOf constraint")
            }
            FailureReason::DistinctInstance => {
                format!("{n} container instances already run a task of its group")
            }
            FailureReason::Custom(name) => {
                format!("{n} container instances are refused by the constraint {name}")
            }
        }
    }
}

/// How many instances one reason rejected.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    /// The reason.
    pub reason: FailureReason,
    /// How many instances it rejected.
    pub instances: u32,
}

/// One instance left out, and the first filter or constraint that rejected it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rejection {
    /// The instance.
    pub instance: InstanceId,
    /// Why.
    pub reason: FailureReason,
}

/// The result of placing (or planning) a request.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Outcome {
    /// The placed tasks, in placement order.
    pub placements: Vec<Placement>,
    /// How many of the requested tasks could not be placed.
    pub unplaced: u32,
    /// When some could not: rejected instances counted per reason, most common first.
    pub failures: Vec<Failure>,
    /// When some could not: every instance and why it was rejected, in registration order.
    pub rejections: Vec<Rejection>,
}
