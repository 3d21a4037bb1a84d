//! The placement index: instances grouped into classes of identical attributes, and per
//! class ordered sets keyed by remaining memory and CPU, so the scheduler finds the best
//! fitting instance in O(log n) instead of scanning the cluster.
//!
//! Only placeable instances (ACTIVE, agent connected) are indexed. The cluster keeps the
//! index in step with every change of resources, status or attributes.

use std::collections::{BTreeMap, BTreeSet};

use rustc_hash::FxHashMap;

use super::attributes;
use super::instance::ContainerInstance;
use super::resources::Resources;

pub(crate) type ClassId = u32;
pub(crate) type Slot = u32;

/// Instances whose attributes (all but `ecs.instance-id`) are identical: any expression
/// over attributes, and any spread over an attribute, treats them alike.
#[derive(Debug, Clone, Default)]
pub(crate) struct Class {
    pub(crate) attributes: BTreeMap<String, Option<String>>,
    /// Placeable members, by slot.
    pub(crate) members: BTreeSet<Slot>,
    /// Placeable members by (remaining memory, slot).
    pub(crate) by_memory: BTreeSet<(u32, Slot)>,
    /// Placeable members by (remaining CPU, slot).
    pub(crate) by_cpu: BTreeSet<(u32, Slot)>,
}

#[derive(Debug, Clone, Default)]
pub(crate) struct Index {
    pub(crate) classes: Vec<Class>,
    /// Classes with placeable members: what a request looks at, however many classes
    /// attribute changes have left empty.
    pub(crate) live: BTreeSet<ClassId>,
    by_attributes: FxHashMap<Vec<(String, Option<String>)>, ClassId>,
}

impl Index {
    /// The class of instances with `instance`'s attributes, created when new.
    pub(crate) fn class_for(&mut self, instance: &ContainerInstance) -> ClassId {
        let key: Vec<(String, Option<String>)> = instance
            .attributes
            .iter()
            .filter(|(name, _)| name.as_str() != attributes::INSTANCE_ID)
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        if let Some(&id) = self.by_attributes.get(&key) {
            return id;
        }
        let id = self.classes.len() as ClassId;
        self.classes.push(Class {
            attributes: key.iter().cloned().collect(),
            ..Class::default()
        });
        self.by_attributes.insert(key, id);
        id
    }

    /// Adds a placeable `slot` with its `remaining` resources.
    pub(crate) fn insert(&mut self, class: ClassId, slot: Slot, remaining: Resources) {
        let c = &mut self.classes[class as usize];
        self.live.insert(class);
        c.members.insert(slot);
        c.by_memory.insert((remaining.memory, slot));
        c.by_cpu.insert((remaining.cpu, slot));
    }

    /// Removes `slot`, which must still have the resources it was inserted with (a slot
    /// that is not indexed is left as it is).
    pub(crate) fn remove(&mut self, class: ClassId, slot: Slot, remaining: Resources) {
        let c = &mut self.classes[class as usize];
        c.members.remove(&slot);
        if c.members.is_empty() {
            self.live.remove(&class);
        }
        c.by_memory.remove(&(remaining.memory, slot));
        c.by_cpu.remove(&(remaining.cpu, slot));
    }

    /// Moves an indexed `slot` from the `before` resources to the `after` ones.
    pub(crate) fn move_resources(
        &mut self,
        class: ClassId,
        slot: Slot,
        before: Resources,
        after: Resources,
    ) {
        let c = &mut self.classes[class as usize];
        if before.memory != after.memory {
            c.by_memory.remove(&(before.memory, slot));
            c.by_memory.insert((after.memory, slot));
        }
        if before.cpu != after.cpu {
            c.by_cpu.remove(&(before.cpu, slot));
            c.by_cpu.insert((after.cpu, slot));
        }
    }
}
