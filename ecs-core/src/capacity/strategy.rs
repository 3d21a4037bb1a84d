//! A capacity provider strategy: how many of a launch's tasks go to each provider.
//!
//! ECS's rule: each provider's `base` tasks are placed first, in the strategy's order;
//! the rest is shared in proportion to the `weight`s. Counting what each provider
//! already runs for the same group (a service's tasks) keeps a service's split right
//! as it grows one task at a time.

use super::model::CapacityProviderStrategyItem;

/// How many of `count` new tasks each item of `strategy` gets, given what each already
/// holds (`existing[i]` tasks of the same group on `strategy[i]`'s instances).
///
/// Pure: the same input always gives the same split. An empty strategy or one whose
/// weights are all zero gives everything past the bases to the first item (ECS refuses
/// such a strategy before it gets here).
pub fn split(strategy: &[CapacityProviderStrategyItem], existing: &[u32], count: u32) -> Vec<u32> {
    let n = strategy.len();
    let mut out = vec![0u32; n];
    if n == 0 {
        return out;
    }
    let mut held: Vec<u64> = (0..n)
        .map(|i| u64::from(existing.get(i).copied().unwrap_or(0)))
        .collect();
    let mut left = count;
    // Bases first, in order.
    for (i, item) in strategy.iter().enumerate() {
        while left > 0 && held[i] < u64::from(item.base) {
            held[i] += 1;
            out[i] += 1;
            left -= 1;
        }
    }
    let total_weight: u64 = strategy.iter().map(|s| u64::from(s.weight)).sum();
    // The weights share what is beyond the bases.
    let mut held: Vec<u64> = held
        .iter()
        .zip(strategy)
        .map(|(h, s)| h.saturating_sub(u64::from(s.base)))
        .collect();
    // Then one task at a time to the provider furthest below its share of the total:
    // the smallest held/weight (compared without division), the first on a tie.
    while left > 0 {
        let i = if total_weight == 0 {
            0
        } else {
            let mut best: Option<usize> = None;
            for (i, item) in strategy.iter().enumerate() {
                if item.weight == 0 {
                    continue;
                }
                let better = match best {
                    None => true,
                    Some(b) => {
                        // held[i] / w[i] < held[b] / w[b]
                        held[i] * u64::from(strategy[b].weight) < held[b] * u64::from(item.weight)
                    }
                };
                if better {
                    best = Some(i);
                }
            }
            best.unwrap_or(0)
        };
        held[i] += 1;
        out[i] += 1;
        left -= 1;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn item(name: &str, base: u32, weight: u32) -> CapacityProviderStrategyItem {
        CapacityProviderStrategyItem {
            capacity_provider: name.parse().unwrap(),
            base,
            weight,
        }
    }

    #[test]
    fn bases_first_then_weights() {
        // ECS's own example: base 2 on A, then A:B 1:3.
        let s = [item("a", 2, 1), item("b", 0, 3)];
        assert_eq!(split(&s, &[0, 0], 2), [2, 0]);
        assert_eq!(split(&s, &[0, 0], 6), [3, 3]);
        assert_eq!(split(&s, &[0, 0], 10), [4, 6]);
    }

    #[test]
    fn what_is_held_counts() {
        let s = [item("a", 0, 1), item("b", 0, 1)];
        assert_eq!(split(&s, &[4, 0], 4), [0, 4]);
        assert_eq!(split(&s, &[4, 0], 6), [1, 5]);
    }

    #[test]
    fn zero_weights_take_only_their_base() {
        let s = [item("a", 1, 0), item("b", 0, 1)];
        assert_eq!(split(&s, &[0, 0], 5), [1, 4]);
        assert_eq!(split(&[], &[], 3), Vec::<u32>::new());
    }

    proptest::proptest! {
        #[test]
        fn every_task_goes_somewhere(
            bases in proptest::collection::vec(0u32..5, 1..5),
            weights in proptest::collection::vec(0u32..5, 1..5),
            count in 0u32..200,
        ) {
            let n = bases.len().min(weights.len());
            let s: Vec<_> = (0..n).map(|i| item(&format!("p{i}"), bases[i], weights[i])).collect();
            let out = split(&s, &vec![0; n], count);
            proptest::prop_assert_eq!(out.iter().sum::<u32>(), count);
        }
    }
}
