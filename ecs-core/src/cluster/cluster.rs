//! A cluster: container instances, their attributes and status, and what tasks hold on
//! them.

use std::fmt;
use std::sync::Arc;

use rustc_hash::FxHashMap;

use super::attributes;
use super::index::{ClassId, Index, Slot};
use super::instance::{ContainerInstance, GroupId, InstanceRegistration, InstanceStatus};
use super::resources::{HostPort, Resources};
use crate::ids::{ClusterName, InstanceId};
use crate::{Error, ResourceKind};

/// What one placed task holds on its instance, from placement until it is STOPPED.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct AllocationId(u64);

impl fmt::Display for AllocationId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "allocation-{}", self.0)
    }
}

#[derive(Debug, Clone)]
pub(crate) struct Allocation {
    pub(crate) slot: Slot,
    pub(crate) group: GroupId,
    pub(crate) resources: Resources,
    pub(crate) ports: Box<[HostPort]>,
}

/// A pool of container instances on which tasks are placed.
///
/// Resources a task holds stay reserved until [`Cluster::release`] is called for it,
/// which the task lifecycle does when the task is STOPPED (so a task that is still
/// stopping keeps its resources, and frees them at once when it has stopped).
#[derive(Debug, Clone)]
pub struct Cluster {
    name: ClusterName,
    /// Instances by slot; a deregistered instance leaves its slot empty so that slots
    /// (and the index's keys) stay stable.
    slots: Vec<Option<(ContainerInstance, ClassId)>>,
    by_id: FxHashMap<InstanceId, Slot>,
    allocations: FxHashMap<AllocationId, Allocation>,
    next_allocation: u64,
    group_ids: FxHashMap<Arc<str>, GroupId>,
    group_names: Vec<Arc<str>>,
    /// Per group: the instances holding its tasks, and how many each. Spread strategies
    /// count from here, in the group's size rather than the cluster's.
    group_slots: Vec<FxHashMap<Slot, u32>>,
    pub(crate) index: Index,
}

impl Cluster {
    /// An empty cluster.
    pub fn new(name: ClusterName) -> Self {
        Self {
            name,
            slots: Vec::new(),
            by_id: FxHashMap::default(),
            allocations: FxHashMap::default(),
            next_allocation: 0,
            group_ids: FxHashMap::default(),
            group_names: Vec::new(),
            group_slots: Vec::new(),
            index: Index::default(),
        }
    }

    /// Its name.
    pub fn name(&self) -> &ClusterName {
        &self.name
    }

    /// Registers a container instance. It starts ACTIVE with its agent connected.
    pub fn register_instance(
        &mut self,
        registration: InstanceRegistration,
    ) -> Result<&ContainerInstance, Error> {
        if self.by_id.contains_key(&registration.id) {
            return Err(Error::already_exists(
                ResourceKind::ContainerInstance,
                &registration.id,
                Some(&self.name),
            ));
        }
        for (name, value) in &registration.attributes {
            if name == attributes::INSTANCE_ID {
                return Err(Error::InvalidAttribute {
                    name: name.clone(),
                    reason: "is set from the instance id".into(),
                });
            }
            attributes::check_name(name)?;
            if let Some(value) = value {
                attributes::check_value(name, value)?;
            }
        }
        let slot = Slot::try_from(self.slots.len()).map_err(|_| Error::InvalidId {
            kind: "instance id",
            value: registration.id.to_string(),
            reason: "the cluster is full".into(),
        })?;
        let instance = ContainerInstance::new(registration);
        let class = self.index.class_for(&instance);
        if instance.is_placeable() {
            self.index
                .insert(class, slot, instance.remaining_resources());
        }
        self.by_id.insert(instance.id.clone(), slot);
        self.slots.push(Some((instance, class)));
        match self.slots.last() {
            Some(Some((instance, _))) => Ok(instance),
            _ => Err(Error::not_found_in(
                ResourceKind::ContainerInstance,
                slot,
                &self.name,
            )),
        }
    }

    /// Removes an instance. One that still holds tasks is refused unless `force`, which
    /// drops what its tasks held.
    pub fn deregister_instance(
        &mut self,
        id: &InstanceId,
        force: bool,
    ) -> Result<ContainerInstance, Error> {
        let slot = self.slot(id)?;
        let Some((instance, class)) = self.slots[slot as usize].as_ref() else {
            return Err(Error::not_found_in(
                ResourceKind::ContainerInstance,
                id,
                &self.name,
            ));
        };
        if instance.tasks > 0 && !force {
            return Err(Error::InstanceHasTasks {
                instance: id.to_string(),
                tasks: instance.tasks,
            });
        }
        self.index
            .remove(*class, slot, instance.remaining_resources());
        self.allocations.retain(|_, a| a.slot != slot);
        // What its tasks held is gone with it, spread counts included.
        for slots in &mut self.group_slots {
            slots.remove(&slot);
        }
        self.by_id.remove(id);
        let Some((mut instance, _)) = self.slots[slot as usize].take() else {
            return Err(Error::not_found_in(
                ResourceKind::ContainerInstance,
                id,
                &self.name,
            ));
        };
        instance.status = InstanceStatus::Inactive;
        Ok(instance)
    }

    /// The instance with `id`.
    pub fn instance(&self, id: &InstanceId) -> Option<&ContainerInstance> {
        self.by_id.get(id).map(|&slot| self.get(slot))
    }

    /// All instances, in registration order.
    pub fn instances(&self) -> impl Iterator<Item = &ContainerInstance> {
        self.slots.iter().flatten().map(|(i, _)| i)
    }

    /// The instances matching a cluster query expression (ListContainerInstances'
    /// `filter`), in registration order.
    pub fn instances_matching<'a>(
        &'a self,
        query: &'a crate::placement::query::Query,
    ) -> impl Iterator<Item = &'a ContainerInstance> {
        self.instances().filter(move |instance| {
            query.matches(&crate::placement::rules::InstanceTarget {
                cluster: self,
                instance,
            })
        })
    }

    /// How many instances are registered.
    pub fn len(&self) -> usize {
        self.by_id.len()
    }

    /// Whether no instance is registered.
    pub fn is_empty(&self) -> bool {
        self.by_id.is_empty()
    }

    /// Sets custom attributes (`None`: an attribute without a value). Built-in `ecs.*`
    /// attributes are set at registration and cannot be changed.
    pub fn put_attributes<N, V>(
        &mut self,
        id: &InstanceId,
        attrs: impl IntoIterator<Item = (N, Option<V>)>,
    ) -> Result<(), Error>
    where
        N: Into<String>,
        V: Into<String>,
    {
        let slot = self.slot(id)?;
        let attrs: Vec<(String, Option<String>)> = attrs
            .into_iter()
            .map(|(n, v)| (n.into(), v.map(Into::into)))
            .collect();
        for (name, value) in &attrs {
            check_attribute(name, value.as_deref())?;
        }
        self.update(slot, |instance| instance.attributes.extend(attrs));
        Ok(())
    }

    /// Replaces an instance's `ecs.capability.*` attributes with `capabilities` (its
    /// runtime's, as it says now: a control plane restarted on a newer release, or an
    /// engine upgraded, may offer more than was recorded).
    pub(crate) fn refresh_capabilities(
        &mut self,
        id: &InstanceId,
        capabilities: &[&str],
    ) -> Result<(), Error> {
        let slot = self.slot(id)?;
        self.update(slot, |instance| {
            instance
                .attributes
                .retain(|name, _| !name.starts_with("ecs.capability."));
            for c in capabilities {
                instance.attributes.insert((*c).to_owned(), None);
            }
        });
        Ok(())
    }

    /// Replaces an instance's tags.
    pub fn set_tags(&mut self, id: &InstanceId, tags: crate::tags::Tags) -> Result<(), Error> {
        let slot = self.slot(id)?;
        self.update(slot, |instance| instance.tags = tags);
        Ok(())
    }

    /// Removes custom attributes; absent ones are ignored.
    pub fn delete_attributes(&mut self, id: &InstanceId, names: &[&str]) -> Result<(), Error> {
        let slot = self.slot(id)?;
        for name in names {
            check_custom(name)?;
        }
        self.update(slot, |instance| {
            for name in names {
                instance.attributes.remove(*name);
            }
        });
        Ok(())
    }

    /// Attributes across the cluster, optionally only those named `name` (and with
    /// `value`), as `ListAttributes` returns them.
    pub fn list_attributes(
        &self,
        name: Option<&str>,
        value: Option<&str>,
    ) -> Vec<(InstanceId, String, Option<String>)> {
        self.instances()
            .flat_map(|i| i.attributes.iter().map(move |(n, v)| (i, n, v)))
            .filter(|(_, n, v)| {
                name.is_none_or(|x| x == n.as_str())
                    && value.is_none_or(|x| v.as_deref() == Some(x))
            })
            .map(|(i, n, v)| (i.id.clone(), n.clone(), v.clone()))
            .collect()
    }

    /// Sets an instance's status. DRAINING and the others take no new tasks.
    pub fn set_status(&mut self, id: &InstanceId, status: InstanceStatus) -> Result<(), Error> {
        let slot = self.slot(id)?;
        self.update(slot, |instance| instance.status = status);
        Ok(())
    }

    /// Records whether an instance's agent is connected; a disconnected one takes no new
    /// tasks.
    pub fn set_agent_connected(&mut self, id: &InstanceId, connected: bool) -> Result<(), Error> {
        let slot = self.slot(id)?;
        self.update(slot, |instance| instance.agent_connected = connected);
        Ok(())
    }

    /// Frees what a task held. Call it when the task is STOPPED.
    pub fn release(&mut self, allocation: AllocationId) -> Result<(), Error> {
        let a = self
            .allocations
            .remove(&allocation)
            .ok_or_else(|| Error::not_found(ResourceKind::Allocation, allocation))?;
        self.update_resources(a.slot, |instance| {
            instance.reserved = instance.reserved.saturating_sub(a.resources);
            for port in a.ports.iter() {
                instance.ports.remove(port);
            }
            instance.tasks -= 1;
            if let Some(n) = instance.groups.get_mut(&a.group) {
                *n -= 1;
                if *n == 0 {
                    instance.groups.remove(&a.group);
                }
            }
        });
        if let Some(slots) = self.group_slots.get_mut(a.group as usize)
            && let Some(n) = slots.get_mut(&a.slot)
        {
            *n -= 1;
            if *n == 0 {
                slots.remove(&a.slot);
            }
        }
        Ok(())
    }

    /// The instance an allocation is on, and what it holds.
    pub fn allocation(&self, allocation: AllocationId) -> Option<(&InstanceId, Resources)> {
        self.allocations
            .get(&allocation)
            .map(|a| (&self.get(a.slot).id, a.resources))
    }

    /// How many allocations (tasks holding resources) the cluster has.
    pub fn allocation_count(&self) -> usize {
        self.allocations.len()
    }

    /// How many tasks of `group` hold resources on the instance.
    pub fn group_tasks_on(&self, instance: &ContainerInstance, group: &str) -> u32 {
        self.group_ids
            .get(group)
            .and_then(|g| instance.groups.get(g))
            .copied()
            .unwrap_or(0)
    }

    // ---- for the schedulers ----

    pub(crate) fn slot(&self, id: &InstanceId) -> Result<Slot, Error> {
        self.by_id
            .get(id)
            .copied()
            .ok_or_else(|| Error::not_found_in(ResourceKind::ContainerInstance, id, &self.name))
    }

    /// The instance in `slot`. Callers pass slots taken from the index, `by_id` or the
    /// allocations, which only ever name registered instances: the `expect` states that
    /// invariant (every deregistration removes the slot from all three first).
    pub(crate) fn get(&self, slot: Slot) -> &ContainerInstance {
        &self.slots[slot as usize]
            .as_ref()
            .expect("slot of a registered instance")
            .0
    }

    /// Registered slots, in registration order.
    pub(crate) fn slots(&self) -> impl Iterator<Item = (Slot, &ContainerInstance)> {
        self.slots
            .iter()
            .enumerate()
            .filter_map(|(s, i)| i.as_ref().map(|(i, _)| (s as Slot, i)))
    }

    pub(crate) fn group_id(&mut self, name: &str) -> GroupId {
        if let Some(&id) = self.group_ids.get(name) {
            return id;
        }
        let id = self.group_names.len() as GroupId;
        let name: Arc<str> = Arc::from(name);
        self.group_names.push(name.clone());
        self.group_ids.insert(name, id);
        self.group_slots.push(FxHashMap::default());
        id
    }

    /// The instances holding tasks of `group`, with how many each.
    pub(crate) fn group_slots(&self, group: GroupId) -> impl Iterator<Item = (Slot, u32)> + '_ {
        self.group_slots
            .get(group as usize)
            .into_iter()
            .flatten()
            .map(|(&s, &n)| (s, n))
    }

    /// Reserves `resources` and `ports` on `slot` for a task of `group`. The caller has
    /// checked that they fit.
    pub(crate) fn reserve(
        &mut self,
        slot: Slot,
        group: GroupId,
        resources: Resources,
        ports: &[HostPort],
    ) -> AllocationId {
        let id = AllocationId(self.next_allocation);
        self.next_allocation += 1;
        self.update_resources(slot, |instance| {
            instance.reserved = instance.reserved.saturating_add(resources);
            instance.ports.extend(ports.iter().copied());
            instance.tasks += 1;
            *instance.groups.entry(group).or_insert(0) += 1;
        });
        if let Some(slots) = self.group_slots.get_mut(group as usize) {
            *slots.entry(slot).or_insert(0) += 1;
        }
        self.allocations.insert(
            id,
            Allocation {
                slot,
                group,
                resources,
                ports: ports.into(),
            },
        );
        id
    }

    /// Applies `change` to an instance and keeps the index in step: out before, in after,
    /// under a new class when its attributes changed.
    fn update(&mut self, slot: Slot, change: impl FnOnce(&mut ContainerInstance)) {
        let Some((instance, class)) = self.slots[slot as usize].as_mut() else {
            return;
        };
        self.index
            .remove(*class, slot, instance.remaining_resources());
        change(instance);
        *class = self.index.class_for(instance);
        if instance.is_placeable() {
            self.index
                .insert(*class, slot, instance.remaining_resources());
        }
    }

    /// As [`update`](Self::update) for a change of resources only: the hot path of
    /// placement, which moves the instance within its class's ordered sets.
    fn update_resources(&mut self, slot: Slot, change: impl FnOnce(&mut ContainerInstance)) {
        let Some((instance, class)) = self.slots[slot as usize].as_mut() else {
            return;
        };
        let before = instance.remaining_resources();
        let placeable = instance.is_placeable();
        change(instance);
        if placeable {
            let after = instance.remaining_resources();
            self.index.move_resources(*class, slot, before, after);
        }
    }
}

/// Whether `name` (with `value`) may be set as a custom attribute: what
/// [`Cluster::put_attributes`] checks, for callers that check many before setting any.
pub(crate) fn check_attribute(name: &str, value: Option<&str>) -> Result<(), Error> {
    check_custom(name)?;
    if let Some(value) = value {
        attributes::check_value(name, value)?;
    }
    Ok(())
}

fn check_custom(name: &str) -> Result<(), Error> {
    if attributes::is_builtin(name) {
        return Err(Error::InvalidAttribute {
            name: name.to_owned(),
            reason: "built-in ecs.* attributes cannot be changed".into(),
        });
    }
    attributes::check_name(name)
}

impl fmt::Display for Cluster {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "cluster {} ({} instances)", self.name, self.len())
    }
}
