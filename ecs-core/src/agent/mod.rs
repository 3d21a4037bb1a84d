//! The agent of one container instance: its runtime, the routing of the runtime's
//! container events to the tasks they concern, and the event pump that notices when the
//! instance's engine goes away (agent disconnected) and comes back.

pub(crate) mod runner;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::StreamExt;
use tokio::sync::{mpsc, watch};

use crate::ids::{ClusterName, InstanceId};
use crate::runtime::{Capabilities, ContainerEvent, ContainerId, ContainerRuntime};
use crate::state::State;

/// One container instance's agent.
pub(crate) struct Agent {
    pub(crate) cluster: ClusterName,
    pub(crate) instance: InstanceId,
    /// Its registration, as the state knows it: an agent whose epoch is no longer its
    /// instance's was deregistered (or replaced), and stops.
    pub(crate) epoch: u64,
    pub(crate) runtime: Arc<dyn ContainerRuntime>,
    pub(crate) capabilities: Capabilities,
    routes: Mutex<HashMap<ContainerId, mpsc::UnboundedSender<ContainerEvent>>>,
    /// Counts the event streams opened: runners resync when it changes, since events
    /// may have been missed while no stream was open.
    streams: watch::Sender<u64>,
}

impl std::fmt::Debug for Agent {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Agent")
            .field("instance", &self.instance)
            .field("runtime", &self.runtime.name())
            .finish()
    }
}

impl Agent {
    pub(crate) fn new(
        cluster: ClusterName,
        instance: InstanceId,
        epoch: u64,
        runtime: Arc<dyn ContainerRuntime>,
    ) -> Self {
        let capabilities = runtime.capabilities();
        Self {
            cluster,
            instance,
            epoch,
            runtime,
            capabilities,
            routes: Mutex::new(HashMap::new()),
            streams: watch::Sender::new(0),
        }
    }

    fn routes(
        &self,
    ) -> std::sync::MutexGuard<'_, HashMap<ContainerId, mpsc::UnboundedSender<ContainerEvent>>>
    {
        self.routes.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Sends `id`'s events to `tx` from now on.
    pub(crate) fn route(&self, id: ContainerId, tx: mpsc::UnboundedSender<ContainerEvent>) {
        self.routes().insert(id, tx);
    }

    /// Changes each time an event stream is opened, for runners to resync at once
    /// (kube-runtime's watchers relist after a watch restarts, for the same reason):
    /// after a reopen, for what happened while no stream was open; after the first open
    /// too, for runners that were already there (tasks adopted at recovery, whose
    /// containers were listed before the stream existed).
    pub(crate) fn reopened(&self) -> watch::Receiver<u64> {
        self.streams.subscribe()
    }

    /// Stops sending `id`'s events.
    pub(crate) fn unroute(&self, id: &ContainerId) {
        self.routes().remove(id);
    }

    fn dispatch(&self, event: ContainerEvent) {
        let routes = self.routes();
        if let Some(tx) = routes.get(&event.id) {
            // A runner that has finished has dropped its receiver; nothing to do.
            let _ = tx.send(event);
        }
    }

    /// Forwards the runtime's events until the agent is deregistered (the supervisor
    /// ends it with the control plane). When the stream cannot be opened or ends, the
    /// agent counts as disconnected until it can be opened again; runners keep their
    /// own resync meanwhile, and resync at once when it is.
    pub(crate) async fn pump(self: Arc<Self>, state: Arc<State>, retry: Duration) {
        loop {
            match self.runtime.events().await {
                Ok(mut stream) => {
                    // Deregistered (perhaps registered again under its id with another
                    // agent): this one has nothing more to report.
                    if !self.set_connected(&state, true) {
                        return;
                    }
                    self.streams.send_modify(|n| *n += 1);
                    while let Some(event) = stream.next().await {
                        self.dispatch(event);
                    }
                }
                Err(e) => {
                    tracing::debug!(instance = %self.instance, error = %e, "event stream unavailable")
                }
            }
            if !self.set_connected(&state, false) {
                return;
            }
            tokio::time::sleep(retry).await;
        }
    }

    fn set_connected(&self, state: &State, connected: bool) -> bool {
        state.set_agent_connected(&self.cluster, &self.instance, self.epoch, connected)
    }

    /// Whether this agent is still its instance's (not deregistered).
    pub(crate) fn current(&self, state: &State) -> bool {
        state.agent_current(&self.cluster, &self.instance, self.epoch)
    }
}
