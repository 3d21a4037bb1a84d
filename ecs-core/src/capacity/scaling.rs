//! Managed scaling's decision, pure: from what a provider's tasks need and what it has,
//! how many instances to launch or to let go.
//!
//! ECS's `CapacityProviderReservation` is `M / N × 100`: `M` the instances needed to
//! hold every task of the provider, `N` the instances it has (200 when it has none and
//! needs some, 100 when it has and needs none). As ECS counts it, `M` is the instances
//! running at least one task, plus those the tasks waiting for capacity need, packed
//! onto new instances (they fit nowhere else, or they would not wait): tasks that run
//! are never moved to make an instance spare, so scale-in lets go of empty instances
//! only. Managed scaling keeps it at `targetCapacity`: it wants
//! `ceil(M × 100 / targetCapacity)` instances, within the group's minimum and maximum;
//! it scales out by at least `minimumScalingStepSize` and at most
//! `maximumScalingStepSize` at a time, not again until the last step's instances are
//! past `instanceWarmupPeriod`; it scales in by as many as are spare, but never while
//! tasks wait for capacity.

use std::collections::BTreeMap;

use crate::cluster::Resources;

use super::model::ManagedScaling;

/// What the decision is made from.
#[derive(Debug, Clone)]
pub struct ScalingInput<'a> {
    /// The provider's managed scaling settings.
    pub settings: &'a ManagedScaling,
    /// The group's minimum number of instances.
    pub min_size: u32,
    /// The group's maximum number of instances.
    pub max_size: u32,
    /// What one instance of the group offers.
    pub instance: Resources,
    /// The instances (of those staying) that run at least one task.
    pub occupied: u32,
    /// What each task waiting for the provider's capacity needs.
    pub waiting: &'a [Resources],
    /// The instances it has (`N`): registered and staying, and launching.
    pub instances: u32,
    /// Whether the last scale-out's instances are still warming up.
    pub warming: bool,
}

/// What managed scaling decided.
#[derive(Debug, Clone, PartialEq)]
pub struct ScalingDecision {
    /// `M`: the instances needed to hold every task that fits one.
    pub needed: u32,
    /// Waiting tasks no instance of the group could ever hold (larger than one).
    pub unfit: u32,
    /// `CapacityProviderReservation`, in percent.
    pub reservation: f64,
    /// The number of instances it wants.
    pub desired: u32,
    /// What to do now.
    pub action: ScalingAction,
}

/// Launch or let go of instances, or neither.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ScalingAction {
    /// Nothing to do.
    Hold,
    /// Launch this many.
    Launch(u32),
    /// Let this many go (drained first, the emptiest first).
    Remove(u32),
}

/// `CapacityProviderReservation` for `needed` instances of `instances`.
pub fn reservation(needed: u32, instances: u32) -> f64 {
    match (needed, instances) {
        (0, 0) => 100.0,
        (_, 0) => 200.0,
        (m, n) => f64::from(m) * 100.0 / f64::from(n),
    }
}

/// Decides. Without managed scaling, only the group's minimum and maximum are kept.
pub fn decide(input: &ScalingInput<'_>) -> ScalingDecision {
    let (more, unfit) = instances_needed(input.waiting, input.instance);
    let needed = input.occupied.saturating_add(more);
    let n = input.instances;
    let (min, max) = (input.min_size, input.max_size.max(input.min_size));
    let wanted = if input.settings.enabled {
        let target = u64::from(input.settings.target_capacity.clamp(1, 100));
        u32::try_from((u64::from(needed) * 100).div_ceil(target)).unwrap_or(u32::MAX)
    } else {
        n
    };
    let desired = wanted.clamp(min, max);
    let action = if desired > n {
        if input.warming && n >= min {
            ScalingAction::Hold
        } else {
            let step = desired - n;
            let step = if input.settings.enabled && n >= min {
                step.max(input.settings.minimum_scaling_step_size.max(1))
                    .min(input.settings.maximum_scaling_step_size.max(1))
            } else {
                step
            };
            ScalingAction::Launch(step.min(max - n))
        }
    } else if desired < n && input.waiting.is_empty() {
        // Never while tasks wait: an instance that looks spare is about to take them
        // (registered, its agent not yet connected), or they fit nowhere at all.
        ScalingAction::Remove(n - desired)
    } else {
        ScalingAction::Hold
    };
    ScalingDecision {
        needed,
        unfit,
        reservation: reservation(needed, n),
        desired,
        action,
    }
}

/// How many empty instances of size `instance` hold `tasks`, packed first-fit with
/// the largest first; and how many tasks fit none. Tasks of one size are packed
/// together, so the cost grows with the sizes and the instances, not the tasks.
pub fn instances_needed(tasks: &[Resources], instance: Resources) -> (u32, u32) {
    let mut sizes: BTreeMap<(u32, u32, u32), u64> = BTreeMap::new();
    let mut unfit = 0u32;
    for t in tasks {
        if t.cpu > instance.cpu || t.memory > instance.memory || t.gpus > instance.gpus {
            unfit += 1;
        } else {
            *sizes.entry((t.memory, t.cpu, t.gpus)).or_default() += 1;
        }
    }
    // What is left on each instance opened so far.
    let mut bins: Vec<Resources> = Vec::new();
    for ((memory, cpu, gpus), mut count) in sizes.into_iter().rev() {
        let size = Resources { cpu, memory, gpus };
        for bin in &mut bins {
            if count == 0 {
                break;
            }
            let fit = fits(*bin, size).min(count);
            bin.cpu -= size.cpu * fit as u32;
            bin.memory -= size.memory * fit as u32;
            bin.gpus -= size.gpus * fit as u32;
            count -= fit;
        }
        if count == 0 {
            continue;
        }
        let per = fits(instance, size);
        let whole = count / per;
        let rest = count % per;
        let full = Resources {
            cpu: instance.cpu - size.cpu * per as u32,
            memory: instance.memory - size.memory * per as u32,
            gpus: instance.gpus - size.gpus * per as u32,
        };
        bins.extend(std::iter::repeat_n(full, whole as usize));
        if rest > 0 {
            bins.push(Resources {
                cpu: instance.cpu - size.cpu * rest as u32,
                memory: instance.memory - size.memory * rest as u32,
                gpus: instance.gpus - size.gpus * rest as u32,
            });
        }
    }
    (u32::try_from(bins.len()).unwrap_or(u32::MAX), unfit)
}

/// How many tasks of `size` fit in `room` (at least one for a task that fits an empty
/// instance, but needs nothing: a zero-sized task still takes a slot, at most 1,000
/// to an instance).
fn fits(room: Resources, size: Resources) -> u64 {
    // A resource the task does not need limits nothing.
    let by = |have: u32, need: u32| have.checked_div(need).map_or(u64::MAX, u64::from);
    by(room.cpu, size.cpu)
        .min(by(room.memory, size.memory))
        .min(by(room.gpus, size.gpus))
        .min(1000)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(target: u32, min_step: u32, max_step: u32) -> ManagedScaling {
        ManagedScaling {
            enabled: true,
            target_capacity: target,
            minimum_scaling_step_size: min_step,
            maximum_scaling_step_size: max_step,
            instance_warmup_period: std::time::Duration::from_secs(60),
        }
    }

    fn input<'a>(
        s: &'a ManagedScaling,
        occupied: u32,
        waiting: &'a [Resources],
        n: u32,
    ) -> ScalingInput<'a> {
        ScalingInput {
            settings: s,
            min_size: 1,
            max_size: 100,
            instance: Resources::new(1024, 2048),
            occupied,
            waiting,
            instances: n,
            warming: false,
        }
    }

    #[test]
    fn needed_packs_by_size() {
        let eighth = Resources::new(128, 256);
        assert_eq!(
            instances_needed(&vec![eighth; 200], Resources::new(1024, 2048)),
            (25, 0)
        );
        assert_eq!(
            instances_needed(&vec![eighth; 201], Resources::new(1024, 2048)),
            (26, 0)
        );
        // Halves and quarters share instances: 2 halves + 4 quarters = 2 instances.
        let mut mixed = vec![Resources::new(512, 1024); 2];
        mixed.extend(vec![Resources::new(256, 512); 4]);
        assert_eq!(instances_needed(&mixed, Resources::new(1024, 2048)), (2, 0));
        // Too big for any instance: not counted, reported.
        assert_eq!(
            instances_needed(&[Resources::new(4096, 64)], Resources::new(1024, 2048)),
            (0, 1)
        );
        assert_eq!(instances_needed(&[], Resources::new(1024, 2048)), (0, 0));
    }

    #[test]
    fn reservation_as_ecs_defines_it() {
        assert_eq!(reservation(0, 0), 100.0);
        assert_eq!(reservation(3, 0), 200.0);
        assert_eq!(reservation(5, 10), 50.0);
        assert_eq!(reservation(10, 10), 100.0);
    }

    #[test]
    fn scales_out_within_the_step_sizes() {
        let s = settings(100, 2, 10);
        // 2 instances busy, 192 tasks waiting: 24 more instances.
        let waiting = vec![Resources::new(128, 256); 192];
        let d = decide(&input(&s, 2, &waiting, 2));
        assert_eq!((d.needed, d.desired), (26, 26));
        assert_eq!(d.action, ScalingAction::Launch(10));
        assert_eq!(d.reservation, 1300.0);
        // One instance short: the minimum step still launches two.
        let d = decide(&input(&s, 25, &waiting[..8], 25));
        assert_eq!(d.action, ScalingAction::Launch(2));
        // Warming: waits.
        let mut i = input(&s, 12, &waiting, 12);
        i.warming = true;
        assert_eq!(decide(&i).action, ScalingAction::Hold);
    }

    #[test]
    fn target_capacity_leaves_room() {
        let s = settings(50, 1, 100);
        let d = decide(&input(&s, 2, &[], 4));
        assert_eq!((d.needed, d.desired, d.action), (2, 4, ScalingAction::Hold));
        assert_eq!(d.reservation, 50.0);
    }

    #[test]
    fn scales_in_to_the_minimum_and_no_further() {
        let s = settings(100, 1, 10);
        let mut i = input(&s, 1, &[], 25);
        i.min_size = 2;
        let d = decide(&i);
        assert_eq!((d.needed, d.desired), (1, 2));
        assert_eq!(d.action, ScalingAction::Remove(23));
        // Nothing at all to hold: down to the minimum.
        i.occupied = 0;
        assert_eq!(decide(&i).action, ScalingAction::Remove(23));
        // Tasks wait (too large for any instance, here): no scale-in meanwhile.
        let huge = [Resources::new(4096, 64)];
        i.waiting = &huge;
        assert_eq!(decide(&i).action, ScalingAction::Hold);
    }

    #[test]
    fn never_beyond_the_maximum() {
        let s = settings(100, 5, 10);
        let waiting = vec![Resources::new(128, 256); 1000];
        let mut i = input(&s, 18, &waiting, 18);
        i.max_size = 20;
        assert_eq!(decide(&i).action, ScalingAction::Launch(2));
        i.instances = 20;
        assert_eq!(decide(&i).action, ScalingAction::Hold);
    }

    #[test]
    fn without_managed_scaling_only_the_minimum_is_kept() {
        let mut s = settings(100, 1, 10);
        s.enabled = false;
        let waiting = vec![Resources::new(128, 256); 100];
        let mut i = input(&s, 0, &waiting, 0);
        i.min_size = 3;
        assert_eq!(decide(&i).action, ScalingAction::Launch(3));
        i.instances = 3;
        assert_eq!(decide(&i).action, ScalingAction::Hold);
    }
}
