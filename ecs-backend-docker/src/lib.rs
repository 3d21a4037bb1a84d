//! The Docker backend of the embeddable ECS: [`DockerRuntime`] implements
//! [`ContainerRuntime`] over Docker's API with bollard.
//!
//! ```no_run
//! use std::sync::Arc;
//! use ecs_core::control::RegisterContainerInstance;
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! let ecs = ecs_core::Ecs::new(Default::default());
//! ecs.create_cluster("dev".parse()?)?;
//! let docker = ecs_backend_docker::DockerRuntime::connect("unix:///var/run/docker.sock")?;
//! let instance = RegisterContainerInstance::new("dev".parse()?, "i-docker".parse()?, Arc::new(docker));
//! ecs.register_container_instance(instance).await?;
//! # Ok(()) }
//! ```
//!
//! Tested against Debian's Docker Engine 20.10 (API 1.41); bollard is pinned to a version
//! checked against it.

mod convert;
mod instances;

pub use instances::LocalDockerInstances;

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, LazyLock, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use bollard::query_parameters::{
    CreateContainerOptionsBuilder, CreateImageOptionsBuilder, EventsOptionsBuilder,
    ListContainersOptionsBuilder, ListNetworksOptionsBuilder, RemoveContainerOptionsBuilder,
    StatsOptionsBuilder, StopContainerOptionsBuilder,
};
use bollard::{API_DEFAULT_VERSION, Docker};
use ecs_core::cluster::Resources;
use ecs_core::runtime::{
    Capabilities, ContainerEvent, ContainerId, ContainerInfo, ContainerNetwork, ContainerRuntime,
    ContainerSpec, ContainerStats, ExecSession, ExecSpec, HostInfo, LogLine, LogOptions,
    PullPolicy, RuntimeError,
};
use futures::stream::BoxStream;
use futures::{FutureExt, StreamExt};
use tokio::time::Instant;

/// A Docker engine as a container instance's runtime.
#[derive(Debug, Clone)]
pub struct DockerRuntime {
    docker: Docker,
    publish_ip: String,
    epoch: Instant,
    /// What the host offers, when not the whole machine the engine reports.
    resources: Option<Resources>,
}

impl DockerRuntime {
    /// Connects to the engine at `unix://PATH` or `tcp://HOST:PORT` (plain HTTP; see
    /// [`connect_tls`](Self::connect_tls) for TLS). Nothing is sent until the first call.
    pub fn connect(host: &str) -> Result<Self, RuntimeError> {
        // Requests time out after two minutes (stops get their own, longer timeout).
        let docker = if host.starts_with("tcp://") || host.starts_with("http://") {
            Docker::connect_with_http(host, 120, API_DEFAULT_VERSION)
        } else {
            Docker::connect_with_unix(host, 120, API_DEFAULT_VERSION)
        }
        .map_err(convert::error)?;
        Ok(Self {
            docker,
            publish_ip: "0.0.0.0".into(),
            epoch: Instant::now(),
            resources: None,
        })
    }

    /// Connects to `tcp://HOST:PORT` over TLS, verifying the engine with `ca.pem` and
    /// presenting `cert.pem`/`key.pem`, all in `cert_dir` (Docker's layout).
    pub fn connect_tls(host: &str, cert_dir: &std::path::Path) -> Result<Self, RuntimeError> {
        let docker = Docker::connect_with_ssl(
            host,
            &cert_dir.join("key.pem"),
            &cert_dir.join("cert.pem"),
            &cert_dir.join("ca.pem"),
            120,
            API_DEFAULT_VERSION,
        )
        .map_err(convert::error)?;
        Ok(Self {
            docker,
            publish_ip: "0.0.0.0".into(),
            epoch: Instant::now(),
            resources: None,
        })
    }

    /// Connects as the Docker CLI does: `DOCKER_HOST` (`unix://PATH` or
    /// `tcp://HOST:PORT`), over TLS with the certificates in `DOCKER_CERT_PATH` (default
    /// `~/.docker`) when `DOCKER_TLS_VERIFY` is set, else the local socket
    /// `unix:///var/run/docker.sock`.
    pub fn from_env() -> Result<Self, RuntimeError> {
        let host =
            std::env::var("DOCKER_HOST").unwrap_or_else(|_| "unix:///var/run/docker.sock".into());
        let tls = std::env::var("DOCKER_TLS_VERIFY").is_ok_and(|v| !v.is_empty() && v != "0");
        if tls {
            let certs = std::env::var_os("DOCKER_CERT_PATH")
                .map(std::path::PathBuf::from)
                .or_else(|| {
                    std::env::var_os("HOME").map(|h| std::path::PathBuf::from(h).join(".docker"))
                })
                .ok_or_else(|| {
                    RuntimeError::InvalidRequest(
                        "DOCKER_TLS_VERIFY without DOCKER_CERT_PATH or HOME".into(),
                    )
                })?;
            return Self::connect_tls(&host, &certs);
        }
        Self::connect(&host)
    }

    /// Offers `resources` as its host's, rather than the whole machine's: one engine
    /// of several on a machine, each a container instance of its own share.
    #[must_use]
    pub fn with_resources(mut self, resources: Resources) -> Self {
        self.resources = Some(resources);
        self
    }

    /// Publishes container ports on `ip` only (all interfaces by default).
    #[must_use]
    pub fn publishing_on(mut self, ip: impl Into<String>) -> Self {
        self.publish_ip = ip.into();
        self
    }

    async fn image_present(&self, image: &str) -> Result<bool, RuntimeError> {
        match self.docker.inspect_image(image).await {
            Ok(_) => Ok(true),
            Err(e) => match convert::error(e) {
                RuntimeError::NotFound(_) => Ok(false),
                other => Err(other),
            },
        }
    }

    async fn pull(&self, image: &str) -> Result<(), RuntimeError> {
        // Without a tag Docker pulls every tag of the repository; the CLI means `latest`.
        let reference = if has_tag_or_digest(image) {
            image.to_owned()
        } else {
            format!("{image}:latest")
        };
        let options = CreateImageOptionsBuilder::new()
            .from_image(&reference)
            .build();
        let mut progress = self.docker.create_image(Some(options), None, None);
        // Failures are reported inside the stream: drain it all.
        while let Some(item) = progress.next().await {
            item.map_err(|e| RuntimeError::ImageUnavailable {
                image: image.to_owned(),
                reason: e.to_string(),
            })?;
        }
        Ok(())
    }
}

/// One lock per network name, for every runtime of this process: Docker 20.10 does not
/// refuse a second network of a name in use (API 1.41's `CheckDuplicate` is off by
/// default and not in bollard's request; and creates at once all pass its check anyway),
/// so two creates at once would make two. Held from the inspect to the create.
static NETWORK_LOCKS: LazyLock<Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>> =
    LazyLock::new(Mutex::default);

fn network_lock(name: &str) -> Arc<tokio::sync::Mutex<()>> {
    NETWORK_LOCKS
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .entry(name.to_owned())
        .or_default()
        .clone()
}

/// Where the containers of network `name` reach the host, from its IPAM configuration.
fn network_of(
    name: &str,
    ipam: Option<&bollard::models::Ipam>,
) -> Result<ContainerNetwork, RuntimeError> {
    convert::container_network(ipam).ok_or_else(|| {
        RuntimeError::Unavailable(format!("Docker's network {name} has no IPv4 subnet"))
    })
}

impl DockerRuntime {
    /// The network `name` once only one network has that name: Docker 20.10 makes a
    /// second one when two creates race (another process's, which the in-process lock
    /// does not see), and then refuses the name as ambiguous everywhere (a container on
    /// it does not start). The oldest is kept and the others removed; a removal Docker
    /// refuses (containers are attached) leaves that one.
    async fn settle_network(&self, name: &str) -> Result<ContainerNetwork, RuntimeError> {
        let filters = HashMap::from([("name".to_owned(), vec![name.to_owned()])]);
        let options = ListNetworksOptionsBuilder::new().filters(&filters).build();
        let listed = self
            .docker
            .list_networks(Some(options))
            .await
            .map_err(convert::error)?;
        let (keep, others) = convert::settled(&listed, name)
            .ok_or_else(|| RuntimeError::NotFound(format!("network {name}")))?;
        for id in others {
            match self
                .docker
                .remove_network(&id)
                .await
                .map_err(convert::error)
            {
                // Removed by another caller settling it at the same time.
                Ok(()) | Err(RuntimeError::NotFound(_)) => {}
                Err(e) => {
                    tracing::warn!(network = name, %id, error = %e, "a duplicate network stays");
                }
            }
        }
        network_of(name, keep.ipam.as_ref())
    }

    /// Docker's log stream for `options`, its lines within `options` by their own times.
    fn logs(
        &self,
        id: &ContainerId,
        options: &LogOptions,
    ) -> BoxStream<'static, Result<LogLine, RuntimeError>> {
        // The client's timeout bounds the wait for Docker's answer, not the stream that
        // follows it: following lasts as long as the container runs.
        let frames = self
            .docker
            .logs(&id.0, Some(convert::logs_options(options)));
        let (options, timestamps) = (options.clone(), options.timestamps);
        let lines = frames
            .map(|frame| match frame {
                Ok(frame) => convert::log_lines(frame).into_iter().map(Ok).collect(),
                Err(e) => vec![Err(convert::error(e))],
            })
            .flat_map(futures::stream::iter)
            // Docker's own since and until are whole seconds: these are the lines' times.
            .filter(move |line| {
                futures::future::ready(match line {
                    Ok(l) => options.selects(l.stream, l.timestamp),
                    Err(_) => true,
                })
            })
            .map(move |line| {
                line.map(|mut l| {
                    if !timestamps {
                        l.timestamp = None;
                    }
                    l
                })
            });
        Box::pin(lines)
    }
}

/// Whether an image reference names a tag or a digest (`repo:tag`, `repo@sha256:...`); a
/// registry port (`host:5000/repo`) is not a tag.
fn has_tag_or_digest(image: &str) -> bool {
    let last = image.rsplit('/').next().unwrap_or(image);
    image.contains('@') || last.contains(':')
}

#[async_trait]
impl ContainerRuntime for DockerRuntime {
    fn name(&self) -> String {
        "docker".into()
    }

    fn capabilities(&self) -> Capabilities {
        // All, Service Connect's networks included (user-defined bridges have Docker's
        // embedded DNS).
        Capabilities::ALL
    }

    async fn describe_host(&self) -> Result<HostInfo, RuntimeError> {
        let info = self.docker.info().await.map_err(convert::error)?;
        let cpus = u32::try_from(info.ncpu.unwrap_or(1)).unwrap_or(1);
        let memory = u32::try_from(info.mem_total.unwrap_or(0) >> 20).unwrap_or(u32::MAX);
        let mut host = HostInfo::linux(
            self.resources
                .unwrap_or_else(|| Resources::new(cpus * 1024, memory)),
            format!("docker {}", info.server_version.unwrap_or_default()),
        );
        if let Some(os) = info.os_type {
            host.attributes.insert("ecs.os-type".into(), os);
        }
        if let Some(arch) = info.architecture {
            host.attributes.insert("ecs.cpu-architecture".into(), arch);
        }
        // Containers on the default bridge reach the host at its gateway. (An engine
        // without one still registers: its containers get no metadata endpoint.)
        let bridge = self.docker.inspect_network("bridge", None).await.ok();
        if let Some(network) = bridge
            .as_ref()
            .and_then(|b| convert::container_network(b.ipam.as_ref()))
        {
            host = host.with_container_network(network);
        }
        Ok(host)
    }

    async fn ensure_image(&self, image: &str, policy: PullPolicy) -> Result<(), RuntimeError> {
        let present = self.image_present(image).await?;
        policy.apply(image, present, || self.pull(image)).await
    }

    async fn create_container(&self, spec: &ContainerSpec) -> Result<ContainerId, RuntimeError> {
        if let Some(attachment) = &spec.network {
            // Docker 20.10 creates a container on a network that does not exist, and
            // refuses only to start it: say it here, as the other runtimes do.
            if let Err(e) = self.docker.inspect_network(&attachment.network, None).await {
                if convert::ambiguous(&e) {
                    self.settle_network(&attachment.network).await?;
                } else {
                    return Err(convert::error(e));
                }
            }
        }
        let options = CreateContainerOptionsBuilder::new()
            .name(&spec.name)
            .build();
        let created = self
            .docker
            .create_container(Some(options), convert::create_body(spec, &self.publish_ip))
            .await
            .map_err(convert::error)?;
        Ok(ContainerId(created.id))
    }

    async fn start_container(&self, id: &ContainerId) -> Result<(), RuntimeError> {
        match self.docker.start_container(&id.0, None).await {
            Err(e) if !convert::not_modified(&e) => Err(convert::error(e)),
            _ => Ok(()),
        }
    }

    async fn stop_container(
        &self,
        id: &ContainerId,
        timeout: Duration,
    ) -> Result<(), RuntimeError> {
        let seconds = i32::try_from(timeout.as_secs()).unwrap_or(i32::MAX);
        let options = StopContainerOptionsBuilder::new().t(seconds).build();
        // Docker answers a stop once the container exited, up to the stop timeout later:
        // the request may take that long, beyond the client's usual timeout.
        let docker = self
            .docker
            .clone()
            .with_timeout(timeout + Duration::from_secs(30));
        match docker.stop_container(&id.0, Some(options)).await {
            Err(e) if !convert::not_modified(&e) => Err(convert::error(e)),
            _ => Ok(()),
        }
    }

    async fn remove_container(&self, id: &ContainerId) -> Result<(), RuntimeError> {
        let options = RemoveContainerOptionsBuilder::new()
            .force(true)
            .v(true)
            .build();
        self.docker
            .remove_container(&id.0, Some(options))
            .await
            .map_err(convert::error)
    }

    async fn remove_volume(&self, name: &str) -> Result<(), RuntimeError> {
        self.docker
            .remove_volume(name, None::<bollard::query_parameters::RemoveVolumeOptions>)
            .await
            .map_err(convert::error)
    }

    async fn inspect_container(&self, id: &ContainerId) -> Result<ContainerInfo, RuntimeError> {
        let r = self
            .docker
            .inspect_container(&id.0, None)
            .await
            .map_err(convert::error)?;
        Ok(convert::info(r))
    }

    async fn container_stats(&self, id: &ContainerId) -> Result<ContainerStats, RuntimeError> {
        // One sample, at once (without one-shot, the engine waits a second for a second
        // sample): CPU use comes from two of these calls.
        let options = StatsOptionsBuilder::new()
            .stream(false)
            .one_shot(true)
            .build();
        let mut stream = self.docker.stats(&id.0, Some(options));
        let sample = stream
            .next()
            .await
            .ok_or_else(|| RuntimeError::NotFound(id.to_string()))?
            .map_err(convert::error)?;
        let mut stats = ContainerStats::default();
        stats.cpu_total_ns = sample
            .cpu_stats
            .and_then(|c| c.cpu_usage)
            .and_then(|u| u.total_usage)
            .unwrap_or(0);
        // The engine's time of the reading, not ours of the answer: the latency between
        // the two varies, and over a short period it would inflate or deflate the CPU
        // use computed from two samples.
        let engine_time = sample
            .read
            .as_deref()
            .and_then(|t| t.parse::<jiff::Timestamp>().ok())
            .and_then(|t| u64::try_from(t.as_nanosecond()).ok());
        stats.sampled_at_ns = engine_time
            .unwrap_or_else(|| u64::try_from(self.epoch.elapsed().as_nanos()).unwrap_or(u64::MAX));
        let memory = sample.memory_stats.unwrap_or_default();
        // As `docker stats` counts it: usage without the reclaimable page cache
        // (`inactive_file` on cgroup v2, `total_inactive_file` on v1).
        let cache = memory
            .stats
            .as_ref()
            .and_then(|s| {
                s.get("inactive_file")
                    .or_else(|| s.get("total_inactive_file"))
                    .copied()
            })
            .unwrap_or(0);
        stats.memory_bytes = memory.usage.unwrap_or(0).saturating_sub(cache);
        stats.memory_limit_bytes = memory.limit.unwrap_or(0);
        Ok(stats)
    }

    async fn list_containers(
        &self,
        labels: &BTreeMap<String, String>,
    ) -> Result<Vec<ContainerInfo>, RuntimeError> {
        let filters: HashMap<String, Vec<String>> = HashMap::from([(
            "label".to_owned(),
            labels.iter().map(|(k, v)| format!("{k}={v}")).collect(),
        )]);
        let options = ListContainersOptionsBuilder::new()
            .all(true)
            .filters(&filters)
            .build();
        // One call: each container as the list describes it, with no inspect of each.
        let summaries = self
            .docker
            .list_containers(Some(options))
            .await
            .map_err(convert::error)?;
        Ok(summaries.into_iter().map(convert::summary_info).collect())
    }

    async fn events(&self) -> Result<BoxStream<'static, ContainerEvent>, RuntimeError> {
        // Fails fast when the engine is away, rather than handing out a dead stream.
        self.docker.ping().await.map_err(convert::error)?;
        let filters: HashMap<String, Vec<String>> = HashMap::from([
            ("type".to_owned(), vec!["container".to_owned()]),
            (
                "event".to_owned(),
                ["start", "die", "oom", "health_status"]
                    .map(str::to_owned)
                    .to_vec(),
            ),
        ]);
        // The request only goes out when the stream is first polled; asking for events
        // since now keeps those of the meantime.
        let since = ecs_core::runtime::since_now();
        let options = EventsOptionsBuilder::new()
            .since(&since)
            .filters(&filters)
            .build();
        let stream = self.docker.events(Some(options));
        Ok(Box::pin(
            stream
                .take_while(|r| futures::future::ready(r.is_ok()))
                .filter_map(|r| futures::future::ready(r.ok().and_then(convert::event))),
        ))
    }

    async fn container_logs(
        &self,
        id: &ContainerId,
        options: &LogOptions,
    ) -> Result<BoxStream<'static, Result<LogLine, RuntimeError>>, RuntimeError> {
        let now = jiff::Timestamp::now();
        // An unknown container is an error of the call; Docker would say it only in the
        // stream.
        self.docker
            .inspect_container(&id.0, None)
            .await
            .map_err(convert::error)?;
        // bollard sends a request when its stream is first polled: a tail with follow
        // is read as the lines up to now, then those after now.
        Ok(match ecs_core::runtime::split_follow(options, now) {
            Some((backlog, later)) => {
                Box::pin(self.logs(id, &backlog).chain(self.logs(id, &later)))
            }
            None => self.logs(id, options),
        })
    }

    async fn exec(&self, id: &ContainerId, spec: &ExecSpec) -> Result<ExecSession, RuntimeError> {
        if spec.command.is_empty() {
            return Err(RuntimeError::InvalidRequest("exec: no command".into()));
        }
        let created = self
            .docker
            .create_exec(&id.0, convert::exec_options(spec))
            .await
            .map_err(convert::error)?;
        // As for logs, the client's timeout bounds the answer, not the session.
        let docker = self.docker.clone();
        let started = docker
            .start_exec(&created.id, Some(convert::exec_start(spec)))
            .await
            .map_err(convert::error)?;
        let bollard::exec::StartExecResults::Attached { output, input } = started else {
            return Err(RuntimeError::Unavailable(format!(
                "exec {} in {id} started detached",
                created.id
            )));
        };
        let output = output.filter_map(|frame| {
            futures::future::ready(match frame {
                Ok(frame) => convert::exec_chunk(frame).map(Ok),
                Err(e) => Some(Err(convert::error(e))),
            })
        });
        // Its exit code, once Docker says it no longer runs.
        let exec_id = created.id;
        let exit_code = async move {
            loop {
                let r = docker
                    .inspect_exec(&exec_id)
                    .await
                    .map_err(convert::error)?;
                if let Some(code) = convert::exec_exit_code(&r) {
                    return Ok(code);
                }
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        };
        Ok(ExecSession::new(
            Box::pin(output),
            spec.interactive.then_some(input),
            exit_code.boxed(),
        ))
    }

    async fn ensure_network(
        &self,
        name: &str,
        labels: &BTreeMap<String, String>,
    ) -> Result<ContainerNetwork, RuntimeError> {
        let lock = network_lock(name);
        let _only_caller = lock.lock().await;
        match self.docker.inspect_network(name, None).await {
            Ok(network) => return network_of(name, network.ipam.as_ref()),
            Err(e) if convert::ambiguous(&e) => return self.settle_network(name).await,
            Err(e) => match convert::error(e) {
                RuntimeError::NotFound(_) => {}
                other => return Err(other),
            },
        }
        match self
            .docker
            .create_network(convert::network_create(name, labels))
            .await
        {
            Ok(_) => {}
            Err(e) => match convert::error(e) {
                // Engines from API 1.44 on refuse a name in use: someone else made it.
                RuntimeError::Conflict(_) => {}
                other => return Err(other),
            },
        }
        // Ours, or another process's too, made between the inspect and the create.
        self.settle_network(name).await
    }
}

#[cfg(test)]
mod tests {
    use super::has_tag_or_digest;

    #[test]
    fn tags_and_digests() {
        assert!(has_tag_or_digest("nginx:1.27"));
        assert!(has_tag_or_digest("repo.example:5000/app:2"));
        assert!(has_tag_or_digest("app@sha256:abc"));
        assert!(!has_tag_or_digest("nginx"));
        assert!(!has_tag_or_digest("repo.example:5000/app"));
    }
}
