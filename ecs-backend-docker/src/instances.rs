//! [`LocalDockerInstances`]: container instances launched on this machine, each a
//! Docker daemon of its own (its own data root, socket and bridge), for a capacity
//! provider to grow and shrink a cluster with real engines.
//!
//! Each instance `i-GROUP-N` lives in `ROOT/i-GROUP-N/` (its data root, exec root,
//! socket, pid file and log) with its bridge `ecsiN` on `172.29.N.0/24` (no iptables:
//! ports are published by Docker's userland proxy); the images it needs are copied in
//! from a source engine (no registry needs to be reachable). The daemons outlive the
//! process that launched them: after a restart, [`instances`](InstanceProvider::instances)
//! finds them again. Terminating one stops its daemon (and so its containers) and
//! removes its bridge and its folder.
//!
//! Needs root, `dockerd`, `docker` and `ip` (iproute2).

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use ecs_core::capacity::{InstanceProvider, LaunchedInstance};
use ecs_core::cluster::Resources;
use ecs_core::runtime::ContainerRuntime;
use ecs_core::{Error, InstanceId};
use tokio::process::Command;

use crate::DockerRuntime;

/// How long a new daemon may take to answer.
const START_TIMEOUT: Duration = Duration::from_secs(60);
/// How long a daemon may take to stop its containers and exit.
const STOP_TIMEOUT: Duration = Duration::from_secs(60);
/// Bridges `ecsi0` to `ecsi249`, one per instance on the machine.
const BRIDGES: u32 = 250;

/// Docker daemons on this machine as container instances. Clones share everything.
///
/// ```no_run
/// use std::sync::Arc;
/// use ecs_backend_docker::LocalDockerInstances;
/// use ecs_core::capacity::InstanceGroup;
/// use ecs_core::cluster::Resources;
///
/// # async fn demo(ecs: ecs_core::Ecs) -> Result<(), ecs_core::Error> {
/// let local = LocalDockerInstances::new("local", "/var/lib/ecs-instances", Resources::new(1024, 1024))
///     .with_images("unix:///var/run/docker.sock", ["busybox:latest"]);
/// ecs.register_instance_group("local", InstanceGroup::new(Arc::new(local), 0, 4)).await?;
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct LocalDockerInstances {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    group: String,
    root: PathBuf,
    size: Resources,
    /// The engine to copy images from, and which.
    source: Option<String>,
    images: Vec<String>,
    /// One launch or termination at a time: bridges and indexes are chosen by looking.
    lock: tokio::sync::Mutex<()>,
}

impl LocalDockerInstances {
    /// Instances `i-GROUP-N` under `root` (kept short: a socket's path has at most 107
    /// bytes), each offering `size`.
    pub fn new(group: &str, root: impl Into<PathBuf>, size: Resources) -> Self {
        Self {
            inner: Arc::new(Inner {
                group: group.to_owned(),
                root: root.into(),
                size,
                source: None,
                images: Vec::new(),
                lock: tokio::sync::Mutex::new(()),
            }),
        }
    }

    /// Copies `images` from the engine at `source` into every new instance.
    #[must_use]
    pub fn with_images<I: Into<String>>(
        self,
        source: &str,
        images: impl IntoIterator<Item = I>,
    ) -> Self {
        let inner = Inner {
            group: self.inner.group.clone(),
            root: self.inner.root.clone(),
            size: self.inner.size,
            source: Some(source.to_owned()),
            images: images.into_iter().map(Into::into).collect(),
            lock: tokio::sync::Mutex::new(()),
        };
        Self {
            inner: Arc::new(inner),
        }
    }

    fn failed(&self, what: impl std::fmt::Display) -> Error {
        Error::InstanceProvider {
            group: self.inner.group.clone(),
            reason: what.to_string(),
        }
    }

    fn dir(&self, id: &str) -> PathBuf {
        self.inner.root.join(id)
    }

    fn runtime(&self, dir: &Path) -> Result<DockerRuntime, Error> {
        DockerRuntime::connect(&format!("unix://{}", dir.join("docker.sock").display()))
            .map(|r| r.with_resources(self.inner.size).publishing_on("127.0.0.1"))
            .map_err(|e| self.failed(e))
    }

    /// Starts the instance of bridge `n`; on any failure, removes what it made.
    async fn launch_one(&self, n: u32) -> Result<LaunchedInstance, Error> {
        let id = format!("i-{}-{n}", self.inner.group);
        match self.start(n, &id).await {
            Ok(instance) => Ok(instance),
            Err(e) => {
                if let Err(cleanup) = self.remove(&id).await {
                    tracing::warn!(instance = %id, error = %cleanup, "cleaning up a failed launch failed");
                }
                Err(e)
            }
        }
    }

    /// Creates the first free bridge `ecsiN` (creating it is what reserves it).
    async fn take_bridge(&self) -> Result<u32, Error> {
        for n in 0..BRIDGES {
            if Path::new(&format!("/sys/class/net/ecsi{n}")).exists() {
                continue;
            }
            let name = format!("ecsi{n}");
            match run(Command::new("ip").args(["link", "add", &name, "type", "bridge"])).await {
                Ok(()) => {}
                Err(e) if e.contains("File exists") => continue, // Taken meanwhile.
                Err(e) => return Err(self.failed(e)),
            }
            let address = format!("172.29.{n}.1/24");
            let up = async {
                run(Command::new("ip").args(["addr", "add", &address, "dev", &name])).await?;
                run(Command::new("ip").args(["link", "set", &name, "up"])).await
            };
            if let Err(e) = up.await {
                let _ = run(Command::new("ip").args(["link", "del", &name])).await;
                return Err(self.failed(e));
            }
            return Ok(n);
        }
        Err(self.failed(format!("no free bridge among ecsi0 to ecsi{}", BRIDGES - 1)))
    }

    async fn start(&self, n: u32, id: &str) -> Result<LaunchedInstance, Error> {
        let dir = self.dir(id);
        tokio::fs::create_dir_all(dir.join("exec"))
            .await
            .map_err(|e| self.failed(format!("{}: {e}", dir.display())))?;
        tokio::fs::write(dir.join("bridge"), n.to_string())
            .await
            .map_err(|e| self.failed(e))?;
        let log = std::fs::File::create(dir.join("dockerd.log")).map_err(|e| self.failed(e))?;
        let err = log.try_clone().map_err(|e| self.failed(e))?;
        let mut command = Command::new("dockerd");
        command
            .arg("--host")
            .arg(format!("unix://{}", dir.join("docker.sock").display()))
            .arg("--data-root")
            .arg(dir.join("data"))
            .arg("--exec-root")
            .arg(dir.join("exec"))
            .arg("--pidfile")
            .arg(dir.join("docker.pid"))
            .args(["--bridge", &format!("ecsi{n}"), "--iptables=false"])
            .stdin(std::process::Stdio::null())
            .stdout(log)
            .stderr(err)
            // Its own process group: it outlives a Ctrl-C to the launching program.
            .process_group(0);
        let child = command
            .spawn()
            .map_err(|e| self.failed(format!("dockerd: {e}")))?;
        // Its pid at once (dockerd writes its pid file only once it is up): a launch
        // that fails before then still stops it.
        if let Some(pid) = child.id() {
            tokio::fs::write(dir.join("dockerd.pid"), pid.to_string())
                .await
                .map_err(|e| self.failed(e))?;
        }
        // Not waited for here: it outlives this program, and tokio reaps it if it exits
        // while this program runs.
        drop(child);
        let deadline = tokio::time::Instant::now() + START_TIMEOUT;
        let runtime = loop {
            // Its socket appears once it listens.
            if let Ok(runtime) = self.runtime(&dir)
                && runtime.describe_host().await.is_ok()
            {
                break runtime;
            }
            if tokio::time::Instant::now() >= deadline {
                return Err(self.failed(format!(
                    "dockerd of {id} did not answer within {START_TIMEOUT:?}; see {}",
                    dir.join("dockerd.log").display()
                )));
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        };
        self.copy_images(&dir).await?;
        Ok(LaunchedInstance {
            id: InstanceId::new(id)?,
            runtime: Arc::new(runtime),
            attributes: Default::default(),
        })
    }

    async fn copy_images(&self, dir: &Path) -> Result<(), Error> {
        let Some(source) = &self.inner.source else {
            return Ok(());
        };
        if self.inner.images.is_empty() {
            return Ok(());
        }
        let archive = dir.join("images.tar");
        run(Command::new("docker")
            .args(["-H", source, "save", "-o"])
            .arg(&archive)
            .args(&self.inner.images))
        .await
        .map_err(|e| self.failed(format!("saving the images from {source}: {e}")))?;
        let target = format!("unix://{}", dir.join("docker.sock").display());
        let loaded = run(Command::new("docker")
            .args(["-H", &target, "load", "-i"])
            .arg(&archive))
        .await;
        let _ = tokio::fs::remove_file(&archive).await;
        loaded.map_err(|e| self.failed(format!("loading the images: {e}")))
    }

    /// Stops an instance's daemon (its containers with it) and removes its bridge and
    /// folder. Whatever is gone already is fine.
    async fn remove(&self, id: &str) -> Result<(), Error> {
        let dir = self.dir(id);
        let pid = match tokio::fs::read_to_string(dir.join("docker.pid")).await {
            Ok(pid) => Ok(pid),
            Err(_) => tokio::fs::read_to_string(dir.join("dockerd.pid")).await,
        };
        if let Ok(pid) = pid {
            let pid = pid.trim().to_owned();
            // Only this instance's daemon: a pid file left by one that died (the machine
            // restarted) may name any process now.
            let socket = dir.join("docker.sock").to_string_lossy().into_owned();
            let ours = tokio::fs::read(format!("/proc/{pid}/cmdline"))
                .await
                .is_ok_and(|cmdline| {
                    let cmdline = String::from_utf8_lossy(&cmdline);
                    cmdline.contains("dockerd") && cmdline.contains(&socket)
                });
            if ours && pid.chars().all(|c| c.is_ascii_digit()) && !pid.is_empty() {
                let _ = run(Command::new("kill").args(["-TERM", &pid])).await;
                let deadline = tokio::time::Instant::now() + STOP_TIMEOUT;
                while Path::new(&format!("/proc/{pid}")).exists() {
                    if tokio::time::Instant::now() >= deadline {
                        let _ = run(Command::new("kill").args(["-KILL", &pid])).await;
                        break;
                    }
                    tokio::time::sleep(Duration::from_millis(200)).await;
                }
            }
        }
        // Docker leaves its data root mounted on itself (and, after a crash, its
        // containers' layers): unmounted, deepest first, before the folder goes.
        if let Ok(mounts) = tokio::fs::read_to_string("/proc/mounts").await {
            let prefix = format!("{}/", dir.display());
            let mut under: Vec<&str> = mounts
                .lines()
                .filter_map(|l| l.split_whitespace().nth(1))
                .filter(|m| m.starts_with(&prefix))
                .collect();
            under.sort_by_key(|m| std::cmp::Reverse(m.len()));
            for m in under {
                let _ = run(Command::new("umount").args(["-l", m])).await;
            }
        }
        if let Ok(n) = tokio::fs::read_to_string(dir.join("bridge")).await
            && let Ok(n) = n.trim().parse::<u32>()
        {
            let _ = run(Command::new("ip").args(["link", "del", &format!("ecsi{n}")])).await;
        }
        match tokio::fs::remove_dir_all(&dir).await {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(self.failed(format!("removing {}: {e}", dir.display()))),
        }
    }

    /// The ids of the instances whose folders exist.
    async fn ids(&self) -> Result<Vec<String>, Error> {
        let prefix = format!("i-{}-", self.inner.group);
        let mut out = Vec::new();
        let mut entries = match tokio::fs::read_dir(&self.inner.root).await {
            Ok(e) => e,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(out),
            Err(e) => return Err(self.failed(format!("{}: {e}", self.inner.root.display()))),
        };
        while let Some(entry) = entries.next_entry().await.map_err(|e| self.failed(e))? {
            let name = entry.file_name().to_string_lossy().into_owned();
            if name.starts_with(&prefix) {
                out.push(name);
            }
        }
        out.sort();
        Ok(out)
    }
}

#[async_trait]
impl InstanceProvider for LocalDockerInstances {
    fn instance_resources(&self) -> Resources {
        self.inner.size
    }

    async fn launch(&self, count: u32) -> Result<Vec<LaunchedInstance>, Error> {
        let _one_at_a_time = self.inner.lock.lock().await;
        // Bridges one after the other (taking one is what reserves it), then the
        // daemons together: a step of N instances takes about as long as one.
        let mut bridges = Vec::new();
        let mut last = None;
        for _ in 0..count {
            match self.take_bridge().await {
                Ok(n) => bridges.push(n),
                Err(e) => {
                    last = Some(e);
                    break;
                }
            }
        }
        let started =
            futures::future::join_all(bridges.into_iter().map(|n| self.launch_one(n))).await;
        let mut out = Vec::new();
        for result in started {
            match result {
                Ok(i) => out.push(i),
                Err(e) => {
                    tracing::warn!(group = %self.inner.group, error = %e, "launching an instance failed");
                    last = Some(e);
                }
            }
        }
        match (out.is_empty(), last) {
            (true, Some(e)) => Err(e),
            _ => Ok(out),
        }
    }

    async fn terminate(&self, instance: &InstanceId) -> Result<(), Error> {
        let _one_at_a_time = self.inner.lock.lock().await;
        if !instance
            .as_str()
            .starts_with(&format!("i-{}-", self.inner.group))
        {
            return Ok(());
        }
        self.remove(instance.as_str()).await
    }

    async fn instances(&self) -> Result<Vec<LaunchedInstance>, Error> {
        let _one_at_a_time = self.inner.lock.lock().await;
        let mut out = Vec::new();
        for id in self.ids().await? {
            let dir = self.dir(&id);
            // A daemon slow to answer is given time before it is taken for dead.
            let mut answered = None;
            for _ in 0..10 {
                if let Ok(runtime) = self.runtime(&dir)
                    && runtime.describe_host().await.is_ok()
                {
                    answered = Some(runtime);
                    break;
                }
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
            if let Some(runtime) = answered {
                out.push(LaunchedInstance {
                    id: InstanceId::new(id)?,
                    runtime: Arc::new(runtime),
                    attributes: Default::default(),
                });
            } else {
                // Its daemon died (the machine restarted ...): nothing of it is usable.
                tracing::warn!(instance = %id, "an instance's engine does not answer; removing it");
                self.remove(&id).await?;
            }
        }
        Ok(out)
    }
}

/// Runs a command to completion; its standard error on failure.
async fn run(command: &mut Command) -> Result<(), String> {
    let out = command
        .stdin(std::process::Stdio::null())
        .output()
        .await
        .map_err(|e| format!("{command:?}: {e}"))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(format!(
            "{command:?}: {}: {}",
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        ))
    }
}
