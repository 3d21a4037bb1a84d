//! Durable state: the [`Store`] trait the control plane keeps its state in, and two
//! stores, [`MemoryStore`] (tests) and [`FileStore`] (one crash-safe file on disk); a
//! third, on etcd, is the crate `ecs-store-etcd`.
//!
//! A store holds [`Record`]s: bytes (JSON in practice) under a key, in a keyspace per
//! [`Kind`] (task definitions, services, instances, tasks, scaling, clusters), each with
//! a version: 1 when created, one more on every write. Every [`Write`] says which
//! version it expects to find, and [`Store::commit`] applies a list of them in one
//! transaction, all or none: a stale expectation fails the whole commit with
//! [`Error::StoreConflict`](crate::Error::StoreConflict), so two writers cannot
//! silently overwrite each other. [`StoreExt`] adds single-write helpers to every store.
//!
//! ```
//! use ecs_core::store::{FileStore, Kind, Store, StoreExt, Write};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), ecs_core::Error> {
//! # let dir = std::env::temp_dir().join(format!("ecs-store-doc-{}", std::process::id()));
//! # std::fs::create_dir_all(&dir).unwrap();
//! let path = dir.join("state.ecs");
//! let store = FileStore::open(&path)?;
//!
//! // A task and its service's new desired count, in one transaction.
//! store.create(Kind::Service, "default/web", br#"{"desiredCount":1}"#.to_vec()).await?;
//! let versions = store
//!     .commit(vec![
//!         Write::create(Kind::Task, "default/t-1", r#"{"desiredStatus":"RUNNING"}"#),
//!         Write::replace(Kind::Service, "default/web", 1, r#"{"desiredCount":2}"#),
//!     ])
//!     .await?;
//! assert_eq!(versions, [1, 2]);
//!
//! // A writer holding an old version loses, and changes nothing.
//! let stale = store
//!     .commit(vec![
//!         Write::create(Kind::Task, "default/t-2", "{}"),
//!         Write::replace(Kind::Service, "default/web", 1, r#"{"desiredCount":0}"#),
//!     ])
//!     .await;
//! assert!(matches!(stale, Err(ecs_core::Error::StoreConflict { found: Some(2), .. })));
//! assert!(store.get(Kind::Task, "default/t-2").await?.is_none());
//!
//! // Reopened (after a restart, or a crash), it holds every commit that returned.
//! drop(store);
//! let store = FileStore::open(&path)?;
//! let tasks = store.load(Kind::Task).await?;
//! assert_eq!((tasks.len(), tasks[0].key.as_str()), (1, "default/t-1"));
//! # drop(store);
//! # std::fs::remove_dir_all(&dir).unwrap();
//! # Ok(())
//! # }
//! ```
//!
//! # On etcd
//!
//! The crate `ecs-store-etcd` implements the trait on etcd, for several control planes
//! of which one leads. A record is the key `<root>/records/<kind>/<key>`, its version
//! etcd's per-key `version` (1 on creation, +1 on each put, reset by a delete: exactly
//! [`Record::version`]). [`Store::commit`] is one etcd `Txn` whose compares are the
//! writes' expected versions; a commit larger than a transaction holds (etcd's
//! `--max-txn-ops`, its request size) or writing a key twice is staged and applied
//! whole behind a commit record, which the next writer finishes if this one dies
//! halfway. The leader's every `Txn` also compares its election key's creation
//! revision ([`Store::check_fence`] answers locally, from its lease), so that a leader
//! succeeded by another is refused with [`Error::StoreFenced`](crate::Error::StoreFenced)
//! and acts on nothing more; the next leader opens the store and recovers exactly as
//! after a restart.
//!
//! # Conformance
//!
//! Every store passes the same checks (`conformance`, with the `conformance` feature):
//! a new one runs `ecs_core::store::conformance::run` against a fresh store in its tests.

mod api;
#[cfg(any(test, feature = "conformance"))]
pub mod conformance;
mod file;
mod kind;
mod memory;
mod record;

pub use api::{Store, StoreExt};
pub use file::FileStore;
pub use kind::Kind;
pub use memory::MemoryStore;
pub use record::{Record, Write};
