//! A web service of 3 tasks, updated to a new revision with a rolling deployment, with
//! the service's events printed as they happen.
//!
//! ```text
//! cargo run --example rolling_update
//! ```
//!
//! Like the quick start, it runs on the local Docker engine, else Podman, else the
//! in-memory runtime, and says which.

use std::time::Duration;

use ecs::control::{DeleteService, EcsConfig, RegisterContainerInstance};
use ecs::service::{CreateService, DeploymentConfiguration, UpdateService};
use ecs::task::{Event, TaskStatus};
use ecs::{ClusterName, Ecs, ServiceName, TaskDefinition};

#[path = "support/engine.rs"]
mod support;

/// Revision `version` of the web server: busybox httpd answering with its version.
fn web(image: &str, version: u32) -> Result<TaskDefinition, ecs::Error> {
    Ok(TaskDefinition::from_json(&format!(
        r#"{{"family": "rolling-web", "containerDefinitions": [
            {{"name": "web", "image": "{image}", "memory": 32, "cpu": 128,
              "command": ["sh", "-c", "mkdir -p /srv && echo v{version} > /srv/index.html && exec httpd -f -p 80 -h /srv"],
              "environment": [{{"name": "VERSION", "value": "{version}"}}],
              "linuxParameters": {{"initProcessEnabled": true}}, "stopTimeout": 5,
              "portMappings": [{{"containerPort": 80, "hostPort": 0}}],
              "healthCheck": {{"command": ["CMD-SHELL", "wget -q -O /dev/null http://127.0.0.1/ || exit 1"],
                              "interval": 5, "startPeriod": 2}}}}]}}"#
    ))?
    .definition)
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let image = support::image();
    let (which, runtime) = support::pick_runtime(&image).await;
    println!("using {which}\n");

    let mut config = EcsConfig::default();
    // A task counts as a success after 5 s healthy rather than 30 s: a shorter demo.
    config.service_throttle.stable_after = Duration::from_secs(5);
    let ecs = Ecs::new(config);
    let cluster: ClusterName = "rolling".parse()?;
    let name: ServiceName = "web".parse()?;
    ecs.create_cluster(cluster.clone())?;
    ecs.register_container_instance(RegisterContainerInstance::new(
        cluster.clone(),
        "i-local".parse()?,
        runtime,
    ))
    .await?;

    // Print every service event, and each task's arrival at RUNNING or STOPPED.
    let mut events = ecs.subscribe();
    let printer = tokio::spawn(async move {
        let mut last = std::collections::HashMap::new();
        while let Ok(event) = events.recv().await {
            match event {
                Event::Service { event, .. } => println!("  event: {}", event.message),
                Event::TaskStateChange(t)
                    if matches!(t.last_status, TaskStatus::Running | TaskStatus::Stopped)
                        && last.insert(t.task_id.clone(), t.last_status) != Some(t.last_status) =>
                {
                    println!(
                        "  task {} ({}) {}",
                        &t.task_id.as_str()[..8],
                        t.task_definition,
                        t.last_status
                    )
                }
                _ => {}
            }
        }
    });

    let v1 = ecs.register_task_definition(web(&image, 1)?)?;
    println!(
        "registered {}; creating service web with 3 tasks",
        v1.reference
    );
    ecs.create_service(
        CreateService::new(cluster.clone(), name.clone(), v1.reference.clone(), 3)
            .with_deployment_configuration(
                DeploymentConfiguration::default()
                    .with_percents(100, 200)
                    .with_circuit_breaker(true),
            ),
    )?;
    let steady = |s: &ecs::service::Service| s.is_steady();
    tokio::time::timeout(
        Duration::from_secs(120),
        ecs.wait_for_service(&cluster, &name, steady),
    )
    .await??;

    let v2 = ecs.register_task_definition(web(&image, 2)?)?;
    println!(
        "\nregistered {}; rolling web to it (min 100%, max 200%)",
        v2.reference
    );
    ecs.update_service(
        UpdateService::new(cluster.clone(), name.clone())
            .with_task_definition(v2.reference.clone()),
    )?;
    let done = tokio::time::timeout(
        Duration::from_secs(180),
        ecs.wait_for_service(&cluster, &name, |s| {
            s.is_steady() && s.task_definition == v2.reference
        }),
    )
    .await??;
    let primary = done.primary().ok_or("no primary deployment")?;
    println!(
        "\nweb: {} running of {}, deployment {} {} ({})",
        done.running_count,
        done.desired_count,
        primary.id,
        primary.rollout_state,
        primary.task_definition
    );

    println!("\ndeleting web");
    ecs.delete_service(DeleteService::new(cluster.clone(), name.clone()).with_force(true))?;
    tokio::time::timeout(
        Duration::from_secs(120),
        ecs.wait_for_service(&cluster, &name, |s| {
            s.status == ecs::service::ServiceStatus::Inactive
        }),
    )
    .await??;
    // Let the printer catch up with the last events.
    let _ = tokio::time::timeout(Duration::from_millis(200), printer).await;
    println!("web is INACTIVE");
    Ok(())
}
