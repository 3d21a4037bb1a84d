//! The conformance suite on the in-memory runtime (paused clock: the suite's real-time
//! waits pass in virtual time).

#![cfg(feature = "conformance")]

use std::sync::Arc;

use ecs_core::cluster::Resources;
use ecs_core::conformance::{self, Fixture};
use ecs_core::runtime::InMemoryRuntime;

fn fixture() -> Fixture {
    let rt = InMemoryRuntime::new(Resources::new(4096, 8192));
    rt.restrict_images(["busybox:conformance"], []);
    Fixture {
        runtime: Arc::new(rt),
        image: "busybox:conformance".into(),
        missing_image: "registry.invalid/missing:1".into(),
        prefix: "conf".into(),
    }
}

#[tokio::test(start_paused = true)]
async fn the_in_memory_runtime_passes_the_whole_suite() {
    conformance::run_all(&fixture()).await;
}
