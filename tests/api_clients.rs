//! The API server driven by the official clients: the aws CLI and boto3 (installed by
//! `scripts/api-clients`, which `scripts/test` runs), unchanged, against a server in
//! this process. The checks themselves are the Python suite `tests/api/ecs_api.py`;
//! this test serves the API, runs the suite and fails with its output if any check
//! fails. Without the clients it fails, saying how to install them: it never skips.

#[path = "support/clients.rs"]
mod clients;

use std::process::Stdio;
use std::time::Duration;

use ecs::config::EcsConfig;
use ecs::server::{Auth, Credentials, Server, ServerConfig, TlsConfig};
use ecs::{ArnScope, Ecs};

const ACCESS_KEY: &str = "AKIDECSSERVERTEST";
// 40 characters, as AWS's secret keys are.
const SECRET_KEY: &str = "secret-key-of-the-api-clients-test-suite";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_aws_cli_and_boto3_drive_the_api_unchanged() {
    let python = clients::required("ECS_PYTHON");
    let aws = clients::required("ECS_AWS_CLI");

    let mut config = EcsConfig::default();
    config.arn_scope = ArnScope {
        region: "us-east-1".into(),
        account: "123456789012".into(),
    };
    // Deployments complete once their tasks have been healthy this long (ECS: a while).
    config.service_throttle.stable_after = Duration::from_secs(2);
    // Auto scaling samples every second and acts on the first datapoint past its target.
    config.autoscaling.period = Duration::from_secs(1);
    config.autoscaling.scale_out_periods = 1;
    // Managed scaling decides every second.
    config.capacity = ecs::config::CapacityConfig::default().with_period(Duration::from_secs(1));
    let ecs = Ecs::new(config);
    // An instance group of simulated instances for the capacity providers' checks: its
    // instances launch at once, each of 1024 CPU units and 2048 MiB.
    let group = ecs::capacity::InMemoryInstanceProvider::new(
        "sim",
        ecs::cluster::Resources::new(1024, 2048),
    );
    ecs.register_instance_group(
        "sim",
        ecs::capacity::InstanceGroup::new(std::sync::Arc::new(group), 0, 4),
    )
    .await
    .unwrap();
    let server_config = ServerConfig::default()
        .with_listen("127.0.0.1:0".parse().unwrap())
        .with_auth(Auth::SigV4(vec![Credentials::new(ACCESS_KEY, SECRET_KEY)]));
    let server = Server::bind(ecs.clone(), server_config).await.unwrap();
    let address = server.local_addr().unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let serving = tokio::spawn(server.serve(async {
        let _ = stopped.await;
    }));

    let suite = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/api/ecs_api.py");
    let run = tokio::process::Command::new(&python)
        .arg(suite)
        .env("ECS_ENDPOINT", format!("http://{address}"))
        .env("ECS_AWS_CLI", &aws)
        .env("AWS_ACCESS_KEY_ID", ACCESS_KEY)
        .env("AWS_SECRET_ACCESS_KEY", SECRET_KEY)
        .env("AWS_DEFAULT_REGION", "us-east-1")
        // Nobody's own configuration or credentials take part.
        .env("AWS_CONFIG_FILE", "/dev/null")
        .env("AWS_SHARED_CREDENTIALS_FILE", "/dev/null")
        .env_remove("AWS_PROFILE")
        .env_remove("AWS_SESSION_TOKEN")
        .stdin(Stdio::null())
        .kill_on_drop(true)
        .output();
    let out = tokio::time::timeout(Duration::from_secs(600), run)
        .await
        .expect("the client suite did not finish within 10 minutes")
        .expect("the client suite could not be started");
    let _ = stop.send(());
    serving.await.unwrap().unwrap();

    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "the client suite failed ({}):\n{stdout}\n{stderr}",
        out.status
    );
    // unittest prints each check, `Ran N tests` and `OK`; none may have been skipped.
    println!("{stderr}");
    assert!(
        stderr.contains("\nOK\n") || stderr.ends_with("OK\n"),
        "{stderr}"
    );
    assert!(!stderr.contains("skipped"), "{stderr}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_aws_cli_speaks_to_the_server_over_tls() {
    let aws = clients::required("ECS_AWS_CLI");
    let dir = tempfile::tempdir().unwrap();
    let cert = rcgen::generate_simple_self_signed(vec!["127.0.0.1".to_owned()]).unwrap();
    let (cert_path, key_path) = (dir.path().join("cert.pem"), dir.path().join("key.pem"));
    std::fs::write(&cert_path, cert.cert.pem()).unwrap();
    std::fs::write(&key_path, cert.key_pair.serialize_pem()).unwrap();

    let ecs = Ecs::new(EcsConfig::default());
    ecs.create_cluster("over-tls".parse().unwrap()).unwrap();
    let config = ServerConfig::default()
        .with_listen("127.0.0.1:0".parse().unwrap())
        .with_auth(Auth::SigV4(vec![Credentials::new(ACCESS_KEY, SECRET_KEY)]))
        .with_tls(TlsConfig::new(&cert_path, &key_path));
    let server = Server::bind(ecs, config).await.unwrap();
    let address = server.local_addr().unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let serving = tokio::spawn(server.serve(async {
        let _ = stopped.await;
    }));

    let cli = |scheme: &str, ca: Option<&std::path::Path>| {
        let mut c = tokio::process::Command::new(&aws);
        c.args([
            "ecs",
            "list-clusters",
            "--output",
            "json",
            "--region",
            "local",
        ])
        .arg("--endpoint-url")
        .arg(format!("{scheme}://{address}"))
        .env("AWS_ACCESS_KEY_ID", ACCESS_KEY)
        .env("AWS_SECRET_ACCESS_KEY", SECRET_KEY)
        .env("AWS_CONFIG_FILE", "/dev/null")
        .env("AWS_SHARED_CREDENTIALS_FILE", "/dev/null")
        .env("AWS_MAX_ATTEMPTS", "1")
        .env_remove("AWS_CA_BUNDLE")
        .kill_on_drop(true);
        if let Some(ca) = ca {
            c.arg("--ca-bundle").arg(ca);
        }
        c.output()
    };
    let trusted = cli("https", Some(&cert_path)).await.unwrap();
    let stdout = String::from_utf8_lossy(&trusted.stdout);
    assert!(
        trusted.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&trusted.stderr)
    );
    assert!(stdout.contains("cluster/over-tls"), "{stdout}");
    // Without trusting the certificate the CLI refuses it; plain HTTP gets no answer.
    let untrusted = cli("https", None).await.unwrap();
    assert!(!untrusted.status.success());
    assert!(
        String::from_utf8_lossy(&untrusted.stderr).contains("SSL"),
        "{}",
        String::from_utf8_lossy(&untrusted.stderr)
    );
    let plain = cli("http", None).await.unwrap();
    assert!(!plain.status.success());

    let _ = stop.send(());
    serving.await.unwrap().unwrap();
}

#[tokio::test]
async fn a_certificate_that_cannot_be_read_is_refused_before_listening() {
    let dir = tempfile::tempdir().unwrap();
    let garbage = dir.path().join("garbage.pem");
    std::fs::write(&garbage, "not a certificate").unwrap();
    for (cert, key) in [
        (dir.path().join("missing.pem"), garbage.clone()),
        (garbage.clone(), garbage.clone()),
    ] {
        let config = ServerConfig::default()
            .with_listen("127.0.0.1:0".parse().unwrap())
            .with_tls(TlsConfig::new(&cert, &key));
        let e = Server::bind(Ecs::new(EcsConfig::default()), config)
            .await
            .unwrap_err();
        assert!(e.to_string().contains(&cert.display().to_string()), "{e}");
    }
}
