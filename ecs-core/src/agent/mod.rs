//! The agent of one container instance: its runtime, the routing of the runtime's
//! container events to the tasks they concern, the event pump that notices when the
//! instance's engine goes away (agent disconnected) and comes back, and the resync that
//! lists the instance's containers (one call per instance, however many tasks it runs)
//! for what events may have missed.

pub(crate) mod runner;

use std::collections::{BTreeMap, HashMap};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use futures::StreamExt;
use tokio::sync::{mpsc, watch};

use crate::ids::{ClusterName, InstanceId};
use crate::runtime::{
    Capabilities, ContainerEvent, ContainerId, ContainerInfo, ContainerNetwork, ContainerRuntime,
    labels,
};
use crate::state::State;

/// How an engine's containers reach the task metadata endpoint: its port, the engine's
/// default network, and the networks the endpoint answers (shared with it; a runner
/// adds the Service Connect networks it puts containers on).
#[derive(Debug, Clone)]
pub(crate) struct MetadataAccess {
    pub(crate) port: u16,
    pub(crate) default: ContainerNetwork,
    pub(crate) admitted: Arc<RwLock<Vec<ContainerNetwork>>>,
}

impl MetadataAccess {
    /// The endpoint's base URI (`http://GATEWAY:PORT/v4`) for containers of `network`
    /// (the engine's default one when `None`), which it answers from now on.
    pub(crate) fn base(&self, network: Option<ContainerNetwork>) -> String {
        let network = network.unwrap_or(self.default);
        let mut admitted = self.admitted.write().unwrap_or_else(|e| e.into_inner());
        if !admitted.contains(&network) {
            admitted.push(network);
        }
        format!("http://{}/v4", SocketAddr::new(network.gateway, self.port))
    }
}

/// What a task's runner hears of its containers.
#[derive(Debug)]
pub(crate) enum Signal {
    /// An event of the engine's stream.
    Event(ContainerEvent),
    /// The container as the engine listed it at a resync (boxed: every task's channel
    /// holds a block of these, mostly events).
    Seen(Box<ContainerInfo>),
    /// The container was missing from the engine's list at a resync: it is gone.
    Gone(ContainerId),
}

/// Each routed container's runner, and how many events were sent to it (a resync's
/// list older than the last of them is not told).
type Routes = HashMap<ContainerId, (mpsc::UnboundedSender<Signal>, u64)>;

/// One container instance's agent.
pub(crate) struct Agent {
    pub(crate) cluster: ClusterName,
    pub(crate) instance: InstanceId,
    /// Its registration, as the state knows it: an agent whose epoch is no longer its
    /// instance's was deregistered (or replaced), and stops.
    pub(crate) epoch: u64,
    pub(crate) runtime: Arc<dyn ContainerRuntime>,
    pub(crate) capabilities: Capabilities,
    /// How this engine's containers reach the task metadata endpoint, if they do.
    pub(crate) metadata: Option<MetadataAccess>,
    routes: Mutex<Routes>,
    /// Counts the event streams opened: the agent resyncs when it changes, since events
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
        metadata: Option<MetadataAccess>,
    ) -> Self {
        let capabilities = runtime.capabilities();
        Self {
            cluster,
            instance,
            epoch,
            runtime,
            capabilities,
            metadata,
            routes: Mutex::new(HashMap::new()),
            streams: watch::Sender::new(0),
        }
    }

    fn routes(&self) -> std::sync::MutexGuard<'_, Routes> {
        self.routes.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Sends what is heard of `id` to `tx` from now on.
    pub(crate) fn route(&self, id: ContainerId, tx: mpsc::UnboundedSender<Signal>) {
        self.routes().insert(id, (tx, 0));
    }

    /// Stops sending `id`'s events.
    pub(crate) fn unroute(&self, id: &ContainerId) {
        self.routes().remove(id);
    }

    fn dispatch(&self, event: ContainerEvent) {
        let mut routes = self.routes();
        if let Some((tx, sent)) = routes.get_mut(&event.id) {
            *sent += 1;
            // A runner that has finished has dropped its receiver; nothing to do.
            let _ = tx.send(Signal::Event(event));
        }
    }

    /// Forwards the runtime's events until the agent is deregistered (the supervisor
    /// ends it with the control plane). When the stream cannot be opened or ends, the
    /// agent counts as disconnected until it can be opened again; the resync keeps
    /// trying meanwhile, and lists at once when it is.
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

    /// Lists the instance's containers every `interval`, and at once each time an event
    /// stream is opened (kube-runtime's watchers relist after a watch restarts, for the
    /// same reason): after a reopen, for what happened while no stream was open; after
    /// the first open too, for runners that were already there (tasks adopted at
    /// recovery, whose containers were listed before the stream existed). Tells each
    /// routed container's runner what the list shows of it. Runs until the agent is
    /// deregistered (the supervisor ends it with the control plane).
    pub(crate) fn resync(
        self: Arc<Self>,
        state: Arc<State>,
        interval: Duration,
    ) -> impl std::future::Future<Output = ()> + Send + 'static {
        // Subscribed now, not at the first poll: an open that comes first still counts.
        let mut opened = self.streams.subscribe();
        async move {
            let mut ticks = tokio::time::interval(interval);
            ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            ticks.tick().await;
            loop {
                tokio::select! {
                    _ = ticks.tick() => {}
                    changed = opened.changed() => {
                        if changed.is_err() {
                            return;
                        }
                    }
                }
                if !self.current(&state) {
                    return;
                }
                self.relist().await;
            }
        }
    }

    /// One list of the instance's containers, told to their runners.
    async fn relist(&self) {
        // Taken before the list: a container routed by then existed before it was asked
        // for, so one missing from the answer is gone, not too new to be listed.
        let routed: Vec<(ContainerId, u64)> = self
            .routes()
            .iter()
            .map(|(id, (_, sent))| (id.clone(), *sent))
            .collect();
        if routed.is_empty() {
            return;
        }
        let filter = BTreeMap::from([(labels::CLUSTER.to_owned(), self.cluster.to_string())]);
        let found = match self.runtime.list_containers(&filter).await {
            Ok(found) => found,
            // The engine is away: the pump tracks that; the next resync tries again.
            Err(e) => {
                tracing::debug!(instance = %self.instance, error = %e, "resync: listing containers");
                return;
            }
        };
        let mut found: HashMap<ContainerId, ContainerInfo> =
            found.into_iter().map(|c| (c.id.clone(), c)).collect();
        // Told under the lock events are dispatched under: nothing slips in between.
        let routes = self.routes();
        for (id, before) in routed {
            match routes.get(&id) {
                // An event came while the list was asked for: the list may be older
                // than it, and must not undo it; the next resync looks again.
                Some((tx, sent)) if *sent == before => {
                    // A runner that has finished has dropped its receiver; nothing to do.
                    let _ = tx.send(match found.remove(&id) {
                        Some(info) => Signal::Seen(Box::new(info)),
                        None => Signal::Gone(id),
                    });
                }
                _ => {}
            }
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
