//! GetContainerLogs and ExecuteCommand through the public `Ecs` API on real Docker and
//! real Podman (`scripts/engines` provisions both; a missing engine fails the test): a
//! task whose containers write on both streams, read back by stream, tail, since, until
//! and follow; a `json-file` logConfiguration seen on the engine's own inspect, and an
//! `awslogs` one readable with its stream's name; commands run with their output and
//! exit codes (a failing one too), an interactive `cat`, and the refusal of a task run
//! without execute command enabled.

#[path = "support/engines.rs"]
mod engines;

use std::sync::Arc;
use std::time::Duration;

use ecs::control::{
    EcsConfig, ExecuteCommand, GetContainerLogs, NOT_ENABLED, RegisterContainerInstance, RunTask,
    StopTask,
};
use ecs::runtime::{ContainerId, ContainerRuntime, ExecSession, LogLine, LogOptions, StdStream};
use ecs::task::{Task, TaskStatus};
use ecs::task_definition::LogDriver;
use ecs::{ClusterName, ContainerName, Ecs, Error, TaskDefinition, TaskId};
use futures::StreamExt;
use tokio::io::AsyncWriteExt;
use tokio::time::{Instant, timeout};

/// How long any one wait may take.
const PATIENCE: Duration = Duration::from_secs(90);

/// The engine's own client, to see what it was given.
enum Engine {
    Docker(bollard::Docker),
    Podman(podman_api::Podman),
}

impl Engine {
    /// The container's log driver and its settings as the engine reports them: Docker's
    /// `HostConfig.LogConfig` options, libpod's size limit.
    async fn log_config(&self, id: &ContainerId) -> (String, String) {
        match self {
            Engine::Docker(docker) => {
                let r = docker.inspect_container(&id.0, None).await.unwrap();
                let log = r.host_config.unwrap().log_config.unwrap();
                let mut options: Vec<_> = log
                    .config
                    .unwrap_or_default()
                    .into_iter()
                    .map(|(k, v)| format!("{k}={v}"))
                    .collect();
                options.sort();
                (log.typ.unwrap_or_default(), options.join(","))
            }
            Engine::Podman(podman) => {
                let r = podman.containers().get(&id.0).inspect().await.unwrap();
                let log = r.host_config.unwrap().log_config.unwrap();
                (
                    log.type_.unwrap_or_default(),
                    format!("size={}", log.size.unwrap_or_default()),
                )
            }
        }
    }
}

fn socket(address: &str) -> String {
    address
        .strip_prefix("unix://")
        .unwrap_or_else(|| panic!("{address}: this test needs a unix:// socket"))
        .to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn logs_and_exec_on_docker() {
    let client = bollard::Docker::connect_with_unix(
        &socket(&engines::docker_host()),
        120,
        bollard::API_DEFAULT_VERSION,
    )
    .unwrap();
    let json_file = ("json-file".to_owned(), "max-file=3,max-size=10m".to_owned());
    check(
        "docker",
        Arc::new(engines::docker()),
        Engine::Docker(client),
        json_file,
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn logs_and_exec_on_podman() {
    let client = podman_api::Podman::unix(socket(&engines::podman_socket()));
    // libpod keeps one file of at most max-size (10 MiB, shown in decimal units).
    let json_file = ("json-file".to_owned(), "size=10.49MB".to_owned());
    check(
        "podman",
        Arc::new(engines::podman()),
        Engine::Podman(client),
        json_file,
    )
    .await;
}

async fn wait(ecs: &Ecs, id: &TaskId, what: &str, f: impl Fn(&Task) -> bool) -> Task {
    timeout(PATIENCE, ecs.wait_for(id, f))
        .await
        .unwrap_or_else(|_| panic!("{what} not within {PATIENCE:?}"))
        .unwrap()
}

/// Every line `options` select, read to the end.
async fn read(
    ecs: &Ecs,
    cluster: &ClusterName,
    task: &TaskId,
    container: &str,
    options: LogOptions,
) -> Vec<LogLine> {
    let out = ecs
        .get_container_logs(
            GetContainerLogs::new(cluster.clone(), task.clone(), container.parse().unwrap())
                .with_options(options.clone()),
        )
        .await
        .unwrap_or_else(|e| panic!("logs of {container} with {options:?}: {e}"));
    timeout(PATIENCE, out.lines.collect::<Vec<_>>())
        .await
        .expect("the lines end")
        .into_iter()
        .collect::<Result<_, _>>()
        .unwrap()
}

fn messages(lines: &[LogLine], stream: StdStream) -> Vec<&str> {
    lines
        .iter()
        .filter(|l| l.stream == stream)
        .map(|l| l.message.as_str())
        .collect()
}

async fn check(
    name: &str,
    runtime: Arc<dyn ContainerRuntime>,
    engine: Engine,
    json_file: (String, String),
) {
    let ecs = Ecs::new(EcsConfig::default());
    let cluster: ClusterName = format!("logs-exec-{name}-{}", std::process::id())
        .parse()
        .unwrap();
    ecs.create_cluster(cluster.clone()).unwrap();
    ecs.register_container_instance(RegisterContainerInstance::new(
        cluster.clone(),
        format!("i-{name}").parse().unwrap(),
        runtime,
    ))
    .await
    .unwrap_or_else(|e| panic!("{name}: {e} (run scripts/engines)"));
    let image = engines::image();
    let family = format!("logs-exec-{name}-{}", std::process::id());
    let td = format!(
        r#"{{"family": "{family}", "containerDefinitions": [
            {{"name": "app", "image": "{image}", "memory": 32, "stopTimeout": 5,
              "environment": [{{"name": "WHO", "value": "{name}"}}],
              "command": ["sh", "-c", "trap 'exit 0' TERM; echo hello $WHO; echo oops >&2; sleep 2; echo later; while true; do sleep 1; done"],
              "logConfiguration": {{"logDriver": "json-file",
                  "options": {{"max-size": "10m", "max-file": "3"}}}}}},
            {{"name": "cloud", "image": "{image}", "memory": 32, "stopTimeout": 5,
              "command": ["sh", "-c", "trap 'exit 0' TERM; echo to cloudwatch; while true; do sleep 1; done"],
              "logConfiguration": {{"logDriver": "awslogs", "options": {{
                  "awslogs-group": "/ecs/{family}", "awslogs-region": "eu-west-1",
                  "awslogs-stream-prefix": "web"}}}}}}]}}"#
    );
    ecs.register_task_definition(TaskDefinition::from_json(&td).unwrap().definition)
        .unwrap();
    let out = ecs
        .run_task(
            RunTask::new(cluster.clone(), family.parse().unwrap(), 1).with_execute_command(true),
        )
        .unwrap();
    assert!(out.failures.is_empty(), "{:?}", out.failures);
    let id = out.tasks[0].task_id.clone();
    let task = wait(&ecs, &id, "RUNNING", |t| {
        matches!(t.last_status, TaskStatus::Running | TaskStatus::Stopped)
    })
    .await;
    assert_eq!(
        task.last_status,
        TaskStatus::Running,
        "{:?}",
        task.stopped_reason
    );
    let engine_id = |c: &str| task.container(c).unwrap().runtime_id.clone().unwrap();

    // The log drivers on the engine: json-file with its options; awslogs left to the
    // engine's default.
    assert_eq!(
        engine.log_config(&engine_id("app")).await,
        json_file,
        "{name}"
    );
    let (cloud_driver, _) = engine.log_config(&engine_id("cloud")).await;
    assert_ne!(cloud_driver, "awslogs", "{name}");
    assert!(!cloud_driver.is_empty(), "{name}");

    // Both streams, once the third line is there.
    let deadline = Instant::now() + PATIENCE;
    let all = loop {
        let all = read(&ecs, &cluster, &id, "app", LogOptions::default()).await;
        if all.len() >= 3 {
            break all;
        }
        assert!(Instant::now() < deadline, "{name}: {all:?}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    assert_eq!(
        messages(&all, StdStream::Stdout),
        [format!("hello {name}").as_str(), "later"],
        "{name}"
    );
    assert_eq!(messages(&all, StdStream::Stderr), ["oops"], "{name}");
    assert!(all.iter().all(|l| l.timestamp.is_some()), "{name}: {all:?}");
    let stderr = read(
        &ecs,
        &cluster,
        &id,
        "app",
        LogOptions::default().only(StdStream::Stderr),
    )
    .await;
    assert_eq!(messages(&stderr, StdStream::Stderr), ["oops"], "{name}");
    assert_eq!(stderr.len(), 1, "{name}: {stderr:?}");
    let tail = read(
        &ecs,
        &cluster,
        &id,
        "app",
        LogOptions::default().with_tail(1),
    )
    .await;
    assert_eq!(
        messages(&tail, StdStream::Stdout),
        ["later"],
        "{name}: {tail:?}"
    );
    assert_eq!(tail.len(), 1, "{name}: {tail:?}");
    // A second after the first line (Podman's times are whole seconds): the line written
    // two seconds later is after it, the first two before.
    let hello = all.iter().find(|l| l.message.starts_with("hello")).unwrap();
    let mid = hello.timestamp.unwrap() + jiff::SignedDuration::from_secs(1);
    let since = read(
        &ecs,
        &cluster,
        &id,
        "app",
        LogOptions::default().with_since(mid),
    )
    .await;
    assert_eq!(
        messages(&since, StdStream::Stdout),
        ["later"],
        "{name}: since {mid}"
    );
    assert_eq!(since.len(), 1, "{name}: {since:?}");
    let until = read(
        &ecs,
        &cluster,
        &id,
        "app",
        LogOptions::default().with_until(mid),
    )
    .await;
    assert_eq!(until.len(), 2, "{name}: until {mid}: {until:?}");

    // awslogs: readable all the same, with the stream ECS would write to.
    let cloud = ecs
        .get_container_logs(GetContainerLogs::new(
            cluster.clone(),
            id.clone(),
            "cloud".parse().unwrap(),
        ))
        .await
        .unwrap();
    assert_eq!(cloud.log_driver, Some(LogDriver::Awslogs));
    let stream = cloud.aws_log_stream.clone().unwrap();
    assert_eq!(stream.stream, format!("web/cloud/{id}"), "{name}");
    assert_eq!(stream.group, Some(format!("/ecs/{family}")), "{name}");
    let lines: Vec<_> = timeout(PATIENCE, cloud.lines.collect::<Vec<_>>())
        .await
        .unwrap();
    let lines: Vec<LogLine> = lines.into_iter().collect::<Result<_, _>>().unwrap();
    assert_eq!(
        messages(&lines, StdStream::Stdout),
        ["to cloudwatch"],
        "{name}"
    );

    // Commands: output on both streams, exit codes.
    let exec = |command: &str| {
        ExecuteCommand::new(cluster.clone(), id.clone(), command, false)
            .with_container("app".parse::<ContainerName>().unwrap())
    };
    let run = |request: ExecuteCommand| {
        let ecs = ecs.clone();
        async move {
            let out = ecs.execute_command(request).await.unwrap();
            timeout(PATIENCE, out.session.wait())
                .await
                .expect("the command ends")
                .unwrap()
        }
    };
    let ok = run(exec("sh -c 'echo out $WHO; echo err >&2'")).await;
    assert_eq!(
        (ok.stdout.as_str(), ok.stderr.as_str(), ok.exit_code),
        (format!("out {name}\n").as_str(), "err\n", 0),
        "{name}"
    );
    let failed = run(exec("sh -c 'echo before failing; exit 7'")).await;
    assert_eq!(
        (failed.stdout.as_str(), failed.exit_code),
        ("before failing\n", 7),
        "{name}"
    );
    let missing = run(exec("ls /no/such/path")).await;
    assert_ne!(missing.exit_code, 0, "{name}: {missing:?}");
    assert!(
        missing.stderr.contains("/no/such/path"),
        "{name}: {missing:?}"
    );

    // Interactive: what is written comes back; closing the input ends it.
    let session = ecs
        .execute_command(
            ExecuteCommand::new(cluster.clone(), id.clone(), "cat", true)
                .with_container("app".parse().unwrap()),
        )
        .await
        .unwrap();
    assert!(session.interactive);
    let ExecSession {
        mut output,
        stdin,
        exit_code,
        ..
    } = session.session;
    let mut stdin = stdin.expect("an interactive session's input");
    stdin.write_all(b"ping from the test\n").await.unwrap();
    stdin.flush().await.unwrap();
    let mut echoed = Vec::new();
    timeout(PATIENCE, async {
        while !echoed.ends_with(b"\n") {
            let chunk = output.next().await.expect("cat's output").unwrap();
            assert_eq!(chunk.stream, StdStream::Stdout);
            echoed.extend(chunk.data);
        }
    })
    .await
    .expect("cat echoes its input");
    assert_eq!(
        String::from_utf8_lossy(&echoed),
        "ping from the test\n",
        "{name}"
    );
    stdin.shutdown().await.unwrap();
    drop(stdin);
    timeout(PATIENCE, output.collect::<Vec<_>>())
        .await
        .expect("cat's output ends with its input");
    assert_eq!(
        timeout(PATIENCE, exit_code).await.unwrap().unwrap(),
        0,
        "{name}"
    );

    // Follow: a line the container writes after the call (a command writes it on the
    // container's own standard output), then the end when the container stops.
    let followed = ecs
        .get_container_logs(
            GetContainerLogs::new(cluster.clone(), id.clone(), "app".parse().unwrap())
                .with_options(LogOptions::default().following().with_tail(0)),
        )
        .await
        .unwrap();
    let mut lines = followed.lines;
    let wrote = run(exec("sh -c 'echo written after following > /proc/1/fd/1'")).await;
    assert_eq!(wrote.exit_code, 0, "{name}: {wrote:?}");
    let line = timeout(PATIENCE, lines.next())
        .await
        .expect("the line written after the call comes")
        .expect("a line, not the end")
        .unwrap();
    assert_eq!(
        (line.stream, line.message.as_str()),
        (StdStream::Stdout, "written after following"),
        "{name}"
    );

    // Refused on a task run without execute command enabled, in ECS's words.
    let plain = ecs
        .run_task(RunTask::new(cluster.clone(), family.parse().unwrap(), 1))
        .unwrap();
    let plain_id = plain.tasks[0].task_id.clone();
    match ecs
        .execute_command(
            ExecuteCommand::new(cluster.clone(), plain_id.clone(), "echo no", false)
                .with_container("app".parse().unwrap()),
        )
        .await
        .unwrap_err()
    {
        Error::InvalidParameter {
            operation, reason, ..
        } => assert_eq!(
            (operation, reason.as_str()),
            ("ExecuteCommand", NOT_ENABLED)
        ),
        other => panic!("{name}: {other:?}"),
    }

    for task in [&id, &plain_id] {
        ecs.stop_task(StopTask::new(cluster.clone(), task.clone()))
            .unwrap();
    }
    let rest = timeout(PATIENCE, lines.collect::<Vec<_>>())
        .await
        .expect("following ends when the container stops");
    assert!(rest.iter().all(Result::is_ok), "{name}: {rest:?}");
    for task in [&id, &plain_id] {
        let stopped = wait(&ecs, task, "STOPPED", |t| {
            t.last_status == TaskStatus::Stopped
        })
        .await;
        assert_eq!(stopped.last_status, TaskStatus::Stopped);
    }
}
