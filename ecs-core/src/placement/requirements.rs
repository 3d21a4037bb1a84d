//! What a task needs from the instance it runs on.

use crate::cluster::{HostPort, Resources};
use crate::task_definition::{NetworkMode, ResourceType, TaskDefinition};

/// CPU, memory, GPUs and fixed host ports a task holds on its instance.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct TaskRequirements {
    /// CPU units, memory (MiB) and GPUs.
    pub resources: Resources,
    /// Fixed host ports. Dynamic ones (bridge mode, `hostPort` 0 or absent) need none.
    pub ports: Vec<HostPort>,
}

impl TaskRequirements {
    /// `resources` and no ports.
    pub fn new(resources: Resources) -> Self {
        Self {
            resources,
            ports: Vec::new(),
        }
    }

    /// The same with fixed host `ports`.
    #[must_use]
    pub fn with_ports(mut self, ports: impl IntoIterator<Item = HostPort>) -> Self {
        self.ports = ports.into_iter().collect();
        self
    }

    /// What ECS reserves for a task of `td` on an EC2-style instance:
    /// - CPU: the task-level `cpu` when set, else the sum of the containers' `cpu`;
    /// - memory: the task-level `memory` when set, else the sum over containers of
    ///   `memoryReservation`, or `memory` where there is no reservation;
    /// - GPUs: the sum of the containers' GPU requirements;
    /// - ports: in bridge mode the non-zero `hostPort`s; in host mode the host port of
    ///   every mapping (which is the container port). awsvpc tasks get their own network
    ///   namespace and hold no host port.
    pub fn from_task_definition(td: &TaskDefinition) -> Self {
        let containers = td.containers();
        let sum = |f: &dyn Fn(&crate::task_definition::ContainerDefinition) -> Option<i32>| -> u32 {
            containers
                .iter()
                .filter_map(f)
                .map(|v| v.max(0) as u32)
                .fold(0, u32::saturating_add)
        };
        let cpu = td.cpu_units().unwrap_or_else(|| sum(&|c| c.cpu));
        let memory = td
            .memory_mib()
            .unwrap_or_else(|| sum(&|c| c.reserved_memory()));
        let gpus = containers
            .iter()
            .flat_map(|c| c.resource_requirements.as_deref().unwrap_or_default())
            .filter(|r| r.kind == ResourceType::Gpu)
            .filter_map(|r| r.value.as_deref()?.parse::<u32>().ok())
            .fold(0, u32::saturating_add);
        let mode = td.effective_network_mode();
        let mut ports: Vec<HostPort> = containers
            .iter()
            .flat_map(|c| c.port_mappings())
            .filter_map(|pm| {
                let port = match mode {
                    NetworkMode::Bridge => pm.host_port.filter(|p| *p > 0)?,
                    NetworkMode::Host => pm.host_port.filter(|p| *p > 0).or(pm.container_port)?,
                    _ => return None,
                };
                Some(HostPort {
                    port: u16::try_from(port).ok()?,
                    protocol: pm.protocol(),
                })
            })
            .collect();
        ports.sort();
        ports.dedup();
        Self {
            resources: Resources::new(cpu, memory).with_gpus(gpus),
            ports,
        }
    }
}
