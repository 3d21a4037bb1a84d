//! Launches through capacity providers: the strategy that applies, the tasks that wait
//! for capacity, and their placement as instances arrive.

use std::sync::Arc;

use super::Ops;
use crate::capacity::{CapacityProviderStatus, CapacityProviderStrategyItem, Waiting, strategy};
use crate::cluster::{InstanceStatus, Resources};
use crate::ids::{CapacityProviderName, ClusterName, InstanceId, TaskGroup, TaskId};
use crate::placement::{Constraint, Scheduler};
use crate::state::Tables;
use crate::task::{RunTask, StopCode, Task, TaskStatus};
use crate::task_definition::TaskDefinition;
use crate::{Error, ResourceKind};

/// Why a task that waited too long for capacity stops.
pub(crate) const WAITED_TOO_LONG: &str = "Timed out waiting for capacity";

impl Ops {
    /// How many of the request's tasks go to which provider: one part without a
    /// provider when no strategy applies (the request's own, else the cluster's
    /// default). Every provider named must be ACTIVE and on the cluster.
    pub(crate) fn capacity_parts(
        &self,
        s: &Tables,
        request: &RunTask,
        group: &TaskGroup,
    ) -> Result<Vec<(u32, Option<CapacityProviderName>)>, Error> {
        let cluster = s
            .clusters
            .get(&request.cluster)
            .ok_or_else(|| Error::not_found(ResourceKind::Cluster, &request.cluster))?;
        let strategy: &[CapacityProviderStrategyItem] =
            if !request.capacity_provider_strategy.is_empty() {
                &request.capacity_provider_strategy
            } else if request.launch_type.is_none() {
                &cluster.default_strategy
            } else {
                &[]
            };
        if strategy.is_empty() {
            return Ok(vec![(request.count, None)]);
        }
        self.check_strategy(s, "RunTask", &request.cluster, strategy)?;
        // What each provider holds of a service's tasks already (ECS shares a service's
        // tasks by base and weight; a RunTask call's own tasks only among themselves).
        let mut existing = vec![0u32; strategy.len()];
        let mut count = |t: &Task| {
            if t.desired_status == TaskStatus::Stopped || t.group != *group {
                return;
            }
            if let Some(i) = strategy
                .iter()
                .position(|p| Some(&p.capacity_provider) == t.capacity_provider_name.as_ref())
            {
                existing[i] += 1;
            }
        };
        if let Some(service) = group
            .service()
            .and_then(|n| s.services.get(&(request.cluster.clone(), n.clone())))
        {
            service
                .tasks
                .iter()
                .filter_map(|id| s.tasks.get(id))
                .for_each(|e| count(&e.task));
        }
        let shares = strategy::split(strategy, &existing, request.count);
        Ok(strategy
            .iter()
            .zip(shares)
            .filter(|(_, n)| *n > 0)
            .map(|(item, n)| (n, Some(item.capacity_provider.clone())))
            .collect())
    }

    /// Refuses a strategy naming a provider that is not ACTIVE on `cluster`.
    pub(crate) fn check_strategy(
        &self,
        s: &Tables,
        operation: &'static str,
        cluster: &ClusterName,
        strategy: &[CapacityProviderStrategyItem],
    ) -> Result<(), Error> {
        let listed = s
            .clusters
            .get(cluster)
            .ok_or_else(|| Error::not_found(ResourceKind::Cluster, cluster))?;
        for item in strategy {
            let name = &item.capacity_provider;
            let active = s
                .capacity
                .providers
                .get(name)
                .is_some_and(|e| e.provider.status == CapacityProviderStatus::Active);
            if !active || !listed.capacity_providers.contains(name) {
                return Err(Error::InvalidParameter {
                    operation,
                    member: "capacityProviderStrategy",
                    reason: format!("capacity provider {name} is not ACTIVE on cluster {cluster}"),
                });
            }
        }
        Ok(())
    }

    /// Records a task of `request` waiting in PROVISIONING for `provider`'s capacity.
    pub(crate) fn create_waiting(
        &self,
        s: &mut Tables,
        request: &RunTask,
        td: &TaskDefinition,
        provider: &CapacityProviderName,
        resources: Resources,
        extra: &[Constraint],
    ) -> Result<Arc<Task>, Error> {
        let (task, _) = self.create_task(s, request, td, None, Some(provider.clone()))?;
        let mut one = request.clone();
        one.count = 1;
        s.capacity.waiting.insert(
            task.task_id.clone(),
            Waiting {
                cluster: request.cluster.clone(),
                provider: provider.clone(),
                since: tokio::time::Instant::now(),
                resources,
                request: one,
                extra: extra.to_vec(),
            },
        );
        Ok(task)
    }

    /// Places the tasks waiting for capacity that fit now, oldest first, and stops
    /// those that waited longer than `timeout`.
    pub(crate) fn place_waiting(&self, timeout: std::time::Duration) {
        let now = tokio::time::Instant::now();
        let mut runners = Vec::new();
        let mut expired = Vec::new();
        {
            let mut guard = self.state.lock();
            let s = &mut *guard;
            if s.capacity.waiting.is_empty() {
                return;
            }
            let mut order: Vec<(tokio::time::Instant, TaskId)> = s
                .capacity
                .waiting
                .iter()
                .map(|(id, w)| (w.since, id.clone()))
                .collect();
            order.sort();
            // Tasks like one that did not fit (the same definition, group and provider:
            // the same needs and constraints) are not tried again this pass.
            type Like = (ClusterName, CapacityProviderName, Resources, String);
            let like = |w: &Waiting, task: &TaskId, s: &Tables| -> Like {
                let of = s.tasks.get(task).map_or_else(String::new, |e| {
                    format!("{} {}", e.task.task_definition, e.task.group)
                });
                (w.cluster.clone(), w.provider.clone(), w.resources, of)
            };
            let mut full: Vec<Like> = Vec::new();
            for (since, id) in order {
                let Some(w) = s.capacity.waiting.get(&id).cloned() else {
                    continue;
                };
                if now.duration_since(since) >= timeout {
                    expired.push((w.cluster.clone(), id, w.provider.clone()));
                    continue;
                }
                let this = like(&w, &id, s);
                if w.extra.is_empty() && full.contains(&this) {
                    continue;
                }
                match self.place_one(s, &id, &w) {
                    Ok(Some(runner)) => {
                        s.capacity.waiting.remove(&id);
                        runners.push(runner);
                    }
                    Ok(None) => full.push(this),
                    // Its own problem (its definition gone ...): not its likes'.
                    Err(e) => {
                        tracing::warn!(task = %id, error = %e, "a task waiting for capacity cannot be placed");
                    }
                }
            }
            metrics::gauge!(crate::telemetry::TASKS_WAITING).set(s.capacity.waiting.len() as f64);
        }
        for runner in runners {
            self.supervisor.spawn(runner.run());
        }
        for (cluster, id, provider) in expired {
            let reason = format!("{WAITED_TOO_LONG} from capacity provider {provider}");
            // Stopped meanwhile: nothing to do.
            let _ = self.request_stop(&cluster, &id, StopCode::TaskFailedToStart, &reason);
        }
    }

    /// Places one waiting task; `None` when it still does not fit.
    fn place_one(
        &self,
        s: &mut Tables,
        id: &TaskId,
        w: &Waiting,
    ) -> Result<Option<crate::agent::runner::Runner>, Error> {
        let Some(entry) = s.tasks.get(id) else {
            return Ok(None);
        };
        let task = entry.task.clone();
        let td = s.definition_of(&task)?.into_owned();
        let placement = self.placement_for(&w.request, &td, &w.extra, 1, Some(&w.provider))?;
        let c = s
            .clusters
            .get_mut(&w.cluster)
            .ok_or_else(|| Error::not_found(ResourceKind::Cluster, &w.cluster))?;
        let outcome = {
            let mut scheduler = self.scheduler.lock().unwrap_or_else(|e| e.into_inner());
            scheduler.place(&mut c.cluster, &placement)?
        };
        let Some(p) = outcome.placements.into_iter().next() else {
            return Ok(None);
        };
        let Some(agent) = self.fleet.get(&w.cluster, &p.instance) else {
            let _ = c.cluster.release(p.allocation);
            return Ok(None);
        };
        let (instance, allocation) = (p.instance.clone(), p.allocation);
        let Some(entry) = s.tasks.get_mut(id) else {
            return Ok(None);
        };
        let mut placed = (*entry.task).clone();
        placed.container_instance = Some(instance);
        placed.allocation = Some(allocation);
        placed.version += 1;
        let placed = Arc::new(placed);
        entry.task = placed.clone();
        let runner = crate::agent::runner::Runner::new(
            self.state.clone(),
            agent,
            id.clone(),
            &td,
            &super::task_context(&placed),
            entry.stop.subscribe(),
            &self.config,
        );
        s.task_changed(id);
        self.state
            .publish(crate::task::Event::TaskStateChange(placed));
        Ok(Some(runner))
    }

    /// Sets instances' status (managed scaling's draining, and its undoing).
    pub(crate) fn set_instances_status(
        &self,
        cluster: &ClusterName,
        instances: &[InstanceId],
        status: InstanceStatus,
    ) {
        {
            let mut s = self.state.lock();
            let Some(c) = s.clusters.get_mut(cluster) else {
                return;
            };
            for i in instances {
                let _ = c.cluster.set_status(i, status);
            }
        }
        self.state.touched();
        self.state.instances_changed(cluster, instances);
    }

    /// Removes an instance from its cluster (DeregisterContainerInstance). One that
    /// still runs tasks is refused unless `force`; then its tasks are asked to stop
    /// (`TerminationNotice`) and services replace theirs elsewhere.
    pub(crate) fn deregister_instance(
        &self,
        cluster: &ClusterName,
        instance: &InstanceId,
        force: bool,
    ) -> Result<(), Error> {
        let running: Vec<_> = {
            let mut s = self.state.lock();
            let running: Vec<_> = s
                .tasks
                .values()
                .map(|e| &e.task)
                .filter(|t| {
                    t.cluster == *cluster
                        && t.container_instance.as_ref() == Some(instance)
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
            self.fleet.remove(cluster, instance);
            running
        };
        for t in running {
            // A task that stopped meanwhile is fine.
            let _ = self.request_stop(
                cluster,
                &t,
                StopCode::TerminationNotice,
                crate::ops::DEREGISTERED,
            );
        }
        self.state
            .instances_changed(cluster, std::slice::from_ref(instance));
        Ok(())
    }
}
