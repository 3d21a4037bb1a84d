//! Secrets and environment files on the in-memory runtime, read from a folder by
//! `LocalSecrets`: the values reach the container's environment (a Secrets Manager
//! secret's JSON key, an SSM parameter, an S3 environment file under the container's
//! own `environment`), and never appear in the library's logs, the store's file, or
//! `Debug` output (each searched for the values); a secret that cannot be read, or no
//! provider at all, stops the task before anything is created, with ECS's reason.

use std::fmt;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use ecs_core::cluster::Resources;
use ecs_core::control::{EcsConfig, RegisterContainerInstance, RunTask};
use ecs_core::runtime::InMemoryRuntime;
use ecs_core::secrets::LocalSecrets;
use ecs_core::store::FileStore;
use ecs_core::task::{StopCode, Task, TaskStatus};
use ecs_core::{ClusterName, Ecs, TaskDefinition, TaskId};

const PASSWORD: &str = "pa55-w0rd-7f3a9c";
const TOKEN: &str = "tok-91b2e4d7";
const FROM_FILE: &str = "file-secret-5d8c";

fn dev() -> ClusterName {
    "dev".parse().unwrap()
}

fn td(password_arn: &str) -> String {
    format!(
        r#"{{"family": "app", "containerDefinitions": [{{"name": "app", "image": "busybox",
            "memory": 64, "command": ["sleep", "3600"],
            "environment": [{{"name": "MODE", "value": "plain"}}, {{"name": "SHADOWED", "value": "environment wins"}}],
            "secrets": [{{"name": "DB_PASSWORD", "valueFrom": "{password_arn}"}},
                        {{"name": "TOKEN", "valueFrom": "arn:aws:ssm:eu-west-1:123456789012:parameter/app/token"}}],
            "environmentFiles": [{{"value": "arn:aws:s3:::config/app.env", "type": "s3"}}]}}]}}"#
    )
}

const PASSWORD_ARN: &str =
    "arn:aws:secretsmanager:eu-west-1:123456789012:secret:prod/db-Ab12Cd:password::";

/// A folder of secrets, as `LocalSecrets` reads them.
fn folder() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let put = |path: &str, text: &str| {
        let p = dir.path().join(path);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, text).unwrap();
    };
    put(
        "secretsmanager/prod/db",
        &format!(r#"{{"username": "app", "password": "{PASSWORD}"}}"#),
    );
    put("ssm/app/token", &format!("{TOKEN}\n"));
    put(
        "s3/config/app.env",
        &format!("# app settings\nFROM_FILE={FROM_FILE}\nSHADOWED=file loses\n"),
    );
    dir
}

async fn setup(config: EcsConfig, ecs: Option<Ecs>) -> (Ecs, InMemoryRuntime) {
    let ecs = ecs.unwrap_or_else(|| Ecs::new(config));
    ecs.create_cluster(dev()).unwrap();
    let rt = InMemoryRuntime::new(Resources::new(4096, 8192));
    ecs.register_container_instance(RegisterContainerInstance::new(
        dev(),
        "i-1".parse().unwrap(),
        Arc::new(rt.clone()),
    ))
    .await
    .unwrap();
    (ecs, rt)
}

fn run(ecs: &Ecs, json: &str) -> TaskId {
    ecs.register_task_definition(TaskDefinition::from_json(json).unwrap().definition)
        .unwrap();
    ecs.run_task(RunTask::new(dev(), "app".parse().unwrap(), 1))
        .unwrap()
        .tasks
        .remove(0)
        .task_id
}

async fn until(ecs: &Ecs, id: &TaskId, f: impl Fn(&Task) -> bool) -> Task {
    tokio::time::timeout(Duration::from_secs(600), ecs.wait_for(id, f))
        .await
        .expect("within 10 virtual minutes")
        .unwrap()
}

fn leaks(text: &str) -> Vec<&'static str> {
    [PASSWORD, TOKEN, FROM_FILE]
        .into_iter()
        .filter(|v| text.contains(v))
        .collect()
}

#[tokio::test(start_paused = true)]
async fn secrets_reach_the_container_and_nothing_else() {
    let logs = Capture::install();
    let secrets = folder();
    let store_dir = tempfile::tempdir().unwrap();
    let store_path = store_dir.path().join("ecs.state");
    let mut config = EcsConfig::default();
    config.secret_provider = Some(Arc::new(LocalSecrets::new(secrets.path())));
    let store = Arc::new(FileStore::open(&store_path).unwrap());
    let opened = Ecs::open(config.clone(), store).await.unwrap();
    let (ecs, rt) = setup(config, Some(opened)).await;
    let id = run(&ecs, &td(PASSWORD_ARN));
    let task = until(&ecs, &id, |t| t.last_status == TaskStatus::Running).await;

    // What the container is given.
    let container = task.containers[0].runtime_id.clone().unwrap();
    let spec = rt.spec(&container).unwrap();
    let env: std::collections::BTreeMap<&str, &str> = spec.full_environment().collect();
    assert_eq!(env["DB_PASSWORD"], PASSWORD);
    assert_eq!(
        env["TOKEN"], TOKEN,
        "the file's trailing newline is not the value's"
    );
    assert_eq!(env["FROM_FILE"], FROM_FILE);
    assert_eq!(env["MODE"], "plain");
    assert_eq!(env["SHADOWED"], "environment wins");

    // Nowhere else: Debug output, the store's file, the library's logs.
    let debug = format!(
        "{spec:?} {task:?} {ecs:?} {:?}",
        ecs.describe_tasks(&dev(), &[id])
    );
    assert_eq!(leaks(&debug), Vec::<&str>::new(), "Debug output");
    assert!(debug.contains("<redacted>"));
    ecs.shutdown().await.unwrap();
    let file = std::fs::read(&store_path).unwrap();
    assert_eq!(
        leaks(&String::from_utf8_lossy(&file)),
        Vec::<&str>::new(),
        "the store's file"
    );
    let logged = logs.text();
    assert!(
        logged.contains("DB_PASSWORD"),
        "the library did not log the resolution to search: {logged}"
    );
    assert_eq!(leaks(&logged), Vec::<&str>::new(), "the logs");
}

#[tokio::test(start_paused = true)]
async fn a_secret_that_cannot_be_read_stops_the_task_before_anything_is_created() {
    let secrets = folder();
    let mut config = EcsConfig::default();
    config.secret_provider = Some(Arc::new(LocalSecrets::new(secrets.path())));
    let (ecs, rt) = setup(config, None).await;
    let missing = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:prod/nope-Zz99Yy";
    let id = run(&ecs, &td(missing));
    let stopped = until(&ecs, &id, |t| t.last_status == TaskStatus::Stopped).await;
    assert_eq!(stopped.stop_code, Some(StopCode::TaskFailedToStart));
    let reason = stopped.stopped_reason.unwrap();
    assert!(
        reason.starts_with(
            "ResourceInitializationError: unable to pull secrets or registry auth: execution \
             resource retrieval failed: unable to retrieve secret from asm: "
        ),
        "{reason}"
    );
    assert!(reason.contains("prod/nope-Zz99Yy: not found"), "{reason}");
    assert!(rt.containers().is_empty());
}

#[tokio::test(start_paused = true)]
async fn without_a_provider_a_task_with_secrets_stops_and_says_why() {
    let (ecs, rt) = setup(EcsConfig::default(), None).await;
    let id = run(&ecs, &td(PASSWORD_ARN));
    let stopped = until(&ecs, &id, |t| t.last_status == TaskStatus::Stopped).await;
    assert_eq!(stopped.stop_code, Some(StopCode::TaskFailedToStart));
    assert!(
        stopped
            .stopped_reason
            .as_deref()
            .unwrap()
            .contains("no secret provider is set"),
        "{stopped:?}"
    );
    assert!(rt.containers().is_empty());
}

/// The library's `tracing` output on this thread, as text (every event and span with
/// its fields).
struct Capture {
    text: Arc<Mutex<String>>,
    _guard: tracing::subscriber::DefaultGuard,
}

impl Capture {
    fn install() -> Self {
        let text = Arc::new(Mutex::new(String::new()));
        let guard = tracing::subscriber::set_default(Recorder {
            text: text.clone(),
            next: std::sync::atomic::AtomicU64::new(1),
        });
        Self {
            text,
            _guard: guard,
        }
    }

    fn text(&self) -> String {
        self.text.lock().unwrap().clone()
    }
}

struct Recorder {
    text: Arc<Mutex<String>>,
    next: std::sync::atomic::AtomicU64,
}

struct Fields<'a>(&'a mut String);

impl tracing::field::Visit for Fields<'_> {
    fn record_debug(&mut self, field: &tracing::field::Field, value: &dyn fmt::Debug) {
        self.0.push_str(&format!(" {}={value:?}", field.name()));
    }
}

impl tracing::Subscriber for Recorder {
    fn enabled(&self, _: &tracing::Metadata<'_>) -> bool {
        true
    }
    fn new_span(&self, span: &tracing::span::Attributes<'_>) -> tracing::span::Id {
        let mut line = String::from(span.metadata().name());
        span.record(&mut Fields(&mut line));
        self.text.lock().unwrap().push_str(&(line + "\n"));
        tracing::span::Id::from_u64(self.next.fetch_add(1, std::sync::atomic::Ordering::Relaxed))
    }
    fn record(&self, _: &tracing::span::Id, values: &tracing::span::Record<'_>) {
        let mut line = String::new();
        values.record(&mut Fields(&mut line));
        self.text.lock().unwrap().push_str(&(line + "\n"));
    }
    fn record_follows_from(&self, _: &tracing::span::Id, _: &tracing::span::Id) {}
    fn event(&self, event: &tracing::Event<'_>) {
        let mut line = String::from(event.metadata().target());
        event.record(&mut Fields(&mut line));
        self.text.lock().unwrap().push_str(&(line + "\n"));
    }
    fn enter(&self, _: &tracing::span::Id) {}
    fn exit(&self, _: &tracing::span::Id) {}
}
