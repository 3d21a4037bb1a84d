//! The control plane's state and its one writer.
//!
//! [`State`] holds the tables (task definitions, clusters, tasks, services, scaling
//! settings) behind one lock, hands `Arc` snapshots of tasks to readers, publishes every
//! change on the event bus, wakes the service controller that owns a changed task, and
//! keeps the durable copy in step through the [`journal`]. Agents, runners, controllers
//! and the facade all change the state through it; nothing here knows of them.
//!
//! Below it: the model (tasks, services, clusters), the store and the runtime's types.

mod clock;
pub(crate) mod journal;
pub(crate) mod records;

pub(crate) use clock::Clock;

use std::collections::{BTreeMap, HashSet, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use tokio::sync::{Notify, broadcast, watch};
use tokio::time::Instant;

use crate::Error;
use crate::cluster::Cluster;
use crate::ids::{ClusterName, InstanceId, ServiceName, TaskId};
use crate::registry::TaskDefinitionRegistry;
use crate::runtime::HealthStatus;
use crate::service::{ServiceEntry, ServiceLimits};
use crate::task::{Container, Event, StopCode, Task, TaskStatus};
use crate::task_definition::TaskDefinition;

use journal::Journal;

/// A request to stop a task, from the user or a service.
#[derive(Debug, Clone)]
pub(crate) struct StopRequest {
    pub(crate) code: StopCode,
    pub(crate) reason: String,
}

/// A task, and the signal its runner watches for a stop.
pub(crate) struct TaskEntry {
    pub(crate) task: Arc<Task>,
    pub(crate) stop: watch::Sender<Option<StopRequest>>,
}

impl TaskEntry {
    /// A task whose runner is told to stop at once if it is already asked to.
    pub(crate) fn new(task: Task) -> Self {
        let stop = (task.desired_status == TaskStatus::Stopped).then(|| StopRequest {
            code: task.stop_code.unwrap_or(StopCode::UserInitiated),
            reason: task
                .stopped_reason
                .clone()
                .unwrap_or_else(|| "stopped while the control plane was down".into()),
        });
        Self {
            task: Arc::new(task),
            stop: watch::channel(stop).0,
        }
    }
}

/// A cluster: its instances and what they hold, which of them have a live agent, and
/// its service limits.
pub(crate) struct ClusterEntry {
    pub(crate) cluster: Cluster,
    /// The epoch of each instance's live agent (its registration): an agent whose epoch
    /// is no longer here was deregistered, and stops.
    pub(crate) agents: BTreeMap<InstanceId, u64>,
    /// Since when each disconnected instance's agent has been away.
    pub(crate) disconnected: BTreeMap<InstanceId, Instant>,
    pub(crate) limits: ServiceLimits,
    /// Its tags.
    pub(crate) tags: crate::tags::Tags,
    /// Its settings (`containerInsights`), by name.
    pub(crate) settings: BTreeMap<String, String>,
    /// The capacity providers it may use (PutClusterCapacityProviders).
    pub(crate) capacity_providers: Vec<crate::ids::CapacityProviderName>,
    /// The strategy of launches that name neither a strategy nor a launch type.
    pub(crate) default_strategy: Vec<crate::capacity::CapacityProviderStrategyItem>,
}

impl ClusterEntry {
    pub(crate) fn new(name: ClusterName, limits: ServiceLimits) -> Self {
        Self {
            cluster: Cluster::new(name),
            agents: BTreeMap::new(),
            disconnected: BTreeMap::new(),
            limits,
            tags: crate::tags::Tags::new(),
            settings: BTreeMap::new(),
            capacity_providers: Vec::new(),
            default_strategy: Vec::new(),
        }
    }
}

/// A service's key: its cluster and name.
pub(crate) type ServiceKey = (ClusterName, ServiceName);

/// The tables, as the lock guards them.
#[derive(Default)]
pub(crate) struct Tables {
    pub(crate) registry: TaskDefinitionRegistry,
    pub(crate) clusters: BTreeMap<ClusterName, ClusterEntry>,
    pub(crate) tasks: BTreeMap<TaskId, TaskEntry>,
    pub(crate) services: BTreeMap<ServiceKey, ServiceEntry>,
    pub(crate) scaling: BTreeMap<ServiceKey, crate::autoscaling::ScalingEntry>,
    /// Capacity providers and the tasks waiting for them.
    pub(crate) capacity: crate::capacity::CapacityTables,
    /// Load balancers services can name, by target group name or ARN.
    pub(crate) target_groups: BTreeMap<String, Arc<dyn crate::load_balancer::LoadBalancer>>,
    /// Counts tasks made, mixed into their ids.
    pub(crate) next_task: u64,
    /// Counts agents made: each one's epoch.
    pub(crate) next_agent: u64,
    /// Tasks changed since the durable copy last looked (kept only with a store).
    pub(crate) dirty_tasks: Option<HashSet<TaskId>>,
    /// STOPPED tasks in the order they are to be forgotten, with when.
    pub(crate) stopped: VecDeque<(Instant, TaskId)>,
    /// How long a STOPPED task stays visible.
    pub(crate) stopped_task_ttl: Duration,
}

impl Tables {
    /// The task definition `task` runs: its revision, with the task's overrides applied
    /// (what it was placed by and its containers were made from).
    pub(crate) fn definition_of(
        &self,
        task: &Task,
    ) -> Result<std::borrow::Cow<'_, TaskDefinition>, Error> {
        let td = self.registry.describe(&task.task_definition)?;
        if task.overrides.changes_nothing() {
            return Ok(std::borrow::Cow::Borrowed(td));
        }
        // Checked when the task was run: loaded as it was, whatever the rules now say.
        Ok(std::borrow::Cow::Owned(task.overrides.merged(td)))
    }

    /// Notes that a task changed, for the durable copy.
    pub(crate) fn task_changed(&mut self, id: &TaskId) {
        if let Some(dirty) = &mut self.dirty_tasks {
            dirty.insert(id.clone());
        }
    }

    /// The controller to wake when `task` changes, if a service owns it.
    fn service_of(&self, task: &Task) -> Option<Arc<Notify>> {
        self.service_entry(task).map(|e| e.wake.clone())
    }

    /// The service that owns `task`, if one does.
    fn service_entry(&self, task: &Task) -> Option<&ServiceEntry> {
        // On every task change: nothing to parse or look up without services.
        if self.services.is_empty() {
            return None;
        }
        let name = task.group.service()?;
        self.services.get(&(task.cluster.clone(), name.clone()))
    }

    /// The controllers of every service of `cluster`.
    pub(crate) fn services_of(&self, cluster: &ClusterName) -> Vec<Arc<Notify>> {
        self.services
            .iter()
            .filter(|((c, _), _)| c == cluster)
            .map(|(_, e)| e.wake.clone())
            .collect()
    }

    /// Forgets the tasks whose time to be forgotten has come at `now` (the durable copy
    /// follows). Returns how many. A task its service's controller has not yet seen
    /// STOPPED waits for it (a minute more at a time): its failure must count.
    pub(crate) fn forget_stopped(&mut self, now: Instant) -> usize {
        let mut forgotten = 0;
        let mut later = Vec::new();
        while let Some((at, _)) = self.stopped.front() {
            if *at > now {
                break;
            }
            let Some((_, id)) = self.stopped.pop_front() else {
                break;
            };
            let Some(task) = self.tasks.get(&id).map(|e| e.task.clone()) else {
                continue;
            };
            if task.last_status != TaskStatus::Stopped {
                continue;
            }
            if self.service_holds(&task) {
                later.push((now + Duration::from_secs(60), id));
                continue;
            }
            self.tasks.remove(&id);
            self.task_changed(&id);
            forgotten += 1;
        }
        // In order of their time, as the queue is kept.
        for (at, id) in later {
            let i = self.stopped.partition_point(|(d, _)| *d <= at);
            self.stopped.insert(i, (at, id));
        }
        forgotten
    }

    /// Whether `task`'s service still counts it among its tasks.
    fn service_holds(&self, task: &Task) -> bool {
        self.service_entry(task)
            .is_some_and(|e| e.tasks.contains(&task.task_id))
    }

    /// Whether the agent of `instance` with `epoch` is still its instance's (not
    /// deregistered, nor replaced by a later registration).
    pub(crate) fn agent_current(
        &self,
        cluster: &ClusterName,
        instance: &InstanceId,
        epoch: u64,
    ) -> bool {
        self.clusters
            .get(cluster)
            .and_then(|c| c.agents.get(instance))
            .is_some_and(|e| *e == epoch)
    }
}

/// The one writer of the control plane's state.
pub(crate) struct State {
    tables: Mutex<Tables>,
    clock: Clock,
    events: broadcast::Sender<Event>,
    /// The durable copy of the state, when the control plane has one.
    journal: Option<Arc<Journal>>,
    /// Wakes the capacity loop: a task waits for capacity, an instance changed, a task
    /// stopped (room freed).
    pub(crate) capacity_wake: Notify,
}

impl State {
    pub(crate) fn new(tables: Tables, journal: Option<Arc<Journal>>, clock: Clock) -> Self {
        let (events, _) = broadcast::channel(16_384);
        let tables = Tables {
            dirty_tasks: journal.as_ref().map(|_| HashSet::new()),
            ..tables
        };
        Self {
            tables: Mutex::new(tables),
            clock,
            events,
            journal,
            capacity_wake: Notify::new(),
        }
    }

    /// The tables, locked. Whoever changes them publishes (or [`touched`](Self::touched)s)
    /// what changed.
    pub(crate) fn lock(&self) -> MutexGuard<'_, Tables> {
        self.tables.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The time now, on the control plane's clock (which every timestamp it records
    /// reads).
    pub(crate) fn now(&self) -> jiff::Timestamp {
        self.clock.now()
    }

    /// The control plane's clock.
    pub(crate) fn clock(&self) -> &Clock {
        &self.clock
    }

    /// The journal, when the state has a durable copy.
    pub(crate) fn journal(&self) -> Option<&Arc<Journal>> {
        self.journal.as_ref()
    }

    /// Task, instance, service and scaling events, from now on.
    pub(crate) fn subscribe(&self) -> broadcast::Receiver<Event> {
        self.events.subscribe()
    }

    pub(crate) fn publish(&self, event: Event) {
        // Every change is published: the durable copy follows.
        self.touched();
        // Nobody listening is fine.
        let _ = self.events.send(event);
    }

    /// A change no event tells of was made: the durable copy follows.
    pub(crate) fn touched(&self) {
        if let Some(j) = &self.journal {
            j.poke();
        }
    }

    /// Returns once every change made before the call is durable (at once without a
    /// store). Errs if it never will be: another control plane took the store over, or
    /// this one was stopped.
    pub(crate) async fn barrier(&self) -> Result<(), Error> {
        match &self.journal {
            Some(j) => j.barrier().await,
            None => Ok(()),
        }
    }

    /// Whether this control plane may still act on an engine: `Err` once its store was
    /// taken over or its leadership lost (asked of the store, locally, without a
    /// round trip). Checked right before every container is created, started, stopped
    /// or removed, since a barrier passed earlier may be long ago (an image pull, a
    /// dependency's wait, a process frozen in between).
    pub(crate) fn check_fence(&self) -> Result<(), Error> {
        match &self.journal {
            Some(j) => j.check_fence(),
            None => Ok(()),
        }
    }

    /// Changes a task and publishes the change. (`change` may run more than once: see
    /// [`change_task`](Self::change_task).)
    pub(crate) fn update_task(&self, id: &TaskId, mut change: impl FnMut(&mut Task)) {
        self.change_task(id, None, |t| {
            change(t);
            true
        });
    }

    /// Changes one container of a task and publishes the change.
    pub(crate) fn update_container(
        &self,
        id: &TaskId,
        name: &str,
        mut change: impl FnMut(&mut Container),
    ) {
        self.change_task(id, Some(name), |t| {
            match t.containers.iter_mut().find(|c| c.name == name) {
                Some(c) => {
                    change(c);
                    true
                }
                None => false,
            }
        });
    }

    /// Changes a task (through `change`, which says whether it found what to change),
    /// notes it for the journal, publishes it (as a container's change when `container`
    /// names one) and wakes its service's controller.
    ///
    /// The change is made on a copy outside the lock, and installed only if the task is
    /// still the one copied (else made again on the newer one): a task is cloned and
    /// compared whole, and under the one lock every runner and controller takes, doing
    /// that inside made the lock the bottleneck of a burst of stops.
    fn change_task(
        &self,
        id: &TaskId,
        container: Option<&str>,
        mut change: impl FnMut(&mut Task) -> bool,
    ) {
        loop {
            let Some(current) = self.lock().tasks.get(id).map(|e| e.task.clone()) else {
                return;
            };
            let mut task = (*current).clone();
            if !change(&mut task) || task.same_as(&current) {
                return;
            }
            let stopped_now = current.last_status != TaskStatus::Stopped
                && task.last_status == TaskStatus::Stopped;
            // When it became HEALTHY, kept: the controllers' stability window counts
            // from there, across a restart too.
            if task.health_status != HealthStatus::Healthy {
                task.healthy_at = None;
            } else if current.health_status != HealthStatus::Healthy {
                task.healthy_at = Some(self.clock.now());
            }
            task.version += 1;
            let task = Arc::new(task);
            let wake = {
                let mut s = self.lock();
                let Some(entry) = s.tasks.get_mut(id) else {
                    return;
                };
                if !Arc::ptr_eq(&entry.task, &current) {
                    // Changed meanwhile: again, on what it is now.
                    continue;
                }
                entry.task = task.clone();
                s.task_changed(id);
                // (A TTL too long to count in is forever.)
                if stopped_now && let Some(at) = Instant::now().checked_add(s.stopped_task_ttl) {
                    s.stopped.push_back((at, id.clone()));
                }
                s.service_of(&task)
            };
            self.publish(match container {
                Some(name) => Event::ContainerStateChange {
                    task,
                    container: name.to_owned(),
                },
                None => Event::TaskStateChange(task),
            });
            if let Some(w) = wake {
                w.notify_one();
            }
            return;
        }
    }

    /// The task is STOPPED: its resources go back to the cluster at once.
    pub(crate) fn task_stopped(&self, id: &TaskId) {
        let now = self.now();
        {
            let mut s = self.lock();
            let Some(entry) = s.tasks.get(id) else { return };
            let (cluster, allocation) = (entry.task.cluster.clone(), entry.task.allocation);
            // A task that waited for capacity held nothing.
            if let (Some(c), Some(allocation)) = (s.clusters.get_mut(&cluster), allocation) {
                // Already released (instance deregistered): nothing held any more.
                let _ = c.cluster.release(allocation);
            }
        }
        self.update_task(id, |t| {
            t.last_status = TaskStatus::Stopped;
            t.stopped_at = Some(now);
        });
        self.capacity_wake.notify_one();
    }

    /// Forgets the tasks STOPPED for their TTL or longer.
    pub(crate) fn forget_stopped(&self) -> usize {
        let forgotten = self.lock().forget_stopped(Instant::now());
        if forgotten > 0 {
            self.touched();
        }
        forgotten
    }

    /// Whether the agent of `instance` with `epoch` is still its instance's.
    pub(crate) fn agent_current(
        &self,
        cluster: &ClusterName,
        instance: &InstanceId,
        epoch: u64,
    ) -> bool {
        self.lock().agent_current(cluster, instance, epoch)
    }

    /// Records whether the engine of the agent of `instance` with `epoch` answers.
    /// Returns false when that agent is no longer its instance's (deregistered), so
    /// that it stops.
    pub(crate) fn set_agent_connected(
        &self,
        cluster: &ClusterName,
        instance: &InstanceId,
        epoch: u64,
        connected: bool,
    ) -> bool {
        let wake = {
            let mut s = self.lock();
            if !s.agent_current(cluster, instance, epoch) {
                return false;
            }
            let Some(c) = s.clusters.get_mut(cluster) else {
                return false;
            };
            if c.cluster.set_agent_connected(instance, connected).is_err() {
                return false;
            }
            let changed = if connected {
                c.disconnected.remove(instance).is_some()
            } else {
                !c.disconnected.contains_key(instance)
                    && c.disconnected
                        .insert(instance.clone(), Instant::now())
                        .is_none()
            };
            if !changed {
                return true;
            }
            s.services_of(cluster)
        };
        self.publish(Event::InstanceStateChange {
            cluster: cluster.clone(),
            instance: instance.clone(),
        });
        for w in wake {
            w.notify_one();
        }
        true
    }

    /// Publishes instance changes and wakes the cluster's services.
    pub(crate) fn instances_changed(&self, cluster: &ClusterName, instances: &[InstanceId]) {
        self.capacity_wake.notify_one();
        let wake = self.lock().services_of(cluster);
        for i in instances {
            self.publish(Event::InstanceStateChange {
                cluster: cluster.clone(),
                instance: i.clone(),
            });
        }
        for w in wake {
            w.notify_one();
        }
    }
}
