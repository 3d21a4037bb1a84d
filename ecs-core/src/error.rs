//! The crate's one error type.

use crate::ids::ClusterName;
use crate::json_path::JsonPath;
use crate::task_definition::Violations;

/// Everything that can go wrong in `ecs-core`. Each variant says what and where.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The text is not JSON.
    #[error("malformed JSON at line {line}, column {column}: {message}")]
    Syntax {
        /// 1-based line.
        line: usize,
        /// 1-based column.
        column: usize,
        /// What the parser expected.
        message: String,
    },
    /// JSON whose shape does not match the model: a wrong type, an unknown enum value, a
    /// missing required field of a nested object.
    #[error("{path}: {message}{}", position(*.line, *.column))]
    Shape {
        /// Where.
        path: JsonPath,
        /// 1-based line, when read from text.
        line: Option<usize>,
        /// 1-based column, when read from text.
        column: Option<usize>,
        /// What was expected.
        message: String,
    },
    /// A well-formed task definition that breaks ECS's rules: every violation at once.
    #[error("invalid task definition: {0}")]
    Invalid(Violations),
    /// A string that is not one of an API enum's values.
    #[error("{value:?} is not a valid {kind}; expected one of: {}", expected.join(", "))]
    UnknownValue {
        /// The enum's name.
        kind: &'static str,
        /// The value given.
        value: String,
        /// The values allowed.
        expected: &'static [&'static str],
    },
    /// A malformed identifier (family, revision, ARN, service name ...).
    #[error("invalid {kind} {value:?}: {reason}")]
    InvalidId {
        /// What kind of identifier.
        kind: &'static str,
        /// The text given.
        value: String,
        /// What is wrong with it.
        reason: String,
    },
    /// No such resource: which kind, which one, and in which cluster for those that
    /// live in one (ECS's `ClusterNotFoundException`, `ServiceNotFoundException`, ...).
    #[error("{kind} {id} not found{}", in_cluster(cluster.as_ref()))]
    NotFound {
        /// What kind of resource.
        kind: ResourceKind,
        /// Its name, id or `family:revision`.
        id: String,
        /// Its cluster, for a service, task or container instance.
        cluster: Option<ClusterName>,
    },
    /// A resource of that kind and name exists already (a service ACTIVE or DRAINING,
    /// a cluster, a registered container instance).
    #[error("{kind} {id} already exists{}", in_cluster(cluster.as_ref()))]
    AlreadyExists {
        /// What kind of resource.
        kind: ResourceKind,
        /// Its name or id.
        id: String,
        /// Its cluster, for a service or container instance.
        cluster: Option<ClusterName>,
    },
    /// The revision is INACTIVE: describable, but not usable for new tasks or services.
    #[error("task definition {0} is INACTIVE and cannot be used for new tasks")]
    TaskDefinitionInactive(String),
    /// An operation that starts background work (a task's runner, a service's
    /// controller) was called outside a Tokio runtime.
    #[error("{operation} runs its work on Tokio: call it within a Tokio runtime")]
    NoRuntime {
        /// The operation.
        operation: &'static str,
    },
    /// A request ECS refuses as it is (`InvalidParameterException`): which operation,
    /// which member, and why. A limit (RunTask's count, a task definition's size) is
    /// one of these.
    #[error("{operation}: {member}: {reason}")]
    InvalidParameter {
        /// The operation (`RunTask`, `RegisterTaskDefinition` ...).
        operation: &'static str,
        /// The request's member, as ECS spells it (`count`, `group` ...).
        member: &'static str,
        /// What is wrong with it.
        reason: String,
    },
    /// Deregistering an instance that still holds tasks, without `force`.
    #[error("container instance {instance} still holds {tasks} tasks; stop them or force")]
    InstanceHasTasks {
        /// The instance.
        instance: String,
        /// How many tasks hold resources on it.
        tasks: u32,
    },
    /// DeleteCluster of a cluster that still holds instances, services or tasks.
    #[error("cluster {cluster} still holds {count} {holds}; remove them first")]
    ClusterNotEmpty {
        /// The cluster.
        cluster: ClusterName,
        /// What it holds (the first of instances, services, tasks found).
        holds: ClusterContents,
        /// How many.
        count: usize,
    },
    /// An attribute that cannot be set.
    #[error("attribute {name:?}: {reason}")]
    InvalidAttribute {
        /// The attribute's name.
        name: String,
        /// Why.
        reason: String,
    },
    /// A cluster query expression that does not parse.
    #[error("invalid expression {expression:?}: {error}")]
    Query {
        /// The expression.
        expression: String,
        /// Where and why.
        #[source]
        error: crate::placement::query::QueryError,
    },
    /// A container instance's runtime failed.
    #[error("container instance {instance}: {error}")]
    Runtime {
        /// The instance.
        instance: String,
        /// What the runtime said.
        #[source]
        error: crate::runtime::RuntimeError,
    },
    /// A task definition needs what an instance's runtime cannot do.
    #[error("container instance {instance} ({runtime}) does not support {missing}")]
    Unsupported {
        /// The instance.
        instance: String,
        /// Its runtime.
        runtime: String,
        /// What the task definition needs that it lacks.
        missing: String,
    },
    /// An instance group's provider could not launch or terminate instances.
    #[error("instance group {group}: {reason}")]
    InstanceProvider {
        /// The group (or the provider's name for it).
        group: String,
        /// What went wrong.
        reason: String,
    },
    /// A capacity provider that is in use (by a cluster, a service, a waiting task)
    /// cannot be deleted or taken off its cluster.
    #[error("capacity provider {provider} is in use: {reason}")]
    CapacityProviderInUse {
        /// The provider.
        provider: String,
        /// By what.
        reason: String,
    },
    /// A placement request ECS would refuse (too many strategies, an unknown field ...).
    #[error("invalid placement request: {0}")]
    InvalidPlacement(String),
    /// A CreateService or UpdateService request ECS would refuse: which member, and why.
    #[error("invalid service request: {0}")]
    InvalidService(String),
    /// The request conflicts with the service's state (e.g. deleting a service that
    /// still has tasks without `force`).
    #[error("service {service}: {reason}")]
    ServiceConflict {
        /// The service.
        service: String,
        /// Why.
        reason: String,
    },
    /// An auto scaling request that cannot be applied: what and why.
    #[error("invalid auto scaling request: {0}")]
    InvalidScaling(String),
    /// The cluster holds as many services as its limits allow.
    #[error("cluster {cluster} already holds its limit of {limit} services")]
    ServiceLimitExceeded {
        /// The cluster.
        cluster: String,
        /// Its limit.
        limit: u32,
    },
    /// A load balancer's configuration that cannot work: which setting, and why.
    #[error("invalid load balancer configuration: {0}")]
    InvalidLoadBalancerConfig(String),
    /// A load balancer could not listen on its address.
    #[error("load balancer cannot listen on {address}: {message}")]
    LoadBalancerBind {
        /// The address.
        address: std::net::SocketAddr,
        /// The operating system's error kind (`AddrInUse`, `AddrNotAvailable`,
        /// `PermissionDenied` ...).
        kind: std::io::ErrorKind,
        /// What the operating system said.
        message: String,
    },
    /// The task metadata endpoint could not listen where an engine's containers reach
    /// the host.
    #[error("task metadata endpoint cannot listen on {address}: {message}")]
    MetadataEndpoint {
        /// The address.
        address: std::net::SocketAddr,
        /// What the operating system said.
        message: String,
    },
    /// A load balancer failed or refused an operation (it is shut down, its
    /// configuration could not be written ...). Implementations of
    /// [`LoadBalancer`](crate::load_balancer::LoadBalancer) report their own failures
    /// with it.
    #[error("load balancer {name}: {reason}")]
    LoadBalancer {
        /// The load balancer's name.
        name: String,
        /// What went wrong.
        reason: String,
    },
    /// A store's write whose expected version did not hold: another writer got there
    /// first, or the caller's view is stale. Nothing of its transaction was applied.
    #[error("store conflict on {kind} {key:?}: expected {}, found {}", version(*.expected), version(*.found))]
    StoreConflict {
        /// The record's kind.
        kind: crate::store::Kind,
        /// The record's key.
        key: String,
        /// The version the write expected (`None`: that the record did not exist).
        expected: Option<u64>,
        /// The version found (`None`: no such record).
        found: Option<u64>,
    },
    /// The store refused a writer that no longer holds it: a leader whose leadership
    /// (its lease on etcd) ended, and whom another has succeeded. This writer must act
    /// on nothing more. Its commit was not applied; except a large one refused after
    /// its commit point, which the next writer finishes whole.
    #[error("store: this writer was fenced off ({reason}); another holds the store now")]
    StoreFenced {
        /// Why: the lease expired, the leadership key is gone or belongs to another.
        reason: String,
    },
    /// The file is not a store at all: another program's file, an empty file, a redb
    /// database without the store's metadata. It was left as it was.
    #[error("{} is not an ecs store (it holds {found}); it was left as it is", path.display())]
    StoreForeign {
        /// The file.
        path: std::path::PathBuf,
        /// What it seems to hold instead.
        found: String,
    },
    /// The file is a store, or the start of one, that cannot be read: truncated,
    /// damaged. It was left as it was.
    #[error("store {} is damaged: {reason}; it was left as it is", path.display())]
    StoreCorrupt {
        /// The file.
        path: std::path::PathBuf,
        /// What is wrong with it.
        reason: String,
    },
    /// A store of a schema this build cannot read: written by a newer version, or older
    /// than any migration this build has. It was left as it was.
    #[error("store {}: {}; it was left as it is", path.display(), schema(*.found, *.supported))]
    StoreVersion {
        /// The file.
        path: std::path::PathBuf,
        /// The schema version the file holds.
        found: u32,
        /// The schema version this build reads and writes.
        supported: u32,
    },
    /// The store is open in another process, or elsewhere in this one.
    #[error("store {} is already open (by another process, or elsewhere in this one)", path.display())]
    StoreInUse {
        /// The file.
        path: std::path::PathBuf,
    },
    /// A store failed: I/O, a write it could not make, a failure injected by a test.
    #[error("store{}: {reason}", path.as_ref().map(|p| format!(" {}", p.display())).unwrap_or_default())]
    Store {
        /// The file, for stores on disk.
        path: Option<std::path::PathBuf>,
        /// What went wrong.
        reason: String,
    },
}

/// What keeps a cluster from being deleted ([`Error::ClusterNotEmpty`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ClusterContents {
    /// Registered container instances (ACTIVE or DRAINING).
    ContainerInstances,
    /// Services that are ACTIVE or DRAINING.
    Services,
    /// Tasks that are not STOPPED.
    Tasks,
}

impl std::fmt::Display for ClusterContents {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            ClusterContents::ContainerInstances => "container instances",
            ClusterContents::Services => "active or draining services",
            ClusterContents::Tasks => "tasks that are not stopped",
        })
    }
}

/// The kinds of resources an [`Error::NotFound`] or [`Error::AlreadyExists`] names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ResourceKind {
    /// A cluster.
    Cluster,
    /// A task definition (a family, or one revision).
    TaskDefinition,
    /// A container instance.
    ContainerInstance,
    /// A task.
    Task,
    /// A container of a task (named by its name and its task).
    Container,
    /// A service.
    Service,
    /// An Application Auto Scaling scalable target.
    ScalableTarget,
    /// An auto scaling policy.
    ScalingPolicy,
    /// A placement's allocation of an instance's resources.
    Allocation,
    /// A capacity provider.
    CapacityProvider,
    /// An instance group (what a capacity provider's `autoScalingGroupArn` names).
    InstanceGroup,
}

impl std::fmt::Display for ResourceKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            ResourceKind::Cluster => "cluster",
            ResourceKind::CapacityProvider => "capacity provider",
            ResourceKind::InstanceGroup => "instance group",
            ResourceKind::TaskDefinition => "task definition",
            ResourceKind::ContainerInstance => "container instance",
            ResourceKind::Task => "task",
            ResourceKind::Container => "container",
            ResourceKind::Service => "service",
            ResourceKind::ScalableTarget => "scalable target",
            ResourceKind::ScalingPolicy => "scaling policy",
            ResourceKind::Allocation => "allocation",
        })
    }
}

impl Error {
    /// No `kind` named `id` (outside any cluster).
    pub fn not_found(kind: ResourceKind, id: impl ToString) -> Self {
        Error::NotFound {
            kind,
            id: id.to_string(),
            cluster: None,
        }
    }

    /// No `kind` named `id` in `cluster`.
    pub fn not_found_in(kind: ResourceKind, id: impl ToString, cluster: &ClusterName) -> Self {
        Error::NotFound {
            kind,
            id: id.to_string(),
            cluster: Some(cluster.clone()),
        }
    }

    /// A `kind` named `id` exists already in `cluster` (or outside any).
    pub fn already_exists(
        kind: ResourceKind,
        id: impl ToString,
        cluster: Option<&ClusterName>,
    ) -> Self {
        Error::AlreadyExists {
            kind,
            id: id.to_string(),
            cluster: cluster.cloned(),
        }
    }

    /// Whether this is a [`Error::NotFound`] of `kind`.
    pub fn is_not_found(&self, kind: ResourceKind) -> bool {
        matches!(self, Error::NotFound { kind: k, .. } if *k == kind)
    }
}

fn in_cluster(cluster: Option<&ClusterName>) -> String {
    cluster
        .map(|c| format!(" in cluster {c}"))
        .unwrap_or_default()
}

fn version(v: Option<u64>) -> String {
    match v {
        Some(v) => format!("version {v}"),
        None => "no record".to_string(),
    }
}

fn schema(found: u32, supported: u32) -> String {
    if found > supported {
        format!("written by a newer version: schema {found}, this build reads up to {supported}")
    } else {
        format!("schema {found} is older than any this build can migrate to {supported}")
    }
}

fn position(line: Option<usize>, column: Option<usize>) -> String {
    match (line, column) {
        (Some(l), Some(c)) => format!(" (line {l}, column {c})"),
        _ => String::new(),
    }
}
