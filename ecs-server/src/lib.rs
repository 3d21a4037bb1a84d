//! Amazon ECS's API over HTTP for an [`ecs_core`] control plane: the wire protocol the
//! aws CLI and the AWS SDKs speak (AWS JSON 1.1, `POST /` with
//! `X-Amz-Target: AmazonEC2ContainerServiceV20141113.<Operation>`), requests
//! authenticated by AWS Signature Version 4 against the server's own access keys, and
//! ECS's exception names in its errors.
//!
//! A program that embeds the control plane serves its API with a [`Server`], or merges
//! [`router`] into its own axum application:
//!
//! ```no_run
//! use ecs_core::Ecs;
//! use ecs_server::{Server, ServerConfig};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let ecs = Ecs::new(Default::default());
//! let server = Server::bind(ecs, ServerConfig::default()).await?;
//! println!("aws ecs list-clusters --endpoint-url http://{}", server.local_addr()?);
//! server.serve(async { tokio::signal::ctrl_c().await.ok(); }).await?;
//! # Ok(())
//! # }
//! ```
//!
//! The operations it honours: clusters (create, describe, list), task definitions
//! (register, describe, list, list families, deregister), tasks (run, start, stop,
//! describe, list, with ECS's filters and pagination), services (create, update,
//! describe, list, delete), container instances (register, describe, list, update
//! state, deregister, and their attributes). The other operations of ECS's model answer
//! `UnsupportedFeatureException`.

mod auth;
mod config;
mod ecs;
pub mod protocol;
mod server;

pub use config::{Auth, Credentials, DEFAULT_ACCESS_KEY, InstanceSource, ServerConfig};
pub use server::{Server, router};

/// What can go wrong serving the API (a request's own errors are answers, not these).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The server could not listen on its address.
    #[error("cannot listen on {address}: {source}")]
    Bind {
        /// The address.
        address: std::net::SocketAddr,
        /// What the operating system said.
        #[source]
        source: std::io::Error,
    },
    /// Serving failed.
    #[error("serving the API failed: {0}")]
    Serve(#[source] std::io::Error),
}
