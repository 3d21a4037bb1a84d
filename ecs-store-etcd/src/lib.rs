//! The embeddable ECS's state on etcd, for programs that run several copies of their
//! control plane: one leads, the others stand by and take over when it dies.
//!
//! - [`EtcdStore`] implements [`ecs_core::store::Store`] on etcd: a commit is one etcd
//!   transaction comparing each record's version (a commit too large for one is
//!   staged and applied whole behind a commit record), loads page through the keyspace
//!   at one revision.
//! - [`Candidate`] campaigns on etcd's election API; the [`Leadership`] it wins comes
//!   with a [`Fence`], which the leader's store compares in every transaction: a
//!   leader whose lease ran out (it died, froze, or lost etcd) is refused at its next
//!   write, and its control plane then acts on nothing more.
//!
//! A standby campaigns; when it wins, it opens the store fenced and recovers exactly as
//! after a restart ([`Ecs::open`](ecs_core::control::Ecs::open)), adopting the
//! containers the previous leader left running.
//!
//! ```no_run
//! use std::sync::Arc;
//! use std::time::Duration;
//! use ecs_core::control::{Ecs, EcsConfig};
//! use ecs_store_etcd::{Candidate, EtcdStore};
//!
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! let client = etcd_client::Client::connect(["http://127.0.0.1:2379"], None).await?;
//! let candidate = Candidate::new(&client, "ecs/prod", "node-a", Duration::from_secs(5));
//! loop {
//!     // Stands by until this node leads.
//!     let leadership = candidate.campaign().await?;
//!     let store = EtcdStore::open_fenced(&client, "ecs/prod", leadership.fence()).await?;
//!     let ecs = Ecs::open(EcsConfig::default(), Arc::new(store)).await?;
//!     // ... register the container instances again, serve the API ...
//!     leadership.lost().await;
//!     // Another leads now: this one stops acting, and stands by again.
//!     ecs.halt().await;
//! }
//! # }
//! ```
//!
//! The store's conformance suite (`ecs_core::store::conformance`) runs on a real
//! three-member etcd cluster in this crate's tests (`scripts/etcd` starts one).

mod batch;
mod election;
mod keys;
mod store;

pub use election::{Candidate, Fence, LeaderChanges, Leadership};
/// The etcd client this crate speaks through, at the version it was built with.
pub use etcd_client;
pub use store::{DEFAULT_MAX_TXN_BYTES, DEFAULT_MAX_TXN_OPS, EtcdStore};

/// What the election can fail with (the store's operations fail with
/// [`ecs_core::Error`], as every store's do).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// etcd could not be reached, or refused a request.
    #[error("etcd: {0}")]
    Etcd(#[from] etcd_client::Error),
    /// etcd answered something this client cannot make sense of.
    #[error("etcd answered unexpectedly: {0}")]
    Protocol(String),
}
