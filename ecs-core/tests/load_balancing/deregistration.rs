//! Every task that stops leaves every load balancer it was a target of: a crash with two
//! target groups, a stop while the controller awaits the load balancer, a registration
//! that failed in one target group of two; and a load balancer that hangs does not stall
//! the service (in-memory runtime, tokio's paused clock, the fake load balancer).

use std::sync::Arc;
use std::time::Duration;

use crate::support::fake_lb::FakeLb;
use crate::support::services::{Harness, cluster, web};
use ecs_core::load_balancer::TargetState;
use ecs_core::runtime::Behavior;
use ecs_core::runtime::memory::Matcher;
use ecs_core::service::{
    CreateService, DeploymentConfiguration, LoadBalancer as LbSpec, UpdateService,
};
use ecs_core::task::TaskStatus;
use tokio::sync::Notify;

const TD: &str = r#"{"family": "web", "containerDefinitions": [
    {"name": "app", "image": "busybox", "memory": 64, "cpu": 64,
     "command": ["sh", "-c", "trap 'exit 0' TERM; while true; do sleep 1; done"],
     "portMappings": [{"containerPort": 80, "hostPort": 0}],
     "healthCheck": {"command": ["CMD-SHELL", "true"], "interval": 5}}]}"#;

async fn setup(lbs: &[&Arc<FakeLb>], count: u32) -> Harness {
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

/// A crashed task leaves every load balancer at once: with two target groups (each with
/// a 300 s deregistration delay), a minute after the crash the task is draining in the
/// first and no longer healthy in the second: the second's deregistration does not wait
/// out the first one's delay (waiting would keep the second routing to the dead task).
#[tokio::test(start_paused = true)]
async fn a_crashed_task_leaves_every_load_balancer_at_once() {
    let (a, b) = (
        FakeLb::new("a", Duration::from_secs(300)),
        FakeLb::new("b", Duration::from_secs(300)),
    );
    let h = setup(&[&a, &b], 2).await;
    h.steady(&web()).await;
    let victim = h.live_tasks(&web()).remove(0);
    let id = victim.task_id.to_string();
    assert_eq!(b.state_of(&id), Some(TargetState::Healthy));
    let c = victim.containers[0].runtime_id.clone().unwrap();
    h.runtime(victim.container_instance.as_ref().unwrap())
        .kill(&c, 1)
        .unwrap();
    tokio::time::sleep(Duration::from_secs(60)).await;
    assert_eq!(a.state_of(&id), Some(TargetState::Draining));
    assert_ne!(
        b.state_of(&id),
        Some(TargetState::Healthy),
        "a minute after the crash, target group b still routes to the dead task"
    );
}

/// A task that stops while the controller awaits the load balancer (held inside
/// `target_health`) is still deregistered: once the controller goes on, the task is
/// replaced and its target drained.
#[tokio::test(start_paused = true)]
async fn a_task_stopping_during_a_load_balancer_call_is_still_deregistered() {
    let lb = FakeLb::new("a", Duration::from_secs(1));
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
    h.runtime(victim.container_instance.as_ref().unwrap())
        .kill(&c, 1)
        .unwrap();
    wait_until("victim STOPPED", Duration::from_secs(60), || {
        h.ecs
            .describe_tasks(&cluster(), std::slice::from_ref(&victim.task_id))
            .unwrap()[0]
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

/// A load balancer whose health calls hang does not stall the service's controller: a
/// scale-out from 2 to 3 tasks still happens within 10 minutes.
#[tokio::test(start_paused = true)]
async fn a_hanging_load_balancer_does_not_stall_the_service() {
    let lb = FakeLb::new("a", Duration::from_secs(1));
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

/// With two target groups, a task whose registration succeeds in the first and fails in
/// the second is remembered as a target of the first: when it crashes, it is
/// deregistered there.
#[tokio::test(start_paused = true)]
async fn a_partly_registered_task_is_deregistered_when_it_crashes() {
    let (a, b) = (
        FakeLb::new("a", Duration::from_secs(1)),
        FakeLb::new("b", Duration::from_secs(1)),
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
    h.runtime(victim.container_instance.as_ref().unwrap())
        .kill(&c, 1)
        .unwrap();
    tokio::time::sleep(Duration::from_secs(600)).await;
    assert_eq!(
        a.state_of(victim.task_id.as_ref()),
        None,
        "the crashed task is still a target of a"
    );
}
