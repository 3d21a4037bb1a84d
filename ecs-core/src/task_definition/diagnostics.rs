//! What loading and validating a task definition reports: violations (the definition is
//! rejected) and warnings (it is accepted, and something deserves a look).

use std::fmt;

use crate::json_path::JsonPath;

/// Why a task definition is invalid, at one place of it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Violation {
    /// Where, e.g. `containerDefinitions[2].portMappings[0].hostPort`.
    pub path: JsonPath,
    /// Which rule was broken.
    pub kind: ViolationKind,
}

impl fmt::Display for Violation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.path, self.kind)
    }
}

/// The rules a task definition can break. Each names the values involved.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ViolationKind {
    /// A required field is missing.
    #[error("is required")]
    Required,
    /// A field that must have content is empty.
    #[error("must not be empty")]
    Empty,
    /// A name does not follow ECS's naming rule.
    #[error("{value:?} is not a valid name: {rule}")]
    InvalidName {
        /// The name as written.
        value: String,
        /// The rule it breaks.
        rule: &'static str,
    },
    /// Two containers share a name.
    #[error("container name {name:?} is already used by containerDefinitions[{first}]")]
    DuplicateContainerName {
        /// The name.
        name: String,
        /// The index of the first container with that name.
        first: usize,
    },
    /// Two volumes share a name.
    #[error("volume name {name:?} is already used by volumes[{first}]")]
    DuplicateVolumeName {
        /// The name.
        name: String,
        /// The index of the first volume with that name.
        first: usize,
    },
    /// No container is essential, so nothing decides when the task ends.
    #[error("at least one container must be essential")]
    NoEssentialContainer,
    /// More items than ECS allows.
    #[error("at most {max} are allowed, found {found}")]
    TooMany {
        /// The limit.
        max: usize,
        /// How many there are.
        found: usize,
    },
    /// A number outside its allowed range.
    #[error("must be between {min} and {max}, found {found}")]
    OutOfRange {
        /// The smallest allowed value.
        min: i64,
        /// The largest allowed value.
        max: i64,
        /// The value found.
        found: i64,
    },
    /// A task-level `cpu` or `memory` string that does not parse.
    #[error("{value:?} is not a valid task {field}: {reason}")]
    InvalidTaskSize {
        /// `cpu` or `memory`.
        field: &'static str,
        /// The value as written.
        value: String,
        /// What is wrong with it.
        reason: String,
    },
    /// `memoryReservation` above `memory`.
    #[error("memoryReservation ({reservation} MiB) exceeds memory ({limit} MiB)")]
    ReservationAboveLimit {
        /// The soft limit.
        reservation: i32,
        /// The hard limit.
        limit: i32,
    },
    /// One container's memory, or the containers' sum, above the task's memory.
    #[error("containers need {needed} MiB, more than the task's memory ({task} MiB)")]
    MemoryAboveTask {
        /// MiB the container (or all containers) need.
        needed: i64,
        /// The task-level memory in MiB.
        task: u32,
    },
    /// The containers' CPU units above the task's.
    #[error("containers reserve {needed} CPU units, more than the task's cpu ({task})")]
    CpuAboveTask {
        /// CPU units the containers reserve in all.
        needed: i64,
        /// The task-level CPU units.
        task: u32,
    },
    /// A host port claimed twice in one task.
    #[error("host port {port}/{protocol} is already claimed at {first}")]
    DuplicateHostPort {
        /// The port.
        port: i32,
        /// `tcp` or `udp`.
        protocol: &'static str,
        /// The mapping that claimed it first.
        first: JsonPath,
    },
    /// In `host` and `awsvpc` modes, `hostPort` must be omitted or equal `containerPort`.
    #[error(
        "in {mode} network mode hostPort must equal containerPort ({container_port}) or be omitted, found {host_port}"
    )]
    HostPortMismatch {
        /// The network mode.
        mode: &'static str,
        /// The container port.
        container_port: i32,
        /// The host port written.
        host_port: i32,
    },
    /// A field that the network mode does not allow (links outside bridge, ports with `none` ...).
    #[error("not allowed in {mode} network mode")]
    NotAllowedInNetworkMode {
        /// The network mode.
        mode: &'static str,
    },
    /// A reference to a container that does not exist.
    #[error("refers to container {name:?}, which is not in containerDefinitions")]
    UnknownContainer {
        /// The name referred to.
        name: String,
    },
    /// A container that refers to itself.
    #[error("a container cannot refer to itself ({name:?})")]
    SelfReference {
        /// The container's name.
        name: String,
    },
    /// Containers that wait for each other.
    #[error("dependency cycle: {}", cycle.join(" -> "))]
    DependencyCycle {
        /// The containers of the cycle, the first repeated at the end.
        cycle: Vec<String>,
    },
    /// `HEALTHY` on a container without a health check: it would wait forever.
    #[error("condition HEALTHY needs container {name:?} to have a healthCheck")]
    HealthyWithoutHealthCheck {
        /// The container depended on.
        name: String,
    },
    /// `COMPLETE` or `SUCCESS` on an essential container: its exit would stop the task.
    #[error("condition {condition} cannot be set on essential container {name:?}")]
    ConditionOnEssential {
        /// The condition.
        condition: &'static str,
        /// The container depended on.
        name: String,
    },
    /// A mount point naming a volume that does not exist.
    #[error("refers to volume {name:?}, which is not in volumes")]
    UnknownVolume {
        /// The name referred to.
        name: String,
    },
    /// A volume with more than one kind set.
    #[error("a volume has at most one kind, found {}", kinds.join(", "))]
    ConflictingVolumeKinds {
        /// The kinds that are set.
        kinds: Vec<&'static str>,
    },
    /// A value whose form is wrong.
    #[error("{value:?} is malformed: {reason}")]
    Malformed {
        /// The value as written.
        value: String,
        /// What is wrong.
        reason: String,
    },
    /// A soft limit above its hard limit.
    #[error("softLimit {soft} exceeds hardLimit {hard}")]
    SoftLimitAboveHard {
        /// The soft limit.
        soft: i32,
        /// The hard limit.
        hard: i32,
    },
    /// A field valid only together with another setting.
    #[error("only valid when {requires}")]
    RequiresOther {
        /// What it needs.
        requires: &'static str,
    },
    /// A field that another setting makes required.
    #[error("is required by {by}")]
    RequiredBy {
        /// The setting that requires it.
        by: &'static str,
    },
    /// A field that another setting forces to one value.
    #[error("must be {expected} for {by}")]
    MustBe {
        /// The value it must have.
        expected: &'static str,
        /// The setting that forces it.
        by: &'static str,
    },
    /// A memberOf expression that does not parse.
    #[error("{expression:?} is not a valid expression: {error}")]
    InvalidExpression {
        /// The expression.
        expression: String,
        /// Where and why.
        error: crate::placement::query::QueryError,
    },
    /// The document is `describe-task-definition` output, not register input.
    #[error(
        "this is `aws ecs describe-task-definition` output; register the object under \
         `taskDefinition` instead"
    )]
    DescribeOutputWrapper,
}

/// Something worth knowing about an accepted task definition.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Warning {
    /// Where.
    pub path: JsonPath,
    /// What.
    pub kind: WarningKind,
}

impl fmt::Display for Warning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.path, self.kind)
    }
}

/// The kinds of [`Warning`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum WarningKind {
    /// A key ECS does not define; it was ignored (ECS's agent ignores them too).
    #[error("not a task definition field: ignored")]
    UnknownField,
    /// A key of `DescribeTaskDefinition` output; it is kept, but registering assigns its own.
    #[error("read-only field of DescribeTaskDefinition output: kept, but ignored when registering")]
    ReadOnlyField,
    /// A value written in another form than the API's, read as the API's.
    #[error("written as {from}, read as {to}")]
    Normalized {
        /// The value as written.
        from: String,
        /// The value as read.
        to: String,
    },
    /// A feature that only works on AWS: kept, but it has no effect locally.
    #[error("{feature} is AWS-only: kept, but not acted on here")]
    AwsOnly {
        /// What the feature is.
        feature: &'static str,
    },
    /// A log driver that needs what is not here (a daemon of its own, a remote
    /// service): the container keeps the engine's default driver, so its output stays
    /// readable through the engine.
    #[error(
        "the {driver} log driver is not run here: the output stays with the engine's default \
         driver, readable with GetContainerLogs"
    )]
    LogDriverNotRun {
        /// The driver.
        driver: &'static str,
    },
    /// A value honoured here that ECS's API does not list, so AWS may refuse it.
    #[error("{value:?} is not one of ECS's values: honoured here, but AWS may refuse it")]
    NotInEcs {
        /// The value.
        value: &'static str,
    },
    /// A container with no memory setting at all, in a task without task-level memory.
    #[error(
        "no memory, memoryReservation or task-level memory: the scheduler reserves nothing \
         for this container and the engine sets no limit"
    )]
    NoMemory,
    /// A value that looks like an unfilled template placeholder.
    #[error("{value:?} looks like a template placeholder")]
    Placeholder {
        /// The value.
        value: String,
    },
}

/// All the violations of one task definition.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Violations(pub Vec<Violation>);

impl Violations {
    /// The violations, in document order of the rules that found them.
    pub fn iter(&self) -> std::slice::Iter<'_, Violation> {
        self.0.iter()
    }

    /// How many there are.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl<'a> IntoIterator for &'a Violations {
    type Item = &'a Violation;
    type IntoIter = std::slice::Iter<'a, Violation>;
    fn into_iter(self) -> Self::IntoIter {
        self.0.iter()
    }
}

impl fmt::Display for Violations {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let n = self.0.len();
        write!(f, "{n} problem{}", if n == 1 { "" } else { "s" })?;
        for v in &self.0 {
            write!(f, "\n  {v}")?;
        }
        Ok(())
    }
}
