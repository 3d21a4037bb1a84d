//! Container instance management beyond registration: status changes (draining) and
//! deregistration. Every change wakes the cluster's services.

use super::Ecs;
use crate::cluster::{DeregisterContainerInstance, UpdateContainerInstancesState};
use crate::task::{StopCode, TaskStatus};
use crate::{Error, ResourceKind};

/// Why the tasks of a deregistered instance stop (with `TerminationNotice`).
pub(crate) const DEREGISTERED: &str = "Container instance deregistered";

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
        let (cluster, instance, force) =
            (&request.cluster, &request.container_instance, request.force);
        let running: Vec<_> = {
            let mut s = self.state().lock();
            let running: Vec<_> = s
                .tasks
                .values()
                .map(|e| &e.task)
                .filter(|t| {
                    t.cluster == *cluster
                        && t.container_instance == *instance
                        && t.last_status != TaskStatus::Stopped
                })
                .map(|t| t.task_id.clone())
                .collect();
            let c = s
                .clusters
                .get_mut(cluster)
                .ok_or_else(|| Error::not_found(ResourceKind::Cluster, cluster))?;
            if c.cluster.instance(instance).is_none() {
                return Err(Error::not_found_in(
                    ResourceKind::ContainerInstance,
                    instance,
                    cluster,
                ));
            }
            if !running.is_empty() && !force {
                return Err(Error::InstanceHasTasks {
                    instance: instance.to_string(),
                    tasks: u32::try_from(running.len()).unwrap_or(u32::MAX),
                });
            }
            c.cluster.deregister_instance(instance, true)?;
            c.agents.remove(instance);
            c.disconnected.remove(instance);
            self.ops().fleet.remove(cluster, instance);
            running
        };
        for t in running {
            // A task that stopped meanwhile is fine.
            let _ = self
                .ops()
                .request_stop(cluster, &t, StopCode::TerminationNotice, DEREGISTERED);
        }
        self.state()
            .instances_changed(cluster, std::slice::from_ref(instance));
        Ok(())
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
