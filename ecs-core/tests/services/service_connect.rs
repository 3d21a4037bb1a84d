//! Service Connect: a service's tasks answer to their client alias on their namespace's
//! network, which every container of its Service Connect services' tasks joins (and no
//! other task); what ECS refuses, and what having no proxy rules out, is refused naming
//! the member, with nothing recorded; a new configuration is a new deployment.

use std::sync::Arc;

use crate::support::services::{Harness, cluster, web};
use ecs_core::control::RunTask;
use ecs_core::runtime::{Capabilities, InMemoryRuntime};
use ecs_core::service::{
    CreateService, ServiceConnectConfiguration, ServiceConnectService, UpdateService,
};
use ecs_core::{InstanceId, ServiceName};

const SERVER: &str = r#"{"family": "server", "containerDefinitions": [
    {"name": "app", "image": "busybox", "memory": 64,
     "command": ["sh", "-c", "trap 'exit 0' TERM; while true; do sleep 1; done"],
     "portMappings": [{"containerPort": 8080, "name": "http"}]},
    {"name": "sidecar", "image": "busybox", "memory": 64,
     "command": ["sh", "-c", "trap 'exit 0' TERM; while true; do sleep 1; done"]}]}"#;

const CLIENT: &str = r#"{"family": "client", "containerDefinitions": [
    {"name": "app", "image": "busybox", "memory": 64,
     "command": ["sh", "-c", "trap 'exit 0' TERM; while true; do sleep 1; done"]}]}"#;

fn server_connect(alias: &str) -> ServiceConnectConfiguration {
    ServiceConnectConfiguration::client("shop")
        .with_service(ServiceConnectService::new("http").with_client_alias(8080, alias))
}

fn server(count: u32) -> CreateService {
    CreateService::new(cluster(), web(), "server".parse().unwrap(), count)
        .with_service_connect(server_connect("web"))
}

fn client_name() -> ServiceName {
    "client".parse().unwrap()
}

fn client() -> CreateService {
    CreateService::new(cluster(), client_name(), "client".parse().unwrap(), 1)
        .with_service_connect(ServiceConnectConfiguration::client("shop"))
}

/// A container's name, and the network it joined with its aliases there.
type Attachment = (String, Option<(String, Vec<String>)>);

/// Every container the engine holds, with the network it joined and its aliases there.
fn attachments(rt: &InMemoryRuntime) -> Vec<Attachment> {
    rt.containers()
        .into_iter()
        .map(|c| {
            let spec = rt.spec(&c.id).unwrap();
            (c.name, spec.network.map(|n| (n.network, n.aliases)))
        })
        .collect()
}

#[tokio::test(start_paused = true)]
async fn a_services_tasks_answer_to_their_alias_and_its_clients_join_the_namespace() {
    let h = Harness::new(1).await;
    h.register(SERVER);
    h.register(CLIENT);
    h.ecs.create_service(server(2)).unwrap();
    h.ecs.create_service(client()).unwrap();
    h.steady(&web()).await;
    h.steady(&client_name()).await;
    let rt = &h.runtimes[0].1;
    assert_eq!(rt.networks(), vec!["ecs-sc-shop".to_owned()]);
    // Both of the server's tasks answer to the alias, on the container of the port.
    assert_eq!(rt.resolve("ecs-sc-shop", "web").len(), 2);
    for (name, joined) in attachments(rt) {
        let (network, aliases) = joined.unwrap_or_else(|| panic!("{name} joined no network"));
        assert_eq!(network, "ecs-sc-shop", "{name}");
        if name.starts_with("ecs-server-1-app-") {
            assert_eq!(aliases, vec!["web".to_owned()], "{name}");
        } else {
            assert!(aliases.is_empty(), "{name} answers to {aliases:?}");
        }
    }
    // The task says where it is.
    let task = &h.live_tasks(&web())[0];
    let sc = task.service_connect.as_ref().unwrap();
    assert_eq!(
        (sc.namespace.as_str(), sc.network.as_str()),
        ("shop", "ecs-sc-shop")
    );
    assert_eq!(sc.endpoints[0].dns_name, "web");
    assert_eq!(sc.endpoints[0].container_name, "app");

    // Scaled to zero, the name resolves to nothing.
    h.ecs
        .update_service(UpdateService::new(cluster(), web()).with_desired_count(0))
        .unwrap();
    h.wait_service(&web(), "no task", |s| s.running_count == 0 && s.is_steady())
        .await;
    assert!(rt.resolve("ecs-sc-shop", "web").is_empty());
}

#[tokio::test(start_paused = true)]
async fn runtasks_tasks_and_services_without_service_connect_stay_on_the_default_bridge() {
    let h = Harness::new(1).await;
    h.register(SERVER);
    h.register(CLIENT);
    h.ecs
        .create_service(CreateService::new(
            cluster(),
            client_name(),
            "client".parse().unwrap(),
            1,
        ))
        .unwrap();
    h.steady(&client_name()).await;
    let out = h
        .ecs
        .run_task(RunTask::new(cluster(), "server".parse().unwrap(), 1))
        .unwrap();
    let rt = &h.runtimes[0].1;
    h.ecs
        .wait_for(&out.tasks[0].task_id, |t| {
            t.last_status == ecs_core::task::TaskStatus::Running
        })
        .await
        .unwrap();
    assert!(rt.networks().is_empty());
    for (name, joined) in attachments(rt) {
        assert_eq!(joined, None, "{name}");
    }
}

#[tokio::test(start_paused = true)]
async fn a_new_alias_is_a_new_deployment_whose_tasks_answer_to_it() {
    let h = Harness::new(1).await;
    h.register(SERVER);
    h.ecs.create_service(server(1)).unwrap();
    h.steady(&web()).await;
    let before = h.describe(&web()).deployments[0].id.clone();
    h.ecs
        .update_service(
            UpdateService::new(cluster(), web()).with_service_connect(server_connect("api")),
        )
        .unwrap();
    let s = h
        .wait_service(&web(), "the new deployment done", |s| {
            s.is_steady() && s.deployments[0].id != before
        })
        .await;
    assert_eq!(
        s.deployments[0]
            .service_connect_configuration
            .as_ref()
            .unwrap()
            .services[0]
            .client_aliases[0]
            .dns_name
            .as_deref(),
        Some("api")
    );
    let rt = &h.runtimes[0].1;
    assert_eq!(rt.resolve("ecs-sc-shop", "api").len(), 1);
    assert!(rt.resolve("ecs-sc-shop", "web").is_empty());
    // The same configuration again changes nothing.
    h.ecs
        .update_service(
            UpdateService::new(cluster(), web()).with_service_connect(server_connect("api")),
        )
        .unwrap();
    assert_eq!(h.describe(&web()).deployments.len(), 1);
}

#[tokio::test(start_paused = true)]
async fn what_ecs_refuses_is_refused_naming_the_member_and_nothing_is_recorded() {
    let h = Harness::new(1).await;
    h.register(SERVER);
    let refuse = |c: ServiceConnectConfiguration, want: &str| {
        let r = CreateService::new(cluster(), web(), "server".parse().unwrap(), 1)
            .with_service_connect(c);
        let err = h.ecs.create_service(r).unwrap_err().to_string();
        assert!(err.contains(want), "{err} lacks {want:?}");
    };
    refuse(
        ServiceConnectConfiguration::client("shop")
            .with_service(ServiceConnectService::new("grpc").with_client_alias(8080, "web")),
        "serviceConnectConfiguration.services[0].portName: no port mapping of task definition server is named \"grpc\"",
    );
    refuse(
        ServiceConnectConfiguration::client("shop")
            .with_service(ServiceConnectService::new("http").with_client_alias(80, "web")),
        "serviceConnectConfiguration.services[0].clientAliases[0].port: 80 is not port mapping \"http\"'s containerPort (8080)",
    );
    refuse(
        ServiceConnectConfiguration::client("shop")
            .with_service(ServiceConnectService::new("http")),
        "serviceConnectConfiguration.services[0].clientAliases: has 0 aliases",
    );
    refuse(
        ServiceConnectConfiguration::client("sh/op"),
        "serviceConnectConfiguration.namespace",
    );
    let listed = h.ecs.list_services(&cluster()).unwrap();
    assert!(listed.is_empty(), "{listed:?}");

    // A name is offered once in a namespace.
    h.ecs.create_service(server(1)).unwrap();
    // (Under a discovery name of its own: only the alias is in question.)
    let mut connect = server_connect("web");
    connect.services[0].discovery_name = Some("other-http".into());
    let other = CreateService::new(
        cluster(),
        "other".parse().unwrap(),
        "server".parse().unwrap(),
        1,
    )
    .with_service_connect(connect);
    let err = h.ecs.create_service(other).unwrap_err().to_string();
    assert!(
        err.contains("already offers \"web\" in namespace shop"),
        "{err}"
    );
    // In another namespace it may be offered again.
    let mut elsewhere = server_connect("web");
    elsewhere.namespace = Some("other".into());
    h.ecs
        .create_service(
            CreateService::new(
                cluster(),
                "other".parse().unwrap(),
                "server".parse().unwrap(),
                1,
            )
            .with_service_connect(elsewhere),
        )
        .unwrap();
    // An update refused leaves the service as it was.
    let err = h
        .ecs
        .update_service(
            UpdateService::new(cluster(), web()).with_service_connect(
                ServiceConnectConfiguration::client("shop")
                    .with_service(ServiceConnectService::new("http").with_client_alias(9, "web")),
            ),
        )
        .unwrap_err();
    assert!(err.to_string().contains("clientAliases[0].port"), "{err}");
    assert_eq!(
        h.describe(&web()).service_connect_configuration,
        Some(server_connect("web"))
    );
}

#[tokio::test(start_paused = true)]
async fn tasks_go_only_to_instances_whose_engine_makes_networks() {
    let mut h = Harness::new(0).await;
    h.register(SERVER);
    let rt = InMemoryRuntime::new(ecs_core::cluster::Resources::new(4096, 8192));
    let mut without = Capabilities::ALL;
    without.service_connect = false;
    rt.set_capabilities(without);
    let id: InstanceId = "i-plain".parse().unwrap();
    h.ecs
        .register_container_instance(ecs_core::control::RegisterContainerInstance::new(
            cluster(),
            id.clone(),
            Arc::new(rt.clone()),
        ))
        .await
        .unwrap();
    h.runtimes.push((id, rt.clone()));
    h.ecs.create_service(server(1)).unwrap();
    let s = h
        .wait_service(&web(), "a placement failure", |s| {
            s.events
                .iter()
                .any(|e| e.message.contains("ecs.capability.service-connect-v1"))
        })
        .await;
    assert_eq!(s.running_count, 0);
    assert!(rt.containers().is_empty());
    // An instance that can takes them.
    let able = h.add_instance().await;
    h.steady(&web()).await;
    assert_eq!(h.runtime(&able).resolve("ecs-sc-shop", "web").len(), 1);
}

#[tokio::test(start_paused = true)]
async fn a_daemon_counts_only_the_instances_that_can_run_its_tasks() {
    let mut h = Harness::new(1).await;
    h.register(SERVER);
    let rt = InMemoryRuntime::new(ecs_core::cluster::Resources::new(4096, 8192));
    let mut without = Capabilities::ALL;
    without.service_connect = false;
    rt.set_capabilities(without);
    let plain: InstanceId = "i-plain".parse().unwrap();
    h.ecs
        .register_container_instance(ecs_core::control::RegisterContainerInstance::new(
            cluster(),
            plain.clone(),
            Arc::new(rt.clone()),
        ))
        .await
        .unwrap();
    h.runtimes.push((plain, rt.clone()));
    h.ecs
        .create_service(
            CreateService::daemon(cluster(), web(), "server".parse().unwrap())
                .with_service_connect(server_connect("web")),
        )
        .unwrap();
    let s = h.steady(&web()).await;
    assert_eq!((s.desired_count, s.running_count), (1, 1));
    assert!(rt.containers().is_empty());
    assert_eq!(h.runtimes[0].1.resolve("ecs-sc-shop", "web").len(), 1);
}

#[tokio::test(start_paused = true)]
async fn a_name_stays_taken_while_an_older_deployment_or_a_rollback_may_answer_to_it() {
    let h = Harness::new(1).await;
    h.register(SERVER);
    h.ecs.create_service(server(1)).unwrap();
    h.steady(&web()).await;
    // The service moves to another name: its completed deployment (where a rollback
    // returns) still answers to the first.
    h.ecs
        .update_service(
            UpdateService::new(cluster(), web()).with_service_connect(server_connect("api")),
        )
        .unwrap();
    // (Under a discovery name of its own: only the alias is in question.)
    let mut connect = server_connect("web");
    connect.services[0].discovery_name = Some("other-http".into());
    let other = CreateService::new(
        cluster(),
        "other".parse().unwrap(),
        "server".parse().unwrap(),
        1,
    )
    .with_service_connect(connect);
    let err = h.ecs.create_service(other).unwrap_err().to_string();
    assert!(
        err.contains("already offers \"web\" in namespace shop"),
        "{err}"
    );
}

#[tokio::test(start_paused = true)]
async fn a_service_being_deleted_says_so_before_judging_a_change() {
    let h = Harness::new(1).await;
    h.register(SERVER);
    h.ecs.create_service(server(1)).unwrap();
    h.steady(&web()).await;
    h.ecs
        .delete_service(ecs_core::service::DeleteService::new(cluster(), web()).with_force(true))
        .unwrap();
    let bad = ServiceConnectConfiguration::client("shop")
        .with_service(ServiceConnectService::new("http").with_client_alias(9, "web"));
    let err = h
        .ecs
        .update_service(UpdateService::new(cluster(), web()).with_service_connect(bad))
        .unwrap_err();
    assert!(err.to_string().contains("DRAINING"), "{err}");
}
