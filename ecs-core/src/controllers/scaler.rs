//! The auto scaling loop: once per period it samples each scalable service's metrics,
//! lets its policies decide, and sets the desired count through UpdateService,
//! recording a scaling activity with its cause.

use std::collections::HashMap;
use std::sync::Arc;

use tokio::time::{Instant, MissedTickBehavior};

use super::Context;
use crate::autoscaling::evaluate::{Decision, choose, evaluate};
use crate::autoscaling::policy::{Metric, PolicyKind};
use crate::autoscaling::{ActivityStatus, MAX_ACTIVITIES, ScalingActivity, ServiceRef};
use crate::service::{ServiceStatus, UpdateService};
use crate::state::{ServiceKey, State};
use crate::task::Event;

/// Runs until the supervisor ends it with the control plane.
pub(crate) async fn run(ctx: Arc<Context>) {
    let period = ctx.config().autoscaling.period;
    // A zero period would spin (and tokio's interval refuses it).
    let period = period.max(std::time::Duration::from_millis(1));
    let mut ticks = tokio::time::interval_at(Instant::now() + period, period);
    ticks.set_missed_tick_behavior(MissedTickBehavior::Delay);
    loop {
        ticks.tick().await;
        tick(&ctx).await;
    }
}

/// One period: sample, evaluate, act.
pub(crate) async fn tick(ctx: &Context) {
    // What to sample.
    let work: Vec<(ServiceKey, Vec<Metric>)> = {
        let s = ctx.state().lock();
        s.scaling
            .iter()
            .map(|(key, e)| {
                let mut metrics: Vec<Metric> = Vec::new();
                for (p, _) in &e.policies {
                    if !metrics.contains(p.metric()) {
                        metrics.push(p.metric().clone());
                    }
                }
                (key.clone(), metrics)
            })
            .collect()
    };
    let user = ctx.metrics_source();
    let mut samples: HashMap<(ServiceKey, Metric), Option<f64>> = HashMap::new();
    for (key, metrics) in work {
        let service = ServiceRef::new(key.0.clone(), key.1.clone());
        for metric in metrics {
            let mut value = match &user {
                Some(source) => source.sample(&service, &metric).await,
                None => None,
            };
            if value.is_none() && !matches!(metric, Metric::Custom(_)) {
                value = ctx.engine_stats.sample(&ctx.ops, &service, &metric).await;
            }
            samples.insert((key.clone(), metric), value.filter(|v| v.is_finite()));
        }
    }

    // Decide.
    let now = Instant::now();
    let config = ctx.config().autoscaling;
    let mut changes: Vec<(ServiceKey, u32, Decision)> = Vec::new();
    {
        let mut guard = ctx.state().lock();
        let state = &mut *guard;
        for (key, entry) in state.scaling.iter_mut() {
            let Some(service) = state
                .services
                .get(key)
                .filter(|e| e.service.status == ServiceStatus::Active)
            else {
                continue;
            };
            let current = service.service.desired_count;
            let resource = ServiceRef::new(key.0.clone(), key.1.clone()).resource_id();
            let (min, max) = (entry.target.min_capacity, entry.target.max_capacity);
            let mut wishes = Vec::new();
            let mut scale_in_vetoed = false;
            for (policy, st) in &mut entry.policies {
                match samples
                    .get(&(key.clone(), policy.metric().clone()))
                    .copied()
                    .flatten()
                {
                    Some(v) => st.push(v),
                    None => st.gap(),
                }
                let wish = evaluate(policy, st, &resource, current, (min, max), &config, now);
                // Target tracking scales in only when every such policy agrees.
                if let PolicyKind::TargetTracking(t) = &policy.kind
                    && !t.disable_scale_in
                    && wish.as_ref().is_none_or(|w| w.scale_out)
                {
                    scale_in_vetoed = true;
                }
                wishes.extend(wish);
            }
            if scale_in_vetoed {
                wishes.retain(|w| w.scale_out);
            }
            if let Some(d) = choose(wishes) {
                changes.push((key.clone(), current, d));
            }
        }
    }

    // Act.
    for (key, from, d) in changes {
        let result = ctx.ops.update_service(
            &key,
            UpdateService::new(key.0.clone(), key.1.clone()).with_desired_count(d.desired),
        );
        // Cooldowns start with what was done, not with what failed.
        if result.is_ok()
            && let Some(e) = ctx.state().lock().scaling.get_mut(&key)
        {
            for (_, st) in &mut e.policies {
                if d.scale_out {
                    st.last_scale_out = Some(now);
                    st.last_scale_out_to = Some(d.desired);
                } else {
                    st.last_scale_in = Some(now);
                }
            }
        }
        record(ctx.state(), &key, from, d, result);
    }
}

/// Records a scaling activity and publishes it.
pub(crate) fn record(
    state: &State,
    key: &ServiceKey,
    from: u32,
    d: Decision,
    result: Result<crate::service::Service, crate::Error>,
) {
    let activity = ScalingActivity {
        activity_id: format!("{:032x}", fastrand::u128(..)),
        resource_id: ServiceRef::new(key.0.clone(), key.1.clone()).resource_id(),
        description: format!("Setting desired count to {}.", d.desired),
        cause: d.cause,
        from,
        to: d.desired,
        status_code: if result.is_ok() {
            ActivityStatus::Successful
        } else {
            ActivityStatus::Failed
        },
        status_message: result.err().map(|e| e.to_string()),
        start_time: state.now(),
    };
    tracing::info!(resource = %activity.resource_id, cause = %activity.cause, "{}", activity.description);
    if let Some(e) = state.lock().scaling.get_mut(key) {
        e.activities.push_front(activity.clone());
        e.activities.truncate(MAX_ACTIVITIES);
    }
    state.publish(Event::ScalingActivity {
        cluster: key.0.clone(),
        service: key.1.clone(),
        activity,
    });
}
