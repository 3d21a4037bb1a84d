//! `ecs-server`: Amazon ECS's API on this machine, in one command.
//!
//! ```text
//! cargo run --bin ecs-server -- [--listen ADDR] [--data DIR] [--region REGION]
//!                               [--access-key ID (--secret-key SECRET | --secret-key-env VAR)
//!                                | --no-auth]
//!                               [--tls-cert CHAIN.pem --tls-key KEY.pem]
//!                               [--local-instances MAX] [--instance-images IMAGE,...]
//!                               [--etcd URL,... [--etcd-root PREFIX] [--node NAME]
//!                                [--lease-ttl SECONDS]]
//! ```
//!
//! It keeps its state in a file store under the data folder (`./ecs-data` by default),
//! so that a restart finds its clusters, services and tasks again and adopts the
//! containers that kept running. Its cluster `default` holds one container instance,
//! `i-local`: this machine's Docker engine if one answers, else Podman, else the
//! in-memory runtime (it says which). RegisterContainerInstance adds the same engine
//! again (or simulated hosts of the resources it names).
//!
//! Its instance group `local` (at most `--local-instances`, 4 by default, instances of
//! 1024 CPU units and 1024 MiB) is what a capacity provider's `autoScalingGroupArn` may
//! name: with Docker (as root), each instance a Docker daemon of its own launched on
//! this machine, the `--instance-images` copied into it from the local engine (no
//! registry is needed); otherwise simulated instances.
//!
//! With `--etcd` (feature `etcd`) its state is on etcd instead, under `--etcd-root`
//! (`ecs`), and it is one of several such processes of which one leads (`ha.rs`): a
//! standby's API is closed until it leads; `--data` then holds only the group's
//! instances.
//!
//! Callers sign with the well-known default key unless told otherwise, as it prints
//! (`AWS_ACCESS_KEY_ID=AKIDLOCALECSSERVER
//! AWS_SECRET_ACCESS_KEY=local-ecs-server-secret-key-not-a-secret aws ecs list-clusters
//! --endpoint-url http://127.0.0.1:8080 --region us-east-1`).

#[cfg(feature = "etcd")]
mod ha;
mod options;

use std::sync::Arc;

use ecs::cluster::{RegisterContainerInstance, Resources};
use ecs::config::EcsConfig;
use ecs::runtime::{ContainerRuntime, InMemoryRuntime};
use ecs::server::{Auth, InstanceSource, Server, ServerConfig};
use ecs::store::FileStore;
use ecs::{ArnScope, ClusterName, Ecs};
use options::{Options, options};

/// This machine's engine (Docker, else Podman), or `None`; and a sentence saying which.
async fn local_engine() -> (String, Option<Arc<dyn ContainerRuntime>>) {
    let mut candidates: Vec<(&str, Arc<dyn ContainerRuntime>)> = Vec::new();
    if let Ok(docker) = ecs::docker::DockerRuntime::from_env() {
        candidates.push(("Docker", Arc::new(docker.publishing_on("127.0.0.1"))));
    }
    if let Ok(podman) = ecs::podman::PodmanRuntime::from_env() {
        candidates.push(("Podman", Arc::new(podman.publishing_on("127.0.0.1"))));
    }
    let mut tried = Vec::new();
    for (name, rt) in candidates {
        match rt.describe_host().await {
            Ok(host) => return (format!("{name} ({})", host.engine_version), Some(rt)),
            Err(e) => tried.push(format!("{name}: {e}")),
        }
    }
    (
        format!(
            "the in-memory runtime (no engine answered{})",
            if tried.is_empty() {
                String::new()
            } else {
                format!(": {}", tried.join("; "))
            }
        ),
        None,
    )
}

#[tokio::main]
async fn main() {
    let mut filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| "warn,ecs_server=info".into());
    // The signature crate traces the signature it expected: never logged.
    if let Ok(quiet) = "scratchstack_aws_signature=off".parse() {
        filter = filter.add_directive(quiet);
    }
    tracing_subscriber::fmt().with_env_filter(filter).init();
    if let Err(e) = run().await {
        eprintln!("ecs-server: {e}");
        std::process::exit(1);
    }
}

async fn run() -> Result<(), Box<dyn std::error::Error>> {
    let o = options()?;
    // The control plane's metrics, for `/metrics` (histograms with buckets from 0.1 ms
    // to 10 s: placements, engine calls, store commits).
    let metrics = metrics_exporter_prometheus::PrometheusBuilder::new()
        .set_buckets(&[
            0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0,
            2.5, 5.0, 10.0,
        ])?
        .install_recorder()?;
    ecs::telemetry::describe();
    let mut config = EcsConfig::default();
    config.arn_scope = ArnScope {
        region: o.region.clone(),
        ..ArnScope::default()
    };
    if o.etcd.is_some() {
        #[cfg(feature = "etcd")]
        return ha::run(&o, config, metrics).await;
        #[cfg(not(feature = "etcd"))]
        return Err(
            "--etcd: this ecs-server was built without the `etcd` feature \
                    (cargo run --features etcd --bin ecs-server)"
                .into(),
        );
    }
    std::fs::create_dir_all(&o.data)
        .map_err(|e| format!("cannot create the data folder {}: {e}", o.data.display()))?;
    let store_path = o.data.join("state.redb");
    let store = Arc::new(FileStore::open(&store_path)?);
    let ecs = Ecs::open(config, store).await?;
    let state = store_path.display().to_string();
    serve(&o, &ecs, metrics, &state, stop_signal()).await?;
    println!("ecs-server: stopping; containers keep running for the next start to adopt");
    ecs.shutdown().await?;
    Ok(())
}

/// Sets up the control plane `ecs` (cluster `default`, instance `i-local`, the group
/// `local`) and serves its API until `until` resolves.
async fn serve(
    o: &Options,
    ecs: &Ecs,
    metrics: metrics_exporter_prometheus::PrometheusHandle,
    state: &str,
    until: impl Future<Output = ()> + Send + 'static,
) -> Result<(), Box<dyn std::error::Error>> {
    let (which, engine) = local_engine().await;
    let instance_runtime: Arc<dyn ContainerRuntime> = match &engine {
        Some(rt) => rt.clone(),
        None => Arc::new(InMemoryRuntime::new(Resources::new(4096, 8192))),
    };
    let cluster: ClusterName = "default".parse()?;
    match ecs.create_cluster(cluster.clone()) {
        Ok(()) | Err(ecs::Error::AlreadyExists { .. }) => {}
        Err(e) => return Err(e.into()),
    }
    // The same id after a restart: the instance's tasks are found again and adopted.
    ecs.register_container_instance(RegisterContainerInstance::new(
        cluster,
        "i-local".parse()?,
        instance_runtime,
    ))
    .await?;
    ecs.flush().await?;

    // The instance group capacity providers may name.
    let size = Resources::new(1024, 1024);
    let root = std::path::absolute(o.data.join("instances"))?;
    let docker_local = engine.is_some() && which.starts_with("Docker") && is_root();
    let group: Arc<dyn ecs::capacity::InstanceProvider> = if docker_local {
        let source = std::env::var("DOCKER_HOST")
            .unwrap_or_else(|_| "unix:///var/run/docker.sock".to_owned());
        Arc::new(
            ecs::docker::LocalDockerInstances::new("local", &root, size)
                .with_images(&source, o.instance_images.clone()),
        )
    } else {
        Arc::new(ecs::capacity::InMemoryInstanceProvider::new("local", size))
    };
    ecs.register_instance_group(
        "local",
        ecs::capacity::InstanceGroup::new(group, 0, o.local_instances),
    )
    .await?;

    let instances = match engine {
        Some(rt) => InstanceSource::Engine(rt),
        None => InstanceSource::Simulated(Resources::new(4096, 8192)),
    };
    let mut server_config = ServerConfig::default()
        .with_listen(o.listen)
        .with_auth(o.auth.clone())
        .with_instances(instances)
        .with_metrics(metrics);
    let scheme = if let Some(tls) = o.tls.clone() {
        server_config = server_config.with_tls(tls);
        "https"
    } else {
        "http"
    };
    let server = Server::bind(ecs.clone(), server_config).await?;
    let address = server.local_addr()?;
    println!("ecs-server: listening on {scheme}://{address}");
    println!("  state:     {state}");
    println!("  metrics:   {scheme}://{address}/metrics");
    println!("  instance:  i-local in cluster default, on {which}");
    println!(
        "  group:     local, up to {} instances of {} CPU units and {} MiB: {}",
        o.local_instances,
        size.cpu,
        size.memory,
        if docker_local {
            format!("Docker daemons under {}", root.display())
        } else {
            "simulated".to_owned()
        }
    );
    match &o.auth {
        Auth::SigV4(keys) => {
            let key = keys.first().map_or("?", |k| k.access_key_id.as_str());
            // The well-known default key is printed whole; a configured secret never is.
            let default = keys.first().is_some_and(|k| {
                k.access_key_id == ecs::server::DEFAULT_ACCESS_KEY
                    && k.secret_access_key == ecs::server::DEFAULT_SECRET_KEY
            });
            let secret = if default {
                ecs::server::DEFAULT_SECRET_KEY
            } else {
                "..."
            };
            if default && !address.ip().is_loopback() {
                eprintln!(
                    "ecs-server: WARNING: listening on {address}, beyond this machine, with the \
                     well-known default access key: anyone who can reach it can do anything; \
                     give keys of your own (--access-key, --secret-key-env)"
                );
            }
            println!(
                "  try:       AWS_ACCESS_KEY_ID={key} AWS_SECRET_ACCESS_KEY={secret} \
                 aws ecs list-clusters --endpoint-url {scheme}://{address} --region {}",
                o.region
            );
        }
        _ => println!(
            "  try:       aws ecs list-clusters --endpoint-url {scheme}://{address} --region {} \
             --no-sign-request",
            o.region
        ),
    }
    server.serve(until).await?;
    Ok(())
}

/// Whether this process runs as root (launching Docker daemons needs it).
fn is_root() -> bool {
    std::fs::read_to_string("/proc/self/status").is_ok_and(|s| {
        s.lines()
            .find(|l| l.starts_with("Uid:"))
            .and_then(|l| l.split_whitespace().nth(1))
            == Some("0")
    })
}

/// Ctrl-C or SIGTERM.
async fn stop_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {}
        () = term => {}
    }
}
