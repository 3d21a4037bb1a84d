//! An embeddable Amazon ECS: task definitions, tasks, services and clusters as a
//! library.
//!
//! This crate is a facade: it re-exports [`ecs_core`] and, behind the cargo features
//! `docker` and `podman`, the backends.
//!
//! ```
//! let loaded = ecs::TaskDefinition::from_json(
//!     r#"{"family": "hello", "containerDefinitions":
//!         [{"name": "app", "image": "busybox", "memory": 64}]}"#,
//! )?;
//! assert_eq!(loaded.definition.family(), "hello");
//! # Ok::<(), ecs::Error>(())
//! ```

pub use ecs_core::*;

/// ECS's API over HTTP (the aws CLI's and the SDKs' protocol) for a control plane.
pub use ecs_server as server;

/// The Docker backend.
#[cfg(feature = "docker")]
pub use ecs_backend_docker as docker;

/// The Podman backend.
#[cfg(feature = "podman")]
pub use ecs_backend_podman as podman;

/// The state on etcd, shared by control planes of which one leads.
#[cfg(feature = "etcd")]
pub use ecs_store_etcd as etcd;

/// The README's examples, compiled and run as doc tests.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;
