//! Capacity providers: CreateCapacityProvider, DescribeCapacityProviders,
//! UpdateCapacityProvider, DeleteCapacityProvider, PutClusterCapacityProviders, and
//! the embedding program's instance groups.

use super::{Ecs, needs_runtime};
use crate::capacity::{
    CapacityProvider, CapacityProviderEntry, CapacityProviderStatus, CapacityProviderStrategyItem,
    InstanceGroup, ManagedScaling, validate_strategy,
};
use crate::cluster::RegisterContainerInstance;
use crate::ids::{CapacityProviderName, ClusterName};
use crate::task::TaskStatus;
use crate::{Error, ResourceKind};

/// CreateCapacityProvider's request.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct CreateCapacityProvider {
    /// Its name: not starting with `aws`, `ecs` or `fargate`.
    pub name: CapacityProviderName,
    /// The instance group it manages (ECS's `autoScalingGroupArn`), as registered
    /// with [`Ecs::register_instance_group`].
    pub instance_group: String,
    /// Managed scaling (ECS's defaults, enabled, unless set).
    pub managed_scaling: ManagedScaling,
    /// Managed termination protection (ECS's default: DISABLED; ENABLED here keeps
    /// every instance with a running task).
    pub managed_termination_protection: bool,
    /// Managed draining (ECS's default: ENABLED).
    pub managed_draining: bool,
    /// Its tags.
    pub tags: crate::tags::Tags,
}

impl CreateCapacityProvider {
    /// A provider of `instance_group`'s instances, with ECS's defaults and termination
    /// protection on.
    pub fn new(name: CapacityProviderName, instance_group: impl Into<String>) -> Self {
        Self {
            name,
            instance_group: instance_group.into(),
            managed_scaling: ManagedScaling::default(),
            managed_termination_protection: true,
            managed_draining: true,
            tags: crate::tags::Tags::new(),
        }
    }

    /// With these managed scaling settings.
    pub fn with_managed_scaling(mut self, scaling: ManagedScaling) -> Self {
        self.managed_scaling = scaling;
        self
    }
}

/// UpdateCapacityProvider's request: what to change.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct UpdateCapacityProvider {
    /// The provider.
    pub name: CapacityProviderName,
    /// New managed scaling settings.
    pub managed_scaling: Option<ManagedScaling>,
    /// Managed termination protection on or off.
    pub managed_termination_protection: Option<bool>,
    /// Managed draining on or off.
    pub managed_draining: Option<bool>,
}

impl UpdateCapacityProvider {
    /// Changes nothing yet.
    pub fn new(name: CapacityProviderName) -> Self {
        Self {
            name,
            managed_scaling: None,
            managed_termination_protection: None,
            managed_draining: None,
        }
    }
}

impl Ecs {
    /// Registers an instance group under `name` (what a capacity provider's
    /// `autoScalingGroupArn` names), or replaces it (a new minimum or maximum). After a
    /// restart, registering it again finds its instances
    /// ([`InstanceProvider::instances`](crate::capacity::InstanceProvider)) and
    /// registers them in the cluster of their provider, adopting their containers.
    pub async fn register_instance_group(
        &self,
        name: &str,
        group: InstanceGroup,
    ) -> Result<(), Error> {
        needs_runtime("RegisterInstanceGroup")?;
        if group.min_size > group.max_size {
            return Err(Error::InvalidParameter {
                operation: "RegisterInstanceGroup",
                member: "minSize",
                reason: format!("{} is more than maxSize {}", group.min_size, group.max_size),
            });
        }

        // Its instances that exist already, for the provider's cluster.
        let served: Vec<(CapacityProviderName, ClusterName)> = {
            let s = self.state().lock();
            s.capacity
                .providers
                .values()
                .filter(|e| e.provider.instance_group == name)
                .filter_map(|e| Some((e.provider.name.clone(), e.cluster.clone()?)))
                .collect()
        };
        if let Some((provider, cluster)) = served.into_iter().next() {
            for i in group.provider.instances().await? {
                let (known, live) = {
                    let s = self.state().lock();
                    let c = s.clusters.get(&cluster);
                    (
                        c.is_some_and(|c| c.cluster.instance(&i.id).is_some()),
                        c.is_some_and(|c| c.agents.contains_key(&i.id)),
                    )
                };
                if live {
                    // Registered and running: the group is being replaced (a new size).
                    continue;
                }
                if known {
                    // Its attributes (the provider's among them) are in the store.
                    let mut request =
                        RegisterContainerInstance::new(cluster.clone(), i.id, i.runtime);
                    request.attributes = i.attributes;
                    self.register_container_instance(request).await?;
                } else {
                    // Launched, but the control plane stopped before it registered.
                    self.plane
                        .controllers
                        .register_launched(&provider, &cluster, i)
                        .await?;
                }
            }
        }
        // Only now does managed scaling see the group: while its instances were being
        // registered again, it would have counted too few and launched more.
        self.plane
            .controllers
            .capacity
            .insert(name.to_owned(), group.clone());
        self.plane.controllers.start_capacity();
        self.state().capacity_wake.notify_one();
        Ok(())
    }

    /// Creates a capacity provider (CreateCapacityProvider). Its instance group must be
    /// registered; a group serves one provider.
    pub fn create_capacity_provider(
        &self,
        request: CreateCapacityProvider,
    ) -> Result<CapacityProvider, Error> {
        const OP: &str = "CreateCapacityProvider";
        let name = request.name.as_str();
        let lower = name.to_ascii_lowercase();
        if ["aws", "ecs", "fargate"]
            .iter()
            .any(|p| lower.starts_with(p))
        {
            return Err(Error::InvalidParameter {
                operation: OP,
                member: "name",
                reason: format!("{name}: a name may not begin with aws, ecs or fargate"),
            });
        }
        request.managed_scaling.validate(OP)?;
        crate::tags::merged(OP, &crate::tags::Tags::new(), &request.tags)?;
        if self
            .plane
            .controllers
            .capacity
            .get(&request.instance_group)
            .is_none()
        {
            return Err(Error::not_found(
                ResourceKind::InstanceGroup,
                &request.instance_group,
            ));
        }
        let provider = {
            let mut s = self.state().lock();
            if s.capacity.providers.contains_key(&request.name) {
                return Err(Error::AlreadyExists {
                    kind: ResourceKind::CapacityProvider,
                    id: request.name.to_string(),
                    cluster: None,
                });
            }
            if let Some(other) = s
                .capacity
                .providers
                .values()
                .find(|e| e.provider.instance_group == request.instance_group)
            {
                return Err(Error::InvalidParameter {
                    operation: OP,
                    member: "autoScalingGroupProvider.autoScalingGroupArn",
                    reason: format!(
                        "instance group {} already serves capacity provider {}",
                        request.instance_group, other.provider.name
                    ),
                });
            }
            let provider = CapacityProvider {
                capacity_provider_arn: self
                    .config()
                    .arn_scope
                    .arn(format!("capacity-provider/{}", request.name)),
                name: request.name.clone(),
                status: CapacityProviderStatus::Active,
                instance_group: request.instance_group,
                managed_scaling: request.managed_scaling,
                managed_termination_protection: request.managed_termination_protection,
                managed_draining: request.managed_draining,
                tags: request.tags,
            };
            s.capacity.providers.insert(
                request.name,
                CapacityProviderEntry {
                    provider: provider.clone(),
                    cluster: None,
                },
            );
            provider
        };
        self.state().touched();
        Ok(provider)
    }

    /// The capacity providers named, or every one (DescribeCapacityProviders). Unknown
    /// names are left out.
    pub fn describe_capacity_providers(
        &self,
        names: &[CapacityProviderName],
    ) -> Vec<CapacityProvider> {
        let s = self.state().lock();
        s.capacity
            .providers
            .values()
            .filter(|e| names.is_empty() || names.contains(&e.provider.name))
            .map(|e| e.provider.clone())
            .collect()
    }

    /// Changes a provider's managed scaling, termination protection or draining
    /// (UpdateCapacityProvider); the next pass of managed scaling follows.
    pub fn update_capacity_provider(
        &self,
        request: UpdateCapacityProvider,
    ) -> Result<CapacityProvider, Error> {
        if let Some(m) = &request.managed_scaling {
            m.validate("UpdateCapacityProvider")?;
        }
        let provider = {
            let mut s = self.state().lock();
            let e =
                s.capacity.providers.get_mut(&request.name).ok_or_else(|| {
                    Error::not_found(ResourceKind::CapacityProvider, &request.name)
                })?;
            if let Some(m) = request.managed_scaling {
                e.provider.managed_scaling = m;
            }
            if let Some(p) = request.managed_termination_protection {
                e.provider.managed_termination_protection = p;
            }
            if let Some(d) = request.managed_draining {
                e.provider.managed_draining = d;
            }
            e.provider.clone()
        };
        self.state().touched();
        self.state().capacity_wake.notify_one();
        Ok(provider)
    }

    /// Deletes a provider (DeleteCapacityProvider): refused while a cluster lists it.
    pub fn delete_capacity_provider(
        &self,
        name: &CapacityProviderName,
    ) -> Result<CapacityProvider, Error> {
        let mut provider = {
            let mut s = self.state().lock();
            let e = s
                .capacity
                .providers
                .get(name)
                .ok_or_else(|| Error::not_found(ResourceKind::CapacityProvider, name))?;
            if let Some(c) = &e.cluster {
                return Err(Error::CapacityProviderInUse {
                    provider: name.to_string(),
                    reason: format!(
                        "cluster {c} lists it; take it off with PutClusterCapacityProviders first"
                    ),
                });
            }
            s.capacity
                .providers
                .remove(name)
                .map(|e| e.provider)
                .ok_or_else(|| Error::not_found(ResourceKind::CapacityProvider, name))?
        };
        self.state().touched();
        provider.status = CapacityProviderStatus::Inactive;
        Ok(provider)
    }

    /// Sets the capacity providers a cluster may use and its default strategy
    /// (PutClusterCapacityProviders). A provider serves one cluster; one taken off
    /// must not be in use by the cluster's tasks, waiting tasks or services.
    pub fn put_cluster_capacity_providers(
        &self,
        cluster: &ClusterName,
        providers: &[CapacityProviderName],
        default_strategy: Vec<CapacityProviderStrategyItem>,
    ) -> Result<(), Error> {
        const OP: &str = "PutClusterCapacityProviders";
        needs_runtime(OP)?;
        validate_strategy(OP, &default_strategy)?;
        {
            let mut guard = self.state().lock();
            let s = &mut *guard;
            let c = s
                .clusters
                .get(cluster)
                .ok_or_else(|| Error::not_found(ResourceKind::Cluster, cluster))?;
            for p in providers {
                let e = s
                    .capacity
                    .providers
                    .get(p)
                    .ok_or_else(|| Error::not_found(ResourceKind::CapacityProvider, p))?;
                if let Some(other) = e.cluster.as_ref().filter(|o| *o != cluster) {
                    return Err(Error::CapacityProviderInUse {
                        provider: p.to_string(),
                        reason: format!("it serves cluster {other}"),
                    });
                }
            }
            if let Some(item) = default_strategy
                .iter()
                .find(|i| !providers.contains(&i.capacity_provider))
            {
                return Err(Error::InvalidParameter {
                    operation: OP,
                    member: "defaultCapacityProviderStrategy",
                    reason: format!(
                        "capacity provider {} is not among capacityProviders",
                        item.capacity_provider
                    ),
                });
            }
            for gone in c
                .capacity_providers
                .iter()
                .filter(|p| !providers.contains(p))
            {
                let tasks = s.tasks.values().any(|e| {
                    e.task.cluster == *cluster
                        && e.task.last_status != TaskStatus::Stopped
                        && e.task.capacity_provider_name.as_ref() == Some(gone)
                });
                let services = s.services.iter().any(|((c, _), e)| {
                    c == cluster
                        && e.service
                            .capacity_provider_strategy
                            .iter()
                            .any(|i| i.capacity_provider == *gone)
                });
                if tasks || services {
                    return Err(Error::CapacityProviderInUse {
                        provider: gone.to_string(),
                        reason: format!(
                            "cluster {cluster} still has {} using it",
                            if tasks { "tasks" } else { "services" }
                        ),
                    });
                }
                // Its instances would be left to no one: managed scaling lets them go
                // once nothing runs on them and the group's minimum allows.
                let instances = c
                    .cluster
                    .instances()
                    .filter(|i| {
                        i.attribute(crate::capacity::PROVIDER_ATTRIBUTE).flatten()
                            == Some(gone.as_str())
                    })
                    .count();
                if instances > 0 {
                    return Err(Error::CapacityProviderInUse {
                        provider: gone.to_string(),
                        reason: format!(
                            "{instances} of its instances are registered in cluster {cluster}; \
                             they go once no task runs on them (with the group's minimum at 0)"
                        ),
                    });
                }
            }
            let old: Vec<CapacityProviderName> = c.capacity_providers.clone();
            for p in &old {
                if let Some(e) = s.capacity.providers.get_mut(p) {
                    e.cluster = None;
                }
            }
            for p in providers {
                if let Some(e) = s.capacity.providers.get_mut(p) {
                    e.cluster = Some(cluster.clone());
                }
            }
            let c = s
                .clusters
                .get_mut(cluster)
                .ok_or_else(|| Error::not_found(ResourceKind::Cluster, cluster))?;
            c.capacity_providers = providers.to_vec();
            c.default_strategy = default_strategy;
        }
        self.state().touched();
        self.plane.controllers.start_capacity();
        self.state().capacity_wake.notify_one();
        Ok(())
    }

    /// What managed scaling last decided for `provider`: `CapacityProviderReservation`,
    /// the instances needed and wanted, and what it did. `None` before its first pass.
    pub fn capacity_provider_scaling(
        &self,
        provider: &CapacityProviderName,
    ) -> Option<crate::capacity::scaling::ScalingDecision> {
        self.plane.controllers.capacity.last_decision(provider)
    }
}
