//! Properties of placement on random clusters, definitions, strategies and constraints:
//! nothing overcommitted, every constraint holds, binpack and spread do what they say,
//! and the indexed scheduler agrees with the scanning reference.

use std::collections::HashMap;

use ecs_core::cluster::{Cluster, HostPort, InstanceRegistration, InstanceStatus, Resources};
use ecs_core::placement::rules::{BinpackField, SpreadField};
use ecs_core::placement::{
    Constraint, IndexedScheduler, Outcome, PlacementRequest, ReferenceScheduler, Scheduler,
    Strategy, TaskRequirements,
};
use proptest::prelude::{Just, ProptestConfig, prop_assert, prop_assert_eq, prop_oneof, proptest};
use proptest::sample::select;
use proptest::strategy::Strategy as _;

#[derive(Debug, Clone)]
struct InstanceSpec {
    cpu: u32,
    memory: u32,
    zone: &'static str,
    stack: Option<&'static str>,
    status: InstanceStatus,
    connected: bool,
    /// Tasks of another group already there (cpu, memory each).
    preload: u32,
}

fn instance_spec() -> impl proptest::strategy::Strategy<Value = InstanceSpec> {
    (
        select(&[512u32, 1024, 2048, 4096][..]),
        select(&[512u32, 1024, 4096, 8192][..]),
        select(&["a", "b", "c"][..]),
        select(&[None, Some("prod"), Some("dev")][..]),
        prop_oneof![8 => Just(InstanceStatus::Active), 1 => Just(InstanceStatus::Draining)],
        prop_oneof![9 => Just(true), 1 => Just(false)],
        0..3u32,
    )
        .prop_map(
            |(cpu, memory, zone, stack, status, connected, preload)| InstanceSpec {
                cpu,
                memory,
                zone,
                stack,
                status,
                connected,
                preload,
            },
        )
}

const STRATEGY_SHAPES: &[&[&str]] = &[
    &[],
    &["binpack:memory"],
    &["binpack:cpu"],
    &["spread:zone"],
    &["spread:zone", "binpack:memory"],
    &["spread:instance"],
    &["spread:zone", "spread:instance"],
    &["spread:stack", "binpack:cpu"],
    &["spread:zone", "spread:stack"],
    &["random"],
    &["spread:zone", "random"],
];

const CONSTRAINTS: &[&str] = &[
    "distinct",
    "attribute:stack == prod",
    "attribute:ecs.availability-zone in [a, b]",
    "not(attribute:stack == dev)",
    "ec2InstanceId != i-0",
];

fn strategy(name: &str) -> Strategy {
    match name {
        "binpack:memory" => Strategy::Binpack(BinpackField::Memory),
        "binpack:cpu" => Strategy::Binpack(BinpackField::Cpu),
        "spread:zone" => Strategy::spread_zones(),
        "spread:instance" => Strategy::Spread(SpreadField::InstanceId),
        "spread:stack" => Strategy::Spread(SpreadField::Attribute("stack".into())),
        _ => Strategy::Random,
    }
}

#[derive(Debug, Clone)]
struct Scenario {
    instances: Vec<InstanceSpec>,
    cpu: u32,
    memory: u32,
    port: Option<u16>,
    count: u32,
    strategies: &'static [&'static str],
    constraints: Vec<&'static str>,
}

fn scenario() -> impl proptest::strategy::Strategy<Value = Scenario> {
    (
        proptest::collection::vec(instance_spec(), 1..25),
        select(&[0u32, 64, 256, 1024][..]),
        select(&[32u32, 256, 1024, 3000][..]),
        prop_oneof![3 => Just(None), 1 => Just(Some(80u16))],
        1..60u32,
        select(STRATEGY_SHAPES),
        proptest::sample::subsequence(CONSTRAINTS, 0..3),
    )
        .prop_map(
            |(instances, cpu, memory, port, count, strategies, constraints)| Scenario {
                instances,
                cpu,
                memory,
                port,
                count,
                strategies,
                constraints,
            },
        )
}

fn build(s: &Scenario) -> Cluster {
    let mut c = Cluster::new("p".parse().unwrap());
    for (i, spec) in s.instances.iter().enumerate() {
        let id: ecs_core::InstanceId = format!("i-{i}").parse().unwrap();
        let mut reg = InstanceRegistration::new(id.clone(), Resources::new(spec.cpu, spec.memory))
            .with_zone(spec.zone);
        if let Some(stack) = spec.stack {
            reg = reg.with_attribute("stack", stack);
        }
        c.register_instance(reg).unwrap();
        // Preloaded tasks of another group.
        let pre = PlacementRequest::new(
            "service:other",
            TaskRequirements::new(Resources::new(64, 128)),
            spec.preload,
        )
        .with_constraint(Constraint::member_of(&format!("ec2InstanceId == i-{i}")).unwrap());
        IndexedScheduler::with_seed(0).place(&mut c, &pre).unwrap();
        c.set_status(&id, spec.status).unwrap();
        c.set_agent_connected(&id, spec.connected).unwrap();
    }
    c
}

fn request(s: &Scenario) -> PlacementRequest {
    let mut requirements = TaskRequirements::new(Resources::new(s.cpu, s.memory));
    if let Some(p) = s.port {
        requirements = requirements.with_ports([HostPort::tcp(p)]);
    }
    let mut r = PlacementRequest::new("service:web", requirements, s.count);
    for name in s.strategies {
        r = r.with_strategy(strategy(name));
    }
    for c in &s.constraints {
        r = r.with_constraint(if *c == "distinct" {
            Constraint::DistinctInstance
        } else {
            Constraint::member_of(c).unwrap()
        });
    }
    r
}

fn ids(o: &Outcome) -> Vec<String> {
    o.placements
        .iter()
        .map(|p| p.instance.to_string())
        .collect()
}

/// An independent statement of "instance `i` can take one more task now", from the
/// scenario and the placements so far (not from the library's filters).
fn feasible(s: &Scenario, c0: &Cluster, i: usize, used: &HashMap<usize, u32>) -> bool {
    let spec = &s.instances[i];
    let inst = c0.instance(&format!("i-{i}").parse().unwrap()).unwrap();
    let n = used.get(&i).copied().unwrap_or(0);
    let left = inst.remaining_resources();
    let fits = left.cpu >= s.cpu * (n + 1) && left.memory >= s.memory * (n + 1);
    let port_ok = s.port.is_none() || n == 0;
    let constraints_ok = s.constraints.iter().all(|c| match *c {
        "distinct" => n == 0,
        "attribute:stack == prod" => spec.stack == Some("prod"),
        "attribute:ecs.availability-zone in [a, b]" => matches!(spec.zone, "a" | "b"),
        "not(attribute:stack == dev)" => spec.stack != Some("dev"),
        "ec2InstanceId != i-0" => i != 0,
        other => panic!("unknown constraint {other}"),
    });
    spec.status == InstanceStatus::Active && spec.connected && fits && port_ok && constraints_ok
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(400))]

    #[test]
    fn placements_are_sound_and_the_schedulers_agree(s in scenario()) {
        let c0 = build(&s);
        let r = request(&s);
        let mut indexed_cluster = c0.clone();
        let indexed = IndexedScheduler::with_seed(5).place(&mut indexed_cluster, &r).unwrap();
        let mut reference_cluster = c0.clone();
        let reference = ReferenceScheduler::with_seed(5).place(&mut reference_cluster, &r).unwrap();
        let deterministic = !s.strategies.contains(&"random") && !s.strategies.is_empty();

        // The same choices for deterministic strategies, the same count always.
        if deterministic {
            prop_assert_eq!(ids(&indexed), ids(&reference));
            prop_assert_eq!(&indexed.failures, &reference.failures);
        }

        for outcome in [&indexed, &reference] {
            prop_assert_eq!(outcome.placements.len() as u32 + outcome.unplaced, s.count);
            // Replay: each choice was feasible when made (never overcommitted, ports and
            // constraints held), and binpack picked the least remaining.
            let mut used: HashMap<usize, u32> = HashMap::new();
            for p in &outcome.placements {
                let i: usize = p.instance.as_str()[2..].parse().unwrap();
                prop_assert!(feasible(&s, &c0, i, &used), "infeasible choice {}", p.instance);
                if let Some(field) = s.strategies.first().filter(|_| s.strategies.len() == 1) {
                    let left = |j: usize| {
                        let inst = c0.instance(&format!("i-{j}").parse().unwrap()).unwrap().remaining_resources();
                        let n = used.get(&j).copied().unwrap_or(0);
                        match *field {
                            "binpack:memory" => Some(inst.memory - s.memory * n),
                            "binpack:cpu" => Some(inst.cpu - s.cpu * n),
                            _ => None,
                        }
                    };
                    if let Some(chosen) = left(i) {
                        for j in (0..s.instances.len()).filter(|&j| feasible(&s, &c0, j, &used)) {
                            prop_assert!(chosen <= left(j).unwrap(), "binpack chose i-{} over i-{}", i, j);
                        }
                    }
                }
                *used.entry(i).or_insert(0) += 1;
            }
            // Unplaced only when nothing was feasible any more.
            if outcome.unplaced > 0 {
                prop_assert!((0..s.instances.len()).all(|j| !feasible(&s, &c0, j, &used)));
                prop_assert_eq!(outcome.rejections.len(), s.instances.len());
            }
        }
        // Nothing overcommitted in the end state either.
        for inst in indexed_cluster.instances() {
            let reg = inst.registered_resources();
            let res = inst.reserved_resources();
            prop_assert!(res.cpu <= reg.cpu && res.memory <= reg.memory);
        }
    }

    /// spread(zone) keeps zones within one task of each other when capacity allows.
    #[test]
    fn spread_keeps_zones_even(zones in proptest::collection::vec(select(&["a", "b", "c"][..]), 3..30), count in 1..200u32) {
        let mut c = Cluster::new("s".parse().unwrap());
        for (i, z) in zones.iter().enumerate() {
            c.register_instance(InstanceRegistration::new(format!("i-{i}").parse().unwrap(), Resources::new(100_000, 100_000)).with_zone(*z)).unwrap();
        }
        let r = PlacementRequest::new("service:s", TaskRequirements::new(Resources::new(10, 10)), count)
            .with_strategy(Strategy::spread_zones())
            .with_strategy(Strategy::Binpack(BinpackField::Memory));
        let out = IndexedScheduler::with_seed(1).place(&mut c, &r).unwrap();
        prop_assert_eq!(out.unplaced, 0);
        let mut per_zone: HashMap<&str, u32> = HashMap::new();
        for z in &zones {
            per_zone.entry(*z).or_insert(0);
        }
        for p in &out.placements {
            let i: usize = p.instance.as_str()[2..].parse().unwrap();
            *per_zone.get_mut(zones[i]).unwrap() += 1;
        }
        let max = per_zone.values().max().unwrap();
        let min = per_zone.values().min().unwrap();
        prop_assert!(max - min <= 1, "{:?}", per_zone);
    }
}
