//! The task metadata endpoint (v4) on real Docker and real Podman, read from inside the
//! container: it fetches `$ECS_CONTAINER_METADATA_URI_V4` and `.../task` (at the
//! engine's bridge gateway) with busybox's nc and writes the answers to a host directory
//! the test reads. (It asks until its own status reads RUNNING: the engine runs it
//! before the agent has heard it started; and asks again when busybox's nc returns
//! nothing, which it sometimes does when its input ends first.)

#[path = "support/engines.rs"]
mod engines;

use std::sync::Arc;

use ecs::Ecs;
use ecs::control::{EcsConfig, RunTask};
use ecs::runtime::ContainerRuntime;
use serde_json::Value;

async fn metadata_on(instance: &str, runtime: Arc<dyn ContainerRuntime>) {
    let out = engines::out_dir();
    let ecs = Ecs::new(EcsConfig::default());
    let cluster = engines::cluster_of_one(&ecs, "meta", instance, runtime).await;
    let family = format!("meta-{}", std::process::id());
    // busybox's static wget cannot resolve anything (it crashes): a plain HTTP/1.0 GET
    // through nc, headers cut off.
    std::fs::write(
        out.path().join("get.sh"),
        "get() { r=${1#http://}; hp=${r%%/*}; p=/${r#*/}; \
         printf 'GET %s HTTP/1.0\\r\\nHost: %s\\r\\n\\r\\n' \"$p\" \"$hp\" \
         | nc \"${hp%:*}\" \"${hp#*:}\" | sed '1,/^\\r$/d'; }\n\
         i=0; while [ $i -lt 100 ]; do i=$((i+1)); \
           get \"$ECS_CONTAINER_METADATA_URI_V4\" > /out/me.json; \
           grep -q '\"KnownStatus\":\"RUNNING\"' /out/me.json && break; sleep 0.2; done\n\
         i=0; while [ $i -lt 20 ]; do i=$((i+1)); \
           get \"$ECS_CONTAINER_METADATA_URI_V4/task\" > /out/task.json; \
           grep -q TaskARN /out/task.json && break; sleep 0.2; done\n",
    )
    .unwrap();
    let container = r#", "memory": 32, "command": ["sh", "/out/get.sh"]"#;
    ecs.register_task_definition(engines::out_task(&family, out.path(), container))
        .unwrap();
    // Exit 0: the container read its endpoint.
    let request = RunTask::new(cluster.clone(), family.parse().unwrap(), 1);
    let stopped = engines::run_to_exit(&ecs, request).await;
    let read = |name: &str| -> Value {
        let text = std::fs::read_to_string(out.path().join(name)).unwrap();
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("{instance}: {name}: {e}: {text:?}"))
    };
    let me = read("me.json");
    assert_eq!(me["Name"], "app", "{instance}");
    assert_eq!(
        me["DockerId"],
        stopped.containers[0]
            .runtime_id
            .as_ref()
            .unwrap()
            .to_string(),
        "{instance}"
    );
    assert_eq!(me["KnownStatus"], "RUNNING");
    let whole = read("task.json");
    assert_eq!(whole["TaskARN"], stopped.task_arn.to_string(), "{instance}");
    assert_eq!(whole["Cluster"], cluster.to_string());
    assert_eq!(whole["Family"], family);
    assert_eq!(whole["Containers"][0]["Name"], "app");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_docker_container_reads_its_task_metadata() {
    metadata_on("i-docker", Arc::new(engines::docker())).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_podman_container_reads_its_task_metadata() {
    metadata_on("i-podman", Arc::new(engines::podman())).await;
}
