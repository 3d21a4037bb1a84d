//! Amazon ECS's API over HTTP for an [`ecs_core`] control plane: the wire protocol the
//! aws CLI and the AWS SDKs speak (AWS JSON 1.1, `POST /` with
//! `X-Amz-Target: AmazonEC2ContainerServiceV20141113.<Operation>`), requests
//! authenticated by AWS Signature Version 4 against the server's own access keys, and
//! ECS's exception names in its errors.
//!
//! A program that embeds the control plane serves its API with a [`Server`], or merges
//! [`router`] into its own axum application:
//!
//! ```
//! use ecs_core::Ecs;
//! use ecs_server::{Auth, Server, ServerConfig};
//! use tokio::io::{AsyncReadExt, AsyncWriteExt};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let ecs = Ecs::new(Default::default());
//! ecs.create_cluster("dev".parse()?)?;
//! // Port 0: any free port. Checking signatures off, for this example's plain request;
//! // the default checks them against `ServerConfig::auth`'s keys.
//! let config = ServerConfig::default()
//!     .with_listen("127.0.0.1:0".parse()?)
//!     .with_auth(Auth::Disabled);
//! let server = Server::bind(ecs, config).await?;
//! let address = server.local_addr()?;
//! let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
//! let serving = tokio::spawn(server.serve(async { stopped.await.ok(); }));
//!
//! // What `aws ecs list-clusters --endpoint-url http://ADDRESS` sends.
//! let mut conn = tokio::net::TcpStream::connect(address).await?;
//! conn.write_all(
//!     b"POST / HTTP/1.1\r\nHost: ecs\r\nConnection: close\r\n\
//!       Content-Type: application/x-amz-json-1.1\r\n\
//!       X-Amz-Target: AmazonEC2ContainerServiceV20141113.ListClusters\r\n\
//!       Content-Length: 2\r\n\r\n{}",
//! )
//! .await?;
//! let mut answer = String::new();
//! conn.read_to_string(&mut answer).await?;
//! assert!(answer.starts_with("HTTP/1.1 200"));
//! assert!(answer.ends_with(r#"{"clusterArns":["arn:aws:ecs:local:000000000000:cluster/dev"]}"#));
//!
//! stop.send(()).ok();
//! serving.await??;
//! # Ok(())
//! # }
//! ```
//!
//! The operations it honours: clusters (create, describe, list, delete, update
//! settings), task definitions (register, describe, list, list families, deregister,
//! delete), tasks (run, start, stop, describe, list, with ECS's filters and
//! pagination), services (create, update, describe, list, delete), container instances
//! (register, describe, list, update state, deregister, and their attributes), tags
//! (tag, untag, list); and Application Auto Scaling's scalable targets, scaling
//! policies and activities. The other operations of ECS's model answer
//! `UnsupportedFeatureException`. The same server serves a web console at `/` and, when
//! given a Prometheus recorder, `/metrics`.

mod auth;
mod autoscaling;
mod config;
mod console;
mod ecs;
pub mod protocol;
mod server;
mod tls;

pub use config::{
    Auth, Credentials, DEFAULT_ACCESS_KEY, DEFAULT_SECRET_KEY, InstanceSource, SECRET_KEY_LEN,
    ServerConfig,
};
pub use server::{Server, router};
pub use tls::TlsConfig;

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
    /// The configuration cannot work: what is wrong with it.
    #[error("invalid server configuration: {0}")]
    Config(String),
    /// Serving failed.
    #[error("serving the API failed: {0}")]
    Serve(#[source] std::io::Error),
}
