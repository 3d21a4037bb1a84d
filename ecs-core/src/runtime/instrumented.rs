//! A runtime that records each call to the runtime it wraps: how many, how long, how
//! many failed and how ([`telemetry`](crate::telemetry)'s `ecs_engine_*`). The control
//! plane wraps every instance's runtime in one at registration, so that every backend
//! is measured alike without measuring itself.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use futures::stream::BoxStream;

use super::{
    Capabilities, ContainerEvent, ContainerId, ContainerInfo, ContainerNetwork, ContainerRuntime,
    ContainerSpec, ContainerStats, ExecSession, ExecSpec, HostInfo, LogLine, LogOptions,
    PullPolicy, RuntimeError,
};
use crate::telemetry::{ENGINE_CALL_ERRORS, ENGINE_CALL_SECONDS, ENGINE_CALLS};

/// `inner`, its calls recorded.
pub(crate) struct Instrumented {
    inner: Arc<dyn ContainerRuntime>,
    /// The runtime's name, as every sample labels it (asked once).
    name: String,
}

impl Instrumented {
    pub(crate) fn new(inner: Arc<dyn ContainerRuntime>) -> Self {
        let name = inner.name();
        Self { inner, name }
    }

    async fn record<T>(
        &self,
        operation: &'static str,
        call: impl std::future::Future<Output = Result<T, RuntimeError>>,
    ) -> Result<T, RuntimeError> {
        let started = Instant::now();
        let result = call.await;
        metrics::counter!(ENGINE_CALLS, "operation" => operation, "runtime" => self.name.clone())
            .increment(1);
        metrics::histogram!(
            ENGINE_CALL_SECONDS,
            "operation" => operation,
            "runtime" => self.name.clone(),
        )
        .record(started.elapsed().as_secs_f64());
        if let Err(e) = &result {
            metrics::counter!(
                ENGINE_CALL_ERRORS,
                "operation" => operation,
                "runtime" => self.name.clone(),
                "error" => e.kind(),
            )
            .increment(1);
        }
        result
    }
}

#[async_trait]
impl ContainerRuntime for Instrumented {
    fn name(&self) -> String {
        self.name.clone()
    }

    fn capabilities(&self) -> Capabilities {
        self.inner.capabilities()
    }

    async fn describe_host(&self) -> Result<HostInfo, RuntimeError> {
        self.record("describe_host", self.inner.describe_host())
            .await
    }

    async fn ensure_image(&self, image: &str, policy: PullPolicy) -> Result<(), RuntimeError> {
        self.record("ensure_image", self.inner.ensure_image(image, policy))
            .await
    }

    async fn create_container(&self, spec: &ContainerSpec) -> Result<ContainerId, RuntimeError> {
        self.record("create_container", self.inner.create_container(spec))
            .await
    }

    async fn start_container(&self, id: &ContainerId) -> Result<(), RuntimeError> {
        self.record("start_container", self.inner.start_container(id))
            .await
    }

    async fn stop_container(
        &self,
        id: &ContainerId,
        timeout: Duration,
    ) -> Result<(), RuntimeError> {
        self.record("stop_container", self.inner.stop_container(id, timeout))
            .await
    }

    async fn remove_container(&self, id: &ContainerId) -> Result<(), RuntimeError> {
        self.record("remove_container", self.inner.remove_container(id))
            .await
    }

    async fn remove_volume(&self, name: &str) -> Result<(), RuntimeError> {
        self.record("remove_volume", self.inner.remove_volume(name))
            .await
    }

    async fn inspect_container(&self, id: &ContainerId) -> Result<ContainerInfo, RuntimeError> {
        self.record("inspect_container", self.inner.inspect_container(id))
            .await
    }

    async fn container_stats(&self, id: &ContainerId) -> Result<ContainerStats, RuntimeError> {
        self.record("container_stats", self.inner.container_stats(id))
            .await
    }

    async fn list_containers(
        &self,
        labels: &BTreeMap<String, String>,
    ) -> Result<Vec<ContainerInfo>, RuntimeError> {
        self.record("list_containers", self.inner.list_containers(labels))
            .await
    }

    async fn events(&self) -> Result<BoxStream<'static, ContainerEvent>, RuntimeError> {
        self.record("events", self.inner.events()).await
    }

    async fn container_logs(
        &self,
        id: &ContainerId,
        options: &LogOptions,
    ) -> Result<BoxStream<'static, Result<LogLine, RuntimeError>>, RuntimeError> {
        self.record("container_logs", self.inner.container_logs(id, options))
            .await
    }

    async fn exec(&self, id: &ContainerId, spec: &ExecSpec) -> Result<ExecSession, RuntimeError> {
        self.record("exec", self.inner.exec(id, spec)).await
    }

    async fn ensure_network(
        &self,
        name: &str,
        labels: &BTreeMap<String, String>,
    ) -> Result<ContainerNetwork, RuntimeError> {
        self.record("ensure_network", self.inner.ensure_network(name, labels))
            .await
    }
}
