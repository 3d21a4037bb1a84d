//! A service's tasks in its load balancers: registered once RUNNING (and HEALTHY where
//! a health check exists), counted healthy only once the load balancer says so, and
//! deregistered (drained) before the service stops them.

use std::collections::{HashMap, HashSet};
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::Notify;

use crate::ids::TaskId;
use crate::load_balancer::{LoadBalancer, Target, TargetState};
use crate::ops::Ops;
use crate::runtime::HealthStatus;
use crate::service::{HOST_IP_ATTRIBUTE, Service};
use crate::state::{ServiceKey, Tables};
use crate::task::{StopCode, Task, TaskStatus};
use crate::task_definition::TransportProtocol;

/// How often target health is polled while a target is not healthy yet.
pub(crate) const HEALTH_POLL: Duration = Duration::from_secs(1);

/// The longest a load balancer may take to register targets or report health: a
/// balancer that hangs must not stall the service's controller.
const CALL_TIMEOUT: Duration = Duration::from_secs(10);

/// Deregisters `targets` (one per link, in link order) from every link at once, in the
/// background.
pub(crate) fn forget(ops: &Ops, links: Vec<Link>, targets: Vec<Target>) {
    ops.supervisor.spawn(deregister_all(links, targets));
}

/// Deregisters from every link concurrently: each drains on its own delay.
async fn deregister_all(links: Vec<Link>, targets: Vec<Target>) {
    let calls = links.iter().zip(&targets).map(|(link, target)| async move {
        if let Err(e) = link.lb.deregister_targets(std::slice::from_ref(target)).await {
            tracing::warn!(lb = %link.lb.name(), target = %target.id, error = %e, "deregistering a target");
        }
    });
    futures::future::join_all(calls).await;
}

/// One of the service's load balancers, and the container port it sends traffic to.
#[derive(Clone)]
pub(crate) struct Link {
    pub(crate) lb: Arc<dyn LoadBalancer>,
    pub(crate) container: String,
    pub(crate) port: u16,
}

/// What the controller knows of its tasks in its load balancers.
#[derive(Default)]
pub(crate) struct LbMemory {
    /// Registered tasks and their target in each link, in link order.
    pub(crate) registered: HashMap<TaskId, Vec<Target>>,
    /// Tasks healthy in every link.
    pub(crate) healthy: HashSet<TaskId>,
    /// Tasks unhealthy in some link.
    pub(crate) unhealthy: HashSet<TaskId>,
    /// Tasks being drained before their stop.
    pub(crate) draining: HashSet<TaskId>,
}

/// The target of `task` for `link`: its instance's address and the host port bound to
/// the link's container port.
fn target_of(task: &Task, link: &Link, host: IpAddr) -> Option<Target> {
    let port = task
        .container(&link.container)?
        .network_bindings
        .iter()
        .find(|b| b.container_port == link.port && b.protocol == TransportProtocol::Tcp)?
        .host_port;
    Some(Target::new(
        task.task_id.to_string(),
        SocketAddr::new(host, port),
    ))
}

/// Whether a task may receive traffic: RUNNING, wanted, and its containers not failing
/// their health checks (HEALTHY where they have one).
fn ready(task: &Task, has_check: bool) -> bool {
    task.last_status == TaskStatus::Running
        && task.desired_status == TaskStatus::Running
        && if has_check {
            task.health_status == HealthStatus::Healthy
        } else {
            task.health_status != HealthStatus::Unhealthy
        }
}

/// Registers ready tasks, deregisters those that went away on their own, and refreshes
/// target health. Returns whether some registered target is not healthy yet (poll
/// again soon).
pub(crate) async fn sync(
    ops: &Ops,
    key: &ServiceKey,
    me: &Arc<Notify>,
    memory: &mut LbMemory,
) -> bool {
    // What should be registered, from the state as it is.
    let (links, wanted) = {
        let s = ops.state.lock();
        let Some(entry) = s.services.get(key).filter(|e| Arc::ptr_eq(&e.wake, me)) else {
            return false;
        };
        let links = links_of(&s, &entry.service);
        let cluster = s.clusters.get(&key.0);
        let mut wanted: HashMap<TaskId, Vec<Target>> = HashMap::new();
        for id in &entry.tasks {
            let Some(task) = s.tasks.get(id).map(|e| &e.task) else {
                continue;
            };
            if memory.draining.contains(id) {
                continue;
            }
            let has_check = s
                .registry
                .describe(&task.task_definition)
                .is_ok_and(|td| td.has_essential_health_check());
            if !ready(task, has_check) {
                continue;
            }
            let host = cluster
                .and_then(|c| c.cluster.instance(task.container_instance.as_ref()?))
                .and_then(|i| i.attribute(HOST_IP_ATTRIBUTE).flatten())
                .and_then(|a| a.parse().ok())
                .unwrap_or(IpAddr::V4(Ipv4Addr::LOCALHOST));
            let targets: Option<Vec<Target>> =
                links.iter().map(|l| target_of(task, l, host)).collect();
            if let Some(targets) = targets {
                wanted.insert(id.clone(), targets);
            }
        }
        (links, wanted)
    };
    if links.is_empty() && memory.registered.is_empty() {
        return false;
    }

    // Tasks gone or no longer ready: out at once (nothing to drain from a dead task, and
    // a failing one should get no more traffic).
    let gone: Vec<(TaskId, Vec<Target>)> = memory
        .registered
        .iter()
        .filter(|(id, _)| !wanted.contains_key(*id) && !memory.draining.contains(*id))
        .map(|(id, t)| (id.clone(), t.clone()))
        .collect();
    for (id, targets) in gone {
        memory.registered.remove(&id);
        memory.healthy.remove(&id);
        memory.unhealthy.remove(&id);
        forget(ops, links.clone(), targets);
    }

    // New ones in, in every link or none: a failure undoes the links that took them,
    // and the next pass tries again.
    let new: Vec<(TaskId, Vec<Target>)> = wanted
        .into_iter()
        .filter(|(id, _)| !memory.registered.contains_key(id))
        .collect();
    if !new.is_empty() {
        for (i, link) in links.iter().enumerate() {
            let targets: Vec<Target> = new.iter().filter_map(|(_, t)| t.get(i).cloned()).collect();
            let failure = match tokio::time::timeout(
                CALL_TIMEOUT,
                link.lb.register_targets(&targets),
            )
            .await
            {
                Ok(Ok(())) => None,
                Ok(Err(e)) => Some(e.to_string()),
                Err(_) => Some(format!("no answer within {CALL_TIMEOUT:?}")),
            };
            if let Some(why) = failure {
                tracing::warn!(lb = %link.lb.name(), error = %why, "registering targets");
                for (_, t) in &new {
                    forget(ops, links[..=i].to_vec(), t[..=i].to_vec());
                }
                return true;
            }
        }
        memory.registered.extend(new);
    }

    // Health, as the load balancers see it.
    let mut states: Vec<HashMap<String, TargetState>> = Vec::new();
    for link in &links {
        match tokio::time::timeout(CALL_TIMEOUT, link.lb.target_health()).await {
            Ok(Ok(h)) => states.push(
                h.into_iter()
                    .map(|t| (t.target.id.clone(), t.state))
                    .collect(),
            ),
            failed => {
                let why = match failed {
                    Ok(Err(e)) => e.to_string(),
                    _ => format!("no answer within {CALL_TIMEOUT:?}"),
                };
                tracing::warn!(lb = %link.lb.name(), error = %why, "reading target health");
                // Unknown health is not healthy: nothing is stopped on its account.
                memory.healthy.clear();
                return true;
            }
        }
    }
    memory.healthy.clear();
    memory.unhealthy.clear();
    let mut pending = false;
    for id in memory.registered.keys() {
        let each: Vec<Option<TargetState>> =
            states.iter().map(|m| m.get(id.as_str()).copied()).collect();
        if each.iter().all(|s| *s == Some(TargetState::Healthy)) {
            memory.healthy.insert(id.clone());
        } else {
            pending = true;
            if each.contains(&Some(TargetState::Unhealthy)) {
                memory.unhealthy.insert(id.clone());
            }
        }
    }
    pending
}

/// The service's load balancers, resolved against the registered target groups.
pub(crate) fn links_of(state: &Tables, service: &Service) -> Vec<Link> {
    service
        .load_balancers
        .iter()
        .filter_map(|lb| {
            let name = lb
                .target_group_arn
                .as_deref()
                .or(lb.load_balancer_name.as_deref())?;
            Some(Link {
                lb: state.target_groups.get(name)?.clone(),
                container: lb.container_name.clone()?,
                port: lb.container_port?,
            })
        })
        .collect()
}

/// Drains a task from the load balancers, then stops it and wakes the controller.
pub(crate) fn drain_then_stop(
    ops: &Arc<Ops>,
    key: ServiceKey,
    links: Vec<Link>,
    task: TaskId,
    targets: Vec<Target>,
    reason: String,
    wake: Arc<Notify>,
) {
    let stopper = ops.clone();
    ops.supervisor.spawn(async move {
        deregister_all(links, targets).await;
        // A task that finished meanwhile needs no stop.
        let _ = stopper.request_stop(&key.0, &task, StopCode::ServiceSchedulerInitiated, &reason);
        wake.notify_one();
    });
}
