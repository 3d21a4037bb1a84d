//! A control plane whose store fences it off (a leader another has succeeded, as the
//! etcd store does when its lease ran out) acts on no engine from then on: no container
//! created, started, stopped or removed, and nothing more written.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use ecs_core::cluster::Resources;
use ecs_core::control::{RegisterContainerInstance, RunTask, StopTask};
use ecs_core::runtime::{ContainerRuntime, ContainerState, InMemoryRuntime};
use ecs_core::store::{Kind, MemoryStore, Record, Store, Write};
use ecs_core::task::TaskStatus;
use ecs_core::{ClusterName, Ecs, Error, TaskDefinition};

use crate::support::counting::Counting;

/// A MemoryStore that can be fenced: then it refuses commits and says so when asked.
#[derive(Debug, Default)]
struct Fenceable {
    inner: MemoryStore,
    fenced: AtomicBool,
}

#[async_trait::async_trait]
impl Store for Fenceable {
    async fn load(&self, kind: Kind) -> Result<Vec<Record>, Error> {
        self.inner.load(kind).await
    }

    async fn get(&self, kind: Kind, key: &str) -> Result<Option<Record>, Error> {
        self.inner.get(kind, key).await
    }

    async fn commit(&self, writes: Vec<Write>) -> Result<Vec<u64>, Error> {
        self.check_fence()?;
        self.inner.commit(writes).await
    }

    fn check_fence(&self) -> Result<(), Error> {
        if self.fenced.load(Ordering::SeqCst) {
            return Err(Error::StoreFenced {
                reason: "another leads".into(),
            });
        }
        Ok(())
    }
}

#[tokio::test(start_paused = true)]
async fn a_fenced_control_plane_acts_on_no_engine() {
    let store = Arc::new(Fenceable::default());
    let ecs = Ecs::open(Default::default(), store.clone()).await.unwrap();
    let cluster: ClusterName = "c".parse().unwrap();
    ecs.create_cluster(cluster.clone()).unwrap();
    let engine = InMemoryRuntime::new(Resources::new(4096, 8192));
    let counting = Arc::new(Counting::new(Arc::new(engine.clone())));
    ecs.register_container_instance(RegisterContainerInstance::new(
        cluster.clone(),
        "i-1".parse().unwrap(),
        counting.clone(),
    ))
    .await
    .unwrap();
    ecs.register_task_definition(
        TaskDefinition::from_json(
            r#"{"family": "app", "containerDefinitions":
                [{"name": "app", "image": "busybox", "memory": 64}]}"#,
        )
        .unwrap()
        .definition,
    )
    .unwrap();
    let first = ecs
        .run_task(RunTask::new(cluster.clone(), "app".parse().unwrap(), 1))
        .unwrap()
        .tasks[0]
        .task_id
        .clone();
    ecs.wait_for(&first, |t| t.last_status == TaskStatus::Running)
        .await
        .unwrap();
    ecs.flush().await.unwrap();
    let acted = [
        "create_container",
        "start_container",
        "stop_container",
        "remove_container",
    ];
    let before: Vec<u64> = acted.iter().map(|op| counting.of(op)).collect();
    assert_eq!(before[..2], [1, 1]);
    let writes_before = store.inner.load(Kind::Task).await.unwrap();

    store.fenced.store(true, Ordering::SeqCst);
    // Asked after the fence: a stop and a new task. Neither reaches the engine.
    ecs.stop_task(StopTask::new(cluster.clone(), first.clone()))
        .unwrap();
    let second = ecs
        .run_task(RunTask::new(cluster.clone(), "app".parse().unwrap(), 1))
        .unwrap();
    assert_eq!(second.tasks.len(), 1);
    let flushed = ecs.flush().await;
    assert!(
        matches!(
            flushed,
            Err(Error::StoreFenced { .. } | Error::Store { .. })
        ),
        "{flushed:?}"
    );
    // Time enough for every runner to try (stop timeouts, retries, resyncs).
    tokio::time::sleep(Duration::from_secs(120)).await;
    let after: Vec<u64> = acted.iter().map(|op| counting.of(op)).collect();
    assert_eq!(
        after,
        before,
        "engine calls after the fence: {:?}",
        counting.calls()
    );
    assert_eq!(
        store.inner.load(Kind::Task).await.unwrap(),
        writes_before,
        "nothing more was written"
    );
    let running = engine
        .list_containers(&Default::default())
        .await
        .unwrap()
        .into_iter()
        .filter(|c| matches!(c.state, ContainerState::Running))
        .count();
    assert_eq!(running, 1, "the first task's container still runs");
}
