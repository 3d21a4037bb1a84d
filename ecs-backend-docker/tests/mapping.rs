//! A task definition's container, as Docker creates it: every field the backend maps,
//! checked through Docker's own inspect (raw bollard), not through the backend. And
//! Service Connect's networks on the real engine: the aliases its DNS answers (one
//! container fetching a page from another by its alias), legacy links there, two
//! ensures at once, and the duplicate networks Docker 20.10 lets a race make.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::Duration;

use bollard::Docker;
use bollard::models::NetworkCreateRequest;
use bollard::query_parameters::ListNetworksOptionsBuilder;
use ecs_backend_docker::DockerRuntime;
use ecs_core::control::{EcsConfig, RegisterContainerInstance, RunTask, StopTask};
use ecs_core::runtime::{
    ContainerId, ContainerRuntime, ContainerSpec, ContainerState, LogOptions, NetworkAttachment,
    StdStream,
};
use ecs_core::task::TaskStatus;
use ecs_core::{Ecs, TaskDefinition};
use futures::StreamExt;
use tokio::time::Instant;

/// How long a container may take to get where a test waits for it.
const PATIENCE: Duration = Duration::from_secs(60);

fn host() -> String {
    std::env::var("ECS_DOCKER_HOST").unwrap_or_else(|_| "unix:///var/run/docker.sock".into())
}

fn image() -> String {
    std::env::var("ECS_TEST_IMAGE").unwrap_or_else(|_| "ecs-test/busybox:1".into())
}

fn runtime() -> DockerRuntime {
    DockerRuntime::connect(&host()).expect("docker (run scripts/engines)")
}

fn raw() -> Docker {
    let host = host();
    let socket = host
        .strip_prefix("unix://")
        .unwrap_or_else(|| panic!("ECS_DOCKER_HOST={host}: this test needs a unix:// socket"));
    Docker::connect_with_unix(socket, 60, bollard::API_DEFAULT_VERSION).unwrap()
}

/// The ids of the networks named exactly `name`.
async fn networks_named(raw: &Docker, name: &str) -> Vec<String> {
    let filters = HashMap::from([("name".to_owned(), vec![name.to_owned()])]);
    raw.list_networks(Some(
        ListNetworksOptionsBuilder::new().filters(&filters).build(),
    ))
    .await
    .unwrap()
    .into_iter()
    .filter(|n| n.name.as_deref() == Some(name))
    .filter_map(|n| n.id)
    .collect()
}

/// Removes every network named `name` (a run that failed may have left some).
async fn remove_networks(raw: &Docker, name: &str) {
    for id in networks_named(raw, name).await {
        raw.remove_network(&id).await.unwrap();
    }
}

/// Waits until `id` has exited; its exit code.
async fn exit_code(runtime: &DockerRuntime, id: &ContainerId) -> i32 {
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
async fn stdout(runtime: &DockerRuntime, id: &ContainerId) -> Vec<String> {
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

/// A server reached by its Service Connect alias, and by a legacy link, from a client
/// on the same network: Docker's embedded DNS answers both names.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn service_connect_aliases_resolve_on_docker() {
    let runtime = runtime();
    let raw = raw();
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
        "fetch() { for i in $(seq 1 50); do wget -qO- \"http://$1:8080/\" && return 0; \
         sleep 0.2; done; return 1; }; fetch svc-alias && fetch linked-server"
            .into(),
    ]);
    client.network = attach(&[]);
    client.links = vec![(server.name.clone(), "linked-server".into())];

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
    let inspected = raw.inspect_container(&server_id.0, None).await.unwrap();
    runtime
        .stop_container(&server_id, Duration::from_secs(1))
        .await
        .unwrap();
    runtime.remove_container(&client_id).await.unwrap();
    runtime.remove_container(&server_id).await.unwrap();

    assert_eq!(code, 0, "the client's output: {out:?}");
    assert_eq!(out, ["hello-from-server"; 2]);
    // On the network instead of the default bridge, with its alias, at an address of the
    // subnet ensure_network gave.
    assert_eq!(
        inspected.host_config.unwrap().network_mode.as_deref(),
        Some(network_name)
    );
    let networks = inspected.network_settings.unwrap().networks.unwrap();
    assert_eq!(networks.keys().collect::<Vec<_>>(), [network_name]);
    let endpoint = &networks[network_name];
    assert!(
        endpoint
            .aliases
            .as_ref()
            .is_some_and(|a| a.iter().any(|a| a == "svc-alias")),
        "{endpoint:?}"
    );
    let ip = endpoint.ip_address.as_deref().unwrap().parse().unwrap();
    assert!(network.contains(ip), "{ip} outside {network:?}");
}

/// Callers ensuring a missing network at once (of different runtimes of one process) all
/// get the same one, and the engine has one network of that name.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ensuring_a_network_at_once_makes_one_on_docker() {
    let raw = raw();
    let name = "ecs-test-race-net";
    remove_networks(&raw, name).await;
    let runtimes: Vec<_> = (0..4).map(|_| runtime()).collect();
    let labels = BTreeMap::new();
    let ensured =
        futures::future::join_all(runtimes.iter().map(|r| r.ensure_network(name, &labels))).await;
    let found = networks_named(&raw, name).await;
    remove_networks(&raw, name).await;
    let ensured: Vec<_> = ensured.into_iter().map(Result::unwrap).collect();
    assert!(ensured.iter().all(|n| *n == ensured[0]), "{ensured:?}");
    assert_eq!(found.len(), 1, "{found:?}");
}

/// Docker 20.10 makes a second network of a name in use (as another process's create
/// racing this one's would): ensuring it keeps the oldest and removes the other, and a
/// container can be created on it again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn duplicate_networks_are_settled_on_docker() {
    let raw = raw();
    let runtime = runtime();
    let name = "ecs-test-dup-net";
    remove_networks(&raw, name).await;
    let create = || NetworkCreateRequest {
        name: name.to_owned(),
        driver: Some("bridge".into()),
        ..Default::default()
    };
    let oldest = raw.create_network(create()).await.unwrap().id;
    raw.create_network(create()).await.unwrap();
    assert_eq!(
        networks_named(&raw, name).await.len(),
        2,
        "this engine refuses a name in use: nothing to settle"
    );
    let ensured = runtime.ensure_network(name, &BTreeMap::new()).await;
    let left = networks_named(&raw, name).await;
    let kept = raw.inspect_network(&oldest, None).await;
    remove_networks(&raw, name).await;
    let ensured = ensured.expect("ensure_network with a duplicate");
    assert_eq!(left, [oldest]);
    let kept = kept.unwrap().ipam.unwrap().config.unwrap();
    assert_eq!(
        kept[0].subnet.as_deref(),
        Some(format!("{}/{}", ensured.subnet, ensured.prefix_len).as_str())
    );
}

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
