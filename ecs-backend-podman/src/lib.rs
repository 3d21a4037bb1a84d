//! The Podman backend of the embeddable ECS: [`PodmanRuntime`] implements
//! [`ContainerRuntime`] over libpod's API with podman-api.
//!
//! ```no_run
//! use std::sync::Arc;
//! use ecs_core::control::RegisterContainerInstance;
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! let ecs = ecs_core::Ecs::new(Default::default());
//! ecs.create_cluster("dev".parse()?)?;
//! let podman = ecs_backend_podman::PodmanRuntime::connect("unix:///run/podman/podman.sock")?;
//! let instance = RegisterContainerInstance::new("dev".parse()?, "i-podman".parse()?, Arc::new(podman));
//! ecs.register_container_instance(instance).await?;
//! # Ok(()) }
//! ```
//!
//! Health checks: Podman schedules them with systemd timers, which machines without
//! systemd (containers, CI sandboxes) lack. This backend runs each container's checks
//! itself, through libpod's healthcheck endpoint, at the check's interval, and reports
//! the changes as events, so they behave the same everywhere.
//!
//! Addresses: `unix://PATH`, plain `tcp://HOST:PORT`, and TCP with mutual TLS through
//! [`PodmanRuntime::connect_tls`] (Podman 4.3 has no TLS of its own: put a TLS terminator
//! in front of `podman system service tcp://...`).
//!
//! Tested against Debian's Podman 4.3 (libpod API 4.3); podman-api is pinned, and its
//! transport crate is patched for TLS (`vendor/containers-api/PATCHED.md`).

mod convert;

use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use containers_api::conn::hyper::{self, Body, Client, Response, StatusCode};
use containers_api::conn::{Headers, Payload, RequestClient, Transport};
use ecs_core::cluster::Resources;
use ecs_core::runtime::{
    Capabilities, ContainerEvent, ContainerEventKind, ContainerId, ContainerInfo, ContainerNetwork,
    ContainerRuntime, ContainerSpec, ContainerStats, ExecSession, ExecSpec, HealthCheckSpec,
    HealthStatus, HostInfo, LogLine, LogOptions, PullPolicy, RuntimeError,
};
use futures::stream::BoxStream;
use futures::{FutureExt, StreamExt};
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
    /// The same engine through podman-api's transport, for the one request podman-api
    /// cannot write as libpod reads it (a create with a log configuration).
    raw: Arc<RequestClient<containers_api::conn::Error>>,
    /// Where the engine is, for errors.
    endpoint: Arc<str>,
    publish_ip: String,
    epoch: Instant,
    /// Health changes found by this backend's own checks.
    health_events: broadcast::Sender<ContainerEvent>,
    /// Each container's health check and the number of its latest start (which owns the
    /// health loop).
    checks: Arc<Mutex<HashMap<ContainerId, (HealthCheckSpec, u64)>>>,
}

impl PodmanRuntime {
    /// Connects to libpod at `unix://PATH`, or over plain TCP at `tcp://HOST:PORT` (or
    /// `http://HOST:PORT`, the same); see [`connect_tls`](Self::connect_tls) for TLS.
    /// Nothing is sent until the first call.
    ///
    /// `podman system service tcp://HOST:PORT` serves plain TCP without any
    /// authentication: expose it only on loopback, or behind TLS.
    pub fn connect(address: &str) -> Result<Self, RuntimeError> {
        let endpoint = Endpoint::parse(address)?;
        let podman = match &endpoint {
            Endpoint::Unix(path) => Podman::unix(path),
            Endpoint::Tcp(authority) => Podman::tcp(authority).map_err(|e| {
                RuntimeError::InvalidRequest(format!("Podman address {address}: {e}"))
            })?,
            Endpoint::Tls(_) => {
                return Err(RuntimeError::InvalidRequest(format!(
                    "Podman address {address}: https needs client certificates: use \
                     PodmanRuntime::connect_tls (or CONTAINER_TLS_VERIFY and \
                     CONTAINER_CERT_PATH with from_env)"
                )));
            }
        };
        let raw = raw_client(&endpoint, None)
            .map_err(|e| RuntimeError::InvalidRequest(format!("Podman address {address}: {e}")))?;
        Ok(Self::with_client(podman, raw, address))
    }

    /// Connects to libpod over TLS at `tcp://HOST:PORT` (or `https://HOST:PORT`),
    /// verifying the engine's certificate with `ca.pem` and presenting the client
    /// certificate `cert.pem` with its key `key.pem`, all three in `cert_dir` (Docker's
    /// layout). The certificate must name `HOST` (for an IP address, as an IP
    /// subjectAltName). Nothing is sent until the first call.
    ///
    /// Podman 4.3's service has no TLS of its own: this is for an engine behind a TLS
    /// terminator (`scripts/engines` puts stunnel in front of a TCP service).
    ///
    /// Needs containers-api with this repository's fix in the build (its
    /// `vendor/containers-api`, by `[patch.crates-io]` in the root `Cargo.toml`, which a
    /// depending workspace must repeat): the released 0.9.0 sends every TLS request to a
    /// `//`-path that libpod answers with a 301, reported as an unavailable engine.
    pub fn connect_tls(address: &str, cert_dir: &Path) -> Result<Self, RuntimeError> {
        let authority = match Endpoint::parse(address)? {
            Endpoint::Tcp(authority) | Endpoint::Tls(authority) => authority,
            Endpoint::Unix(_) => {
                return Err(RuntimeError::InvalidRequest(format!(
                    "Podman address {address}: TLS needs tcp://HOST:PORT or https://HOST:PORT"
                )));
            }
        };
        // podman-api reads these three; say which is missing rather than an OpenSSL code.
        for file in ["ca.pem", "cert.pem", "key.pem"] {
            let path = cert_dir.join(file);
            if !path.is_file() {
                return Err(RuntimeError::InvalidRequest(format!(
                    "Podman over TLS at {address}: {} is missing (the certificate directory \
                     needs ca.pem, cert.pem and key.pem)",
                    path.display()
                )));
            }
        }
        let podman = Podman::tls(&authority, cert_dir, true).map_err(|e| {
            RuntimeError::InvalidRequest(format!(
                "Podman over TLS at {address} with the certificates in {}: {e}",
                cert_dir.display()
            ))
        })?;
        let raw = raw_client(&Endpoint::Tls(authority.clone()), Some(cert_dir)).map_err(|e| {
            RuntimeError::InvalidRequest(format!(
                "Podman over TLS at {address} with the certificates in {}: {e}",
                cert_dir.display()
            ))
        })?;
        Ok(Self::with_client(
            podman,
            raw,
            &format!("https://{authority}"),
        ))
    }

    /// Connects to `CONTAINER_HOST` (`unix://PATH` or `tcp://HOST:PORT`), over TLS with
    /// the certificates in `CONTAINER_CERT_PATH` when `CONTAINER_TLS_VERIFY` is set (this
    /// library's names, after Docker's `DOCKER_TLS_VERIFY`/`DOCKER_CERT_PATH`: Podman 4.3
    /// has none), else to the rootful socket `unix:///run/podman/podman.sock`.
    pub fn from_env() -> Result<Self, RuntimeError> {
        let host = std::env::var("CONTAINER_HOST")
            .unwrap_or_else(|_| "unix:///run/podman/podman.sock".into());
        let tls = std::env::var("CONTAINER_TLS_VERIFY").is_ok_and(|v| !v.is_empty() && v != "0");
        if tls {
            let certs = std::env::var_os("CONTAINER_CERT_PATH").ok_or_else(|| {
                RuntimeError::InvalidRequest(
                    "CONTAINER_TLS_VERIFY is set but CONTAINER_CERT_PATH (the directory of \
                     ca.pem, cert.pem and key.pem) is not"
                        .into(),
                )
            })?;
            return Self::connect_tls(&host, Path::new(&certs));
        }
        Self::connect(&host)
    }

    fn with_client(
        podman: Podman,
        raw: RequestClient<containers_api::conn::Error>,
        endpoint: &str,
    ) -> Self {
        Self {
            podman,
            raw: Arc::new(raw),
            endpoint: endpoint.into(),
            publish_ip: "0.0.0.0".into(),
            epoch: Instant::now(),
            health_events: broadcast::channel(1024).0,
            checks: Arc::default(),
        }
    }

    /// podman-api's error as a runtime error that names this engine.
    fn error(&self, e: podman_api::Error) -> RuntimeError {
        convert::error(&self.endpoint, e)
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
        // (Service Connect's networks are there: netavark's bridges, with aardvark-dns.)
        c.links = false;
        c
    }

    async fn describe_host(&self) -> Result<HostInfo, RuntimeError> {
        let info = self.podman.info().await.map_err(|e| self.error(e))?;
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
        // Containers on the default network (`podman`) reach the host at its gateway.
        let network = self.podman.networks().get("podman").inspect().await.ok();
        if let Some(network) = network.as_ref().and_then(convert::container_network) {
            out = out.with_container_network(network);
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
            .map_err(|e| self.error(e))?;
        policy.apply(image, present, || self.pull(image)).await
    }

    async fn create_container(&self, spec: &ContainerSpec) -> Result<ContainerId, RuntimeError> {
        // podman-api's create, but with the log configuration libpod reads (see
        // `convert::create_body`).
        let endpoint = podman_api::LATEST_API_VERSION.make_endpoint("/libpod/containers/create");
        let created: serde_json::Value = self
            .raw
            .post_json(
                endpoint,
                Payload::Json(convert::create_body(spec, &self.publish_ip)?),
                Headers::none(),
            )
            .await
            .map_err(|e| self.error(podman_api::Error::Error(e)))?;
        let id = created
            .get("Id")
            .and_then(serde_json::Value::as_str)
            .map(|id| ContainerId(id.to_owned()))
            .ok_or_else(|| RuntimeError::Unavailable(format!("libpod created no id: {created}")))?;
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
            Err(e) if !convert::not_modified(&e) => return Err(self.error(e)),
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
            let r = container.inspect().await.map_err(|e| self.error(e))?;
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
            .map_err(|e| self.error(e))
    }

    async fn remove_volume(&self, name: &str) -> Result<(), RuntimeError> {
        self.podman
            .volumes()
            .get(name)
            .remove()
            .await
            .map_err(|e| self.error(e))
    }

    async fn inspect_container(&self, id: &ContainerId) -> Result<ContainerInfo, RuntimeError> {
        let r = self
            .podman
            .containers()
            .get(&id.0)
            .inspect()
            .await
            .map_err(|e| self.error(e))?;
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
            .map_err(|e| self.error(e))?;
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
        // One call: each container as the list describes it, with no inspect of each.
        let listed = self
            .podman
            .containers()
            .list(&opts)
            .await
            .map_err(|e| self.error(e))?;
        Ok(listed.into_iter().map(convert::list_info).collect())
    }

    async fn events(&self) -> Result<BoxStream<'static, ContainerEvent>, RuntimeError> {
        self.podman.ping().await.map_err(|e| self.error(e))?;
        let engine = async_stream(self.podman.clone(), ecs_core::runtime::since_now());
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

    async fn container_logs(
        &self,
        id: &ContainerId,
        options: &LogOptions,
    ) -> Result<BoxStream<'static, Result<LogLine, RuntimeError>>, RuntimeError> {
        let now = jiff::Timestamp::now();
        // An unknown container is an error of the call, not of the stream.
        self.podman
            .containers()
            .get(&id.0)
            .inspect()
            .await
            .map_err(|e| self.error(e))?;
        // A tail with follow is read as the lines up to now, then those after now (the
        // engine counts the tail when it receives the request).
        Ok(match ecs_core::runtime::split_follow(options, now) {
            Some((backlog, later)) => {
                Box::pin(self.logs(id, &backlog).chain(self.logs(id, &later)))
            }
            None => self.logs(id, options),
        })
    }

    async fn exec(&self, id: &ContainerId, spec: &ExecSpec) -> Result<ExecSession, RuntimeError> {
        use tokio_util::compat::FuturesAsyncWriteCompatExt;
        if spec.command.is_empty() {
            return Err(RuntimeError::InvalidRequest("exec: no command".into()));
        }
        let exec = self
            .podman
            .containers()
            .get(&id.0)
            .create_exec(&convert::exec_opts(spec))
            .await
            .map_err(|e| self.error(e))?;
        let session = exec
            .start(&convert::exec_start(spec))
            .await
            .map_err(|e| self.error(e))?
            .ok_or_else(|| {
                RuntimeError::Unavailable(format!("exec {} in {id} started detached", exec.id()))
            })?;
        let (output, input) = session.split();
        let me = self.clone();
        let output = output.filter_map(move |chunk| {
            futures::future::ready(match chunk {
                Ok(chunk) => convert::exec_chunk(chunk).map(Ok),
                Err(e) => Some(Err(me.error(podman_api::Error::Error(e)))),
            })
        });
        let stdin: Option<ecs_core::runtime::ExecInput> = spec
            .interactive
            .then(|| Box::pin(input.compat_write()) as ecs_core::runtime::ExecInput);
        // Its exit code, once libpod says it no longer runs.
        let me = self.clone();
        let exit_code = async move {
            loop {
                let inspect = exec.inspect().await.map_err(|e| me.error(e))?;
                if let Some(code) = convert::exec_exit_code(&inspect) {
                    return Ok(code);
                }
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        };
        Ok(ExecSession::new(Box::pin(output), stdin, exit_code.boxed()))
    }

    async fn ensure_network(
        &self,
        name: &str,
        labels: &BTreeMap<String, String>,
    ) -> Result<ContainerNetwork, RuntimeError> {
        let networks = self.podman.networks();
        let network = match networks.get(name).inspect().await {
            Ok(network) => network,
            Err(e) => match self.error(e) {
                RuntimeError::NotFound(_) => {
                    match networks
                        .create(&convert::network_create(name, labels))
                        .await
                    {
                        Ok(network) => network,
                        // Made meanwhile by another caller: libpod's creates are
                        // serialised by its network backend's lock, so one of a race
                        // makes it and the others are refused. Theirs, then.
                        Err(e) => match self.error(e) {
                            RuntimeError::Conflict(_) => networks
                                .get(name)
                                .inspect()
                                .await
                                .map_err(|e| self.error(e))?,
                            other => return Err(other),
                        },
                    }
                }
                other => return Err(other),
            },
        };
        if network.dns_enabled == Some(false) {
            // Kept as it is, as promised; but its containers' aliases will not resolve.
            tracing::warn!(
                network = name,
                "this network has no DNS: aliases will not resolve"
            );
        }
        convert::container_network(&network).ok_or_else(|| {
            RuntimeError::Unavailable(format!("Podman's network {name} has no IPv4 subnet"))
        })
    }
}

impl PodmanRuntime {
    /// libpod's log stream for `options`. podman-api's stream borrows its container: a
    /// task owns both and forwards the lines, until they end or the reader goes.
    fn logs(
        &self,
        id: &ContainerId,
        options: &LogOptions,
    ) -> BoxStream<'static, Result<LogLine, RuntimeError>> {
        let container = self.podman.containers().get(&id.0);
        let (tx, rx) = tokio::sync::mpsc::channel(256);
        let opts = convert::logs_opts(options);
        let timestamps = options.timestamps;
        let me = self.clone();
        tokio::spawn(async move {
            let mut chunks = container.logs(&opts);
            loop {
                let chunk = tokio::select! {
                    chunk = chunks.next() => chunk,
                    () = tx.closed() => return,
                };
                let lines = match chunk {
                    None => return,
                    Some(Ok(chunk)) => convert::log_lines(chunk, timestamps)
                        .into_iter()
                        .map(Ok)
                        .collect(),
                    Some(Err(e)) => vec![Err(me.error(e))],
                };
                for line in lines {
                    if tx.send(line).await.is_err() {
                        return;
                    }
                }
            }
        });
        Box::pin(futures::stream::unfold(rx, |mut rx| async move {
            rx.recv().await.map(|line| (line, rx))
        }))
    }
}

/// A client of the engine at `endpoint` on podman-api's own transport (the certificates
/// in `cert_dir` for TLS), answering libpod's errors as podman-api does.
fn raw_client(
    endpoint: &Endpoint,
    cert_dir: Option<&Path>,
) -> Result<RequestClient<containers_api::conn::Error>, String> {
    use containers_api::url::url::Url;
    let transport = match endpoint {
        Endpoint::Unix(path) => Transport::Unix {
            client: Client::builder()
                .pool_max_idle_per_host(0)
                .build(containers_api::conn::get_unix_connector()),
            path: path.into(),
        },
        Endpoint::Tcp(authority) => Transport::Tcp {
            client: Client::builder().build(containers_api::conn::get_http_connector()),
            host: Url::parse(&format!("tcp://{authority}")).map_err(|e| e.to_string())?,
        },
        Endpoint::Tls(authority) => {
            let certs = cert_dir.ok_or("TLS needs a certificate directory")?;
            Transport::EncryptedTcp {
                client: Client::builder().build(
                    containers_api::conn::get_https_connector(certs, true)
                        .map_err(|e| e.to_string())?,
                ),
                host: Url::parse(&format!("https://{authority}")).map_err(|e| e.to_string())?,
            }
        }
    };
    Ok(RequestClient::new(transport, Box::new(libpod_answer)))
}

/// libpod's answer, or its error as a fault with libpod's message (`message: cause`).
fn libpod_answer(
    response: Response<Body>,
) -> std::pin::Pin<
    Box<
        dyn std::future::Future<Output = Result<Response<Body>, containers_api::conn::Error>>
            + Send
            + Sync,
    >,
> {
    Box::pin(async move {
        let status = response.status();
        if status.is_success() || status == StatusCode::SWITCHING_PROTOCOLS {
            return Ok(response);
        }
        let bytes = hyper::body::to_bytes(response.into_body()).await?;
        let text = String::from_utf8_lossy(&bytes).into_owned();
        let message = serde_json::from_str::<serde_json::Value>(&text)
            .ok()
            .map(|v| {
                let field = |k: &str| v.get(k).and_then(|m| m.as_str()).unwrap_or("").to_owned();
                format!("{}: {}", field("message"), field("cause"))
            })
            .filter(|m| m != ": ")
            .unwrap_or(text);
        Err(containers_api::conn::Error::Fault {
            code: status,
            message,
        })
    })
}

/// Where a Podman engine listens, from an address such as `unix:///run/podman/podman.sock`,
/// `tcp://127.0.0.1:8088` or `https://podman.example:8443`.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Endpoint {
    /// A unix socket's path.
    Unix(String),
    /// Plain TCP (`tcp://` or `http://`): `HOST:PORT`.
    Tcp(String),
    /// TCP with TLS (`https://`): `HOST:PORT`.
    Tls(String),
}

impl Endpoint {
    fn parse(address: &str) -> Result<Self, RuntimeError> {
        let invalid = |why: &str| {
            RuntimeError::InvalidRequest(format!(
                "Podman address {address:?}: {why} (expected unix://PATH, tcp://HOST:PORT or \
                 https://HOST:PORT)"
            ))
        };
        let (scheme, rest) = address
            .split_once("://")
            .ok_or_else(|| invalid("no scheme"))?;
        match scheme {
            "unix" if rest.is_empty() => Err(invalid("no socket path")),
            "unix" => Ok(Self::Unix(rest.to_owned())),
            "tcp" | "http" | "https" => {
                // `HOST:PORT`, a trailing `/` allowed; libpod has no default port.
                let authority = rest.strip_suffix('/').unwrap_or(rest);
                if authority.contains(['/', '?', '#', '@']) {
                    return Err(invalid("only HOST:PORT may follow the scheme"));
                }
                let port = authority
                    .rsplit_once(':')
                    .map(|(host, port)| (host, port.parse::<u16>()));
                match port {
                    Some((host, Ok(_))) if !host.is_empty() => {}
                    _ => return Err(invalid("no HOST:PORT (libpod has no default port)")),
                }
                Ok(if scheme == "https" {
                    Self::Tls(authority.to_owned())
                } else {
                    Self::Tcp(authority.to_owned())
                })
            }
            "ssh" => Err(invalid(
                "ssh is not supported: forward the remote socket (ssh -L) and connect to it",
            )),
            _ => Err(invalid("unsupported scheme")),
        }
    }
}

/// libpod's event stream as container events, from `since` on. It borrows the client, so
/// it owns one.
///
/// libpod 4.3 ends every streaming reader of its events log when it rotates the log
/// (`events_logfile_max_size`, 1 MiB by default: a few hundred container starts), so a
/// busy engine ends the stream every minute or so. Rather than report a disconnection and
/// lose the events until the agent reopens it, the stream is reopened at once from just
/// before the last event delivered, skipping what was already delivered; it ends only when
/// the engine no longer answers.
fn async_stream(podman: Podman, since: String) -> BoxStream<'static, ContainerEvent> {
    let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
    tokio::spawn(async move {
        let mut seen = Delivered::default();
        loop {
            let opened = Instant::now();
            let opts = EventsOpts::builder()
                .since(seen.since().unwrap_or_else(|| since.clone()))
                .stream(true)
                .filters([("type".to_owned(), vec!["container".to_owned()])])
                .build();
            let mut events = podman.events(&opts);
            while let Some(Ok(e)) = events.next().await {
                let nanos = e.time_nano.timestamp_nanos_opt().unwrap_or(0);
                if !seen.first_time(nanos, &e.actor.id, &e.action) {
                    continue;
                }
                let Some(event) = container_event(&podman, e).await else {
                    continue;
                };
                if tx.send(event).is_err() {
                    return;
                }
            }
            if tx.is_closed() || podman.ping().await.is_err() {
                return;
            }
            // Ended by the engine, which still answers: reopen (not in a tight loop, in
            // case it ends streams at once for some other reason).
            tracing::debug!("libpod ended its event stream (a log rotation); reopening it");
            if opened.elapsed() < Duration::from_secs(1) {
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
        }
    });
    Box::pin(futures::stream::unfold(rx, |mut rx| async move {
        rx.recv().await.map(|e| (e, rx))
    }))
}

/// A libpod event as a container event, if it is one the runtime reports.
async fn container_event(podman: &Podman, e: podman_api::models::Event) -> Option<ContainerEvent> {
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
        _ => return None,
    };
    Some(ContainerEvent { id, kind })
}

/// The events a reopened stream must not deliver again: those of the last second before
/// the newest one delivered (the reopened stream starts there, in case events were written
/// a little out of order), by time, container and action.
#[derive(Debug, Default)]
struct Delivered {
    keys: std::collections::BTreeSet<(i64, String, String)>,
    newest: Option<i64>,
}

impl Delivered {
    const WINDOW_NS: i64 = 1_000_000_000;

    /// Where a reopened stream starts (`SECONDS.NANOSECONDS`), once anything was delivered.
    fn since(&self) -> Option<String> {
        let from = self.newest? - Self::WINDOW_NS;
        Some(format!(
            "{}.{:09}",
            from.div_euclid(Self::WINDOW_NS),
            from.rem_euclid(Self::WINDOW_NS)
        ))
    }

    /// Records the event; false if it was delivered before.
    fn first_time(&mut self, nanos: i64, id: &str, action: &str) -> bool {
        if !self.keys.insert((nanos, id.to_owned(), action.to_owned())) {
            return false;
        }
        let newest = self.newest.map_or(nanos, |n| n.max(nanos));
        self.newest = Some(newest);
        // Older than the window: a reopened stream does not go back that far.
        while self
            .keys
            .first()
            .is_some_and(|(t, _, _)| *t < newest - Self::WINDOW_NS)
        {
            self.keys.pop_first();
        }
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_reopened_event_stream_skips_what_was_delivered() {
        let mut seen = Delivered::default();
        assert_eq!(seen.since(), None);
        let t = 1_795_620_557_207_913_153_i64;
        assert!(seen.first_time(t, "a", "start"));
        assert!(seen.first_time(t, "b", "start"));
        assert!(seen.first_time(t + 5, "a", "died"));
        // Reopened a second before the newest event: the same events come again.
        assert_eq!(seen.since().as_deref(), Some("1795620556.207913158"));
        assert!(!seen.first_time(t, "a", "start"));
        assert!(!seen.first_time(t + 5, "a", "died"));
        // A new event at the same instant as a delivered one is still new.
        assert!(seen.first_time(t + 5, "c", "start"));
        // Older than the window: forgotten (a reopened stream does not go back there).
        assert!(seen.first_time(t + 3_000_000_000, "a", "start"));
        assert_eq!(seen.keys.len(), 1);
    }

    #[test]
    fn addresses_parse_by_scheme() {
        let ok = |a: &str| Endpoint::parse(a).unwrap();
        assert_eq!(
            ok("unix:///run/podman/podman.sock"),
            Endpoint::Unix("/run/podman/podman.sock".into())
        );
        assert_eq!(
            ok("tcp://127.0.0.1:8088"),
            Endpoint::Tcp("127.0.0.1:8088".into())
        );
        assert_eq!(
            ok("http://podman.example:8088/"),
            Endpoint::Tcp("podman.example:8088".into())
        );
        assert_eq!(ok("tcp://[::1]:8088"), Endpoint::Tcp("[::1]:8088".into()));
        assert_eq!(
            ok("https://127.0.0.1:8443"),
            Endpoint::Tls("127.0.0.1:8443".into())
        );
    }

    #[test]
    fn bad_addresses_say_what_is_wrong() {
        for (address, why) in [
            ("/run/podman/podman.sock", "no scheme"),
            ("unix://", "no socket path"),
            ("tcp://127.0.0.1", "no HOST:PORT"),
            ("tcp://:8088", "no HOST:PORT"),
            ("tcp://127.0.0.1:http", "no HOST:PORT"),
            ("tcp://127.0.0.1:8088/v4", "only HOST:PORT"),
            (
                "ssh://core@host/run/podman/podman.sock",
                "ssh is not supported",
            ),
            ("npipe:////./pipe/podman", "unsupported scheme"),
        ] {
            match Endpoint::parse(address) {
                Err(RuntimeError::InvalidRequest(message)) => {
                    assert!(message.contains(why), "{address}: {message}");
                    assert!(message.contains(address), "{address}: {message}");
                }
                other => panic!("{address}: {other:?}"),
            }
        }
    }

    #[test]
    fn connect_takes_unix_and_plain_tcp_and_sends_https_to_connect_tls() {
        assert!(PodmanRuntime::connect("unix:///run/podman/podman.sock").is_ok());
        assert!(PodmanRuntime::connect("tcp://127.0.0.1:8088").is_ok());
        assert!(PodmanRuntime::connect("http://127.0.0.1:8088").is_ok());
        match PodmanRuntime::connect("https://127.0.0.1:8443") {
            Err(RuntimeError::InvalidRequest(m)) => assert!(m.contains("connect_tls"), "{m}"),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn connect_tls_names_the_missing_certificate_file() {
        let dir = std::env::temp_dir().join(format!("ecs-podman-certs-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("ca.pem"), "").unwrap();
        let answer = PodmanRuntime::connect_tls("tcp://127.0.0.1:8443", &dir);
        std::fs::remove_dir_all(&dir).unwrap();
        match answer {
            Err(RuntimeError::InvalidRequest(m)) => {
                assert!(m.contains("cert.pem is missing"), "{m}");
            }
            other => panic!("{other:?}"),
        }
        match PodmanRuntime::connect_tls("unix:///run/podman/podman.sock", &dir) {
            Err(RuntimeError::InvalidRequest(m)) => assert!(m.contains("TLS needs tcp://"), "{m}"),
            other => panic!("{other:?}"),
        }
    }
}
