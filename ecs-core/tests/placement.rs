//! Placement: the schedulers, their properties on random clusters, and the cluster query
//! language constraints are written in.
//!
//! One test binary; each theme is a module in `placement/`.

#[path = "placement/properties.rs"]
mod properties;
#[path = "placement/query_language.rs"]
mod query_language;
#[path = "placement/scheduling.rs"]
mod scheduling;
