//! The reference scheduler: scans every instance for every task. Deliberately simple,
//! it is the oracle the indexed scheduler is tested against, and the fallback for
//! requests the index cannot serve (custom strategies or constraints, ...).

use super::Scheduler;
use super::filter::{explain, first_failure};
use super::outcome::{Outcome, Placement};
use super::request::PlacementRequest;
use super::rules::{BinpackField, PlacementContext, SpreadField, Strategy};
use super::spread::SpreadCounts;
use crate::Error;
use crate::cluster::Cluster;
use crate::cluster::index::Slot;

/// Places each task on the instance with the lowest key `(strategy scores..., slot)`
/// among those that pass every filter, by looking at all of them.
#[derive(Debug)]
pub struct ReferenceScheduler {
    rng: fastrand::Rng,
}

impl Default for ReferenceScheduler {
    fn default() -> Self {
        Self::new()
    }
}

impl ReferenceScheduler {
    /// A scheduler whose `random` strategy is seeded from the system.
    pub fn new() -> Self {
        Self {
            rng: fastrand::Rng::new(),
        }
    }

    /// A scheduler whose `random` strategy is seeded with `seed`, for reproducible runs.
    pub fn with_seed(seed: u64) -> Self {
        Self {
            rng: fastrand::Rng::with_seed(seed),
        }
    }
}

impl Scheduler for ReferenceScheduler {
    fn place(
        &mut self,
        cluster: &mut Cluster,
        request: &PlacementRequest,
    ) -> Result<Outcome, Error> {
        request.check()?;
        let group = cluster.group_id(&request.group);
        let random = [Strategy::Random];
        let strategies: &[Strategy] = if request.strategies.is_empty() {
            &random
        } else {
            &request.strategies
        };
        // One counter per attribute spread, at the strategy's position.
        let mut spreads: Vec<Option<SpreadCounts>> = strategies
            .iter()
            .map(|s| match s {
                Strategy::Spread(SpreadField::Attribute(a)) => {
                    Some(SpreadCounts::new(cluster, a, group))
                }
                _ => None,
            })
            .collect();

        let mut outcome = Outcome::default();
        let mut key: Vec<i64> = Vec::with_capacity(strategies.len());
        for placed in 0..request.count {
            let mut best: Option<(Vec<i64>, Slot)> = None;
            {
                let ctx = PlacementContext {
                    cluster,
                    group: &request.group,
                    requirements: &request.requirements,
                };
                for (slot, instance) in cluster.slots() {
                    if first_failure(instance, request, &ctx).is_some() {
                        continue;
                    }
                    key.clear();
                    for (s, spread) in strategies.iter().zip(&spreads) {
                        let remaining = instance.remaining_resources();
                        key.push(match s {
                            Strategy::Binpack(BinpackField::Memory) => i64::from(remaining.memory),
                            Strategy::Binpack(BinpackField::Cpu) => i64::from(remaining.cpu),
                            Strategy::Spread(SpreadField::InstanceId) => {
                                i64::from(ctx.group_tasks_on(instance))
                            }
                            Strategy::Spread(SpreadField::Attribute(_)) => spread
                                .as_ref()
                                .map_or(0, |c| i64::from(c.count_for(instance))),
                            Strategy::Random => self.rng.i64(..),
                            Strategy::Custom(c) => c.score(instance, &ctx),
                        });
                    }
                    // Strictly lower only: on a tie the earlier-registered instance stays.
                    if best.as_ref().is_none_or(|(k, _)| key < *k) {
                        best = Some((key.clone(), slot));
                    }
                }
            }
            let Some((_, slot)) = best else {
                outcome.unplaced = request.count - placed;
                (outcome.failures, outcome.rejections) = explain(cluster, request);
                break;
            };
            let allocation = cluster.reserve(
                slot,
                group,
                request.requirements.resources,
                &request.requirements.ports,
            );
            for spread in spreads.iter_mut().flatten() {
                spread.record(cluster.get(slot));
            }
            outcome.placements.push(Placement {
                instance: cluster.get(slot).id().clone(),
                allocation,
            });
        }
        Ok(outcome)
    }
}
