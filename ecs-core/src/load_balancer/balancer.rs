//! The trait a load balancer implements.

use async_trait::async_trait;

use super::target::{Target, TargetHealth};

/// A load balancer, or one of its target groups: where a service's tasks register to
/// receive traffic. [`TcpLoadBalancer`](super::TcpLoadBalancer) is the built-in one;
/// implement this trait to drive another (e.g. one that writes an nginx or HAProxy
/// upstream and reloads it). Report failures as
/// [`Error::LoadBalancer`](crate::Error::LoadBalancer).
#[async_trait]
pub trait LoadBalancer: Send + Sync + std::fmt::Debug + 'static {
    /// A name for messages (a target group's name or ARN).
    fn name(&self) -> String;

    /// Adds targets; each receives traffic once its health checks pass. Idempotent.
    async fn register_targets(&self, targets: &[Target]) -> Result<(), crate::Error>;

    /// Stops sending new connections to the targets, lets open ones finish for up to the
    /// deregistration delay, then removes them; returns once they are removed.
    /// Idempotent (unknown targets are fine).
    async fn deregister_targets(&self, targets: &[Target]) -> Result<(), crate::Error>;

    /// The health of every registered target (draining ones included).
    async fn target_health(&self) -> Result<Vec<TargetHealth>, crate::Error>;
}
