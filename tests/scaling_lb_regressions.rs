//! Regressions found by review of auto scaling and of services behind load balancers:
//! each test failed before its fix.

#[path = "support/services.rs"]
mod support;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use ecs::autoscaling::{
    AdjustmentType, Alarm, ComparisonOperator, Metric, MetricsSource, ScalableTarget,
    ScalingPolicy, ServiceRef, StepAdjustment, StepScaling,
};
use ecs::autoscaling::{PutScalingPolicy, RegisterScalableTarget};
use ecs::control::DeleteService;
use ecs::load_balancer::{LoadBalancer, Target, TargetHealth, TargetState};
use ecs::runtime::Behavior;
use ecs::runtime::memory::Matcher;
use ecs::service::{CreateService, DeploymentConfiguration, LoadBalancer as LbSpec, UpdateService};
use ecs::task::TaskStatus;
use support::{Harness, cluster, web};
use tokio::sync::Notify;

const TD: &str = r#"{"family": "web", "containerDefinitions": [
    {"name": "app", "image": "busybox", "memory": 64, "cpu": 64,
     "command": ["sh", "-c", "trap 'exit 0' TERM; while true; do sleep 1; done"],
     "portMappings": [{"containerPort": 80, "hostPort": 0}],
     "healthCheck": {"command": ["CMD-SHELL", "true"], "interval": 5}}]}"#;

/// Like tests/load_balancing.rs's Recording, plus a gate that can hold the next
/// `target_health` call, and a switch that makes every later call hang.
#[derive(Debug)]
struct Recording {
    name: String,
    delay: Duration,
    targets: Mutex<HashMap<String, (Target, TargetState, u32)>>,
    drained: Mutex<Vec<String>>,
    gate: Mutex<Option<Arc<Notify>>>,
    entered: Notify,
    hang: std::sync::atomic::AtomicBool,
    fail_register: std::sync::atomic::AtomicBool,
}

impl Recording {
    fn new(name: &str, delay: Duration) -> Arc<Self> {
        Arc::new(Self {
            name: name.into(),
            delay,
            targets: Mutex::new(HashMap::new()),
            drained: Mutex::new(Vec::new()),
            gate: Mutex::new(None),
            entered: Notify::new(),
            hang: false.into(),
            fail_register: false.into(),
        })
    }
    fn state_of(&self, id: &str) -> Option<TargetState> {
        self.targets.lock().unwrap().get(id).map(|t| t.1)
    }
}

#[async_trait::async_trait]
impl LoadBalancer for Recording {
    fn name(&self) -> String {
        self.name.clone()
    }
    async fn register_targets(&self, targets: &[Target]) -> Result<(), ecs::Error> {
        if self.fail_register.load(std::sync::atomic::Ordering::SeqCst) {
            return Err(ecs::Error::LoadBalancer {
                name: self.name.clone(),
                reason: "down".into(),
            });
        }
        let mut map = self.targets.lock().unwrap();
        for t in targets {
            map.entry(t.id.clone())
                .or_insert((t.clone(), TargetState::Initial, 0));
        }
        Ok(())
    }
    async fn deregister_targets(&self, targets: &[Target]) -> Result<(), ecs::Error> {
        {
            let mut map = self.targets.lock().unwrap();
            for t in targets {
                if let Some(e) = map.get_mut(&t.id) {
                    e.1 = TargetState::Draining;
                }
            }
        }
        tokio::time::sleep(self.delay).await;
        let mut map = self.targets.lock().unwrap();
        for t in targets {
            map.remove(&t.id);
            self.drained.lock().unwrap().push(t.id.clone());
        }
        Ok(())
    }
    async fn target_health(&self) -> Result<Vec<TargetHealth>, ecs::Error> {
        if self.hang.load(std::sync::atomic::Ordering::SeqCst) {
            std::future::pending::<()>().await;
        }
        let gate = self.gate.lock().unwrap().take();
        if let Some(gate) = gate {
            self.entered.notify_one();
            gate.notified().await;
        }
        let mut map = self.targets.lock().unwrap();
        for (_, state, reads) in map.values_mut() {
            *reads += 1;
            if *state == TargetState::Initial && *reads >= 2 {
                *state = TargetState::Healthy;
            }
        }
        Ok(map
            .values()
            .map(|(t, s, _)| TargetHealth::new(t.clone(), *s, None))
            .collect())
    }
}

async fn setup(lbs: &[&Arc<Recording>], count: u32) -> Harness {
    let h = Harness::new(2).await;
    h.register(TD);
    for (_, rt) in &h.runtimes {
        rt.set_behavior(
            Matcher::Any,
            Behavior::forever().healthy_after(Some(Duration::from_secs(4))),
        );
    }
    let mut request = CreateService::new(cluster(), web(), "web:1".parse().unwrap(), count)
        .with_deployment_configuration(DeploymentConfiguration::default().with_percents(100, 200));
    for lb in lbs {
        h.ecs.register_target_group(lb.name.clone(), (*lb).clone());
        request = request.with_load_balancer(LbSpec::target_group(lb.name.clone(), "app", 80));
    }
    h.ecs.create_service(request).unwrap();
    h
}

async fn wait_until(what: &str, within: Duration, mut done: impl FnMut() -> bool) {
    let deadline = tokio::time::Instant::now() + within;
    while !done() {
        assert!(tokio::time::Instant::now() < deadline, "{what}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// A crashed task must leave every load balancer at once; with two target groups, the
/// second keeps routing to the dead task for the first one's whole deregistration delay.
#[tokio::test(start_paused = true)]
async fn a_crashed_task_leaves_every_load_balancer_at_once() {
    let (a, b) = (
        Recording::new("a", Duration::from_secs(300)),
        Recording::new("b", Duration::from_secs(300)),
    );
    let h = setup(&[&a, &b], 2).await;
    h.steady(&web()).await;
    let victim = h.live_tasks(&web()).remove(0);
    let id = victim.task_id.to_string();
    assert_eq!(b.state_of(&id), Some(TargetState::Healthy));
    let c = victim.containers[0].runtime_id.clone().unwrap();
    h.runtime(&victim.container_instance).kill(&c, 1).unwrap();
    tokio::time::sleep(Duration::from_secs(60)).await;
    assert_eq!(a.state_of(&id), Some(TargetState::Draining));
    assert_ne!(
        b.state_of(&id),
        Some(TargetState::Healthy),
        "a minute after the crash, target group b still routes to the dead task"
    );
}

/// A task that stops while the controller awaits the load balancer is forgotten by
/// `observe` without ever being deregistered.
#[tokio::test(start_paused = true)]
async fn a_task_stopping_during_a_load_balancer_call_is_still_deregistered() {
    let lb = Recording::new("a", Duration::from_secs(1));
    let h = setup(&[&lb], 2).await;
    h.steady(&web()).await;
    let victim = h.live_tasks(&web()).remove(0);
    let id = victim.task_id.to_string();
    assert_eq!(lb.state_of(&id), Some(TargetState::Healthy));

    // Hold the controller inside target_health.
    let gate = Arc::new(Notify::new());
    *lb.gate.lock().unwrap() = Some(gate.clone());
    h.ecs
        .update_service(UpdateService::new(cluster(), web()).with_desired_count(2))
        .unwrap();
    tokio::time::timeout(Duration::from_secs(60), lb.entered.notified())
        .await
        .expect("the controller called target_health");

    // The task crashes meanwhile.
    let c = victim.containers[0].runtime_id.clone().unwrap();
    h.runtime(&victim.container_instance).kill(&c, 1).unwrap();
    wait_until("victim STOPPED", Duration::from_secs(60), || {
        h.ecs
            .describe_tasks(&cluster(), std::slice::from_ref(&victim.task_id))[0]
            .last_status
            == TaskStatus::Stopped
    })
    .await;
    gate.notify_one();

    h.wait_service(&web(), "replaced", |s| {
        s.is_steady() && s.deployments[0].failed_tasks == 1
    })
    .await;
    tokio::time::sleep(Duration::from_secs(600)).await;
    assert!(
        lb.drained.lock().unwrap().contains(&id),
        "the stopped task was never deregistered: {:?}",
        lb.state_of(&id)
    );
}

/// A load balancer call that hangs stops the service's whole controller: here a
/// scale-out never happens.
#[tokio::test(start_paused = true)]
async fn a_hanging_load_balancer_does_not_stall_the_service() {
    let lb = Recording::new("a", Duration::from_secs(1));
    let h = setup(&[&lb], 2).await;
    h.steady(&web()).await;
    lb.hang.store(true, std::sync::atomic::Ordering::SeqCst);
    tokio::time::sleep(Duration::from_secs(60)).await;
    h.ecs
        .update_service(UpdateService::new(cluster(), web()).with_desired_count(3))
        .unwrap();
    tokio::time::sleep(Duration::from_secs(600)).await;
    assert_eq!(
        h.live_tasks(&web()).len(),
        3,
        "no task was started in 10 minutes"
    );
}

/// The target must be the TCP binding of the container port, not a UDP one.
#[tokio::test(start_paused = true)]
async fn the_target_is_the_tcp_binding() {
    let lb = Recording::new("a", Duration::from_secs(1));
    let h = Harness::new(1).await;
    h.register(
        r#"{"family": "web", "containerDefinitions": [
        {"name": "app", "image": "busybox", "memory": 64, "cpu": 64,
         "portMappings": [{"containerPort": 80, "hostPort": 0, "protocol": "udp"},
                          {"containerPort": 80, "hostPort": 0, "protocol": "tcp"}]}]}"#,
    );
    h.ecs.register_target_group("a", lb.clone());
    h.ecs
        .create_service(
            CreateService::new(cluster(), web(), "web".parse().unwrap(), 1)
                .with_load_balancer(LbSpec::target_group("a", "app", 80)),
        )
        .unwrap();
    h.steady(&web()).await;
    let task = h.live_tasks(&web()).remove(0);
    let bindings = &task.containers[0].network_bindings;
    println!("{bindings:?}");
    let tcp = bindings
        .iter()
        .find(|b| b.protocol == ecs::task_definition::TransportProtocol::Tcp)
        .unwrap()
        .host_port;
    let target = lb.targets.lock().unwrap()[&task.task_id.to_string()]
        .0
        .clone();
    assert_eq!(target.address.port(), tcp, "{bindings:?}");
}

#[derive(Debug)]
struct Constant(f64);

#[async_trait::async_trait]
impl MetricsSource for Constant {
    async fn sample(&self, _: &ServiceRef, _: &Metric) -> Option<f64> {
        Some(self.0)
    }
}

/// "Scale in when the queue is empty": LessThanOrEqualToThreshold 0 with a step whose
/// upper bound is 0. Below the threshold, Application Auto Scaling's upper bound is
/// inclusive: a breach of exactly 0 takes that step. Here no step matches.
#[tokio::test(start_paused = true)]
async fn a_step_at_exactly_the_threshold_of_a_lower_alarm_applies() {
    let h = Harness::new(1).await;
    h.register(TD);
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

/// A "never cut" deregistration delay used to overflow an Instant inside the library;
/// it is refused with a clear error (ELB's limit is 3,600 s).
#[tokio::test]
async fn a_huge_deregistration_delay_is_refused() {
    use ecs::load_balancer::{TcpLoadBalancer, TcpLoadBalancerConfig};
    let err = TcpLoadBalancer::bind(
        TcpLoadBalancerConfig::default().with_deregistration_delay(Duration::MAX),
    )
    .await
    .unwrap_err();
    assert!(err.to_string().contains("limit of 3600 s"), "{err}");
}

#[derive(Debug, Default)]
struct Settable(Mutex<f64>);

#[async_trait::async_trait]
impl MetricsSource for Settable {
    async fn sample(&self, _: &ServiceRef, _: &Metric) -> Option<f64> {
        Some(*self.0.lock().unwrap())
    }
}

/// Application Auto Scaling: during the scale-out cooldown "the scaling policy won't
/// increase the desired capacity again unless either a larger scale out is triggered or
/// the cooldown period ends". Here a larger scale-out waits out the whole cooldown.
#[tokio::test(start_paused = true)]
async fn a_larger_scale_out_is_not_held_back_by_the_cooldown() {
    use ecs::autoscaling::TargetTracking;
    let h = Harness::new(4).await;
    h.register(TD);
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

/// "Scale to 0, then delete": Application Auto Scaling moves the count inside the range
/// when the target is registered, not on every later UpdateService. Here a manual count
/// of 0 is put back to the minimum at the next period.
#[tokio::test(start_paused = true)]
async fn a_manual_count_outside_the_range_is_left_alone() {
    let h = Harness::new(1).await;
    h.register(TD);
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

/// With two target groups, a registration that succeeds in the first and fails in the
/// second is not remembered: the task is in the first one's rotation, and when it
/// crashes nothing deregisters it there.
#[tokio::test(start_paused = true)]
async fn a_partly_registered_task_is_deregistered_when_it_crashes() {
    let (a, b) = (
        Recording::new("a", Duration::from_secs(1)),
        Recording::new("b", Duration::from_secs(1)),
    );
    b.fail_register
        .store(true, std::sync::atomic::Ordering::SeqCst);
    let h = setup(&[&a, &b], 1).await;
    let mut victim = None;
    wait_until("registered in a", Duration::from_secs(600), || {
        victim = h
            .live_tasks(&web())
            .into_iter()
            .find(|t| a.state_of(t.task_id.as_ref()).is_some());
        victim.is_some()
    })
    .await;
    let victim = victim.unwrap();
    let c = victim.containers[0].runtime_id.clone().unwrap();
    h.runtime(&victim.container_instance).kill(&c, 1).unwrap();
    tokio::time::sleep(Duration::from_secs(600)).await;
    assert_eq!(
        a.state_of(victim.task_id.as_ref()),
        None,
        "the crashed task is still a target of a"
    );
}
