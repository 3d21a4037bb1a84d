//! The task metadata endpoint (v4) on the in-memory runtime, whose containers reach the
//! host on the loopback: every container is given `ECS_CONTAINER_METADATA_URI_V4`, and
//! the endpoint answers it, `/task`, `/stats` and `/task/stats` in ECS's shapes for that
//! task (read here over HTTP as a container would), and 404 for a task it does not
//! hold. Real time: the answers travel over real sockets.

use std::sync::Arc;
use std::time::Duration;

use ecs_core::cluster::Resources;
use ecs_core::control::{EcsConfig, RegisterContainerInstance, RunTask};
use ecs_core::runtime::InMemoryRuntime;
use ecs_core::runtime::memory::Matcher;
use ecs_core::task::{Task, TaskStatus};
use ecs_core::{ClusterName, Ecs, TaskDefinition};
use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const APP: &str = r#"{"family": "meta", "cpu": "512", "memory": "256", "containerDefinitions": [
    {"name": "app", "image": "busybox", "memory": 64, "cpu": 128, "command": ["sleep", "3600"],
     "dockerLabels": {"team": "blue"}},
    {"name": "sidecar", "image": "busybox", "memory": 32, "essential": false,
     "command": ["sleep", "3600"]}]}"#;

/// GETs `uri` (`http://HOST:PORT/PATH`) as a container's HTTP client would: the status
/// code and the JSON body.
async fn get(uri: &str) -> (u16, Value) {
    let rest = uri.strip_prefix("http://").expect("an http URI");
    let (host, path) = rest.split_at(rest.find('/').expect("a path"));
    let mut stream = tokio::net::TcpStream::connect(host).await.unwrap();
    stream
        .write_all(
            format!("GET {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n").as_bytes(),
        )
        .await
        .unwrap();
    let mut answer = String::new();
    stream.read_to_string(&mut answer).await.unwrap();
    let (head, body) = answer.split_once("\r\n\r\n").expect("an HTTP answer");
    let code = head
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .expect("a status line");
    (code, serde_json::from_str(body).unwrap_or(Value::Null))
}

async fn running_task() -> (Ecs, InMemoryRuntime, Task) {
    let ecs = Ecs::new(EcsConfig::default());
    let dev: ClusterName = "dev".parse().unwrap();
    ecs.create_cluster(dev.clone()).unwrap();
    let rt = InMemoryRuntime::new(Resources::new(4096, 8192));
    ecs.register_container_instance(
        RegisterContainerInstance::new(dev.clone(), "i-1".parse().unwrap(), Arc::new(rt.clone()))
            .with_attribute("ecs.availability-zone", "zone-a"),
    )
    .await
    .unwrap();
    ecs.register_task_definition(TaskDefinition::from_json(APP).unwrap().definition)
        .unwrap();
    let id = ecs
        .run_task(RunTask::new(dev, "meta".parse().unwrap(), 1))
        .unwrap()
        .tasks
        .remove(0)
        .task_id;
    let task = tokio::time::timeout(
        Duration::from_secs(30),
        ecs.wait_for(&id, |t| t.last_status == TaskStatus::Running),
    )
    .await
    .expect("RUNNING within 30 s")
    .unwrap();
    (ecs, rt, task)
}

fn uri_of(rt: &InMemoryRuntime, task: &Task, container: &str) -> String {
    let id = task
        .container(container)
        .unwrap()
        .runtime_id
        .clone()
        .unwrap();
    rt.spec(&id).unwrap().environment["ECS_CONTAINER_METADATA_URI_V4"].clone()
}

#[tokio::test]
async fn each_container_reads_itself_and_its_task() {
    let (_ecs, rt, task) = running_task().await;
    let uri = uri_of(&rt, &task, "app");
    assert!(uri.starts_with("http://127.0.0.1:"), "{uri}");
    assert_ne!(uri, uri_of(&rt, &task, "sidecar"));

    let (code, me) = get(&uri).await;
    assert_eq!(code, 200);
    let app = task.container("app").unwrap();
    assert_eq!(me["Name"], "app");
    assert_eq!(me["DockerId"], app.runtime_id.as_ref().unwrap().to_string());
    assert_eq!(me["KnownStatus"], "RUNNING");
    assert_eq!(me["DesiredStatus"], "RUNNING");
    assert_eq!(me["Limits"]["CPU"], 128);
    assert_eq!(me["Limits"]["Memory"], 64);
    assert_eq!(me["Labels"]["team"], "blue");
    assert_eq!(me["Labels"]["com.amazonaws.ecs.cluster"], "dev");
    assert_eq!(
        me["Labels"]["com.amazonaws.ecs.task-arn"],
        task.task_arn.to_string()
    );
    assert_eq!(me["Type"], "NORMAL");

    let (code, whole) = get(&format!("{uri}/task")).await;
    assert_eq!(code, 200);
    assert_eq!(whole["TaskARN"], task.task_arn.to_string());
    assert_eq!(whole["Cluster"], "dev");
    assert_eq!(whole["Family"], "meta");
    assert_eq!(whole["Revision"], "1");
    assert_eq!(whole["KnownStatus"], "RUNNING");
    assert_eq!(whole["AvailabilityZone"], "zone-a");
    assert_eq!(whole["LaunchType"], "EC2");
    assert_eq!(whole["Limits"]["CPU"], 0.5);
    assert_eq!(whole["Limits"]["Memory"], 256);
    let names: Vec<&str> = whole["Containers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["Name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["app", "sidecar"]);
}

#[tokio::test]
async fn stats_are_the_engines() {
    let (_ecs, rt, task) = running_task().await;
    rt.set_usage(Matcher::Any, 0.5, 48 << 20);
    let uri = uri_of(&rt, &task, "app");
    let (code, stats) = get(&format!("{uri}/stats")).await;
    assert_eq!(code, 200);
    assert_eq!(stats["memory_stats"]["usage"], 48u64 << 20);
    assert_eq!(stats["name"], "app");
    let (code, all) = get(&format!("{uri}/task/stats")).await;
    assert_eq!(code, 200);
    let all = all.as_object().unwrap();
    assert_eq!(all.len(), 2);
    for c in &task.containers {
        let id = c.runtime_id.as_ref().unwrap().to_string();
        assert_eq!(all[&id]["memory_stats"]["usage"], 48u64 << 20, "{id}");
    }
}

/// Each answer carries the sample before it (`precpu_stats`, zeros at first, as
/// Docker's first answer has) and the host's CPUs, from which a reader computes the
/// container's CPU use as Docker's readers do: half a CPU is 50%.
#[tokio::test]
async fn stats_carry_the_previous_sample_for_cpu_percentages() {
    let (_ecs, rt, task) = running_task().await;
    rt.set_usage(Matcher::Any, 0.5, 48 << 20);
    let uri = uri_of(&rt, &task, "app");
    let (_, first) = get(&format!("{uri}/stats")).await;
    assert_eq!(first["precpu_stats"]["cpu_usage"]["total_usage"], 0);
    assert_eq!(first["preread"], "0001-01-01T00:00:00Z");
    assert_eq!(first["cpu_stats"]["online_cpus"], 4);
    // Some time on the engine's clock between the two samples (any will do: the
    // container's CPU time grows at half its rate).
    tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    let (_, second) = get(&format!("{uri}/stats")).await;
    assert_eq!(second["precpu_stats"], first["cpu_stats"]);
    assert_eq!(second["preread"], first["read"]);
    let n = |v: &Value| v.as_u64().unwrap() as f64;
    let cpu = n(&second["cpu_stats"]["cpu_usage"]["total_usage"])
        - n(&second["precpu_stats"]["cpu_usage"]["total_usage"]);
    let system = n(&second["cpu_stats"]["system_cpu_usage"])
        - n(&second["precpu_stats"]["system_cpu_usage"]);
    let percent = cpu / system * n(&second["cpu_stats"]["online_cpus"]) * 100.0;
    assert!(
        (percent - 50.0).abs() < 1.0,
        "{percent}% of a CPU: {second:#}"
    );
}

#[tokio::test]
async fn an_unknown_task_or_container_is_not_found() {
    let (_ecs, rt, task) = running_task().await;
    let uri = uri_of(&rt, &task, "app");
    let base = uri.rsplit_once('/').unwrap().0.rsplit_once('/').unwrap().0;
    let (code, _) = get(&format!("{base}/0123456789abcdef/app")).await;
    assert_eq!(code, 404);
    let (code, _) = get(&format!("{base}/{}/nope/task", task.task_id)).await;
    assert_eq!(code, 404);
}

#[tokio::test]
async fn the_endpoint_can_be_turned_off() {
    let mut config = EcsConfig::default();
    config.metadata_endpoint = false;
    let ecs = Ecs::new(config);
    let dev: ClusterName = "dev".parse().unwrap();
    ecs.create_cluster(dev.clone()).unwrap();
    let rt = InMemoryRuntime::new(Resources::new(4096, 8192));
    ecs.register_container_instance(RegisterContainerInstance::new(
        dev.clone(),
        "i-1".parse().unwrap(),
        Arc::new(rt.clone()),
    ))
    .await
    .unwrap();
    ecs.register_task_definition(TaskDefinition::from_json(APP).unwrap().definition)
        .unwrap();
    let id = ecs
        .run_task(RunTask::new(dev, "meta".parse().unwrap(), 1))
        .unwrap()
        .tasks
        .remove(0)
        .task_id;
    let task = ecs
        .wait_for(&id, |t| t.last_status == TaskStatus::Running)
        .await
        .unwrap();
    let c = task.containers[0].runtime_id.clone().unwrap();
    assert!(
        !rt.spec(&c)
            .unwrap()
            .environment
            .contains_key("ECS_CONTAINER_METADATA_URI_V4")
    );
}
