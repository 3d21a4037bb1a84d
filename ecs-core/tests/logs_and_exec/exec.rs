//! ExecuteCommand on the in-memory runtime.

use std::time::Duration;

use ecs_core::control::{ExecuteCommand, NOT_ENABLED};
use ecs_core::runtime::{Capabilities, ExecSession, StdStream};
use ecs_core::service::CreateService;
use ecs_core::{ContainerName, Ecs, Error, ResourceKind, TaskId};
use futures::StreamExt;
use tokio::io::AsyncWriteExt;

use super::{cluster, register, run, setup, setup_with, wait};

const SHELL: &str = r#"{"family": "shell", "containerDefinitions": [
    {"name": "app", "image": "busybox", "memory": 32,
     "environment": [{"name": "WHO", "value": "world"}],
     "command": ["sh", "-c", "trap 'exit 0' TERM; while true; do sleep 1; done"]}]}"#;

fn exec(task: &TaskId, command: &str, interactive: bool) -> ExecuteCommand {
    ExecuteCommand::new(cluster(), task.clone(), command, interactive)
}

/// The operation and member of an InvalidParameter, or a panic naming what came.
fn invalid(err: Error) -> (&'static str, &'static str, String) {
    match err {
        Error::InvalidParameter {
            operation,
            member,
            reason,
        } => (operation, member, reason),
        other => panic!("expected InvalidParameter, got {other:?}"),
    }
}

async fn outcome(ecs: &Ecs, request: ExecuteCommand) -> ecs_core::runtime::ExecOutcome {
    let out = ecs.execute_command(request).await.unwrap();
    tokio::time::timeout(Duration::from_secs(600), out.session.wait())
        .await
        .expect("the command ends")
        .unwrap()
}

/// A command's output comes on its two streams, with its exit code, zero or not; ECS's
/// one string is split by the shell's rules (quotes keep words together) and run without
/// a shell unless it names one; the container's environment is the command's.
#[tokio::test(start_paused = true)]
async fn commands_run_with_their_output_and_exit_code() {
    let (ecs, _rt) = setup().await;
    register(&ecs, SHELL);
    let task = run(&ecs, "shell", true).await;
    let id = &task.task_id;
    let out = ecs
        .execute_command(exec(id, "sh -c 'echo hello $WHO; echo oops >&2'", false))
        .await
        .unwrap();
    assert_eq!(out.container_name.as_str(), "app");
    assert_eq!(out.task_arn, task.task_arn);
    assert!(!out.interactive);
    assert!(out.session.stdin.is_none(), "no input when not interactive");
    let done = out.session.wait().await.unwrap();
    assert_eq!(
        (done.stdout.as_str(), done.stderr.as_str(), done.exit_code),
        ("hello world\n", "oops\n", 0)
    );
    let failed = outcome(&ecs, exec(id, "sh -c \"echo bye; exit 3\"", false)).await;
    assert_eq!((failed.stdout.as_str(), failed.exit_code), ("bye\n", 3));
    let split = outcome(&ecs, exec(id, "echo 'two  words' three", false)).await;
    assert_eq!(split.stdout, "two  words three\n");
    let slow = outcome(&ecs, exec(id, "sh -c 'sleep 30; false'", false)).await;
    assert_eq!(slow.exit_code, 1);
}

/// An interactive command reads what is written to its input (`cat` writes it back) and
/// ends, with 0, once the input is closed.
#[tokio::test(start_paused = true)]
async fn an_interactive_session_echoes_its_input() {
    let (ecs, _rt) = setup().await;
    register(&ecs, SHELL);
    let task = run(&ecs, "shell", true).await;
    let out = ecs
        .execute_command(exec(&task.task_id, "cat", true))
        .await
        .unwrap();
    assert!(out.interactive);
    let ExecSession {
        mut output,
        stdin,
        exit_code,
        ..
    } = out.session;
    let mut stdin = stdin.expect("an input");
    for line in ["ping\n", "pong\n"] {
        stdin.write_all(line.as_bytes()).await.unwrap();
        let chunk = output.next().await.unwrap().unwrap();
        assert_eq!(
            (chunk.stream, String::from_utf8(chunk.data).unwrap()),
            (StdStream::Stdout, line.to_owned())
        );
    }
    stdin.shutdown().await.unwrap();
    assert!(output.next().await.is_none(), "cat ends with its input");
    assert_eq!(exit_code.await.unwrap(), 0);
}

/// A task run without execute command enabled is refused with ECS's words; a service's
/// setting reaches its tasks.
#[tokio::test(start_paused = true)]
async fn refused_unless_the_task_or_its_service_enabled_it() {
    let (ecs, _rt) = setup().await;
    register(&ecs, SHELL);
    let plain = run(&ecs, "shell", false).await;
    let (operation, member, reason) = invalid(
        ecs.execute_command(exec(&plain.task_id, "echo hi", true))
            .await
            .unwrap_err(),
    );
    assert_eq!((operation, member), ("ExecuteCommand", "task"));
    assert_eq!(reason, NOT_ENABLED);
    assert!(reason.starts_with(
        "The execute command failed because execute command was not enabled when the task \
         was run"
    ));

    ecs.create_service(
        CreateService::new(
            cluster(),
            "sh".parse().unwrap(),
            "shell".parse().unwrap(),
            1,
        )
        .with_execute_command(true),
    )
    .unwrap();
    let service_task = tokio::time::timeout(Duration::from_secs(600), async {
        loop {
            let mut list = ecs_core::control::ListTasks::new(cluster());
            list.service_name = Some("sh".into());
            let tasks = ecs.list_tasks(list).unwrap();
            if let Some(id) = tasks.first() {
                return id.clone();
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    })
    .await
    .expect("the service starts a task");
    let running = wait(&ecs, &service_task, "RUNNING", |t| {
        t.last_status == ecs_core::task::TaskStatus::Running
    })
    .await;
    assert!(running.enable_execute_command);
    let done = outcome(&ecs, exec(&service_task, "echo from the service", false)).await;
    assert_eq!(done.stdout, "from the service\n");
}

/// What ECS refuses is refused before anything runs: an empty or unbalanced command, no
/// container named in a task of several, an unknown container (NotFound), a container
/// that is not running; an engine that cannot exec says so.
#[tokio::test(start_paused = true)]
async fn requests_ecs_refuses_are_refused() {
    let (ecs, _rt) = setup().await;
    register(
        &ecs,
        r#"{"family": "pair", "containerDefinitions": [
            {"name": "app", "image": "busybox", "memory": 32,
             "command": ["sh", "-c", "sleep 3600"]},
            {"name": "done", "image": "busybox", "memory": 32, "essential": false,
             "command": ["sh", "-c", "exit 0"]}]}"#,
    );
    let task = run(&ecs, "pair", true).await;
    let id = &task.task_id;
    for (command, why) in [("", "must not be empty"), ("echo 'open", "quotes")] {
        let (_, member, reason) = invalid(
            ecs.execute_command(exec(id, command, false))
                .await
                .unwrap_err(),
        );
        assert_eq!(member, "command");
        assert!(reason.contains(why), "{command:?}: {reason}");
    }
    let (_, member, reason) = invalid(
        ecs.execute_command(exec(id, "echo hi", false))
            .await
            .unwrap_err(),
    );
    assert_eq!(member, "container");
    assert!(reason.contains("2 containers"), "{reason}");
    let name = |n: &str| n.parse::<ContainerName>().unwrap();
    match ecs
        .execute_command(exec(id, "echo hi", false).with_container(name("nope")))
        .await
        .unwrap_err()
    {
        Error::NotFound { kind, .. } => assert_eq!(kind, ResourceKind::Container),
        other => panic!("{other:?}"),
    }
    let done = wait(&ecs, id, "done exited", |t| {
        t.container("done").is_some_and(|c| c.exit_code.is_some())
    })
    .await;
    assert_eq!(done.container("done").unwrap().exit_code, Some(0));
    let (_, member, reason) = invalid(
        ecs.execute_command(exec(id, "echo hi", false).with_container(name("done")))
            .await
            .unwrap_err(),
    );
    assert_eq!(member, "container");
    assert!(reason.contains("not running"), "{reason}");
    let ok = outcome(&ecs, exec(id, "echo hi", false).with_container(name("app"))).await;
    assert_eq!(ok.stdout, "hi\n");

    let mut no_exec = Capabilities::ALL;
    no_exec.execute_command = false;
    let (ecs, _rt) = setup_with(no_exec).await;
    register(&ecs, SHELL);
    let task = run(&ecs, "shell", true).await;
    match ecs
        .execute_command(exec(&task.task_id, "echo hi", false))
        .await
        .unwrap_err()
    {
        Error::Unsupported { missing, .. } => assert_eq!(missing, "execute command"),
        other => panic!("{other:?}"),
    }
}
