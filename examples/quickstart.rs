//! The quick start: a cluster of this machine's container engine, a task definition, two
//! tasks running on it, and a table of tasks and instances.
//!
//! ```text
//! cargo run --example quickstart
//! ```
//!
//! It uses the local Docker engine if there is one (`DOCKER_HOST` or
//! `/var/run/docker.sock`), else Podman (`CONTAINER_HOST` or `/run/podman/podman.sock`),
//! else the in-memory runtime, and says which. On an engine it needs the test image
//! `ecs-test/busybox:1` (`scripts/engines` builds it; no registry is needed), or another
//! busybox-like image named by `ECS_TEST_IMAGE`.

use std::time::Duration;

use ecs::cluster::Cluster;
use ecs::control::{EcsConfig, RegisterContainerInstance, RunTask, StopTask};
use ecs::task::{Task, TaskStatus};
use ecs::{ClusterName, Ecs, TaskDefinition};
use support::pick_runtime;

#[path = "support/engine.rs"]
mod support;

fn short(id: &str) -> &str {
    &id[..id.len().min(12)]
}

fn print_tasks(tasks: &[Task]) {
    println!(
        "{:<14} {:<18} {:<12} {:<9} {:<8} containers",
        "TASK", "DEFINITION", "INSTANCE", "STATUS", "HEALTH"
    );
    for t in tasks {
        let containers: Vec<String> = t
            .containers
            .iter()
            .map(|c| {
                let ports: Vec<String> = c
                    .network_bindings
                    .iter()
                    .map(|b| format!("{}->{}", b.host_port, b.container_port))
                    .collect();
                let exit = c
                    .exit_code
                    .map(|e| format!(" exit {e}"))
                    .unwrap_or_default();
                format!(
                    "{}={}{}{}",
                    c.name,
                    c.last_status,
                    exit,
                    if ports.is_empty() {
                        String::new()
                    } else {
                        format!(" [{}]", ports.join(","))
                    }
                )
            })
            .collect();
        println!(
            "{:<14} {:<18} {:<12} {:<9} {:<8} {}",
            short(t.task_id.as_str()),
            t.task_definition.to_string(),
            t.container_instance.as_ref().map_or("-", |i| i.as_str()),
            t.last_status.as_str(),
            t.health_status.as_str(),
            containers.join("; ")
        );
    }
}

fn print_instances(cluster: &Cluster) {
    println!(
        "{:<12} {:<8} {:<7} {:>14} {:>14} {:>6}",
        "INSTANCE", "STATUS", "AGENT", "CPU free/total", "MiB free/total", "TASKS"
    );
    for i in cluster.instances() {
        let (reg, rem) = (i.registered_resources(), i.remaining_resources());
        println!(
            "{:<12} {:<8} {:<7} {:>14} {:>14} {:>6}",
            i.id().as_str(),
            i.status().as_str(),
            if i.agent_connected() { "up" } else { "down" },
            format!("{}/{}", rem.cpu, reg.cpu),
            format!("{}/{}", rem.memory, reg.memory),
            i.running_tasks_count()
        );
    }
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let image = support::image();
    let (which, runtime) = pick_runtime(&image).await;
    println!("using {which}\n");

    let ecs = Ecs::new(EcsConfig::default());
    let cluster: ClusterName = "quickstart".parse()?;
    ecs.create_cluster(cluster.clone())?;
    ecs.register_container_instance(RegisterContainerInstance::new(
        cluster.clone(),
        "i-local".parse()?,
        runtime.clone(),
    ))
    .await?;

    let td = TaskDefinition::from_json(&format!(
        r#"{{"family": "quickstart-web", "containerDefinitions": [
            {{"name": "web", "image": "{image}", "memory": 32, "cpu": 128,
              "command": ["httpd", "-f", "-p", "80", "-h", "/www"],
              "linuxParameters": {{"initProcessEnabled": true}}, "stopTimeout": 5,
              "portMappings": [{{"containerPort": 80, "hostPort": 0}}],
              "healthCheck": {{"command": ["CMD-SHELL", "wget -q -O /dev/null http://127.0.0.1/ || exit 1"], "interval": 5}}}},
            {{"name": "clock", "image": "{image}", "memory": 16, "essential": false,
              "command": ["sh", "-c", "trap 'exit 0' TERM; while true; do sleep 1; done"],
              "dependsOn": [{{"containerName": "web", "condition": "START"}}]}}]}}"#
    ))?;
    for w in &td.warnings {
        println!("warning: {w}");
    }
    let registered = ecs.register_task_definition(td.definition)?;
    println!("registered {}", registered.reference);

    let out = ecs.run_task(RunTask::new(cluster.clone(), "quickstart-web".parse()?, 2))?;
    for f in &out.failures {
        println!(
            "not placed: {} ({})",
            f.reason,
            f.detail.as_deref().unwrap_or("")
        );
    }
    let mut tasks = Vec::new();
    for t in &out.tasks {
        let healthy = |t: &Task| {
            t.health_status.as_str() == "HEALTHY" || t.last_status == TaskStatus::Stopped
        };
        let t = tokio::time::timeout(Duration::from_secs(60), ecs.wait_for(&t.task_id, healthy))
            .await??;
        tasks.push(t);
    }
    println!("\ntasks, running:");
    print_tasks(&tasks);
    println!("\ninstances:");
    print_instances(&ecs.describe_cluster(&cluster)?);

    for t in &tasks {
        ecs.stop_task(
            StopTask::new(cluster.clone(), t.task_id.clone()).with_reason("Task stopped by user"),
        )?;
    }
    let mut stopped = Vec::new();
    for t in &tasks {
        let t = tokio::time::timeout(
            Duration::from_secs(60),
            ecs.wait_for(&t.task_id, |t| t.last_status == TaskStatus::Stopped),
        )
        .await??;
        stopped.push(t);
    }
    println!("\ntasks, stopped:");
    print_tasks(&stopped);
    println!("\ninstances:");
    print_instances(&ecs.describe_cluster(&cluster)?);
    Ok(())
}
