//! A runtime that counts the calls made to it, by operation, around another one.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use ecs_core::runtime::{
    Capabilities, ContainerEvent, ContainerId, ContainerInfo, ContainerRuntime, ContainerSpec,
    ContainerStats, HostInfo, PullPolicy, RuntimeError,
};

/// Counts every call made to `inner`, by the trait method's name.
pub struct Counting {
    pub inner: Arc<dyn ContainerRuntime>,
    calls: Mutex<BTreeMap<&'static str, u64>>,
}

impl Counting {
    pub fn new(inner: Arc<dyn ContainerRuntime>) -> Self {
        Self {
            inner,
            calls: Mutex::new(BTreeMap::new()),
        }
    }

    fn count(&self, op: &'static str) {
        *self.calls.lock().unwrap().entry(op).or_default() += 1;
    }

    /// Calls so far, by operation.
    pub fn calls(&self) -> BTreeMap<&'static str, u64> {
        self.calls.lock().unwrap().clone()
    }

    /// Calls so far, all operations.
    pub fn total(&self) -> u64 {
        self.calls.lock().unwrap().values().sum()
    }

    /// Calls of `op` so far.
    pub fn of(&self, op: &str) -> u64 {
        self.calls.lock().unwrap().get(op).copied().unwrap_or(0)
    }
}

impl std::fmt::Debug for Counting {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Counting")
            .field("calls", &self.calls())
            .finish()
    }
}

#[async_trait::async_trait]
impl ContainerRuntime for Counting {
    fn name(&self) -> String {
        self.inner.name()
    }
    fn capabilities(&self) -> Capabilities {
        self.inner.capabilities()
    }
    async fn describe_host(&self) -> Result<HostInfo, RuntimeError> {
        self.count("describe_host");
        self.inner.describe_host().await
    }
    async fn ensure_image(&self, image: &str, policy: PullPolicy) -> Result<(), RuntimeError> {
        self.count("ensure_image");
        self.inner.ensure_image(image, policy).await
    }
    async fn create_container(&self, spec: &ContainerSpec) -> Result<ContainerId, RuntimeError> {
        self.count("create_container");
        self.inner.create_container(spec).await
    }
    async fn start_container(&self, id: &ContainerId) -> Result<(), RuntimeError> {
        self.count("start_container");
        self.inner.start_container(id).await
    }
    async fn stop_container(&self, id: &ContainerId, t: Duration) -> Result<(), RuntimeError> {
        self.count("stop_container");
        self.inner.stop_container(id, t).await
    }
    async fn remove_container(&self, id: &ContainerId) -> Result<(), RuntimeError> {
        self.count("remove_container");
        self.inner.remove_container(id).await
    }
    async fn remove_volume(&self, name: &str) -> Result<(), RuntimeError> {
        self.count("remove_volume");
        self.inner.remove_volume(name).await
    }
    async fn inspect_container(&self, id: &ContainerId) -> Result<ContainerInfo, RuntimeError> {
        self.count("inspect_container");
        self.inner.inspect_container(id).await
    }
    async fn container_stats(&self, id: &ContainerId) -> Result<ContainerStats, RuntimeError> {
        self.count("container_stats");
        self.inner.container_stats(id).await
    }
    async fn list_containers(
        &self,
        labels: &BTreeMap<String, String>,
    ) -> Result<Vec<ContainerInfo>, RuntimeError> {
        self.count("list_containers");
        self.inner.list_containers(labels).await
    }
    async fn events(
        &self,
    ) -> Result<futures::stream::BoxStream<'static, ContainerEvent>, RuntimeError> {
        self.count("events");
        self.inner.events().await
    }
    async fn container_logs(
        &self,
        id: &ContainerId,
        options: &ecs_core::runtime::LogOptions,
    ) -> Result<
        futures::stream::BoxStream<'static, Result<ecs_core::runtime::LogLine, RuntimeError>>,
        RuntimeError,
    > {
        self.count("container_logs");
        self.inner.container_logs(id, options).await
    }
    async fn exec(
        &self,
        id: &ContainerId,
        spec: &ecs_core::runtime::ExecSpec,
    ) -> Result<ecs_core::runtime::ExecSession, RuntimeError> {
        self.count("exec");
        self.inner.exec(id, spec).await
    }

    async fn ensure_network(
        &self,
        name: &str,
        labels: &std::collections::BTreeMap<String, String>,
    ) -> Result<ecs_core::runtime::ContainerNetwork, RuntimeError> {
        self.count("ensure_network");
        self.inner.ensure_network(name, labels).await
    }
}
