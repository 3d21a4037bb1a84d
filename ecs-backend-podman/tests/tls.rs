//! The Podman backend over TCP, plain and with TLS. `scripts/engines` starts a Podman
//! service on plain TCP at 127.0.0.1:8088 and, since Podman 4.3 has no TLS of its own, a
//! mutual-TLS terminator (socat) in front of it at 127.0.0.1:8443. The whole conformance
//! suite runs through TLS, and the engine's basic calls through plain TCP; a client
//! without the right certificates, or an address where nothing listens, gets a clear error.
//! No engine is a failure, not a skip.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use ecs_backend_podman::PodmanRuntime;
use ecs_core::conformance::{self, Fixture};
use ecs_core::runtime::{ContainerRuntime, RuntimeError};

fn env(name: &str, default: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| default.into())
}

fn tls_endpoint() -> (String, PathBuf) {
    (
        env("ECS_PODMAN_TLS_HOST", "https://127.0.0.1:8443"),
        PathBuf::from(env("ECS_PODMAN_CERT_PATH", "/etc/ecs-engines/tls")),
    )
}

fn fixture(runtime: PodmanRuntime, name: &str) -> Fixture {
    Fixture {
        runtime: Arc::new(runtime.publishing_on("127.0.0.1")),
        image: env("ECS_TEST_IMAGE", "ecs-test/busybox:1"),
        missing_image: "registry.invalid/ecs-missing:1".into(),
        prefix: format!("ecs-conf-podman-{name}-{}", std::process::id()),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn podman_over_tls_passes_the_whole_suite() {
    let (host, certs) = tls_endpoint();
    let runtime = PodmanRuntime::connect_tls(&host, &certs)
        .unwrap_or_else(|e| panic!("Podman over TLS at {host}: {e} (run scripts/engines)"));
    conformance::run_all(&fixture(runtime, "tls")).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn podman_over_plain_tcp_runs_containers_and_reports_events() {
    let host = env("ECS_PODMAN_TCP_HOST", "tcp://127.0.0.1:8088");
    let runtime = PodmanRuntime::connect(&host)
        .unwrap_or_else(|e| panic!("Podman at {host}: {e} (run scripts/engines)"));
    let f = fixture(runtime, "tcp");
    conformance::host_is_described(&f).await;
    conformance::images_present_and_missing(&f).await;
    conformance::create_start_stop_remove(&f).await;
    conformance::events_report_start_and_die(&f).await;
}

/// A certificate directory of its own: the client certificate and key `cert`/`key` and the
/// CA `ca`, all from `certs`.
fn cert_dir(name: &str, certs: &Path, cert: &str, key: &str, ca: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("ecs-podman-{name}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    for (from, to) in [(cert, "cert.pem"), (key, "key.pem"), (ca, "ca.pem")] {
        std::fs::copy(certs.join(from), dir.join(to)).unwrap();
    }
    dir
}

fn unavailable(answer: Result<impl std::fmt::Debug, RuntimeError>) -> String {
    match answer {
        Err(RuntimeError::Unavailable(message)) => message,
        other => panic!("expected the engine to be unavailable, got {other:?}"),
    }
}

#[tokio::test]
async fn a_server_certificate_of_another_ca_is_refused_with_the_reason() {
    let (host, certs) = tls_endpoint();
    // Trust only some other CA (the client certificate stands in for one): the engine's
    // certificate does not verify.
    let dir = cert_dir("wrong-ca", &certs, "cert.pem", "key.pem", "cert.pem");
    let runtime = PodmanRuntime::connect_tls(&host, &dir).unwrap();
    let message = unavailable(runtime.describe_host().await);
    std::fs::remove_dir_all(&dir).unwrap();
    assert!(message.contains(&host), "{message}");
    assert!(message.contains("certificate verify failed"), "{message}");
}

#[tokio::test]
async fn the_engine_refuses_a_client_certificate_that_is_not_for_clients() {
    let (host, certs) = tls_endpoint();
    // The right CA, but the server's own certificate as the client's: it is for server
    // authentication only, and the terminator refuses it.
    let dir = cert_dir(
        "server-as-client",
        &certs,
        "server-cert.pem",
        "server-key.pem",
        "ca.pem",
    );
    let runtime = PodmanRuntime::connect_tls(&host, &dir).unwrap();
    let message = unavailable(runtime.describe_host().await);
    std::fs::remove_dir_all(&dir).unwrap();
    assert!(message.contains(&host), "{message}");
}

#[tokio::test]
async fn without_tls_the_tls_endpoint_does_not_answer() {
    let (host, _) = tls_endpoint();
    let plain = host.replacen("https://", "tcp://", 1);
    let runtime = PodmanRuntime::connect(&plain).unwrap();
    let message = unavailable(runtime.describe_host().await);
    assert!(message.contains(&plain), "{message}");
}

#[tokio::test]
async fn nothing_listening_is_a_clear_error() {
    // A port just released: nothing listens there.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let (_, certs) = tls_endpoint();
    let host = format!("https://127.0.0.1:{port}");
    let runtime = PodmanRuntime::connect_tls(&host, &certs).unwrap();
    let message = unavailable(runtime.describe_host().await);
    assert!(message.contains(&host), "{message}");
    assert!(message.contains("Connection refused"), "{message}");
    let plain = PodmanRuntime::connect(&format!("tcp://127.0.0.1:{port}")).unwrap();
    let message = unavailable(plain.events().await.map(|_| ()));
    assert!(message.contains("Connection refused"), "{message}");
}
