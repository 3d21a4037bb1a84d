//! Services behind a load balancer, on the in-memory runtime with tokio's paused clock:
//! tasks are registered only once RUNNING and HEALTHY, count as healthy only once the
//! load balancer says so, and are drained (deregistered) before they are stopped during
//! rolling updates, scale-in and draining; the target is the container port's TCP binding.
//! The fake load balancer (`support::fake_lb`) checks it.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use crate::support::fake_lb::FakeLb;
use crate::support::services::{Harness, cluster, web};
use ecs_core::cluster::InstanceStatus;
use ecs_core::control::UpdateContainerInstancesState;
use ecs_core::load_balancer::TargetState;
use ecs_core::placement::api::{PlacementStrategy, PlacementStrategyType};
use ecs_core::runtime::memory::Matcher;
use ecs_core::runtime::{Behavior, HealthStatus};
use ecs_core::service::{
    CreateService, DeploymentConfiguration, LoadBalancer as LbSpec, UpdateService,
};
use ecs_core::task::{Event, StopCode, TaskStatus};
use tokio::sync::broadcast::error::RecvError;
use tokio::time::Instant;

const TD: &str = r#"{"family": "web", "containerDefinitions": [
    {"name": "app", "image": "busybox", "memory": 64, "cpu": 64,
     "command": ["sh", "-c", "trap 'exit 0' TERM; while true; do sleep 1; done"],
     "portMappings": [{"containerPort": 80, "hostPort": 0}],
     "healthCheck": {"command": ["CMD-SHELL", "true"], "interval": 5}}]}"#;

async fn setup(lb: &Arc<FakeLb>, count: u32) -> Harness {
    setup_with(lb, count, |c| c).await
}

/// `setup`, with the service's request adjusted by `adjust` (placement, ...).
async fn setup_with(
    lb: &Arc<FakeLb>,
    count: u32,
    adjust: impl FnOnce(CreateService) -> CreateService,
) -> Harness {
    let h = Harness::new(2).await;
    h.register(TD);
    h.register(TD);
    for (_, rt) in &h.runtimes {
        rt.set_behavior(
            Matcher::Any,
            Behavior::forever().healthy_after(Some(Duration::from_secs(4))),
        );
    }
    h.ecs.register_target_group("web-tg", lb.clone());
    let spec = LbSpec::target_group("web-tg", "app", 80);
    h.ecs
        .create_service(adjust(
            CreateService::new(cluster(), web(), "web:1".parse().unwrap(), count)
                .with_load_balancer(spec)
                .with_deployment_configuration(
                    DeploymentConfiguration::default().with_percents(100, 200),
                ),
        ))
        .unwrap();
    h
}

/// Checks at every task event that a task asked to stop by the service was drained
/// first, and that a registered task was RUNNING and HEALTHY.
async fn watch_until(h: &Harness, lb: &FakeLb, done: impl Fn(&Harness) -> bool) {
    let mut events = h.ecs.subscribe();
    let mut asked: Vec<String> = Vec::new();
    tokio::time::timeout(Duration::from_secs(3600), async {
        loop {
            let Ok(e) = events.recv().await else { continue };
            if let Some(t) = e.task()
                && t.desired_status == TaskStatus::Stopped
                && t.stop_code == Some(StopCode::ServiceSchedulerInitiated)
                && !asked.contains(&t.task_id.to_string())
            {
                asked.push(t.task_id.to_string());
                assert!(
                    lb.drained.lock().unwrap().contains(&t.task_id.to_string()),
                    "task {} stopped before it was drained",
                    t.task_id
                );
            }
            for (id, _) in lb.targets.lock().unwrap().iter() {
                let tasks = h
                    .ecs
                    .describe_tasks(&cluster(), &[id.parse().unwrap()])
                    .unwrap();
                let t = &tasks[0];
                assert!(
                    t.last_status == TaskStatus::Running,
                    "registered before RUNNING: {t:?}"
                );
            }
            if let Event::Service { .. } | Event::TaskStateChange(_) = e
                && done(h)
            {
                return;
            }
        }
    })
    .await
    .expect("done within a virtual hour");
}

#[tokio::test(start_paused = true)]
async fn tasks_join_the_load_balancer_healthy_and_leave_it_drained() {
    let lb = FakeLb::new("web-tg", Duration::from_secs(30));
    let h = setup(&lb, 3).await;
    let s = h.steady(&web()).await;
    assert_eq!(s.running_count, 3);
    assert_eq!(lb.healthy(), 3);
    // The deployment completed only once the targets were healthy.
    assert!(s.events.iter().all(|e| !e.message.contains("draining")));

    // A rolling update: old tasks leave only drained, never below 3 healthy targets.
    *lb.min_healthy.lock().unwrap() = None;
    h.ecs
        .update_service(
            UpdateService::new(cluster(), web()).with_task_definition("web:2".parse().unwrap()),
        )
        .unwrap();
    watch_until(&h, &lb, |h| {
        let s = h.describe(&web());
        s.is_steady() && s.task_definition.to_string() == "web:2"
    })
    .await;
    assert_eq!(
        lb.drained.lock().unwrap().len(),
        3,
        "the three old tasks were drained"
    );
    assert!(
        lb.min_healthy.lock().unwrap().unwrap() >= 3,
        "healthy targets fell to {:?}",
        lb.min_healthy.lock().unwrap()
    );
    let live = h.live_tasks(&web());
    let targets = lb.targets.lock().unwrap().clone();
    for t in &live {
        assert_eq!(t.task_definition.to_string(), "web:2");
        let (target, state, _) = &targets[&t.task_id.to_string()];
        assert_eq!(*state, TargetState::Healthy);
        let port = t.containers[0].network_bindings[0].host_port;
        assert_eq!(target.address, format!("127.0.0.1:{port}").parse().unwrap());
    }
    let s = h.describe(&web());
    assert!(
        s.events.iter().any(|e| e
            .message
            .starts_with("(service web) has begun draining connections on")),
        "{:?}",
        s.events
    );

    // Scale-in drains too.
    h.ecs
        .update_service(UpdateService::new(cluster(), web()).with_desired_count(1))
        .unwrap();
    watch_until(&h, &lb, |h| {
        let s = h.describe(&web());
        s.is_steady() && s.running_count == 1
    })
    .await;
    assert_eq!(lb.drained.lock().unwrap().len(), 5);
    assert_eq!(lb.targets.lock().unwrap().len(), 1);
}

/// Draining an instance moves the service's tasks off it as a deployment does: each
/// leaves the load balancer, its deregistration delay over, before it is asked to stop;
/// its replacement becomes a target only once RUNNING and HEALTHY; and the healthy
/// targets never fall below the desired count (minimumHealthyPercent 100). Checked at
/// every event, so that a stop that came first and a drain that caught up later fails.
#[tokio::test(start_paused = true)]
async fn draining_an_instance_drains_its_targets_before_stopping_them() {
    let lb = FakeLb::new("web-tg", Duration::from_secs(30));
    // Spread over instances: two of the four tasks on i-0, the instance to drain.
    let h = setup_with(&lb, 4, |c| {
        c.with_placement_strategy(PlacementStrategy::new(
            PlacementStrategyType::Spread,
            Some("instanceId"),
        ))
    })
    .await;
    h.steady(&web()).await;
    assert_eq!(lb.healthy(), 4);
    let on_drained: BTreeSet<String> = h
        .live_tasks(&web())
        .iter()
        .filter(|t| t.container_instance.as_ref().unwrap().as_str() == "i-0")
        .map(|t| t.task_id.to_string())
        .collect();
    assert_eq!(on_drained.len(), 2, "spread put two tasks on i-0");
    *lb.min_healthy.lock().unwrap() = None;

    let mut events = h.ecs.subscribe();
    h.ecs
        .update_container_instances_state(UpdateContainerInstancesState::new(
            cluster(),
            vec!["i-0".parse().unwrap()],
            InstanceStatus::Draining,
        ))
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(3600);
    loop {
        let e = match tokio::time::timeout_at(deadline, events.recv()).await {
            Ok(Ok(e)) => e,
            // A missed event would be an unchecked one.
            Ok(Err(RecvError::Lagged(n))) => panic!("missed {n} events"),
            Ok(Err(RecvError::Closed)) => panic!("the event stream closed"),
            Err(_) => panic!(
                "i-0 not drained within a virtual hour: {:#?}",
                h.live_tasks(&web())
            ),
        };
        // A task asked to stop (as it was at the event, not as it is now) is one of
        // i-0's, and was out of the load balancer, its drain completed, by then.
        if let Some(t) = e.task()
            && t.desired_status == TaskStatus::Stopped
        {
            let id = t.task_id.to_string();
            assert!(on_drained.contains(&id), "a task off i-0 stopped: {t:?}");
            assert!(
                lb.drained.lock().unwrap().contains(&id),
                "task {id} asked to stop before its drain completed"
            );
            assert!(!lb.targets.lock().unwrap().contains_key(&id));
        }
        // Every target, replacements included, is a RUNNING and HEALTHY task.
        let targets: Vec<String> = lb.targets.lock().unwrap().keys().cloned().collect();
        for id in targets {
            let t = &h
                .ecs
                .describe_tasks(&cluster(), &[id.parse().unwrap()])
                .unwrap()[0];
            assert!(
                t.last_status == TaskStatus::Running && t.health_status == HealthStatus::Healthy,
                "a target before it was RUNNING and HEALTHY: {t:?}"
            );
        }
        assert!(
            lb.healthy() >= 4,
            "healthy targets fell to {}",
            lb.healthy()
        );
        let live = h.live_tasks(&web());
        if h.describe(&web()).is_steady()
            && live.len() == 4
            && live
                .iter()
                .all(|t| t.container_instance.as_ref().unwrap().as_str() == "i-1")
        {
            break;
        }
    }

    // Exactly i-0's tasks were drained, stopped for the draining, and the targets now
    // are the four tasks on i-1, all healthy.
    let drained: BTreeSet<String> = lb.drained.lock().unwrap().iter().cloned().collect();
    assert_eq!(drained, on_drained);
    assert!(
        lb.min_healthy.lock().unwrap().unwrap() >= 4,
        "healthy targets fell to {:?} at a load balancer call",
        lb.min_healthy.lock().unwrap()
    );
    let ids: Vec<_> = on_drained.iter().map(|i| i.parse().unwrap()).collect();
    for t in h.ecs.describe_tasks(&cluster(), &ids).unwrap() {
        assert_eq!(
            t.stopped_reason.as_deref(),
            Some("Container instance is draining"),
            "{t:?}"
        );
    }
    let targets = lb.targets.lock().unwrap().clone();
    let live: BTreeSet<String> = h
        .live_tasks(&web())
        .iter()
        .map(|t| t.task_id.to_string())
        .collect();
    assert_eq!(targets.keys().cloned().collect::<BTreeSet<_>>(), live);
    assert!(targets.values().all(|t| t.1 == TargetState::Healthy));
}

#[tokio::test(start_paused = true)]
async fn a_crashed_task_leaves_the_load_balancer() {
    let lb = FakeLb::new("web-tg", Duration::from_secs(300));
    let h = setup(&lb, 2).await;
    h.steady(&web()).await;
    let victim = h.live_tasks(&web()).remove(0);
    let c = victim.containers[0].runtime_id.clone().unwrap();
    h.runtime(victim.container_instance.as_ref().unwrap())
        .kill(&c, 1)
        .unwrap();
    h.wait_service(&web(), "replaced", |s| {
        s.is_steady() && s.deployments[0].failed_tasks == 1
    })
    .await;
    // Out of rotation at once: draining (no new connections), then gone.
    let targets = lb.targets.lock().unwrap().clone();
    let victim_state = targets.get(&victim.task_id.to_string()).map(|t| t.1);
    assert!(
        victim_state.is_none_or(|s| s == TargetState::Draining),
        "{victim_state:?}"
    );
    let serving = targets
        .values()
        .filter(|t| t.1 == TargetState::Healthy)
        .count();
    assert_eq!(
        serving,
        2,
        "{targets:#?} {:#?}",
        h.live_tasks(&web())
            .iter()
            .map(|t| (t.task_id.to_string(), t.last_status, t.health_status))
            .collect::<Vec<_>>()
    );
}

#[tokio::test(start_paused = true)]
async fn load_balancers_are_checked_when_the_service_is_created() {
    let h = Harness::new(1).await;
    h.register(TD);
    let refuse = |spec: LbSpec, want: &str| {
        let err = h
            .ecs
            .create_service(
                CreateService::new(cluster(), web(), "web".parse().unwrap(), 1)
                    .with_load_balancer(spec),
            )
            .unwrap_err();
        assert!(err.to_string().contains(want), "{err} lacks {want}");
    };
    refuse(
        LbSpec::target_group("nope", "app", 80),
        "target group \"nope\" is not registered",
    );
    h.ecs
        .register_target_group("nope", FakeLb::new("web-tg", Duration::ZERO));
    refuse(
        LbSpec::target_group("nope", "app", 81),
        "maps no containerPort 81",
    );
    refuse(
        LbSpec::target_group("nope", "db", 80),
        "container \"db\" is not in task definition web",
    );
}

/// The target is the TCP binding of the container port, not a UDP one of the same port.
#[tokio::test(start_paused = true)]
async fn the_target_is_the_tcp_binding() {
    let lb = FakeLb::new("a", Duration::from_secs(1));
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
    let tcp = bindings
        .iter()
        .find(|b| b.protocol == ecs_core::task_definition::TransportProtocol::Tcp)
        .unwrap()
        .host_port;
    let target = lb.targets.lock().unwrap()[&task.task_id.to_string()]
        .0
        .clone();
    assert_eq!(target.address.port(), tcp, "{bindings:?}");
}
