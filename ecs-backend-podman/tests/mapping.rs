//! A task definition's container, as Podman creates it: the mapped fields checked
//! through Podman's own inspect (`podman inspect`), not through the backend. And Service
//! Connect's networks on the real engine: the aliases its DNS (aardvark-dns) answers, one
//! container fetching a page from another by its alias, and two ensures at once.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use ecs_backend_podman::PodmanRuntime;
use ecs_core::control::{EcsConfig, RegisterContainerInstance, RunTask, StopTask};
use ecs_core::runtime::{
    ContainerId, ContainerRuntime, ContainerSpec, ContainerState, LogOptions, NetworkAttachment,
    StdStream,
};
use ecs_core::task::TaskStatus;
use ecs_core::{Ecs, TaskDefinition};
use futures::StreamExt;
use serde_json::Value;
use tokio::time::Instant;

/// How long a container may take to get where a test waits for it.
const PATIENCE: Duration = Duration::from_secs(60);

fn runtime() -> PodmanRuntime {
    let socket = std::env::var("ECS_PODMAN_SOCKET")
        .unwrap_or_else(|_| "unix:///run/podman/podman.sock".into());
    PodmanRuntime::connect(&socket).expect("podman (run scripts/engines)")
}

fn image() -> String {
    std::env::var("ECS_TEST_IMAGE").unwrap_or_else(|_| "ecs-test/busybox:1".into())
}

/// `podman ARGS`: its standard output.
fn podman(args: &[&str]) -> String {
    let out = std::process::Command::new("podman")
        .args(args)
        .output()
        .expect("podman");
    assert!(out.status.success(), "podman {args:?}: {out:?}");
    String::from_utf8(out.stdout).unwrap()
}

/// The networks named exactly `name`.
fn networks_named(name: &str) -> Vec<String> {
    podman(&["network", "ls", "--format", "{{.Name}}"])
        .lines()
        .filter(|n| *n == name)
        .map(str::to_owned)
        .collect()
}

/// Removes the network `name`, if it is there (a run that failed may have left it).
fn remove_network(name: &str) {
    if !networks_named(name).is_empty() {
        podman(&["network", "rm", "--force", name]);
    }
}

/// Waits until `id` has exited; its exit code.
async fn exit_code(runtime: &PodmanRuntime, id: &ContainerId) -> i32 {
    let deadline = Instant::now() + PATIENCE;
    loop {
        let state = runtime.inspect_container(id).await.unwrap().state;
        if let ContainerState::Exited { exit_code } = state {
            return exit_code;
        }
        assert!(
            Instant::now() < deadline,
            "{id} still {state:?} after {PATIENCE:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// What `id` wrote on its standard output, line by line.
async fn stdout(runtime: &PodmanRuntime, id: &ContainerId) -> Vec<String> {
    let lines = runtime
        .container_logs(id, &LogOptions::default())
        .await
        .unwrap();
    let lines: Vec<_> = tokio::time::timeout(PATIENCE, lines.collect())
        .await
        .expect("the logs of an exited container end");
    lines
        .into_iter()
        .map(Result::unwrap)
        .filter(|l| l.stream == StdStream::Stdout)
        .map(|l| l.message)
        .collect()
}

/// A server reached by its Service Connect alias from a client on the same network:
/// the network's DNS (aardvark-dns) answers it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn service_connect_aliases_resolve_on_podman() {
    let runtime = runtime();
    let network_name = "ecs-test-dns-net";
    let network = runtime
        .ensure_network(
            network_name,
            &BTreeMap::from([("ecs.test".into(), "dns".into())]),
        )
        .await
        .expect("ensure_network");
    let pid = std::process::id();
    let attach = |aliases: &[&str]| {
        Some(NetworkAttachment {
            network: network_name.to_owned(),
            aliases: aliases.iter().map(|a| (*a).to_owned()).collect(),
        })
    };
    let mut server = ContainerSpec::new(format!("ecs-dns-server-{pid}"), image());
    server.command = Some(vec![
        "sh".into(),
        "-c".into(),
        "mkdir -p /www && echo hello-from-server > /www/index.html && \
         exec httpd -f -p 8080 -h /www"
            .into(),
    ]);
    server.network = attach(&["svc-alias"]);
    // httpd as PID 1 ignores SIGTERM: no need to wait long for it.
    server.stop_timeout = Duration::from_secs(1);
    let mut client = ContainerSpec::new(format!("ecs-dns-client-{pid}"), image());
    // The server may not listen yet: the client asks again, within its own deadline.
    client.command = Some(vec![
        "sh".into(),
        "-c".into(),
        "for i in $(seq 1 50); do wget -qO- http://svc-alias:8080/ && exit 0; sleep 0.2; \
         done; exit 1"
            .into(),
    ]);
    client.network = attach(&[]);

    let server_id = runtime
        .create_container(&server)
        .await
        .expect("create server");
    runtime
        .start_container(&server_id)
        .await
        .expect("start server");
    let client_id = runtime
        .create_container(&client)
        .await
        .expect("create client");
    runtime
        .start_container(&client_id)
        .await
        .expect("start client");
    let code = exit_code(&runtime, &client_id).await;
    let out = stdout(&runtime, &client_id).await;
    let inspected = inspect(&server_id.0);
    runtime
        .stop_container(&server_id, Duration::from_secs(1))
        .await
        .unwrap();
    runtime.remove_container(&client_id).await.unwrap();
    runtime.remove_container(&server_id).await.unwrap();

    assert_eq!(code, 0, "the client's output: {out:?}");
    assert_eq!(out, ["hello-from-server"]);
    // On the network instead of the default one, with its alias, at an address of the
    // subnet ensure_network gave.
    let networks = inspected["NetworkSettings"]["Networks"]
        .as_object()
        .unwrap();
    assert_eq!(networks.keys().collect::<Vec<_>>(), [network_name]);
    let endpoint = &networks[network_name];
    assert!(
        endpoint["Aliases"]
            .as_array()
            .is_some_and(|a| a.iter().any(|a| a == "svc-alias")),
        "{endpoint}"
    );
    let ip = endpoint["IPAddress"].as_str().unwrap().parse().unwrap();
    assert!(network.contains(ip), "{ip} outside {network:?}");
}

/// Callers ensuring a missing network at once (of different runtimes) all get the same
/// one, and the engine has that one network.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ensuring_a_network_at_once_makes_one_on_podman() {
    let name = "ecs-test-race-net";
    remove_network(name);
    let runtimes: Vec<_> = (0..4).map(|_| runtime()).collect();
    let labels = BTreeMap::new();
    let ensured =
        futures::future::join_all(runtimes.iter().map(|r| r.ensure_network(name, &labels))).await;
    let found = networks_named(name);
    remove_network(name);
    let ensured: Vec<_> = ensured.into_iter().map(Result::unwrap).collect();
    assert!(ensured.iter().all(|n| *n == ensured[0]), "{ensured:?}");
    assert_eq!(found, [name]);
}

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
