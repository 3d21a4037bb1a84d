//! The `place` example's scenario format, end to end: JSON in, placements and failures
//! out; invalid scenarios refused with a message that says what is wrong.

#[path = "../examples/support/scenario.rs"]
mod scenario;

use serde_json::{Value, json};

fn run(v: Value) -> Result<Value, String> {
    scenario::run(&v.to_string())
}

#[test]
fn the_sample_scenario() {
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/examples/data/scenario-web.json"
    ))
    .unwrap();
    let out = scenario::run(&text).unwrap();
    let tasks: Vec<&str> = out["tasks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["instanceId"].as_str().unwrap())
        .collect();
    // spread over the prod zones a and b (c's prod instance drains), binpack within.
    assert_eq!(tasks.len(), 12);
    assert_eq!(&tasks[..4], ["i-2", "i-1", "i-2", "i-1"]);
    assert_eq!(
        tasks.iter().filter(|t| **t == "i-2").count(),
        4,
        "4 GiB / 1 GiB"
    );
    assert_eq!(out["unplaced"], 2);
    let failures: Vec<(String, u64)> = out["failures"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["reason"].as_str().unwrap().to_owned(),
                f["instances"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        failures,
        [
            ("RESOURCE:MEMORY".into(), 2),
            ("INSTANCE:DRAINING".into(), 1),
            ("MemberOf".into(), 1)
        ]
    );
}

fn base() -> Value {
    json!({
        "instances": [{"id": "i-1", "cpu": 1024, "memory": 1024, "attributes": {"ecs.availability-zone": "a"}}],
        "taskDefinition": {"family": "f", "containerDefinitions": [{"name": "a", "image": "x", "memory": 256}]},
        "count": 2
    })
}

#[test]
fn instance_ids_double_as_the_instance_id_attribute() {
    let mut v = base();
    v["placementConstraints"] =
        json!([{"type": "memberOf", "expression": "attribute:ecs.instance-id == i-1"}]);
    assert_eq!(run(v).unwrap()["tasks"].as_array().unwrap().len(), 2);
}

#[test]
fn invalid_scenarios_say_what_is_wrong() {
    let mut v = base();
    v["instances"][0]["memroy"] = json!(5);
    assert!(run(v).unwrap_err().contains("unknown field `memroy`"));

    let mut v = base();
    v["taskDefinition"]["containerDefinitions"][0]["image"] = json!("");
    assert!(
        run(v)
            .unwrap_err()
            .starts_with("taskDefinition: invalid task definition")
    );

    let mut v = base();
    v["placementConstraints"] = json!([{"type": "memberOf", "expression": "attribute:x = 1"}]);
    let e = run(v).unwrap_err();
    assert!(e.contains("at column 13: expected an operator"), "{e}");

    let mut v = base();
    v["placementStrategy"] = json!([{"type": "spread"}]);
    assert!(
        run(v)
            .unwrap_err()
            .contains("spread strategy: needs a field")
    );

    let mut v = base();
    v["instances"][0]["status"] = json!("SLEEPING");
    assert!(
        run(v)
            .unwrap_err()
            .contains("\"SLEEPING\" is not a valid InstanceStatus")
    );

    let mut v = base();
    v["instances"][0]["id"] = json!("has space");
    assert!(
        run(v)
            .unwrap_err()
            .starts_with("instances[0]: invalid instance id")
    );
}
