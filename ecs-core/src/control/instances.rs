//! Container instance management beyond registration: status changes (draining) and
//! deregistration. Every change wakes the cluster's services.

use super::Ecs;
use crate::cluster::{DeregisterContainerInstance, UpdateContainerInstancesState};
use crate::{Error, ResourceKind};

impl Ecs {
    /// Sets instances ACTIVE or DRAINING (UpdateContainerInstancesState). A DRAINING
    /// instance takes no new tasks, and services move their tasks off it within their
    /// deployment limits; standalone tasks are left alone. Every id is checked before
    /// any changes.
    pub fn update_container_instances_state(
        &self,
        request: UpdateContainerInstancesState,
    ) -> Result<(), Error> {
        request.validate()?;
        let (cluster, instances, status) = (
            &request.cluster,
            &request.container_instances,
            request.status,
        );
        {
            let mut s = self.state().lock();
            let c = s
                .clusters
                .get_mut(cluster)
                .ok_or_else(|| Error::not_found(ResourceKind::Cluster, cluster))?;
            if let Some(missing) = instances.iter().find(|i| c.cluster.instance(i).is_none()) {
                return Err(Error::not_found_in(
                    ResourceKind::ContainerInstance,
                    missing,
                    cluster,
                ));
            }
            for i in instances {
                c.cluster.set_status(i, status)?;
            }
        }
        self.state().instances_changed(cluster, instances);
        Ok(())
    }

    /// Removes an instance from its cluster (DeregisterContainerInstance). One that still
    /// runs tasks is refused unless `force`; then its tasks are asked to stop
    /// (`TerminationNotice`) and services replace theirs elsewhere.
    pub fn deregister_container_instance(
        &self,
        request: DeregisterContainerInstance,
    ) -> Result<(), Error> {
        self.ops()
            .deregister_instance(&request.cluster, &request.container_instance, request.force)
    }
}

impl Ecs {
    /// Sets custom attributes on container instances of a cluster (PutAttributes; a
    /// `None` value: an attribute without a value). Built-in `ecs.*` attributes cannot
    /// be set. Every instance and attribute is checked before any is set.
    pub fn put_attributes(
        &self,
        cluster: &crate::ids::ClusterName,
        attributes: &[(crate::ids::InstanceId, String, Option<String>)],
    ) -> Result<(), Error> {
        self.change_instances(cluster, attributes.iter().map(|(i, _, _)| i), |c| {
            for (_, name, value) in attributes {
                crate::cluster::check_attribute(name, value.as_deref())?;
            }
            for (id, name, value) in attributes {
                c.put_attributes(id, [(name.clone(), value.clone())])?;
            }
            Ok(())
        })
    }

    /// Removes custom attributes from container instances of a cluster
    /// (DeleteAttributes); absent ones are ignored. Every instance and name is checked
    /// before any is removed.
    pub fn delete_attributes(
        &self,
        cluster: &crate::ids::ClusterName,
        attributes: &[(crate::ids::InstanceId, String)],
    ) -> Result<(), Error> {
        self.change_instances(cluster, attributes.iter().map(|(i, _)| i), |c| {
            for (_, name) in attributes {
                crate::cluster::check_attribute(name, None)?;
            }
            for (id, name) in attributes {
                c.delete_attributes(id, &[name.as_str()])?;
            }
            Ok(())
        })
    }

    /// Applies `change` to `cluster` once every instance named is known to be in it,
    /// then makes it durable and wakes the cluster's services (placement may now go
    /// elsewhere). `change` checks before it changes: an error leaves all as it was.
    fn change_instances<'a>(
        &self,
        cluster: &crate::ids::ClusterName,
        instances: impl Iterator<Item = &'a crate::ids::InstanceId>,
        change: impl FnOnce(&mut crate::cluster::Cluster) -> Result<(), Error>,
    ) -> Result<(), Error> {
        let mut changed: Vec<crate::ids::InstanceId> = Vec::new();
        {
            let mut s = self.state().lock();
            let c = s
                .clusters
                .get_mut(cluster)
                .ok_or_else(|| Error::not_found(ResourceKind::Cluster, cluster))?;
            for instance in instances {
                if c.cluster.instance(instance).is_none() {
                    return Err(Error::not_found_in(
                        ResourceKind::ContainerInstance,
                        instance,
                        cluster,
                    ));
                }
                if !changed.contains(instance) {
                    changed.push(instance.clone());
                }
            }
            change(&mut c.cluster)?;
        }
        self.state().touched();
        self.state().instances_changed(cluster, &changed);
        Ok(())
    }
}
