//! What the service tests share: a cluster of in-memory instances, task definitions,
//! waits bounded on the paused clock, and the deployment invariants.

#![allow(dead_code)]

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::Duration;

use ecs_core::cluster::Resources;
use ecs_core::control::{EcsConfig, RegisterContainerInstance};
use ecs_core::runtime::{HealthStatus, InMemoryRuntime};
use ecs_core::service::Service;
use ecs_core::task::{Task, TaskStatus};
use ecs_core::{ClusterName, Ecs, InstanceId, ServiceName, TaskDefinition, TaskId};

pub fn cluster() -> ClusterName {
    "dev".parse().unwrap()
}

pub fn web() -> ServiceName {
    "web".parse().unwrap()
}

pub struct Harness {
    pub ecs: Ecs,
    pub runtimes: Vec<(InstanceId, InMemoryRuntime)>,
}

impl Harness {
    /// `n` instances `i-0`..`i-{n-1}`, in zones a, b, c in turn.
    pub async fn new(n: usize) -> Self {
        Self::with_config(n, EcsConfig::default()).await
    }

    pub async fn with_config(n: usize, config: EcsConfig) -> Self {
        let ecs = Ecs::new(config);
        ecs.create_cluster(cluster()).unwrap();
        let mut h = Self {
            ecs,
            runtimes: Vec::new(),
        };
        for _ in 0..n {
            h.add_instance().await;
        }
        h
    }

    pub async fn add_instance(&mut self) -> InstanceId {
        let i = self.runtimes.len();
        let id: InstanceId = format!("i-{i}").parse().unwrap();
        let rt = InMemoryRuntime::new(Resources::new(4096, 8192));
        let zone = ["a", "b", "c"][i % 3];
        self.ecs
            .register_container_instance(
                RegisterContainerInstance::new(cluster(), id.clone(), Arc::new(rt.clone()))
                    .with_attributes(BTreeMap::from([(
                        "ecs.availability-zone".to_owned(),
                        format!("zone-{zone}"),
                    )])),
            )
            .await
            .unwrap();
        self.runtimes.push((id.clone(), rt));
        id
    }

    pub fn runtime(&self, instance: &InstanceId) -> &InMemoryRuntime {
        &self.runtimes.iter().find(|(i, _)| i == instance).unwrap().1
    }

    pub fn register(&self, json: &str) {
        self.ecs
            .register_task_definition(TaskDefinition::from_json(json).unwrap().definition)
            .unwrap();
    }

    /// The service's tasks that are not STOPPED.
    pub fn live_tasks(&self, service: &ServiceName) -> Vec<Task> {
        let ids: Vec<TaskId> = self
            .ecs
            .list_tasks(ecs_core::control::ListTasks::new(cluster()))
            .unwrap();
        self.ecs
            .describe_tasks(&cluster(), &ids)
            .unwrap()
            .into_iter()
            .filter(|t| t.group.to_string() == format!("service:{service}"))
            .filter(|t| t.last_status != TaskStatus::Stopped)
            .collect()
    }

    pub fn describe(&self, service: &ServiceName) -> Service {
        self.ecs.describe_service(&cluster(), service).unwrap()
    }

    /// Waits on the paused clock, for at most a virtual hour.
    pub async fn wait_service(
        &self,
        service: &ServiceName,
        what: &str,
        condition: impl Fn(&Service) -> bool,
    ) -> Service {
        match tokio::time::timeout(
            Duration::from_secs(3600),
            self.ecs.wait_for_service(&cluster(), service, condition),
        )
        .await
        {
            Ok(s) => s.unwrap(),
            Err(_) => panic!(
                "timed out waiting for {what}: {:#?}\ntasks: {:#?}",
                self.describe(service),
                self.live_tasks(service)
            ),
        }
    }

    pub async fn steady(&self, service: &ServiceName) -> Service {
        self.wait_service(service, "a steady state", |s| s.is_steady())
            .await
    }
}

/// A service's tasks as seen through the event stream, to check invariants at every
/// change rather than only at the end.
#[derive(Default)]
pub struct View {
    pub tasks: HashMap<TaskId, Task>,
}

impl View {
    pub fn apply(&mut self, task: &Task, service: &ServiceName) {
        if task.group.to_string() == format!("service:{service}") {
            self.tasks.insert(task.task_id.clone(), task.clone());
        }
    }

    /// Tasks that are not STOPPED (stopping ones included: they still hold their place).
    pub fn existing(&self) -> usize {
        self.tasks
            .values()
            .filter(|t| t.last_status != TaskStatus::Stopped)
            .count()
    }

    /// RUNNING tasks the service still wants, healthy where they have a health check.
    pub fn healthy(&self, checked: bool) -> usize {
        self.tasks
            .values()
            .filter(|t| {
                t.last_status == TaskStatus::Running
                    && t.desired_status == TaskStatus::Running
                    && if checked {
                        t.health_status == HealthStatus::Healthy
                    } else {
                        t.health_status != HealthStatus::Unhealthy
                    }
            })
            .count()
    }
}
