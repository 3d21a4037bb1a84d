//! `/metrics`: the control plane's metrics, recorded through the facade, rendered in
//! Prometheus' text format by the recorder this process installs.

use std::sync::Arc;

use ecs_core::Ecs;
use ecs_core::cluster::{RegisterContainerInstance, Resources};
use ecs_core::config::EcsConfig;
use ecs_core::runtime::InMemoryRuntime;
use ecs_core::service::CreateService;
use ecs_core::store::MemoryStore;
use ecs_core::task::{RunTask, TaskStatus};
use ecs_core::{ClusterName, TaskDefinition};
use ecs_server::{Auth, Server, ServerConfig};
use metrics_exporter_prometheus::PrometheusBuilder;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

async fn get(address: std::net::SocketAddr, path: &str) -> String {
    let mut conn = tokio::net::TcpStream::connect(address).await.unwrap();
    conn.write_all(
        format!("GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").as_bytes(),
    )
    .await
    .unwrap();
    let mut answer = String::new();
    conn.read_to_string(&mut answer).await.unwrap();
    answer
}

/// The value of the sample `line_start` begins (name and labels, as rendered).
fn sample(text: &str, line_start: &str) -> f64 {
    text.lines()
        .find(|l| l.starts_with(line_start))
        .unwrap_or_else(|| panic!("no sample {line_start} in:\n{text}"))
        .rsplit(' ')
        .next()
        .unwrap()
        .parse()
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_show_the_state_placements_engine_calls_and_commits() {
    let handle = PrometheusBuilder::new()
        .set_buckets(&[0.0001, 0.001, 0.01, 0.1, 1.0])
        .unwrap()
        .install_recorder()
        .unwrap();
    ecs_core::telemetry::describe();

    let ecs = Ecs::open(EcsConfig::default(), Arc::new(MemoryStore::new()))
        .await
        .unwrap();
    let cluster: ClusterName = "m".parse().unwrap();
    ecs.create_cluster(cluster.clone()).unwrap();
    ecs.register_container_instance(RegisterContainerInstance::new(
        cluster.clone(),
        "i-1".parse().unwrap(),
        Arc::new(InMemoryRuntime::new(Resources::new(4096, 1024))),
    ))
    .await
    .unwrap();
    ecs.register_task_definition(
        TaskDefinition::from_json(
            r#"{"family": "web", "containerDefinitions": [
                {"name": "app", "image": "busybox", "memory": 300, "cpu": 64}]}"#,
        )
        .unwrap()
        .definition,
    )
    .unwrap();
    // Three fit (900 of 1,024 MiB); the fourth does not.
    let out = ecs
        .run_task(RunTask::new(cluster.clone(), "web".parse().unwrap(), 4))
        .unwrap();
    assert_eq!(out.tasks.len(), 3);
    for t in &out.tasks {
        ecs.wait_for(&t.task_id, |t| t.last_status == TaskStatus::Running)
            .await
            .unwrap();
    }
    ecs.create_service(CreateService::new(
        cluster.clone(),
        "idle".parse().unwrap(),
        "web".parse().unwrap(),
        0,
    ))
    .unwrap();
    ecs.flush().await.unwrap();

    let config = ServerConfig::default()
        .with_listen("127.0.0.1:0".parse().unwrap())
        .with_auth(Auth::Disabled)
        .with_metrics(handle);
    let server = Server::bind(ecs.clone(), config).await.unwrap();
    let address = server.local_addr().unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let serving = tokio::spawn(server.serve(async {
        let _ = stopped.await;
    }));
    let answer = get(address, "/metrics").await;
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    assert!(answer.contains("text/plain; version=0.0.4"), "{answer}");

    assert_eq!(
        sample(&answer, r#"ecs_tasks{cluster="m",last_status="RUNNING"}"#),
        3.0
    );
    assert_eq!(
        sample(&answer, r#"ecs_tasks{cluster="m",last_status="STOPPED"}"#),
        0.0
    );
    assert_eq!(
        sample(
            &answer,
            r#"ecs_placements_total{cluster="m",result="placed"}"#
        ),
        3.0
    );
    assert_eq!(
        sample(
            &answer,
            r#"ecs_placements_total{cluster="m",result="failed"}"#
        ),
        1.0
    );
    assert_eq!(
        sample(
            &answer,
            r#"ecs_placement_failures_total{cluster="m",reason="RESOURCE:MEMORY"}"#
        ),
        1.0
    );
    assert_eq!(sample(&answer, "ecs_placement_seconds_count"), 1.0);
    assert_eq!(
        sample(
            &answer,
            r#"ecs_engine_calls_total{operation="create_container",runtime="in-memory"}"#
        ),
        3.0
    );
    assert_eq!(
        sample(
            &answer,
            r#"ecs_engine_call_seconds_count{operation="start_container",runtime="in-memory"}"#
        ),
        3.0
    );
    assert_eq!(
        sample(
            &answer,
            r#"ecs_service_desired_tasks{cluster="m",service="idle"}"#
        ),
        0.0
    );
    // Its one deployment, of no task, completes at its controller's first pass.
    let deployments = sample(
        &answer,
        r#"ecs_deployments{cluster="m",rollout_state="IN_PROGRESS"}"#,
    ) + sample(
        &answer,
        r#"ecs_deployments{cluster="m",rollout_state="COMPLETED"}"#,
    );
    assert_eq!(deployments, 1.0);
    assert!(sample(&answer, r#"ecs_store_commits_total{result="ok"}"#) >= 1.0);
    assert!(sample(&answer, "ecs_store_commit_seconds_count") >= 1.0);
    assert!(answer.contains("# HELP ecs_tasks Tasks by cluster and last status"));

    // A cluster deleted: its gauges read zero rather than their last value.
    let gone: ClusterName = "gone".parse().unwrap();
    ecs.create_cluster(gone.clone()).unwrap();
    ecs.create_service(CreateService::new(
        gone.clone(),
        "s".parse().unwrap(),
        "web".parse().unwrap(),
        0,
    ))
    .unwrap();
    let before = get(address, "/metrics").await;
    let deployments = |text: &str| {
        sample(
            text,
            r#"ecs_deployments{cluster="gone",rollout_state="IN_PROGRESS"}"#,
        ) + sample(
            text,
            r#"ecs_deployments{cluster="gone",rollout_state="COMPLETED"}"#,
        )
    };
    assert_eq!(deployments(&before), 1.0);
    ecs.delete_service(ecs_core::service::DeleteService::new(
        gone.clone(),
        "s".parse().unwrap(),
    ))
    .unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while ecs.delete_cluster(&gone).is_err() {
        assert!(
            std::time::Instant::now() < deadline,
            "the cluster became deletable"
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    let after = get(address, "/metrics").await;
    assert_eq!(deployments(&after), 0.0);
    assert_eq!(
        sample(
            &after,
            r#"ecs_service_desired_tasks{cluster="gone",service="s"}"#
        ),
        0.0
    );

    let _ = stop.send(());
    serving.await.unwrap().unwrap();
}

#[tokio::test]
async fn without_a_recorder_there_is_no_metrics_page() {
    let config = ServerConfig::default()
        .with_listen("127.0.0.1:0".parse().unwrap())
        .with_auth(Auth::Disabled);
    let server = Server::bind(Ecs::new(EcsConfig::default()), config)
        .await
        .unwrap();
    let address = server.local_addr().unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let serving = tokio::spawn(server.serve(async {
        let _ = stopped.await;
    }));
    assert!(get(address, "/metrics").await.starts_with("HTTP/1.1 404"));
    let _ = stop.send(());
    serving.await.unwrap().unwrap();
}
