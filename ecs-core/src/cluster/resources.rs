//! Schedulable resources of a container instance or a task.

use std::fmt;

use crate::task_definition::TransportProtocol;

/// Amounts of each schedulable resource: CPU units (1024 per vCPU), memory in MiB, GPUs.
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize,
)]
#[non_exhaustive]
pub struct Resources {
    /// CPU units.
    pub cpu: u32,
    /// Memory, MiB.
    pub memory: u32,
    /// Whole GPUs.
    pub gpus: u32,
}

impl Resources {
    /// `cpu` units and `memory` MiB, no GPUs.
    pub const fn new(cpu: u32, memory: u32) -> Self {
        Self {
            cpu,
            memory,
            gpus: 0,
        }
    }

    /// The same with `gpus` GPUs.
    #[must_use]
    pub const fn with_gpus(mut self, gpus: u32) -> Self {
        self.gpus = gpus;
        self
    }

    /// Component-wise sum, saturating.
    #[must_use]
    pub fn saturating_add(self, other: Self) -> Self {
        Self {
            cpu: self.cpu.saturating_add(other.cpu),
            memory: self.memory.saturating_add(other.memory),
            gpus: self.gpus.saturating_add(other.gpus),
        }
    }

    /// Component-wise difference, floored at zero.
    #[must_use]
    pub fn saturating_sub(self, other: Self) -> Self {
        Self {
            cpu: self.cpu.saturating_sub(other.cpu),
            memory: self.memory.saturating_sub(other.memory),
            gpus: self.gpus.saturating_sub(other.gpus),
        }
    }
}

impl fmt::Display for Resources {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} CPU units, {} MiB", self.cpu, self.memory)?;
        if self.gpus > 0 {
            write!(f, ", {} GPUs", self.gpus)?;
        }
        Ok(())
    }
}

/// A host port and its protocol, as a task claims it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct HostPort {
    /// The port number.
    pub port: u16,
    /// TCP or UDP.
    pub protocol: TransportProtocol,
}

impl HostPort {
    /// A TCP port.
    pub const fn tcp(port: u16) -> Self {
        Self {
            port,
            protocol: TransportProtocol::Tcp,
        }
    }
}

impl fmt::Display for HostPort {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.port, self.protocol)
    }
}
