//! End to end on real engines: one cluster of three instances (Docker, a second Docker
//! daemon, Podman, all provisioned by `scripts/engines`), a multi-container task with
//! dependsOn and a health check spread across them, HTTP answered through published
//! ports, and a container killed from outside seen STOPPED with its exit code at once.

#[path = "support/engines.rs"]
mod engines;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use ecs::control::{EcsConfig, RegisterContainerInstance, RunTask, StopTask};
use ecs::runtime::{ContainerRuntime, HealthStatus, labels};
use ecs::task::{ContainerStatus, Task, TaskStatus};
use ecs::{ClusterName, Ecs, TaskDefinition, TaskId};
use tokio::time::{Instant, timeout};

fn engines() -> Vec<(&'static str, &'static str, Arc<dyn ContainerRuntime>)> {
    vec![
        ("i-docker", "zone-a", Arc::new(engines::docker())),
        ("i-docker2", "zone-b", Arc::new(engines::docker2())),
        ("i-podman", "zone-c", Arc::new(engines::podman())),
    ]
}

fn task_definition(family: &str) -> TaskDefinition {
    let image = engines::image();
    let json = format!(
        r#"{{"family": "{family}", "networkMode": "bridge", "containerDefinitions": [
            {{"name": "setup", "image": "{image}", "memory": 16, "essential": false,
              "command": ["sh", "-c", "echo ready; exit 0"]}},
            {{"name": "web", "image": "{image}", "memory": 32, "cpu": 64,
              "command": ["httpd", "-f", "-p", "80", "-h", "/www"],
              "portMappings": [{{"containerPort": 80, "hostPort": 0}}],
              "healthCheck": {{"command": ["CMD-SHELL", "wget -q -O /dev/null http://127.0.0.1/ || exit 1"],
                              "interval": 5, "timeout": 2, "retries": 2}},
              "dependsOn": [{{"containerName": "setup", "condition": "SUCCESS"}}]}},
            {{"name": "sidecar", "image": "{image}", "memory": 16,
              "command": ["sh", "-c", "trap 'exit 0' TERM; while true; do sleep 1; done"],
              "dependsOn": [{{"containerName": "web", "condition": "HEALTHY"}}]}}]}}"#
    );
    TaskDefinition::from_json(&json).expect("valid").definition
}

async fn wait(
    ecs: &Ecs,
    id: &TaskId,
    what: &str,
    within: Duration,
    f: impl Fn(&Task) -> bool,
) -> Task {
    timeout(within, ecs.wait_for(id, f))
        .await
        .unwrap_or_else(|_| panic!("{what} not within {within:?}"))
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cluster_of_three_real_instances() {
    let ecs = Ecs::new(EcsConfig::default());
    let cluster: ClusterName = format!("e2e-{}", std::process::id()).parse().unwrap();
    ecs.create_cluster(cluster.clone()).unwrap();
    let engines = engines();
    for (id, zone, rt) in &engines {
        let extra = BTreeMap::from([("ecs.availability-zone".to_owned(), (*zone).to_owned())]);
        ecs.register_container_instance(
            RegisterContainerInstance::new(cluster.clone(), id.parse().unwrap(), rt.clone())
                .with_attributes(extra),
        )
        .await
        .unwrap();
    }
    let family = format!("e2e-web-{}", std::process::id());
    ecs.register_task_definition(task_definition(&family))
        .unwrap();
    let mut run = RunTask::new(cluster.clone(), family.parse().unwrap(), 3);
    run.placement_strategy =
        serde_json::from_str(r#"[{"type": "spread", "field": "attribute:ecs.availability-zone"}]"#)
            .unwrap();
    let out = ecs.run_task(run).unwrap();
    assert!(out.failures.is_empty(), "{:?}", out.failures);
    let mut instances: Vec<&str> = out
        .tasks
        .iter()
        .map(|t| t.container_instance.as_ref().unwrap().as_str())
        .collect();
    instances.sort();
    assert_eq!(
        instances,
        ["i-docker", "i-docker2", "i-podman"],
        "one task per instance"
    );

    let mut running = Vec::new();
    for t in &out.tasks {
        let t = wait(&ecs, &t.task_id, "RUNNING", Duration::from_secs(90), |t| {
            t.last_status == TaskStatus::Running || t.last_status == TaskStatus::Stopped
        })
        .await;
        assert_eq!(
            t.last_status,
            TaskStatus::Running,
            "{} on {}: {:?}",
            t.task_id,
            t.container_instance.as_ref().unwrap(),
            t.stopped_reason
        );
        assert_eq!(t.container("setup").unwrap().exit_code, Some(0));
        assert_eq!(
            t.container("web").unwrap().health_status,
            HealthStatus::Healthy,
            "sidecar waited for it"
        );
        assert_eq!(t.health_status, HealthStatus::Healthy);
        running.push(t);
    }
    // HTTP through each task's published port.
    for t in &running {
        let binding = t
            .container("web")
            .unwrap()
            .network_bindings
            .iter()
            .find(|b| b.container_port == 80)
            .copied();
        let port = binding
            .unwrap_or_else(|| {
                panic!(
                    "no published port on {}",
                    t.container_instance.as_ref().unwrap()
                )
            })
            .host_port;
        let body = engines::http_get(port);
        assert!(
            body.contains("hello from ecs-test/busybox"),
            "{}: {body}",
            t.container_instance.as_ref().unwrap()
        );
    }

    // Kill the Docker task's web container behind the library's back.
    let victim = running
        .iter()
        .find(|t| t.container_instance.as_ref().unwrap().as_str() == "i-docker")
        .unwrap();
    let web_id = victim.container("web").unwrap().runtime_id.clone().unwrap();
    let host = engines::docker_host();
    let status = std::process::Command::new("docker")
        .args(["-H", &host, "kill", &web_id.0])
        .output()
        .unwrap();
    assert!(status.status.success(), "{status:?}");
    let killed_at = Instant::now();
    let seen = wait(
        &ecs,
        &victim.task_id,
        "the kill",
        Duration::from_secs(10),
        |t| {
            t.container("web")
                .is_some_and(|c| c.last_status == ContainerStatus::Stopped)
        },
    )
    .await;
    let latency = killed_at.elapsed();
    assert_eq!(seen.container("web").unwrap().exit_code, Some(137));
    assert!(latency < Duration::from_secs(1), "seen after {latency:?}");
    let stopped = wait(
        &ecs,
        &victim.task_id,
        "STOPPED",
        Duration::from_secs(30),
        |t| t.last_status == TaskStatus::Stopped,
    )
    .await;
    assert_eq!(
        stopped.stopped_reason.as_deref(),
        Some("Essential container in task exited")
    );

    // Stop the others; nothing of the cluster is left on any engine.
    for t in running.iter().filter(|t| t.task_id != victim.task_id) {
        ecs.stop_task(
            StopTask::new(cluster.clone(), t.task_id.clone()).with_reason("Task stopped by user"),
        )
        .unwrap();
    }
    for t in &running {
        let done = wait(&ecs, &t.task_id, "STOPPED", Duration::from_secs(60), |t| {
            t.last_status == TaskStatus::Stopped
        })
        .await;
        assert_eq!(
            done.container("sidecar").unwrap().exit_code,
            Some(0),
            "trapped SIGTERM"
        );
    }
    for (id, _, rt) in &engines {
        let left = rt
            .list_containers(&BTreeMap::from([(
                labels::CLUSTER.to_owned(),
                cluster.to_string(),
            )]))
            .await
            .unwrap();
        assert!(left.is_empty(), "{id}: {left:?}");
    }
    let state = ecs.describe_cluster(&cluster).unwrap();
    for i in state.instances() {
        assert_eq!(i.running_tasks_count(), 0, "{}", i.id());
    }
}
