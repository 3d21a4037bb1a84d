//! Task definitions: loading and validating them (the project's samples, invalid ones,
//! other people's files) and the registry that keeps their revisions.
//!
//! One test binary; each theme is a module in `task_definitions/`.

#[path = "task_definitions/fixtures.rs"]
mod fixtures;
#[path = "task_definitions/invalid.rs"]
mod invalid;
#[path = "task_definitions/registry.rs"]
mod registry;
#[path = "task_definitions/shared_corpus.rs"]
mod shared_corpus;
