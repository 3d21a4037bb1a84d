//! ECS's filters, in ECS's order: CPU, memory, host ports, GPUs, instance status, agent,
//! then the request's constraints. Shared by both schedulers and by failure reports.

use rustc_hash::FxHashMap;

use super::outcome::{Failure, FailureReason, Rejection};
use super::request::PlacementRequest;
use super::rules::PlacementContext;
use crate::cluster::{Cluster, ContainerInstance, InstanceStatus};

/// The first filter that rejects `instance` for one more task of `request`.
pub(crate) fn first_failure(
    instance: &ContainerInstance,
    request: &PlacementRequest,
    ctx: &PlacementContext<'_>,
) -> Option<FailureReason> {
    let need = request.requirements.resources;
    let left = instance.remaining_resources();
    if left.cpu < need.cpu {
        return Some(FailureReason::Cpu);
    }
    if left.memory < need.memory {
        return Some(FailureReason::Memory);
    }
    if request
        .requirements
        .ports
        .iter()
        .any(|p| instance.ports.contains(p))
    {
        return Some(FailureReason::Ports);
    }
    if left.gpus < need.gpus {
        return Some(FailureReason::Gpu);
    }
    if instance.status() != InstanceStatus::Active {
        return Some(FailureReason::Status(instance.status()));
    }
    if !instance.agent_connected() {
        return Some(FailureReason::Agent);
    }
    request
        .constraints
        .iter()
        .find(|c| !c.admits(instance, ctx))
        .map(|c| c.reason(instance))
}

/// Why no instance takes one more task: each instance's first failing filter, and the
/// counts per reason (most common first).
pub(crate) fn explain(
    cluster: &Cluster,
    request: &PlacementRequest,
) -> (Vec<Failure>, Vec<Rejection>) {
    let ctx = PlacementContext {
        cluster,
        group: &request.group,
        requirements: &request.requirements,
    };
    let rejections: Vec<Rejection> = cluster
        .instances()
        .filter_map(|i| {
            first_failure(i, request, &ctx).map(|reason| Rejection {
                instance: i.id().clone(),
                reason,
            })
        })
        .collect();
    let mut counts: FxHashMap<&FailureReason, u32> = FxHashMap::default();
    for r in &rejections {
        *counts.entry(&r.reason).or_insert(0) += 1;
    }
    let mut failures: Vec<Failure> = counts
        .into_iter()
        .map(|(reason, instances)| Failure {
            reason: reason.clone(),
            instances,
        })
        .collect();
    failures.sort_by(|a, b| {
        b.instances
            .cmp(&a.instances)
            .then_with(|| a.reason.cmp(&b.reason))
    });
    (failures, rejections)
}
