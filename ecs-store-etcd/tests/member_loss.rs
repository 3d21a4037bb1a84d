//! One etcd member of three killed (the raft leader, the hardest case) and restarted
//! while a control plane on the store works at full speed: no acknowledged change is
//! lost, no call errs, the control plane's leadership holds throughout.

mod support;

use std::sync::Arc;
use std::time::Duration;

use ecs_core::TaskDefinition;
use ecs_core::cluster::Resources;
use ecs_core::control::{Ecs, RegisterContainerInstance, RunTask, StopTask};
use ecs_core::runtime::InMemoryRuntime;
use ecs_core::task::TaskStatus;
use ecs_store_etcd::{Candidate, EtcdStore};

const OPS: usize = 240;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_member_killed_and_restarted_under_load_loses_nothing() {
    let mut etcd = support::OwnCluster::start(10000).await;
    let client = etcd_client::Client::connect(etcd.endpoints(), None)
        .await
        .unwrap();
    let root = "ecs-member-loss";
    let candidate = Candidate::new(&client, root, "only", Duration::from_secs(5));
    let leadership = candidate.campaign().await.unwrap();
    let store = EtcdStore::open_fenced(&client, root, leadership.fence())
        .await
        .unwrap();
    let ecs = Ecs::open(Default::default(), Arc::new(store))
        .await
        .unwrap();
    let cluster: ecs_core::ClusterName = "c".parse().unwrap();
    ecs.create_cluster(cluster.clone()).unwrap();
    let runtime = Arc::new(InMemoryRuntime::new(Resources::new(1 << 20, 1 << 20)));
    ecs.register_container_instance(RegisterContainerInstance::new(
        cluster.clone(),
        "i-1".parse().unwrap(),
        runtime,
    ))
    .await
    .unwrap();
    ecs.register_task_definition(
        TaskDefinition::from_json(
            r#"{"family": "load", "containerDefinitions":
                [{"name": "app", "image": "busybox", "memory": 6}]}"#,
        )
        .unwrap()
        .definition,
    )
    .unwrap();

    // Each operation acknowledged once durable (as the API server answers).
    let mut acknowledged: Vec<(ecs_core::TaskId, TaskStatus)> = Vec::new();
    let mut killed = None;
    for op in 0..OPS {
        if op == OPS / 3 {
            let member = etcd.leader().await;
            etcd.kill(member).await;
            killed = Some(member);
        }
        if op == 2 * OPS / 3 {
            etcd.restart(killed.unwrap());
        }
        if op % 3 == 2 {
            // Stop the oldest task still running.
            let i = acknowledged
                .iter()
                .position(|(_, s)| *s == TaskStatus::Running)
                .unwrap();
            ecs.stop_task(StopTask::new(cluster.clone(), acknowledged[i].0.clone()))
                .unwrap();
            tokio::time::timeout(Duration::from_secs(30), ecs.flush())
                .await
                .expect("a stop made durable within 30 s")
                .unwrap();
            acknowledged[i].1 = TaskStatus::Stopped;
        } else {
            let out = ecs
                .run_task(RunTask::new(cluster.clone(), "load".parse().unwrap(), 1))
                .unwrap();
            assert_eq!(out.failures, []);
            tokio::time::timeout(Duration::from_secs(30), ecs.flush())
                .await
                .expect("a run made durable within 30 s")
                .unwrap();
            acknowledged.push((out.tasks[0].task_id.clone(), TaskStatus::Running));
        }
    }
    assert!(
        !leadership.is_lost(),
        "the leadership held through the member's loss"
    );
    etcd.wait_healthy().await;
    ecs.halt().await;

    // Another control plane opened on the store finds every acknowledged change.
    let store = EtcdStore::open(&client, root).await.unwrap();
    let again = Ecs::open(Default::default(), Arc::new(store))
        .await
        .unwrap();
    let ids: Vec<_> = acknowledged.iter().map(|(id, _)| id.clone()).collect();
    let tasks = again.describe_tasks(&cluster, &ids).unwrap();
    assert_eq!(tasks.len(), acknowledged.len());
    for (id, desired) in &acknowledged {
        let t = tasks
            .iter()
            .find(|t| &t.task_id == id)
            .expect("the task is there");
        assert_eq!(&t.desired_status, desired, "{id}");
    }
    again.halt().await;
    leadership.resign().await.ok();
}
