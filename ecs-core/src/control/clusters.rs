//! Clusters beyond their creation: deletion and settings.

use super::Ecs;
use crate::cluster::ClusterDescription;
use crate::ids::ClusterName;
use crate::service::ServiceStatus;
use crate::task::TaskStatus;
use crate::{ClusterContents, Error, ResourceKind};

/// ECS's cluster settings and the values each takes.
const SETTINGS: &[(&str, &[&str])] = &[("containerInsights", &["enabled", "disabled", "enhanced"])];

impl Ecs {
    /// Deletes a cluster (DeleteCluster) that holds no container instance, no ACTIVE or
    /// DRAINING service and no task that is not STOPPED; its INACTIVE services and
    /// STOPPED tasks go with it. Answers with the cluster as it was, INACTIVE.
    pub fn delete_cluster(&self, name: &ClusterName) -> Result<ClusterDescription, Error> {
        let mut described = self
            .describe_clusters(std::slice::from_ref(name))
            .pop()
            .ok_or_else(|| Error::not_found(ResourceKind::Cluster, name))?;
        let wakes = {
            let mut s = self.state().lock();
            let entry = s
                .clusters
                .get(name)
                .ok_or_else(|| Error::not_found(ResourceKind::Cluster, name))?;
            let not_empty = |holds, count| Error::ClusterNotEmpty {
                cluster: name.clone(),
                holds,
                count,
            };
            if !entry.cluster.is_empty() {
                return Err(not_empty(
                    ClusterContents::ContainerInstances,
                    entry.cluster.len(),
                ));
            }
            let services = s
                .services
                .iter()
                .filter(|((c, _), e)| c == name && e.service.status != ServiceStatus::Inactive)
                .count();
            if services > 0 {
                return Err(not_empty(ClusterContents::Services, services));
            }
            let (stopped, live): (Vec<_>, Vec<_>) = s
                .tasks
                .values()
                .filter(|e| e.task.cluster == *name)
                .map(|e| (e.task.task_id.clone(), e.task.last_status))
                .partition(|(_, status)| *status == TaskStatus::Stopped);
            if !live.is_empty() {
                return Err(not_empty(ClusterContents::Tasks, live.len()));
            }
            for (id, _) in stopped {
                s.tasks.remove(&id);
                s.task_changed(&id);
            }
            let wakes = s.services_of(name);
            s.services.retain(|(c, _), _| c != name);
            s.scaling.retain(|(c, _), _| c != name);
            s.clusters.remove(name);
            wakes
        };
        // Their controllers find their services gone, and end.
        for w in wakes {
            w.notify_one();
        }
        self.state().touched();
        described.status = "INACTIVE".to_owned();
        Ok(described)
    }

    /// Sets a cluster's settings (UpdateClusterSettings): `containerInsights` is
    /// `enabled`, `disabled` or `enhanced`. Kept and shown; this library collects no
    /// CloudWatch metrics.
    pub fn update_cluster_settings(
        &self,
        name: &ClusterName,
        settings: &[(String, String)],
    ) -> Result<ClusterDescription, Error> {
        for (setting, value) in settings {
            let Some((_, values)) = SETTINGS.iter().find(|(n, _)| n == setting) else {
                return Err(Error::InvalidParameter {
                    operation: "UpdateClusterSettings",
                    member: "settings",
                    reason: format!("{setting:?} is not a cluster setting (containerInsights)"),
                });
            };
            if !values.contains(&value.as_str()) {
                return Err(Error::InvalidParameter {
                    operation: "UpdateClusterSettings",
                    member: "settings",
                    reason: format!(
                        "{setting} cannot be {value:?}; expected one of: {}",
                        values.join(", ")
                    ),
                });
            }
        }
        {
            let mut s = self.state().lock();
            let entry = s
                .clusters
                .get_mut(name)
                .ok_or_else(|| Error::not_found(ResourceKind::Cluster, name))?;
            for (setting, value) in settings {
                entry.settings.insert(setting.clone(), value.clone());
            }
        }
        self.state().touched();
        self.describe_clusters(std::slice::from_ref(name))
            .pop()
            .ok_or_else(|| Error::not_found(ResourceKind::Cluster, name))
    }
}

impl Ecs {
    /// Records what the state is now, from one snapshot, through the metrics facade
    /// ([`telemetry`](crate::telemetry)): tasks by cluster and last status (every
    /// status, zeros included), each service's desired, running and pending counts, and
    /// deployments by rollout state. An exporter calls it when it is scraped.
    pub fn record_state_metrics(&self) {
        use crate::telemetry::{
            DEPLOYMENTS, SERVICE_DESIRED, SERVICE_PENDING, SERVICE_RUNNING, TASKS,
        };
        use std::collections::BTreeMap;
        let s = self.state().lock();
        let mut tasks: BTreeMap<(&ClusterName, TaskStatus), u64> = BTreeMap::new();
        for cluster in s.clusters.keys() {
            for status in TaskStatus::ALL {
                tasks.insert((cluster, *status), 0);
            }
        }
        for e in s.tasks.values() {
            *tasks
                .entry((&e.task.cluster, e.task.last_status))
                .or_default() += 1;
        }
        for ((cluster, status), n) in tasks {
            metrics::gauge!(TASKS, "cluster" => cluster.to_string(), "last_status" => status.as_str())
                .set(n as f64);
        }
        let mut deployments: BTreeMap<(&ClusterName, &'static str), u64> = BTreeMap::new();
        for ((cluster, name), e) in &s.services {
            let labels = [
                ("cluster", cluster.to_string()),
                ("service", name.to_string()),
            ];
            let svc = &e.service;
            let live = svc.status != ServiceStatus::Inactive;
            let count = |n: u32| if live { f64::from(n) } else { 0.0 };
            metrics::gauge!(SERVICE_DESIRED, &labels).set(count(svc.desired_count));
            metrics::gauge!(SERVICE_RUNNING, &labels).set(count(svc.running_count));
            metrics::gauge!(SERVICE_PENDING, &labels).set(count(svc.pending_count));
            for state in crate::service::RolloutState::ALL {
                deployments.entry((cluster, state.as_str())).or_default();
            }
            for d in &svc.deployments {
                if d.status != crate::service::DeploymentStatus::Inactive {
                    *deployments
                        .entry((cluster, d.rollout_state.as_str()))
                        .or_default() += 1;
                }
            }
        }
        for ((cluster, state), n) in deployments {
            metrics::gauge!(DEPLOYMENTS, "cluster" => cluster.to_string(), "rollout_state" => state)
                .set(n as f64);
        }
    }
}
