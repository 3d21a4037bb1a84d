//! What the tests on real engines share: where `scripts/engines` put the engines (its
//! `ECS_*` variables, else its defaults), runtimes connected to them, HTTP to a
//! published port, and one-task runs whose container writes what it saw to the host.

#![allow(dead_code)]

use std::io::{Read, Write};
use std::time::Duration;

use ecs::docker::DockerRuntime;
use ecs::podman::PodmanRuntime;
use ecs::service::Service;
use ecs::{ClusterName, Ecs, ServiceName};

fn env(name: &str, default: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| default.to_owned())
}

/// The test image (`scripts/engines` imports it from busybox-static).
pub fn image() -> String {
    env("ECS_TEST_IMAGE", "ecs-test/busybox:1")
}

/// The local Docker engine.
pub fn docker_host() -> String {
    env("ECS_DOCKER_HOST", "unix:///var/run/docker.sock")
}

/// The second Docker engine (its own socket, data root and bridge; live restore).
pub fn docker2_host() -> String {
    env("ECS_DOCKER2_HOST", "unix:///run/ecs-docker2/docker.sock")
}

/// Podman's API service.
pub fn podman_socket() -> String {
    env("ECS_PODMAN_SOCKET", "unix:///run/podman/podman.sock")
}

/// Podman's second API service, on plain TCP.
pub fn podman_tcp_host() -> String {
    env("ECS_PODMAN_TCP_HOST", "tcp://127.0.0.1:8088")
}

/// The local Docker engine, publishing ports on 127.0.0.1.
pub fn docker() -> DockerRuntime {
    DockerRuntime::connect(&docker_host())
        .expect("docker (run scripts/engines)")
        .publishing_on("127.0.0.1")
}

/// The second Docker engine, publishing ports on 127.0.0.1.
pub fn docker2() -> DockerRuntime {
    DockerRuntime::connect(&docker2_host())
        .expect("second docker (run scripts/engines)")
        .publishing_on("127.0.0.1")
}

/// Podman, publishing ports on 127.0.0.1.
pub fn podman() -> PodmanRuntime {
    PodmanRuntime::connect(&podman_socket())
        .expect("podman (run scripts/engines)")
        .publishing_on("127.0.0.1")
}

/// `GET /` on 127.0.0.1:`port`: the whole answer, headers and body.
pub fn http_get(port: u16) -> String {
    let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    s.write_all(b"GET / HTTP/1.0\r\nHost: localhost\r\n\r\n")
        .unwrap();
    let mut body = String::new();
    s.read_to_string(&mut body).expect("read");
    body
}

/// Waits up to `within` (real time: the engines' clock) until the service satisfies `f`;
/// the panic says `what` was awaited and shows the service as it is.
pub async fn wait_for_service(
    ecs: &Ecs,
    cluster: &ClusterName,
    service: &ServiceName,
    what: &str,
    within: Duration,
    f: impl Fn(&Service) -> bool,
) -> Service {
    match tokio::time::timeout(within, ecs.wait_for_service(cluster, service, f)).await {
        Ok(s) => s.unwrap(),
        Err(_) => panic!(
            "{what} not within {within:?}: {:#?}",
            ecs.describe_service(cluster, service)
        ),
    }
}

/// A host directory the engines' containers write into (as root: it is world-writable),
/// for tests that read what a container saw. Mounted at `/out` by [`out_task`].
pub fn out_dir() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::set_permissions(
        dir.path(),
        std::os::unix::fs::PermissionsExt::from_mode(0o777),
    )
    .unwrap();
    dir
}

/// A task definition of `family`: one container `app` of the test image with
/// `container` (more of its members, JSON, starting with a comma or empty), `out`
/// mounted at `/out`.
pub fn out_task(family: &str, out: &std::path::Path, container: &str) -> ecs::TaskDefinition {
    let json = format!(
        r#"{{"family": "{family}", "volumes": [{{"name": "out", "host": {{"sourcePath": "{dir}"}}}}],
            "containerDefinitions": [{{"name": "app", "image": "{image}",
              "mountPoints": [{{"sourceVolume": "out", "containerPath": "/out"}}]{container}}}]}}"#,
        dir = out.display(),
        image = image(),
    );
    ecs::TaskDefinition::from_json(&json)
        .unwrap_or_else(|e| panic!("{e}: {json}"))
        .definition
}

/// A cluster `PREFIX-INSTANCE-PID` of `ecs` with one instance, `instance`, on `runtime`.
pub async fn cluster_of_one(
    ecs: &Ecs,
    prefix: &str,
    instance: &str,
    runtime: std::sync::Arc<dyn ecs::runtime::ContainerRuntime>,
) -> ClusterName {
    let cluster: ClusterName = format!("{prefix}-{instance}-{}", std::process::id())
        .parse()
        .unwrap();
    ecs.create_cluster(cluster.clone()).unwrap();
    ecs.register_container_instance(ecs::control::RegisterContainerInstance::new(
        cluster.clone(),
        instance.parse().unwrap(),
        runtime,
    ))
    .await
    .unwrap();
    cluster
}

/// Runs one task of `request` and waits (2 minutes at most) until it is STOPPED, after
/// its essential container exited 0.
pub async fn run_to_exit(ecs: &Ecs, request: ecs::control::RunTask) -> ecs::task::Task {
    let task = ecs.run_task(request).unwrap().tasks.remove(0);
    let stopped = tokio::time::timeout(
        Duration::from_secs(120),
        ecs.wait_for(&task.task_id, |t| {
            t.last_status == ecs::task::TaskStatus::Stopped
        }),
    )
    .await
    .expect("STOPPED within 2 minutes")
    .unwrap();
    assert_eq!(
        stopped.stop_code,
        Some(ecs::task::StopCode::EssentialContainerExited)
    );
    assert_eq!(stopped.containers[0].exit_code, Some(0), "{stopped:?}");
    stopped
}
