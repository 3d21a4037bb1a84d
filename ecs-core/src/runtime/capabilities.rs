//! What a runtime can do, declared up front, so that a task definition that needs more
//! is refused whole instead of half-honoured.

use crate::task_definition::{NetworkMode, TaskDefinition};

/// The features a runtime supports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct Capabilities {
    /// Runs health checks.
    pub health_checks: bool,
    /// Can run an init process (`initProcessEnabled`).
    pub init: bool,
    /// Sets ulimits.
    pub ulimits: bool,
    /// Supports legacy links.
    pub links: bool,
    /// Bridge networking with published ports.
    pub bridge_network: bool,
    /// Host networking.
    pub host_network: bool,
    /// Containers without networking.
    pub none_network: bool,
    /// Privileged containers.
    pub privileged: bool,
    /// Host bind mounts and engine volumes.
    pub volumes: bool,
    /// Resource statistics.
    pub stats: bool,
    /// An event stream.
    pub events: bool,
    /// Stops with SIGTERM then SIGKILL after a timeout.
    pub graceful_stop: bool,
}

impl Capabilities {
    /// Everything.
    pub const ALL: Capabilities = Capabilities {
        health_checks: true,
        init: true,
        ulimits: true,
        links: true,
        bridge_network: true,
        host_network: true,
        none_network: true,
        privileged: true,
        volumes: true,
        stats: true,
        events: true,
        graceful_stop: true,
    };

    /// Nothing beyond running containers.
    pub const NONE: Capabilities = Capabilities {
        health_checks: false,
        init: false,
        ulimits: false,
        links: false,
        bridge_network: false,
        host_network: false,
        none_network: false,
        privileged: false,
        volumes: false,
        stats: false,
        events: false,
        graceful_stop: false,
    };

    /// What `td` needs that these capabilities lack, named as the task definition names
    /// them (empty when it can run).
    pub fn missing_for(&self, td: &TaskDefinition) -> Vec<&'static str> {
        let mut missing = Vec::new();
        let mut need = |ok: bool, what: &'static str| {
            if !ok && !missing.contains(&what) {
                missing.push(what);
            }
        };
        match td.effective_network_mode() {
            NetworkMode::Bridge | NetworkMode::Awsvpc => need(self.bridge_network, "networkMode bridge"),
            NetworkMode::Host => need(self.host_network, "networkMode host"),
            NetworkMode::None => need(self.none_network, "networkMode none"),
        }
        if !td.volumes().is_empty() {
            need(self.volumes, "volumes");
        }
        for c in td.containers() {
            if c.health_check.is_some() {
                need(self.health_checks, "healthCheck");
            }
            if c.linux_parameters.as_ref().and_then(|l| l.init_process_enabled) == Some(true) {
                need(self.init, "linuxParameters.initProcessEnabled");
            }
            if c.ulimits.as_ref().is_some_and(|u| !u.is_empty()) {
                need(self.ulimits, "ulimits");
            }
            if !c.links().is_empty() {
                need(self.links, "links");
            }
            if c.privileged == Some(true) {
                need(self.privileged, "privileged");
            }
            if !c.mount_points().is_empty() || !c.volumes_from().is_empty() {
                need(self.volumes, "mountPoints");
            }
        }
        missing
    }
}
