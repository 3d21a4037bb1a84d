//! RegisterScalableTarget, PutScalingPolicy, DeleteScalingPolicy,
//! DeregisterScalableTarget and DescribeScalingActivities, for services.

use std::collections::VecDeque;
use std::sync::Arc;

use super::Ecs;
use crate::autoscaling::{
    DeleteScalingPolicy, MetricsSource, PutScalingPolicy, RegisterScalableTarget, ScalingActivity,
    ScalingEntry,
};
use crate::controllers::scaler;
use crate::ids::{ClusterName, ServiceName};
use crate::service::{SchedulingStrategy, ServiceStatus};
use crate::{Error, ResourceKind};

fn no_target(cluster: &ClusterName, service: &ServiceName) -> Error {
    Error::not_found_in(ResourceKind::ScalableTarget, service, cluster)
}

impl Ecs {
    /// Makes a REPLICA service scalable between `target`'s bounds (or changes them).
    /// Starts the auto scaling loop on first use; must be called within a Tokio
    /// runtime.
    pub fn register_scalable_target(&self, request: RegisterScalableTarget) -> Result<(), Error> {
        super::needs_runtime("RegisterScalableTarget")?;
        let RegisterScalableTarget {
            cluster,
            service,
            target,
        } = request;
        let (cluster, service) = (&cluster, &service);
        let key = (cluster.clone(), service.clone());
        let current = {
            let mut s = self.state().lock();
            let limits = s
                .clusters
                .get(cluster)
                .map(|c| c.limits)
                .unwrap_or_default();
            target.validate(limits.tasks_per_service)?;
            let entry = s
                .services
                .get(&key)
                .filter(|e| e.service.status == ServiceStatus::Active)
                .ok_or_else(|| Error::not_found_in(ResourceKind::Service, service, cluster))?;
            if entry.service.scheduling_strategy == SchedulingStrategy::Daemon {
                return Err(Error::InvalidScaling(format!(
                    "service {service} is a DAEMON service: its count follows its instances"
                )));
            }
            s.scaling
                .entry(key.clone())
                .and_modify(|e| e.target = target)
                .or_insert_with(|| ScalingEntry {
                    target,
                    policies: Vec::new(),
                    activities: VecDeque::new(),
                });
            s.services.get(&key).map_or(0, |e| e.service.desired_count)
        };
        // As Application Auto Scaling does on registration (only then): a count outside
        // the new bounds is brought inside.
        let (min, max) = (target.min_capacity, target.max_capacity);
        if current < min || current > max {
            let desired = current.clamp(min, max);
            let result = self.ops().update_service(
                &key,
                crate::service::UpdateService::new(key.0.clone(), key.1.clone())
                    .with_desired_count(desired),
            );
            scaler::record(
                self.state(),
                &key,
                current,
                crate::autoscaling::evaluate::Decision {
                    desired,
                    cause: format!(
                        "the scalable target was registered with capacity {min}-{max} while the desired count was {current}"
                    ),
                    scale_out: desired > current,
                },
                result,
            );
        }
        self.plane.controllers.start_scaler();
        self.state().touched();
        Ok(())
    }

    /// Adds a policy to a scalable service, or replaces the one of the same name.
    pub fn put_scaling_policy(&self, request: PutScalingPolicy) -> Result<(), Error> {
        let PutScalingPolicy {
            cluster,
            service,
            policy,
        } = request;
        let (cluster, service) = (&cluster, &service);
        policy.validate()?;
        let mut s = self.state().lock();
        let entry = s
            .scaling
            .get_mut(&(cluster.clone(), service.clone()))
            .ok_or_else(|| no_target(cluster, service))?;
        match entry
            .policies
            .iter_mut()
            .find(|(p, _)| p.name == policy.name)
        {
            Some((p, state)) => {
                *p = policy;
                *state = Default::default();
            }
            None => entry.policies.push((policy, Default::default())),
        }
        drop(s);
        self.state().touched();
        Ok(())
    }

    /// Removes a policy.
    pub fn delete_scaling_policy(&self, request: DeleteScalingPolicy) -> Result<(), Error> {
        let (cluster, service, name) = (&request.cluster, &request.service, &request.policy_name);
        let mut s = self.state().lock();
        let entry = s
            .scaling
            .get_mut(&(cluster.clone(), service.clone()))
            .ok_or_else(|| no_target(cluster, service))?;
        let before = entry.policies.len();
        entry.policies.retain(|(p, _)| p.name != *name);
        if entry.policies.len() == before {
            return Err(Error::not_found_in(
                ResourceKind::ScalingPolicy,
                format!("{name} of service {service}"),
                cluster,
            ));
        }
        drop(s);
        self.state().touched();
        Ok(())
    }

    /// Stops scaling a service (its policies go with it; its count stays).
    pub fn deregister_scalable_target(
        &self,
        cluster: &ClusterName,
        service: &ServiceName,
    ) -> Result<(), Error> {
        self.state()
            .lock()
            .scaling
            .remove(&(cluster.clone(), service.clone()))
            .ok_or_else(|| no_target(cluster, service))?;
        self.state().touched();
        Ok(())
    }

    /// The scalable services, by cluster and name, with their bounds and policies.
    pub fn describe_scalable_targets(&self) -> Vec<crate::autoscaling::ScalableService> {
        self.state()
            .lock()
            .scaling
            .iter()
            .map(
                |((cluster, service), e)| crate::autoscaling::ScalableService {
                    cluster: cluster.clone(),
                    service: service.clone(),
                    target: e.target,
                    policies: e.policies.iter().map(|(p, _)| p.clone()).collect(),
                },
            )
            .collect()
    }

    /// A service's scaling activities, newest first.
    pub fn describe_scaling_activities(
        &self,
        cluster: &ClusterName,
        service: &ServiceName,
    ) -> Result<Vec<ScalingActivity>, Error> {
        self.state()
            .lock()
            .scaling
            .get(&(cluster.clone(), service.clone()))
            .map(|e| e.activities.iter().cloned().collect())
            .ok_or_else(|| no_target(cluster, service))
    }

    /// Makes auto scaling read metrics from `source` first (custom metrics only come from
    /// there); CPU and memory fall back to the containers' stats when it has no value.
    pub fn set_metrics_source(&self, source: Arc<dyn MetricsSource>) {
        self.plane.controllers.set_metrics_source(source);
    }
}
