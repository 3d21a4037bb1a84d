//! A container instance: a host in a cluster, its resources, attributes and status.

use std::collections::BTreeMap;

use rustc_hash::{FxHashMap, FxHashSet};

use super::attributes;
use super::resources::{HostPort, Resources};
use crate::ids::InstanceId;
use crate::task_definition::enums::api_enum;

api_enum!(
    /// A container instance's status. Only ACTIVE instances take new tasks.
    InstanceStatus {
        /// Takes new tasks.
        Active = "ACTIVE",
        /// Takes no new tasks; services move theirs elsewhere.
        Draining = "DRAINING",
        /// Being registered.
        Registering = "REGISTERING",
        /// Being deregistered.
        Deregistering = "DEREGISTERING",
        /// Registration failed.
        RegistrationFailed = "REGISTRATION_FAILED",
        /// Deregistered.
        Inactive = "INACTIVE",
    }
);

/// What a new container instance brings to a cluster. Build one with
/// [`InstanceRegistration::new`] and the `with_*` methods.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct InstanceRegistration {
    /// Its id (also its `ecs.instance-id` attribute).
    pub id: InstanceId,
    /// What it offers.
    pub resources: Resources,
    /// Built-in and custom attributes (`None`: an attribute without a value).
    pub attributes: BTreeMap<String, Option<String>>,
    /// Its agent's version.
    pub agent_version: Option<String>,
    /// When it registered; now when unset.
    pub registered_at: Option<jiff::Timestamp>,
}

impl InstanceRegistration {
    /// An instance offering `resources`, with no attributes but its id.
    pub fn new(id: InstanceId, resources: Resources) -> Self {
        Self {
            id,
            resources,
            attributes: BTreeMap::new(),
            agent_version: None,
            registered_at: None,
        }
    }

    /// Adds an attribute with a value.
    #[must_use]
    pub fn with_attribute(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.attributes.insert(name.into(), Some(value.into()));
        self
    }

    /// Sets `ecs.availability-zone`.
    #[must_use]
    pub fn with_zone(self, zone: impl Into<String>) -> Self {
        self.with_attribute(attributes::AVAILABILITY_ZONE, zone)
    }

    /// Sets the agent's version.
    #[must_use]
    pub fn with_agent_version(mut self, version: impl Into<String>) -> Self {
        self.agent_version = Some(version.into());
        self
    }

    /// Sets the registration time.
    #[must_use]
    pub fn with_registered_at(mut self, at: jiff::Timestamp) -> Self {
        self.registered_at = Some(at);
        self
    }
}

/// The engine-side identity of a task group (`service:web`, `family:batch`), interned.
pub(crate) type GroupId = u32;

/// A host in a cluster.
#[derive(Debug, Clone)]
pub struct ContainerInstance {
    pub(crate) id: InstanceId,
    pub(crate) status: InstanceStatus,
    pub(crate) agent_connected: bool,
    pub(crate) agent_version: Option<String>,
    pub(crate) registered_at: jiff::Timestamp,
    pub(crate) attributes: BTreeMap<String, Option<String>>,
    pub(crate) registered: Resources,
    pub(crate) reserved: Resources,
    pub(crate) ports: FxHashSet<HostPort>,
    /// Allocations (tasks holding resources) on this instance.
    pub(crate) tasks: u32,
    /// Allocations per task group.
    pub(crate) groups: FxHashMap<GroupId, u32>,
    /// Its tags.
    pub(crate) tags: crate::tags::Tags,
}

impl ContainerInstance {
    pub(crate) fn new(reg: InstanceRegistration) -> Self {
        let mut attributes = reg.attributes;
        attributes.insert(attributes::INSTANCE_ID.to_owned(), Some(reg.id.to_string()));
        Self {
            id: reg.id,
            status: InstanceStatus::Active,
            agent_connected: true,
            agent_version: reg.agent_version,
            registered_at: reg.registered_at.unwrap_or_else(jiff::Timestamp::now),
            attributes,
            registered: reg.resources,
            reserved: Resources::default(),
            ports: FxHashSet::default(),
            tasks: 0,
            groups: FxHashMap::default(),
            tags: crate::tags::Tags::new(),
        }
    }

    /// Its id.
    pub fn id(&self) -> &InstanceId {
        &self.id
    }

    /// Its tags.
    pub fn tags(&self) -> &crate::tags::Tags {
        &self.tags
    }

    /// Its status.
    pub fn status(&self) -> InstanceStatus {
        self.status
    }

    /// Whether its agent is connected.
    pub fn agent_connected(&self) -> bool {
        self.agent_connected
    }

    /// Its agent's version.
    pub fn agent_version(&self) -> Option<&str> {
        self.agent_version.as_deref()
    }

    /// When it registered.
    pub fn registered_at(&self) -> jiff::Timestamp {
        self.registered_at
    }

    /// Its attributes, built-in and custom (`None`: present without a value).
    pub fn attributes(&self) -> &BTreeMap<String, Option<String>> {
        &self.attributes
    }

    /// One attribute: `None` when absent, `Some(None)` when present without a value.
    pub fn attribute(&self, name: &str) -> Option<Option<&str>> {
        self.attributes.get(name).map(Option::as_deref)
    }

    /// What it offered when it registered.
    pub fn registered_resources(&self) -> Resources {
        self.registered
    }

    /// What its tasks hold (including tasks still stopping).
    pub fn reserved_resources(&self) -> Resources {
        self.reserved
    }

    /// What is left for new tasks.
    pub fn remaining_resources(&self) -> Resources {
        self.registered.saturating_sub(self.reserved)
    }

    /// Host ports its tasks hold.
    pub fn ports_in_use(&self) -> impl Iterator<Item = HostPort> + '_ {
        self.ports.iter().copied()
    }

    /// How many tasks hold resources on it (running or still stopping).
    pub fn running_tasks_count(&self) -> u32 {
        self.tasks
    }

    /// Whether it takes new tasks: ACTIVE with a connected agent.
    pub fn is_placeable(&self) -> bool {
        self.status == InstanceStatus::Active && self.agent_connected
    }
}
