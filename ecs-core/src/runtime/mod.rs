//! The container runtime trait: what a container instance's engine must do for the
//! agent, and the runtimes shipped for tests ([`InMemoryRuntime`], and with the `mock`
//! feature a mockall mock, `MockContainerRuntime`).
//!
//! A backend is one implementation of [`ContainerRuntime`]. Keep it small and literal:
//! no retries or policy inside (callers decide, from [`RuntimeError::is_retryable`]),
//! and declare what it can do in [`Capabilities`] rather than guessing.

mod capabilities;
mod error;
mod exec;
pub(crate) mod instrumented;
pub mod labels;
mod logs;
pub mod memory;
mod spec;
mod types;

use std::collections::BTreeMap;
use std::time::Duration;

use async_trait::async_trait;
use futures::stream::BoxStream;

pub use capabilities::{Capabilities, Requirement};
pub use error::RuntimeError;
pub use exec::{ExecChunk, ExecInput, ExecOutcome, ExecSession, ExecSpec};
pub use logs::{
    EngineLogDriver, LogLine, LogOptions, LoggingSpec, StdStream, log_size_bytes, split_follow,
};
pub use memory::{Behavior, InMemoryRuntime};
pub use spec::{TaskContext, container_spec, engine_name, logging_spec};
pub use types::{
    ContainerEvent, ContainerEventKind, ContainerId, ContainerInfo, ContainerNetwork,
    ContainerSpec, ContainerState, ContainerStats, HealthCheckSpec, HealthStatus, HostInfo,
    MountSpec, NetworkAttachment, PortBinding, PortSpec, PullPolicy, UlimitSpec,
};

/// A container engine on one container instance.
#[cfg_attr(feature = "mock", mockall::automock)]
#[async_trait]
pub trait ContainerRuntime: Send + Sync {
    /// A short name for messages (`docker`, `podman`, `in-memory` ...).
    fn name(&self) -> String;

    /// What it supports.
    fn capabilities(&self) -> Capabilities;

    /// The host's resources, attributes and engine version.
    async fn describe_host(&self) -> Result<HostInfo, RuntimeError>;

    /// Makes `image` present according to `policy`; [`RuntimeError::ImageUnavailable`]
    /// when it is missing and cannot be pulled.
    async fn ensure_image(&self, image: &str, policy: PullPolicy) -> Result<(), RuntimeError>;

    /// Creates a container (not started).
    async fn create_container(&self, spec: &ContainerSpec) -> Result<ContainerId, RuntimeError>;

    /// Starts a created container.
    async fn start_container(&self, id: &ContainerId) -> Result<(), RuntimeError>;

    /// Stops a container: SIGTERM, then SIGKILL after `timeout`. Returns once it has
    /// exited; stopping an exited container is not an error.
    async fn stop_container(&self, id: &ContainerId, timeout: Duration)
    -> Result<(), RuntimeError>;

    /// Removes a container (stopping it first if needed).
    async fn remove_container(&self, id: &ContainerId) -> Result<(), RuntimeError>;

    /// Removes an engine volume (a task-scoped one, once its task is done). A volume
    /// that does not exist is [`RuntimeError::NotFound`].
    async fn remove_volume(&self, name: &str) -> Result<(), RuntimeError>;

    /// What the engine knows about a container.
    async fn inspect_container(&self, id: &ContainerId) -> Result<ContainerInfo, RuntimeError>;

    /// A resource-use sample.
    async fn container_stats(&self, id: &ContainerId) -> Result<ContainerStats, RuntimeError>;

    /// Containers carrying all of `labels`, in one call to the engine (the agent's resync
    /// asks for this once per instance and interval: a backend answers from the engine's
    /// list alone, never with an inspect of each container). Each is described as
    /// [`inspect_container`](Self::inspect_container) would describe it (state, exit code,
    /// health, ports, labels, name), except for what an engine's list does not carry:
    /// `oom_killed` may be `false` for a container the kernel killed (only
    /// `inspect_container` says it), and Docker's list knows no health for a container
    /// that is not running.
    async fn list_containers(
        &self,
        labels: &BTreeMap<String, String>,
    ) -> Result<Vec<ContainerInfo>, RuntimeError>;

    /// Container events from now on. The stream ends when the engine goes away.
    async fn events(&self) -> Result<BoxStream<'static, ContainerEvent>, RuntimeError>;

    /// What a container wrote on its standard output and error, as `options` select it:
    /// the lines written so far, and with `follow` those written later until it stops.
    /// An exited container's output stays readable until it is removed. An unknown
    /// container is [`RuntimeError::NotFound`], here rather than in the stream.
    async fn container_logs(
        &self,
        id: &ContainerId,
        options: &LogOptions,
    ) -> Result<BoxStream<'static, Result<LogLine, RuntimeError>>, RuntimeError>;

    /// Starts `spec`'s command in a running container. A container that is not running
    /// is [`RuntimeError::Conflict`], an unknown one [`RuntimeError::NotFound`]; a
    /// runtime that cannot (see [`Capabilities::execute_command`]) says
    /// [`RuntimeError::Unsupported`].
    async fn exec(&self, id: &ContainerId, spec: &ExecSpec) -> Result<ExecSession, RuntimeError>;

    /// Makes the bridge network `name` present, with DNS among its containers (a
    /// container's [`NetworkAttachment::aliases`] resolve to it from the others): created
    /// with `labels` if missing, kept as it is if present. Returns where its containers
    /// reach the host. A runtime that cannot (see [`Capabilities::service_connect`])
    /// says [`RuntimeError::Unsupported`], as this default does.
    async fn ensure_network(
        &self,
        name: &str,
        labels: &BTreeMap<String, String>,
    ) -> Result<ContainerNetwork, RuntimeError> {
        let _ = (name, labels);
        Err(RuntimeError::Unsupported {
            runtime: self.name(),
            capability: "service connect networks".into(),
        })
    }
}

/// A broadcast receiver of container events as the stream [`ContainerRuntime::events`]
/// returns: lagging skips what was missed (the agent's resync makes it up), a closed
/// channel ends the stream. For backends that fan out their own events.
pub fn broadcast_events(
    rx: tokio::sync::broadcast::Receiver<ContainerEvent>,
) -> BoxStream<'static, ContainerEvent> {
    use tokio::sync::broadcast::error::RecvError;
    Box::pin(futures::stream::unfold(rx, |mut rx| async move {
        loop {
            match rx.recv().await {
                Ok(event) => return Some((event, rx)),
                Err(RecvError::Lagged(_)) => continue,
                Err(RecvError::Closed) => return None,
            }
        }
    }))
}

/// Port bindings from a Docker-style port map, as Docker and libpod both report them:
/// `("80/tcp", ["32768", ...])`. Sorted, without the duplicates of IPv4 and IPv6
/// bindings of one port. For backends.
pub fn port_bindings(map: impl IntoIterator<Item = (String, Vec<String>)>) -> Vec<PortBinding> {
    let mut out = Vec::new();
    for (key, host_ports) in map {
        let Some((port, proto)) = key.split_once('/') else {
            continue;
        };
        let Ok(container_port) = port.parse::<u16>() else {
            continue;
        };
        let protocol = if proto == "udp" {
            crate::task_definition::TransportProtocol::Udp
        } else {
            crate::task_definition::TransportProtocol::Tcp
        };
        for host_port in host_ports.iter().filter_map(|p| p.parse().ok()) {
            out.push(PortBinding {
                container_port,
                host_port,
                protocol,
            });
        }
    }
    out.sort_by_key(|p| (p.container_port, p.host_port, p.protocol));
    out.dedup();
    out
}

/// Now as the `since` argument of Docker's and libpod's event endpoints
/// (`SECONDS.NANOSECONDS` since the Unix epoch). For backends.
pub fn since_now() -> String {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| format!("{}.{:09}", d.as_secs(), d.subsec_nanos()))
        .unwrap_or_default()
}

/// Inspects each of `ids`, skipping containers removed in the meantime: how a backend
/// whose engine lists only summaries without the state can answer
/// [`ContainerRuntime::list_containers`] (one engine call per container: prefer a list
/// that says it all, as the Docker and Podman backends do).
pub async fn inspect_each<R: ContainerRuntime + ?Sized>(
    runtime: &R,
    ids: impl IntoIterator<Item = ContainerId>,
) -> Result<Vec<ContainerInfo>, RuntimeError> {
    let mut out = Vec::new();
    for id in ids {
        match runtime.inspect_container(&id).await {
            Ok(info) => out.push(info),
            // Removed between the list and the inspect.
            Err(RuntimeError::NotFound(_)) => {}
            Err(e) => return Err(e),
        }
    }
    Ok(out)
}
