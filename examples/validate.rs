//! Validates ECS task definition JSON files.
//!
//! ```text
//! cargo run --example validate -- FILE...
//! ```
//!
//! For each file, prints `ok` and its warnings, or every error with its JSON path.
//! Exits 0 only when every file is valid, 1 when one is not, 2 on a usage error.

use std::process::ExitCode;

use ecs::TaskDefinition;

fn main() -> ExitCode {
    let files: Vec<String> = std::env::args().skip(1).collect();
    if files.is_empty() {
        eprintln!("usage: validate FILE...");
        return ExitCode::from(2);
    }
    let mut all_valid = true;
    for file in &files {
        let text = match std::fs::read_to_string(file) {
            Ok(text) => text,
            Err(e) => {
                println!("{file}: cannot read: {e}");
                all_valid = false;
                continue;
            }
        };
        match TaskDefinition::from_json(&text) {
            Ok(loaded) => {
                println!("{file}: ok ({} warnings)", loaded.warnings.len());
                for w in &loaded.warnings {
                    println!("  warning: {w}");
                }
            }
            Err(ecs::Error::Invalid(violations)) => {
                all_valid = false;
                println!("{file}: invalid, {} errors", violations.len());
                for v in &violations {
                    println!("  error: {v}");
                }
            }
            Err(e) => {
                all_valid = false;
                println!("{file}: invalid");
                println!("  error: {e}");
            }
        }
    }
    if all_valid {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}
