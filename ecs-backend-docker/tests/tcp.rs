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
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, UnixStream};

/// Forwards every connection to `127.0.0.1:PORT` to the engine's socket; counts the
/// bytes of requests it carried to the engine, as they go.
async fn proxy(socket: String) -> (u16, Arc<AtomicUsize>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let carried = Arc::new(AtomicUsize::new(0));
    let count = carried.clone();
    tokio::spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            let (socket, count) = (socket.clone(), count.clone());
            tokio::spawn(async move {
                let Ok(engine) = UnixStream::connect(&socket).await else {
                    return;
                };
                let (mut from_client, mut to_client) = tcp.into_split();
                let (mut from_engine, mut to_engine) = engine.into_split();
                let answers = async {
                    let _ = tokio::io::copy(&mut from_engine, &mut to_client).await;
                    // The engine ending its side ends the client's: a hijacked
                    // connection (an exec's output) ends so, not by HTTP's framing.
                    let _ = to_client.shutdown().await;
                };
                let requests = async {
                    let mut buf = vec![0u8; 16 * 1024];
                    while let Ok(n) = from_client.read(&mut buf).await {
                        if n == 0 || to_engine.write_all(&buf[..n]).await.is_err() {
                            break;
                        }
                        count.fetch_add(n, Ordering::SeqCst);
                    }
                    let _ = to_engine.shutdown().await;
                };
                let _ = tokio::join!(answers, requests);
            });
        }
    });
    (port, carried)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn docker_over_plain_tcp_passes_the_whole_suite() {
    let host =
        std::env::var("ECS_DOCKER_HOST").unwrap_or_else(|_| "unix:///var/run/docker.sock".into());
    let socket = host
        .strip_prefix("unix://")
        .unwrap_or_else(|| panic!("ECS_DOCKER_HOST={host}: this test needs a unix:// socket"))
        .to_owned();
    let (port, carried) = proxy(socket.clone()).await;
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
    // The requests went through TCP: a backend that fell back to the default socket
    // would pass the suite with nothing carried here.
    assert!(
        carried.load(Ordering::SeqCst) > 0,
        "no request carried over TCP to the engine"
    );
}
