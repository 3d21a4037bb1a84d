//! Changing services: create (its entry; the facade starts its controller), update
//! (the desired count, which auto scaling sets too, a new deployment), delete; and
//! ECS's checks of what a service names.

use std::collections::BTreeSet;
use std::sync::{Arc, MutexGuard};

use tokio::sync::{Notify, watch};

use super::Ops;
use crate::ids::TaskDefinitionRef;
use crate::service::{
    CreateService, Deployment, DeploymentStatus, SchedulingStrategy, Service,
    ServiceConnectConfiguration, ServiceEntry, ServiceStatus, UpdateService,
};
use crate::state::{ServiceKey, Tables};
use crate::task_definition::TaskDefinition;
use crate::{Error, ResourceKind};

/// `family:revision` of a registered definition.
pub(crate) fn concrete_ref(td: &TaskDefinition) -> Result<TaskDefinitionRef, Error> {
    Ok(TaskDefinitionRef::new(
        td.family().parse()?,
        crate::ids::Revision::new(td.revision.and_then(|r| u32::try_from(r).ok()).unwrap_or(1))?,
    ))
}

/// ECS's checks of `loadBalancers`: a known target group, and a container of the task
/// definition mapping the port.
pub(crate) fn check_load_balancers(
    state: &Tables,
    lbs: &[crate::service::LoadBalancer],
    td: &TaskDefinition,
) -> Result<(), Error> {
    for (i, lb) in lbs.iter().enumerate() {
        let bad = |why: String| Error::InvalidService(format!("loadBalancers[{i}]: {why}"));
        let name = lb
            .target_group_arn
            .as_deref()
            .or(lb.load_balancer_name.as_deref())
            .ok_or_else(|| bad("needs a targetGroupArn or a loadBalancerName".into()))?;
        if !state.target_groups.contains_key(name) {
            return Err(bad(format!(
                "target group {name:?} is not registered (Ecs::register_target_group)"
            )));
        }
        let (Some(container), Some(port)) = (lb.container_name.as_deref(), lb.container_port)
        else {
            return Err(bad("needs a containerName and a containerPort".into()));
        };
        let c = td
            .containers()
            .iter()
            .find(|c| c.name() == container)
            .ok_or_else(|| {
                bad(format!(
                    "container {container:?} is not in task definition {}",
                    td.family()
                ))
            })?;
        if !c
            .port_mappings()
            .iter()
            .any(|pm| pm.container_port == Some(i32::from(port)))
        {
            return Err(bad(format!(
                "container {container:?} maps no containerPort {port}"
            )));
        }
    }
    Ok(())
}

/// ECS's limit of 10 constraints counts the task definition's with the service's.
pub(crate) fn check_constraint_count(
    service: &[crate::placement::api::PlacementConstraint],
    td: &TaskDefinition,
) -> Result<(), Error> {
    let n = service.len() + td.placement_constraints().len();
    if n > crate::placement::MAX_CONSTRAINTS {
        return Err(Error::InvalidService(format!(
            "placementConstraints: {n} with the task definition's, above ECS's limit of {}",
            crate::placement::MAX_CONSTRAINTS
        )));
    }
    Ok(())
}

/// ECS's checks of `serviceConnectConfiguration` with the task definition, and that no
/// other live service of the namespace offers one of its names (the names of a
/// namespace are unique in it). What another service offers includes what its older
/// deployments' tasks still answer to, and what a rollback would restore.
pub(crate) fn check_service_connect(
    state: &Tables,
    key: &ServiceKey,
    config: Option<&ServiceConnectConfiguration>,
    td: &TaskDefinition,
) -> Result<(), Error> {
    let Some(mine) = config
        .map(|c| c.for_task(td, key.0.as_str()))
        .transpose()?
        .flatten()
    else {
        return Ok(());
    };
    for ((cluster, name), e) in &state.services {
        if (cluster, name) == (&key.0, &key.1) || e.service.status == ServiceStatus::Inactive {
            continue;
        }
        let theirs = e
            .service
            .service_connect_configuration
            .iter()
            .chain(
                e.service
                    .deployments
                    .iter()
                    .filter_map(|d| d.service_connect_configuration.as_ref()),
            )
            .chain(e.last_completed_connect.iter())
            .filter(|c| c.namespace_name(cluster.as_str()) == mine.namespace);
        for (discovery, dns) in theirs.flat_map(|c| c.offered(cluster.as_str())) {
            if let Some(clash) = mine
                .endpoints
                .iter()
                .find(|m| m.discovery_name == discovery || m.dns_name == dns)
            {
                return Err(Error::InvalidService(format!(
                    "serviceConnectConfiguration: service {name} of cluster {cluster} already offers {:?} in namespace {}",
                    if clash.dns_name == dns {
                        &dns
                    } else {
                        &discovery
                    },
                    mine.namespace
                )));
            }
        }
    }
    Ok(())
}

fn draining(key: &ServiceKey) -> Error {
    Error::ServiceConflict {
        service: key.1.to_string(),
        reason: "it is being deleted (DRAINING)".into(),
    }
}

pub(crate) fn not_found(key: &ServiceKey) -> Error {
    Error::not_found_in(ResourceKind::Service, &key.1, &key.0)
}

fn live_service<'a>(s: &'a mut Tables, key: &ServiceKey) -> Result<&'a mut ServiceEntry, Error> {
    s.services
        .get_mut(key)
        .filter(|e| e.service.status != ServiceStatus::Inactive)
        .ok_or_else(|| not_found(key))
}

impl Ops {
    /// Records a new service (CreateService's checks first). Returns it, and the handle
    /// that wakes the controller the caller starts for it.
    pub(crate) fn create_service(
        &self,
        mut request: CreateService,
    ) -> Result<(Service, Arc<Notify>), Error> {
        let key = (request.cluster.clone(), request.service_name.clone());
        let wake = Arc::new(Notify::new());
        let service = {
            let mut s = self.state.lock();
            let limits = s
                .clusters
                .get(&key.0)
                .ok_or_else(|| Error::not_found(ResourceKind::Cluster, &key.0))?
                .limits;
            request.validate(&limits)?;
            // A REPLICA service without a strategy or a launch type takes the cluster's
            // default strategy now, as ECS does; a DAEMON service runs on every
            // instance, never through a capacity provider.
            let daemon = request.scheduling_strategy
                == Some(crate::service::config::SchedulingStrategy::Daemon);
            if daemon && !request.capacity_provider_strategy.is_empty() {
                return Err(Error::InvalidParameter {
                    operation: "CreateService",
                    member: "capacityProviderStrategy",
                    reason: "a DAEMON service runs on every instance: it takes no capacity \
                             provider strategy"
                        .to_owned(),
                });
            }
            if request.capacity_provider_strategy.is_empty()
                && request.launch_type.is_none()
                && !daemon
                && let Some(c) = s.clusters.get(&key.0)
            {
                request.capacity_provider_strategy = c.default_strategy.clone();
            }
            self.check_strategy(
                &s,
                "CreateService",
                &key.0,
                &request.capacity_provider_strategy,
            )?;
            if s.services
                .get(&key)
                .is_some_and(|e| e.service.status != ServiceStatus::Inactive)
            {
                return Err(Error::already_exists(
                    ResourceKind::Service,
                    &key.1,
                    Some(&key.0),
                ));
            }
            let count = s
                .services
                .iter()
                .filter(|((c, _), e)| *c == key.0 && e.service.status != ServiceStatus::Inactive)
                .count();
            if count >= limits.services_per_cluster as usize {
                return Err(Error::ServiceLimitExceeded {
                    cluster: key.0.to_string(),
                    limit: limits.services_per_cluster,
                });
            }
            let definition = s.registry.resolve_active(&request.task_definition)?;
            check_load_balancers(&s, &request.load_balancers, definition)?;
            check_constraint_count(&request.placement_constraints, definition)?;
            check_service_connect(
                &s,
                &key,
                request.service_connect_configuration.as_ref(),
                definition,
            )?;
            let td = concrete_ref(definition)?;
            let arn = self
                .config
                .arn_scope
                .arn(format!("service/{}/{}", key.0, key.1));
            let mut service = Service::from_request(&request, arn, td.clone(), self.state.now());
            let mut first = Deployment::new(td, service.desired_count, self.state.now());
            first.service_connect_configuration = service.service_connect_configuration.clone();
            service.deployments.push(first);
            s.services.insert(
                key,
                ServiceEntry {
                    service: service.clone(),
                    tasks: BTreeSet::new(),
                    wake: wake.clone(),
                    changed: watch::channel(0).0,
                    last_completed: None,
                    last_completed_connect: None,
                    breaker: Default::default(),
                },
            );
            service
        };
        self.state.touched();
        Ok((service, wake))
    }

    /// Changes a service (UpdateService). A new task definition, or
    /// `force_new_deployment`, starts a new PRIMARY deployment; the previous ones become
    /// ACTIVE and are replaced within the deployment limits.
    pub(crate) fn update_service(
        &self,
        key: &ServiceKey,
        update: UpdateService,
    ) -> Result<Service, Error> {
        let mut s = self.state.lock();
        // A service being deleted takes no change: said before what the change is.
        if s.services
            .get(key)
            .is_some_and(|e| e.service.status == ServiceStatus::Draining)
        {
            return Err(draining(key));
        }
        let limits = s.clusters.get(&key.0).map(|c| c.limits).unwrap_or_default();
        let current = s.services.get(key).map(|e| &e.service);
        let new_definition = update
            .task_definition
            .as_ref()
            .map(|r| s.registry.resolve_active(r))
            .transpose()?;
        if let Some(definition) = new_definition {
            let lbs = current
                .map(|c| c.load_balancers.as_slice())
                .unwrap_or_default();
            check_load_balancers(&s, lbs, definition)?;
            let constraints = update
                .placement_constraints
                .as_deref()
                .or(current.map(|c| c.placement_constraints.as_slice()))
                .unwrap_or_default();
            check_constraint_count(constraints, definition)?;
        }
        let new_td = new_definition.map(concrete_ref).transpose()?;
        // The Service Connect configuration the tasks will have, checked with the
        // definition they will run.
        let connect = update
            .service_connect_configuration
            .clone()
            .or_else(|| current.and_then(|c| c.service_connect_configuration.clone()));
        if update.service_connect_configuration.is_some() || new_definition.is_some() {
            let definition = match (new_definition, current) {
                (Some(d), _) => d,
                (None, Some(c)) => s.registry.describe(&c.task_definition)?,
                (None, None) => return Err(not_found(key)),
            };
            check_service_connect(&s, key, connect.as_ref(), definition)?;
        }
        let entry = live_service(&mut s, key)?;
        if entry.service.status != ServiceStatus::Active {
            return Err(draining(key));
        }
        let svc = &mut entry.service;
        update.validate(
            svc.scheduling_strategy,
            &svc.deployment_configuration,
            &limits,
        )?;
        if let Some(n) = update.desired_count {
            svc.desired_count = n;
        }
        if let Some(c) = update.deployment_configuration {
            svc.deployment_configuration = c;
        }
        if let Some(p) = update.placement_strategy {
            svc.placement_strategy = p;
        }
        if let Some(p) = update.placement_constraints {
            svc.placement_constraints = p;
        }
        if let Some(g) = update.health_check_grace_period_seconds {
            svc.health_check_grace_period_seconds = g;
        }
        if let Some(e) = update.enable_execute_command {
            svc.enable_execute_command = e;
        }
        let td = new_td.unwrap_or_else(|| svc.task_definition.clone());
        let connect_changed = connect != svc.service_connect_configuration;
        svc.service_connect_configuration = connect.clone();
        if td != svc.task_definition || update.force_new_deployment || connect_changed {
            for d in &mut svc.deployments {
                d.status = DeploymentStatus::Active;
                d.desired_count = 0;
            }
            svc.task_definition = td.clone();
            let mut next = Deployment::new(td, svc.desired_count, self.state.now());
            next.service_connect_configuration = connect;
            svc.deployments.insert(0, next);
        } else if let Some(primary) = svc
            .deployments
            .iter_mut()
            .find(|d| d.status == DeploymentStatus::Primary)
        {
            primary.desired_count = svc.desired_count;
        }
        self.changed(s, key)
    }

    /// Deletes a service (DeleteService): it goes DRAINING, scales to zero, then
    /// INACTIVE. A REPLICA service with a desired count above zero is refused unless
    /// `force`.
    pub(crate) fn delete_service(&self, key: &ServiceKey, force: bool) -> Result<Service, Error> {
        let mut s = self.state.lock();
        let entry = live_service(&mut s, key)?;
        let svc = &mut entry.service;
        if svc.scheduling_strategy == SchedulingStrategy::Replica && svc.desired_count > 0 && !force
        {
            return Err(Error::ServiceConflict {
                service: key.1.to_string(),
                reason: format!(
                    "its desired count is {}; scale it to 0 first or delete with force",
                    svc.desired_count
                ),
            });
        }
        svc.status = ServiceStatus::Draining;
        svc.desired_count = 0;
        for d in &mut svc.deployments {
            d.desired_count = 0;
        }
        self.changed(s, key)
    }

    /// After a request changed the service under `key`: not steady until its controller
    /// has seen the change through; the controller and waiters woken, the journal
    /// told. Returns the service as changed.
    fn changed(&self, mut s: MutexGuard<'_, Tables>, key: &ServiceKey) -> Result<Service, Error> {
        let entry = s.services.get_mut(key).ok_or_else(|| not_found(key))?;
        entry.service.steady = false;
        entry.wake.notify_one();
        entry.changed.send_modify(|v| *v += 1);
        let out = entry.service.clone();
        drop(s);
        self.state.touched();
        Ok(out)
    }
}
