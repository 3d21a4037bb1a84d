//! [`EcsConfig`]: the settings of a control plane, its agents and its controllers; and
//! [`OrphanPolicy`], what recovery does with containers of no known task.
//!
//! Its own module, below every layer of the control plane, so that each part reads its
//! settings from here rather than from the facade.

use std::time::Duration;

use crate::ids::ArnScope;
use crate::runtime::PullPolicy;
use crate::service::ThrottleConfig;

/// Settings of the control plane and its agents.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct EcsConfig {
    /// How often each instance's agent lists its containers (one call per instance,
    /// however many tasks it runs), in case an event was missed; and how often each
    /// service's controller looks again without being woken.
    pub resync_interval: Duration,
    /// How long an agent waits before reopening its runtime's event stream.
    pub reconnect_interval: Duration,
    /// When images are pulled.
    pub pull_policy: PullPolicy,
    /// Region and account of the ARNs made.
    pub arn_scope: ArnScope,
    /// How long an instance's agent may stay disconnected before the instance counts as
    /// lost and services replace its tasks elsewhere.
    pub instance_lost_timeout: Duration,
    /// The back-off of services whose tasks keep failing.
    pub service_throttle: ThrottleConfig,
    /// How often auto scaling samples and evaluates, and its alarms' periods.
    pub autoscaling: crate::autoscaling::AutoScalingConfig,
    /// How often managed scaling looks at capacity providers, and how long a task
    /// waits for capacity.
    pub capacity: CapacityConfig,
    /// How long a STOPPED task stays visible (described, listed) before it is
    /// forgotten, from memory and from the store, as ECS forgets its stopped tasks
    /// (default one hour). Services see their tasks stop long before.
    pub stopped_task_ttl: Duration,
    /// What recovery does with containers that carry this library's labels for a
    /// cluster it manages but belong to no task it knows (see
    /// [`Ecs::open`](crate::Ecs::open)).
    pub orphans: OrphanPolicy,
    /// Where containers' `secrets` and `environmentFiles` are read from (none by
    /// default: a task that has some then stops, `ResourceInitializationError`). See
    /// [`secrets`](crate::secrets).
    pub secret_provider: Option<std::sync::Arc<dyn crate::secrets::SecretProvider>>,
    /// Whether containers get `ECS_CONTAINER_METADATA_URI_V4`, the task metadata
    /// endpoint (v4), served at each engine's gateway (on by default).
    pub metadata_endpoint: bool,
    /// The endpoint's port at each address (0, the default: any free port).
    pub metadata_port: u16,
}

impl Default for EcsConfig {
    fn default() -> Self {
        Self {
            resync_interval: Duration::from_secs(30),
            reconnect_interval: Duration::from_secs(5),
            pull_policy: PullPolicy::IfNotPresent,
            arn_scope: ArnScope::default(),
            instance_lost_timeout: Duration::from_secs(180),
            service_throttle: ThrottleConfig::default(),
            autoscaling: crate::autoscaling::AutoScalingConfig::default(),
            capacity: CapacityConfig::default(),
            stopped_task_ttl: Duration::from_secs(3600),
            orphans: OrphanPolicy::default(),
            secret_provider: None,
            metadata_endpoint: true,
            metadata_port: 0,
        }
    }
}

/// Capacity providers' loop: its period and how long tasks wait for capacity.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct CapacityConfig {
    /// How often managed scaling decides (it also decides whenever a task starts
    /// waiting or an instance changes). ECS's metric has a one-minute period; 15 s here.
    pub period: Duration,
    /// How long a task waits in PROVISIONING for capacity before it is stopped
    /// (`TaskFailedToStart`). 30 minutes.
    pub wait_timeout: Duration,
}

impl Default for CapacityConfig {
    fn default() -> Self {
        Self {
            period: Duration::from_secs(15),
            wait_timeout: Duration::from_secs(30 * 60),
        }
    }
}

impl CapacityConfig {
    /// Deciding every `period`.
    pub fn with_period(mut self, period: Duration) -> Self {
        self.period = period;
        self
    }

    /// Tasks waiting at most `timeout` for capacity.
    pub fn with_wait_timeout(mut self, timeout: Duration) -> Self {
        self.wait_timeout = timeout;
        self
    }
}

/// What recovery does with a container that carries this library's labels for one of
/// its clusters but belongs to no task the store knows (its task was never recorded, or
/// was recorded STOPPED).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum OrphanPolicy {
    /// Stop and remove it (the default): nothing runs that the control plane does not
    /// account for.
    #[default]
    Stop,
    /// Leave it running, and only report it.
    Keep,
    /// Take it over as a task, when its labels name a task definition revision the
    /// store holds (its task ARN, cluster, family, revision and group are on its
    /// labels): the task is recorded and watched like the others, its resources
    /// reserved; a service's task counts for its service. Otherwise as `Stop`.
    Adopt,
}
