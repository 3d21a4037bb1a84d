//! Load balancing: the targets a service's tasks register as, the [`LoadBalancer`]
//! trait a load balancer implements, and a built-in one, [`TcpLoadBalancer`], with
//! ELB's semantics.
//!
//! - [`LoadBalancer`]: register, deregister (with draining), target health. Implement
//!   it to drive another balancer (an nginx or HAProxy upstream ...).
//! - [`TcpLoadBalancer`]: a TCP proxy in tokio. Targets start `initial` and receive
//!   connections once they pass `healthy_threshold` health checks in a row (TCP connect,
//!   or HTTP `GET` with a [`Matcher`] of codes); `unhealthy_threshold` failures in a row
//!   take them out. Each connection goes to a healthy target by [`Algorithm`] (round
//!   robin, or least connections); when connecting fails, the next healthy target is
//!   tried. A deregistered target drains: no new connections, open ones go on until
//!   they close or the deregistration delay passes, when they are cut.
//!
//! A balancer in front of one task, an echo server:
//!
//! ```
//! use std::time::Duration;
//! use ecs_core::load_balancer::{
//!     HealthCheck, LoadBalancer, Target, TargetState, TcpLoadBalancer, TcpLoadBalancerConfig,
//! };
//! use tokio::io::{AsyncReadExt, AsyncWriteExt};
//! use tokio::net::{TcpListener, TcpStream};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let task = TcpListener::bind("127.0.0.1:0").await?;
//! let task_address = task.local_addr()?;
//! tokio::spawn(async move {
//!     while let Ok((mut connection, _)) = task.accept().await {
//!         tokio::spawn(async move {
//!             let (mut from, mut to) = connection.split();
//!             let _ = tokio::io::copy(&mut from, &mut to).await;
//!         });
//!     }
//! });
//!
//! let lb = TcpLoadBalancer::bind(
//!     TcpLoadBalancerConfig::new("127.0.0.1:0".parse()?)
//!         .with_health_check(HealthCheck::tcp().with_healthy_threshold(1))
//!         .with_deregistration_delay(Duration::from_secs(10)),
//! )
//! .await?;
//! let target = Target::new("task-1", task_address);
//! lb.register_targets(&[target.clone()]).await?;
//! lb.wait_for_targets(|t| t.iter().all(|t| t.state == TargetState::Healthy)).await;
//!
//! let mut client = TcpStream::connect(lb.local_addr()).await?;
//! client.write_all(b"hello").await?;
//! let mut reply = [0; 5];
//! client.read_exact(&mut reply).await?;
//! assert_eq!(&reply, b"hello");
//! assert_eq!(lb.stats().target("task-1").map(|t| t.open_connections), Some(1));
//!
//! // Returns once the client's connection has closed.
//! drop(client);
//! lb.deregister_targets(&[target]).await?;
//! assert!(lb.target_health().await?.is_empty());
//! assert_eq!((lb.stats().accepted, lb.stats().forwarded), (1, 1));
//! # Ok(())
//! # }
//! ```

mod balancer;
mod config;
mod health;
mod matcher;
mod pool;
mod probe;
mod proxy;
mod stats;
mod target;
mod tcp;

pub use balancer::LoadBalancer;
pub use config::{Algorithm, HealthCheck, HealthCheckProtocol, TcpLoadBalancerConfig};
pub use matcher::Matcher;
pub use stats::{LoadBalancerStats, TargetStats};
pub use target::{Target, TargetHealth, TargetState};
pub use tcp::TcpLoadBalancer;
