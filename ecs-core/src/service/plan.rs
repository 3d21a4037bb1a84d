//! The service scheduler's decision, as a pure function: from a service's desired state
//! and the tasks observed, which tasks to start and which to stop. The controller feeds
//! it and carries its plan out; benchmarks and tests call it directly.
//!
//! The rules, ECS's:
//! - at most `floor(desired × maximumPercent / 100)` tasks exist that are not STOPPED
//!   (stopping ones count: they still hold their instance), not counting tasks on lost
//!   instances, which cannot be reached;
//! - the service never stops a healthy task when that would leave fewer than
//!   `ceil(desired × minimumHealthyPercent / 100)` healthy ones; tasks that are not
//!   healthy (starting, unhealthy, old) may always go;
//! - the PRIMARY deployment is brought to `desired` healthy tasks; older deployments,
//!   tasks on DRAINING or lost instances and extra tasks are retired, the least useful
//!   first.

use std::collections::{BTreeSet, HashMap};

use crate::ids::{InstanceId, TaskId};

/// Where a task's instance stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InstanceState {
    /// ACTIVE and connected.
    Active,
    /// DRAINING: its service tasks move elsewhere.
    Draining,
    /// Its agent has been disconnected for longer than the lost-instance timeout, or it
    /// was deregistered: its tasks are replaced at once.
    Lost,
}

/// A task as the planner sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlanTask {
    /// The task.
    pub id: TaskId,
    /// Whether it belongs to the PRIMARY deployment.
    pub primary: bool,
    /// Its instance; none while it waits for capacity.
    pub instance: Option<InstanceId>,
    /// Its instance's state.
    pub instance_state: InstanceState,
    /// What the task is doing.
    pub phase: TaskPhase,
    /// The instance's value of the attribute scale-in balances (the service's first
    /// spread field, else the availability zone), if any.
    pub spread_key: Option<String>,
    /// What the instance has left of the service's binpack resource (0 without binpack):
    /// scale-in prefers emptier instances.
    pub instance_remaining: u64,
}

/// What a task is doing, for the planner.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TaskPhase {
    /// Not RUNNING yet (or RUNNING but not yet healthy where a health check exists).
    Starting,
    /// RUNNING and healthy (or with no health check).
    Healthy,
    /// UNHEALTHY past the grace period: replaced.
    Unhealthy,
    /// Asked to stop; not STOPPED yet.
    Stopping,
}

/// Why the planner stops a task.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum StopReason {
    /// It failed its health checks past the grace period.
    Unhealthy,
    /// Its instance is lost.
    InstanceLost,
    /// Its instance is DRAINING.
    Draining,
    /// It belongs to an older deployment.
    Deployment,
    /// The service has more tasks than it wants.
    ScaleIn,
    /// (DAEMON) its instance no longer takes the service's tasks.
    NotEligible,
}

impl StopReason {
    /// The stopped reason recorded on the task, in ECS's words.
    pub fn message(self) -> &'static str {
        match self {
            StopReason::Unhealthy => "Task failed container health checks",
            StopReason::InstanceLost => "Container instance lost",
            StopReason::Draining => "Container instance is draining",
            StopReason::Deployment => "Scaling activity initiated by (deployment)",
            StopReason::ScaleIn => "Scaling activity initiated by service scale-in",
            StopReason::NotEligible => "Container instance no longer eligible for the service",
        }
    }
}

/// The planner's input.
#[derive(Debug, Clone, Copy)]
pub struct PlanInput<'a> {
    /// The desired count (for DAEMON, ignored: the eligible instances' count).
    pub desired: u32,
    /// `minimumHealthyPercent`.
    pub minimum_healthy_percent: u32,
    /// `maximumPercent`.
    pub maximum_percent: u32,
    /// The service's tasks that are not STOPPED.
    pub tasks: &'a [PlanTask],
    /// Whether new tasks may start (not throttled, circuit breaker not tripped).
    pub may_start: bool,
    /// DAEMON services: the instances that should each run one task.
    pub daemon_instances: Option<&'a BTreeSet<InstanceId>>,
}

/// The planner's decision.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Plan {
    /// How many PRIMARY tasks to place (REPLICA).
    pub start: u32,
    /// Instances to start one PRIMARY task on (DAEMON).
    pub start_on: Vec<InstanceId>,
    /// Tasks to stop, and why.
    pub stop: Vec<(TaskId, StopReason)>,
}

impl PlanInput<'_> {
    /// The most tasks allowed to exist: `floor(desired x maximumPercent / 100)`, except
    /// when rounding leaves a deployment no room either way (no task above the desired
    /// count, none healthy below it, e.g. 1 task at 50% / 150%): then one more, so that
    /// a rollout can always proceed.
    pub fn max_tasks(&self) -> u32 {
        let desired = self.effective_desired();
        let max = u32::try_from(u64::from(desired) * u64::from(self.maximum_percent) / 100)
            .unwrap_or(u32::MAX);
        if desired > 0 && max <= desired && self.min_healthy() >= desired {
            desired.saturating_add(1)
        } else {
            max
        }
    }

    /// The fewest healthy tasks allowed.
    pub fn min_healthy(&self) -> u32 {
        let desired = self.effective_desired();
        u32::try_from((u64::from(desired) * u64::from(self.minimum_healthy_percent)).div_ceil(100))
            .unwrap_or(u32::MAX)
    }

    fn effective_desired(&self) -> u32 {
        match self.daemon_instances {
            Some(set) => u32::try_from(set.len()).unwrap_or(u32::MAX),
            None => self.desired,
        }
    }
}

/// Decides what to start and stop. Idempotent: given the same observation it makes the
/// same decision, and a decision carried out leads to an observation where it asks for
/// nothing more (tasks asked to stop are `Stopping`; started ones are `Starting`).
pub fn plan(input: &PlanInput<'_>) -> Plan {
    let mut out = Plan::default();
    let max_tasks = input.max_tasks();
    let min_healthy = input.min_healthy();

    // Tasks that count against the maximum: all but those on lost instances.
    let counted = input
        .tasks
        .iter()
        .filter(|t| t.instance_state != InstanceState::Lost)
        .count() as u32;
    let mut healthy = input
        .tasks
        .iter()
        .filter(|t| t.phase == TaskPhase::Healthy && t.instance_state != InstanceState::Lost)
        .count() as u32;

    // Tasks to retire, with the reason; the unconditional ones go at once.
    let mut retire: Vec<(&PlanTask, StopReason)> = Vec::new();
    let mut keep: Vec<&PlanTask> = Vec::new();
    for t in input.tasks {
        if t.phase == TaskPhase::Stopping {
            continue;
        }
        if t.instance_state == InstanceState::Lost {
            out.stop.push((t.id.clone(), StopReason::InstanceLost));
            continue;
        }
        if t.phase == TaskPhase::Unhealthy {
            out.stop.push((t.id.clone(), StopReason::Unhealthy));
            continue;
        }
        let eligible = input
            .daemon_instances
            .is_none_or(|set| t.instance.as_ref().is_none_or(|i| set.contains(i)));
        let reason = if t.instance_state == InstanceState::Draining {
            Some(StopReason::Draining)
        } else if !eligible {
            Some(StopReason::NotEligible)
        } else if !t.primary {
            Some(StopReason::Deployment)
        } else {
            None
        };
        match reason {
            Some(r) => retire.push((t, r)),
            None => keep.push(t),
        }
    }

    // Extra PRIMARY tasks: beyond the desired count, or a second one on an instance of
    // a DAEMON service.
    let extra: Vec<&PlanTask> = match input.daemon_instances {
        None => {
            let surplus = keep.len().saturating_sub(input.desired as usize);
            pick_for_scale_in(&keep, surplus, input.tasks)
        }
        Some(_) => {
            let mut seen = BTreeSet::new();
            // Keep the healthiest task on each instance.
            let mut sorted = keep.clone();
            sorted.sort_by_key(|t| (phase_rank(t.phase), t.id.clone()));
            sorted.reverse();
            sorted
                .into_iter()
                .filter(|t| !seen.insert(t.instance.clone()))
                .collect()
        }
    };
    let extra_ids: BTreeSet<&TaskId> = extra.iter().map(|t| &t.id).collect();
    keep.retain(|t| !extra_ids.contains(&t.id));
    retire.extend(extra.into_iter().map(|t| (t, StopReason::ScaleIn)));

    // Retire what is not healthy first, then healthy tasks while the minimum allows.
    let order: Vec<&PlanTask> = {
        let tasks: Vec<&PlanTask> = retire.iter().map(|(t, _)| *t).collect();
        pick_for_scale_in(&tasks, tasks.len(), input.tasks)
    };
    let reasons: HashMap<&TaskId, StopReason> = retire.iter().map(|(t, r)| (&t.id, *r)).collect();
    for t in order {
        let reason = reasons[&t.id];
        if t.phase == TaskPhase::Healthy {
            if healthy <= min_healthy {
                continue;
            }
            healthy -= 1;
        }
        out.stop.push((t.id.clone(), reason));
    }

    if !input.may_start {
        return out;
    }
    let room = max_tasks.saturating_sub(counted);
    match input.daemon_instances {
        None => {
            let need = input.desired.saturating_sub(keep.len() as u32);
            out.start = need.min(room);
        }
        Some(set) => {
            // An instance takes a new task once nothing of the service is left on it.
            let occupied: BTreeSet<&InstanceId> = input
                .tasks
                .iter()
                .filter(|t| t.instance_state != InstanceState::Lost)
                .filter_map(|t| t.instance.as_ref())
                .collect();
            out.start_on = set
                .iter()
                .filter(|i| !occupied.contains(i))
                .take(room as usize)
                .cloned()
                .collect();
        }
    }
    out
}

/// Lower is stopped first: tasks not yet useful go before healthy ones.
fn phase_rank(phase: TaskPhase) -> u8 {
    match phase {
        TaskPhase::Stopping | TaskPhase::Unhealthy => 0,
        TaskPhase::Starting => 1,
        TaskPhase::Healthy => 2,
    }
}

/// Chooses `count` of `candidates` to stop the way ECS scales in: tasks not healthy
/// first; then, so that what remains stays balanced, a task from the spread value with
/// the most of the service's tasks, then from the instance with the most, then from the
/// instance with the most room left (binpack keeps the fuller ones), then the newest id.
fn pick_for_scale_in<'a>(
    candidates: &[&'a PlanTask],
    count: usize,
    all: &'a [PlanTask],
) -> Vec<&'a PlanTask> {
    if count == 0 {
        return Vec::new();
    }
    // Spread values and instances as small integers, counted over the live tasks.
    let mut keys: HashMap<Option<&str>, usize> = HashMap::new();
    let mut instances: HashMap<Option<&InstanceId>, usize> = HashMap::new();
    let mut per_key: Vec<i64> = Vec::new();
    let mut per_instance: Vec<i64> = Vec::new();
    let index = |t: &'a PlanTask,
                 keys: &mut HashMap<Option<&'a str>, usize>,
                 instances: &mut HashMap<Option<&'a InstanceId>, usize>|
     -> (usize, usize) {
        let next = keys.len();
        let k = *keys.entry(t.spread_key.as_deref()).or_insert(next);
        let next = instances.len();
        let i = *instances.entry(t.instance.as_ref()).or_insert(next);
        (k, i)
    };
    for t in all.iter().filter(|t| t.phase != TaskPhase::Stopping) {
        let (k, i) = index(t, &mut keys, &mut instances);
        per_key.resize(per_key.len().max(k + 1), 0);
        per_instance.resize(per_instance.len().max(i + 1), 0);
        per_key[k] += 1;
        per_instance[i] += 1;
    }
    let mut left: Vec<(&'a PlanTask, usize, usize)> = candidates
        .iter()
        .map(|t| {
            let (k, i) = index(t, &mut keys, &mut instances);
            (*t, k, i)
        })
        .collect();
    per_key.resize(keys.len(), 0);
    per_instance.resize(instances.len(), 0);
    let mut out = Vec::with_capacity(count.min(left.len()));
    while out.len() < count && !left.is_empty() {
        let rank = |&(t, k, i): &(&PlanTask, usize, usize)| {
            (
                phase_rank(t.phase),
                -per_key[k],
                -per_instance[i],
                std::cmp::Reverse(t.instance_remaining),
            )
        };
        let at = (0..left.len())
            .min_by(|&a, &b| {
                rank(&left[a])
                    .cmp(&rank(&left[b]))
                    .then_with(|| left[b].0.id.cmp(&left[a].0.id))
            })
            .unwrap_or_else(|| unreachable!("left is not empty"));
        let (t, k, i) = left.swap_remove(at);
        per_key[k] -= 1;
        per_instance[i] -= 1;
        out.push(t);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn task(id: &str, primary: bool, instance: &str, phase: TaskPhase) -> PlanTask {
        PlanTask {
            id: TaskId::new(id).unwrap(),
            primary,
            instance: Some(InstanceId::new(instance).unwrap()),
            instance_state: InstanceState::Active,
            phase,
            spread_key: None,
            instance_remaining: 0,
        }
    }

    fn input(desired: u32, min: u32, max: u32, tasks: &[PlanTask]) -> PlanInput<'_> {
        PlanInput {
            desired,
            minimum_healthy_percent: min,
            maximum_percent: max,
            tasks,
            may_start: true,
            daemon_instances: None,
        }
    }

    #[test]
    fn rounding_never_leaves_a_rollout_stuck() {
        // 1 task at 50% / 150%: floor(1.5) = 1 task at most, ceil(0.5) = 1 healthy at
        // least; the old task could neither be joined nor stopped.
        let old = vec![task("o1", false, "i-1", TaskPhase::Healthy)];
        let p = plan(&input(1, 50, 150, &old));
        assert_eq!(p.start, 1, "one above the maximum, to make progress");
        assert!(p.stop.is_empty());
    }

    #[test]
    fn empty_service_starts_desired_within_maximum() {
        assert_eq!(plan(&input(4, 100, 200, &[])).start, 4);
        // 150% of 3 is 4.5: rounded down.
        let p = plan(&input(3, 50, 150, &[]));
        assert_eq!(p.start, 3);
    }

    #[test]
    fn rolling_update_with_spare_capacity_starts_before_stopping() {
        let old: Vec<_> = (0..4)
            .map(|i| task(&format!("o{i}"), false, "i-1", TaskPhase::Healthy))
            .collect();
        let p = plan(&input(4, 100, 200, &old));
        assert_eq!(p.start, 4);
        assert!(p.stop.is_empty(), "100% healthy must stay: {p:?}");
        let p = plan(&input(4, 100, 150, &old));
        assert_eq!(p.start, 2);
    }

    #[test]
    fn rolling_update_without_spare_capacity_stops_down_to_minimum() {
        let old: Vec<_> = (0..4)
            .map(|i| task(&format!("o{i}"), false, "i-1", TaskPhase::Healthy))
            .collect();
        let p = plan(&input(4, 50, 100, &old));
        assert_eq!(p.start, 0, "no room until old tasks are STOPPED");
        assert_eq!(p.stop.len(), 2);
        assert!(p.stop.iter().all(|(_, r)| *r == StopReason::Deployment));
    }

    #[test]
    fn old_tasks_not_healthy_go_regardless_of_minimum() {
        let tasks = vec![
            task("o1", false, "i-1", TaskPhase::Starting),
            task("o2", false, "i-1", TaskPhase::Healthy),
            task("n1", true, "i-1", TaskPhase::Starting),
        ];
        let p = plan(&input(2, 100, 200, &tasks));
        assert_eq!(
            p.stop,
            vec![(TaskId::new("o1").unwrap(), StopReason::Deployment)]
        );
        assert_eq!(p.start, 1);
    }

    #[test]
    fn scale_in_balances_instances_and_prefers_starting_tasks() {
        let tasks = vec![
            task("a1", true, "i-a", TaskPhase::Healthy),
            task("a2", true, "i-a", TaskPhase::Healthy),
            task("a3", true, "i-a", TaskPhase::Healthy),
            task("b1", true, "i-b", TaskPhase::Healthy),
            task("b2", true, "i-b", TaskPhase::Starting),
        ];
        let p = plan(&input(2, 100, 200, &tasks));
        let stopped: BTreeSet<_> = p.stop.iter().map(|(t, _)| t.as_str().to_owned()).collect();
        // The starting one first, then two from the fuller instance.
        assert_eq!(stopped.len(), 3);
        assert!(stopped.contains("b2"));
        assert_eq!(stopped.iter().filter(|t| t.starts_with('a')).count(), 2);
    }

    #[test]
    fn lost_and_unhealthy_tasks_are_replaced_at_once() {
        let mut lost = task("l1", true, "i-x", TaskPhase::Healthy);
        lost.instance_state = InstanceState::Lost;
        let tasks = vec![
            lost,
            task("u1", true, "i-1", TaskPhase::Unhealthy),
            task("h1", true, "i-1", TaskPhase::Healthy),
        ];
        let p = plan(&input(3, 100, 200, &tasks));
        assert_eq!(p.stop.len(), 2);
        // The unhealthy one still counts against the maximum until STOPPED: 6 - 2.
        assert_eq!(p.start, 2);
    }

    #[test]
    fn nothing_starts_when_throttled_but_retiring_goes_on() {
        let tasks = vec![task("u1", true, "i-1", TaskPhase::Unhealthy)];
        let mut i = input(1, 100, 200, &tasks);
        i.may_start = false;
        let p = plan(&i);
        assert_eq!(p.start, 0);
        assert_eq!(p.stop.len(), 1);
    }

    #[test]
    fn daemon_places_one_per_eligible_instance_and_leaves_others() {
        let set: BTreeSet<InstanceId> = ["i-1", "i-2", "i-3"]
            .iter()
            .map(|i| InstanceId::new(*i).unwrap())
            .collect();
        let tasks = vec![
            task("t1", true, "i-1", TaskPhase::Healthy),
            task("t1b", true, "i-1", TaskPhase::Starting),
            task("t4", true, "i-4", TaskPhase::Healthy),
        ];
        let mut i = input(0, 0, 100, &tasks);
        i.daemon_instances = Some(&set);
        let p = plan(&i);
        let stopped: Vec<_> = p.stop.iter().map(|(t, r)| (t.as_str(), *r)).collect();
        assert!(stopped.contains(&("t1b", StopReason::ScaleIn)));
        assert!(stopped.contains(&("t4", StopReason::NotEligible)));
        // 3 tasks exist of a maximum of 3: the new instances wait for room.
        assert_eq!(p.start_on, Vec::<InstanceId>::new());
        let tasks = vec![task("t1", true, "i-1", TaskPhase::Healthy)];
        let mut i = input(0, 0, 100, &tasks);
        i.daemon_instances = Some(&set);
        assert_eq!(p.stop.len(), 2);
        let p = plan(&i);
        assert_eq!(
            p.start_on,
            vec![
                InstanceId::new("i-2").unwrap(),
                InstanceId::new("i-3").unwrap()
            ]
        );
    }
}
