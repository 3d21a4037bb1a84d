//! The web console in a real browser: headless Chromium (Debian's) driven by
//! playwright-core (both installed by `scripts/api-clients`), through
//! `tests/console/console.cjs`. It signs in, follows a service's deployments, tasks
//! and events live, sets its desired count, forces a new deployment, stops a task,
//! drains an instance and reads a task definition's JSON; the screenshots it takes
//! land in `target/console-screenshots`. Then this test checks on the control plane
//! itself that every action took effect. It fails, never skips, without the browser.

#[path = "support/clients.rs"]
mod clients;

use std::sync::Arc;
use std::time::Duration;

use ecs::cluster::{InstanceStatus, RegisterContainerInstance, Resources};
use ecs::config::EcsConfig;
use ecs::runtime::InMemoryRuntime;
use ecs::server::{Auth, Credentials, Server, ServerConfig};
use ecs::service::CreateService;
use ecs::task::{ListTasks, StopCode};
use ecs::{ArnScope, ClusterName, Ecs, TaskDefinition};

const ACCESS_KEY: &str = "AKIDCONSOLETEST";
const SECRET_KEY: &str = "secret-key-of-the-console-browser-tests!";
// SigV4 secrets are 40 characters, as AWS's are: checked when this compiles.
const _: () = assert!(SECRET_KEY.len() == 40);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_console_shows_and_drives_a_cluster_in_a_browser() {
    let (node, node_path, chromium) = (
        clients::required("ECS_NODE"),
        clients::required("ECS_NODE_PATH"),
        clients::required("ECS_CHROMIUM"),
    );

    let mut config = EcsConfig::default();
    config.arn_scope = ArnScope {
        region: "eu-west-1".into(),
        account: "123456789012".into(),
    };
    config.service_throttle.stable_after = Duration::from_secs(1);
    let ecs = Ecs::new(config);
    let shop: ClusterName = "shop".parse().unwrap();
    ecs.create_cluster(shop.clone()).unwrap();
    for (id, zone) in [("i-one", "a"), ("i-two", "b")] {
        ecs.register_container_instance(
            RegisterContainerInstance::new(
                shop.clone(),
                id.parse().unwrap(),
                Arc::new(InMemoryRuntime::new(Resources::new(2048, 4096))),
            )
            .with_attribute("zone", zone),
        )
        .await
        .unwrap();
    }
    ecs.register_task_definition(
        TaskDefinition::from_json(
            r#"{"family": "web", "containerDefinitions": [{"name": "httpd", "image": "busybox",
                "memory": 64, "cpu": 128, "stopTimeout": 2,
                "portMappings": [{"containerPort": 80, "hostPort": 0}],
                "healthCheck": {"command": ["CMD-SHELL", "true"], "interval": 5}}]}"#,
        )
        .unwrap()
        .definition,
    )
    .unwrap();
    ecs.create_service(CreateService::new(
        shop.clone(),
        "web".parse().unwrap(),
        "web".parse().unwrap(),
        2,
    ))
    .unwrap();
    // A cluster whose capacity provider's group may launch nothing: its task waits.
    let grow: ClusterName = "grow".parse().unwrap();
    ecs.create_cluster(grow.clone()).unwrap();
    let none = ecs::capacity::InMemoryInstanceProvider::new("none", Resources::new(1024, 2048));
    ecs.register_instance_group(
        "none",
        ecs::capacity::InstanceGroup::new(Arc::new(none), 0, 0),
    )
    .await
    .unwrap();
    let spare: ecs::CapacityProviderName = "spare".parse().unwrap();
    ecs.create_capacity_provider(ecs::control::CreateCapacityProvider::new(
        spare.clone(),
        "none",
    ))
    .unwrap();
    ecs.put_cluster_capacity_providers(
        &grow,
        std::slice::from_ref(&spare),
        vec![ecs::capacity::CapacityProviderStrategyItem::new(
            spare.clone(),
        )],
    )
    .unwrap();
    ecs.run_task(ecs::control::RunTask::new(grow, "web".parse().unwrap(), 1))
        .unwrap();

    let server_config = ServerConfig::default()
        .with_listen("127.0.0.1:0".parse().unwrap())
        .with_auth(Auth::SigV4(vec![Credentials::new(ACCESS_KEY, SECRET_KEY)]));
    let server = Server::bind(ecs.clone(), server_config).await.unwrap();
    let address = server.local_addr().unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let serving = tokio::spawn(server.serve(async {
        let _ = stopped.await;
    }));

    let shots = concat!(env!("CARGO_MANIFEST_DIR"), "/target/console-screenshots");
    std::fs::create_dir_all(shots).unwrap();
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/console/console.cjs");
    let run = tokio::process::Command::new(&node)
        .arg(script)
        .env("NODE_PATH", &node_path)
        .env("ECS_ENDPOINT", format!("http://{address}"))
        .env("ECS_ACCESS_KEY", ACCESS_KEY)
        .env("ECS_SECRET_KEY", SECRET_KEY)
        .env("ECS_REGION", "eu-west-1")
        .env("ECS_CHROMIUM", &chromium)
        .env("ECS_SCREENSHOTS", shots)
        .kill_on_drop(true)
        .output();
    let out = tokio::time::timeout(Duration::from_secs(300), run)
        .await
        .expect("the browser checks did not finish within 5 minutes")
        .expect("node could not be started");
    let _ = stop.send(());
    serving.await.unwrap().unwrap();
    let (stdout, stderr) = (
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
    );
    assert!(
        out.status.success(),
        "the browser checks failed:\n{stdout}\n{stderr}"
    );
    assert!(stdout.contains("every check passed"), "{stdout}");

    // What the clicks did, seen from the control plane.
    let web = ecs
        .describe_service(&shop, &"web".parse().unwrap())
        .unwrap();
    assert_eq!(web.desired_count, 3);
    assert!(
        web.events
            .iter()
            .filter(|e| e.message.contains("has started"))
            .count()
            >= 2,
        "a new deployment started tasks: {:?}",
        web.events
    );
    let cluster = ecs.describe_cluster(&shop).unwrap();
    let one = cluster.instance(&"i-one".parse().unwrap()).unwrap();
    assert_eq!(one.status(), InstanceStatus::Draining);
    let ids = ecs.list_tasks(ListTasks::new(shop.clone())).unwrap();
    let tasks = ecs.describe_tasks(&shop, &ids).unwrap();
    assert!(
        tasks
            .iter()
            .any(|t| t.stop_code == Some(StopCode::UserInitiated)
                && t.stopped_reason.as_deref() == Some("Stopped from the console")),
        "the task stopped from the console"
    );
    for shot in [
        "0-sign-in-refused",
        "1-clusters",
        "2-service",
        "3-deploying",
        "4-task",
        "5-task-stopped",
        "6-instances",
        "7-task-definition",
    ] {
        let png = std::fs::read(format!("{shots}/{shot}.png")).unwrap();
        assert!(png.starts_with(b"\x89PNG") && png.len() > 10_000, "{shot}");
    }
}
