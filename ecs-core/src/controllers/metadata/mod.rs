//! The task metadata endpoint (v4) containers read through
//! `ECS_CONTAINER_METADATA_URI_V4`: an HTTP server reached by each engine's containers at
//! their bridge's gateway, answering, for a container, `/v4/TASK/CONTAINER` (itself), `.../task` (its task and every container),
//! `.../stats` and `.../task/stats` (engine statistics), in ECS's JSON shapes. It reads
//! the state and asks the engines; it writes nothing.

mod shapes;

use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::{Arc, Mutex, RwLock, Weak};

use axum::Json;
use axum::extract::{Path, State as Shared};
use axum::http::StatusCode;
use axum::routing::get;
use serde_json::Value;

use crate::Error;
use crate::agent::MetadataAccess;
use crate::cluster::attributes;
use crate::ids::TaskId;
use crate::ops::Ops;
use crate::runtime::{ContainerNetwork, ContainerStats};
use crate::task::Task;
use crate::task_definition::TaskDefinition;

/// The endpoint: one listener on every address of the host (an engine's bridge may
/// come up only with its first container: Podman's does), answering only the loopback
/// and the container networks of the engines registered; each engine's containers are
/// given the address of its gateway.
#[derive(Default)]
pub(crate) struct Endpoints {
    /// Where it listens, once it does.
    bound: tokio::sync::Mutex<Option<SocketAddr>>,
    /// The networks it answers.
    networks: Arc<RwLock<Vec<ContainerNetwork>>>,
}

impl Endpoints {
    /// How containers of an engine whose default network is `network` reach the
    /// endpoint, which answers them from now on; listening first (on `port`, 0 for any
    /// free one) if it does not yet.
    pub(crate) async fn access(
        &self,
        ops: &Arc<Ops>,
        network: ContainerNetwork,
        port: u16,
    ) -> Result<MetadataAccess, Error> {
        let mut bound = self.bound.lock().await;
        let local = match *bound {
            Some(local) => local,
            None => {
                let wanted = SocketAddr::new(IpAddr::V4(Ipv4Addr::UNSPECIFIED), port);
                let failed = |e: std::io::Error| Error::MetadataEndpoint {
                    address: wanted,
                    message: e.to_string(),
                };
                let listener = tokio::net::TcpListener::bind(wanted)
                    .await
                    .map_err(failed)?;
                let local = listener.local_addr().map_err(failed)?;
                // The router holds the commands weakly: a connection still open when the
                // control plane ends keeps nothing of it alive.
                let app = router(Arc::downgrade(ops), self.networks.clone())
                    .into_make_service_with_connect_info::<Peer>();
                ops.supervisor.spawn(async move {
                    if let Err(e) = axum::serve(listener, app).await {
                        tracing::warn!(%local, error = %e, "the task metadata endpoint stopped");
                    }
                });
                tracing::info!(%local, "task metadata endpoint listening");
                *bound = Some(local);
                local
            }
        };
        let access = MetadataAccess {
            port: local.port(),
            default: network,
            admitted: self.networks.clone(),
        };
        access.base(None);
        Ok(access)
    }
}

/// Both ends of a connection.
#[derive(Debug, Clone, Copy)]
struct Peer {
    remote: SocketAddr,
    /// The address it reached: `None` when the system would not say.
    local: Option<SocketAddr>,
}

impl
    axum::extract::connect_info::Connected<axum::serve::IncomingStream<'_, tokio::net::TcpListener>>
    for Peer
{
    fn connect_info(stream: axum::serve::IncomingStream<'_, tokio::net::TcpListener>) -> Self {
        Self {
            remote: *stream.remote_addr(),
            local: stream.io().local_addr().ok(),
        }
    }
}

/// Whether a connection from `remote` that reached `local` is a container's (or this
/// host's own): it came over the loopback, or from a registered engine's container
/// network to that network's gateway. Anything arriving on another address of the host
/// (a LAN's, whatever its source claims) is refused.
fn admitted(remote: IpAddr, local: Option<IpAddr>, networks: &[ContainerNetwork]) -> bool {
    let (remote, local) = (remote.to_canonical(), local.map(|l| l.to_canonical()));
    if remote.is_loopback() && local.is_some_and(|l| l.is_loopback()) {
        return true;
    }
    networks
        .iter()
        .any(|n| n.contains(remote) && local == Some(n.gateway))
}

/// Answers only containers (see [`admitted`]).
async fn only_containers(
    axum::extract::State(networks): axum::extract::State<Arc<RwLock<Vec<ContainerNetwork>>>>,
    axum::extract::ConnectInfo(peer): axum::extract::ConnectInfo<Peer>,
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    let known = admitted(
        peer.remote.ip(),
        peer.local.map(|l| l.ip()),
        &networks.read().unwrap_or_else(|e| e.into_inner()),
    );
    if known {
        next.run(request).await
    } else {
        axum::response::IntoResponse::into_response(StatusCode::FORBIDDEN)
    }
}

/// The previous statistics sample of each container the endpoint was asked about, with
/// its time: what Docker's stats shape gives as `precpu_stats` and `preread`, from
/// which readers compute CPU percentages.
type Samples = Arc<Mutex<HashMap<String, (ContainerStats, jiff::Timestamp)>>>;

/// Samples older than this are forgotten (their containers have likely gone).
const SAMPLE_RETENTION: std::time::Duration = std::time::Duration::from_secs(600);

/// What the handlers share.
#[derive(Clone)]
struct Endpoint {
    ops: Weak<Ops>,
    samples: Samples,
}

impl axum::extract::FromRef<Endpoint> for Weak<Ops> {
    fn from_ref(e: &Endpoint) -> Self {
        e.ops.clone()
    }
}

fn router(ops: Weak<Ops>, networks: Arc<RwLock<Vec<ContainerNetwork>>>) -> axum::Router {
    axum::Router::new()
        .route("/v4/{task}/{container}", get(container))
        .route("/v4/{task}/{container}/task", get(task))
        .route("/v4/{task}/{container}/stats", get(container_stats))
        .route("/v4/{task}/{container}/task/stats", get(task_stats))
        .with_state(Endpoint {
            ops,
            samples: Samples::default(),
        })
        .layer(axum::middleware::from_fn_with_state(
            networks,
            only_containers,
        ))
}

/// The control plane, while it lasts.
fn live(ops: &Weak<Ops>) -> Result<Arc<Ops>, StatusCode> {
    ops.upgrade().ok_or(StatusCode::SERVICE_UNAVAILABLE)
}

/// A task and the definition it runs, its availability zone; 404 for a task or a
/// container that is not there.
fn find(
    ops: &Ops,
    task: &str,
    container: &str,
) -> Result<(Arc<Task>, TaskDefinition, Option<String>), StatusCode> {
    let id: TaskId = task.parse().map_err(|_| StatusCode::NOT_FOUND)?;
    let s = ops.state.lock();
    let task = s
        .tasks
        .get(&id)
        .map(|e| e.task.clone())
        .ok_or(StatusCode::NOT_FOUND)?;
    if task.container(container).is_none() {
        return Err(StatusCode::NOT_FOUND);
    }
    let td = s
        .definition_of(&task)
        .map_err(|_| StatusCode::NOT_FOUND)?
        .into_owned();
    let zone = s
        .clusters
        .get(&task.cluster)
        .and_then(|c| c.cluster.instance(task.container_instance.as_ref()?))
        .and_then(|i| i.attribute(attributes::AVAILABILITY_ZONE).flatten())
        .map(str::to_owned);
    Ok((task, td, zone))
}

async fn container(
    Shared(ops): Shared<Weak<Ops>>,
    Path((task, name)): Path<(String, String)>,
) -> Result<Json<Value>, StatusCode> {
    let ops = live(&ops)?;
    let (task, td, _) = find(&ops, &task, &name)?;
    let c = task.container(&name).ok_or(StatusCode::NOT_FOUND)?;
    Ok(Json(shapes::container(&task, c, &td)))
}

async fn task(
    Shared(ops): Shared<Weak<Ops>>,
    Path((task, name)): Path<(String, String)>,
) -> Result<Json<Value>, StatusCode> {
    let ops = live(&ops)?;
    let (task, td, zone) = find(&ops, &task, &name)?;
    let place = shapes::Place {
        availability_zone: zone.as_deref(),
    };
    Ok(Json(shapes::task(&task, &td, &place)))
}

/// The statistics of `task`'s containers, by engine id (`null` for one not running),
/// each with the previous sample taken of it.
async fn stats_of(ops: &Ops, samples: &Samples, task: &Task) -> serde_json::Map<String, Value> {
    let agent = task
        .container_instance
        .as_ref()
        .and_then(|i| ops.fleet.get(&task.cluster, i));
    // Docker's `online_cpus`: the instance's CPUs, as registered.
    let cpus = {
        let s = ops.state.lock();
        s.clusters
            .get(&task.cluster)
            .and_then(|c| c.cluster.instance(task.container_instance.as_ref()?))
            .map_or(1, |i| (i.registered_resources().cpu / 1024).max(1))
    };
    let mut out = serde_json::Map::new();
    for c in &task.containers {
        let Some(id) = &c.runtime_id else {
            continue;
        };
        let sample = match &agent {
            Some(a) => a.runtime.container_stats(id).await.ok(),
            None => None,
        };
        let now = ops.state.now();
        let previous = {
            let mut samples = samples.lock().unwrap_or_else(|e| e.into_inner());
            let previous = match &sample {
                Some(s) => samples.insert(id.to_string(), (*s, now)),
                None => samples.remove(&id.to_string()),
            };
            if samples.len() > 1024 {
                samples
                    .retain(|_, (_, at)| now.duration_since(*at).unsigned_abs() < SAMPLE_RETENTION);
            }
            previous
        };
        out.insert(
            id.to_string(),
            shapes::stats(
                c,
                sample.as_ref(),
                shapes::Read {
                    at: now,
                    previous: previous.as_ref().map(|(s, at)| (s, *at)),
                    online_cpus: cpus,
                },
            ),
        );
    }
    out
}

async fn container_stats(
    Shared(endpoint): Shared<Endpoint>,
    Path((task, name)): Path<(String, String)>,
) -> Result<Json<Value>, StatusCode> {
    let ops = live(&endpoint.ops)?;
    let (task, _, _) = find(&ops, &task, &name)?;
    let c = task.container(&name).ok_or(StatusCode::NOT_FOUND)?;
    let all = stats_of(&ops, &endpoint.samples, &task).await;
    let mine = c
        .runtime_id
        .as_ref()
        .and_then(|id| all.get(&id.to_string()).cloned())
        .unwrap_or(Value::Null);
    Ok(Json(mine))
}

async fn task_stats(
    Shared(endpoint): Shared<Endpoint>,
    Path((task, name)): Path<(String, String)>,
) -> Result<Json<Value>, StatusCode> {
    let ops = live(&endpoint.ops)?;
    let (task, _, _) = find(&ops, &task, &name)?;
    Ok(Json(Value::Object(
        stats_of(&ops, &endpoint.samples, &task).await,
    )))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_containers_and_this_host_are_admitted() {
        let bridge = ContainerNetwork::parse(None, "172.17.0.0/16").unwrap();
        let nets = [bridge];
        let ip = |s: &str| s.parse::<IpAddr>().unwrap();
        // A container, to its bridge's gateway.
        assert!(admitted(ip("172.17.0.5"), Some(ip("172.17.0.1")), &nets));
        // This host, over the loopback.
        assert!(admitted(ip("127.0.0.1"), Some(ip("127.0.0.1")), &nets));
        assert!(admitted(
            ip("::ffff:127.0.0.1"),
            Some(ip("::ffff:127.0.0.1")),
            &nets
        ));
        // The same source arriving on another address (a LAN's): refused.
        assert!(!admitted(ip("172.17.0.5"), Some(ip("192.168.1.10")), &nets));
        // Another source to the gateway, or an unknown local end: refused.
        assert!(!admitted(ip("10.1.2.3"), Some(ip("172.17.0.1")), &nets));
        assert!(!admitted(ip("172.17.0.5"), None, &nets));
        assert!(!admitted(ip("10.88.0.2"), Some(ip("10.88.0.1")), &nets));
    }
}
