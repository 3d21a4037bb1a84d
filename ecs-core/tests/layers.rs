//! The control plane's layers, checked on the source: imports point one way, from the
//! facade down to the model.
//!
//! ```text
//! control      the Ecs facade, recovery's wiring      (nothing imports it)
//! controllers  service controllers, load balancing, auto scaling, engine stats
//! ops          launch, stop, services; the fleet of agents, the scheduler, the supervisor
//! agent        each instance's agent and its tasks' runners
//! state        the tables and their one writer, the event bus, the journal
//! the rest     the model, placement, the store, the runtime trait, config
//! ```
//!
//! The runtime conformance suite (`conformance`) drives the facade as a user does: it
//! sits above it.
//!
//! A module may name its own layer and the layers below it, never one above.

use std::path::Path;

/// The shell's layers, lowest first; every other module is below them all.
const LAYERS: [&str; 5] = ["state", "agent", "ops", "controllers", "control"];

/// A module's rank: 0 for the model and everything else below the shell.
fn rank(module: &str) -> usize {
    match module {
        // The facade's type, re-exported at the crate's root.
        "Ecs" => LAYERS.len(),
        "conformance" => LAYERS.len() + 1,
        m => LAYERS.iter().position(|l| *l == m).map_or(0, |i| i + 1),
    }
}

/// The top-level modules Rust source names through `crate::` (comments left out; groups
/// `crate::{a::X, b::{Y, Z}}` over several lines, as rustfmt writes them, included).
fn named(source: &str) -> Vec<String> {
    let code: String = source
        .lines()
        .map(|l| l.find("//").map_or(l, |i| &l[..i]))
        .collect::<Vec<_>>()
        .join(" ");
    let ident = |s: &str| -> String {
        s.trim_start()
            .chars()
            .take_while(|c| c.is_alphanumeric() || *c == '_')
            .collect()
    };
    let mut out = Vec::new();
    let mut rest = code.as_str();
    while let Some(i) = rest.find("crate::") {
        rest = &rest[i + "crate::".len()..];
        let Some(group) = rest.strip_prefix('{') else {
            out.push(ident(rest));
            continue;
        };
        // The group's top-level items: split at commas outside nested braces.
        let (mut depth, mut start) = (0usize, 0usize);
        for (j, c) in group.char_indices() {
            match c {
                '{' => depth += 1,
                '}' if depth == 0 => {
                    out.push(ident(&group[start..j]));
                    break;
                }
                '}' => depth -= 1,
                ',' if depth == 0 => {
                    out.push(ident(&group[start..j]));
                    start = j + 1;
                }
                _ => {}
            }
        }
    }
    out.retain(|m| !m.is_empty());
    out
}

/// The imports of `source`, in module `module`, that point up a layer.
fn violations(module: &str, source: &str) -> Vec<String> {
    let mine = rank(module);
    named(source)
        .into_iter()
        .filter(|m| m != module && rank(m) > mine)
        .map(|m| format!("{module} names {m}"))
        .collect()
}

fn walk(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            walk(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
}

#[test]
fn imports_point_down_the_layers_only() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    walk(&src, &mut files);
    assert!(files.len() > 50, "the source was found: {}", files.len());
    let mut found = Vec::new();
    for f in &files {
        let rel = f.strip_prefix(&src).unwrap();
        let first = rel
            .components()
            .next()
            .unwrap()
            .as_os_str()
            .to_string_lossy();
        let module = first.trim_end_matches(".rs");
        // The crate's root declares every module and re-exports the facade.
        if module == "lib" {
            continue;
        }
        let source = std::fs::read_to_string(f).unwrap();
        found.extend(
            violations(module, &source)
                .into_iter()
                .map(|v| format!("{}: {v}", rel.display())),
        );
    }
    assert!(
        found.is_empty(),
        "imports against the layers:\n{}",
        found.join("\n")
    );
}

#[test]
fn the_check_sees_an_import_up_a_layer() {
    assert_eq!(
        violations("ops", "use crate::controllers::Context;").len(),
        1
    );
    assert_eq!(
        violations("state", "use crate::{ids::TaskId, agent::Agent};").len(),
        1
    );
    assert_eq!(
        violations("service", "let e = crate::Ecs::new(c);").len(),
        1
    );
    assert_eq!(violations("control", "use crate::ops::Ops;").len(), 0);
    assert_eq!(violations("ops", "use crate::ops::Fleet;").len(), 0);
    assert_eq!(
        violations("ops", "/// See [`crate::control::Ecs`].").len(),
        0
    );
}
