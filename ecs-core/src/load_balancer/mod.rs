//! Load balancing: the targets a service's tasks register as, and the [`LoadBalancer`]
//! trait a load balancer implements.

mod balancer;
mod target;

pub use balancer::LoadBalancer;
pub use target::{Target, TargetHealth, TargetState};
