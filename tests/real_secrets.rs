//! Secrets and environment files on real Docker and real Podman, seen from inside the
//! container: a Secrets Manager secret's JSON key, an SSM parameter and an S3
//! environment file, read from a folder by `LocalSecrets`, are in the container's
//! environment (it writes them into a host directory the test reads).

#[path = "support/engines.rs"]
mod engines;

use std::sync::Arc;

use ecs::Ecs;
use ecs::control::{EcsConfig, RunTask};
use ecs::runtime::ContainerRuntime;
use ecs::secrets::LocalSecrets;

async fn secrets_on(instance: &str, runtime: Arc<dyn ContainerRuntime>) {
    let secrets = tempfile::tempdir().unwrap();
    let put = |path: &str, text: &str| {
        let p = secrets.path().join(path);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, text).unwrap();
    };
    put("secretsmanager/prod/db", r#"{"password": "s3cr3t-db"}"#);
    put("ssm/app/token", "t0k3n\n");
    put("s3/config/app.env", "FROM_FILE=f1l3\n");
    let out = engines::out_dir();

    let mut config = EcsConfig::default();
    config.secret_provider = Some(Arc::new(LocalSecrets::new(secrets.path())));
    let ecs = Ecs::new(config);
    let cluster = engines::cluster_of_one(&ecs, "secrets", instance, runtime).await;
    let family = format!("secrets-{}", std::process::id());
    let container = r#", "memory": 32,
        "command": ["sh", "-c", "echo \"$DB_PASSWORD|$TOKEN|$FROM_FILE\" > /out/env"],
        "secrets": [
          {"name": "DB_PASSWORD", "valueFrom": "arn:aws:secretsmanager:eu-west-1:123456789012:secret:prod/db-Ab12Cd:password::"},
          {"name": "TOKEN", "valueFrom": "/app/token"}],
        "environmentFiles": [{"value": "arn:aws:s3:::config/app.env", "type": "s3"}]"#;
    ecs.register_task_definition(engines::out_task(&family, out.path(), container))
        .unwrap();
    engines::run_to_exit(&ecs, RunTask::new(cluster, family.parse().unwrap(), 1)).await;
    let env = std::fs::read_to_string(out.path().join("env")).unwrap();
    assert_eq!(env.trim(), "s3cr3t-db|t0k3n|f1l3", "{instance}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn secrets_are_in_a_docker_containers_environment() {
    secrets_on("i-docker", Arc::new(engines::docker())).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn secrets_are_in_a_podman_containers_environment() {
    secrets_on("i-podman", Arc::new(engines::podman())).await;
}
