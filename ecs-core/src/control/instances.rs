//! Container instance management beyond registration: status changes (draining) and
//! deregistration. Every change wakes the cluster's services.

use super::Ecs;
use crate::Error;
use crate::cluster::InstanceStatus;
use crate::ids::{ClusterName, InstanceId};
use crate::task::{StopCode, TaskStatus};

/// Why the tasks of a deregistered instance stop (with `TerminationNotice`).
pub(crate) const DEREGISTERED: &str = "Container instance deregistered";

impl Ecs {
    /// Sets instances ACTIVE or DRAINING (UpdateContainerInstancesState). A DRAINING
    /// instance takes no new tasks, and services move their tasks off it within their
    /// deployment limits; standalone tasks are left alone. Every id is checked before
    /// any changes.
    pub fn update_container_instances_state(
        &self,
        cluster: &ClusterName,
        instances: &[InstanceId],
        status: InstanceStatus,
    ) -> Result<(), Error> {
        if !matches!(status, InstanceStatus::Active | InstanceStatus::Draining) {
            return Err(Error::InvalidPlacement(format!(
                "container instance status can be set to ACTIVE or DRAINING, not {status}"
            )));
        }
        {
            let mut s = self.state().lock();
            let c = s
                .clusters
                .get_mut(cluster)
                .ok_or_else(|| Error::ClusterNotFound(cluster.to_string()))?;
            if let Some(missing) = instances.iter().find(|i| c.cluster.instance(i).is_none()) {
                return Err(Error::InstanceNotFound(missing.to_string()));
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
        cluster: &ClusterName,
        instance: &InstanceId,
        force: bool,
    ) -> Result<(), Error> {
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
                .ok_or_else(|| Error::ClusterNotFound(cluster.to_string()))?;
            if c.cluster.instance(instance).is_none() {
                return Err(Error::InstanceNotFound(instance.to_string()));
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
