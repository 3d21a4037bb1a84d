//! The Docker backend over plain TCP (`tcp://HOST:PORT`).
//!
//! The engines this project provisions do not listen on plain TCP (a root engine open to
//! every local user; the second daemon's TCP endpoint requires TLS). This test puts a
//! loopback TCP listener of its own in front of the local engine's socket, alive only
//! while it runs, so that everything the backend does over TCP (bollard's HTTP
//! connector, the event stream's long-lived response) is exercised on the real engine.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use ecs_backend_docker::DockerRuntime;
use ecs_core::conformance::{self, Fixture};
use tokio::net::{TcpListener, UnixStream};

/// Forwards every connection to `127.0.0.1:PORT` to the engine's socket; counts them.
async fn proxy(socket: String) -> (u16, Arc<AtomicUsize>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let accepted = Arc::new(AtomicUsize::new(0));
    let count = accepted.clone();
    tokio::spawn(async move {
        while let Ok((mut tcp, _)) = listener.accept().await {
            count.fetch_add(1, Ordering::SeqCst);
            let socket = socket.clone();
            tokio::spawn(async move {
                if let Ok(mut engine) = UnixStream::connect(&socket).await {
                    let _ = tokio::io::copy_bidirectional(&mut tcp, &mut engine).await;
                }
            });
        }
    });
    (port, accepted)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn docker_over_plain_tcp_passes_the_whole_suite() {
    let socket = std::env::var("ECS_DOCKER_HOST")
        .unwrap_or_else(|_| "unix:///var/run/docker.sock".into())
        .trim_start_matches("unix://")
        .to_owned();
    let (port, accepted) = proxy(socket.clone()).await;
    let runtime = DockerRuntime::connect(&format!("tcp://127.0.0.1:{port}"))
        .unwrap_or_else(|e| panic!("Docker at {socket} through TCP: {e} (run scripts/engines)"))
        .publishing_on("127.0.0.1");
    let fixture = Fixture {
        runtime: Arc::new(runtime),
        image: std::env::var("ECS_TEST_IMAGE").unwrap_or_else(|_| "ecs-test/busybox:1".into()),
        missing_image: "registry.invalid/ecs-missing:1".into(),
        prefix: format!("ecs-conf-tcp-{}", std::process::id()),
    };
    conformance::run_all(&fixture).await;
    // Everything went through TCP: the backend opened its connections to the listener.
    assert!(
        accepted.load(Ordering::SeqCst) > 0,
        "no connection over TCP"
    );
}
