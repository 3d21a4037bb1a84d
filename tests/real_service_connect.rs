//! Service Connect through the public `Ecs` API on real Docker and real Podman
//! (`scripts/engines` provisions both; a missing engine fails the test): a service of
//! two web servers offering `web:8080` in a namespace, and a client service of the same
//! namespace whose container resolves `web` to both servers, fetches a page from it, and
//! reads its task metadata endpoint from the namespace's network, all written to a host
//! directory; a RunTask task, outside the namespace, does not resolve the name.

#[path = "support/engines.rs"]
mod engines;

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use ecs::Ecs;
use ecs::control::RunTask;
use ecs::runtime::ContainerRuntime;
use ecs::service::{
    CreateService, DeleteService, ServiceConnectConfiguration, ServiceConnectService, ServiceStatus,
};
use ecs::task_definition::TaskDefinition;
use tokio::time::Instant;

/// How long any one wait may take.
const PATIENCE: Duration = Duration::from_secs(90);

/// The namespace: one name per engine, so that runs reuse its network (engines have a
/// few dozen subnets to give).
const NAMESPACE: &str = "ecs-real-tests";

fn server_definition() -> TaskDefinition {
    let json = format!(
        r#"{{"family": "sc-server", "containerDefinitions": [{{"name": "app", "image": "{image}",
            "memory": 32, "stopTimeout": 2,
            "command": ["sh", "-c", "mkdir -p /www && echo \"hello from $(hostname)\" > /www/index.html && exec httpd -f -p 8080 -h /www"],
            "portMappings": [{{"containerPort": 8080, "name": "http"}}]}}]}}"#,
        image = engines::image()
    );
    TaskDefinition::from_json(&json).unwrap().definition
}

/// A client that writes to `/out`: the page `name` serves, `name`'s addresses, and
/// what its metadata endpoint says; then idles. (The test image's static busybox
/// crashes in `wget -T` and at the end of `nslookup`: neither is relied on.)
fn client_definition(out: &Path, name: &str) -> TaskDefinition {
    engines::out_task(
        "sc-client",
        out,
        &format!(
            r#", "memory": 32, "stopTimeout": 2, "command": ["sh", "-c",
            "for i in $(seq 1 150); do wget -q -O /out/page.tmp http://{name}:8080/ && break; sleep 0.2; done; mv /out/page.tmp /out/page; nslookup {name} > /out/nslookup.tmp 2>&1; mv /out/nslookup.tmp /out/nslookup; wget -q -O /out/metadata.tmp \"$ECS_CONTAINER_METADATA_URI_V4/task\"; mv /out/metadata.tmp /out/metadata; exec sleep 3600"]"#
        ),
    )
}

/// Waits until `path` exists (the container moves each file into place when whole).
async fn written(path: &Path) -> String {
    let deadline = Instant::now() + PATIENCE;
    loop {
        if let Ok(text) = std::fs::read_to_string(path) {
            return text;
        }
        assert!(
            Instant::now() < deadline,
            "{} not written within {PATIENCE:?}",
            path.display()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// The addresses busybox's `nslookup` answered for the name (after its server's).
fn answered_addresses(nslookup: &str) -> Vec<String> {
    let mut addresses: Vec<String> = nslookup
        .split("Name:")
        .skip(1)
        .flat_map(|answer| {
            answer
                .lines()
                .filter_map(|l| l.trim().strip_prefix("Address:"))
                .map(|a| a.trim().trim_start_matches("1 ").to_owned())
                .collect::<Vec<_>>()
        })
        .collect();
    addresses.sort();
    addresses.dedup();
    addresses
}

async fn services_find_each_other_by_name(instance: &str, runtime: Arc<dyn ContainerRuntime>) {
    let ecs = Ecs::new(Default::default());
    let cluster = engines::cluster_of_one(&ecs, "sc", instance, runtime).await;
    ecs.register_task_definition(server_definition()).unwrap();
    // A name of this run's own: a failed earlier run may have left servers behind on
    // the namespace's network.
    let name = format!("web-{}", std::process::id());
    let out = engines::out_dir();
    ecs.register_task_definition(client_definition(out.path(), &name))
        .unwrap();
    let server_name: ecs::ServiceName = "server".parse().unwrap();
    ecs.create_service(
        CreateService::new(
            cluster.clone(),
            server_name.clone(),
            "sc-server".parse().unwrap(),
            2,
        )
        .with_service_connect(
            ServiceConnectConfiguration::client(NAMESPACE)
                .with_service(ServiceConnectService::new("http").with_client_alias(8080, &name)),
        ),
    )
    .unwrap();
    let server = engines::wait_for_service(
        &ecs,
        &cluster,
        &server_name,
        "two servers running",
        PATIENCE,
        |s| s.running_count == 2,
    )
    .await;
    assert_eq!(server.running_count, 2);
    let client_name: ecs::ServiceName = "client".parse().unwrap();
    ecs.create_service(
        CreateService::new(
            cluster.clone(),
            client_name.clone(),
            "sc-client".parse().unwrap(),
            1,
        )
        .with_service_connect(ServiceConnectConfiguration::client(NAMESPACE)),
    )
    .unwrap();

    // From inside the client: the page, from one of the servers by name.
    let page = written(&out.path().join("page")).await;
    assert!(page.starts_with("hello from "), "{page:?}");
    // The name resolves to both servers, and to nothing else.
    let nslookup = written(&out.path().join("nslookup")).await;
    let addresses = answered_addresses(&nslookup);
    assert_eq!(addresses.len(), 2, "{nslookup}");
    // The metadata endpoint answers it on the namespace's network.
    let metadata = written(&out.path().join("metadata")).await;
    let task: serde_json::Value = serde_json::from_str(&metadata).unwrap();
    assert_eq!(task["Family"], "sc-client", "{metadata}");

    // A task outside the namespace does not resolve the name.
    let outsider = out.path().join("outsider");
    std::fs::create_dir(&outsider).unwrap();
    std::fs::set_permissions(
        &outsider,
        std::os::unix::fs::PermissionsExt::from_mode(0o777),
    )
    .unwrap();
    ecs.register_task_definition(engines::out_task(
        "sc-outsider",
        &outsider,
        &format!(
            r#", "memory": 32, "command": ["sh", "-c", "wget -q -O /out/page http://{name}:8080/ 2> /out/error; true"]"#
        ),
    ))
    .unwrap();
    engines::run_to_exit(
        &ecs,
        RunTask::new(cluster.clone(), "sc-outsider".parse().unwrap(), 1),
    )
    .await;
    let error = std::fs::read_to_string(outsider.join("error")).unwrap();
    assert!(
        error.contains(&format!("bad address '{name}:8080'")),
        "{error:?}"
    );

    // Deleted, the services leave no container behind.
    for name in [&server_name, &client_name] {
        ecs.delete_service(DeleteService::new(cluster.clone(), name.clone()).with_force(true))
            .unwrap();
        engines::wait_for_service(&ecs, &cluster, name, "INACTIVE", PATIENCE, |s| {
            s.status == ServiceStatus::Inactive
        })
        .await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_docker_services_find_each_other_by_name() {
    services_find_each_other_by_name("docker", Arc::new(engines::docker())).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_podman_services_find_each_other_by_name() {
    services_find_each_other_by_name("podman", Arc::new(engines::podman())).await;
}
