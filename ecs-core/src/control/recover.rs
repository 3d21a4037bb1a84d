//! A control plane with a durable store ([`Ecs::open`]), and its recovery after a restart
//! or a crash: the state reloaded, then each instance's containers reconciled with it
//! when the program registers the instance again.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use tokio::sync::{Notify, watch};
use tokio::time::Instant;

use super::{Ecs, EcsConfig, OrphanPolicy};
use crate::agent::Agent;
use crate::agent::runner::Runner;
use crate::cluster::InstanceRegistration;
use crate::ids::{ClusterName, InstanceId, ServiceName, TaskGroup, TaskId};
use crate::ops::{NewTask, new_task, task_context};
use crate::placement::TaskRequirements;
use crate::runtime::{ContainerId, ContainerInfo, ContainerRuntime, labels};
use crate::service::{ServiceEntry, ServiceStatus};
use crate::state::journal::{self, Journal, Written};
use crate::state::records::{
    ClusterRecord, InstanceRecord, ScalingRecord, ServiceRecord, decode, scoped_key,
};
use crate::state::{ClusterEntry, ServiceKey, Tables, TaskEntry};
use crate::store::{Kind, Record, Store};
use crate::task::{ContainerStatus, StopCode, Task, TaskStatus};
use crate::task_definition::TaskDefinition;
use crate::{Error, ResourceKind};

/// What recovery found on one instance when it was registered again.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct RecoveryReport {
    /// The instance's cluster.
    pub cluster: Option<ClusterName>,
    /// The instance.
    pub instance: Option<InstanceId>,
    /// Tasks whose containers were all running: taken over, same containers.
    pub adopted: Vec<TaskId>,
    /// Tasks whose containers were found but that are stopping: a stop had been asked
    /// for, an essential container had exited, or the restart caught them starting.
    pub stopping: Vec<TaskId>,
    /// Tasks recorded but never started on the engine: started now.
    pub resumed: Vec<TaskId>,
    /// Tasks whose containers had gone from the engine while the control plane was
    /// down: STOPPED (a service replaces its own).
    pub vanished: Vec<TaskId>,
    /// Containers of no known task, and what was done with them ([`OrphanPolicy`]);
    /// those adopted are also in `adopted`, as tasks.
    pub orphans: Vec<ContainerId>,
    /// Containers of tasks the store has STOPPED: stopped and removed.
    pub stale: Vec<ContainerId>,
}

/// Every record of the store, read back.
struct Loaded {
    clusters: Vec<(Record, ClusterRecord)>,
    instances: Vec<(Record, InstanceRecord)>,
    definitions: Vec<(Record, TaskDefinition)>,
    services: Vec<(Record, ServiceRecord)>,
    scaling: Vec<(Record, ScalingRecord)>,
    capacity_providers: Vec<(Record, crate::capacity::CapacityProvider)>,
    tasks: Vec<(Record, Task)>,
}

async fn read<T: serde::de::DeserializeOwned>(
    store: &dyn Store,
    kind: Kind,
) -> Result<Vec<(Record, T)>, Error> {
    store
        .load(kind)
        .await?
        .into_iter()
        .map(|r| {
            let value = decode(kind, &r.key, &r.value)?;
            Ok((r, value))
        })
        .collect()
}

impl Loaded {
    /// The newest time the state holds: a task's or a service's last change.
    fn newest(&self) -> Option<jiff::Timestamp> {
        let tasks = self.tasks.iter().flat_map(|(_, t)| {
            [
                Some(t.created_at),
                t.started_at,
                t.healthy_at,
                t.stopping_at,
                t.stopped_at,
            ]
            .into_iter()
            .flatten()
        });
        let services = self.services.iter().flat_map(|(_, r)| {
            let s = &r.service;
            s.deployments
                .iter()
                .map(|d| d.updated_at)
                .chain(s.events.iter().map(|e| e.created_at))
        });
        tasks.chain(services).max()
    }

    async fn read(store: &dyn Store) -> Result<Self, Error> {
        let definitions = store
            .load(Kind::TaskDefinition)
            .await?
            .into_iter()
            .map(|r| {
                let text = std::str::from_utf8(&r.value).map_err(|e| Error::Store {
                    path: None,
                    reason: format!("task_definition record {:?}: {e}", r.key),
                })?;
                let td = TaskDefinition::from_json(text)
                    .map_err(|e| Error::Store {
                        path: None,
                        reason: format!("task_definition record {:?} does not read: {e}", r.key),
                    })?
                    .definition;
                Ok((r, td))
            })
            .collect::<Result<_, Error>>()?;
        Ok(Self {
            clusters: read(store, Kind::Cluster).await?,
            instances: read(store, Kind::Instance).await?,
            definitions,
            services: read(store, Kind::Service).await?,
            scaling: read(store, Kind::Scaling).await?,
            capacity_providers: read(store, Kind::CapacityProvider).await?,
            tasks: read(store, Kind::Task).await?,
        })
    }
}

impl Ecs {
    /// A control plane whose state lives in `store` as well as in memory: task
    /// definitions, clusters and their instances, services with their deployments, and
    /// tasks with their desired and last status. A store that holds state (after a
    /// restart, or a crash) gives it back:
    ///
    /// - Instances come back DISCONNECTED, holding their tasks' resources, until the
    ///   program registers each again ([`Ecs::register_container_instance`], same cluster and id,
    ///   with its runtime). Then their containers (found by this library's labels) are
    ///   reconciled with the tasks: running ones are adopted, same containers; those of
    ///   tasks asked to stop are stopped; tasks recorded but never started are started;
    ///   tasks whose containers vanished meanwhile are STOPPED with the reason; others'
    ///   containers are [orphans](OrphanPolicy). See [`Ecs::recovery_reports`].
    /// - Services resume: an instance that is not registered again within
    ///   [`EcsConfig::instance_lost_timeout`] is lost, and its service tasks are
    ///   replaced elsewhere.
    ///
    /// Changes are written behind, in order, each picture of the state in one
    /// transaction; nothing acts on an engine before its intent is durable (a task's
    /// containers are created only once the task is written, and stopped only once the
    /// stop is), so a crash never loses an action's intent nor repeats it.
    /// [`Ecs::flush`] waits until everything asked so far is durable.
    ///
    /// Two control planes must not share a store: the second one's first write
    /// conflicts with the first's, and it stops acting (its store error says so).
    /// Must be called within a Tokio runtime.
    pub async fn open(config: EcsConfig, store: Arc<dyn Store>) -> Result<Ecs, Error> {
        super::needs_runtime("Ecs::open")?;
        let loaded = Loaded::read(store.as_ref()).await?;
        let floor = loaded.newest();
        let ecs = Ecs::build(config, Some(Arc::new(Journal::new(store))), floor);
        let (written, services) = ecs.restore(loaded)?;
        ecs.ops()
            .supervisor
            .spawn(journal::run(ecs.state().clone(), written));
        for (key, wake) in services {
            ecs.plane.controllers.start_service(key, wake);
        }
        // Restored stopped tasks are forgotten in time even before any instance is back.
        ecs.plane.controllers.start_retention();
        let scalable = !ecs.state().lock().scaling.is_empty();
        if scalable {
            ecs.plane.controllers.start_scaler();
        }
        // Waiting tasks time out, and groups are scaled once registered again.
        let capacity = !ecs.state().lock().capacity.providers.is_empty();
        if capacity {
            ecs.plane.controllers.start_capacity();
        }
        Ok(ecs)
    }

    /// Returns once every change made so far is durable in the store (at once without
    /// one). Errs if it never will be: the store was written by another control plane.
    pub async fn flush(&self) -> Result<(), Error> {
        self.state().barrier().await
    }

    /// Stops this control plane cleanly: waits until every change made so far is
    /// durable (as [`flush`](Self::flush) does: a store that keeps failing keeps it
    /// waiting; bound it with a timeout if need be, which drops this handle), then ends
    /// its loops (agents, runners, controllers, the persister) and lets its store go,
    /// as dropping the last handle does; returns once they have all ended. Containers
    /// keep running, for a control plane opened on the store to adopt. Errs, after
    /// stopping all the same, if the changes can never be made durable (the store was
    /// taken over). Other clones of this handle see a stopped control plane: nothing
    /// they ask is acted on any more, and their `flush` errs.
    pub async fn shutdown(self) -> Result<(), Error> {
        let flushed = self.flush().await;
        self.stop("the control plane was shut down").await;
        flushed
    }

    /// Ends every loop of this control plane where it is, as a crash would (agents,
    /// runners, service controllers, the persister), and returns once they have all
    /// ended. Nothing more is done or written; containers keep running; the store is
    /// let go, for a control plane opened on it, which recovers them. (For handing over
    /// to another process, and crash tests.)
    pub async fn halt(&self) {
        self.stop("the control plane was halted").await;
    }

    async fn stop(&self, why: &str) {
        // Cancelled and let go at once: waiters (`flush`) are told even if this future
        // is dropped before the loops have all ended.
        self.ops().supervisor.cancel();
        if let Some(j) = self.state().journal() {
            j.release(why);
        }
        self.ops().supervisor.ended().await;
    }

    /// What recovery found on each instance registered again since [`Ecs::open`].
    pub fn recovery_reports(&self) -> Vec<RecoveryReport> {
        self.plane
            .recoveries
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// Puts the loaded state in place; returns what the persister starts from and the
    /// services whose controllers to start.
    #[allow(clippy::type_complexity)]
    fn restore(&self, loaded: Loaded) -> Result<(Written, Vec<(ServiceKey, Arc<Notify>)>), Error> {
        let mut written = Written::default();
        let now = self.state().now();
        let mut s = self.state().lock();
        let mut definitions = loaded.definitions;
        definitions.sort_by_key(|(_, td)| (td.family().to_owned(), td.revision));
        for (r, td) in definitions {
            written.set_version(Kind::TaskDefinition, r.key.clone(), r.version);
            written.definitions.insert(r.key, td.clone());
            s.registry.restore(td)?;
        }
        written.registry = s.registry.generation();
        for (r, c) in loaded.clusters {
            let mut entry = ClusterEntry::new(c.cluster_name.clone(), c.limits);
            entry.tags = c.tags.clone();
            entry.settings = c.settings.clone();
            entry.capacity_providers = c.capacity_providers.clone();
            entry.default_strategy = c.default_capacity_provider_strategy.clone();
            s.clusters.insert(c.cluster_name.clone(), entry);
            written.set_version(Kind::Cluster, r.key.clone(), r.version);
            written.clusters.insert(r.key, c);
        }
        for (r, p) in loaded.capacity_providers {
            // The cluster that lists it, if one does.
            let cluster = s
                .clusters
                .iter()
                .find(|(_, c)| c.capacity_providers.contains(&p.name))
                .map(|(n, _)| n.clone());
            s.capacity.providers.insert(
                p.name.clone(),
                crate::capacity::CapacityProviderEntry {
                    provider: p.clone(),
                    cluster,
                },
            );
            written.set_version(Kind::CapacityProvider, r.key.clone(), r.version);
            written.capacity_providers.insert(r.key, p);
        }
        for (r, i) in loaded.instances {
            let c = s
                .clusters
                .get_mut(&i.cluster)
                .ok_or_else(|| dangling(Kind::Instance, &r.key, "cluster", &i.cluster))?;
            let mut registration = InstanceRegistration::new(i.id.clone(), i.registered_resources)
                .with_registered_at(i.registered_at);
            registration.attributes = i.attributes.clone();
            // Set again from the id.
            registration
                .attributes
                .remove(crate::cluster::attributes::INSTANCE_ID);
            registration.agent_version = i.agent_version.clone();
            c.cluster.register_instance(registration)?;
            c.cluster.set_status(&i.id, i.status)?;
            c.cluster.set_tags(&i.id, i.tags.clone())?;
            // No agent until the program registers the instance again.
            c.cluster.set_agent_connected(&i.id, false)?;
            c.disconnected.insert(i.id.clone(), Instant::now());
            written.set_version(Kind::Instance, r.key.clone(), r.version);
            written.instances.insert(r.key, i);
        }
        for (r, mut task) in loaded.tasks {
            written.set_version(Kind::Task, r.key, r.version);
            // As stored: a change below is then written back.
            written.tasks.insert(task.task_id.clone(), task.version);
            let Some(instance) = task.container_instance.clone() else {
                // It waited for capacity: it waits again (or stops, if asked to).
                wait_again(&mut s, task, now);
                continue;
            };
            let deregistered = s
                .clusters
                .get(&task.cluster)
                .is_some_and(|c| c.cluster.instance(&instance).is_none());
            if task.last_status != TaskStatus::Stopped && deregistered {
                // Its instance was deregistered (forced) and the crash came before the
                // task was seen STOPPED: nothing of it can be reached any more.
                stopped_with_instance(&mut task, now);
                s.task_changed(&task.task_id);
            } else if task.last_status != TaskStatus::Stopped {
                task.allocation = Some(reserve(&mut s, &task)?);
            }
            s.tasks.insert(task.task_id.clone(), TaskEntry::new(task));
        }
        // Stopped tasks are forgotten when they would have been without the restart: their
        // age is the wall clock's since they stopped.
        let (instant, wall) = (Instant::now(), now.as_millisecond());
        let ttl = s.stopped_task_ttl;
        let mut stopped: Vec<(Instant, TaskId)> = s
            .tasks
            .values()
            .filter(|e| e.task.last_status == TaskStatus::Stopped)
            .filter_map(|e| {
                let since = e.task.stopped_at.map_or(wall, |t| t.as_millisecond());
                let age = std::time::Duration::from_millis(
                    u64::try_from(wall.saturating_sub(since)).unwrap_or(0),
                );
                Some((
                    instant.checked_add(ttl.saturating_sub(age))?,
                    e.task.task_id.clone(),
                ))
            })
            .collect();
        stopped.sort();
        s.stopped.extend(stopped);
        // Each service's live tasks, in one pass over the tasks.
        let mut by_service: BTreeMap<(ClusterName, ServiceName), BTreeSet<TaskId>> =
            BTreeMap::new();
        for t in s.tasks.values().map(|e| &e.task) {
            if let Some(service) = t.group.service()
                && t.last_status != TaskStatus::Stopped
            {
                by_service
                    .entry((t.cluster.clone(), service.clone()))
                    .or_default()
                    .insert(t.task_id.clone());
            }
        }
        let mut controllers = Vec::new();
        for (r, record) in loaded.services {
            let key = (
                record.service.cluster.clone(),
                record.service.service_name.clone(),
            );
            let tasks = by_service.remove(&key).unwrap_or_default();
            let wake = Arc::new(Notify::new());
            if record.service.status != ServiceStatus::Inactive {
                controllers.push((key.clone(), wake.clone()));
            }
            s.services.insert(
                key.clone(),
                ServiceEntry {
                    service: record.service.clone(),
                    tasks,
                    wake,
                    changed: watch::channel(0).0,
                    last_completed: record.last_completed.clone(),
                    last_completed_connect: record.last_completed_connect.clone(),
                    breaker: record.breaker.clone(),
                },
            );
            written.set_version(Kind::Service, r.key.clone(), r.version);
            written
                .services
                .insert(scoped_key(&key.0, key.1.as_str()), record);
        }
        for (r, record) in loaded.scaling {
            s.scaling.insert(
                (record.cluster.clone(), record.service_name.clone()),
                crate::autoscaling::ScalingEntry {
                    target: record.target,
                    policies: record
                        .policies
                        .iter()
                        .map(|p| (p.clone(), Default::default()))
                        .collect(),
                    activities: record.activities.iter().cloned().collect(),
                },
            );
            written.set_version(Kind::Scaling, r.key.clone(), r.version);
            written.scaling.insert(r.key, record);
        }
        Ok((written, controllers))
    }

    /// An instance known from the store registered again: the agent takes its place,
    /// and its containers are reconciled with the tasks the store recorded on it.
    pub(crate) async fn reattach(
        &self,
        cluster: &ClusterName,
        id: &InstanceId,
        runtime: Arc<dyn ContainerRuntime>,
        extra: BTreeMap<String, String>,
    ) -> Result<(), Error> {
        // What the engine holds for this cluster, before anything of ours runs on it.
        let found = runtime
            .list_containers(&BTreeMap::from([(
                labels::CLUSTER.to_owned(),
                cluster.to_string(),
            )]))
            .await
            .map_err(|e| Error::Runtime {
                instance: id.to_string(),
                error: e,
            })?;
        // Where its new tasks' containers reach the metadata endpoint. (Containers
        // adopted keep the address they were created with: the same only with a fixed
        // `EcsConfig::metadata_port`.)
        let network = runtime
            .describe_host()
            .await
            .ok()
            .and_then(|h| h.container_network);
        let metadata = self.metadata_access(network).await?;
        let mut report = RecoveryReport {
            cluster: Some(cluster.clone()),
            instance: Some(id.clone()),
            ..RecoveryReport::default()
        };
        let mut runners = Vec::new();
        let mut orphans = Vec::new();
        let mut remove = Vec::new();
        let now = self.state().now();
        let agent = {
            let mut s = self.state().lock();
            // Checked again under the lock: the engine was asked without it.
            let c = s
                .clusters
                .get_mut(cluster)
                .ok_or_else(|| Error::not_found(ResourceKind::Cluster, cluster))?;
            if c.cluster.instance(id).is_none() {
                return Err(Error::not_found_in(
                    ResourceKind::ContainerInstance,
                    id,
                    cluster,
                ));
            }
            if c.agents.contains_key(id) {
                return Err(Error::InvalidId {
                    kind: "container instance",
                    value: id.to_string(),
                    reason: "registered already".into(),
                });
            }
            if !extra.is_empty() {
                c.cluster
                    .put_attributes(id, extra.into_iter().map(|(k, v)| (k, Some(v))))?;
            }
            c.cluster
                .refresh_capabilities(id, &runtime.capabilities().attributes())?;
            // Nothing fails from here on.
            s.next_agent += 1;
            let epoch = s.next_agent;
            if let Some(c) = s.clusters.get_mut(cluster) {
                c.agents.insert(id.clone(), epoch);
            }
            let agent = Arc::new(Agent::new(
                cluster.clone(),
                id.clone(),
                epoch,
                runtime.clone(),
                metadata,
            ));
            self.ops().fleet.insert(agent.clone());
            let by_task = group_by_task(&found);
            let policy = self.config().orphans;
            for (task_id, (arn, containers)) in &by_task {
                let ids = containers.iter().map(|c| c.id.clone());
                match s.tasks.get(task_id).map(|e| e.task.last_status) {
                    Some(TaskStatus::Stopped) => {
                        report.stale.extend(ids.clone());
                        remove.extend(ids);
                    }
                    Some(_) => {}
                    None => {
                        orphans.extend(ids.clone());
                        // An adopted one is reconciled below with the instance's tasks.
                        let adopted = policy == OrphanPolicy::Adopt
                            && adopt_orphan(&mut s, cluster, id, task_id, arn, containers, now);
                        if !adopted && policy != OrphanPolicy::Keep {
                            remove.extend(ids);
                        }
                    }
                }
            }
            let mine: Vec<Arc<Task>> = s
                .tasks
                .values()
                .filter(|e| {
                    e.task.cluster == *cluster
                        && e.task.container_instance.as_ref() == Some(id)
                        && e.task.last_status != TaskStatus::Stopped
                })
                .map(|e| e.task.clone())
                .collect();
            for task in mine {
                let containers = by_task
                    .get(&task.task_id)
                    .map(|(_, c)| c.clone())
                    .unwrap_or_default();
                let never_created = task.containers.iter().all(|c| c.runtime_id.is_none())
                    && task.started_at.is_none();
                // (Its definition is there: `open` checked every live task's.)
                let (Some(entry), Ok(td)) = (s.tasks.get(&task.task_id), s.definition_of(&task))
                else {
                    continue;
                };
                if containers.is_empty() && !never_created {
                    report.vanished.push(task.task_id.clone());
                    continue;
                }
                let runner = Runner::new(
                    self.state().clone(),
                    agent.clone(),
                    task.task_id.clone(),
                    &td,
                    &task_context(&task),
                    entry.stop.subscribe(),
                    self.config(),
                );
                if containers.is_empty() {
                    report.resumed.push(task.task_id.clone());
                    runners.push((runner, None));
                } else {
                    runners.push((runner, Some(containers)));
                }
            }
            agent
        };
        for task in &report.vanished {
            self.vanished(task);
        }
        for (mut runner, containers) in runners {
            match containers {
                None => self.ops().supervisor.spawn(runner.run()),
                Some(containers) => {
                    runner.adopt(&containers);
                    let stopping = runner.adopted_stop().is_some();
                    let task = runner.task_id().clone();
                    if stopping {
                        report.stopping.push(task);
                    } else {
                        report.adopted.push(task);
                    }
                    self.ops().supervisor.spawn(runner.run_adopted());
                }
            }
        }
        // Every container this library creates belongs to a task written to the store
        // first (runners wait for that): one without a live task there is nobody's.
        for container in remove {
            tracing::warn!(%cluster, instance = %id, container = %container.0, "recovery: a container of no live task: removing it");
            let (rt, state) = (runtime.clone(), self.state().clone());
            self.ops().supervisor.spawn(async move {
                if state.check_fence().is_err() {
                    return;
                }
                let _ = rt
                    .stop_container(&container, std::time::Duration::from_secs(10))
                    .await;
                if state.check_fence().is_err() {
                    return;
                }
                let _ = rt.remove_container(&container).await;
            });
        }
        report.orphans = orphans;
        self.start_agent(agent);
        self.plane
            .recoveries
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(report);
        self.state()
            .instances_changed(cluster, std::slice::from_ref(id));
        Ok(())
    }

    /// A task whose containers went while the control plane was down: STOPPED.
    fn vanished(&self, id: &TaskId) {
        let now = self.state().now();
        self.state().update_task(id, |t| {
            let started = t.started_at.is_some();
            t.desired_status = TaskStatus::Stopped;
            t.stopping_at.get_or_insert(now);
            t.stop_code.get_or_insert(if started {
                StopCode::EssentialContainerExited
            } else {
                StopCode::TaskFailedToStart
            });
            // A stop asked for before keeps its reason.
            t.stopped_reason.get_or_insert_with(|| {
                "Task stopped while the control plane was down: its containers are gone from the instance"
                    .into()
            });
            for c in &mut t.containers {
                c.last_status = ContainerStatus::Stopped;
            }
        });
        self.state().task_stopped(id);
    }
}

/// Records the task an orphan's labels describe, on `instance`, if they name a task
/// definition revision the store holds (`task_id` is no known task: the caller checked).
fn adopt_orphan(
    s: &mut Tables,
    cluster: &ClusterName,
    instance: &InstanceId,
    task_id: &TaskId,
    arn: &str,
    containers: &[ContainerInfo],
    now: jiff::Timestamp,
) -> bool {
    let made = (|| {
        let labels = &containers.first()?.labels;
        if labels.get(labels::CLUSTER)? != cluster.as_str() {
            return None;
        }
        let reference = crate::ids::TaskDefinitionRef::new(
            labels.get(labels::TASK_DEFINITION_FAMILY)?.parse().ok()?,
            crate::ids::Revision::new(labels.get(labels::TASK_DEFINITION_VERSION)?.parse().ok()?)
                .ok()?,
        );
        let td = s.registry.describe(&reference).ok()?.clone();
        let group = match labels.get(labels::TASK_GROUP) {
            Some(g) => g.parse().ok()?,
            None => TaskGroup::Family(td.family().parse().ok()?),
        };
        let mut task = new_task(
            &td,
            NewTask {
                task_arn: arn.parse().ok()?,
                task_id: task_id.clone(),
                cluster: cluster.clone(),
                instance: Some(instance.clone()),
                capacity_provider: None,
                started_by: deployment_for(s, cluster, &group, &reference),
                overrides: Default::default(),
                enable_execute_command: false,
                tags: Default::default(),
                service_connect: None,
                group,
                allocation: None,
                created_at: now,
            },
        )
        .ok()?;
        task.allocation = Some(reserve(s, &task).ok()?);
        Some(task)
    })();
    let Some(task) = made else {
        return false;
    };
    if let Some(service) = task.group.service()
        && let Some(e) = s.services.get_mut(&(cluster.clone(), service.clone()))
    {
        e.tasks.insert(task.task_id.clone());
    }
    s.task_changed(&task.task_id);
    s.tasks.insert(task.task_id.clone(), TaskEntry::new(task));
    true
}

/// The library's containers by their task: its id (the ARN's last part, so that a
/// change of the ARNs' region or account loses nothing), its ARN, its containers.
#[allow(clippy::type_complexity)]
fn group_by_task(found: &[ContainerInfo]) -> BTreeMap<TaskId, (String, Vec<ContainerInfo>)> {
    let mut out: BTreeMap<TaskId, (String, Vec<ContainerInfo>)> = BTreeMap::new();
    for c in found {
        let Some(arn) = c.labels.get(labels::TASK_ARN) else {
            continue;
        };
        let Some(id) = arn.rsplit('/').next().and_then(|id| id.parse().ok()) else {
            continue;
        };
        out.entry(id)
            .or_insert_with(|| (arn.clone(), Vec::new()))
            .1
            .push(c.clone());
    }
    out
}

fn stopped_with_instance(task: &mut Task, now: jiff::Timestamp) {
    task.last_status = TaskStatus::Stopped;
    task.desired_status = TaskStatus::Stopped;
    task.stop_code.get_or_insert(StopCode::TerminationNotice);
    task.stopped_reason
        .get_or_insert_with(|| crate::ops::DEREGISTERED.into());
    task.stopped_at.get_or_insert(now);
    for c in &mut task.containers {
        c.last_status = ContainerStatus::Stopped;
    }
    task.version += 1;
}

/// Reserves a reloaded task's resources on its instance, as placement did.
fn reserve(s: &mut Tables, task: &Task) -> Result<crate::cluster::AllocationId, Error> {
    let td = s.definition_of(task).map_err(|_| {
        dangling(
            Kind::Task,
            task.task_id.as_str(),
            "task definition",
            &task.task_definition,
        )
    })?;
    let needs = TaskRequirements::from_task_definition(&td);
    let c = s
        .clusters
        .get_mut(&task.cluster)
        .ok_or_else(|| dangling(Kind::Task, task.task_id.as_str(), "cluster", &task.cluster))?;
    let missing = || {
        dangling(
            Kind::Task,
            task.task_id.as_str(),
            "container instance",
            &task
                .container_instance
                .as_ref()
                .map_or("(none)", |i| i.as_str()),
        )
    };
    let instance = task.container_instance.as_ref().ok_or_else(missing)?;
    let slot = c.cluster.slot(instance).map_err(|_| missing())?;
    let group = c.cluster.group_id(&task.group.to_string());
    Ok(c.cluster
        .reserve(slot, group, needs.resources, &needs.ports))
}

/// For a service's task: the newest of its deployments that runs `td`, whose task it
/// then is (counted, and replaced only by a rollout); none else.
fn deployment_for(
    s: &Tables,
    cluster: &ClusterName,
    group: &TaskGroup,
    td: &crate::ids::TaskDefinitionRef,
) -> Option<String> {
    let service = group.service()?;
    let e = s.services.get(&(cluster.clone(), service.clone()))?;
    e.service
        .deployments
        .iter()
        .find(|d| d.task_definition == *td)
        .map(|d| d.id.to_string())
}

fn dangling(kind: Kind, key: &str, what: &str, name: &dyn std::fmt::Display) -> Error {
    Error::Store {
        path: None,
        reason: format!("{kind} record {key:?} names {what} {name}, which the store does not hold"),
    }
}

/// A reloaded task that was waiting for capacity: it waits again, its timeout counted
/// afresh; one asked to stop is STOPPED.
fn wait_again(s: &mut Tables, mut task: Task, now: jiff::Timestamp) {
    let provider = task.capacity_provider_name.clone();
    let resources = s
        .definition_of(&task)
        .ok()
        .map(|td| TaskRequirements::from_task_definition(&td).resources);
    match (provider, resources) {
        (Some(provider), Some(resources))
            if task.last_status != TaskStatus::Stopped
                && task.desired_status != TaskStatus::Stopped =>
        {
            let mut request =
                crate::task::RunTask::new(task.cluster.clone(), task.task_definition.clone(), 1);
            request.group = Some(task.group.clone());
            request.started_by = task.started_by.clone();
            request.enable_execute_command = task.enable_execute_command;
            request.tags = task.tags.clone();
            request.service_connect = task.service_connect.clone();
            // A service's own placement holds; a standalone task's request is not kept.
            if let Some(e) = task
                .group
                .service()
                .and_then(|n| s.services.get(&(task.cluster.clone(), n.clone())))
            {
                request.placement_strategy = e.service.placement_strategy.clone();
                request.placement_constraints = e.service.placement_constraints.clone();
            }
            s.capacity.waiting.insert(
                task.task_id.clone(),
                crate::capacity::Waiting {
                    cluster: task.cluster.clone(),
                    provider,
                    since: Instant::now(),
                    resources,
                    request,
                    extra: Vec::new(),
                },
            );
        }
        _ if task.last_status != TaskStatus::Stopped => {
            task.last_status = TaskStatus::Stopped;
            task.desired_status = TaskStatus::Stopped;
            task.stop_code.get_or_insert(StopCode::TaskFailedToStart);
            task.stopped_reason
                .get_or_insert_with(|| "Stopped while waiting for capacity".into());
            task.stopped_at.get_or_insert(now);
            for c in &mut task.containers {
                c.last_status = ContainerStatus::Stopped;
            }
            task.version += 1;
            s.task_changed(&task.task_id);
        }
        _ => {}
    }
    s.tasks.insert(task.task_id.clone(), TaskEntry::new(task));
}
