//! Placement as ECS does it: filters, constraints, strategies, failures with reasons,
//! reserved resources, dry runs, and both schedulers agreeing.

use ecs_core::cluster::{Cluster, HostPort, InstanceRegistration, InstanceStatus, Resources};
use ecs_core::placement::api::{PlacementConstraint, PlacementStrategy};
use ecs_core::placement::rules::{BinpackField, SpreadField};
use ecs_core::placement::{
    Constraint, CustomConstraint, CustomStrategy, Failure, FailureReason, IndexedScheduler,
    Outcome, PlacementContext, PlacementRequest, ReferenceScheduler, Scheduler, Strategy,
    TaskRequirements,
};
use ecs_core::{Error, ResourceKind, TaskDefinition};

fn instance(id: &str, cpu: u32, memory: u32, zone: &str) -> InstanceRegistration {
    InstanceRegistration::new(id.parse().unwrap(), Resources::new(cpu, memory)).with_zone(zone)
}

fn cluster(instances: impl IntoIterator<Item = InstanceRegistration>) -> Cluster {
    let mut c = Cluster::new("test".parse().unwrap());
    for i in instances {
        c.register_instance(i).unwrap();
    }
    c
}

fn task(cpu: u32, memory: u32) -> TaskRequirements {
    TaskRequirements::new(Resources::new(cpu, memory))
}

fn ids(outcome: &Outcome) -> Vec<&str> {
    outcome
        .placements
        .iter()
        .map(|p| p.instance.as_str())
        .collect()
}

/// Both schedulers, same request, same cluster: the same choices (deterministic
/// strategies), returned once.
fn place_both(cluster: &mut Cluster, request: &PlacementRequest) -> Outcome {
    let reference = ReferenceScheduler::with_seed(3)
        .place(&mut cluster.clone(), request)
        .unwrap();
    let indexed = IndexedScheduler::with_seed(3)
        .place(cluster, request)
        .unwrap();
    assert_eq!(ids(&indexed), ids(&reference), "schedulers disagree");
    assert_eq!(indexed.failures, reference.failures);
    assert_eq!(indexed.unplaced, reference.unplaced);
    indexed
}

#[test]
fn binpack_memory_fills_the_fullest_instance_first() {
    let mut c = cluster([
        instance("i-1", 4096, 4096, "a"),
        instance("i-2", 4096, 2048, "a"),
        instance("i-3", 4096, 8192, "a"),
    ]);
    let r = PlacementRequest::new("family:f", task(10, 1024), 4)
        .with_strategy(Strategy::Binpack(BinpackField::Memory));
    // i-2 has the least memory: it takes two, then i-1 (4096) before i-3 (8192).
    assert_eq!(ids(&place_both(&mut c, &r)), ["i-2", "i-2", "i-1", "i-1"]);
}

#[test]
fn binpack_cpu_uses_remaining_cpu() {
    let mut c = cluster([
        instance("i-1", 2048, 8192, "a"),
        instance("i-2", 1024, 8192, "a"),
    ]);
    let r = PlacementRequest::new("family:f", task(512, 10), 3)
        .with_strategy(Strategy::Binpack(BinpackField::Cpu));
    assert_eq!(ids(&place_both(&mut c, &r)), ["i-2", "i-2", "i-1"]);
}

#[test]
fn spread_zone_then_binpack_memory() {
    let mut c = cluster([
        instance("a-big", 4096, 8192, "us-east-1a"),
        instance("a-small", 4096, 2048, "us-east-1a"),
        instance("b-1", 4096, 4096, "us-east-1b"),
        instance("c-1", 4096, 4096, "us-east-1c"),
    ]);
    let r = PlacementRequest::new("service:web", task(10, 1024), 6)
        .with_api_strategies(
            &serde_json::from_str::<Vec<PlacementStrategy>>(
                r#"[{"type": "spread", "field": "attribute:ecs.availability-zone"},
                {"type": "binpack", "field": "memory"}]"#,
            )
            .unwrap(),
        )
        .unwrap();
    let out = place_both(&mut c, &r);
    // Round robin over zones (ties by registration order of the zone's best), binpacked
    // within the zone.
    assert_eq!(
        ids(&out),
        ["a-small", "b-1", "c-1", "a-small", "b-1", "c-1"]
    );
}

#[test]
fn spread_by_instance_evens_out_instances() {
    let mut c = cluster((1..=3).map(|i| instance(&format!("i-{i}"), 4096, 4096, "a")));
    let r = PlacementRequest::new("service:s", task(10, 10), 7)
        .with_strategy(Strategy::Spread(SpreadField::InstanceId));
    assert_eq!(
        ids(&place_both(&mut c, &r)),
        ["i-1", "i-2", "i-3", "i-1", "i-2", "i-3", "i-1"]
    );
}

#[test]
fn spread_counts_only_the_group() {
    let mut c = cluster([
        instance("i-1", 4096, 4096, "a"),
        instance("i-2", 4096, 4096, "b"),
    ]);
    // Another group's tasks sit in zone a; they do not count for web's spread.
    let other = PlacementRequest::new("service:other", task(10, 10), 3)
        .with_constraint(Constraint::member_of("attribute:ecs.availability-zone == a").unwrap());
    place_both(&mut c, &other);
    let web = PlacementRequest::new("service:web", task(10, 10), 2)
        .with_strategy(Strategy::spread_zones());
    assert_eq!(ids(&place_both(&mut c, &web)), ["i-1", "i-2"]);
}

#[test]
fn random_places_only_where_it_fits_and_spreads_over_candidates() {
    let mut c = cluster((1..=4).map(|i| instance(&format!("i-{i}"), 4096, 4096, "a")));
    c.set_status(&"i-4".parse().unwrap(), InstanceStatus::Draining)
        .unwrap();
    let r = PlacementRequest::new("family:f", task(10, 10), 300).with_strategy(Strategy::Random);
    for mut scheduler in [
        Box::new(IndexedScheduler::with_seed(9)) as Box<dyn Scheduler>,
        Box::new(ReferenceScheduler::with_seed(9)),
    ] {
        let out = scheduler.plan(&c, &r).unwrap();
        assert_eq!(out.placements.len(), 300);
        for id in ["i-1", "i-2", "i-3"] {
            let n = ids(&out).iter().filter(|x| **x == id).count();
            assert!((50..=150).contains(&n), "{id} got {n} of 300");
        }
        assert!(!ids(&out).contains(&"i-4"), "draining instance used");
    }
}

#[test]
fn distinct_instance_puts_one_task_of_the_group_per_instance() {
    let mut c = cluster((1..=3).map(|i| instance(&format!("i-{i}"), 4096, 4096, "a")));
    let r = PlacementRequest::new("service:db", task(10, 10), 5)
        .with_constraint(Constraint::DistinctInstance)
        .with_strategy(Strategy::Binpack(BinpackField::Memory));
    let out = place_both(&mut c, &r);
    assert_eq!(ids(&out), ["i-1", "i-2", "i-3"]);
    assert_eq!(out.unplaced, 2);
    assert_eq!(
        out.failures,
        [Failure {
            reason: FailureReason::DistinctInstance,
            instances: 3
        }]
    );
}

#[test]
fn member_of_and_task_definition_constraints_combine() {
    let mut c = cluster([
        instance("i-1", 4096, 4096, "us-east-1a").with_attribute("stack", "prod"),
        instance("i-2", 4096, 4096, "us-east-1b").with_attribute("stack", "prod"),
        instance("i-3", 4096, 4096, "us-east-1a").with_attribute("stack", "dev"),
    ]);
    let td = TaskDefinition::from_json(
        r#"{"family": "web", "placementConstraints": [{"type": "memberOf", "expression": "attribute:stack == prod"}],
            "containerDefinitions": [{"name": "a", "image": "x", "memory": 100, "cpu": 10}]}"#,
    )
    .unwrap()
    .definition;
    let run_time: Vec<PlacementConstraint> = serde_json::from_str(
        r#"[{"type": "memberOf", "expression": "attribute:ecs.availability-zone == us-east-1a"}]"#,
    )
    .unwrap();
    let r = PlacementRequest::for_task_definition(&td, 3)
        .unwrap()
        .with_api_constraints(&run_time)
        .unwrap();
    assert_eq!(r.group, "family:web");
    let out = place_both(&mut c, &r);
    assert_eq!(ids(&out), ["i-1", "i-1", "i-1"]);
}

#[test]
fn failures_name_the_first_filter_per_instance_counted() {
    let mut c = cluster([
        instance("cpu-poor", 100, 8192, "a"),
        instance("mem-poor", 4096, 100, "a"),
        instance("draining", 4096, 8192, "a"),
        instance("lost", 4096, 8192, "a"),
        instance("dev", 4096, 8192, "a").with_attribute("stack", "dev"),
        instance("ports", 4096, 8192, "a").with_attribute("stack", "prod"),
    ]);
    c.set_status(&"draining".parse().unwrap(), InstanceStatus::Draining)
        .unwrap();
    c.set_agent_connected(&"lost".parse().unwrap(), false)
        .unwrap();
    // Something holds port 80 on `ports`.
    let holder = PlacementRequest::new("family:h", task(1, 1).with_ports([HostPort::tcp(80)]), 1)
        .with_constraint(Constraint::member_of("ec2InstanceId == ports").unwrap());
    assert_eq!(ids(&place_both(&mut c, &holder)), ["ports"]);

    let r = PlacementRequest::new(
        "family:web",
        task(256, 512).with_ports([HostPort::tcp(80)]),
        2,
    )
    .with_constraint(Constraint::member_of("attribute:stack != dev").unwrap());
    let out = place_both(&mut c, &r);
    assert!(out.placements.is_empty());
    assert_eq!(out.unplaced, 2);
    let reasons: Vec<(String, u32)> = out
        .failures
        .iter()
        .map(|f| (f.reason.to_string(), f.instances))
        .collect();
    let mut expected = vec![
        ("AGENT".to_owned(), 1),
        ("INSTANCE:DRAINING".to_owned(), 1),
        ("MemberOf".to_owned(), 1),
        ("RESOURCE:CPU".to_owned(), 1),
        ("RESOURCE:MEMORY".to_owned(), 1),
        ("RESOURCE:PORTS".to_owned(), 1),
    ];
    let mut got = reasons.clone();
    got.sort();
    expected.sort();
    assert_eq!(got, expected);
    let per_instance: Vec<(&str, String)> = out
        .rejections
        .iter()
        .map(|r| (r.instance.as_str(), r.reason.to_string()))
        .collect();
    assert_eq!(
        per_instance,
        [
            ("cpu-poor", "RESOURCE:CPU".to_owned()),
            ("mem-poor", "RESOURCE:MEMORY".to_owned()),
            ("draining", "INSTANCE:DRAINING".to_owned()),
            ("lost", "AGENT".to_owned()),
            ("dev", "MemberOf".to_owned()),
            ("ports", "RESOURCE:PORTS".to_owned()),
        ]
    );
}

#[test]
fn a_batch_never_overcommits() {
    let mut c = cluster([
        instance("i-1", 1000, 1000, "a"),
        instance("i-2", 1000, 1000, "b"),
    ]);
    let r = PlacementRequest::new("family:f", task(300, 100), 10)
        .with_strategy(Strategy::spread_zones());
    let out = place_both(&mut c, &r);
    assert_eq!(out.placements.len(), 6, "3 per instance by CPU");
    assert_eq!(out.unplaced, 4);
    assert_eq!(
        out.failures,
        [Failure {
            reason: FailureReason::Cpu,
            instances: 2
        }]
    );
    for i in c.instances() {
        assert_eq!(i.remaining_resources(), Resources::new(100, 700));
    }
}

#[test]
fn stopping_tasks_hold_resources_until_released() {
    let mut c = cluster([instance("i-1", 1024, 1024, "a")]);
    let r = PlacementRequest::new("family:f", task(1024, 1024), 1);
    let mut s = IndexedScheduler::with_seed(1);
    let first = s.place(&mut c, &r).unwrap();
    assert_eq!(first.placements.len(), 1);
    // The task is STOPPING: its resources stay reserved, nothing else fits.
    let blocked = s.place(&mut c, &r).unwrap();
    assert_eq!(blocked.unplaced, 1);
    assert_eq!(blocked.failures[0].reason, FailureReason::Cpu);
    // STOPPED: released at once, and the next placement fits.
    c.release(first.placements[0].allocation).unwrap();
    assert_eq!(s.place(&mut c, &r).unwrap().placements.len(), 1);
    assert!(matches!(
        c.release(first.placements[0].allocation),
        Err(Error::NotFound {
            kind: ResourceKind::Allocation,
            ..
        })
    ));
}

#[test]
fn host_ports_are_claimed_once_per_instance() {
    let mut c = cluster([
        instance("i-1", 4096, 4096, "a"),
        instance("i-2", 4096, 4096, "a"),
    ]);
    let td = TaskDefinition::from_json(
        r#"{"family": "web", "containerDefinitions": [{"name": "a", "image": "x", "memory": 64,
            "portMappings": [{"containerPort": 80, "hostPort": 8080}, {"containerPort": 81}]}]}"#,
    )
    .unwrap()
    .definition;
    let r = PlacementRequest::for_task_definition(&td, 3)
        .unwrap()
        .with_strategy(Strategy::Binpack(BinpackField::Memory));
    assert_eq!(
        r.requirements.ports,
        [HostPort::tcp(8080)],
        "dynamic ports hold nothing"
    );
    let out = place_both(&mut c, &r);
    assert_eq!(ids(&out), ["i-1", "i-2"]);
    assert_eq!(
        out.failures,
        [Failure {
            reason: FailureReason::Ports,
            instances: 2
        }]
    );
}

#[test]
fn plan_is_a_dry_run() {
    let c = cluster([instance("i-1", 4096, 4096, "a")]);
    let r = PlacementRequest::new("family:f", task(1024, 1024), 3);
    let out = IndexedScheduler::with_seed(1).plan(&c, &r).unwrap();
    assert_eq!(out.placements.len(), 3);
    assert_eq!(c.allocation_count(), 0);
    assert_eq!(
        c.instances().next().unwrap().remaining_resources(),
        Resources::new(4096, 4096)
    );
}

#[test]
fn requests_beyond_ecs_limits_are_refused() {
    let mut c = cluster([instance("i-1", 4096, 4096, "a")]);
    let mut r = PlacementRequest::new("family:f", task(1, 1), 1);
    for _ in 0..6 {
        r = r.with_strategy(Strategy::Random);
    }
    let err = IndexedScheduler::new().place(&mut c, &r).unwrap_err();
    assert_eq!(
        err.to_string(),
        "invalid placement request: at most 5 placement strategies are allowed, found 6"
    );
    assert_eq!(c.allocation_count(), 0);

    let bad: Vec<PlacementStrategy> =
        serde_json::from_str(r#"[{"type": "binpack", "field": "disk"}]"#).unwrap();
    let err = PlacementRequest::new("g", task(1, 1), 1)
        .with_api_strategies(&bad)
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "invalid placement request: binpack strategy: field \"disk\" is not cpu or memory"
    );
}

/// A custom strategy: prefer instances whose `rack` attribute sorts first.
#[derive(Debug)]
struct LowestRack;

impl CustomStrategy for LowestRack {
    fn name(&self) -> &str {
        "lowest-rack"
    }
    fn score(
        &self,
        instance: &ecs_core::cluster::ContainerInstance,
        _: &PlacementContext<'_>,
    ) -> i64 {
        instance
            .attribute("rack")
            .flatten()
            .and_then(|r| r.parse().ok())
            .unwrap_or(i64::MAX)
    }
}

/// A custom constraint: at most two tasks of the group per instance.
#[derive(Debug)]
struct AtMostTwo;

impl CustomConstraint for AtMostTwo {
    fn name(&self) -> &str {
        "AtMostTwo"
    }
    fn admits(
        &self,
        instance: &ecs_core::cluster::ContainerInstance,
        ctx: &PlacementContext<'_>,
    ) -> bool {
        ctx.group_tasks_on(instance) < 2
    }
}

#[test]
fn custom_strategies_and_constraints_plug_in() {
    let mut c = cluster([
        instance("i-1", 4096, 4096, "a").with_attribute("rack", "7"),
        instance("i-2", 4096, 4096, "a").with_attribute("rack", "3"),
    ]);
    let r = PlacementRequest::new("service:x", task(1, 1), 5)
        .with_strategy(Strategy::Custom(std::sync::Arc::new(LowestRack)))
        .with_constraint(Constraint::Custom(std::sync::Arc::new(AtMostTwo)));
    assert!(!IndexedScheduler::is_indexed(&r));
    let out = place_both(&mut c, &r);
    assert_eq!(ids(&out), ["i-2", "i-2", "i-1", "i-1"]);
    assert_eq!(
        out.failures,
        [Failure {
            reason: FailureReason::Custom("AtMostTwo".into()),
            instances: 2
        }]
    );
}

#[test]
fn ecs_request_shapes_are_indexed() {
    for strategies in [
        r#"[]"#,
        r#"[{"type": "random"}]"#,
        r#"[{"type": "binpack", "field": "memory"}]"#,
        r#"[{"type": "spread", "field": "host"}]"#,
        r#"[{"type": "spread", "field": "attribute:ecs.availability-zone"}, {"type": "spread", "field": "instanceId"}]"#,
        r#"[{"type": "spread", "field": "attribute:ecs.availability-zone"}, {"type": "binpack", "field": "cpu"}]"#,
    ] {
        let s: Vec<PlacementStrategy> = serde_json::from_str(strategies).unwrap();
        let r = PlacementRequest::new("g", task(1, 1), 1)
            .with_api_strategies(&s)
            .unwrap()
            .with_constraint(Constraint::DistinctInstance)
            .with_constraint(
                Constraint::member_of(
                    "attribute:ecs.instance-type =~ m5.* and ec2InstanceId != i-9",
                )
                .unwrap(),
            );
        assert!(IndexedScheduler::is_indexed(&r), "{strategies}");
    }
}

#[test]
fn instances_attributes_and_lifecycle() {
    let mut c = cluster([instance("i-1", 4096, 4096, "a")]);
    let id = "i-1".parse().unwrap();
    assert!(matches!(
        c.register_instance(instance("i-1", 1, 1, "a")),
        Err(Error::AlreadyExists {
            kind: ResourceKind::ContainerInstance,
            ..
        })
    ));
    c.put_attributes(&id, [("stack", Some("prod")), ("gpu", None)])
        .unwrap();
    assert_eq!(
        c.instance(&id).unwrap().attribute("stack"),
        Some(Some("prod"))
    );
    assert_eq!(c.instance(&id).unwrap().attribute("gpu"), Some(None));
    assert_eq!(
        c.instance(&id).unwrap().attribute("ecs.instance-id"),
        Some(Some("i-1"))
    );
    assert_eq!(c.list_attributes(Some("stack"), None).len(), 1);
    assert_eq!(c.list_attributes(None, Some("prod")).len(), 1);
    assert!(matches!(
        c.put_attributes(&id, [("ecs.availability-zone", Some("b"))]),
        Err(Error::InvalidAttribute { .. })
    ));
    assert!(matches!(
        c.put_attributes(&id, [("bad name", Some("x"))]),
        Err(Error::InvalidAttribute { .. })
    ));
    c.delete_attributes(&id, &["stack"]).unwrap();
    assert_eq!(c.instance(&id).unwrap().attribute("stack"), None);

    // A new attribute moves the instance between classes; placement sees it at once.
    let r = PlacementRequest::new("g", task(1, 1), 1)
        .with_constraint(Constraint::member_of("attribute:stack == blue").unwrap());
    assert_eq!(place_both(&mut c, &r).unplaced, 1);
    c.put_attributes(&id, [("stack", Some("blue"))]).unwrap();
    assert_eq!(place_both(&mut c, &r).placements.len(), 1);

    assert!(matches!(
        c.deregister_instance(&id, false),
        Err(Error::InstanceHasTasks { tasks: 1, .. })
    ));
    let gone = c.deregister_instance(&id, true).unwrap();
    assert_eq!(gone.status(), InstanceStatus::Inactive);
    assert!(c.is_empty());
    assert_eq!(c.allocation_count(), 0);
    assert!(matches!(
        c.set_status(&id, InstanceStatus::Active),
        Err(Error::NotFound {
            kind: ResourceKind::ContainerInstance,
            ..
        })
    ));
}

#[test]
fn many_clusters_side_by_side() {
    let mut a = cluster([instance("i-1", 1024, 1024, "a")]);
    let mut b = cluster([instance("i-1", 1024, 1024, "a")]);
    let r = PlacementRequest::new("g", task(1024, 1024), 1);
    IndexedScheduler::new().place(&mut a, &r).unwrap();
    assert_eq!(
        IndexedScheduler::new()
            .place(&mut b, &r)
            .unwrap()
            .placements
            .len(),
        1
    );
    assert_eq!((a.allocation_count(), b.allocation_count()), (1, 1));
}

#[test]
fn a_forced_deregister_forgets_what_its_tasks_held() {
    let mut c = cluster([
        instance("i-1", 4096, 4096, "a"),
        instance("i-2", 4096, 4096, "a"),
    ]);
    let r =
        PlacementRequest::new("service:s", task(10, 10), 1).with_strategy(Strategy::spread_zones());
    assert_eq!(ids(&place_both(&mut c, &r)), ["i-1"]);
    c.deregister_instance(&"i-1".parse().unwrap(), true)
        .unwrap();
    assert_eq!(ids(&place_both(&mut c, &r)), ["i-2"]);
}

#[test]
fn a_huge_count_is_placed_as_far_as_it_fits() {
    let mut c = cluster([instance("i-1", 1024, 1024, "a")]);
    let r = PlacementRequest::new("family:f", task(512, 512), u32::MAX);
    let out = IndexedScheduler::with_seed(1).place(&mut c, &r).unwrap();
    assert_eq!(out.placements.len(), 2);
    assert_eq!(out.unplaced, u32::MAX - 2);
}
