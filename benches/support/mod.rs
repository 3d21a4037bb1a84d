//! Shared pieces of the placement benchmarks: building clusters and reading peak memory.

#![allow(dead_code)]

use ecs::cluster::{Cluster, InstanceRegistration, Resources};

/// The zones instances are spread over.
pub const ZONES: [&str; 3] = ["us-east-1a", "us-east-1b", "us-east-1c"];

/// `n` instances of `cpu` units and `memory` MiB, round-robin over three zones, half
/// `stack=prod` and half `stack=dev`, half m5 and half c5 instance types.
pub fn cluster(n: usize, cpu: u32, memory: u32) -> Cluster {
    let mut c = Cluster::new("bench".parse().unwrap());
    for i in 0..n {
        let reg = InstanceRegistration::new(
            format!("i-{i:06}").parse().unwrap(),
            Resources::new(cpu, memory),
        )
        .with_zone(ZONES[i % 3])
        .with_attribute("stack", if (i / 3) % 2 == 0 { "prod" } else { "dev" })
        .with_attribute(
            "ecs.instance-type",
            if (i / 6) % 2 == 0 {
                "m5.16xlarge"
            } else {
                "c5.18xlarge"
            },
        );
        c.register_instance(reg).unwrap();
    }
    c
}

/// The process's peak resident memory (VmHWM), in MiB, where /proc tells it.
pub fn peak_memory_mib() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kib: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib / 1024.0)
}
