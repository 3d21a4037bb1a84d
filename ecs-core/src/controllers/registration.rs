//! Registering a new container instance and running its agent: for the facade's
//! RegisterContainerInstance and for instances a capacity provider launched.

use std::collections::BTreeMap;
use std::sync::Arc;

use super::Context;
use crate::agent::Agent;
use crate::cluster::InstanceRegistration;
use crate::ids::{ClusterName, InstanceId};
use crate::runtime::ContainerRuntime;
use crate::{Error, ResourceKind};

impl Context {
    /// Registers an instance the cluster does not know yet, driven by `runtime`
    /// (already instrumented): its resources and built-in attributes from the engine's
    /// host description, its capabilities as `ecs.capability.*`, `extra` besides.
    pub(crate) async fn register_new_instance(
        &self,
        cluster: &ClusterName,
        id: InstanceId,
        runtime: Arc<dyn ContainerRuntime>,
        extra: BTreeMap<String, String>,
    ) -> Result<(), Error> {
        let host = runtime.describe_host().await.map_err(|e| Error::Runtime {
            instance: id.to_string(),
            error: e,
        })?;
        let mut registration = InstanceRegistration::new(id.clone(), host.resources)
            .with_agent_version(host.engine_version);
        for (k, v) in host.attributes.into_iter().chain(extra) {
            registration.attributes.insert(k, Some(v));
        }
        for a in runtime.capabilities().attributes() {
            registration.attributes.insert(a.to_owned(), None);
        }
        let metadata = self.metadata_access(host.container_network).await?;
        let agent = {
            let mut s = self.state().lock();
            s.next_agent += 1;
            let epoch = s.next_agent;
            let c = s
                .clusters
                .get_mut(cluster)
                .ok_or_else(|| Error::not_found(ResourceKind::Cluster, cluster))?;
            c.cluster.register_instance(registration)?;
            c.agents.insert(id.clone(), epoch);
            let agent = Arc::new(Agent::new(
                cluster.clone(),
                id.clone(),
                epoch,
                runtime,
                metadata,
            ));
            self.ops.fleet.insert(agent.clone());
            agent
        };
        self.start_agent(agent);
        self.state()
            .instances_changed(cluster, std::slice::from_ref(&id));
        Ok(())
    }

    /// How containers of an engine whose default network is `network` reach the task
    /// metadata endpoint, listening first if it does not yet; none without a network or
    /// with the endpoint off.
    pub(crate) async fn metadata_access(
        &self,
        network: Option<crate::runtime::ContainerNetwork>,
    ) -> Result<Option<crate::agent::MetadataAccess>, Error> {
        let (Some(network), true) = (network, self.config().metadata_endpoint) else {
            return Ok(None);
        };
        let access = self
            .metadata
            .access(&self.ops, network, self.config().metadata_port)
            .await?;
        Ok(Some(access))
    }

    /// Runs an agent's resync and event pump, until it is deregistered or the control
    /// plane ends; and, with the first agent, the retention of stopped tasks (tasks need
    /// an agent).
    pub(crate) fn start_agent(&self, agent: Arc<Agent>) {
        self.start_retention();
        let (supervisor, config) = (&self.ops.supervisor, self.config());
        // The resync first: it hears of the pump's first open.
        supervisor.spawn(
            agent
                .clone()
                .resync(self.ops.state.clone(), config.resync_interval),
        );
        supervisor.spawn(agent.pump(self.ops.state.clone(), config.reconnect_interval));
    }
}
