//! Load balancing: the targets a service's tasks register as, the [`LoadBalancer`]
//! trait a load balancer implements, and the configuration of the built-in TCP one
//! ([`TcpLoadBalancerConfig`]: algorithm, health checks with ELB's defaults).

mod balancer;
mod config;
mod matcher;
mod target;

pub use balancer::LoadBalancer;
pub use config::{Algorithm, HealthCheck, HealthCheckProtocol, TcpLoadBalancerConfig};
pub use matcher::Matcher;
pub use target::{Target, TargetHealth, TargetState};
