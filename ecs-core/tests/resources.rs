//! What the API server's resource operations rest on: tags on every taggable resource,
//! cluster settings, cluster deletion and task definition deletion; each refused as
//! ECS refuses it, and each durable across a restart on the store.

use std::sync::Arc;

use ecs_core::cluster::Resources;
use ecs_core::control::{EcsConfig, RegisterContainerInstance, RunTask};
use ecs_core::runtime::InMemoryRuntime;
use ecs_core::service::{CreateService, DeleteService, UpdateService};
use ecs_core::store::MemoryStore;
use ecs_core::tags::Tags;
use ecs_core::task::{StopTask, TaskStatus};
use ecs_core::task_definition::TaskDefinitionStatus;
use ecs_core::{Arn, ClusterContents, ClusterName, Ecs, Error, TaskDefinition};

const WEB: &str = r#"{"family": "web", "containerDefinitions": [
    {"name": "app", "image": "busybox", "memory": 64, "cpu": 64}]}"#;

fn name(text: &str) -> ClusterName {
    text.parse().unwrap()
}

fn tags(pairs: &[(&str, &str)]) -> Tags {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

fn arn(ecs: &Ecs, resource: &str) -> Arn {
    ecs.arn_scope().arn(resource)
}

async fn with_instance(ecs: &Ecs, runtime: &InMemoryRuntime) {
    ecs.create_cluster(name("dev")).unwrap();
    ecs.register_container_instance(RegisterContainerInstance::new(
        name("dev"),
        "i-1".parse().unwrap(),
        Arc::new(runtime.clone()),
    ))
    .await
    .unwrap();
    ecs.register_task_definition(TaskDefinition::from_json(WEB).unwrap().definition)
        .unwrap();
}

#[tokio::test(start_paused = true)]
async fn every_taggable_resource_keeps_its_tags_across_a_restart() {
    let store = Arc::new(MemoryStore::new());
    let runtime = InMemoryRuntime::new(Resources::new(4096, 8192));
    let ecs = Ecs::open(EcsConfig::default(), store.clone())
        .await
        .unwrap();
    with_instance(&ecs, &runtime).await;
    ecs.create_service(CreateService::new(
        name("dev"),
        "api".parse().unwrap(),
        "web".parse().unwrap(),
        0,
    ))
    .unwrap();
    let mut run = RunTask::new(name("dev"), "web".parse().unwrap(), 1);
    run.tags = tags(&[("launched", "by-run-task")]);
    let task = ecs.run_task(run).unwrap().tasks.remove(0);
    assert_eq!(task.tags, tags(&[("launched", "by-run-task")]));

    let resources = [
        "cluster/dev".to_owned(),
        "container-instance/dev/i-1".to_owned(),
        "task-definition/web:1".to_owned(),
        format!("task/dev/{}", task.task_id),
        "service/dev/api".to_owned(),
    ];
    for (i, r) in resources.iter().enumerate() {
        let a = arn(&ecs, r);
        ecs.tag_resource(&a, &tags(&[("team", "core"), ("n", &i.to_string())]))
            .unwrap();
        ecs.tag_resource(&a, &tags(&[("team", "platform")]))
            .unwrap();
        ecs.untag_resource(&a, &["n".to_owned(), "absent".to_owned()])
            .unwrap();
    }
    ecs.flush().await.unwrap();
    ecs.halt().await;
    drop(ecs);

    let ecs = Ecs::open(EcsConfig::default(), store).await.unwrap();
    for r in &resources {
        let mut expected = tags(&[("team", "platform")]);
        if r.starts_with("task/") {
            expected.insert("launched".into(), "by-run-task".into());
        }
        assert_eq!(
            ecs.list_tags_for_resource(&arn(&ecs, r)).unwrap(),
            expected,
            "{r}"
        );
    }
    let service = ecs
        .describe_service(&name("dev"), &"api".parse().unwrap())
        .unwrap();
    assert_eq!(service.tags.len(), 1);
    let described = ecs.describe_clusters(&[name("dev")]);
    assert_eq!(described[0].tags, tags(&[("team", "platform")]));
}

#[tokio::test(start_paused = true)]
async fn tags_are_refused_whole_as_ecs_refuses_them() {
    let ecs = Ecs::new(EcsConfig::default());
    let runtime = InMemoryRuntime::new(Resources::new(4096, 8192));
    with_instance(&ecs, &runtime).await;
    let cluster = arn(&ecs, "cluster/dev");
    ecs.tag_resource(&cluster, &tags(&[("kept", "1")])).unwrap();
    for bad in [
        tags(&[("ok", "1"), ("aws:reserved", "x")]),
        (0..50).map(|i| (format!("k{i}"), String::new())).collect(),
    ] {
        let e = ecs.tag_resource(&cluster, &bad).unwrap_err();
        assert!(
            matches!(e, Error::InvalidParameter { member: "tags", .. }),
            "{e}"
        );
        // Nothing of a refused request was applied.
        assert_eq!(
            ecs.list_tags_for_resource(&cluster).unwrap(),
            tags(&[("kept", "1")])
        );
    }
    let missing = [
        ("cluster/nope", "cluster"),
        ("service/dev/nope", "service"),
        ("task/dev/0123", "task"),
        ("container-instance/dev/i-9", "container instance"),
        ("task-definition/web:9", "task definition"),
    ];
    for (r, kind) in missing {
        let e = ecs.list_tags_for_resource(&arn(&ecs, r)).unwrap_err();
        assert!(e.to_string().contains(kind), "{r}: {e}");
    }
    let e = ecs
        .tag_resource(&arn(&ecs, "capacity-provider/cp"), &tags(&[("a", "b")]))
        .unwrap_err();
    assert!(matches!(e, Error::InvalidId { .. }), "{e}");
}

#[tokio::test(start_paused = true)]
async fn a_cluster_is_deleted_only_once_empty() {
    let ecs = Ecs::new(EcsConfig::default());
    let runtime = InMemoryRuntime::new(Resources::new(4096, 8192));
    with_instance(&ecs, &runtime).await;
    let service = "api".parse().unwrap();
    ecs.create_service(CreateService::new(
        name("dev"),
        "api".parse().unwrap(),
        "web".parse().unwrap(),
        1,
    ))
    .unwrap();
    let task = ecs
        .run_task(RunTask::new(name("dev"), "web".parse().unwrap(), 1))
        .unwrap()
        .tasks
        .remove(0);

    let holds = |e: Error| match e {
        Error::ClusterNotEmpty { holds, .. } => holds,
        other => panic!("{other}"),
    };
    assert_eq!(
        holds(ecs.delete_cluster(&name("dev")).unwrap_err()),
        ClusterContents::ContainerInstances
    );
    ecs.deregister_container_instance({
        let mut d = ecs_core::cluster::DeregisterContainerInstance::new(
            name("dev"),
            "i-1".parse().unwrap(),
        );
        d.force = true;
        d
    })
    .unwrap();
    assert_eq!(
        holds(ecs.delete_cluster(&name("dev")).unwrap_err()),
        ClusterContents::Services
    );
    ecs.update_service(
        UpdateService::new(name("dev"), "api".parse().unwrap()).with_desired_count(0),
    )
    .unwrap();
    ecs.delete_service(DeleteService::new(name("dev"), service))
        .unwrap();
    // The services are gone once their tasks are; the standalone task stops as its
    // instance went.
    ecs.stop_task(StopTask::new(name("dev"), task.task_id.clone()))
        .ok();
    ecs.wait_for(&task.task_id, |t| t.last_status == TaskStatus::Stopped)
        .await
        .unwrap();
    // The draining service turns INACTIVE once its controller sees its task gone.
    let deleted = tokio::time::timeout(std::time::Duration::from_secs(60), async {
        loop {
            match ecs.delete_cluster(&name("dev")) {
                Ok(d) => break d,
                Err(Error::ClusterNotEmpty { .. }) => {
                    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
                }
                Err(e) => panic!("{e}"),
            }
        }
    })
    .await
    .expect("the cluster could be deleted within a minute");
    assert_eq!(deleted.status, "INACTIVE");
    assert!(ecs.list_clusters().is_empty());
    assert!(matches!(
        ecs.describe_tasks(&name("dev"), &[task.task_id]),
        Err(Error::NotFound { .. })
    ));
    // The name is free again.
    ecs.create_cluster(name("dev")).unwrap();
    assert!(ecs.list_services(&name("dev")).unwrap().is_empty());
}

#[tokio::test(start_paused = true)]
async fn settings_and_deleted_revisions_survive_a_restart() {
    let store = Arc::new(MemoryStore::new());
    let ecs = Ecs::open(EcsConfig::default(), store.clone())
        .await
        .unwrap();
    ecs.create_cluster(name("dev")).unwrap();
    let settings = |v: &str| vec![("containerInsights".to_owned(), v.to_owned())];
    let e = ecs
        .update_cluster_settings(&name("dev"), &settings("sometimes"))
        .unwrap_err();
    assert!(e.to_string().contains("enabled, disabled, enhanced"), "{e}");
    let d = ecs
        .update_cluster_settings(&name("dev"), &settings("enabled"))
        .unwrap();
    assert_eq!(d.settings["containerInsights"], "enabled");

    for _ in 0..2 {
        ecs.register_task_definition(TaskDefinition::from_json(WEB).unwrap().definition)
            .unwrap();
    }
    let one: ecs_core::TaskDefinitionRef = "web:1".parse().unwrap();
    let refused = ecs.delete_task_definitions(std::slice::from_ref(&one));
    let e = refused[0].as_ref().unwrap_err();
    assert!(e.to_string().contains("deregister it first"), "{e}");
    ecs.deregister_task_definition(&one).unwrap();
    // Each revision answers for itself: the INACTIVE one is deleted, the ACTIVE refused.
    let out = ecs.delete_task_definitions(&[one.clone(), "web:2".parse().unwrap()]);
    assert_eq!(
        out[0].as_ref().unwrap().status,
        Some(TaskDefinitionStatus::DeleteInProgress)
    );
    assert!(out[1].is_err());
    // Deregistering a deleted revision does not bring it back.
    let again = ecs.deregister_task_definition(&one).unwrap();
    assert_eq!(again.status, Some(TaskDefinitionStatus::DeleteInProgress));
    ecs.flush().await.unwrap();
    ecs.halt().await;
    drop(ecs);

    let ecs = Ecs::open(EcsConfig::default(), store).await.unwrap();
    let d = ecs.describe_clusters(&[name("dev")]);
    assert_eq!(d[0].settings["containerInsights"], "enabled");
    let one = ecs
        .describe_task_definition(&"web:1".parse().unwrap())
        .unwrap();
    assert_eq!(one.status, Some(TaskDefinitionStatus::DeleteInProgress));
    assert!(
        ecs.run_task(RunTask::new(name("dev"), "web:1".parse().unwrap(), 1))
            .is_err()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn tags_asked_at_once_are_all_kept() {
    let ecs = Ecs::new(EcsConfig::default());
    let runtime = InMemoryRuntime::new(Resources::new(4096, 8192));
    with_instance(&ecs, &runtime).await;
    let task = ecs
        .run_task(RunTask::new(name("dev"), "web".parse().unwrap(), 1))
        .unwrap()
        .tasks
        .remove(0);
    for resource in [
        "cluster/dev".to_owned(),
        format!("task/dev/{}", task.task_id),
    ] {
        let a = arn(&ecs, &resource);
        let writers: Vec<_> = (0..40)
            .map(|i| {
                let (ecs, a) = (ecs.clone(), a.clone());
                std::thread::spawn(move || {
                    ecs.tag_resource(&a, &tags(&[(&format!("k{i}"), "v")]))
                        .unwrap();
                })
            })
            .collect();
        for w in writers {
            w.join().unwrap();
        }
        assert_eq!(
            ecs.list_tags_for_resource(&a).unwrap().len(),
            40,
            "{resource}"
        );
    }
}

#[tokio::test(start_paused = true)]
async fn a_refused_request_leaves_nothing_behind() {
    let ecs = Ecs::new(EcsConfig::default());
    let runtime = InMemoryRuntime::new(Resources::new(4096, 8192));
    with_instance(&ecs, &runtime).await;
    // A cluster with a setting ECS does not take is not created at all.
    let bad = [("containerInsights".to_owned(), "sometimes".to_owned())];
    assert!(
        ecs.create_cluster_with(name("new"), &tags(&[("a", "b")]), &bad)
            .is_err()
    );
    assert!(ecs.describe_clusters(&[name("new")]).is_empty());
    // Attributes on several targets: one bad one sets none.
    let i1: ecs_core::InstanceId = "i-1".parse().unwrap();
    let e = ecs
        .put_attributes(
            &name("dev"),
            &[
                (i1.clone(), "stack".into(), Some("prod".into())),
                (i1.clone(), "ecs.os-type".into(), Some("windows".into())),
            ],
        )
        .unwrap_err();
    assert!(matches!(e, Error::InvalidAttribute { .. }), "{e}");
    let e = ecs
        .put_attributes(
            &name("dev"),
            &[
                (i1.clone(), "stack".into(), Some("prod".into())),
                ("i-9".parse().unwrap(), "stack".into(), Some("prod".into())),
            ],
        )
        .unwrap_err();
    assert!(
        e.is_not_found(ecs_core::ResourceKind::ContainerInstance),
        "{e}"
    );
    let c = ecs.describe_cluster(&name("dev")).unwrap();
    assert_eq!(c.instance(&i1).unwrap().attribute("stack"), None);
}

#[tokio::test(start_paused = true)]
async fn a_cluster_with_tasks_stays_and_a_deleted_one_stays_deleted() {
    let store = Arc::new(MemoryStore::new());
    let ecs = Ecs::open(EcsConfig::default(), store.clone())
        .await
        .unwrap();
    let runtime = InMemoryRuntime::new(Resources::new(4096, 8192));
    with_instance(&ecs, &runtime).await;
    let task = ecs
        .run_task(RunTask::new(name("dev"), "web".parse().unwrap(), 1))
        .unwrap()
        .tasks
        .remove(0);
    // Its instance gone (forced), its task is still on its way out: the cluster stays.
    let mut deregister =
        ecs_core::cluster::DeregisterContainerInstance::new(name("dev"), "i-1".parse().unwrap());
    deregister.force = true;
    ecs.deregister_container_instance(deregister).unwrap();
    // Nothing has run since the stop was asked (no await): the task is not STOPPED yet.
    match ecs.delete_cluster(&name("dev")).unwrap_err() {
        Error::ClusterNotEmpty { holds, .. } => assert_eq!(holds, ClusterContents::Tasks),
        other => panic!("{other}"),
    }
    ecs.wait_for(&task.task_id, |t| t.last_status == TaskStatus::Stopped)
        .await
        .unwrap();
    ecs.delete_cluster(&name("dev")).unwrap();
    ecs.flush().await.unwrap();
    ecs.halt().await;
    drop(ecs);

    let ecs = Ecs::open(EcsConfig::default(), store).await.unwrap();
    assert!(ecs.list_clusters().is_empty());
    assert!(ecs.describe_clusters(&[name("dev")]).is_empty());
}
