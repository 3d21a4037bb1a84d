//! Where auto scaling's numbers come from: the [`MetricsSource`] trait, for users who
//! bring their own (the built-in one, which reads the containers' stats, is the control
//! plane's: it needs its tasks and agents).

use super::policy::Metric;
use crate::ids::{ClusterName, ServiceName};

/// A service, as metrics name it.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub struct ServiceRef {
    /// Its cluster.
    pub cluster: ClusterName,
    /// Its name.
    pub service: ServiceName,
}

impl ServiceRef {
    /// The service `service` of `cluster`.
    pub fn new(cluster: ClusterName, service: ServiceName) -> Self {
        Self { cluster, service }
    }

    /// Application Auto Scaling's resource id: `service/CLUSTER/NAME`.
    pub fn resource_id(&self) -> String {
        format!("service/{}/{}", self.cluster, self.service)
    }
}

/// Supplies a service's metrics, one value per evaluation period. Implement it to scale
/// on your own numbers (queue length, requests per task ...) or to replace the built-in
/// CPU and memory figures.
#[async_trait::async_trait]
pub trait MetricsSource: Send + Sync + std::fmt::Debug + 'static {
    /// The metric's value for `service` over the period just ended; `None` when there is
    /// no data (the built-in figures are used then for CPU and memory).
    async fn sample(&self, service: &ServiceRef, metric: &Metric) -> Option<f64>;
}
