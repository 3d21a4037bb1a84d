//! A task definition's container, as Podman creates it: the mapped fields checked
//! through Podman's own inspect (`podman inspect`), not through the backend.

use std::sync::Arc;
use std::time::Duration;

use ecs_backend_podman::PodmanRuntime;
use ecs_core::control::{EcsConfig, RegisterContainerInstance, RunTask, StopTask};
use ecs_core::task::TaskStatus;
use ecs_core::{Ecs, TaskDefinition};
use serde_json::Value;

fn inspect(id: &str) -> Value {
    let out = std::process::Command::new("podman")
        .args(["inspect", id])
        .output()
        .expect("podman inspect");
    assert!(out.status.success(), "{out:?}");
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    v[0].clone()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_mapped_field_reaches_podman() {
    let socket = std::env::var("ECS_PODMAN_SOCKET")
        .unwrap_or_else(|_| "unix:///run/podman/podman.sock".into());
    let image = std::env::var("ECS_TEST_IMAGE").unwrap_or_else(|_| "ecs-test/busybox:1".into());
    let runtime = PodmanRuntime::connect(&socket)
        .expect("podman (run scripts/engines)")
        .publishing_on("127.0.0.1");
    let dir = std::env::temp_dir().join(format!("ecs-podman-mapping-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let ecs = Ecs::new(EcsConfig::default());
    let cluster = format!("pmapping-{}", std::process::id()).parse().unwrap();
    ecs.create_cluster(Clone::clone(&cluster)).unwrap();
    ecs.register_container_instance(RegisterContainerInstance::new(
        cluster.clone(),
        "i-1".parse().unwrap(),
        Arc::new(runtime),
    ))
    .await
    .unwrap();
    let family = format!("pmapping-{}", std::process::id());
    let td = format!(
        r#"{{"family": "{family}", "volumes": [{{"name": "data", "host": {{"sourcePath": "{dir}"}}}}],
            "containerDefinitions": [{{"name": "app", "image": "{image}", "cpu": 256, "memory": 128, "memoryReservation": 64,
              "entryPoint": ["sh", "-c"], "command": ["trap 'exit 0' TERM; while true; do sleep 1; done"],
              "environment": [{{"name": "GREETING", "value": "hello"}}],
              "portMappings": [{{"containerPort": 80, "hostPort": 0}}],
              "dockerLabels": {{"team": "platform"}},
              "healthCheck": {{"command": ["CMD-SHELL", "true"], "interval": 10, "timeout": 3, "retries": 4}},
              "ulimits": [{{"name": "nofile", "softLimit": 100, "hardLimit": 200}}],
              "linuxParameters": {{"initProcessEnabled": true}},
              "user": "1000:1000", "workingDirectory": "/tmp", "stopTimeout": 7,
              "mountPoints": [{{"sourceVolume": "data", "containerPath": "/data", "readOnly": true}}]}}]}}"#,
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
        ecs.wait_for(&id, |t| {
            matches!(t.last_status, TaskStatus::Running | TaskStatus::Stopped)
        }),
    )
    .await
    .unwrap()
    .unwrap();
    assert_eq!(
        task.last_status,
        TaskStatus::Running,
        "{:?}",
        task.stopped_reason
    );
    let app = task.container("app").unwrap();
    let c = inspect(&app.runtime_id.as_ref().unwrap().0);
    let (config, hc) = (&c["Config"], &c["HostConfig"]);

    assert_eq!(hc["CpuShares"], 256, "cpu units -> CPU shares");
    assert_eq!(hc["Memory"], 128 << 20, "memory -> hard limit");
    assert_eq!(
        hc["MemoryReservation"],
        64 << 20,
        "memoryReservation -> soft limit"
    );
    assert_eq!(config["Entrypoint"], "sh -c");
    assert_eq!(
        config["Cmd"],
        serde_json::json!(["trap 'exit 0' TERM; while true; do sleep 1; done"])
    );
    assert!(
        config["Env"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e == "GREETING=hello")
    );
    assert_eq!(config["Labels"]["team"], "platform");
    assert_eq!(
        config["Labels"]["com.amazonaws.ecs.task-arn"],
        task.task_arn.to_string()
    );
    assert_eq!(
        config["Healthcheck"]["Test"],
        serde_json::json!(["CMD-SHELL", "true"])
    );
    assert_eq!(config["Healthcheck"]["Interval"], 10_000_000_000i64);
    assert_eq!(config["Healthcheck"]["Retries"], 4);
    let nofile = hc["Ulimits"]
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["Name"] == "RLIMIT_NOFILE")
        .cloned();
    assert_eq!(
        nofile.map(|u| (u["Soft"].clone(), u["Hard"].clone())),
        Some((100.into(), 200.into()))
    );
    assert_eq!(hc["Init"], true);
    assert_eq!(config["User"], "1000:1000");
    assert_eq!(config["WorkingDir"], "/tmp");
    assert_eq!(config["StopTimeout"], 7);
    let mount = c["Mounts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["Destination"] == "/data")
        .cloned()
        .unwrap();
    assert_eq!(
        (mount["Source"].as_str(), mount["RW"].as_bool()),
        (Some(dir.to_str().unwrap()), Some(false))
    );
    let tcp = c["NetworkSettings"]["Ports"]["80/tcp"][0]["HostPort"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(
        app.network_bindings
            .iter()
            .any(|b| b.container_port == 80 && b.host_port.to_string() == tcp)
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
