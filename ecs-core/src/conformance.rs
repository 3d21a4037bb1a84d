//! The conformance suite every container runtime must pass: plain async functions that
//! take a [`Fixture`] and panic with a message on the first broken promise, as
//! `object_store`'s integration checks do. The in-memory runtime runs them in
//! `ecs-core`'s tests; the Docker and Podman backends run the same functions against
//! real engines.
//!
//! Checks that need an optional capability (health checks, stats, execute command,
//! Service Connect) run only when the runtime declares it, and say so.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use futures::StreamExt;
use tokio::io::AsyncWriteExt;
use tokio::time::{Instant, timeout};

use crate::cluster::Resources;
use crate::control::{Ecs, EcsConfig, RegisterContainerInstance, RunTask};
use crate::runtime::{
    ContainerEvent, ContainerEventKind, ContainerId, ContainerInfo, ContainerRuntime,
    ContainerSpec, ContainerState, ExecSpec, HealthCheckSpec, HealthStatus, LogLine, LogOptions,
    NetworkAttachment, PortSpec, PullPolicy, RuntimeError, StdStream, labels,
};
use crate::task::{StopCode, TaskStatus};
use crate::task_definition::{TaskDefinition, TransportProtocol};

/// What the suite runs against.
#[derive(Clone)]
pub struct Fixture {
    /// The runtime under test.
    pub runtime: Arc<dyn ContainerRuntime>,
    /// A present image with `sh`, `sleep`, `true` and `false` (busybox).
    pub image: String,
    /// An image that is absent and cannot be pulled.
    pub missing_image: String,
    /// A prefix for container names, unique to this run.
    pub prefix: String,
}

static COUNTER: AtomicU64 = AtomicU64::new(0);

/// How long any single wait may take before the check fails.
const PATIENCE: Duration = Duration::from_secs(60);

impl Fixture {
    fn name(&self, what: &str) -> String {
        format!(
            "{}-{what}-{}",
            self.prefix,
            COUNTER.fetch_add(1, Ordering::Relaxed)
        )
    }

    fn spec(&self, what: &str, script: &str) -> ContainerSpec {
        let mut spec = ContainerSpec::new(self.name(what), self.image.clone());
        spec.command = Some(vec!["sh".into(), "-c".into(), script.into()]);
        spec.labels
            .insert("ecs.conformance".into(), self.prefix.clone());
        spec
    }

    async fn cleanup(&self, id: &ContainerId) {
        // Best effort: the check's own assertions have run.
        let _ = self.runtime.remove_container(id).await;
    }
}

async fn wait_event(
    events: &mut futures::stream::BoxStream<'static, ContainerEvent>,
    id: &ContainerId,
    want: impl Fn(&ContainerEventKind) -> bool,
) -> ContainerEventKind {
    timeout(PATIENCE, async {
        while let Some(e) = events.next().await {
            if e.id == *id && want(&e.kind) {
                return e.kind;
            }
        }
        panic!("the event stream ended while waiting for an event of {id}");
    })
    .await
    .unwrap_or_else(|_| panic!("no matching event of {id} within {PATIENCE:?}"))
}

async fn wait_state(
    f: &Fixture,
    id: &ContainerId,
    want: impl Fn(&ContainerState) -> bool,
) -> ContainerState {
    timeout(PATIENCE, async {
        loop {
            let info = f.runtime.inspect_container(id).await.expect("inspect");
            if want(&info.state) {
                return info.state;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    })
    .await
    .unwrap_or_else(|_| panic!("{id} did not reach the expected state within {PATIENCE:?}"))
}

/// The host describes its resources and names its engine.
pub async fn host_is_described(f: &Fixture) {
    let host = f.runtime.describe_host().await.expect("describe_host");
    assert!(
        host.resources.cpu > 0 && host.resources.memory > 0,
        "no resources: {host:?}"
    );
    assert!(!host.engine_version.is_empty());
}

/// For a backend of an engine on this machine (not part of [`run_all`]: the in-memory
/// runtime and remote engines describe other hosts): the host it describes is this
/// machine, its CPUs as `nproc` counts them (those the engine may use) x 1024 units,
/// and its memory (/proc/meminfo's MemTotal) in MiB.
pub async fn host_is_this_machine(f: &Fixture) {
    let host = f.runtime.describe_host().await.expect("describe_host");
    let nproc = std::process::Command::new("nproc").output().expect("nproc");
    let cpus: u32 = String::from_utf8_lossy(&nproc.stdout)
        .trim()
        .parse()
        .expect("nproc's count");
    let meminfo = std::fs::read_to_string("/proc/meminfo").expect("/proc/meminfo");
    let kib: u64 = meminfo
        .lines()
        .find_map(|l| l.strip_prefix("MemTotal:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("MemTotal");
    assert_eq!(host.resources.cpu, cpus * 1024, "{host:?}");
    assert_eq!(u64::from(host.resources.memory), kib >> 10, "{host:?}");
}

/// A missing image that cannot be pulled is a clear `ImageUnavailable` error; a present
/// one is fine under every policy.
pub async fn images_present_and_missing(f: &Fixture) {
    for policy in [PullPolicy::IfNotPresent, PullPolicy::Never] {
        f.runtime
            .ensure_image(&f.image, policy)
            .await
            .unwrap_or_else(|e| panic!("{policy:?}: {e}"));
    }
    match f
        .runtime
        .ensure_image(&f.missing_image, PullPolicy::IfNotPresent)
        .await
    {
        Err(RuntimeError::ImageUnavailable { image, .. }) => assert_eq!(image, f.missing_image),
        other => panic!(
            "expected ImageUnavailable for {}, got {other:?}",
            f.missing_image
        ),
    }
}

/// Create, start, stop, remove: the states in between are what inspect reports.
pub async fn create_start_stop_remove(f: &Fixture) {
    let mut spec = f.spec(
        "lifecycle",
        "trap 'exit 0' TERM; touch /tmp/ready; while true; do sleep 1; done",
    );
    spec.labels
        .insert("ecs.conformance.check".into(), "lifecycle".into());
    // Healthy once the shell has set its trap: a SIGTERM sent before that would meet
    // a PID 1 without a handler, which ignores it.
    spec.health_check = Some(HealthCheckSpec {
        command: vec!["CMD-SHELL".into(), "test -f /tmp/ready".into()],
        interval: Duration::from_secs(1),
        timeout: Duration::from_secs(1),
        retries: 1,
        start_period: Duration::ZERO,
    });
    let id = f.runtime.create_container(&spec).await.expect("create");
    let info = f.runtime.inspect_container(&id).await.expect("inspect");
    assert_eq!(info.state, ContainerState::Created);
    assert_eq!(info.name.trim_start_matches('/'), spec.name);
    assert_eq!(
        info.labels.get("ecs.conformance.check").map(String::as_str),
        Some("lifecycle")
    );
    f.runtime.start_container(&id).await.expect("start");
    wait_state(f, &id, |s| *s == ContainerState::Running).await;
    timeout(PATIENCE, async {
        while f
            .runtime
            .inspect_container(&id)
            .await
            .expect("inspect")
            .health
            != HealthStatus::Healthy
        {
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    })
    .await
    .expect("the container reports its trap set (healthy)");
    f.runtime
        .stop_container(&id, Duration::from_secs(10))
        .await
        .expect("stop");
    let state = f
        .runtime
        .inspect_container(&id)
        .await
        .expect("inspect")
        .state;
    assert_eq!(
        state,
        ContainerState::Exited { exit_code: 0 },
        "trapped SIGTERM exits 0"
    );
    // Stopping an exited container is not an error.
    f.runtime
        .stop_container(&id, Duration::from_secs(1))
        .await
        .expect("stop again");
    f.runtime.remove_container(&id).await.expect("remove");
    assert!(matches!(
        f.runtime.inspect_container(&id).await,
        Err(RuntimeError::NotFound(_))
    ));
}

/// A container's exit code is reported by its die event and by inspect.
pub async fn exit_codes_are_reported(f: &Fixture) {
    let mut events = f.runtime.events().await.expect("events");
    let id = f
        .runtime
        .create_container(&f.spec("exit", "exit 3"))
        .await
        .expect("create");
    f.runtime.start_container(&id).await.expect("start");
    let kind = wait_event(&mut events, &id, |k| {
        matches!(k, ContainerEventKind::Die { .. })
    })
    .await;
    assert_eq!(kind, ContainerEventKind::Die { exit_code: 3 });
    let state = wait_state(f, &id, |s| matches!(s, ContainerState::Exited { .. })).await;
    assert_eq!(state, ContainerState::Exited { exit_code: 3 });
    f.cleanup(&id).await;
}

/// Start and die events arrive for the containers the runtime runs.
pub async fn events_report_start_and_die(f: &Fixture) {
    let mut events = f.runtime.events().await.expect("events");
    let id = f
        .runtime
        .create_container(&f.spec("events", "sleep 1"))
        .await
        .expect("create");
    f.runtime.start_container(&id).await.expect("start");
    wait_event(&mut events, &id, |k| *k == ContainerEventKind::Start).await;
    let kind = wait_event(&mut events, &id, |k| {
        matches!(k, ContainerEventKind::Die { .. })
    })
    .await;
    assert_eq!(kind, ContainerEventKind::Die { exit_code: 0 });
    f.cleanup(&id).await;
}

/// Stop sends SIGTERM, then SIGKILL after the timeout: a container that ignores SIGTERM
/// takes the timeout and exits 137.
pub async fn stop_timeout_then_sigkill(f: &Fixture) {
    let id = f
        .runtime
        .create_container(&f.spec("stubborn", "trap '' TERM; while true; do sleep 1; done"))
        .await
        .expect("create");
    f.runtime.start_container(&id).await.expect("start");
    wait_state(f, &id, |s| *s == ContainerState::Running).await;
    let start = Instant::now();
    f.runtime
        .stop_container(&id, Duration::from_secs(2))
        .await
        .expect("stop");
    let took = start.elapsed();
    assert!(
        took >= Duration::from_millis(1900),
        "stopped after {took:?}, before its 2 s timeout"
    );
    assert!(took < Duration::from_secs(20), "stop took {took:?}");
    let state = f
        .runtime
        .inspect_container(&id)
        .await
        .expect("inspect")
        .state;
    assert_eq!(state, ContainerState::Exited { exit_code: 137 });
    f.cleanup(&id).await;
}

/// Containers are found by their labels.
pub async fn list_by_labels(f: &Fixture) {
    let mut a = f.spec("list-a", "sleep 300");
    a.labels
        .insert("ecs.conformance.group".into(), f.name("group"));
    let group = a.labels["ecs.conformance.group"].clone();
    let b = f.spec("list-b", "sleep 300");
    let ida = f.runtime.create_container(&a).await.expect("create a");
    let idb = f.runtime.create_container(&b).await.expect("create b");
    let found = f
        .runtime
        .list_containers(&BTreeMap::from([(
            "ecs.conformance.group".to_owned(),
            group,
        )]))
        .await
        .expect("list");
    assert_eq!(
        found.iter().map(|c| &c.id).collect::<Vec<_>>(),
        [&ida],
        "only the labelled one"
    );
    f.cleanup(&ida).await;
    f.cleanup(&idb).await;
}

/// Calls on an unknown container say not found.
pub async fn unknown_containers_are_not_found(f: &Fixture) {
    let ghost =
        ContainerId("0000000000000000000000000000000000000000000000000000000000000000".into());
    assert!(matches!(
        f.runtime.inspect_container(&ghost).await,
        Err(RuntimeError::NotFound(_))
    ));
    assert!(matches!(
        f.runtime.start_container(&ghost).await,
        Err(RuntimeError::NotFound(_))
    ));
    assert!(matches!(
        f.runtime.remove_container(&ghost).await,
        Err(RuntimeError::NotFound(_))
    ));
}

/// Health checks run: a passing one turns healthy, a failing one unhealthy.
pub async fn health_checks(f: &Fixture) {
    if !f.runtime.capabilities().health_checks {
        eprintln!(
            "{}: no health checks declared; check skipped by capability",
            f.runtime.name()
        );
        return;
    }
    for (check, expected) in [
        ("true", HealthStatus::Healthy),
        ("false", HealthStatus::Unhealthy),
    ] {
        let mut spec = f.spec("health", "trap 'exit 0' TERM; while true; do sleep 1; done");
        spec.health_check = Some(HealthCheckSpec {
            command: vec!["CMD-SHELL".into(), check.into()],
            interval: Duration::from_secs(1),
            timeout: Duration::from_secs(1),
            retries: 1,
            start_period: Duration::ZERO,
        });
        let mut events = f.runtime.events().await.expect("events");
        let id = f.runtime.create_container(&spec).await.expect("create");
        f.runtime.start_container(&id).await.expect("start");
        let kind = wait_event(
            &mut events,
            &id,
            |k| matches!(k, ContainerEventKind::Health(h) if *h != HealthStatus::Unknown),
        )
        .await;
        assert_eq!(
            kind,
            ContainerEventKind::Health(expected),
            "check {check:?}"
        );
        assert_eq!(
            f.runtime
                .inspect_container(&id)
                .await
                .expect("inspect")
                .health,
            expected
        );
        f.cleanup(&id).await;
    }
}

/// What a list and an inspect must agree on: all but `oom_killed` (a list may not know
/// it), and the name without Docker's leading '/'.
fn described(info: &ContainerInfo) -> impl PartialEq + std::fmt::Debug + use<> {
    (
        info.id.clone(),
        info.name.trim_start_matches('/').to_owned(),
        info.labels.clone(),
        info.state,
        info.health,
        info.ports.clone(),
    )
}

/// One list describes each container as inspect does (state, exit code, health, ports,
/// name, labels): a created container, a running one whose health check passes, a
/// running one whose check fails and one that exited with a non-zero code. (Health
/// checks only where the runtime declares them, published ports only where it declares
/// bridge networking.)
pub async fn list_agrees_with_inspect(f: &Fixture) {
    let caps = f.runtime.capabilities();
    let group = f.name("agree");
    let spec = |what: &str, script: &str, check: Option<&str>| {
        let mut spec = f.spec(what, script);
        spec.labels
            .insert("ecs.conformance.group".into(), group.clone());
        if caps.bridge_network {
            spec.ports.push(PortSpec {
                container_port: 8080,
                host_port: 0,
                protocol: TransportProtocol::Tcp,
            });
        }
        if let Some(check) = check.filter(|_| caps.health_checks) {
            spec.health_check = Some(HealthCheckSpec {
                command: vec!["CMD-SHELL".into(), check.into()],
                interval: Duration::from_secs(1),
                timeout: Duration::from_secs(1),
                retries: 1,
                start_period: Duration::ZERO,
            });
        }
        spec
    };
    let forever = "trap 'exit 0' TERM; while true; do sleep 1; done";
    let specs = [
        spec("agree-created", forever, None),
        spec("agree-healthy", forever, Some("true")),
        spec("agree-unhealthy", forever, Some("false")),
        spec("agree-exited", "exit 3", None),
    ];
    let mut ids = Vec::new();
    for (i, spec) in specs.iter().enumerate() {
        let id = f.runtime.create_container(spec).await.expect("create");
        if i > 0 {
            f.runtime.start_container(&id).await.expect("start");
        }
        ids.push(id);
    }
    let [created, healthy, unhealthy, exited] = &ids[..] else {
        unreachable!("four containers");
    };
    // Each settled where it is going (health checks take an interval or two).
    let settled = |info: &ContainerInfo| -> bool {
        let health = |want| !caps.health_checks || info.health == want;
        let published = !caps.bridge_network || !info.ports.is_empty();
        if info.id == *created {
            info.state == ContainerState::Created
        } else if info.id == *healthy {
            info.state == ContainerState::Running && health(HealthStatus::Healthy) && published
        } else if info.id == *unhealthy {
            info.state == ContainerState::Running && health(HealthStatus::Unhealthy) && published
        } else {
            info.id == *exited && info.state == ContainerState::Exited { exit_code: 3 }
        }
    };
    let deadline = Instant::now() + PATIENCE;
    loop {
        let mut before = Vec::new();
        for id in &ids {
            before.push(f.runtime.inspect_container(id).await.expect("inspect"));
        }
        let listed = f
            .runtime
            .list_containers(&BTreeMap::from([(
                "ecs.conformance.group".to_owned(),
                group.clone(),
            )]))
            .await
            .expect("list");
        let mut after = Vec::new();
        for id in &ids {
            after.push(f.runtime.inspect_container(id).await.expect("inspect"));
        }
        // Only a list taken while nothing changed can be held to inspect's word.
        let steady = before.iter().map(described).eq(after.iter().map(described));
        let wrong = if steady && before.iter().all(settled) {
            let mut wrong = Vec::new();
            for inspected in &before {
                match listed.iter().find(|l| l.id == inspected.id) {
                    Some(l) if described(l) == described(inspected) => {}
                    Some(l) => wrong.push(format!(
                        "{}: listed {:?}, inspected {:?}",
                        inspected.name,
                        described(l),
                        described(inspected)
                    )),
                    None => wrong.push(format!("{}: not listed", inspected.name)),
                }
            }
            if listed.len() != ids.len() {
                wrong.push(format!(
                    "listed {} containers, not {}",
                    listed.len(),
                    ids.len()
                ));
            }
            if wrong.is_empty() {
                break;
            }
            wrong.join("\n")
        } else {
            format!(
                "not settled: {:?}",
                before.iter().map(described).collect::<Vec<_>>()
            )
        };
        assert!(
            Instant::now() < deadline,
            "list and inspect did not agree within {PATIENCE:?}:\n{wrong}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    for id in &ids {
        f.cleanup(id).await;
    }
}

/// A running container reports memory in use and CPU time.
pub async fn stats(f: &Fixture) {
    if !f.runtime.capabilities().stats {
        eprintln!(
            "{}: no stats declared; check skipped by capability",
            f.runtime.name()
        );
        return;
    }
    let id = f
        .runtime
        .create_container(&f.spec("stats", "while true; do :; done"))
        .await
        .expect("create");
    f.runtime.start_container(&id).await.expect("start");
    wait_state(f, &id, |s| *s == ContainerState::Running).await;
    let first = f.runtime.container_stats(&id).await.expect("stats");
    tokio::time::sleep(Duration::from_secs(1)).await;
    let second = f.runtime.container_stats(&id).await.expect("stats");
    assert!(second.memory_bytes > 0, "{second:?}");
    assert!(
        second.cpu_total_ns > first.cpu_total_ns,
        "a busy loop uses CPU: {first:?} then {second:?}"
    );
    assert!(second.sampled_at_ns > first.sampled_at_ns);
    f.runtime
        .stop_container(&id, Duration::from_secs(1))
        .await
        .expect("stop");
    f.cleanup(&id).await;
}

/// End to end through the control plane: dependsOn order (START, SUCCESS, COMPLETE), a
/// non-essential exit, an essential exit stopping the task with ECS's words, the labels
/// on the containers, and nothing left behind.
pub async fn task_lifecycle(f: &Fixture) {
    let ecs = Ecs::new(EcsConfig::default());
    let cluster = format!("{}-cluster", f.prefix)
        .parse()
        .expect("cluster name");
    ecs.create_cluster(Clone::clone(&cluster)).expect("cluster");
    ecs.register_container_instance(RegisterContainerInstance::new(
        cluster.clone(),
        "i-conformance".parse().expect("id"),
        f.runtime.clone(),
    ))
    .await
    .expect("register instance");
    let td = format!(
        r#"{{"family": "{prefix}-ordered", "volumes": [{{"name": "scratch"}}], "containerDefinitions": [
            {{"name": "setup", "image": "{image}", "memory": 32, "essential": false,
              "command": ["sh", "-c", "exit 0"]}},
            {{"name": "flaky", "image": "{image}", "memory": 32, "essential": false,
              "command": ["sh", "-c", "exit 5"]}},
            {{"name": "main", "image": "{image}", "memory": 32,
              "command": ["sh", "-c", "sleep 2; exit 42"],
              "mountPoints": [{{"sourceVolume": "scratch", "containerPath": "/scratch"}}],
              "dependsOn": [{{"containerName": "setup", "condition": "SUCCESS"}},
                            {{"containerName": "flaky", "condition": "COMPLETE"}}]}}]}}"#,
        prefix = f.prefix,
        image = f.image
    );
    let td = TaskDefinition::from_json(&td)
        .expect("task definition")
        .definition;
    let family = td.family().to_owned();
    ecs.register_task_definition(td).expect("register");
    let out = ecs
        .run_task(RunTask::new(
            Clone::clone(&cluster),
            family.parse().expect("family"),
            1,
        ))
        .expect("run");
    assert!(out.failures.is_empty(), "{:?}", out.failures);
    let id = out.tasks[0].task_id.clone();
    let running = timeout(
        PATIENCE,
        ecs.wait_for(&id, |t| {
            t.container("main").is_some_and(|c| c.runtime_id.is_some())
        }),
    )
    .await
    .expect("main created in time")
    .expect("task");
    assert_eq!(
        running.container("setup").and_then(|c| c.exit_code),
        Some(0),
        "main started after setup succeeded"
    );
    assert_eq!(
        running.container("flaky").and_then(|c| c.exit_code),
        Some(5),
        "and after flaky completed"
    );
    let main_id = running
        .container("main")
        .and_then(|c| c.runtime_id.clone())
        .expect("main id");
    let info = f
        .runtime
        .inspect_container(&main_id)
        .await
        .expect("inspect main");
    assert_eq!(
        info.labels.get(labels::CONTAINER_NAME).map(String::as_str),
        Some("main")
    );
    assert_eq!(
        info.labels.get(labels::TASK_ARN),
        Some(&running.task_arn.to_string())
    );
    let stopped = timeout(
        PATIENCE,
        ecs.wait_for(&id, |t| t.last_status == TaskStatus::Stopped),
    )
    .await
    .expect("stopped in time")
    .expect("task");
    assert_eq!(stopped.stop_code, Some(StopCode::EssentialContainerExited));
    assert_eq!(
        stopped.stopped_reason.as_deref(),
        Some("Essential container in task exited")
    );
    assert_eq!(
        stopped.container("main").and_then(|c| c.exit_code),
        Some(42)
    );
    let left = f
        .runtime
        .list_containers(&BTreeMap::from([(
            labels::CLUSTER.to_owned(),
            cluster.to_string(),
        )]))
        .await
        .expect("list");
    assert!(left.is_empty(), "containers left behind: {left:?}");
    let scratch = format!("ecs-{}-scratch", stopped.task_id);
    assert!(
        matches!(
            f.runtime.remove_volume(&scratch).await,
            Err(RuntimeError::NotFound(_))
        ),
        "the task-scoped volume {scratch} was left behind"
    );
    let free = ecs
        .describe_cluster(&cluster)
        .expect("cluster")
        .instances()
        .next()
        .expect("instance")
        .remaining_resources();
    let host = f.runtime.describe_host().await.expect("host").resources;
    assert_eq!(
        free,
        Resources::new(host.cpu, host.memory).with_gpus(host.gpus),
        "resources released"
    );
}

/// What `container_logs` answers with `options` (not following), all of it.
async fn read_logs(f: &Fixture, id: &ContainerId, options: LogOptions) -> Vec<LogLine> {
    let stream = f
        .runtime
        .container_logs(id, &options)
        .await
        .unwrap_or_else(|e| panic!("logs of {id} with {options:?}: {e}"));
    timeout(PATIENCE, stream.collect::<Vec<_>>())
        .await
        .unwrap_or_else(|_| panic!("the logs of {id} did not end within {PATIENCE:?}"))
        .into_iter()
        .collect::<Result<Vec<_>, _>>()
        .unwrap_or_else(|e| panic!("logs of {id}: {e}"))
}

/// The messages of `lines` written on `stream`, in order.
fn messages(lines: &[LogLine], stream: StdStream) -> Vec<&str> {
    lines
        .iter()
        .filter(|l| l.stream == stream)
        .map(|l| l.message.as_str())
        .collect()
}

/// Starts a container running `script` and waits until it has exited with 0 and its
/// logs hold `lines` lines (an engine copies a container's output as it comes).
async fn run_to_exit(f: &Fixture, what: &str, script: &str, lines: usize) -> ContainerId {
    let id = f
        .runtime
        .create_container(&f.spec(what, script))
        .await
        .expect("create");
    f.runtime.start_container(&id).await.expect("start");
    let state = wait_state(f, &id, |s| matches!(s, ContainerState::Exited { .. })).await;
    assert_eq!(state, ContainerState::Exited { exit_code: 0 }, "{script}");
    let deadline = Instant::now() + PATIENCE;
    loop {
        let got = read_logs(f, &id, LogOptions::default()).await;
        if got.len() >= lines {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "{script}: {lines} lines not in the logs within {PATIENCE:?}: {got:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    id
}

/// What a container writes is read back, as the options select it: standard output and
/// error told apart, each line with its time (or without when not asked for); `tail`;
/// `since` and `until`; an exited container's output still readable; `follow`
/// delivering a line written after the call, and ending when the container stops.
pub async fn container_logs(f: &Fixture) {
    // Both streams, read once the container has exited.
    let id = run_to_exit(
        f,
        "logs",
        "echo out1; echo err1 >&2; echo out2; echo err2 >&2; echo 'out 3'",
        5,
    )
    .await;
    let all = read_logs(f, &id, LogOptions::default()).await;
    assert_eq!(all.len(), 5, "{all:?}");
    assert_eq!(messages(&all, StdStream::Stdout), ["out1", "out2", "out 3"]);
    assert_eq!(messages(&all, StdStream::Stderr), ["err1", "err2"]);
    assert!(all.iter().all(|l| l.timestamp.is_some()), "{all:?}");
    let stdout = read_logs(f, &id, LogOptions::default().only(StdStream::Stdout)).await;
    assert_eq!(
        messages(&stdout, StdStream::Stdout),
        ["out1", "out2", "out 3"]
    );
    assert_eq!(stdout.len(), 3, "only standard output: {stdout:?}");
    let stderr = read_logs(f, &id, LogOptions::default().only(StdStream::Stderr)).await;
    assert_eq!(messages(&stderr, StdStream::Stderr), ["err1", "err2"]);
    assert_eq!(stderr.len(), 2, "only standard error: {stderr:?}");
    let bare = read_logs(f, &id, LogOptions::default().without_timestamps()).await;
    assert_eq!(bare.len(), 5);
    assert!(bare.iter().all(|l| l.timestamp.is_none()), "{bare:?}");
    f.cleanup(&id).await;

    // The last lines.
    let id = run_to_exit(f, "logs-tail", "echo l1; echo l2; echo l3; echo l4", 4).await;
    let tail = read_logs(f, &id, LogOptions::default().with_tail(2)).await;
    assert_eq!(messages(&tail, StdStream::Stdout), ["l3", "l4"], "{tail:?}");
    let none = read_logs(f, &id, LogOptions::default().with_tail(0)).await;
    assert!(none.is_empty(), "tail 0: {none:?}");
    f.cleanup(&id).await;

    // Since and until, around a second between two lines written two seconds apart
    // (the engine's own times: Podman's are whole seconds).
    let id = run_to_exit(f, "logs-since", "echo before; sleep 2; echo after", 2).await;
    let all = read_logs(f, &id, LogOptions::default()).await;
    let before = all
        .iter()
        .find(|l| l.message == "before")
        .and_then(|l| l.timestamp)
        .unwrap_or_else(|| panic!("no time on the line written first: {all:?}"));
    let mid = before + jiff::SignedDuration::from_secs(1);
    let since = read_logs(f, &id, LogOptions::default().with_since(mid)).await;
    assert_eq!(
        messages(&since, StdStream::Stdout),
        ["after"],
        "since {mid}"
    );
    let until = read_logs(f, &id, LogOptions::default().with_until(mid)).await;
    assert_eq!(
        messages(&until, StdStream::Stdout),
        ["before"],
        "until {mid}"
    );
    f.cleanup(&id).await;

    // Follow (after the last line so far): a line written after the call comes, and the
    // stream ends when the container stops.
    let id = f
        .runtime
        .create_container(&f.spec(
            "logs-follow",
            "echo first; sleep 3; echo second; sleep 1; exit 0",
        ))
        .await
        .expect("create");
    f.runtime.start_container(&id).await.expect("start");
    let deadline = Instant::now() + PATIENCE;
    while read_logs(f, &id, LogOptions::default()).await.is_empty() {
        assert!(
            Instant::now() < deadline,
            "no first line within {PATIENCE:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let followed = f
        .runtime
        .container_logs(&id, &LogOptions::default().following().with_tail(1))
        .await
        .expect("follow");
    let so_far = read_logs(f, &id, LogOptions::default()).await;
    assert_eq!(
        messages(&so_far, StdStream::Stdout),
        ["first"],
        "the second line was already written when following began: this check needs \
         the follow call within 3 s of the first line"
    );
    let lines = timeout(PATIENCE, followed.collect::<Vec<_>>())
        .await
        .expect("a followed stream ends when its container stops")
        .into_iter()
        .collect::<Result<Vec<_>, _>>()
        .expect("followed lines");
    assert_eq!(messages(&lines, StdStream::Stdout), ["first", "second"]);
    let state = f
        .runtime
        .inspect_container(&id)
        .await
        .expect("inspect")
        .state;
    assert_eq!(state, ContainerState::Exited { exit_code: 0 });
    f.cleanup(&id).await;

    let ghost =
        ContainerId("0000000000000000000000000000000000000000000000000000000000000000".into());
    assert!(matches!(
        f.runtime
            .container_logs(&ghost, &LogOptions::default())
            .await,
        Err(RuntimeError::NotFound(_))
    ));
}

/// Commands run in a running container: their output on both streams and their exit
/// code, zero or not; an interactive one reads what is written to its input (`cat`
/// echoes it back) and exits when the input closes; one on a terminal gets its output
/// on one stream. A container that is not running refuses them.
pub async fn execute_command(f: &Fixture) {
    if !f.runtime.capabilities().execute_command {
        eprintln!(
            "{}: no execute command declared; check skipped by capability",
            f.runtime.name()
        );
        return;
    }
    let id = f
        .runtime
        .create_container(&f.spec("exec", "trap 'exit 0' TERM; while true; do sleep 1; done"))
        .await
        .expect("create");
    f.runtime.start_container(&id).await.expect("start");
    wait_state(f, &id, |s| *s == ContainerState::Running).await;
    let sh = |script: &str| ExecSpec::new(vec!["sh".into(), "-c".into(), script.into()]);
    let run = |spec: ExecSpec| {
        let id = id.clone();
        async move {
            let session = f.runtime.exec(&id, &spec).await.expect("exec");
            timeout(PATIENCE, session.wait())
                .await
                .unwrap_or_else(|_| panic!("{spec:?} did not end within {PATIENCE:?}"))
                .unwrap_or_else(|e| panic!("{spec:?}: {e}"))
        }
    };
    let ok = run(sh("echo hello; echo oops >&2")).await;
    assert_eq!(
        (ok.stdout.as_str(), ok.stderr.as_str(), ok.exit_code),
        ("hello\n", "oops\n", 0)
    );
    let failed = run(sh("echo bye; exit 3")).await;
    assert_eq!((failed.stdout.as_str(), failed.exit_code), ("bye\n", 3));
    let plain = run(ExecSpec::new(vec!["echo".into(), "two words".into()])).await;
    assert_eq!((plain.stdout.as_str(), plain.exit_code), ("two words\n", 0));

    // Interactive: what goes in comes back, and closing the input ends it.
    let session = f
        .runtime
        .exec(&id, &ExecSpec::new(vec!["cat".into()]).interactive())
        .await
        .expect("exec cat");
    let crate::runtime::ExecSession {
        mut output,
        stdin,
        exit_code,
        ..
    } = session;
    let mut stdin = stdin.expect("an interactive session has an input");
    stdin.write_all(b"ping\n").await.expect("write");
    stdin.flush().await.expect("flush");
    let mut echoed = Vec::new();
    timeout(PATIENCE, async {
        while !echoed.ends_with(b"ping\n") {
            let chunk = output
                .next()
                .await
                .unwrap_or_else(|| panic!("cat's output ended before it echoed: {echoed:?}"))
                .expect("cat's output");
            assert_eq!(chunk.stream, StdStream::Stdout);
            echoed.extend(chunk.data);
        }
    })
    .await
    .unwrap_or_else(|_| panic!("cat did not echo its input within {PATIENCE:?}"));
    assert_eq!(echoed, b"ping\n");
    stdin.shutdown().await.expect("close the input");
    drop(stdin);
    let rest = timeout(PATIENCE, output.collect::<Vec<_>>())
        .await
        .expect("cat's output ends once its input is closed");
    assert!(rest.iter().all(|c| c.is_ok()), "{rest:?}");
    let code = timeout(PATIENCE, exit_code)
        .await
        .expect("cat exits once its input is closed")
        .expect("exit code");
    assert_eq!(code, 0);

    // On a terminal: one stream, a terminal's line ends.
    let tty = run(sh("echo on a terminal").with_tty()).await;
    assert_eq!(tty.exit_code, 0);
    assert!(tty.stderr.is_empty(), "{tty:?}");
    assert_eq!(tty.stdout.trim_end(), "on a terminal", "{tty:?}");

    f.runtime
        .stop_container(&id, Duration::from_secs(10))
        .await
        .expect("stop");
    assert!(
        matches!(
            f.runtime.exec(&id, &sh("echo no")).await,
            Err(RuntimeError::Conflict(_))
        ),
        "exec in a stopped container"
    );
    f.cleanup(&id).await;
    let ghost =
        ContainerId("0000000000000000000000000000000000000000000000000000000000000000".into());
    assert!(matches!(
        f.runtime.exec(&ghost, &sh("echo no")).await,
        Err(RuntimeError::NotFound(_))
    ));
}

/// The network [`service_connect_networks`] ensures: one name for every run, so that runs
/// leave no more than this one network behind (the trait removes no networks).
const CONFORMANCE_NETWORK: &str = "ecs-conformance-net";

/// Service Connect's networks: ensuring one, twice at once and then again, gives the same
/// network each time, its gateway within its subnet; a container attached to it with an
/// alias starts and runs; a container attached to a network that does not exist is not
/// created (not found). (That the aliases resolve is each backend's test on its engine:
/// the suite has no DNS client to ask with.)
pub async fn service_connect_networks(f: &Fixture) {
    if !f.runtime.capabilities().service_connect {
        eprintln!(
            "{}: no service connect declared; check skipped by capability",
            f.runtime.name()
        );
        return;
    }
    let labels = BTreeMap::from([("ecs.conformance.network".to_owned(), "true".to_owned())]);
    // At once first: on an engine where the network is missing, both race to create it.
    let ensure = || f.runtime.ensure_network(CONFORMANCE_NETWORK, &labels);
    let (a, b) = futures::join!(ensure(), ensure());
    let a = a.unwrap_or_else(|e| panic!("ensure_network {CONFORMANCE_NETWORK}: {e}"));
    let b = b.unwrap_or_else(|e| panic!("ensure_network {CONFORMANCE_NETWORK} at once: {e}"));
    assert_eq!(a, b, "two callers at once were given different networks");
    let again = ensure()
        .await
        .unwrap_or_else(|e| panic!("ensure_network {CONFORMANCE_NETWORK} again: {e}"));
    assert_eq!(again, a, "ensuring a present network changed it");
    assert!(
        a.contains(a.gateway),
        "the gateway is outside the subnet: {a:?}"
    );

    let mut spec = f.spec(
        "network",
        "trap 'exit 0' TERM; while true; do sleep 1; done",
    );
    spec.network = Some(NetworkAttachment {
        network: CONFORMANCE_NETWORK.to_owned(),
        aliases: vec!["conformance-alias".to_owned()],
    });
    let id = f
        .runtime
        .create_container(&spec)
        .await
        .expect("create on the network");
    f.runtime
        .start_container(&id)
        .await
        .expect("start on the network");
    wait_state(f, &id, |s| *s == ContainerState::Running).await;
    f.runtime
        .stop_container(&id, Duration::from_secs(10))
        .await
        .expect("stop");
    f.cleanup(&id).await;

    let mut spec = f.spec("no-network", "exit 0");
    let missing = format!("{}-missing-net", f.prefix);
    spec.network = Some(NetworkAttachment {
        network: missing.clone(),
        aliases: vec!["conformance-alias".to_owned()],
    });
    match f.runtime.create_container(&spec).await {
        Err(RuntimeError::NotFound(_)) => {}
        Ok(id) => {
            f.cleanup(&id).await;
            panic!("created a container on the missing network {missing}");
        }
        Err(other) => panic!("a container on the missing network {missing}: {other:?}"),
    }
}

/// Runs every check, in order. Whatever a failing check leaves behind (containers
/// labelled with this run's prefix) is removed before the failure is reported.
pub async fn run_all(f: &Fixture) {
    use futures::FutureExt;
    let outcome = std::panic::AssertUnwindSafe(checks(f)).catch_unwind().await;
    let mine = BTreeMap::from([("ecs.conformance".to_owned(), f.prefix.clone())]);
    if let Ok(left) = f.runtime.list_containers(&mine).await {
        for c in left {
            f.cleanup(&c.id).await;
        }
    }
    if let Err(panic) = outcome {
        std::panic::resume_unwind(panic);
    }
}

async fn checks(f: &Fixture) {
    host_is_described(f).await;
    images_present_and_missing(f).await;
    create_start_stop_remove(f).await;
    exit_codes_are_reported(f).await;
    events_report_start_and_die(f).await;
    stop_timeout_then_sigkill(f).await;
    list_by_labels(f).await;
    unknown_containers_are_not_found(f).await;
    health_checks(f).await;
    list_agrees_with_inspect(f).await;
    stats(f).await;
    container_logs(f).await;
    execute_command(f).await;
    service_connect_networks(f).await;
    task_lifecycle(f).await;
}
