//! Tasks of the group per attribute value, for spread strategies: counted once per
//! request, then kept up to date as tasks are placed.

use rustc_hash::FxHashMap;

use crate::cluster::instance::GroupId;
use crate::cluster::{Cluster, ContainerInstance};

/// Counts for one `spread(attribute:NAME)`.
#[derive(Debug)]
pub(crate) struct SpreadCounts {
    attribute: String,
    values: Values,
}

/// Value ids and the tasks of the group per id. "Absent" and "present without a value"
/// are one value.
#[derive(Debug, Default)]
struct Values {
    ids: FxHashMap<String, u32>,
    none: Option<u32>,
    counts: Vec<u32>,
}

impl Values {
    fn get(&self, value: Option<&str>) -> Option<u32> {
        match value {
            Some(v) => self.ids.get(v).copied(),
            None => self.none,
        }
    }

    fn id(&mut self, value: Option<&str>) -> u32 {
        if let Some(id) = self.get(value) {
            return id;
        }
        let id = self.counts.len() as u32;
        self.counts.push(0);
        match value {
            Some(v) => {
                self.ids.insert(v.to_owned(), id);
            }
            None => self.none = Some(id),
        }
        id
    }
}

impl SpreadCounts {
    /// Counts from the instances that hold tasks of `group` (not the whole cluster).
    pub(crate) fn new(cluster: &Cluster, attribute: &str, group: GroupId) -> Self {
        let mut values = Values::default();
        for (slot, n) in cluster.group_slots(group) {
            let id = values.id(value(cluster.get(slot), attribute));
            values.counts[id as usize] += n;
        }
        Self {
            attribute: attribute.to_owned(),
            values,
        }
    }

    /// The id of `value`, made when new.
    pub(crate) fn id_of(&mut self, value: Option<&str>) -> u32 {
        self.values.id(value)
    }

    /// Tasks of the group on instances with the value `id`.
    pub(crate) fn count(&self, id: u32) -> u32 {
        self.values.counts[id as usize]
    }

    /// Tasks of the group on instances sharing `instance`'s value.
    pub(crate) fn count_for(&self, instance: &ContainerInstance) -> u32 {
        self.values
            .get(value(instance, &self.attribute))
            .map_or(0, |id| self.count(id))
    }

    /// One more task on an instance like `instance`.
    pub(crate) fn record(&mut self, instance: &ContainerInstance) {
        let id = self.values.id(value(instance, &self.attribute));
        self.values.counts[id as usize] += 1;
    }

    /// One more task on an instance with the value `id`.
    pub(crate) fn record_id(&mut self, id: u32) {
        self.values.counts[id as usize] += 1;
    }
}

/// The value spread reads: absent and valueless attributes are one group.
pub(crate) fn value<'a>(instance: &'a ContainerInstance, attribute: &str) -> Option<&'a str> {
    instance.attribute(attribute).flatten()
}
