//! Auto scaling's built-in metrics: CPU and memory from the containers' stats, read
//! through each task's agent.

use std::collections::HashMap;
use std::sync::Mutex;

use crate::autoscaling::ServiceRef;
use crate::autoscaling::policy::Metric;
use crate::ids::InstanceId;
use crate::ops::Ops;
use crate::placement::TaskRequirements;
use crate::runtime::{ContainerId, ContainerRuntime};
use crate::task::TaskStatus;

/// CPU and memory utilization of a service from its containers' stats: CPU time used
/// between two samples against the tasks' CPU units (1,024 per CPU), and memory in use
/// against the tasks' reserved memory, both summed over the RUNNING tasks, in percent.
#[derive(Debug, Default)]
pub(crate) struct EngineStats {
    /// The previous sample of each container of each service: CPU time and engine
    /// clock, ns.
    /// Container ids are only unique per engine, so the instance is part of the key.
    previous: Mutex<HashMap<ServiceRef, Samples>>,
}

/// The last CPU sample of each container (CPU time, engine clock; ns), by instance and
/// container.
type Samples = HashMap<(InstanceId, ContainerId), (u64, u64)>;

/// A task's containers to sample, and what it reserved.
struct TaskSample {
    instance: InstanceId,
    runtime: std::sync::Arc<dyn ContainerRuntime>,
    containers: Vec<ContainerId>,
    cpu_units: u32,
    memory_mib: u32,
}

impl EngineStats {
    fn tasks(ops: &Ops, service: &ServiceRef) -> Vec<TaskSample> {
        let s = ops.state.lock();
        s.tasks
            .values()
            .map(|e| &e.task)
            .filter(|t| {
                t.cluster == service.cluster
                    && t.group.service() == Some(&service.service)
                    && t.last_status == TaskStatus::Running
                    && t.desired_status == TaskStatus::Running
            })
            .filter_map(|t| {
                let agent = ops
                    .fleet
                    .get(&service.cluster, t.container_instance.as_ref()?)?;
                let td = s.registry.describe(&t.task_definition).ok()?;
                let reserved = TaskRequirements::from_task_definition(td).resources;
                Some(TaskSample {
                    instance: agent.instance.clone(),
                    runtime: agent.runtime.clone(),
                    containers: t
                        .containers
                        .iter()
                        .filter_map(|c| c.runtime_id.clone())
                        .collect(),
                    cpu_units: reserved.cpu,
                    memory_mib: reserved.memory,
                })
            })
            .collect()
    }

    /// The service's CPU or memory utilization, in percent.
    pub(crate) async fn sample(
        &self,
        ops: &Ops,
        service: &ServiceRef,
        metric: &Metric,
    ) -> Option<f64> {
        let tasks = Self::tasks(ops, service);
        let (mut used, mut reserved) = (0.0, 0.0);
        let previous = match metric {
            Metric::CpuUtilization => self
                .previous
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .remove(service)
                .unwrap_or_default(),
            _ => HashMap::new(),
        };
        // This sample, which the next one counts from; containers gone are forgotten.
        let mut current = HashMap::new();
        for task in tasks {
            let mut task_used = 0.0;
            let mut complete = true;
            for id in &task.containers {
                // A container gone meanwhile just has no figure.
                let Ok(stats) = task.runtime.container_stats(id).await else {
                    complete = false;
                    continue;
                };
                match metric {
                    Metric::CpuUtilization => {
                        let key = (task.instance.clone(), id.clone());
                        let before = previous.get(&key).copied();
                        current.insert(key, (stats.cpu_total_ns, stats.sampled_at_ns));
                        match before {
                            Some((cpu, at)) if stats.sampled_at_ns > at => {
                                let cpus = stats.cpu_total_ns.saturating_sub(cpu) as f64
                                    / (stats.sampled_at_ns - at) as f64;
                                task_used += cpus * 1024.0;
                            }
                            // The first sample of a container only starts its count.
                            _ => complete = false,
                        }
                    }
                    Metric::MemoryUtilization => {
                        task_used += stats.memory_bytes as f64 / (1024.0 * 1024.0);
                    }
                    Metric::Custom(_) => return None,
                }
            }
            let task_reserved = match metric {
                Metric::CpuUtilization => f64::from(task.cpu_units),
                _ => f64::from(task.memory_mib),
            };
            if complete && task_reserved > 0.0 {
                used += task_used;
                reserved += task_reserved;
            }
        }
        if matches!(metric, Metric::CpuUtilization) {
            self.previous
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .insert(service.clone(), current);
        }
        (reserved > 0.0).then(|| used / reserved * 100.0)
    }
}
