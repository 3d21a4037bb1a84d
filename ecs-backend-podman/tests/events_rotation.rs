//! libpod 4.3 ends every streaming reader of its events log when it rotates the log (at
//! `events_logfile_max_size`, 1 MiB by default), which a busy engine does every minute
//! or so. The backend's event stream must outlive that: this test fills the log with image
//! tag events until libpod rotates it, then checks that a container started afterwards is
//! still reported on the stream opened before. Needs the engine `scripts/engines`
//! provisions (file events logger, log in /run/libpod/events); no engine is a failure.

use std::sync::Arc;
use std::time::Duration;

use ecs_backend_podman::PodmanRuntime;
use ecs_core::runtime::{ContainerEventKind, ContainerRuntime, ContainerSpec};
use futures::StreamExt;
use podman_api::Podman;
use podman_api::opts::ImageTagOpts;
use tokio::time::{Instant, timeout};

fn env(name: &str, default: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| default.into())
}

fn log_size(path: &str) -> u64 {
    std::fs::metadata(path)
        .unwrap_or_else(|e| panic!("libpod's events log {path}: {e} (run scripts/engines)"))
        .len()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_event_stream_outlives_a_rotation_of_the_events_log() {
    let socket = env("ECS_PODMAN_SOCKET", "unix:///run/podman/podman.sock");
    let image = env("ECS_TEST_IMAGE", "ecs-test/busybox:1");
    let log = env("ECS_PODMAN_EVENTS_LOG", "/run/libpod/events/events.log");
    let runtime = Arc::new(
        PodmanRuntime::connect(&socket)
            .unwrap_or_else(|e| panic!("Podman at {socket}: {e} (run scripts/engines)")),
    );
    let mut events = runtime.events().await.expect("the event stream");

    // Tag and untag the test image until the log shrinks: libpod rotated it.
    let podman = Podman::unix(socket.trim_start_matches("unix://"));
    let repo = format!("localhost/ecs-rotation-{}", std::process::id());
    let deadline = Instant::now() + Duration::from_secs(180);
    let mut size = log_size(&log);
    let mut round = 0u32;
    loop {
        assert!(
            Instant::now() < deadline,
            "libpod did not rotate {log} within 180 s"
        );
        // One at a time: libpod loses concurrent tag changes of one image.
        let tagged = podman.images().get(&image);
        for i in 0..25 {
            let opts = ImageTagOpts::builder()
                .repo(&repo)
                .tag(format!("{round}-{i}"))
                .build();
            tagged.tag(&opts).await.expect("tag");
            tagged.untag(&opts).await.expect("untag");
        }
        round += 1;
        let now = log_size(&log);
        if now < size {
            break;
        }
        size = now;
    }

    // After the rotation: a container's start still comes on the same stream.
    let mut spec = ContainerSpec::new(format!("ecs-rotation-{}", std::process::id()), image);
    spec.command = Some(vec!["sh".into(), "-c".into(), "exit 0".into()]);
    let id = runtime.create_container(&spec).await.expect("create");
    runtime.start_container(&id).await.expect("start");
    let seen = timeout(Duration::from_secs(30), async {
        while let Some(e) = events.next().await {
            if e.id == id && e.kind == ContainerEventKind::Start {
                return true;
            }
        }
        false
    })
    .await;
    let _ = runtime.remove_container(&id).await;
    match seen {
        Ok(true) => {}
        Ok(false) => panic!("the event stream ended at the rotation of {log}"),
        Err(_) => panic!("no start event of {id} within 30 s after the rotation of {log}"),
    }
}
