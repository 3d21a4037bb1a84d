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
    /// Runs commands in running containers (ExecuteCommand).
    pub execute_command: bool,
    /// Makes bridge networks with DNS among their containers (Service Connect).
    pub service_connect: bool,
}

impl Capabilities {
    /// Everything, Service Connect's networks included: a runtime that says so
    /// implements [`ensure_network`](super::ContainerRuntime::ensure_network) (the
    /// trait's default refuses), and a wrapper that forwards its inner runtime's
    /// capabilities forwards that method too.
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
        execute_command: true,
        service_connect: true,
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
        execute_command: false,
        service_connect: false,
    };

    /// The capabilities `td` needs: the task definition feature that needs it, and the
    /// instance attribute that advertises it.
    pub fn required_by(td: &TaskDefinition) -> Vec<Requirement> {
        let mut out: Vec<Requirement> = Vec::new();
        let mut need = |r: Requirement| {
            if !out.contains(&r) {
                out.push(r);
            }
        };
        match td.effective_network_mode() {
            NetworkMode::Bridge | NetworkMode::Awsvpc => need(Requirement::BridgeNetwork),
            NetworkMode::Host => need(Requirement::HostNetwork),
            NetworkMode::None => need(Requirement::NoneNetwork),
        }
        if !td.volumes().is_empty() {
            need(Requirement::Volumes);
        }
        for c in td.containers() {
            if c.health_check.is_some() {
                need(Requirement::HealthChecks);
            }
            if c.linux_parameters
                .as_ref()
                .and_then(|l| l.init_process_enabled)
                == Some(true)
            {
                need(Requirement::Init);
            }
            if c.ulimits.as_ref().is_some_and(|u| !u.is_empty()) {
                need(Requirement::Ulimits);
            }
            if !c.links().is_empty() {
                need(Requirement::Links);
            }
            if c.privileged == Some(true) {
                need(Requirement::Privileged);
            }
            if !c.mount_points().is_empty() || !c.volumes_from().is_empty() {
                need(Requirement::Volumes);
            }
        }
        out
    }

    /// The instance attributes a task of `td` needs: its definition's requirements, and
    /// Service Connect's when its service has it on (a service's setting, not its
    /// definition's). What placement requires, for every task and DAEMON eligibility
    /// alike.
    pub fn attributes_required(td: &TaskDefinition, service_connect: bool) -> Vec<String> {
        Self::required_by(td)
            .into_iter()
            .chain(service_connect.then_some(Requirement::ServiceConnect))
            .map(|r| r.attribute().to_owned())
            .collect()
    }

    /// Whether these capabilities include `r`.
    pub fn supports(&self, r: Requirement) -> bool {
        match r {
            Requirement::HealthChecks => self.health_checks,
            Requirement::Init => self.init,
            Requirement::Ulimits => self.ulimits,
            Requirement::Links => self.links,
            Requirement::BridgeNetwork => self.bridge_network,
            Requirement::HostNetwork => self.host_network,
            Requirement::NoneNetwork => self.none_network,
            Requirement::Privileged => self.privileged,
            Requirement::Volumes => self.volumes,
            Requirement::ExecuteCommand => self.execute_command,
            Requirement::ServiceConnect => self.service_connect,
        }
    }

    /// What `td` needs that these capabilities lack (empty when it can run).
    pub fn missing_for(&self, td: &TaskDefinition) -> Vec<Requirement> {
        Self::required_by(td)
            .into_iter()
            .filter(|r| !self.supports(*r))
            .collect()
    }

    /// The attributes an instance with these capabilities carries.
    pub fn attributes(&self) -> Vec<&'static str> {
        Requirement::ALL
            .iter()
            .filter(|r| self.supports(**r))
            .map(|r| r.attribute())
            .collect()
    }
}

/// A capability a task definition can need from its instance's runtime.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Requirement {
    /// `healthCheck`.
    HealthChecks,
    /// `linuxParameters.initProcessEnabled`.
    Init,
    /// `ulimits`.
    Ulimits,
    /// `links`.
    Links,
    /// `networkMode` bridge (and awsvpc, run as bridge).
    BridgeNetwork,
    /// `networkMode` host.
    HostNetwork,
    /// `networkMode` none.
    NoneNetwork,
    /// `privileged`.
    Privileged,
    /// `volumes`, `mountPoints`, `volumesFrom`.
    Volumes,
    /// ExecuteCommand into a task's containers (`enableExecuteCommand`: a task's, not
    /// its definition's, so never in [`Capabilities::required_by`]).
    ExecuteCommand,
    /// Service Connect (`serviceConnectConfiguration`: a service's, not its task
    /// definition's, so never in [`Capabilities::required_by`]).
    ServiceConnect,
}

impl Requirement {
    /// Every requirement.
    pub const ALL: [Requirement; 11] = [
        Requirement::HealthChecks,
        Requirement::Init,
        Requirement::Ulimits,
        Requirement::Links,
        Requirement::BridgeNetwork,
        Requirement::HostNetwork,
        Requirement::NoneNetwork,
        Requirement::Privileged,
        Requirement::Volumes,
        Requirement::ExecuteCommand,
        Requirement::ServiceConnect,
    ];

    /// The task definition feature, as the JSON names it.
    pub fn feature(self) -> &'static str {
        match self {
            Requirement::HealthChecks => "healthCheck",
            Requirement::Init => "linuxParameters.initProcessEnabled",
            Requirement::Ulimits => "ulimits",
            Requirement::Links => "links",
            Requirement::BridgeNetwork => "networkMode bridge",
            Requirement::HostNetwork => "networkMode host",
            Requirement::NoneNetwork => "networkMode none",
            Requirement::Privileged => "privileged",
            Requirement::Volumes => "volumes",
            Requirement::ExecuteCommand => "enableExecuteCommand",
            Requirement::ServiceConnect => "serviceConnectConfiguration",
        }
    }

    /// The instance attribute that advertises it (`ecs.capability.*`).
    pub fn attribute(self) -> &'static str {
        match self {
            Requirement::HealthChecks => "ecs.capability.container-health-check",
            Requirement::Init => "ecs.capability.init",
            Requirement::Ulimits => "ecs.capability.ulimits",
            Requirement::Links => "ecs.capability.links",
            Requirement::BridgeNetwork => "ecs.capability.network.bridge",
            Requirement::HostNetwork => "ecs.capability.network.host",
            Requirement::NoneNetwork => "ecs.capability.network.none",
            Requirement::Privileged => "ecs.capability.privileged-container",
            Requirement::Volumes => "ecs.capability.volumes",
            Requirement::ExecuteCommand => "ecs.capability.execute-command",
            Requirement::ServiceConnect => "ecs.capability.service-connect-v1",
        }
    }
}

impl std::fmt::Display for Requirement {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.feature())
    }
}
