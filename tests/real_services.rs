//! Services end to end on real engines (provisioned by `scripts/engines`): a web service
//! of busybox httpd tasks reaches a steady state and answers HTTP through its published
//! ports; a container killed from outside is replaced by a RUNNING task within 2 s; a
//! rolling update serves the new revision; draining moves tasks to another instance
//! (Docker, with the second daemon); deletion leaves no container behind.

#[path = "support/engines.rs"]
mod engines;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use ecs::cluster::InstanceStatus;
use ecs::control::{
    DeleteService, EcsConfig, RegisterContainerInstance, UpdateContainerInstancesState,
};
use ecs::runtime::{ContainerRuntime, labels};
use ecs::service::{CreateService, DeploymentConfiguration, Service, ServiceStatus, UpdateService};
use ecs::task::{Task, TaskStatus};
use ecs::{ClusterName, Ecs, ServiceName, TaskDefinition};
use tokio::time::{Instant, timeout};

fn web_definition(family: &str, version: u32) -> TaskDefinition {
    let image = engines::image();
    let json = format!(
        r#"{{"family": "{family}", "networkMode": "bridge", "containerDefinitions": [
            {{"name": "web", "image": "{image}", "memory": 32, "cpu": 64,
              "command": ["sh", "-c", "mkdir -p /srv && echo v{version} > /srv/index.html && exec httpd -f -p 80 -h /srv"],
              "linuxParameters": {{"initProcessEnabled": true}}, "stopTimeout": 5,
              "portMappings": [{{"containerPort": 80, "hostPort": 0}}],
              "healthCheck": {{"command": ["CMD-SHELL", "wget -q -O /dev/null http://127.0.0.1/ || exit 1"],
                              "interval": 5, "timeout": 2, "retries": 2}}}}]}}"#
    );
    TaskDefinition::from_json(&json).expect("valid").definition
}

fn port_of(t: &Task) -> u16 {
    t.container("web")
        .and_then(|c| c.network_bindings.iter().find(|b| b.container_port == 80))
        .unwrap_or_else(|| panic!("no published port: {t:?}"))
        .host_port
}

struct Scenario {
    ecs: Ecs,
    cluster: ClusterName,
    service: ServiceName,
    family: String,
    /// (instance id, runtime, CLI and its host flag for killing from outside)
    instances: Vec<(String, Arc<dyn ContainerRuntime>, Vec<String>)>,
}

impl Scenario {
    async fn new(
        name: &str,
        instances: Vec<(String, Arc<dyn ContainerRuntime>, Vec<String>)>,
    ) -> Self {
        let mut config = EcsConfig::default();
        // A task counts as a success after 3 s healthy: deployments complete sooner.
        config.service_throttle.stable_after = Duration::from_secs(3);
        let ecs = Ecs::new(config);
        let cluster: ClusterName = format!("svc-{name}-{}", std::process::id())
            .parse()
            .unwrap();
        ecs.create_cluster(cluster.clone()).unwrap();
        for (id, rt, _) in &instances {
            ecs.register_container_instance(RegisterContainerInstance::new(
                cluster.clone(),
                id.parse().unwrap(),
                rt.clone(),
            ))
            .await
            .unwrap();
        }
        let family = format!("svc-{name}-{}", std::process::id());
        ecs.register_task_definition(web_definition(&family, 1))
            .unwrap();
        Self {
            ecs,
            cluster,
            service: "web".parse().unwrap(),
            family,
            instances,
        }
    }

    async fn wait(&self, what: &str, within: Duration, f: impl Fn(&Service) -> bool) -> Service {
        engines::wait_for_service(&self.ecs, &self.cluster, &self.service, what, within, f).await
    }

    fn live(&self) -> Vec<Task> {
        let ids = self
            .ecs
            .list_tasks(ecs::control::ListTasks::new(self.cluster.clone()))
            .unwrap();
        self.ecs
            .describe_tasks(&self.cluster, &ids)
            .unwrap()
            .into_iter()
            .filter(|t| t.last_status != TaskStatus::Stopped)
            .collect()
    }

    fn kill_from_outside(&self, task: &Task) {
        let (_, _, cli) = self
            .instances
            .iter()
            .find(|(id, _, _)| *id == task.container_instance.as_ref().unwrap().as_str())
            .unwrap();
        let container = task.container("web").unwrap().runtime_id.clone().unwrap();
        let out = std::process::Command::new(&cli[0])
            .args(&cli[1..])
            .args(["kill", &container.0])
            .output()
            .unwrap();
        assert!(out.status.success(), "{out:?}");
    }

    async fn run(&self, drain: Option<&str>) {
        let ecs = &self.ecs;
        ecs.create_service(
            CreateService::new(
                self.cluster.clone(),
                self.service.clone(),
                format!("{}:1", self.family).parse().unwrap(),
                2,
            )
            .with_deployment_configuration(
                DeploymentConfiguration::default().with_percents(100, 200),
            ),
        )
        .unwrap();
        self.wait("a steady state", Duration::from_secs(90), |s| s.is_steady())
            .await;
        let tasks = self.live();
        assert_eq!(tasks.len(), 2);
        for t in &tasks {
            assert!(engines::http_get(port_of(t)).contains("v1"), "{t:?}");
        }

        // Crash: a container killed from outside, replaced within 2 seconds.
        let mut events = ecs.subscribe();
        let victim = &tasks[0];
        self.kill_from_outside(victim);
        let killed = Instant::now();
        let replacement = timeout(Duration::from_secs(10), async {
            loop {
                if let Ok(ecs::task::Event::TaskStateChange(t)) = events.recv().await
                    && t.last_status == TaskStatus::Running
                    && !tasks.iter().any(|old| old.task_id == t.task_id)
                {
                    return t;
                }
            }
        })
        .await
        .expect("a replacement RUNNING");
        let latency = killed.elapsed();
        assert!(
            latency < Duration::from_secs(2),
            "replacement RUNNING after {latency:?}"
        );
        println!("replacement RUNNING {latency:?} after the kill");
        let s = self
            .wait("steady after the crash", Duration::from_secs(60), |s| {
                s.is_steady() && s.deployments[0].failed_tasks == 1
            })
            .await;
        assert_eq!(s.running_count, 2);
        assert!(self.live().iter().any(|t| t.task_id == replacement.task_id));

        // A rolling update to revision 2.
        let v2 = ecs
            .register_task_definition(web_definition(&self.family, 2))
            .unwrap()
            .reference;
        ecs.update_service(
            UpdateService::new(self.cluster.clone(), self.service.clone())
                .with_task_definition(v2.clone()),
        )
        .unwrap();
        self.wait("revision 2 steady", Duration::from_secs(120), |s| {
            s.is_steady() && s.task_definition == v2
        })
        .await;
        let tasks = self.live();
        assert_eq!(tasks.len(), 2);
        for t in &tasks {
            assert_eq!(t.task_definition, v2);
            assert!(engines::http_get(port_of(t)).contains("v2"), "{t:?}");
        }

        // Draining moves the tasks to the other instance.
        if let Some(instance) = drain {
            ecs.update_container_instances_state(UpdateContainerInstancesState::new(
                self.cluster.clone(),
                vec![instance.parse().unwrap()],
                InstanceStatus::Draining,
            ))
            .unwrap();
            self.wait("the tasks moved", Duration::from_secs(120), |s| {
                s.is_steady()
                    && self
                        .live()
                        .iter()
                        .all(|t| t.container_instance.as_ref().unwrap().as_str() != instance)
            })
            .await;
            for t in self.live() {
                assert!(engines::http_get(port_of(&t)).contains("v2"), "{t:?}");
            }
        }

        // Deletion: nothing left on any engine.
        ecs.delete_service(
            DeleteService::new(self.cluster.clone(), self.service.clone()).with_force(true),
        )
        .unwrap();
        self.wait("INACTIVE", Duration::from_secs(60), |s| {
            s.status == ServiceStatus::Inactive
        })
        .await;
        for (id, rt, _) in &self.instances {
            let left = rt
                .list_containers(&BTreeMap::from([(
                    labels::CLUSTER.to_owned(),
                    self.cluster.to_string(),
                )]))
                .await
                .unwrap();
            assert!(left.is_empty(), "{id}: {left:?}");
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_service_on_two_docker_daemons() {
    let (host, host2) = (engines::docker_host(), engines::docker2_host());
    let (docker, docker2) = (engines::docker(), engines::docker2());
    let scenario = Scenario::new(
        "docker",
        vec![
            (
                "i-docker".into(),
                Arc::new(docker),
                vec!["docker".into(), "-H".into(), host],
            ),
            (
                "i-docker2".into(),
                Arc::new(docker2),
                vec!["docker".into(), "-H".into(), host2],
            ),
        ],
    )
    .await;
    scenario.run(Some("i-docker")).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_service_on_podman() {
    let podman = engines::podman();
    let scenario = Scenario::new(
        "podman",
        vec![("i-podman".into(), Arc::new(podman), vec!["podman".into()])],
    )
    .await;
    scenario.run(None).await;
}
