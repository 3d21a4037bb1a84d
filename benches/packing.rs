//! Packing quality: 100,000 tasks of mixed sizes binpacked on memory onto identical
//! instances; the instances used against the lower bound (total demand / capacity on
//! the scarcer resource).
//!
//! ```text
//! cargo bench --bench packing
//! ```

#[path = "support/mod.rs"]
mod support;

use ecs::cluster::Resources;
use ecs::placement::rules::BinpackField;
use ecs::placement::{IndexedScheduler, PlacementRequest, Scheduler, Strategy, TaskRequirements};

const TASKS: u32 = 100_000;
const CPU: u32 = 16_384;
const MEMORY: u32 = 65_536;

fn main() {
    let quick = !std::env::args().any(|a| a == "--bench");
    let tasks = if quick { TASKS / 100 } else { TASKS };
    // Sizes cycle through a deterministic mix: 128 MiB to 4 GiB, 64 to 1,024 CPU units.
    let sizes: Vec<(u32, u32)> = (0..tasks)
        .map(|i| {
            let h = (i as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 32;
            (
                [64, 128, 256, 512, 1024][(h % 5) as usize],
                [128, 256, 512, 1024, 2048, 4096][((h / 5) % 6) as usize],
            )
        })
        .collect();
    let (cpu, memory) = sizes.iter().fold((0u64, 0u64), |(c, m), (tc, tm)| {
        (c + u64::from(*tc), m + u64::from(*tm))
    });
    let bound = (cpu.div_ceil(u64::from(CPU))).max(memory.div_ceil(u64::from(MEMORY)));
    let mut cluster = support::cluster((bound as usize) * 5 / 4 + 10, CPU, MEMORY);

    let mut scheduler = IndexedScheduler::with_seed(1);
    for (c, m) in &sizes {
        let r = PlacementRequest::new(
            "family:mixed",
            TaskRequirements::new(Resources::new(*c, *m)),
            1,
        )
        .with_strategy(Strategy::Binpack(BinpackField::Memory));
        assert_eq!(scheduler.place(&mut cluster, &r).unwrap().unplaced, 0);
    }
    let used = cluster
        .instances()
        .filter(|i| i.running_tasks_count() > 0)
        .count() as u64;
    let over = (used as f64 / bound as f64 - 1.0) * 100.0;
    println!("tasks: {tasks}, demand: {cpu} CPU units, {memory} MiB");
    println!("lower bound: {bound} instances of {CPU} CPU units, {MEMORY} MiB");
    println!("instances used: {used} ({over:.2}% above the lower bound)");
}
