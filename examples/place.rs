//! Places tasks on a described cluster and prints where they go, as JSON.
//!
//! ```text
//! cargo run --release --example place -- SCENARIO.json
//! ```
//!
//! The scenario: `{"instances": [{"id": "i-1", "cpu": 4096, "memory": 8192, "status":
//! "ACTIVE", "attributes": {"ecs.availability-zone": "us-east-1a"}}, ...],
//! "taskDefinition": {AWS task definition JSON}, "count": 10, "placementStrategy": [...],
//! "placementConstraints": [...]}` (RunTask's shapes for the last two; optional
//! `agentConnected`, `gpus`, `group`, `seed`). The output:
//! `{"tasks": [{"instanceId": "i-1"}, ...], "unplaced": 0, "failures": [{"reason":
//! "RESOURCE:MEMORY", "instances": 3}, ...], "rejections": [...]}`, tasks in placement
//! order. An invalid scenario exits 1 with a message on stderr.

use std::process::ExitCode;

#[path = "support/scenario.rs"]
mod scenario;

fn main() -> ExitCode {
    let Some(path) = std::env::args().nth(1) else {
        eprintln!("usage: place SCENARIO.json");
        return ExitCode::from(2);
    };
    let text = match std::fs::read_to_string(&path) {
        Ok(t) => t,
        Err(e) => {
            eprintln!("{path}: {e}");
            return ExitCode::FAILURE;
        }
    };
    match scenario::run(&text) {
        Ok(output) => {
            println!("{output}");
            ExitCode::SUCCESS
        }
        Err(message) => {
            eprintln!("{path}: {message}");
            ExitCode::FAILURE
        }
    }
}
