//! The Podman backend of the embeddable ECS: [`PodmanRuntime`] implements
//! [`ContainerRuntime`] over libpod's API with podman-api.
//!
//! ```no_run
//! use std::sync::Arc;
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! let ecs = ecs_core::Ecs::new(Default::default());
//! ecs.create_cluster("dev".parse()?)?;
//! let podman = ecs_backend_podman::PodmanRuntime::connect("unix:///run/podman/podman.sock")?;
//! ecs.register_instance(&"dev".parse()?, "i-podman".parse()?, Arc::new(podman), Default::default()).await?;
//! # Ok(()) }
//! ```
//!
//! Health checks: Podman schedules them with systemd timers, which machines without
//! systemd (containers, CI sandboxes) lack. This backend runs each container's checks
//! itself, through libpod's healthcheck endpoint, at the check's interval, and reports
//! the changes as events, so they behave the same everywhere.
//!
//! Tested against Debian's Podman 4.3 (libpod API 4.3); podman-api is pinned.

mod convert;

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use ecs_core::cluster::Resources;
use ecs_core::runtime::{
    Capabilities, ContainerEvent, ContainerEventKind, ContainerId, ContainerInfo, ContainerRuntime,
    ContainerSpec, ContainerStats, HealthCheckSpec, HealthStatus, HostInfo, PullPolicy,
    RuntimeError,
};
use futures::StreamExt;
use futures::stream::BoxStream;
use podman_api::Podman;
use podman_api::opts::{
    ContainerDeleteOpts, ContainerListFilter, ContainerListOpts, ContainerStatsOpts, EventsOpts,
    PullOpts,
};
use tokio::sync::broadcast;
use tokio::time::Instant;

/// A Podman engine as a container instance's runtime.
#[derive(Debug, Clone)]
pub struct PodmanRuntime {
    podman: Podman,
    publish_ip: String,
    epoch: Instant,
    /// Health changes found by this backend's own checks.
    health_events: broadcast::Sender<ContainerEvent>,
    /// Each container's health check and the number of its latest start (which owns the
    /// health loop).
    checks: Arc<Mutex<HashMap<ContainerId, (HealthCheckSpec, u64)>>>,
}

impl PodmanRuntime {
    /// Connects to libpod at a `unix://PATH` socket. Nothing is sent until the first call.
    ///
    /// Only unix sockets: podman-api 0.11 builds TCP and TLS request URLs with a double
    /// slash (`https://host:port//v4.3.1/...`), which libpod answers with a redirect, so
    /// remote Podman is refused here with a clear error rather than failing later.
    pub fn connect(socket: &str) -> Result<Self, RuntimeError> {
        let path = socket.strip_prefix("unix://").ok_or_else(|| {
            RuntimeError::InvalidRequest(format!("{socket}: expected unix://PATH"))
        })?;
        Ok(Self {
            podman: Podman::unix(path),
            publish_ip: "0.0.0.0".into(),
            epoch: Instant::now(),
            health_events: broadcast::channel(1024).0,
            checks: Arc::default(),
        })
    }

    /// Connects to `CONTAINER_HOST`, or to the rootful socket
    /// `unix:///run/podman/podman.sock` when it is unset.
    pub fn from_env() -> Result<Self, RuntimeError> {
        let host = std::env::var("CONTAINER_HOST")
            .unwrap_or_else(|_| "unix:///run/podman/podman.sock".into());
        Self::connect(&host)
    }

    /// Publishes container ports on `ip` only (all interfaces by default).
    #[must_use]
    pub fn publishing_on(mut self, ip: impl Into<String>) -> Self {
        self.publish_ip = ip.into();
        self
    }

    async fn pull(&self, image: &str) -> Result<(), RuntimeError> {
        let opts = PullOpts::builder().reference(image).quiet(true).build();
        let images = self.podman.images();
        let mut progress = images.pull(&opts);
        let unavailable = |reason: String| RuntimeError::ImageUnavailable {
            image: image.to_owned(),
            reason,
        };
        // Failures come inside the stream: drain it all.
        while let Some(report) = progress.next().await {
            let report = report.map_err(|e| unavailable(e.to_string()))?;
            if let Some(error) = report.error {
                return Err(unavailable(error));
            }
        }
        Ok(())
    }

    /// Runs `id`'s health check every interval while it runs, reporting changes. One
    /// loop per start: a newer start (or a removal) ends the older loop.
    fn spawn_health_loop(&self, id: ContainerId, check: HealthCheckSpec, run: u64) {
        let me = self.clone();
        tokio::spawn(async move {
            let mut last = HealthStatus::Unknown;
            tokio::time::sleep(check.interval).await;
            loop {
                let current = me
                    .checks
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .get(&id)
                    .map(|(_, r)| *r);
                if current != Some(run) {
                    return;
                }
                let container = me.podman.containers().get(&id.0);
                let now = match container.healthcheck().await {
                    Ok(result) => convert::health(result.status.as_deref()),
                    // A check that overruns its timeout comes back as an error: read the
                    // verdict libpod recorded; gone or not running ends the loop.
                    Err(e) => match container.inspect().await {
                        Ok(r) => {
                            let info = convert::info(r);
                            if info.state != ecs_core::runtime::ContainerState::Running {
                                return;
                            }
                            info.health
                        }
                        Err(_) => {
                            tracing::debug!(container = %id, error = %e, "health check unavailable");
                            HealthStatus::Unknown
                        }
                    },
                };
                if now != last && now != HealthStatus::Unknown {
                    last = now;
                    let _ = me.health_events.send(ContainerEvent {
                        id: id.clone(),
                        kind: ContainerEventKind::Health(now),
                    });
                }
                tokio::time::sleep(check.interval).await;
            }
        });
    }
}

#[async_trait]
impl ContainerRuntime for PodmanRuntime {
    fn name(&self) -> String {
        "podman".into()
    }

    fn capabilities(&self) -> Capabilities {
        let mut c = Capabilities::ALL;
        // libpod has no legacy links: containers of a task share a network instead.
        c.links = false;
        c
    }

    async fn describe_host(&self) -> Result<HostInfo, RuntimeError> {
        let info = self.podman.info().await.map_err(convert::error)?;
        let version = info.version.and_then(|v| v.version).unwrap_or_default();
        let host = info
            .host
            .ok_or_else(|| RuntimeError::Unavailable("libpod did not describe its host".into()))?;
        let cpus = u32::try_from(host.cpus.unwrap_or(1)).unwrap_or(1);
        let memory = u32::try_from(host.mem_total.unwrap_or(0) >> 20).unwrap_or(u32::MAX);
        let mut out = HostInfo::linux(
            Resources::new(cpus * 1024, memory),
            format!("podman {version}"),
        );
        if let Some(os) = host.os {
            out.attributes.insert("ecs.os-type".into(), os);
        }
        if let Some(arch) = host.arch {
            out.attributes.insert(
                "ecs.cpu-architecture".into(),
                if arch == "amd64" {
                    "x86_64".into()
                } else {
                    arch
                },
            );
        }
        Ok(out)
    }

    async fn ensure_image(&self, image: &str, policy: PullPolicy) -> Result<(), RuntimeError> {
        let present = self
            .podman
            .images()
            .get(image)
            .exists()
            .await
            .map_err(convert::error)?;
        match policy {
            PullPolicy::Never if present => Ok(()),
            PullPolicy::Never => Err(RuntimeError::ImageUnavailable {
                image: image.to_owned(),
                reason: "not present and the pull policy is never".into(),
            }),
            PullPolicy::IfNotPresent if present => Ok(()),
            PullPolicy::Always => match self.pull(image).await {
                Err(_) if present => Ok(()),
                other => other,
            },
            _ => self.pull(image).await,
        }
    }

    async fn create_container(&self, spec: &ContainerSpec) -> Result<ContainerId, RuntimeError> {
        let created = self
            .podman
            .containers()
            .create(&convert::create_opts(spec, &self.publish_ip)?)
            .await
            .map_err(convert::error)?;
        let id = ContainerId(created.id);
        if let Some(check) = &spec.health_check {
            self.checks
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .insert(id.clone(), (check.clone(), 0));
        }
        Ok(id)
    }

    async fn start_container(&self, id: &ContainerId) -> Result<(), RuntimeError> {
        match self.podman.containers().get(&id.0).start(None).await {
            Err(e) if !convert::not_modified(&e) => return Err(convert::error(e)),
            _ => {}
        }
        let check = self
            .checks
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get_mut(id)
            .map(|(check, run)| {
                *run += 1;
                (check.clone(), *run)
            });
        if let Some((check, run)) = check {
            self.spawn_health_loop(id.clone(), check, run);
        }
        Ok(())
    }

    async fn stop_container(
        &self,
        id: &ContainerId,
        timeout: Duration,
    ) -> Result<(), RuntimeError> {
        // SIGTERM, then SIGKILL at the deadline, by hand: podman-api sends the stop
        // timeout as `Timeout`, which libpod 4.3 ignores in favour of the container's own.
        let container = self.podman.containers().get(&id.0);
        let running = || async {
            let r = container.inspect().await.map_err(convert::error)?;
            Ok::<bool, RuntimeError>(
                convert::info(r).state == ecs_core::runtime::ContainerState::Running,
            )
        };
        if !running().await? {
            return Ok(());
        }
        // It may exit between the check and the signal: that is a stop too.
        let _ = container.send_signal("SIGTERM").await;
        let deadline = Instant::now() + timeout;
        while Instant::now() < deadline {
            if !running().await? {
                return Ok(());
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let _ = container.kill().await;
        let patience = Instant::now() + Duration::from_secs(30);
        while running().await? {
            if Instant::now() >= patience {
                return Err(RuntimeError::Timeout(format!(
                    "{id} still runs after SIGKILL"
                )));
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        Ok(())
    }

    async fn remove_container(&self, id: &ContainerId) -> Result<(), RuntimeError> {
        self.checks
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(id);
        let opts = ContainerDeleteOpts::builder()
            .force(true)
            .volumes(true)
            .build();
        self.podman
            .containers()
            .get(&id.0)
            .delete(&opts)
            .await
            .map_err(convert::error)
    }

    async fn remove_volume(&self, name: &str) -> Result<(), RuntimeError> {
        self.podman
            .volumes()
            .get(name)
            .remove()
            .await
            .map_err(convert::error)
    }

    async fn inspect_container(&self, id: &ContainerId) -> Result<ContainerInfo, RuntimeError> {
        let r = self
            .podman
            .containers()
            .get(&id.0)
            .inspect()
            .await
            .map_err(convert::error)?;
        Ok(convert::info(r))
    }

    async fn container_stats(&self, id: &ContainerId) -> Result<ContainerStats, RuntimeError> {
        // libpod's own stats endpoint, one sample (podman-api returns it as untyped JSON:
        // `{"Stats": [{"CPUNano": .., "MemUsage": .., "MemLimit": ..}]}`).
        let opts = ContainerStatsOpts::builder()
            .containers([id.0.clone()])
            .build();
        let v = self
            .podman
            .containers()
            .stats(&opts)
            .await
            .map_err(convert::error)?;
        let sample = v
            .get("Stats")
            .and_then(|s| s.get(0))
            .ok_or_else(|| RuntimeError::NotFound(format!("no stats for {id}")))?;
        let num = |k: &str| {
            sample
                .get(k)
                .and_then(serde_json::Value::as_u64)
                .unwrap_or(0)
        };
        let mut stats = ContainerStats::default();
        stats.cpu_total_ns = num("CPUNano");
        stats.sampled_at_ns = u64::try_from(self.epoch.elapsed().as_nanos()).unwrap_or(u64::MAX);
        stats.memory_bytes = num("MemUsage");
        stats.memory_limit_bytes = num("MemLimit");
        Ok(stats)
    }

    async fn list_containers(
        &self,
        labels: &BTreeMap<String, String>,
    ) -> Result<Vec<ContainerInfo>, RuntimeError> {
        let opts = ContainerListOpts::builder()
            .all(true)
            .filter(
                labels
                    .iter()
                    .map(|(k, v)| ContainerListFilter::LabelKeyVal(k.clone(), v.clone())),
            )
            .build();
        let listed = self
            .podman
            .containers()
            .list(&opts)
            .await
            .map_err(convert::error)?;
        ecs_core::runtime::inspect_each(
            self,
            listed.into_iter().filter_map(|c| c.id).map(ContainerId),
        )
        .await
    }

    async fn events(&self) -> Result<BoxStream<'static, ContainerEvent>, RuntimeError> {
        self.podman.ping().await.map_err(convert::error)?;
        let since = ecs_core::runtime::since_now();
        let opts = EventsOpts::builder()
            .since(since)
            .stream(true)
            .filters([("type".to_owned(), vec!["container".to_owned()])])
            .build();
        let podman = self.podman.clone();
        let engine = async_stream(podman, opts);
        let health = ecs_core::runtime::broadcast_events(self.health_events.subscribe());
        // The merged stream ends when the engine's does (the health feed never ends by
        // itself), so the agent notices an engine that went away.
        let merged = futures::stream::select(
            engine
                .map(Some)
                .chain(futures::stream::once(async { None })),
            health.map(Some),
        )
        .take_while(|e| futures::future::ready(e.is_some()))
        .filter_map(futures::future::ready);
        Ok(Box::pin(merged))
    }
}

/// libpod's event stream as container events. It borrows the client, so it owns one.
fn async_stream(podman: Podman, opts: EventsOpts) -> BoxStream<'static, ContainerEvent> {
    let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
    tokio::spawn(async move {
        let mut events = podman.events(&opts);
        while let Some(Ok(e)) = events.next().await {
            let id = ContainerId(e.actor.id.clone());
            let kind = match e.action.as_str() {
                "start" => ContainerEventKind::Start,
                "died" => {
                    let attr = |k: &str| e.actor.attributes.get(k).and_then(|c| c.parse().ok());
                    let code = match attr("containerExitCode").or_else(|| attr("exitCode")) {
                        Some(code) => code,
                        // Not in the event: ask.
                        None => match podman.containers().get(&id.0).inspect().await {
                            Ok(r) => r.state.and_then(|s| s.exit_code).unwrap_or(0),
                            Err(_) => 0,
                        },
                    };
                    ContainerEventKind::Die { exit_code: code }
                }
                "oom" => ContainerEventKind::Oom,
                _ => continue,
            };
            if tx.send(ContainerEvent { id, kind }).is_err() {
                return;
            }
        }
    });
    Box::pin(futures::stream::unfold(rx, |mut rx| async move {
        rx.recv().await.map(|e| (e, rx))
    }))
}
