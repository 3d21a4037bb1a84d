//! GetContainerLogs on the in-memory runtime.

use std::collections::BTreeMap;
use std::error::Error as _;
use std::time::Duration;

use ecs_core::control::GetContainerLogs;
use ecs_core::runtime::memory::Operation;
use ecs_core::runtime::{
    EngineLogDriver, LogLine, LogOptions, LoggingSpec, RuntimeError, StdStream,
};
use ecs_core::task_definition::LogDriver;
use ecs_core::{ContainerName, Ecs, Error, ResourceKind, TaskId};
use futures::StreamExt;

use super::{cluster, register, run, setup, wait};

fn app() -> ContainerName {
    "app".parse().unwrap()
}

/// Every line `options` select in `container` of `task`, read to the end.
async fn read(ecs: &Ecs, task: &TaskId, container: &str, options: LogOptions) -> Vec<LogLine> {
    let out = ecs
        .get_container_logs(
            GetContainerLogs::new(cluster(), task.clone(), container.parse().unwrap())
                .with_options(options),
        )
        .await
        .unwrap();
    out.lines.map(Result::unwrap).collect().await
}

fn texts(lines: &[LogLine]) -> Vec<(StdStream, &str)> {
    lines
        .iter()
        .map(|l| (l.stream, l.message.as_str()))
        .collect()
}

const TALKER: &str = r#"{"family": "talker", "containerDefinitions": [
    {"name": "app", "image": "busybox", "memory": 32,
     "environment": [{"name": "WHO", "value": "world"}],
     "command": ["sh", "-c", "echo hello $WHO; echo oops >&2; sleep 10; echo later; sleep 3600"]}]}"#;

/// A container's output is read back by stream, each line with the time it was written
/// (the paused clock's), and selected by tail, since and until; lines its command writes
/// later come when it writes them.
#[tokio::test(start_paused = true)]
async fn a_containers_output_is_read_by_stream_tail_since_and_until() {
    let (ecs, _rt) = setup().await;
    register(&ecs, TALKER);
    let task = run(&ecs, "talker", false).await;
    let id = &task.task_id;
    let first = read(&ecs, id, "app", LogOptions::default()).await;
    assert_eq!(
        texts(&first),
        [
            (StdStream::Stdout, "hello world"),
            (StdStream::Stderr, "oops")
        ]
    );
    tokio::time::sleep(Duration::from_secs(11)).await;
    let all = read(&ecs, id, "app", LogOptions::default()).await;
    assert_eq!(all.len(), 3);
    let (t0, t_later) = (all[0].timestamp.unwrap(), all[2].timestamp.unwrap());
    assert_eq!(all[1].timestamp, Some(t0), "written at once");
    assert_eq!(
        t_later.duration_since(t0),
        jiff::SignedDuration::from_secs(10)
    );
    let stderr = read(
        &ecs,
        id,
        "app",
        LogOptions::default().only(StdStream::Stderr),
    )
    .await;
    assert_eq!(texts(&stderr), [(StdStream::Stderr, "oops")]);
    let tail = read(&ecs, id, "app", LogOptions::default().with_tail(2)).await;
    assert_eq!(
        texts(&tail),
        [(StdStream::Stderr, "oops"), (StdStream::Stdout, "later")]
    );
    // The tail counts both streams, then the stream is chosen.
    let tail_stdout = read(
        &ecs,
        id,
        "app",
        LogOptions::default().with_tail(2).only(StdStream::Stdout),
    )
    .await;
    assert_eq!(texts(&tail_stdout), [(StdStream::Stdout, "later")]);
    let since = read(&ecs, id, "app", LogOptions::default().with_since(t_later)).await;
    assert_eq!(texts(&since), [(StdStream::Stdout, "later")]);
    let until = read(&ecs, id, "app", LogOptions::default().with_until(t0)).await;
    assert_eq!(until.len(), 2, "{until:?}");
    let bare = read(&ecs, id, "app", LogOptions::default().without_timestamps()).await;
    assert!(bare.iter().all(|l| l.timestamp.is_none()), "{bare:?}");
}

/// Following delivers what the container writes after the call, as it writes it, and
/// ends when the container stops (here, its task is stopped).
#[tokio::test(start_paused = true)]
async fn following_delivers_later_lines_and_ends_when_the_container_stops() {
    let (ecs, rt) = setup().await;
    register(
        &ecs,
        r#"{"family": "quiet", "containerDefinitions": [
            {"name": "app", "image": "busybox", "memory": 32,
             "command": ["sh", "-c", "trap 'exit 0' TERM; echo up; while true; do sleep 1; done"]}]}"#,
    );
    let task = run(&ecs, "quiet", false).await;
    let out = ecs
        .get_container_logs(
            GetContainerLogs::new(cluster(), task.task_id.clone(), app())
                .with_options(LogOptions::default().following()),
        )
        .await
        .unwrap();
    let mut lines = out.lines;
    assert_eq!(next(&mut lines).await.unwrap().unwrap().message, "up");
    let container = task.container("app").unwrap().runtime_id.clone().unwrap();
    tokio::time::sleep(Duration::from_secs(5)).await;
    rt.write_output(&container, StdStream::Stderr, "written later\nand again")
        .unwrap();
    let later = next(&mut lines).await.unwrap().unwrap();
    assert_eq!(
        (later.stream, later.message.as_str()),
        (StdStream::Stderr, "written later")
    );
    assert_eq!(
        next(&mut lines).await.unwrap().unwrap().message,
        "and again"
    );
    ecs.stop_task(ecs_core::control::StopTask::new(
        cluster(),
        task.task_id.clone(),
    ))
    .unwrap();
    assert!(
        next(&mut lines).await.is_none(),
        "the stream ends when the container stops"
    );
}

/// The next line of `lines`, within a (virtual) minute.
async fn next(
    lines: &mut futures::stream::BoxStream<'static, Result<LogLine, Error>>,
) -> Option<Result<LogLine, Error>> {
    tokio::time::timeout(Duration::from_secs(60), lines.next())
        .await
        .expect("a line (or the end) within a minute")
}

/// A container that exited while its task runs on (a non-essential one) keeps its
/// output readable.
#[tokio::test(start_paused = true)]
async fn an_exited_containers_output_stays_readable_while_its_task_runs() {
    let (ecs, _rt) = setup().await;
    register(
        &ecs,
        r#"{"family": "setup-then-serve", "containerDefinitions": [
            {"name": "setup", "image": "busybox", "memory": 32, "essential": false,
             "command": ["sh", "-c", "echo migrated 3 tables; echo 'no index' >&2; exit 0"]},
            {"name": "app", "image": "busybox", "memory": 32,
             "command": ["sh", "-c", "sleep 3600"],
             "dependsOn": [{"containerName": "setup", "condition": "SUCCESS"}]}]}"#,
    );
    let task = run(&ecs, "setup-then-serve", false).await;
    assert_eq!(task.container("setup").unwrap().exit_code, Some(0));
    let lines = read(&ecs, &task.task_id, "setup", LogOptions::default()).await;
    assert_eq!(
        texts(&lines),
        [
            (StdStream::Stdout, "migrated 3 tables"),
            (StdStream::Stderr, "no index")
        ]
    );
}

/// `json-file` and `local` reach the engine with their options; `awslogs` leaves the
/// engine's default driver (its output readable all the same) and the answer names the
/// CloudWatch stream as ECS names it, `PREFIX/CONTAINER/TASK_ID`, in its group.
#[tokio::test(start_paused = true)]
async fn log_configurations_reach_the_engine_and_awslogs_streams_are_named() {
    let (ecs, rt) = setup().await;
    register(
        &ecs,
        r#"{"family": "logged", "containerDefinitions": [
            {"name": "app", "image": "busybox", "memory": 32,
             "command": ["sh", "-c", "echo to cloudwatch; sleep 3600"],
             "logConfiguration": {"logDriver": "awslogs", "options": {
                "awslogs-group": "/ecs/logged", "awslogs-region": "eu-west-1",
                "awslogs-stream-prefix": "web"}}},
            {"name": "files", "image": "busybox", "memory": 32,
             "command": ["sh", "-c", "echo to a file; sleep 3600"],
             "logConfiguration": {"logDriver": "json-file",
                "options": {"max-size": "10m", "max-file": "3"}}},
            {"name": "compact", "image": "busybox", "memory": 32,
             "command": ["sh", "-c", "sleep 3600"],
             "logConfiguration": {"logDriver": "local"}}]}"#,
    );
    let task = run(&ecs, "logged", false).await;
    let spec_of = |name: &str| {
        rt.spec(task.container(name).unwrap().runtime_id.as_ref().unwrap())
            .unwrap()
    };
    assert_eq!(
        spec_of("app").logging,
        None,
        "awslogs: the engine's default"
    );
    assert_eq!(
        spec_of("files").logging,
        Some(LoggingSpec::new(
            EngineLogDriver::JsonFile,
            BTreeMap::from([
                ("max-file".to_owned(), "3".to_owned()),
                ("max-size".to_owned(), "10m".to_owned()),
            ])
        ))
    );
    assert_eq!(
        spec_of("compact").logging,
        Some(LoggingSpec::new(EngineLogDriver::Local, BTreeMap::new()))
    );
    let out = ecs
        .get_container_logs(GetContainerLogs::new(
            cluster(),
            task.task_id.clone(),
            app(),
        ))
        .await
        .unwrap();
    assert_eq!(out.log_driver, Some(LogDriver::Awslogs));
    let stream = out.aws_log_stream.clone().expect("an awslogs stream");
    assert_eq!(stream.stream, format!("web/app/{}", task.task_id));
    assert_eq!(stream.group.as_deref(), Some("/ecs/logged"));
    assert_eq!(stream.region.as_deref(), Some("eu-west-1"));
    let lines: Vec<_> = out.lines.map(Result::unwrap).collect().await;
    assert_eq!(texts(&lines), [(StdStream::Stdout, "to cloudwatch")]);
    let files = ecs
        .get_container_logs(GetContainerLogs::new(
            cluster(),
            task.task_id.clone(),
            "files".parse().unwrap(),
        ))
        .await
        .unwrap();
    assert_eq!(files.log_driver, Some(LogDriver::JsonFile));
    assert_eq!(files.aws_log_stream, None);
}

/// An unknown cluster, task or container is NotFound with its kind; a container not
/// created yet is an invalid parameter; an engine failing is a runtime error carrying
/// the engine's own.
#[tokio::test(start_paused = true)]
async fn unknown_targets_and_engine_failures_are_typed_errors() {
    let (ecs, rt) = setup().await;
    register(
        &ecs,
        r#"{"family": "waiting", "containerDefinitions": [
            {"name": "first", "image": "busybox", "memory": 32, "essential": false,
             "command": ["sh", "-c", "sleep 600; exit 0"]},
            {"name": "app", "image": "busybox", "memory": 32,
             "command": ["sh", "-c", "sleep 3600"],
             "dependsOn": [{"containerName": "first", "condition": "SUCCESS"}]}]}"#,
    );
    let out = ecs
        .run_task(ecs_core::control::RunTask::new(
            cluster(),
            "waiting".parse().unwrap(),
            1,
        ))
        .unwrap();
    let id = out.tasks[0].task_id.clone();
    wait(&ecs, &id, "first running", |t| {
        t.container("first").is_some_and(|c| c.runtime_id.is_some())
    })
    .await;
    let logs = |cluster: &str, task: &TaskId, container: &str| {
        ecs.get_container_logs(GetContainerLogs::new(
            cluster.parse().unwrap(),
            task.clone(),
            container.parse().unwrap(),
        ))
    };
    let kind = |e: Error| match e {
        Error::NotFound { kind, .. } => kind,
        other => panic!("expected NotFound, got {other:?}"),
    };
    assert_eq!(
        kind(logs("prod", &id, "app").await.unwrap_err()),
        ResourceKind::Cluster
    );
    let ghost: TaskId = "0123456789abcdef".parse().unwrap();
    assert_eq!(
        kind(logs("dev", &ghost, "app").await.unwrap_err()),
        ResourceKind::Task
    );
    let err = logs("dev", &id, "nope").await.unwrap_err();
    assert!(err.to_string().contains("nope of task"), "{err}");
    assert_eq!(kind(err), ResourceKind::Container);
    match logs("dev", &id, "app").await.unwrap_err() {
        Error::InvalidParameter {
            operation, member, ..
        } => assert_eq!((operation, member), ("GetContainerLogs", "container")),
        other => panic!("a container not created yet: {other:?}"),
    }
    rt.fail_next(
        Operation::Logs,
        RuntimeError::Unavailable("the engine is restarting".into()),
    );
    let err = logs("dev", &id, "first").await.unwrap_err();
    assert!(matches!(err, Error::Runtime { .. }), "{err:?}");
    let source = err.source().expect("the engine's error as the source");
    assert_eq!(
        source.to_string(),
        "engine unavailable: the engine is restarting"
    );
    // The next call reads again.
    assert!(logs("dev", &id, "first").await.is_ok());
}
