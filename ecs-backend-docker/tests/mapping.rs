//! A task definition's container, as Docker creates it: every field the backend maps,
//! checked through Docker's own inspect (raw bollard), not through the backend.

use std::sync::Arc;
use std::time::Duration;

use bollard::Docker;
use ecs_backend_docker::DockerRuntime;
use ecs_core::control::{EcsConfig, RegisterContainerInstance, RunTask, StopTask};
use ecs_core::task::TaskStatus;
use ecs_core::{Ecs, TaskDefinition};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_mapped_field_reaches_docker() {
    let host =
        std::env::var("ECS_DOCKER_HOST").unwrap_or_else(|_| "unix:///var/run/docker.sock".into());
    let image = std::env::var("ECS_TEST_IMAGE").unwrap_or_else(|_| "ecs-test/busybox:1".into());
    let runtime = DockerRuntime::connect(&host)
        .expect("docker (run scripts/engines)")
        .publishing_on("127.0.0.1");
    let raw = Docker::connect_with_unix(&host, 60, bollard::API_DEFAULT_VERSION).unwrap();
    let dir = std::env::temp_dir().join(format!("ecs-mapping-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();

    let ecs = Ecs::new(EcsConfig::default());
    let cluster = format!("mapping-{}", std::process::id()).parse().unwrap();
    ecs.create_cluster(Clone::clone(&cluster)).unwrap();
    ecs.register_container_instance(RegisterContainerInstance::new(
        cluster.clone(),
        "i-1".parse().unwrap(),
        Arc::new(runtime),
    ))
    .await
    .unwrap();
    let family = format!("mapping-{}", std::process::id());
    let td = format!(
        r#"{{"family": "{family}", "networkMode": "bridge",
            "volumes": [{{"name": "data", "host": {{"sourcePath": "{dir}"}}}}],
            "containerDefinitions": [
            {{"name": "db", "image": "{image}", "memory": 16,
              "command": ["sh", "-c", "trap 'exit 0' TERM; while true; do sleep 1; done"]}},
            {{"name": "app", "image": "{image}", "cpu": 256, "memory": 128, "memoryReservation": 64,
              "entryPoint": ["sh", "-c"], "command": ["trap 'exit 0' TERM; while true; do sleep 1; done"],
              "environment": [{{"name": "GREETING", "value": "hello"}}],
              "portMappings": [{{"containerPort": 80, "hostPort": 0}}, {{"containerPort": 53, "hostPort": 0, "protocol": "udp"}}],
              "dockerLabels": {{"team": "platform"}},
              "healthCheck": {{"command": ["CMD-SHELL", "true"], "interval": 10, "timeout": 3, "retries": 4, "startPeriod": 7}},
              "ulimits": [{{"name": "nofile", "softLimit": 100, "hardLimit": 200}}],
              "linuxParameters": {{"initProcessEnabled": true}},
              "user": "1000:1000", "workingDirectory": "/tmp", "stopTimeout": 7,
              "mountPoints": [{{"sourceVolume": "data", "containerPath": "/data", "readOnly": true}}],
              "links": ["db:database"],
              "dependsOn": [{{"containerName": "db", "condition": "START"}}]}},
            {{"name": "reader", "image": "{image}", "memory": 16, "essential": false,
              "command": ["sh", "-c", "trap 'exit 0' TERM; while true; do sleep 1; done"],
              "volumesFrom": [{{"sourceContainer": "app", "readOnly": true}}],
              "dependsOn": [{{"containerName": "app", "condition": "START"}}]}}]}}"#,
        dir = dir.display()
    );
    ecs.register_task_definition(TaskDefinition::from_json(&td).unwrap().definition)
        .unwrap();
    let out = ecs
        .run_task(RunTask::new(
            Clone::clone(&cluster),
            family.parse().unwrap(),
            1,
        ))
        .unwrap();
    let id = out.tasks[0].task_id.clone();
    let task = tokio::time::timeout(
        Duration::from_secs(60),
        ecs.wait_for(&id, |t| t.last_status == TaskStatus::Running),
    )
    .await
    .unwrap()
    .unwrap();
    let app = task.container("app").unwrap();
    let c = raw
        .inspect_container(&app.runtime_id.as_ref().unwrap().0, None)
        .await
        .unwrap();
    let config = c.config.clone().unwrap();
    let hc = c.host_config.clone().unwrap();

    assert_eq!(hc.cpu_shares, Some(256), "cpu units -> CPU shares");
    assert_eq!(hc.memory, Some(128 << 20), "memory -> hard limit");
    assert_eq!(
        hc.memory_reservation,
        Some(64 << 20),
        "memoryReservation -> soft limit"
    );
    assert_eq!(
        config.entrypoint,
        Some(vec!["sh".to_owned(), "-c".to_owned()])
    );
    assert_eq!(
        config.cmd,
        Some(vec![
            "trap 'exit 0' TERM; while true; do sleep 1; done".to_owned()
        ])
    );
    assert!(config.env.unwrap().contains(&"GREETING=hello".to_owned()));
    let labels = config.labels.unwrap();
    assert_eq!(labels["team"], "platform");
    assert_eq!(labels["com.amazonaws.ecs.container-name"], "app");
    assert_eq!(
        labels["com.amazonaws.ecs.task-arn"],
        task.task_arn.to_string()
    );
    let health = config.healthcheck.unwrap();
    assert_eq!(
        health.test,
        Some(vec!["CMD-SHELL".to_owned(), "true".to_owned()])
    );
    assert_eq!(health.interval, Some(10_000_000_000));
    assert_eq!(health.timeout, Some(3_000_000_000));
    assert_eq!(health.retries, Some(4));
    assert_eq!(health.start_period, Some(7_000_000_000));
    let ulimit = &hc.ulimits.unwrap()[0];
    assert_eq!(
        (ulimit.name.as_deref(), ulimit.soft, ulimit.hard),
        (Some("nofile"), Some(100), Some(200))
    );
    assert_eq!(hc.init, Some(true));
    assert_eq!(config.user.as_deref(), Some("1000:1000"));
    assert_eq!(config.working_dir.as_deref(), Some("/tmp"));
    assert_eq!(config.stop_timeout, Some(7));
    assert_eq!(hc.binds, Some(vec![format!("{}:/data:ro", dir.display())]));
    assert_eq!(hc.network_mode.as_deref(), Some("bridge"));
    let db_name = format!("ecs-{family}-1-db-{}", task.task_id);
    assert!(
        hc.links
            .unwrap()
            .iter()
            .any(|l| l.starts_with(&format!("/{db_name}:")) && l.ends_with("/database"))
    );
    let reader = task
        .container("reader")
        .unwrap()
        .runtime_id
        .clone()
        .unwrap();
    let reader = raw
        .inspect_container(&reader.0, None)
        .await
        .unwrap()
        .host_config
        .unwrap();
    let app_name = format!("ecs-{family}-1-app-{}", task.task_id);
    assert_eq!(reader.volumes_from, Some(vec![format!("{app_name}:ro")]));
    // Ports: dynamic host ports, read back from the engine, TCP and UDP.
    let ports = c.network_settings.unwrap().ports.unwrap();
    let tcp = ports["80/tcp"].as_ref().unwrap()[0]
        .host_port
        .clone()
        .unwrap();
    let udp = ports["53/udp"].as_ref().unwrap()[0]
        .host_port
        .clone()
        .unwrap();
    assert!(
        app.network_bindings
            .iter()
            .any(|b| b.container_port == 80 && b.host_port.to_string() == tcp)
    );
    assert!(
        app.network_bindings
            .iter()
            .any(|b| b.container_port == 53 && b.host_port.to_string() == udp)
    );

    ecs.stop_task(StopTask::new(cluster.clone(), id.clone()).with_reason("done"))
        .unwrap();
    let stopped = tokio::time::timeout(
        Duration::from_secs(60),
        ecs.wait_for(&id, |t| t.last_status == TaskStatus::Stopped),
    )
    .await
    .unwrap()
    .unwrap();
    assert_eq!(stopped.container("app").unwrap().exit_code, Some(0));
    std::fs::remove_dir_all(&dir).unwrap();
}
