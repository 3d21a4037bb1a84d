//! The official AWS clients and the browser `scripts/api-clients` installs: where they
//! are, from its `ECS_*` variables.

/// The variable `name`, set by `scripts/api-clients`; a test without it fails, saying
/// how to set it, rather than skipping.
pub fn required(name: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| {
        panic!("{name} is not set: run `eval \"$(scripts/api-clients)\"` first (scripts/test does)")
    })
}
