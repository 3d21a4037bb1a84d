//! The cluster query language: every form the ECS docs show parses and selects what
//! it says; malformed expressions say where and what was expected.

use ecs_core::cluster::{Cluster, InstanceRegistration, Resources};
use ecs_core::placement::query::{Query, QueryError};
use ecs_core::placement::rules::Constraint;
use ecs_core::placement::{IndexedScheduler, PlacementRequest, Scheduler, TaskRequirements};

/// A cluster of three instances:
/// - i-a: t2.small in us-east-1a, stack=prod, agent 1.14.0, registered 2018-01-01
/// - i-b: g2.2xlarge in us-east-1b, stack=dev, agent 1.20.1, registered 2018-03-01
/// - i-c: g2.8xlarge in us-east-1d, no stack, agent 1.14.5, registered 2019-01-01
fn cluster() -> Cluster {
    let mut c = Cluster::new("q".parse().unwrap());
    let add = |c: &mut Cluster,
               id: &str,
               ty: &str,
               zone: &str,
               stack: Option<&str>,
               agent: &str,
               at: &str| {
        let mut reg = InstanceRegistration::new(id.parse().unwrap(), Resources::new(4096, 8192))
            .with_zone(zone)
            .with_attribute("ecs.instance-type", ty)
            .with_agent_version(agent)
            .with_registered_at(at.parse().unwrap());
        if let Some(s) = stack {
            reg = reg.with_attribute("stack", s);
        }
        c.register_instance(reg).unwrap();
    };
    add(
        &mut c,
        "i-a",
        "t2.small",
        "us-east-1a",
        Some("prod"),
        "1.14.0",
        "2018-01-01T00:00:00Z",
    );
    add(
        &mut c,
        "i-b",
        "g2.2xlarge",
        "us-east-1b",
        Some("dev"),
        "1.20.1",
        "2018-03-01T00:00:00Z",
    );
    add(
        &mut c,
        "i-c",
        "g2.8xlarge",
        "us-east-1d",
        None,
        "1.14.5",
        "2019-01-01T00:00:00Z",
    );
    c
}

/// The instances `expression` selects, by running a memberOf placement of one task per
/// instance with distinctInstance (so every selected instance gets one).
fn selected(cluster: &Cluster, expression: &str) -> Vec<String> {
    let request = PlacementRequest::new("family:q", TaskRequirements::new(Resources::new(1, 1)), 3)
        .with_constraint(Constraint::member_of(expression).unwrap())
        .with_constraint(Constraint::DistinctInstance);
    let outcome = IndexedScheduler::with_seed(7)
        .plan(cluster, &request)
        .unwrap();
    let mut ids: Vec<String> = outcome
        .placements
        .iter()
        .map(|p| p.instance.to_string())
        .collect();
    ids.sort();
    ids
}

#[test]
fn the_documented_examples_select_what_they_say() {
    let c = cluster();
    for (expression, expected) in [
        ("attribute:ecs.instance-type == t2.small", vec!["i-a"]),
        (
            "attribute:ecs.availability-zone in [us-east-1a, us-east-1b]",
            vec!["i-a", "i-b"],
        ),
        (
            "attribute:ecs.instance-type =~ g2.* and attribute:ecs.availability-zone != us-east-1d",
            vec!["i-b"],
        ),
        ("agentVersion < 1.14.5", vec!["i-a"]),
        ("registeredAt < 2018-02-13", vec!["i-a"]),
        ("ec2InstanceId in ['i-a', 'i-c']", vec!["i-a", "i-c"]),
        ("runningTasksCount == 0", vec!["i-a", "i-b", "i-c"]),
        ("not(task:group == database)", vec!["i-a", "i-b", "i-c"]),
        ("task:group == service:production", vec![]),
        ("attribute:stack exists", vec!["i-a", "i-b"]),
        ("attribute:stack !exists", vec!["i-c"]),
        (
            "attribute:stack not_exists or attribute:stack == prod",
            vec!["i-a", "i-c"],
        ),
        ("attribute:stack !in [prod]", vec!["i-b", "i-c"]),
        ("attribute:ecs.instance-type !~ g2\\..*", vec!["i-a"]),
        (
            "attribute:ecs.instance-type matches '(t2|g2)\\.small'",
            vec!["i-a"],
        ),
        (
            "(attribute:stack == dev || attribute:stack == prod) && agentVersion >= 1.20",
            vec!["i-b"],
        ),
        ("! attribute:stack == prod", vec!["i-b", "i-c"]),
        (
            "attribute:ecs.instance-type equals t2.small OR attribute:stack equals dev",
            vec!["i-a", "i-b"],
        ),
        (
            "agentConnected == true and registeredAt >= 2018-03-01T00:00:00Z",
            vec!["i-b", "i-c"],
        ),
        ("(attribute:ecs.instance-type =~ g2.*)", vec!["i-b", "i-c"]),
    ] {
        assert_eq!(selected(&c, expression), expected, "{expression}");
    }
}

#[test]
fn task_group_affinity_follows_running_tasks() {
    let mut c = cluster();
    // One database task on i-b.
    let db = PlacementRequest::new("database", TaskRequirements::new(Resources::new(1, 1)), 1)
        .with_constraint(Constraint::member_of("ec2InstanceId == i-b").unwrap());
    IndexedScheduler::with_seed(1).place(&mut c, &db).unwrap();
    assert_eq!(selected(&c, "task:group == database"), ["i-b"]);
    assert_eq!(selected(&c, "not(task:group == database)"), ["i-a", "i-c"]);
    assert_eq!(selected(&c, "runningTasksCount > 0"), ["i-b"]);
}

fn error(expression: &str) -> QueryError {
    Query::parse(expression).unwrap_err()
}

#[test]
fn errors_give_the_column_and_what_was_expected() {
    let e = error("attribute:stack = prod");
    assert_eq!(e.column, 17);
    assert!(e.expected.starts_with("an operator"), "{e}");
    assert_eq!(e.found, "\"=\"");

    let e = error("attribute:stack == prod and");
    assert_eq!(e.column, 28);
    assert_eq!(e.found, "the end of the expression");

    let e = error("(attribute:stack == prod");
    assert_eq!((e.column, e.expected.as_str()), (25, "`)`"));

    let e = error("attribute:zone in us-east-1a");
    assert_eq!(
        (e.column, e.expected.as_str()),
        (19, "`[` starting a list such as [a, b]")
    );

    let e = error("attribute:zone in [a b]");
    assert_eq!((e.column, e.expected.as_str()), (22, "`,` or `]`"));

    let e = error("instanceType == t2.small");
    assert_eq!(e.column, 1);
    assert!(e.expected.starts_with("a subject"), "{e}");

    let e = error("attribute:x =~ (unclosed");
    assert_eq!(
        (e.column, e.expected.as_str()),
        (16, "a valid regular expression")
    );

    let e = error("attribute:x == 'open");
    assert_eq!((e.column, e.expected.as_str()), (16, "a closing '"));

    let e = error("attribute:a == b c");
    assert_eq!(e.column, 18);
    assert_eq!(
        e.to_string(),
        "at column 18: expected `and`, `or` or the end of the expression, found \"c\""
    );
}

#[test]
fn hostile_input_is_refused_not_a_crash() {
    let deep = format!("{}attribute:a exists{}", "(".repeat(500), ")".repeat(500));
    assert!(error(&deep).expected.contains("levels"));
    let long = format!("attribute:a in [{}]", vec!["x"; 1500].join(","));
    assert!(error(&long).expected.contains("2000 characters"));
}

#[test]
fn task_definition_constraints_are_checked_at_registration() {
    let err = ecs_core::TaskDefinition::from_json(
        r#"{"family": "f", "placementConstraints": [{"type": "memberOf", "expression": "attribute:x === y"}],
            "containerDefinitions": [{"name": "a", "image": "x", "memory": 8}]}"#,
    )
    .unwrap_err();
    assert_eq!(
        err.to_string(),
        "invalid task definition: 1 problem\n  placementConstraints[0].expression: \
         \"attribute:x === y\" is not a valid expression: at column 15: expected a value, found \"=\""
    );
}

/// Edge cases of the language: a pattern that would escape its anchoring is refused,
/// task:group takes group names rather than patterns, versions compare as versions
/// (1.10.0 > 1.9), an instant selects the same whatever its spelling, and `&&` ends a
/// bare pattern as it ends a value.
#[test]
fn review_findings_stay_fixed() {
    // A pattern that would escape its anchoring is refused.
    assert_eq!(
        error("attribute:a =~ \"a)|(b\"").expected,
        "a valid regular expression"
    );
    // task:group takes group names, not patterns.
    assert!(
        error("task:group =~ service:.*")
            .expected
            .starts_with("task:group with")
    );
    let mut c = cluster();
    c.register_instance(
        InstanceRegistration::new("i-v".parse().unwrap(), Resources::new(1, 1))
            .with_agent_version("1.10.0")
            .with_attribute("n", "10")
            .with_registered_at("2018-06-18T22:28:28Z".parse().unwrap()),
    )
    .unwrap();
    // Versions compare as versions: 1.10.0 > 1.9.
    assert!(selected(&c, "agentVersion > 1.9").contains(&"i-v".to_owned()));
    // The same instant, spelled differently.
    assert_eq!(
        selected(&c, "registeredAt == 2018-06-18T22:28:28+00:00"),
        ["i-v"]
    );
    // `&&` ends a bare pattern as it ends a value.
    assert_eq!(selected(&c, "attribute:n =~ 1.&&attribute:n==10"), ["i-v"]);
}
