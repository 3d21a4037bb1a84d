//! The capacity loop: places the tasks waiting for capacity, stops those that waited
//! too long, and runs each capacity provider's managed scaling (launch, warm up, drain,
//! terminate). One per control plane; it wakes when a task starts waiting, when an
//! instance or a task changes, and once per period.
//!
//! Decisions are [`scaling::decide`]'s (pure); this loop only gathers what it needs
//! under the state's lock and acts with the provider outside it. Launches run in their
//! own supervised tasks, so a slow provider delays nothing else.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use tokio::time::Instant;

use super::Context;
use crate::capacity::scaling::{self, ScalingAction, ScalingInput};
use crate::capacity::{
    CapacityProvider, CapacityProviderStatus, InstanceGroup, LaunchedInstance, PROVIDER_ATTRIBUTE,
};
use crate::cluster::{InstanceStatus, Resources};
use crate::ids::{CapacityProviderName, ClusterName, InstanceId};
use crate::task::TaskStatus;

/// The instance groups the embedding program registered, by name, and whether the
/// loop runs.
#[derive(Default)]
pub(crate) struct Groups {
    groups: Mutex<BTreeMap<String, InstanceGroup>>,
    started: AtomicBool,
    /// What the loop and its launches remember.
    memory: Arc<Mutex<HashMap<CapacityProviderName, ProviderMemory>>>,
}

impl Groups {
    pub(crate) fn insert(&self, name: String, group: InstanceGroup) {
        self.groups
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(name, group);
    }

    /// Managed scaling's last decision for `provider`.
    pub(crate) fn last_decision(
        &self,
        provider: &CapacityProviderName,
    ) -> Option<scaling::ScalingDecision> {
        self.memory
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(provider)
            .and_then(|m| m.last.clone())
    }

    pub(crate) fn get(&self, name: &str) -> Option<InstanceGroup> {
        self.groups
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(name)
            .cloned()
    }
}

/// What the loop remembers of a provider between passes.
#[derive(Debug, Default, Clone)]
struct ProviderMemory {
    /// Instances asked for and not yet registered.
    launching: u32,
    /// The last scale-out's instances warm up until then.
    warm_until: Option<Instant>,
    /// Instances being terminated.
    terminating: HashSet<InstanceId>,
    /// The last decision.
    last: Option<scaling::ScalingDecision>,
    /// Deregistered instances whose termination failed, to try again.
    unterminated: HashSet<InstanceId>,
}

impl Context {
    /// Starts the capacity loop, unless it runs already.
    pub(crate) fn start_capacity(self: &Arc<Self>) {
        if !self.capacity.started.swap(true, Ordering::SeqCst) {
            self.ops.supervisor.spawn(run(self.clone()));
        }
    }
}

/// Runs until the supervisor ends it with the control plane.
async fn run(ctx: Arc<Context>) {
    loop {
        let period = ctx
            .config()
            .capacity
            .period
            .max(std::time::Duration::from_millis(1));
        // Registered before the pass: a wake during it is not lost.
        let woken = ctx.ops.state.capacity_wake.notified();
        pass(&ctx);
        tokio::select! {
            () = woken => {}
            () = tokio::time::sleep(period) => {}
        }
    }
}

/// One pass: waiting tasks, then each provider's scaling.
pub(crate) fn pass(ctx: &Arc<Context>) {
    let timeout = ctx.config().capacity.wait_timeout;
    ctx.ops.place_waiting(timeout);
    let providers: Vec<(CapacityProvider, ClusterName)> = {
        let s = ctx.state().lock();
        s.capacity
            .providers
            .values()
            .filter_map(|e| Some((e.provider.clone(), e.cluster.clone()?)))
            .collect()
    };
    for (provider, cluster) in providers {
        let Some(group) = ctx.capacity.get(&provider.instance_group) else {
            continue;
        };
        scale(ctx, &provider, &cluster, &group);
    }
}

/// What a pass sees of one provider's instances.
struct InstanceView {
    id: InstanceId,
    status: InstanceStatus,
    connected: bool,
    /// Since when its agent has been away, if it is.
    away_since: Option<Instant>,
    registered_at: jiff::Timestamp,
    /// Its tasks not STOPPED, and what each holds.
    tasks: Vec<Resources>,
    /// Whether it runs a task no service would move (a standalone one): draining
    /// would not empty it, so scale-in leaves it be.
    pinned: bool,
}

fn scale(
    ctx: &Arc<Context>,
    provider: &CapacityProvider,
    cluster: &ClusterName,
    group: &InstanceGroup,
) {
    let name = &provider.name;
    let now = Instant::now();
    // Taken before the snapshot (and held through the decision): a launch that
    // registers an instance meanwhile moves it from launching to registered either
    // wholly before or wholly after, never between the two reads.
    let mut memory = ctx
        .capacity
        .memory
        .lock()
        .unwrap_or_else(|e| e.into_inner());
    let (instances, waiting) = {
        let s = ctx.state().lock();
        let Some(c) = s.clusters.get(cluster) else {
            return;
        };
        let mut views: BTreeMap<InstanceId, InstanceView> = c
            .cluster
            .instances()
            .filter(|i| {
                i.attributes
                    .get(PROVIDER_ATTRIBUTE)
                    .is_some_and(|v| v.as_deref() == Some(name.as_str()))
            })
            .map(|i| {
                (
                    i.id.clone(),
                    InstanceView {
                        id: i.id.clone(),
                        status: i.status,
                        connected: i.agent_connected,
                        away_since: c.disconnected.get(&i.id).copied(),
                        registered_at: i.registered_at,
                        tasks: Vec::new(),
                        pinned: false,
                    },
                )
            })
            .collect();
        for e in s.tasks.values() {
            let t = &e.task;
            if t.cluster != *cluster || t.last_status == TaskStatus::Stopped {
                continue;
            }
            let (Some(instance), Some(allocation)) = (&t.container_instance, t.allocation) else {
                continue;
            };
            if let (Some(v), Some((_, r))) =
                (views.get_mut(instance), c.cluster.allocation(allocation))
            {
                v.tasks.push(r);
                v.pinned |= t.group.service().is_none();
            }
        }
        let waiting: Vec<Resources> = s
            .capacity
            .waiting
            .values()
            .filter(|w| w.provider == *name && w.cluster == *cluster)
            .map(|w| w.resources)
            .collect();
        (views.into_values().collect::<Vec<_>>(), waiting)
    };

    let mem = memory.entry(name.clone()).or_default();
    mem.terminating
        .retain(|i| instances.iter().any(|v| v.id == *i));
    // Terminations that failed after their instance was deregistered: again.
    for id in std::mem::take(&mut mem.unterminated) {
        finish_termination(ctx, name, group, id);
    }

    // Lost instances (their agent away too long): let go, whatever they held.
    let lost_after = ctx.config().instance_lost_timeout;
    for v in &instances {
        if v.away_since
            .is_some_and(|t| now.duration_since(t) >= lost_after)
            && !mem.terminating.contains(&v.id)
            && terminate(ctx, name, cluster, group, v.id.clone(), true)
        {
            mem.terminating.insert(v.id.clone());
        }
    }

    // Staying: ACTIVE and not on its way out, its agent connected or not away long
    // enough to be lost (one registered again after a restart reconnects; counting it
    // gone would launch another in its place).
    let staying: Vec<&InstanceView> = instances
        .iter()
        .filter(|v| {
            v.status == InstanceStatus::Active
                && !mem.terminating.contains(&v.id)
                && (v.connected
                    || v.away_since
                        .is_none_or(|t| now.duration_since(t) < lost_after))
        })
        .collect();
    let occupied = staying.iter().filter(|v| !v.tasks.is_empty()).count();
    let active = u32::try_from(staying.len()).unwrap_or(u32::MAX);
    let n = active.saturating_add(mem.launching);
    let deprovisioning = provider.status != CapacityProviderStatus::Active;
    let decision = scaling::decide(&ScalingInput {
        settings: &provider.managed_scaling,
        min_size: if deprovisioning { 0 } else { group.min_size },
        max_size: if deprovisioning { 0 } else { group.max_size },
        instance: group.provider.instance_resources(),
        occupied: u32::try_from(occupied).unwrap_or(u32::MAX),
        waiting: &waiting,
        instances: n,
        warming: mem.launching > 0 || mem.warm_until.is_some_and(|t| now < t),
    });
    metrics::gauge!(crate::telemetry::CAPACITY_RESERVATION, "capacity_provider" => name.to_string())
        .set(decision.reservation);
    metrics::gauge!(crate::telemetry::CAPACITY_INSTANCES, "capacity_provider" => name.to_string())
        .set(f64::from(n));

    mem.last = Some(decision.clone());
    // Instances brought back this pass are not terminated by it.
    let mut back: Vec<InstanceId> = Vec::new();
    match decision.action {
        ScalingAction::Launch(mut k) => {
            // Instances on their way out come back first.
            back = instances
                .iter()
                .filter(|v| {
                    v.status == InstanceStatus::Draining
                        && v.connected
                        && !mem.terminating.contains(&v.id)
                })
                .take(k as usize)
                .map(|v| v.id.clone())
                .collect();
            k -= u32::try_from(back.len()).unwrap_or(0);
            if !back.is_empty() {
                ctx.ops
                    .set_instances_status(cluster, &back, InstanceStatus::Active);
            }
            if k > 0 {
                mem.launching += k;
                tracing::info!(capacity_provider = %name, count = k, reservation = decision.reservation, "launching instances");
                ctx.ops.supervisor.spawn(launch(
                    ctx.clone(),
                    name.clone(),
                    cluster.clone(),
                    group.clone(),
                    k,
                    provider.managed_scaling.instance_warmup_period,
                ));
            }
        }
        ScalingAction::Remove(k) => {
            let mut candidates: Vec<&&InstanceView> = staying.iter().collect();
            // The emptiest first; of those, the newest.
            candidates.sort_by(|a, b| {
                a.tasks
                    .len()
                    .cmp(&b.tasks.len())
                    .then(b.registered_at.cmp(&a.registered_at))
            });
            // Empty instances can always go. One with tasks only without termination
            // protection (which keeps every instance with a task, as ECS's does), and
            // with draining, which moves its services' tasks first; draining would not
            // empty one with a standalone task.
            let drains = provider.managed_draining && !provider.managed_termination_protection;
            let chosen: Vec<InstanceId> = candidates
                .into_iter()
                .filter(|v| v.tasks.is_empty() || (drains && !v.pinned))
                .take(k as usize)
                .map(|v| v.id.clone())
                .collect();
            if !chosen.is_empty() {
                tracing::info!(capacity_provider = %name, count = chosen.len(), reservation = decision.reservation, "draining instances to scale in");
                ctx.ops
                    .set_instances_status(cluster, &chosen, InstanceStatus::Draining);
            }
        }
        ScalingAction::Hold => {}
    }

    // Terminate what is DRAINING and empty, never below the minimum.
    let min = if deprovisioning { 0 } else { group.min_size };
    let mut remaining = u32::try_from(
        instances
            .iter()
            .filter(|v| !mem.terminating.contains(&v.id))
            .count(),
    )
    .unwrap_or(u32::MAX);
    for v in &instances {
        if remaining <= min {
            break;
        }
        let empty = v.tasks.is_empty();
        let unprotected = !provider.managed_termination_protection;
        if v.status == InstanceStatus::Draining
            && v.connected
            && (empty || unprotected && !provider.managed_draining)
            && !mem.terminating.contains(&v.id)
            && !back.contains(&v.id)
            // Refused if a task landed on it meanwhile: counted again next pass.
            && terminate(ctx, name, cluster, group, v.id.clone(), !empty)
        {
            mem.terminating.insert(v.id.clone());
            remaining -= 1;
        }
    }
}

/// Launches `count` instances of `provider` and registers them in `cluster`.
async fn launch(
    ctx: Arc<Context>,
    provider: CapacityProviderName,
    cluster: ClusterName,
    group: InstanceGroup,
    count: u32,
    warmup: std::time::Duration,
) {
    // Nothing is acted on that is not durable, nor by a control plane that no longer
    // holds its store (a leader succeeded by another).
    if let Err(e) = ctx.ops.state.barrier().await {
        tracing::error!(provider = %provider, error = %e, "not launching instances: the state cannot be made durable");
        return;
    }
    let launched = group.provider.launch(count).await;
    // Each instance counts as launching until it is registered, then as registered:
    // never as both (a pass in between would see one instance too many, and let one go).
    let registered = |ctx: &Context, provider: &CapacityProviderName| {
        let mut memory = ctx
            .capacity
            .memory
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        let mem = memory.entry(provider.clone()).or_default();
        // Warming from now, in the same step: a pass sees it launching or warming.
        mem.warm_until = Instant::now().checked_add(warmup);
        mem.launching = mem.launching.saturating_sub(1);
    };
    let mut counted = 0;
    let ok = match launched {
        Ok(instances) => {
            let mut any = false;
            for i in instances {
                let up = register(&ctx, &provider, &cluster, &group, i).await;
                registered(&ctx, &provider);
                counted += 1;
                any |= up;
            }
            any
        }
        Err(e) => {
            tracing::warn!(capacity_provider = %provider, error = %e, "launching instances failed");
            false
        }
    };
    {
        let mut memory = ctx
            .capacity
            .memory
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        let mem = memory.entry(provider).or_default();
        mem.launching = mem.launching.saturating_sub(count.saturating_sub(counted));
        // After a failure, the next attempt waits a period rather than spinning.
        let wait = if ok {
            warmup
        } else {
            ctx.config().capacity.period
        };
        mem.warm_until = Instant::now().checked_add(wait);
    }
    ctx.ops.state.capacity_wake.notify_one();
}

/// Registers a launched instance; one that cannot be registered is terminated.
async fn register(
    ctx: &Arc<Context>,
    provider: &CapacityProviderName,
    cluster: &ClusterName,
    group: &InstanceGroup,
    instance: LaunchedInstance,
) -> bool {
    let id = instance.id.clone();
    match ctx.register_launched(provider, cluster, instance).await {
        Ok(()) => true,
        Err(e) => {
            tracing::warn!(capacity_provider = %provider, instance = %id, error = %e, "registering a launched instance failed; terminating it");
            if let Err(e) = group.provider.terminate(&id).await {
                tracing::warn!(capacity_provider = %provider, instance = %id, error = %e, "terminating it failed");
            }
            false
        }
    }
}

impl Context {
    /// Registers an instance `provider` launched, marked as its own.
    pub(crate) async fn register_launched(
        &self,
        provider: &CapacityProviderName,
        cluster: &ClusterName,
        mut instance: LaunchedInstance,
    ) -> Result<(), crate::Error> {
        instance
            .attributes
            .insert(PROVIDER_ATTRIBUTE.to_owned(), provider.to_string());
        // Every call to its engine is measured, as the facade's registrations are.
        let runtime: Arc<dyn crate::runtime::ContainerRuntime> = Arc::new(
            crate::runtime::instrumented::Instrumented::new(instance.runtime),
        );
        self.register_new_instance(cluster, instance.id, runtime, instance.attributes)
            .await
    }
}

/// Deregisters an instance (refused, unless `force`, when a task is on it: checked
/// under the state's lock) and terminates it in the background. Whether it was
/// deregistered.
fn terminate(
    ctx: &Arc<Context>,
    provider: &CapacityProviderName,
    cluster: &ClusterName,
    group: &InstanceGroup,
    instance: InstanceId,
    force: bool,
) -> bool {
    tracing::info!(cluster = %cluster, instance = %instance, "terminating instance");
    if let Err(e) = ctx.ops.deregister_instance(cluster, &instance, force) {
        tracing::warn!(instance = %instance, error = %e, "deregistering it failed");
        return false;
    }
    finish_termination(ctx, provider, group, instance);
    true
}

/// Terminates a deregistered instance in the background; a failure is tried again at
/// the provider's next pass.
fn finish_termination(
    ctx: &Arc<Context>,
    provider: &CapacityProviderName,
    group: &InstanceGroup,
    instance: InstanceId,
) {
    let (ctx2, provider, instances) = (ctx.clone(), provider.clone(), group.provider.clone());
    ctx.ops.supervisor.spawn(async move {
        if let Err(e) = ctx2.ops.state.barrier().await {
            tracing::error!(instance = %instance, error = %e, "not terminating: the state cannot be made durable");
            return;
        }
        if let Err(e) = instances.terminate(&instance).await {
            tracing::warn!(instance = %instance, error = %e, "terminating it failed; trying again");
            let mut memory = ctx2
                .capacity
                .memory
                .lock()
                .unwrap_or_else(|e| e.into_inner());
            memory
                .entry(provider)
                .or_default()
                .unterminated
                .insert(instance);
        }
        ctx2.ops.state.capacity_wake.notify_one();
    });
}
