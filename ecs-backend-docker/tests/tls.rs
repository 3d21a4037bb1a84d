//! The Docker backend over TCP with TLS: the second daemon that `scripts/engines`
//! provisions also listens on 127.0.0.1:2376 with mutual TLS. The whole conformance suite
//! runs through it; without the client certificate the engine is unreachable.

use std::path::PathBuf;
use std::sync::Arc;

use ecs_backend_docker::DockerRuntime;
use ecs_core::conformance::{self, Fixture};
use ecs_core::runtime::{ContainerRuntime, RuntimeError};

fn endpoint() -> (String, PathBuf) {
    let host =
        std::env::var("ECS_DOCKER2_TLS_HOST").unwrap_or_else(|_| "tcp://127.0.0.1:2376".into());
    let certs =
        std::env::var("ECS_DOCKER2_CERT_PATH").unwrap_or_else(|_| "/etc/ecs-engines/tls".into());
    (host, PathBuf::from(certs))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn docker_over_tls_passes_the_whole_suite() {
    let (host, certs) = endpoint();
    let runtime = DockerRuntime::connect_tls(&host, &certs)
        .unwrap_or_else(|e| panic!("Docker over TLS at {host}: {e} (run scripts/engines)"))
        .publishing_on("127.0.0.1");
    let fixture = Fixture {
        runtime: Arc::new(runtime),
        image: std::env::var("ECS_TEST_IMAGE").unwrap_or_else(|_| "ecs-test/busybox:1".into()),
        missing_image: "registry.invalid/ecs-missing:1".into(),
        prefix: format!("ecs-conf-tls-{}", std::process::id()),
    };
    conformance::run_all(&fixture).await;
}

#[tokio::test]
async fn without_the_client_certificate_the_engine_is_unreachable() {
    let (host, _) = endpoint();
    let plain = DockerRuntime::connect(&host).unwrap();
    let answer = plain.describe_host().await;
    // Plain HTTP to a TLS port: refused, whatever words the engine finds for it.
    assert!(
        matches!(
            answer,
            Err(RuntimeError::Unavailable(_) | RuntimeError::InvalidRequest(_))
        ),
        "{answer:?}"
    );
}
