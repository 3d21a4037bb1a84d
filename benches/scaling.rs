//! How placement cost grows with the cluster: one decision at 1k, 10k and 100k
//! instances (indexed, and the scanning reference where it finishes), and a
//! kube-scheduler-like load of 50,000 tasks on 5,000 instances.
//!
//! ```text
//! cargo bench --bench scaling
//! ```

#[path = "support/mod.rs"]
mod support;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use ecs::cluster::{Cluster, Resources};
use ecs::placement::rules::{BinpackField, SpreadField};
use ecs::placement::{
    Constraint, IndexedScheduler, PlacementRequest, ReferenceScheduler, Scheduler, Strategy,
    TaskRequirements,
};

/// A cluster of `n` instances with uneven load: 8 tasks per instance on average, of
/// random sizes, placed at random.
fn loaded(n: usize) -> Cluster {
    let mut c = support::cluster(n, 16_384, 65_536);
    let mut s = IndexedScheduler::with_seed(1);
    for size in 0..8u32 {
        let r = PlacementRequest::new(
            format!("service:load-{size}"),
            TaskRequirements::new(Resources::new(128, 256 << (size % 4))),
            n as u32,
        )
        .with_strategy(Strategy::Random);
        s.place(&mut c, &r).unwrap();
    }
    c
}

fn decision(c: &mut Criterion) {
    let mut group = c.benchmark_group("decision");
    group.sample_size(20);
    let request = PlacementRequest::new(
        "service:web",
        TaskRequirements::new(Resources::new(256, 512)),
        1,
    )
    .with_strategy(Strategy::spread_zones())
    .with_strategy(Strategy::Binpack(BinpackField::Memory))
    .with_constraint(Constraint::member_of("attribute:stack == prod").unwrap());
    for n in [1_000usize, 10_000, 100_000] {
        let mut cluster = loaded(n);
        group.throughput(Throughput::Elements(1));
        group.bench_with_input(BenchmarkId::new("indexed", n), &n, |b, _| {
            let mut s = IndexedScheduler::with_seed(1);
            // Place one task and free it again, so every iteration sees the same cluster.
            b.iter(|| {
                let out = s.place(&mut cluster, &request).unwrap();
                cluster.release(out.placements[0].allocation).unwrap();
            })
        });
        if n <= 10_000 {
            group.bench_with_input(BenchmarkId::new("reference", n), &n, |b, _| {
                let mut s = ReferenceScheduler::with_seed(1);
                b.iter(|| {
                    let out = s.place(&mut cluster, &request).unwrap();
                    cluster.release(out.placements[0].allocation).unwrap();
                })
            });
        }
    }
    group.finish();
}

/// kube-scheduler-like: 5,000 nodes, 50,000 pods of 500 deployments, spread over zones
/// and then over nodes (topology spread), placed from scratch each iteration.
fn kube_like(c: &mut Criterion) {
    let mut group = c.benchmark_group("kube_like");
    group.sample_size(10);
    group.throughput(Throughput::Elements(50_000));
    let requests: Vec<PlacementRequest> = (0..500)
        .map(|i| {
            PlacementRequest::new(
                format!("service:deploy-{i}"),
                TaskRequirements::new(Resources::new(
                    [100, 250, 500][i % 3],
                    [128, 256, 512, 1024][i % 4],
                )),
                100,
            )
            .with_strategy(Strategy::spread_zones())
            .with_strategy(Strategy::Spread(SpreadField::InstanceId))
        })
        .collect();
    let empty = support::cluster(5_000, 16_384, 65_536);
    group.bench_function("5000_instances_50000_tasks", |b| {
        b.iter_batched(
            || empty.clone(),
            |mut cluster| {
                let mut s = IndexedScheduler::with_seed(1);
                for r in &requests {
                    assert_eq!(s.place(&mut cluster, r).unwrap().unplaced, 0);
                }
                cluster
            },
            criterion::BatchSize::LargeInput,
        )
    });
    group.finish();
}

/// Criterion's generated entry points carry no docs.
#[allow(missing_docs)]
mod entry {
    use super::*;
    criterion_group!(benches, decision, kube_like);
}

criterion_main!(entry::benches);
