//! The indexed scheduler: the same choices as the [reference](super::ReferenceScheduler)
//! for the same request, at O(log n) per task instead of O(n).
//!
//! How: instances with identical attributes form a class (`cluster::index`), and each
//! class keeps its placeable instances ordered by remaining memory and CPU. Constraints
//! over attributes are decided once per class per request; leading `spread(attribute)`
//! strategies are decided per class (all members share the value); the last strategy
//! (binpack, spread by instance, random) is answered by the class's ordered set. An
//! instance that fails a check during a request can only keep failing until the request
//! ends (resources and ports only shrink, a group only grows), so it is taken out of the
//! index for the rest of the request and put back at the end: every instance is looked
//! at a bounded number of times per request.
//!
//! Requests the index cannot serve exactly (custom strategies or constraints, binpack
//! before another strategy, expressions over `runningTasksCount` or `task:group`, which
//! change as the request places tasks) go to the reference scheduler.

use std::cmp::Ordering;
use std::collections::BTreeSet;

use super::Scheduler;
use super::filter::explain;
use super::outcome::{Outcome, Placement};
use super::query::{Query, QueryTarget, Subject};
use super::reference::ReferenceScheduler;
use super::request::{MAX_STRATEGIES, PlacementRequest};
use super::rules::{BinpackField, Constraint, InstanceTarget, SpreadField, Strategy};
use super::spread::SpreadCounts;
use crate::Error;
use crate::cluster::attributes;
use crate::cluster::index::{ClassId, Slot};
use crate::cluster::{Cluster, ContainerInstance, Resources};

/// The scheduler to use: indexed, exact, and O(log n) per decision for the strategies
/// and constraints ECS offers.
#[derive(Debug)]
pub struct IndexedScheduler {
    rng: fastrand::Rng,
    fallback: ReferenceScheduler,
}

impl Default for IndexedScheduler {
    fn default() -> Self {
        Self::new()
    }
}

impl IndexedScheduler {
    /// A scheduler whose `random` strategy is seeded from the system.
    pub fn new() -> Self {
        Self {
            rng: fastrand::Rng::new(),
            fallback: ReferenceScheduler::new(),
        }
    }

    /// A scheduler whose `random` strategy is seeded with `seed`.
    pub fn with_seed(seed: u64) -> Self {
        Self {
            rng: fastrand::Rng::with_seed(seed),
            fallback: ReferenceScheduler::with_seed(seed),
        }
    }

    /// Whether the index serves `request` (otherwise the reference scheduler does).
    pub fn is_indexed(request: &PlacementRequest) -> bool {
        Shape::of(request).is_some()
    }
}

/// The last ordering key, after the class-level spreads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Last {
    Memory,
    Cpu,
    InstanceSpread,
    Random,
    /// No instance-level strategy: registration order.
    Slot,
}

/// A request in the form the index serves.
struct Shape<'r> {
    spreads: Vec<&'r str>,
    last: Last,
    /// memberOf over attributes: decided per class.
    class_constraints: Vec<&'r Query>,
    /// Attributes every instance must carry: decided per class.
    required_attributes: Vec<&'r str>,
    /// memberOf over the instance id, agent or registration: per instance, fixed during
    /// the request.
    instance_constraints: Vec<&'r Query>,
    distinct: bool,
}

impl<'r> Shape<'r> {
    fn of(request: &'r PlacementRequest) -> Option<Self> {
        let mut shape = Shape {
            spreads: Vec::new(),
            last: Last::Random,
            class_constraints: Vec::new(),
            required_attributes: Vec::new(),
            instance_constraints: Vec::new(),
            distinct: false,
        };
        let n = request.strategies.len();
        for (i, s) in request.strategies.iter().enumerate() {
            let is_last = i + 1 == n;
            match s {
                Strategy::Spread(SpreadField::Attribute(a)) if a != attributes::INSTANCE_ID => {
                    shape.spreads.push(a);
                    if is_last {
                        shape.last = Last::Slot;
                    }
                }
                _ if !is_last => return None,
                Strategy::Spread(_) => shape.last = Last::InstanceSpread,
                Strategy::Binpack(BinpackField::Memory) => shape.last = Last::Memory,
                Strategy::Binpack(BinpackField::Cpu) => shape.last = Last::Cpu,
                Strategy::Random => shape.last = Last::Random,
                Strategy::Custom(_) => return None,
            }
        }
        for c in &request.constraints {
            match c {
                Constraint::DistinctInstance => shape.distinct = true,
                Constraint::RequiresAttributes(names) => {
                    if names.iter().any(|n| n == attributes::INSTANCE_ID) {
                        return None;
                    }
                    shape
                        .required_attributes
                        .extend(names.iter().map(String::as_str));
                }
                Constraint::MemberOf(q) if q.is_static() => shape.class_constraints.push(q),
                Constraint::MemberOf(q) => {
                    // These change while the request places tasks.
                    let moving =
                        |s: &Subject| matches!(s, Subject::RunningTasksCount | Subject::TaskGroup);
                    if q.mentions(moving) {
                        return None;
                    }
                    shape.instance_constraints.push(q);
                }
                Constraint::Custom(_) => return None,
            }
        }
        Some(shape)
    }
}

/// A class's attributes as the query language sees them (for attribute-only expressions).
struct ClassTarget<'a>(&'a std::collections::BTreeMap<String, Option<String>>);

impl QueryTarget for ClassTarget<'_> {
    fn attribute(&self, name: &str) -> Option<Option<&str>> {
        self.0.get(name).map(Option::as_deref)
    }
    fn instance_id(&self) -> &str {
        ""
    }
    fn agent_connected(&self) -> bool {
        true
    }
    fn agent_version(&self) -> Option<&str> {
        None
    }
    fn registered_at(&self) -> jiff::Timestamp {
        jiff::Timestamp::UNIX_EPOCH
    }
    fn running_tasks_count(&self) -> u32 {
        0
    }
    fn has_task_group(&self, _: &str) -> bool {
        false
    }
}

/// A class's state during one request.
struct ClassState {
    class: ClassId,
    /// The class's value id per leading spread.
    spread_ids: Vec<u32>,
    exhausted: bool,
    /// For spread(instanceId): members by (tasks of the group, slot).
    by_count: Option<BTreeSet<(u32, Slot)>>,
    /// For random: members not yet found unfit.
    random: Option<Vec<Slot>>,
}

/// The request being placed, and what it has taken out of the index.
struct Batch<'r> {
    shape: Shape<'r>,
    request: &'r PlacementRequest,
    group: u32,
    need: Resources,
    spreads: Vec<SpreadCounts>,
    classes: Vec<ClassState>,
    excluded: Vec<(ClassId, Slot)>,
    candidates: Vec<usize>,
}

impl Scheduler for IndexedScheduler {
    fn place(
        &mut self,
        cluster: &mut Cluster,
        request: &PlacementRequest,
    ) -> Result<Outcome, Error> {
        request.check()?;
        let Some(shape) = Shape::of(request) else {
            return self.fallback.place(cluster, request);
        };
        let group = cluster.group_id(&request.group);
        let mut spreads: Vec<SpreadCounts> = shape
            .spreads
            .iter()
            .map(|a| SpreadCounts::new(cluster, a, group))
            .collect();
        let mut classes = Vec::new();
        for &id in &cluster.index.live {
            let class = &cluster.index.classes[id as usize];
            let target = ClassTarget(&class.attributes);
            if class.members.is_empty()
                || !shape.class_constraints.iter().all(|q| q.matches(&target))
                || !shape
                    .required_attributes
                    .iter()
                    .all(|a| class.attributes.contains_key(*a))
            {
                continue;
            }
            let spread_ids = shape
                .spreads
                .iter()
                .zip(spreads.iter_mut())
                .map(|(a, counts)| {
                    counts.id_of(class.attributes.get(*a).and_then(|v| v.as_deref()))
                })
                .collect();
            classes.push(ClassState {
                class: id,
                spread_ids,
                exhausted: false,
                by_count: None,
                random: None,
            });
        }
        let mut batch = Batch {
            shape,
            request,
            group,
            need: request.requirements.resources,
            spreads,
            classes,
            excluded: Vec::new(),
            candidates: Vec::new(),
        };

        let mut outcome = Outcome::default();
        // Not `count`: a request may ask for far more than fits.
        outcome
            .placements
            .reserve((request.count as usize).min(cluster.len()));
        for placed in 0..request.count {
            let Some((ci, slot)) = batch.choose(cluster, &mut self.rng) else {
                batch.restore(cluster);
                outcome.unplaced = request.count - placed;
                (outcome.failures, outcome.rejections) = explain(cluster, request);
                return Ok(outcome);
            };
            let allocation = cluster.reserve(slot, group, batch.need, &request.requirements.ports);
            let state = &mut batch.classes[ci];
            for (counts, &id) in batch.spreads.iter_mut().zip(&state.spread_ids) {
                counts.record_id(id);
            }
            if let Some(set) = state.by_count.as_mut() {
                let n = cluster.get(slot).groups.get(&group).copied().unwrap_or(0);
                set.remove(&(n - 1, slot));
                set.insert((n, slot));
            }
            outcome.placements.push(Placement {
                instance: cluster.get(slot).id().clone(),
                allocation,
            });
        }
        batch.restore(cluster);
        Ok(outcome)
    }
}

impl Batch<'_> {
    /// The class and slot of the best instance for the next task.
    fn choose(&mut self, cluster: &mut Cluster, rng: &mut fastrand::Rng) -> Option<(usize, Slot)> {
        loop {
            // The classes whose spread values have the fewest tasks, in strategy order.
            self.candidates.clear();
            let mut min_prefix: Option<[u32; MAX_STRATEGIES]> = None;
            for (i, state) in self.classes.iter().enumerate() {
                if state.exhausted {
                    continue;
                }
                let mut prefix = [0u32; MAX_STRATEGIES];
                for (p, (counts, &id)) in prefix
                    .iter_mut()
                    .zip(self.spreads.iter().zip(&state.spread_ids))
                {
                    *p = counts.count(id);
                }
                match min_prefix.map(|m| prefix.cmp(&m)) {
                    None | Some(Ordering::Less) => {
                        min_prefix = Some(prefix);
                        self.candidates.clear();
                        self.candidates.push(i);
                    }
                    Some(Ordering::Equal) => self.candidates.push(i),
                    Some(Ordering::Greater) => {}
                }
            }
            if self.candidates.is_empty() {
                return None;
            }
            if self.shape.last == Last::Random {
                if let Some(found) = self.random_pick(cluster, rng) {
                    return Some(found);
                }
                continue;
            }
            let mut best: Option<((u32, Slot), usize)> = None;
            for k in 0..self.candidates.len() {
                let ci = self.candidates[k];
                match self.class_best(cluster, ci) {
                    Some(key) if best.is_none_or(|(b, _)| key < b) => best = Some((key, ci)),
                    Some(_) => {}
                    None => self.classes[ci].exhausted = true,
                }
            }
            if let Some(((_, slot), ci)) = best {
                return Some((ci, slot));
            }
        }
    }

    /// The class's best fitting instance by the last key, as `(key, slot)`.
    fn class_best(&mut self, cluster: &mut Cluster, ci: usize) -> Option<(u32, Slot)> {
        let class = self.classes[ci].class;
        loop {
            let index = &cluster.index.classes[class as usize];
            let first = match self.shape.last {
                Last::Memory => index
                    .by_memory
                    .range((self.need.memory, 0)..)
                    .next()
                    .copied(),
                Last::Cpu => index.by_cpu.range((self.need.cpu, 0)..).next().copied(),
                Last::Slot => index.members.iter().next().map(|&s| (0, s)),
                Last::InstanceSpread => {
                    if self.classes[ci].by_count.is_none() {
                        let group = self.group;
                        let set = index
                            .members
                            .iter()
                            .map(|&s| (cluster.get(s).groups.get(&group).copied().unwrap_or(0), s))
                            .collect();
                        self.classes[ci].by_count = Some(set);
                    }
                    let first = self.classes[ci].by_count.as_ref()?.iter().next().copied()?;
                    if self.fits(cluster, cluster.get(first.1)) {
                        return Some(first);
                    }
                    // A request-local set: dropping it there is enough.
                    if let Some(set) = self.classes[ci].by_count.as_mut() {
                        set.remove(&first);
                    }
                    continue;
                }
                // Random picks across classes in `random_pick`, never here.
                Last::Random => return None,
            };
            let (key, slot) = first?;
            if self.fits(cluster, cluster.get(slot)) {
                return Some((key, slot));
            }
            // It will not fit again during this request: out of the index until the end.
            let remaining = cluster.get(slot).remaining_resources();
            cluster.index.remove(class, slot, remaining);
            self.excluded.push((class, slot));
        }
    }

    /// A uniformly random fitting instance among the candidate classes.
    fn random_pick(&mut self, cluster: &Cluster, rng: &mut fastrand::Rng) -> Option<(usize, Slot)> {
        for &ci in &self.candidates {
            let state = &mut self.classes[ci];
            if state.random.is_none() {
                let members = &cluster.index.classes[state.class as usize].members;
                state.random = Some(members.iter().copied().collect());
            }
        }
        loop {
            let total: usize = self
                .candidates
                .iter()
                .map(|&ci| self.classes[ci].random.as_ref().map_or(0, Vec::len))
                .sum();
            if total == 0 {
                for &ci in &self.candidates {
                    self.classes[ci].exhausted = true;
                }
                return None;
            }
            let mut r = rng.usize(..total);
            for &ci in &self.candidates {
                let list = self.classes[ci].random.as_mut().map_or(0, |l| l.len());
                if r >= list {
                    r -= list;
                    continue;
                }
                let slot = self.classes[ci].random.as_ref().map(|l| l[r])?;
                if self.fits(cluster, cluster.get(slot)) {
                    return Some((ci, slot));
                }
                if let Some(l) = self.classes[ci].random.as_mut() {
                    l.swap_remove(r);
                }
                break;
            }
        }
    }

    /// Every check but status and agent (the index holds only placeable instances) and
    /// class-level constraints (decided per class).
    fn fits(&self, cluster: &Cluster, instance: &ContainerInstance) -> bool {
        let left = instance.remaining_resources();
        left.cpu >= self.need.cpu
            && left.memory >= self.need.memory
            && left.gpus >= self.need.gpus
            && !self
                .request
                .requirements
                .ports
                .iter()
                .any(|p| instance.ports.contains(p))
            && !(self.shape.distinct && instance.groups.get(&self.group).is_some_and(|&n| n > 0))
            && self
                .shape
                .instance_constraints
                .iter()
                .all(|q| q.matches(&InstanceTarget { cluster, instance }))
    }

    /// Puts back what the request took out of the index.
    fn restore(&mut self, cluster: &mut Cluster) {
        for (class, slot) in self.excluded.drain(..) {
            let remaining = cluster.get(slot).remaining_resources();
            cluster.index.insert(class, slot, remaining);
        }
    }
}
