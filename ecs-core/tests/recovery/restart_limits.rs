//! A restart keeps what the service controller knows: a program killed a few seconds
//! into a rolling update (minimumHealthyPercent 100) and started again keeps the
//! deployment's floor at every event across the restart, as without one (paused clock,
//! in-memory runtime, a store; the engine lives on).
//!
//! Tasks without a health check count as healthy 40 seconds after they are RUNNING
//! (ECS's rule). A controller that forgot since when each task runs would see none
//! healthy after the restart and retire the old revision's tasks at once.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use ecs_core::cluster::Resources;
use ecs_core::control::{EcsConfig, RegisterContainerInstance};
use ecs_core::runtime::InMemoryRuntime;
use ecs_core::service::{CreateService, DeploymentConfiguration, RolloutState, UpdateService};
use ecs_core::store::MemoryStore;
use ecs_core::task::{Event, TaskStatus};
use ecs_core::{ClusterName, Ecs, ServiceName, TaskDefinition, TaskId};
use tokio::time::Instant;

const HEALTHY_AFTER: Duration = Duration::from_secs(40);

fn dev() -> ClusterName {
    "dev".parse().unwrap()
}

fn web() -> ServiceName {
    "web".parse().unwrap()
}

fn definition(revision_marker: &str) -> TaskDefinition {
    TaskDefinition::from_json(&format!(
        r#"{{"family": "web", "containerDefinitions": [{{"name": "app", "image": "busybox",
            "memory": 64, "cpu": 64, "environment": [{{"name": "REV", "value": "{revision_marker}"}}]}}]}}"#
    ))
    .unwrap()
    .definition
}

/// What the checker has seen of the service's tasks: since when each has been RUNNING,
/// and whether it is still wanted.
#[derive(Default)]
struct Seen {
    running_since: HashMap<TaskId, Instant>,
    stopping: std::collections::HashSet<TaskId>,
    /// Events checked once the floor applies.
    checked: usize,
    violations: Vec<String>,
    armed: bool,
}

impl Seen {
    fn healthy(&self, now: Instant) -> usize {
        self.running_since
            .iter()
            .filter(|(id, since)| !self.stopping.contains(*id) && **since + HEALTHY_AFTER <= now)
            .count()
    }

    fn on(&mut self, event: &Event) {
        let Some(task) = event.task() else { return };
        if task.group.to_string() != "service:web" {
            return;
        }
        let now = Instant::now();
        if task.desired_status == TaskStatus::Stopped || task.last_status == TaskStatus::Stopped {
            self.stopping.insert(task.task_id.clone());
        } else if task.last_status == TaskStatus::Running {
            self.running_since
                .entry(task.task_id.clone())
                .or_insert(now);
        }
        if self.armed {
            self.checked += 1;
            let healthy = self.healthy(now);
            if healthy < 3 {
                self.violations.push(format!(
                    "at {:?}: {healthy} healthy tasks after task {} went {} (desired {}, {:?}: {:?}; started {:?})",
                    now,
                    task.task_id,
                    task.last_status,
                    task.desired_status,
                    task.stop_code,
                    task.stopped_reason,
                    task.started_at,
                ));
            }
        }
    }
}

/// Feeds `ecs`'s events to `seen` until the returned handle is aborted.
fn watch(ecs: &Ecs, seen: Arc<Mutex<Seen>>) -> tokio::task::JoinHandle<()> {
    let mut events = ecs.subscribe();
    tokio::spawn(async move {
        while let Ok(e) = events.recv().await {
            seen.lock().unwrap().on(&e);
        }
    })
}

async fn open(store: &MemoryStore) -> Ecs {
    Ecs::open(EcsConfig::default(), Arc::new(store.clone()))
        .await
        .unwrap()
}

#[tokio::test(flavor = "current_thread", start_paused = true)]
async fn a_restart_during_a_rolling_update_keeps_the_minimum_healthy_floor() {
    for kill_after in [1, 2, 3] {
        let store = MemoryStore::new();
        let engine = InMemoryRuntime::new(Resources::new(8192, 16384));
        let seen = Arc::new(Mutex::new(Seen::default()));

        let ecs = open(&store).await;
        let checker = watch(&ecs, seen.clone());
        ecs.create_cluster(dev()).unwrap();
        ecs.register_container_instance(RegisterContainerInstance::new(
            dev(),
            "i-1".parse().unwrap(),
            Arc::new(engine.clone()),
        ))
        .await
        .unwrap();
        ecs.register_task_definition(definition("1")).unwrap();
        ecs.create_service(
            CreateService::new(dev(), web(), "web".parse().unwrap(), 3)
                .with_deployment_configuration(
                    DeploymentConfiguration::default().with_percents(100, 200),
                ),
        )
        .unwrap();
        ecs.wait_for_service(&dev(), &web(), |s| s.is_steady())
            .await
            .unwrap();
        seen.lock().unwrap().armed = true;

        // The rolling update, and the kill a few seconds into it.
        ecs.register_task_definition(definition("2")).unwrap();
        ecs.update_service(
            UpdateService::new(dev(), web()).with_task_definition("web".parse().unwrap()),
        )
        .unwrap();
        tokio::time::sleep(Duration::from_secs(kill_after)).await;
        ecs.halt().await;
        drop(ecs);
        checker.abort();

        // Started again at once on the same store; the engine kept its containers.
        let ecs = open(&store).await;
        let checker = watch(&ecs, seen.clone());
        ecs.register_container_instance(RegisterContainerInstance::new(
            dev(),
            "i-1".parse().unwrap(),
            Arc::new(engine.clone()),
        ))
        .await
        .unwrap();
        let done = ecs
            .wait_for_service(&dev(), &web(), |s| {
                s.is_steady()
                    && s.primary()
                        .is_some_and(|p| p.rollout_state == RolloutState::Completed)
            })
            .await
            .unwrap();
        assert_eq!(done.task_definition.to_string(), "web:2");
        checker.abort();
        ecs.halt().await;

        let seen = seen.lock().unwrap();
        assert!(seen.checked >= 6, "events checked: {}", seen.checked);
        assert!(
            seen.violations.is_empty(),
            "killed after {kill_after} s: {:#?}",
            seen.violations
        );
    }
}
