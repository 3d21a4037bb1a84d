//! C1M in a box: a million tasks placed on 5,000 instances in 3 zones, as 1,000 services
//! of 1,000 tasks; half of the services with a memberOf constraint, a tenth with
//! distinctInstance; every service spread over zones, then binpacked on memory.
//!
//! ```text
//! cargo bench --bench c1m
//! ```
//!
//! Runs the indexed scheduler over the whole million, then the scanning reference
//! scheduler over the first services (the reference is O(instances) per task), and
//! prints both rates, the speed-up, and the peak memory, as its last lines.

#[path = "support/mod.rs"]
mod support;

use std::time::Instant;

use ecs::cluster::Resources;
use ecs::placement::rules::BinpackField;
use ecs::placement::{
    Constraint, IndexedScheduler, PlacementRequest, ReferenceScheduler, Scheduler, Strategy,
    TaskRequirements,
};

const INSTANCES: usize = 5_000;
const SERVICES: usize = 1_000;
const TASKS_PER_SERVICE: u32 = 1_000;
/// Services the reference scheduler places (at ~5,000 instances scanned per task).
const REFERENCE_SERVICES: usize = 10;

const EXPRESSIONS: [&str; 3] = [
    "attribute:stack == prod",
    "attribute:ecs.instance-type =~ m5.*",
    "attribute:ecs.availability-zone in [us-east-1a, us-east-1b] and attribute:stack != dev",
];

fn service(i: usize) -> PlacementRequest {
    // Mixed sizes: 64 to 256 CPU units, 128 to 1,024 MiB.
    let cpu = [64, 128, 256][i % 3];
    let memory = [128, 256, 512, 1024][i % 4];
    let mut r = PlacementRequest::new(
        format!("service:svc-{i}"),
        TaskRequirements::new(Resources::new(cpu, memory)),
        TASKS_PER_SERVICE,
    )
    .with_strategy(Strategy::spread_zones())
    .with_strategy(Strategy::Binpack(BinpackField::Memory));
    if i.is_multiple_of(2) {
        r = r.with_constraint(Constraint::member_of(EXPRESSIONS[(i / 2) % 3]).unwrap());
    }
    if i % 10 == 1 {
        r = r.with_constraint(Constraint::DistinctInstance);
    }
    r
}

fn run(scheduler: &mut dyn Scheduler, services: usize) -> (u64, u64, f64) {
    // 64 vCPU, 256 GiB each: room for the million at about 40% memory.
    let mut cluster = support::cluster(INSTANCES, 65_536, 262_144);
    let requests: Vec<PlacementRequest> = (0..services).map(service).collect();
    let start = Instant::now();
    let (mut placed, mut unplaced) = (0u64, 0u64);
    for r in &requests {
        let out = scheduler.place(&mut cluster, r).unwrap();
        placed += out.placements.len() as u64;
        unplaced += u64::from(out.unplaced);
    }
    (placed, unplaced, start.elapsed().as_secs_f64())
}

fn main() {
    // `cargo test --benches` runs bench targets with no arguments but `--bench`'s absence;
    // keep that quick.
    let quick = !std::env::args().any(|a| a == "--bench");
    let services = if quick { 20 } else { SERVICES };

    let (placed, unplaced, secs) = run(&mut IndexedScheduler::with_seed(1), services);
    let peak = support::peak_memory_mib();
    let indexed_rate = placed as f64 / secs;
    println!("indexed:   {placed} placed, {unplaced} unplaced in {secs:.3} s");

    let ref_services = REFERENCE_SERVICES.min(services);
    let (ref_placed, ref_unplaced, ref_secs) =
        run(&mut ReferenceScheduler::with_seed(1), ref_services);
    let reference_rate = ref_placed as f64 / ref_secs;
    println!(
        "reference: {ref_placed} placed, {ref_unplaced} unplaced in {ref_secs:.3} s (first {ref_services} services)"
    );

    println!("speed-up: {:.0}x", indexed_rate / reference_rate);
    println!("reference placements per second: {reference_rate:.0}");
    println!("placements per second: {indexed_rate:.0}");
    match peak {
        Some(mib) => println!("peak memory: {mib:.0} MiB"),
        None => println!("peak memory: unknown (no /proc/self/status)"),
    }
    assert_eq!(unplaced, 0, "the scenario has room for every task");
}
