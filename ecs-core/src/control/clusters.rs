//! Clusters beyond their creation: deletion and settings.

use super::Ecs;
use crate::cluster::ClusterDescription;
use crate::ids::ClusterName;
use crate::service::ServiceStatus;
use crate::task::TaskStatus;
use crate::{ClusterContents, Error, ResourceKind};

/// ECS's cluster settings and the values each takes.
const SETTINGS: &[(&str, &[&str])] = &[("containerInsights", &["enabled", "disabled", "enhanced"])];

/// Refuses a setting ECS does not have, or a value it does not take.
fn check_settings(operation: &'static str, settings: &[(String, String)]) -> Result<(), Error> {
    for (setting, value) in settings {
        let Some((_, values)) = SETTINGS.iter().find(|(n, _)| n == setting) else {
            return Err(Error::InvalidParameter {
                operation,
                member: "settings",
                reason: format!("{setting:?} is not a cluster setting (containerInsights)"),
            });
        };
        if !values.contains(&value.as_str()) {
            return Err(Error::InvalidParameter {
                operation,
                member: "settings",
                reason: format!(
                    "{setting} cannot be {value:?}; expected one of: {}",
                    values.join(", ")
                ),
            });
        }
    }
    Ok(())
}

impl Ecs {
    /// Creates a cluster with tags and settings (CreateCluster), all checked first:
    /// a refused tag or setting creates nothing. A cluster of that name that exists
    /// is [`Error::AlreadyExists`], and is left as it is.
    pub fn create_cluster_with(
        &self,
        name: ClusterName,
        tags: &crate::tags::Tags,
        settings: &[(String, String)],
    ) -> Result<(), Error> {
        let tags = crate::tags::merged("CreateCluster", &crate::tags::Tags::new(), tags)?;
        check_settings("CreateCluster", settings)?;
        {
            let mut s = self.state().lock();
            if s.clusters.contains_key(&name) {
                return Err(Error::already_exists(ResourceKind::Cluster, &name, None));
            }
            let mut entry = crate::state::ClusterEntry::new(
                name.clone(),
                crate::service::ServiceLimits::default(),
            );
            entry.tags = tags;
            entry.settings = settings.iter().cloned().collect();
            s.clusters.insert(name, entry);
        }
        self.state().touched();
        Ok(())
    }

    /// Deletes a cluster (DeleteCluster) that holds no container instance, no ACTIVE or
    /// DRAINING service and no task that is not STOPPED; its INACTIVE services and
    /// STOPPED tasks go with it. Answers with the cluster as it was, INACTIVE.
    pub fn delete_cluster(&self, name: &ClusterName) -> Result<ClusterDescription, Error> {
        let (described, wakes) = {
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
            let entry = s
                .clusters
                .remove(name)
                .ok_or_else(|| Error::not_found(ResourceKind::Cluster, name))?;
            // As it was when it went: empty, INACTIVE.
            let described = ClusterDescription {
                cluster_arn: self.arn_scope().arn(format!("cluster/{name}")),
                cluster_name: name.clone(),
                status: "INACTIVE".to_owned(),
                registered_container_instances_count: 0,
                running_tasks_count: 0,
                pending_tasks_count: 0,
                active_services_count: 0,
                settings: entry.settings,
                tags: entry.tags,
                capacity_providers: Vec::new(),
                default_capacity_provider_strategy: Vec::new(),
            };
            // Its capacity providers serve no cluster now.
            for p in &entry.capacity_providers {
                if let Some(e) = s.capacity.providers.get_mut(p) {
                    e.cluster = None;
                }
            }
            (described, wakes)
        };
        // Their controllers find their services gone, and end.
        for w in wakes {
            w.notify_one();
        }
        self.state().touched();
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
        check_settings("UpdateClusterSettings", settings)?;
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
    /// deployments by rollout state. A gauge set before whose cluster or service is gone
    /// is set to zero. An exporter calls it when it is scraped.
    pub fn record_state_metrics(&self) {
        use crate::telemetry::{
            DEPLOYMENTS, SERVICE_DESIRED, SERVICE_PENDING, SERVICE_RUNNING, TASKS,
        };
        use std::collections::BTreeMap;
        let mut now: BTreeMap<Gauge, f64> = BTreeMap::new();
        {
            let s = self.state().lock();
            for cluster in s.clusters.keys() {
                for status in TaskStatus::ALL {
                    now.insert(
                        (
                            TASKS,
                            vec![
                                ("cluster", cluster.to_string()),
                                ("last_status", status.as_str().to_owned()),
                            ],
                        ),
                        0.0,
                    );
                }
                for state in crate::service::RolloutState::ALL {
                    now.insert(
                        (
                            DEPLOYMENTS,
                            vec![
                                ("cluster", cluster.to_string()),
                                ("rollout_state", state.as_str().to_owned()),
                            ],
                        ),
                        0.0,
                    );
                }
            }
            for e in s.tasks.values() {
                let key = (
                    TASKS,
                    vec![
                        ("cluster", e.task.cluster.to_string()),
                        ("last_status", e.task.last_status.as_str().to_owned()),
                    ],
                );
                *now.entry(key).or_default() += 1.0;
            }
            for ((cluster, name), e) in &s.services {
                let svc = &e.service;
                let live = svc.status != ServiceStatus::Inactive;
                let labels = vec![
                    ("cluster", cluster.to_string()),
                    ("service", name.to_string()),
                ];
                for (metric, n) in [
                    (SERVICE_DESIRED, svc.desired_count),
                    (SERVICE_RUNNING, svc.running_count),
                    (SERVICE_PENDING, svc.pending_count),
                ] {
                    now.insert(
                        (metric, labels.clone()),
                        if live { f64::from(n) } else { 0.0 },
                    );
                }
                for d in &svc.deployments {
                    if d.status != crate::service::DeploymentStatus::Inactive {
                        let key = (
                            DEPLOYMENTS,
                            vec![
                                ("cluster", cluster.to_string()),
                                ("rollout_state", d.rollout_state.as_str().to_owned()),
                            ],
                        );
                        *now.entry(key).or_default() += 1.0;
                    }
                }
            }
        }
        let set = |(metric, labels): &Gauge, value: f64| {
            let labels: Vec<metrics::Label> = labels
                .iter()
                .map(|(k, v)| metrics::Label::new(*k, v.clone()))
                .collect();
            metrics::gauge!(*metric, labels).set(value);
        };
        let mut before = self.plane.gauges.lock().unwrap_or_else(|e| e.into_inner());
        for gone in before.iter().filter(|g| !now.contains_key(*g)) {
            set(gone, 0.0);
        }
        for (gauge, value) in &now {
            set(gauge, *value);
        }
        *before = now.into_keys().collect();
    }
}

/// A state gauge: its metric's name and its labels.
pub(super) type Gauge = (&'static str, Vec<(&'static str, String)>);
