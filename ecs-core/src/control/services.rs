//! CreateService, UpdateService, DescribeServices, ListServices and DeleteService.

use std::sync::Arc;

use tokio::sync::watch;

use super::Ecs;
use crate::ids::{ClusterName, ServiceName};
use crate::ops::not_found;
use crate::service::{
    CreateService, DeleteService, Service, ServiceLimits, ServiceStatus, UpdateService,
};
use crate::{Error, ResourceKind};

impl Ecs {
    /// Creates a service (CreateService) and starts its controller, which places its
    /// tasks. Must be called within a Tokio runtime.
    pub fn create_service(&self, request: CreateService) -> Result<Service, Error> {
        super::needs_runtime("CreateService")?;
        let key = (request.cluster.clone(), request.service_name.clone());
        let (service, wake) = self.ops().create_service(request)?;
        self.plane.controllers.start_service(key, wake);
        Ok(service)
    }

    /// Changes a service (UpdateService). A new task definition, or
    /// `force_new_deployment`, starts a new PRIMARY deployment; the previous ones become
    /// ACTIVE and are replaced within the deployment limits.
    pub fn update_service(&self, request: UpdateService) -> Result<Service, Error> {
        let key = (request.cluster.clone(), request.service.clone());
        self.ops().update_service(&key, request)
    }

    /// Deletes a service (DeleteService): it goes DRAINING, scales to zero, then
    /// INACTIVE. A REPLICA service with a desired count above zero is refused unless
    /// `force`.
    pub fn delete_service(&self, request: DeleteService) -> Result<Service, Error> {
        let key = (request.cluster, request.service);
        self.ops().delete_service(&key, request.force)
    }

    /// The named services of a cluster (DescribeServices); INACTIVE ones are still
    /// described. Unknown names are skipped.
    pub fn describe_services(
        &self,
        cluster: &ClusterName,
        names: &[ServiceName],
    ) -> Result<Vec<Service>, Error> {
        let s = self.state().lock();
        if !s.clusters.contains_key(cluster) {
            return Err(Error::not_found(ResourceKind::Cluster, cluster));
        }
        Ok(names
            .iter()
            .filter_map(|n| s.services.get(&(cluster.clone(), n.clone())))
            .map(|e| e.service.clone())
            .collect())
    }

    /// One service.
    pub fn describe_service(
        &self,
        cluster: &ClusterName,
        name: &ServiceName,
    ) -> Result<Service, Error> {
        let key = (cluster.clone(), name.clone());
        let s = self.state().lock();
        s.services
            .get(&key)
            .map(|e| e.service.clone())
            .ok_or_else(|| not_found(&key))
    }

    /// The names of a cluster's ACTIVE and DRAINING services (ListServices).
    pub fn list_services(&self, cluster: &ClusterName) -> Result<Vec<ServiceName>, Error> {
        let s = self.state().lock();
        if !s.clusters.contains_key(cluster) {
            return Err(Error::not_found(ResourceKind::Cluster, cluster));
        }
        Ok(s.services
            .iter()
            .filter(|((c, _), e)| c == cluster && e.service.status != ServiceStatus::Inactive)
            .map(|((_, n), _)| n.clone())
            .collect())
    }

    /// Makes a load balancer (one target group) available to services, which name it in
    /// their `loadBalancers` by `targetGroupArn` (or `loadBalancerName`) = `name`.
    pub fn register_target_group(
        &self,
        name: impl Into<String>,
        lb: Arc<dyn crate::load_balancer::LoadBalancer>,
    ) {
        self.state().lock().target_groups.insert(name.into(), lb);
    }

    /// Sets a cluster's service limits (services per cluster, tasks per service); they
    /// apply to requests from now on.
    pub fn set_service_limits(
        &self,
        cluster: &ClusterName,
        limits: ServiceLimits,
    ) -> Result<(), Error> {
        let mut s = self.state().lock();
        s.clusters
            .get_mut(cluster)
            .ok_or_else(|| Error::not_found(ResourceKind::Cluster, cluster))?
            .limits = limits;
        drop(s);
        self.state().touched();
        Ok(())
    }

    fn service_changes(
        &self,
        cluster: &ClusterName,
        name: &ServiceName,
    ) -> Result<watch::Receiver<u64>, Error> {
        let key = (cluster.clone(), name.clone());
        let s = self.state().lock();
        s.services
            .get(&key)
            .map(|e| e.changed.subscribe())
            .ok_or_else(|| not_found(&key))
    }

    /// Waits until a service satisfies `condition` (checked now and after each change
    /// its controller or a request makes).
    pub async fn wait_for_service(
        &self,
        cluster: &ClusterName,
        name: &ServiceName,
        condition: impl Fn(&Service) -> bool,
    ) -> Result<Service, Error> {
        let mut changes = self.service_changes(cluster, name)?;
        loop {
            let current = self.describe_service(cluster, name)?;
            if condition(&current) {
                return Ok(current);
            }
            if changes.changed().await.is_err() {
                // The service was replaced by a new one of the same name.
                changes = self.service_changes(cluster, name)?;
            }
        }
    }
}
