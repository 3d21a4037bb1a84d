//! Service auto scaling on the in-memory runtime with tokio's paused clock: target
//! tracking on CPU read from the containers' stats (out under load, in after it falls,
//! cooldowns, min and max), step scaling with several steps on a custom metric, no
//! flapping around the target, events, and validation; a step at exactly the threshold,
//! a larger scale-out within the cooldown, a manual count left outside the range.

mod support;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use ecs_core::autoscaling::{
    ActivityStatus, AdjustmentType, Alarm, ComparisonOperator, Metric, MetricsSource,
    ScalableTarget, ScalingActivity, ScalingPolicy, ServiceRef, StepAdjustment, StepScaling,
    TargetTracking,
};
use ecs_core::autoscaling::{DeleteScalingPolicy, PutScalingPolicy, RegisterScalableTarget};
use ecs_core::control::DeleteService;
use ecs_core::runtime::memory::Matcher;
use ecs_core::service::{CreateService, UpdateService};
use ecs_core::task::Event;
use ecs_core::{Error, ResourceKind};
use support::services::{Harness, cluster, web};
use tokio::time::Instant;

/// 512 CPU units per task: one whole CPU of use is 200%.
const TD: &str = r#"{"family": "web", "containerDefinitions": [
    {"name": "app", "image": "busybox", "memory": 64, "cpu": 512,
     "command": ["sh", "-c", "trap 'exit 0' TERM; while true; do sleep 1; done"]}]}"#;

/// 64 CPU units per task, a port and a health check (the definition of the load
/// balancing tests, which the tests of a threshold, a cooldown and a manual count use).
const CHECKED: &str = r#"{"family": "web", "containerDefinitions": [
    {"name": "app", "image": "busybox", "memory": 64, "cpu": 64,
     "command": ["sh", "-c", "trap 'exit 0' TERM; while true; do sleep 1; done"],
     "portMappings": [{"containerPort": 80, "hostPort": 0}],
     "healthCheck": {"command": ["CMD-SHELL", "true"], "interval": 5}}]}"#;

async fn scalable(h: &Harness, count: u32, min: u32, max: u32) {
    h.register(TD);
    h.ecs
        .create_service(CreateService::new(
            cluster(),
            web(),
            "web".parse().unwrap(),
            count,
        ))
        .unwrap();
    h.steady(&web()).await;
    h.ecs
        .register_scalable_target(RegisterScalableTarget::new(
            cluster(),
            web(),
            ScalableTarget::new(min, max),
        ))
        .unwrap();
}

fn load(h: &Harness, cpus: f64) {
    for (_, rt) in &h.runtimes {
        rt.set_usage(Matcher::Any, cpus, 32 << 20);
    }
}

/// Waits for the next scaling activity and when it came.
async fn next_activity(
    events: &mut tokio::sync::broadcast::Receiver<Event>,
    within: Duration,
) -> (ScalingActivity, Instant) {
    tokio::time::timeout(within, async {
        loop {
            if let Ok(Event::ScalingActivity { activity, .. }) = events.recv().await {
                return (activity, Instant::now());
            }
        }
    })
    .await
    .unwrap_or_else(|_| panic!("no scaling activity within {within:?}"))
}

/// Whether no scaling activity happens for `duration`.
async fn quiet_for(
    events: &mut tokio::sync::broadcast::Receiver<Event>,
    duration: Duration,
) -> bool {
    tokio::time::timeout(duration, async {
        loop {
            if let Ok(Event::ScalingActivity { .. }) = events.recv().await {
                return;
            }
        }
    })
    .await
    .is_err()
}

#[tokio::test(start_paused = true)]
async fn target_tracking_follows_cpu_load_out_and_back_in() {
    let h = Harness::new(4).await;
    scalable(&h, 2, 1, 20).await;
    h.ecs
        .put_scaling_policy(PutScalingPolicy::new(
            cluster(),
            web(),
            ScalingPolicy::target_tracking(
                "cpu50",
                TargetTracking::new(Metric::CpuUtilization, 50.0),
            ),
        ))
        .unwrap();
    let mut events = h.ecs.subscribe();
    let start = Instant::now();
    load(&h, 1.0);

    // 2 tasks at 200% of a 50% target: 8, after 3 periods above (the first period only
    // starts the CPU count).
    let (first, at1) = next_activity(&mut events, Duration::from_secs(600)).await;
    assert_eq!((first.from, first.to), (2, 8), "{first:?}");
    assert_eq!(first.description, "Setting desired count to 8.");
    assert_eq!(
        first.cause,
        "monitor alarm TargetTracking-service/dev/web-AlarmHigh-cpu50 in state ALARM triggered policy cpu50"
    );
    assert_eq!(first.status_code, ActivityStatus::Successful);
    assert!(
        at1 - start <= Duration::from_secs(5 * 60),
        "{:?}",
        at1 - start
    );
    h.wait_service(&web(), "8 tasks", |s| s.running_count == 8)
        .await;

    // Still 200% on 8 tasks: a larger scale-out than the last goes even within the
    // cooldown (Application Auto Scaling's rule), once 3 new periods are above; it
    // stops at max.
    let (second, at2) = next_activity(&mut events, Duration::from_secs(900)).await;
    assert_eq!((second.from, second.to), (8, 20), "{second:?}");
    assert!(at2 - at1 >= Duration::from_secs(60), "{:?}", at2 - at1);
    assert!(
        at2 - at1 < Duration::from_secs(300),
        "held back by the cooldown: {:?}",
        at2 - at1
    );
    h.wait_service(&web(), "20 tasks", |s| s.running_count == 20)
        .await;

    // The load falls to 10%: after 15 periods below 45%, in to ceil(20 x 10 / 50) = 4.
    load(&h, 0.05);
    let fell = Instant::now();
    let (third, at3) = next_activity(&mut events, Duration::from_secs(3600)).await;
    assert_eq!((third.from, third.to), (20, 4), "{third:?}");
    assert!(third.cause.contains("AlarmLow-cpu50"), "{third:?}");
    assert!(
        at3 - fell >= Duration::from_secs(15 * 60),
        "scaled in too soon: {:?}",
        at3 - fell
    );
    // Then 4 -> 1 (the minimum), after the scale-in cooldown.
    let (fourth, at4) = next_activity(&mut events, Duration::from_secs(3600)).await;
    assert_eq!((fourth.from, fourth.to), (4, 1), "{fourth:?}");
    assert!(at4 - at3 >= Duration::from_secs(300));
    let s = h
        .wait_service(&web(), "1 task", |s| s.running_count == 1 && s.is_steady())
        .await;
    assert_eq!(s.desired_count, 1);
    // At the minimum and still low: nothing more for a virtual hour.
    assert!(quiet_for(&mut events, Duration::from_secs(3600)).await);
    let history = h
        .ecs
        .describe_scaling_activities(&cluster(), &web())
        .unwrap();
    let steps: Vec<(u32, u32)> = history.iter().map(|a| (a.from, a.to)).collect();
    assert_eq!(steps, [(4, 1), (20, 4), (8, 20), (2, 8)], "newest first");
}

/// Scales a service of 2 tasks (1 to 8) out under a whole CPU each with `policy` (2 ->
/// 8), then lets the load fall to 10% and returns the scaling activities of the next
/// two virtual hours: far past the 15 periods below target and the cooldowns that a
/// scale-in waits for, twice over.
async fn activities_after_the_load_falls(
    policy: TargetTracking,
) -> (Harness, Vec<ScalingActivity>) {
    let h = Harness::new(2).await;
    scalable(&h, 2, 1, 8).await;
    h.ecs
        .put_scaling_policy(PutScalingPolicy::new(
            cluster(),
            web(),
            ScalingPolicy::target_tracking("cpu50", policy),
        ))
        .unwrap();
    let mut events = h.ecs.subscribe();
    load(&h, 1.0);
    let (out, _) = next_activity(&mut events, Duration::from_secs(600)).await;
    assert_eq!((out.from, out.to), (2, 8), "{out:?}");
    assert!(out.cause.contains("AlarmHigh-cpu50"), "{out:?}");
    h.wait_service(&web(), "8 tasks", |s| s.running_count == 8)
        .await;

    load(&h, 0.05);
    let deadline = Instant::now() + Duration::from_secs(2 * 3600);
    let mut after = Vec::new();
    while let Ok(e) = tokio::time::timeout_at(deadline, events.recv()).await {
        match e {
            Ok(Event::ScalingActivity { activity, .. }) => after.push(activity),
            Ok(_) => {}
            // A missed event could be a missed scale-in.
            Err(e) => panic!("event stream: {e}"),
        }
    }
    (h, after)
}

#[tokio::test(start_paused = true)]
async fn target_tracking_without_scale_in_keeps_the_count_after_the_load_falls() {
    let policy = TargetTracking::new(Metric::CpuUtilization, 50.0).without_scale_in();
    let (h, after) = activities_after_the_load_falls(policy).await;
    assert!(
        after.is_empty(),
        "scaled although scale-in is off: {after:?}"
    );
    let s = h.describe(&web());
    assert_eq!((s.desired_count, s.running_count), (8, 8));
}

/// The control: the same policy and load with scale-in on go back in within the same
/// window, so that the one above saw a metric low for long enough.
#[tokio::test(start_paused = true)]
async fn target_tracking_with_scale_in_goes_back_in_after_the_load_falls() {
    let policy = TargetTracking::new(Metric::CpuUtilization, 50.0);
    let (h, after) = activities_after_the_load_falls(policy).await;
    // 8 tasks at 10% of a 50% target: ceil(1.6) = 2; after the cooldown, the minimum.
    let steps: Vec<(u32, u32)> = after.iter().map(|a| (a.from, a.to)).collect();
    assert_eq!(steps, [(8, 2), (2, 1)], "{after:?}");
    assert!(after.iter().all(|a| a.cause.contains("AlarmLow-cpu50")));
    h.wait_service(&web(), "1 task", |s| s.running_count == 1 && s.is_steady())
        .await;
}

#[tokio::test(start_paused = true)]
async fn a_metric_hovering_around_the_target_does_not_flap() {
    let h = Harness::new(2).await;
    scalable(&h, 4, 1, 10).await;
    let source = Arc::new(Programmed::default());
    h.ecs.set_metrics_source(source.clone());
    h.ecs
        .put_scaling_policy(PutScalingPolicy::new(
            cluster(),
            web(),
            ScalingPolicy::target_tracking(
                "cpu50",
                TargetTracking::new(Metric::CpuUtilization, 50.0)
                    .with_cooldowns(Duration::from_secs(60), Duration::from_secs(60)),
            ),
        ))
        .unwrap();
    let mut events = h.ecs.subscribe();
    // 99 periods of 53, 53, 47 .. (then 47% held): never 3 periods above the target,
    // never below 45%.
    let values: Vec<f64> = (0..99)
        .map(|i| if i % 3 == 2 { 47.0 } else { 53.0 })
        .collect();
    source.set_series(values);
    assert!(
        quiet_for(&mut events, Duration::from_secs(7200)).await,
        "scaled while the metric stayed near its target"
    );
    // The series was read (the policy did look at it).
    assert!(source.values.lock().unwrap().is_empty());
    assert_eq!(h.describe(&web()).desired_count, 4);
}

#[derive(Debug, Default)]
struct Settable(Mutex<f64>);

#[async_trait::async_trait]
impl MetricsSource for Settable {
    async fn sample(&self, _: &ServiceRef, _: &Metric) -> Option<f64> {
        Some(*self.0.lock().unwrap())
    }
}

/// A larger scale-out is not held back by the scale-out cooldown: when the load jumps
/// right after a scale-out, the desired count rises again within 200 s, before the
/// cooldown ends. Application Auto Scaling: during the scale-out cooldown "the scaling
/// policy won't increase the desired capacity again unless either a larger scale out is
/// triggered or the cooldown period ends".
#[tokio::test(start_paused = true)]
async fn a_larger_scale_out_is_not_held_back_by_the_cooldown() {
    use ecs_core::autoscaling::TargetTracking;
    let h = Harness::new(4).await;
    h.register(CHECKED);
    h.ecs
        .create_service(CreateService::new(
            cluster(),
            web(),
            "web".parse().unwrap(),
            2,
        ))
        .unwrap();
    h.steady(&web()).await;
    h.ecs
        .register_scalable_target(RegisterScalableTarget::new(
            cluster(),
            web(),
            ScalableTarget::new(1, 40),
        ))
        .unwrap();
    let source = Arc::new(Settable::default());
    *source.0.lock().unwrap() = 100.0;
    h.ecs.set_metrics_source(source.clone());
    h.ecs
        .put_scaling_policy(PutScalingPolicy::new(
            cluster(),
            web(),
            ScalingPolicy::target_tracking(
                "cpu50",
                TargetTracking::new(Metric::CpuUtilization, 50.0),
            ),
        ))
        .unwrap();
    h.wait_service(&web(), "4", |s| s.desired_count == 4).await;
    // The load jumps: 4 tasks at 250% of a 50% target want 20.
    *source.0.lock().unwrap() = 250.0;
    tokio::time::sleep(Duration::from_secs(200)).await;
    assert!(
        h.describe(&web()).desired_count > 4,
        "a larger scale-out waited for the cooldown"
    );
}

/// A metric source whose values the test programs: a series, one per period, then the
/// last value.
#[derive(Debug, Default)]
struct Programmed {
    values: Mutex<std::collections::VecDeque<f64>>,
    last: Mutex<Option<f64>>,
}

impl Programmed {
    fn set(&self, v: f64) {
        self.values.lock().unwrap().clear();
        *self.last.lock().unwrap() = Some(v);
    }

    fn set_series(&self, v: Vec<f64>) {
        *self.values.lock().unwrap() = v.into();
    }
}

#[async_trait::async_trait]
impl MetricsSource for Programmed {
    async fn sample(&self, _: &ServiceRef, metric: &Metric) -> Option<f64> {
        if let Some(v) = self.values.lock().unwrap().pop_front() {
            *self.last.lock().unwrap() = Some(v);
            return Some(v);
        }
        match metric {
            Metric::Custom(_) | Metric::CpuUtilization => *self.last.lock().unwrap(),
            _ => None,
        }
    }
}

#[tokio::test(start_paused = true)]
async fn step_scaling_adds_by_the_size_of_the_breach() {
    let h = Harness::new(4).await;
    scalable(&h, 2, 1, 30).await;
    let queue = Arc::new(Programmed::default());
    h.ecs.set_metrics_source(queue.clone());
    let backlog = Metric::Custom("QueueBacklog".into());
    h.ecs
        .put_scaling_policy(PutScalingPolicy::new(
            cluster(),
            web(),
            ScalingPolicy::step_scaling(
                "grow",
                StepScaling::new(
                    Alarm::new(
                        "backlog-high",
                        backlog.clone(),
                        ComparisonOperator::GreaterThanOrEqualToThreshold,
                        100.0,
                        2,
                    ),
                    AdjustmentType::ChangeInCapacity,
                    vec![
                        StepAdjustment::new(Some(0.0), Some(50.0), 1),
                        StepAdjustment::new(Some(50.0), Some(200.0), 3),
                        StepAdjustment::new(Some(200.0), None, 6),
                    ],
                )
                .with_cooldown(Duration::from_secs(120)),
            ),
        ))
        .unwrap();
    h.ecs
        .put_scaling_policy(PutScalingPolicy::new(
            cluster(),
            web(),
            ScalingPolicy::step_scaling(
                "shrink",
                StepScaling::new(
                    Alarm::new(
                        "backlog-low",
                        backlog,
                        ComparisonOperator::LessThanThreshold,
                        10.0,
                        3,
                    ),
                    AdjustmentType::PercentChangeInCapacity,
                    vec![StepAdjustment::new(None, Some(0.0), -50)],
                )
                .with_cooldown(Duration::from_secs(120)),
            ),
        ))
        .unwrap();
    let mut events = h.ecs.subscribe();
    queue.set(120.0); // 20 past the threshold: +1
    let (a, _) = next_activity(&mut events, Duration::from_secs(600)).await;
    assert_eq!((a.from, a.to), (2, 3), "{a:?}");
    assert_eq!(
        a.cause,
        "monitor alarm backlog-high in state ALARM triggered policy grow"
    );
    queue.set(230.0); // 130 past: +3
    let (b, _) = next_activity(&mut events, Duration::from_secs(600)).await;
    assert_eq!((b.from, b.to), (3, 6), "{b:?}");
    queue.set(500.0); // 400 past: +6
    let (c, _) = next_activity(&mut events, Duration::from_secs(600)).await;
    assert_eq!((c.from, c.to), (6, 12), "{c:?}");
    queue.set(2.0); // below 10 for 3 periods: -50%
    let (d, _) = next_activity(&mut events, Duration::from_secs(900)).await;
    assert_eq!((d.from, d.to), (12, 6), "{d:?}");
    assert_eq!(
        d.cause,
        "monitor alarm backlog-low in state ALARM triggered policy shrink"
    );
    h.wait_service(&web(), "6 tasks", |s| s.running_count == 6 && s.is_steady())
        .await;
}

#[derive(Debug)]
struct Constant(f64);

#[async_trait::async_trait]
impl MetricsSource for Constant {
    async fn sample(&self, _: &ServiceRef, _: &Metric) -> Option<f64> {
        Some(self.0)
    }
}

/// A step at exactly the threshold of a lower alarm applies. "Scale in when the queue is
/// empty": LessThanOrEqualToThreshold 0 with a step whose upper bound is 0. Below the
/// threshold, Application Auto Scaling's upper bound is inclusive, so a breach of exactly
/// 0 takes that step: with the metric at 0, the service scales in within 10 periods.
#[tokio::test(start_paused = true)]
async fn a_step_at_exactly_the_threshold_of_a_lower_alarm_applies() {
    let h = Harness::new(1).await;
    h.register(CHECKED);
    h.ecs
        .create_service(CreateService::new(
            cluster(),
            web(),
            "web".parse().unwrap(),
            3,
        ))
        .unwrap();
    h.steady(&web()).await;
    h.ecs
        .register_scalable_target(RegisterScalableTarget::new(
            cluster(),
            web(),
            ScalableTarget::new(1, 5),
        ))
        .unwrap();
    h.ecs.set_metrics_source(Arc::new(Constant(0.0)));
    h.ecs
        .put_scaling_policy(PutScalingPolicy::new(
            cluster(),
            web(),
            ScalingPolicy::step_scaling(
                "shrink",
                StepScaling::new(
                    Alarm::new(
                        "queue-empty",
                        Metric::Custom("Backlog".into()),
                        ComparisonOperator::LessThanOrEqualToThreshold,
                        0.0,
                        1,
                    ),
                    AdjustmentType::ChangeInCapacity,
                    vec![StepAdjustment::new(None, Some(0.0), -1)],
                ),
            ),
        ))
        .unwrap();
    tokio::time::sleep(Duration::from_secs(600)).await;
    assert!(
        h.describe(&web()).desired_count < 3,
        "the alarm is in ALARM for 10 periods, yet no scale-in"
    );
}

#[tokio::test(start_paused = true)]
async fn a_count_outside_the_bounds_is_brought_inside_on_registration_only() {
    let h = Harness::new(1).await;
    scalable(&h, 1, 3, 5).await;
    let a = h
        .ecs
        .describe_scaling_activities(&cluster(), &web())
        .unwrap();
    assert_eq!((a[0].from, a[0].to), (1, 3), "{a:?}");
    assert!(a[0].cause.contains("registered with capacity 3-5"), "{a:?}");
    h.wait_service(&web(), "3 tasks", |s| s.running_count == 3)
        .await;
    // Set by hand outside the bounds afterwards, it is left alone (scale to 0, then
    // delete, is ECS's way).
    let mut events = h.ecs.subscribe();
    h.ecs
        .update_service(
            ecs_core::service::UpdateService::new(cluster(), web()).with_desired_count(0),
        )
        .unwrap();
    assert!(quiet_for(&mut events, Duration::from_secs(600)).await);
    assert_eq!(h.describe(&web()).desired_count, 0);
    h.ecs
        .delete_service(DeleteService::new(cluster(), web()))
        .unwrap();
}

/// A manual count outside the target's range is left alone: Application Auto Scaling
/// moves the count into the range only when the target is registered, not on every later
/// UpdateService. A manual count of 0 (below the minimum of 1) stays 0, so that "scale to
/// 0, then delete" works.
#[tokio::test(start_paused = true)]
async fn a_manual_count_outside_the_range_is_left_alone() {
    let h = Harness::new(1).await;
    h.register(CHECKED);
    h.ecs
        .create_service(CreateService::new(
            cluster(),
            web(),
            "web".parse().unwrap(),
            2,
        ))
        .unwrap();
    h.steady(&web()).await;
    h.ecs
        .register_scalable_target(RegisterScalableTarget::new(
            cluster(),
            web(),
            ScalableTarget::new(1, 4),
        ))
        .unwrap();
    h.ecs
        .update_service(UpdateService::new(cluster(), web()).with_desired_count(0))
        .unwrap();
    tokio::time::sleep(Duration::from_secs(180)).await;
    assert_eq!(h.describe(&web()).desired_count, 0);
    h.ecs
        .delete_service(DeleteService::new(cluster(), web()))
        .unwrap();
}

#[tokio::test(start_paused = true)]
async fn bad_scaling_requests_are_refused() {
    let h = Harness::new(1).await;
    h.register(TD);
    h.ecs
        .create_service(CreateService::new(
            cluster(),
            web(),
            "web".parse().unwrap(),
            1,
        ))
        .unwrap();
    let err = h
        .ecs
        .register_scalable_target(RegisterScalableTarget::new(
            cluster(),
            web(),
            ScalableTarget::new(5, 2),
        ))
        .unwrap_err();
    assert!(
        err.to_string()
            .contains("minCapacity 5 is above maxCapacity 2"),
        "{err}"
    );
    let err = h
        .ecs
        .register_scalable_target(RegisterScalableTarget::new(
            cluster(),
            web(),
            ScalableTarget::new(1, 6000),
        ))
        .unwrap_err();
    assert!(
        err.to_string().contains("limit of 5000 tasks per service"),
        "{err}"
    );
    let policy =
        ScalingPolicy::target_tracking("cpu", TargetTracking::new(Metric::CpuUtilization, 50.0));
    let err = h
        .ecs
        .put_scaling_policy(PutScalingPolicy::new(cluster(), web(), policy.clone()))
        .unwrap_err();
    assert!(err.is_not_found(ResourceKind::ScalableTarget), "{err}");
    h.ecs
        .register_scalable_target(RegisterScalableTarget::new(
            cluster(),
            web(),
            ScalableTarget::new(1, 4),
        ))
        .unwrap();
    let bad =
        ScalingPolicy::target_tracking("cpu", TargetTracking::new(Metric::CpuUtilization, 0.0));
    assert!(matches!(
        h.ecs
            .put_scaling_policy(PutScalingPolicy::new(cluster(), web(), bad)),
        Err(Error::InvalidScaling(_))
    ));
    let overlapping = ScalingPolicy::step_scaling(
        "s",
        StepScaling::new(
            Alarm::new(
                "a",
                Metric::CpuUtilization,
                ComparisonOperator::GreaterThanThreshold,
                70.0,
                1,
            ),
            AdjustmentType::ChangeInCapacity,
            vec![
                StepAdjustment::new(Some(0.0), Some(20.0), 1),
                StepAdjustment::new(Some(10.0), None, 2),
            ],
        ),
    );
    let err = h
        .ecs
        .put_scaling_policy(PutScalingPolicy::new(cluster(), web(), overlapping))
        .unwrap_err();
    assert!(err.to_string().contains("overlap"), "{err}");
    let daemon = CreateService::daemon(cluster(), "agent".parse().unwrap(), "web".parse().unwrap());
    h.ecs.create_service(daemon).unwrap();
    let err = h
        .ecs
        .register_scalable_target(RegisterScalableTarget::new(
            cluster(),
            "agent".parse().unwrap(),
            ScalableTarget::new(1, 2),
        ))
        .unwrap_err();
    assert!(err.to_string().contains("DAEMON"), "{err}");
    h.ecs
        .put_scaling_policy(PutScalingPolicy::new(cluster(), web(), policy))
        .unwrap();
    h.ecs
        .delete_scaling_policy(DeleteScalingPolicy::new(cluster(), web(), "cpu"))
        .unwrap();
    assert!(
        h.ecs
            .delete_scaling_policy(DeleteScalingPolicy::new(cluster(), web(), "cpu"))
            .is_err()
    );
}

#[tokio::test(start_paused = true)]
async fn target_tracking_on_memory_reads_the_containers_memory() {
    let h = Harness::new(2).await;
    scalable(&h, 2, 1, 10).await;
    h.ecs
        .put_scaling_policy(PutScalingPolicy::new(
            cluster(),
            web(),
            ScalingPolicy::target_tracking(
                "mem50",
                TargetTracking::new(Metric::MemoryUtilization, 50.0),
            ),
        ))
        .unwrap();
    let mut events = h.ecs.subscribe();
    // 48 MiB in use of the 64 MiB each task reserves: 75%, so 2 x 75 / 50 = 3 tasks.
    for (_, rt) in &h.runtimes {
        rt.set_usage(Matcher::Any, 0.01, 48 << 20);
    }
    let (a, _) = next_activity(&mut events, Duration::from_secs(600)).await;
    assert_eq!((a.from, a.to), (2, 3), "{a:?}");
    assert!(a.cause.contains("AlarmHigh-mem50"), "{a:?}");
}
