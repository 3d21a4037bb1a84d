//! The built-in TCP load balancer on real sockets (127.0.0.1) in real time: round robin
//! and least connections, health checks (TCP and HTTP), retries past a dead target,
//! draining, bind errors, a deregistration delay past ELB's limit, and shutdown. Waits
//! poll a condition up to a deadline.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use ecs_core::Error;
use ecs_core::load_balancer::{
    Algorithm, HealthCheck, LoadBalancer, Matcher, Target, TargetHealth, TargetState,
    TcpLoadBalancer, TcpLoadBalancerConfig,
};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;
use tokio::time::Instant;

/// How long any wait may take before the test fails.
const PATIENCE: Duration = Duration::from_secs(10);

/// A task: an echo server that first writes its name and a newline.
struct Backend {
    name: String,
    address: SocketAddr,
    listener: JoinHandle<()>,
}

impl Backend {
    async fn start(name: &str) -> Self {
        Self::start_on(name, "127.0.0.1:0".parse().unwrap()).await
    }

    async fn start_on(name: &str, address: SocketAddr) -> Self {
        let listener = TcpListener::bind(address).await.unwrap();
        let address = listener.local_addr().unwrap();
        let greeting = format!("{name}\n");
        let listener = tokio::spawn(async move {
            while let Ok((mut connection, _)) = listener.accept().await {
                let greeting = greeting.clone();
                tokio::spawn(async move {
                    // Health checks close at once: their errors are expected.
                    if connection.write_all(greeting.as_bytes()).await.is_ok() {
                        let (mut from, mut to) = connection.split();
                        let _ = tokio::io::copy(&mut from, &mut to).await;
                    }
                });
            }
        });
        Self {
            name: name.to_owned(),
            address,
            listener,
        }
    }

    fn target(&self) -> Target {
        Target::new(&self.name, self.address)
    }

    /// Stops listening (connections are refused from then on); open connections go on.
    async fn kill(self) {
        self.listener.abort();
        let _ = self.listener.await;
    }
}

/// A client connection through the balancer, and the backend that took it.
struct Client {
    stream: BufReader<TcpStream>,
    backend: String,
}

impl Client {
    /// Connects; `None` when the balancer closes the connection without a backend.
    async fn connect(lb: &TcpLoadBalancer) -> Option<Client> {
        let mut stream = BufReader::new(TcpStream::connect(lb.local_addr()).await.unwrap());
        let mut backend = String::new();
        match stream.read_line(&mut backend).await {
            Ok(0) | Err(_) => None,
            Ok(_) => Some(Client {
                stream,
                backend: backend.trim_end().to_owned(),
            }),
        }
    }

    /// Whether a message comes back.
    async fn echoes(&mut self, message: &str) -> bool {
        if self
            .stream
            .write_all(format!("{message}\n").as_bytes())
            .await
            .is_err()
        {
            return false;
        }
        let mut reply = String::new();
        matches!(self.stream.read_line(&mut reply).await, Ok(n) if n > 0)
            && reply.trim_end() == message
    }

    /// Waits until the balancer closes the connection (EOF or reset).
    async fn closed(mut self) -> bool {
        let mut rest = Vec::new();
        tokio::time::timeout(PATIENCE, self.stream.read_to_end(&mut rest))
            .await
            .is_ok()
    }
}

/// Connects, checks the echo, closes; the backend's name.
async fn round_trip(lb: &TcpLoadBalancer) -> String {
    let mut client = Client::connect(lb)
        .await
        .expect("the balancer closed the connection");
    assert!(
        client.echoes("ping").await,
        "no echo from {}",
        client.backend
    );
    client.backend
}

/// Fast checks: every `interval`, healthy after 1 success, unhealthy after 2 failures.
fn checks(interval: Duration) -> HealthCheck {
    HealthCheck::tcp()
        .with_interval(interval)
        .with_timeout(Duration::from_secs(1))
        .with_healthy_threshold(1)
        .with_unhealthy_threshold(2)
}

fn config(algorithm: Algorithm) -> TcpLoadBalancerConfig {
    TcpLoadBalancerConfig::default()
        .with_name("web")
        .with_algorithm(algorithm)
        .with_health_check(checks(Duration::from_secs(1)))
        .with_connect_timeout(Duration::from_secs(2))
}

/// Binds a balancer over `backends` and waits until they are all healthy.
async fn balancer(config: TcpLoadBalancerConfig, backends: &[&Backend]) -> TcpLoadBalancer {
    let lb = TcpLoadBalancer::bind(config).await.unwrap();
    let targets: Vec<Target> = backends.iter().map(|b| b.target()).collect();
    lb.register_targets(&targets).await.unwrap();
    wait(&lb, "every target healthy", |t| {
        t.iter().all(|t| t.state == TargetState::Healthy)
    })
    .await;
    lb
}

/// Waits until `done` holds for the targets' health.
async fn wait(
    lb: &TcpLoadBalancer,
    what: &str,
    done: impl FnMut(&[TargetHealth]) -> bool,
) -> Vec<TargetHealth> {
    match tokio::time::timeout(PATIENCE, lb.wait_for_targets(done)).await {
        Ok(health) => health,
        Err(_) => panic!("{what}: not after {PATIENCE:?}: {:?}", lb.stats()),
    }
}

/// Polls `done` until it holds.
async fn eventually(what: &str, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + PATIENCE;
    while !done() {
        assert!(Instant::now() < deadline, "{what}: not after {PATIENCE:?}");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

fn state_of(health: &[TargetHealth], id: &str) -> Option<TargetState> {
    health.iter().find(|t| t.target.id == id).map(|t| t.state)
}

fn open_connections(lb: &TcpLoadBalancer) -> usize {
    lb.stats().targets.iter().map(|t| t.open_connections).sum()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn round_robin_spreads_connections_evenly_over_three_backends() {
    let (a, b, c) = (
        Backend::start("a").await,
        Backend::start("b").await,
        Backend::start("c").await,
    );
    let lb = Arc::new(balancer(config(Algorithm::RoundRobin), &[&a, &b, &c]).await);
    let clients: Vec<_> = (0..30)
        .map(|_| {
            let lb = lb.clone();
            tokio::spawn(async move { round_trip(&lb).await })
        })
        .collect();
    let mut served = BTreeMap::new();
    for client in clients {
        *served.entry(client.await.unwrap()).or_insert(0) += 1;
    }
    assert_eq!(
        served,
        BTreeMap::from([("a".into(), 10), ("b".into(), 10), ("c".into(), 10)])
    );
    let stats = lb.stats();
    assert_eq!((stats.accepted, stats.forwarded, stats.failed), (30, 30, 0));
    for target in &stats.targets {
        assert_eq!(
            (target.connections, target.connect_failures),
            (10, 0),
            "{target:?}"
        );
    }
}

#[tokio::test]
async fn least_connections_prefers_the_idle_backend() {
    let (a, b) = (Backend::start("a").await, Backend::start("b").await);
    let lb = balancer(config(Algorithm::LeastConnections), &[&a, &b]).await;
    let mut busy = Client::connect(&lb).await.unwrap();
    let idle = if busy.backend == "a" { "b" } else { "a" };
    for _ in 0..5 {
        assert_eq!(round_trip(&lb).await, idle);
        eventually("the short connection closed", || open_connections(&lb) == 1).await;
    }
    assert!(busy.echoes("still there").await);
    let stats = lb.stats();
    assert_eq!(stats.target(&busy.backend).unwrap().open_connections, 1);
    assert_eq!(stats.target(idle).unwrap().connections, 5);
}

#[tokio::test]
async fn a_target_gets_traffic_only_after_passing_its_health_checks() {
    let backend = Backend::start("a").await;
    let interval = Duration::from_millis(200);
    let lb = TcpLoadBalancer::bind(
        config(Algorithm::RoundRobin).with_health_check(checks(interval).with_healthy_threshold(3)),
    )
    .await
    .unwrap();
    let registered = Instant::now();
    lb.register_targets(&[backend.target()]).await.unwrap();
    lb.register_targets(&[backend.target()]).await.unwrap();
    let health = lb.target_health().await.unwrap();
    assert_eq!(health.len(), 1, "registering is idempotent");
    assert_eq!(health[0].state, TargetState::Initial);
    assert_eq!(
        health[0].reason.as_deref(),
        Some("Elb.InitialHealthChecking: Initial health checks in progress")
    );

    // Not healthy yet: the connection is closed, and counted as failed.
    assert!(Client::connect(&lb).await.is_none());
    let stats = lb.stats();
    assert_eq!((stats.accepted, stats.forwarded, stats.failed), (1, 0, 1));

    // Three checks in a row: at once, then one interval apart.
    let health = wait(&lb, "healthy", |t| t[0].state == TargetState::Healthy).await;
    assert!(
        registered.elapsed() >= 2 * interval,
        "{:?}",
        registered.elapsed()
    );
    assert_eq!(health[0].reason, None);
    assert_eq!(round_trip(&lb).await, "a");
}

#[tokio::test]
async fn a_target_that_fails_its_first_checks_is_unhealthy_until_it_passes() {
    // A free port, with nothing listening on it yet.
    let address = TcpListener::bind("127.0.0.1:0")
        .await
        .unwrap()
        .local_addr()
        .unwrap();
    let lb = TcpLoadBalancer::bind(
        config(Algorithm::RoundRobin)
            .with_health_check(checks(Duration::from_millis(100)).with_healthy_threshold(2)),
    )
    .await
    .unwrap();
    lb.register_targets(&[Target::new("a", address)])
        .await
        .unwrap();
    let health = wait(&lb, "unhealthy", |t| t[0].state == TargetState::Unhealthy).await;
    let reason = health[0].reason.clone().unwrap();
    assert!(
        reason.starts_with("Target.FailedHealthChecks: Health checks failed: "),
        "{reason}"
    );
    assert!(Client::connect(&lb).await.is_none());

    let _backend = Backend::start_on("a", address).await;
    wait(&lb, "healthy", |t| t[0].state == TargetState::Healthy).await;
    assert_eq!(round_trip(&lb).await, "a");
}

#[tokio::test]
async fn a_dead_target_is_retried_on_another_then_taken_out_when_unhealthy() {
    let (a, b) = (Backend::start("a").await, Backend::start("b").await);
    let lb = balancer(config(Algorithm::RoundRobin), &[&a, &b]).await;
    a.kill().await;

    // Dead, but its health checks (1 s apart, 2 failures) have not caught up yet:
    // connections that go to it are retried on b, unseen by the clients.
    assert_eq!(
        state_of(&lb.target_health().await.unwrap(), "a"),
        Some(TargetState::Healthy)
    );
    for _ in 0..6 {
        assert_eq!(round_trip(&lb).await, "b");
    }
    let stats = lb.stats();
    assert_eq!(stats.failed, 0);
    let failures = stats.target("a").unwrap().connect_failures;
    assert!(
        failures >= 3,
        "round robin sent half of them to a: {stats:?}"
    );
    assert_eq!(stats.target("a").unwrap().state, TargetState::Healthy);

    let health = wait(&lb, "a unhealthy", |t| {
        state_of(t, "a") == Some(TargetState::Unhealthy)
    })
    .await;
    assert_eq!(state_of(&health, "b"), Some(TargetState::Healthy));
    for _ in 0..4 {
        assert_eq!(round_trip(&lb).await, "b");
    }
    let stats = lb.stats();
    assert_eq!(
        stats.target("a").unwrap().connect_failures,
        failures,
        "no connection tried a once unhealthy"
    );
    assert_eq!(stats.failed, 0);
}

#[tokio::test]
async fn deregistering_drains_open_connections_then_removes_the_target() {
    let (a, b) = (Backend::start("a").await, Backend::start("b").await);
    let lb = Arc::new(
        balancer(
            config(Algorithm::RoundRobin).with_deregistration_delay(Duration::from_secs(300)),
            &[&a, &b],
        )
        .await,
    );
    let mut open = Client::connect(&lb).await.unwrap();
    let (draining, other) = if open.backend == "a" {
        (&a, &b)
    } else {
        (&b, &a)
    };
    let deregistering = {
        let (lb, target) = (lb.clone(), draining.target());
        tokio::spawn(async move { lb.deregister_targets(&[target]).await })
    };
    let health = wait(&lb, "draining", |t| {
        state_of(t, &draining.name) == Some(TargetState::Draining)
    })
    .await;
    let draining_health = health.iter().find(|t| t.target.id == draining.name);
    assert_eq!(
        draining_health.and_then(|t| t.reason.as_deref()),
        Some("Target.DeregistrationInProgress: Target deregistration is in progress")
    );

    // The open connection goes on; new ones go elsewhere.
    assert!(open.echoes("still there").await);
    for _ in 0..4 {
        assert_eq!(round_trip(&lb).await, other.name);
    }
    assert!(open.echoes("still there").await);
    assert!(!deregistering.is_finished());
    assert_eq!(
        lb.stats().target(&draining.name).unwrap().open_connections,
        1
    );

    // Closing it ends the draining.
    drop(open);
    tokio::time::timeout(PATIENCE, deregistering)
        .await
        .expect("deregistering returned once the connection closed")
        .unwrap()
        .unwrap();
    let health = lb.target_health().await.unwrap();
    assert_eq!(health.len(), 1);
    assert_eq!(health[0].target, other.target());
    lb.deregister_targets(&[draining.target()]).await.unwrap();
}

#[tokio::test]
async fn deregistering_cuts_connections_still_open_after_the_delay() {
    let a = Backend::start("a").await;
    let delay = Duration::from_millis(500);
    let lb = balancer(
        config(Algorithm::RoundRobin).with_deregistration_delay(delay),
        &[&a],
    )
    .await;
    let mut open = Client::connect(&lb).await.unwrap();
    assert!(open.echoes("hello").await);
    let started = Instant::now();
    tokio::time::timeout(PATIENCE, lb.deregister_targets(&[a.target()]))
        .await
        .unwrap()
        .unwrap();
    assert!(started.elapsed() >= delay, "{:?}", started.elapsed());
    assert!(open.closed().await, "the connection was cut");
    assert!(lb.target_health().await.unwrap().is_empty());
    assert_eq!(open_connections(&lb), 0);
}

/// An HTTP server answering `/health` 200, `/moved` 302 and anything else 503; the
/// request lines it received.
async fn http_backend() -> (SocketAddr, Arc<Mutex<Vec<String>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    let requests = Arc::new(Mutex::new(Vec::new()));
    let seen = requests.clone();
    tokio::spawn(async move {
        while let Ok((connection, _)) = listener.accept().await {
            let seen = seen.clone();
            tokio::spawn(async move {
                let mut connection = BufReader::new(connection);
                let mut line = String::new();
                if connection.read_line(&mut line).await.is_err() {
                    return;
                }
                let status = match line.split(' ').nth(1) {
                    Some("/health") => "200 OK",
                    Some("/moved") => "302 Found",
                    _ => "503 Service Unavailable",
                };
                seen.lock().unwrap().push(line.trim_end().to_owned());
                let response = format!("HTTP/1.1 {status}\r\nContent-Length: 0\r\n\r\n");
                let _ = connection.write_all(response.as_bytes()).await;
            });
        }
    });
    (address, requests)
}

#[tokio::test]
async fn http_health_checks_get_the_path_and_match_the_code() {
    let (address, requests) = http_backend().await;
    let check = |path: &str, matcher: &str| {
        config(Algorithm::RoundRobin).with_health_check(
            HealthCheck::http(path, matcher.parse::<Matcher>().unwrap())
                .with_interval(Duration::from_millis(100))
                .with_healthy_threshold(1)
                .with_unhealthy_threshold(1),
        )
    };
    let state = async |path: &str, matcher: &str| {
        let lb = TcpLoadBalancer::bind(check(path, matcher)).await.unwrap();
        lb.register_targets(&[Target::new("a", address)])
            .await
            .unwrap();
        let health = wait(&lb, "checked", |t| t[0].state != TargetState::Initial).await;
        (health[0].state, health[0].reason.clone())
    };
    assert_eq!(
        state("/health", "200-399").await,
        (TargetState::Healthy, None)
    );
    assert_eq!(
        state("/moved", "200-399").await,
        (TargetState::Healthy, None)
    );
    let mismatch = |code: u16| {
        Some(format!(
            "Target.ResponseCodeMismatch: Health checks failed with these codes: [{code}]"
        ))
    };
    assert_eq!(
        state("/moved", "200").await,
        (TargetState::Unhealthy, mismatch(302))
    );
    assert_eq!(
        state("/error", "200-399").await,
        (TargetState::Unhealthy, mismatch(503))
    );
    let seen = requests.lock().unwrap().clone();
    assert!(
        seen.contains(&"GET /health HTTP/1.1".to_owned()),
        "{seen:?}"
    );

    // An HTTP check on something that does not speak HTTP.
    let not_http = Backend::start("a").await;
    let lb = TcpLoadBalancer::bind(check("/", "200")).await.unwrap();
    lb.register_targets(&[not_http.target()]).await.unwrap();
    let health = wait(&lb, "checked", |t| t[0].state != TargetState::Initial).await;
    assert_eq!(health[0].state, TargetState::Unhealthy);
    assert_eq!(
        health[0].reason.as_deref(),
        Some("Target.FailedHealthChecks: Health checks failed: the response is not HTTP")
    );
}

#[tokio::test]
async fn a_health_check_that_gets_no_answer_times_out() {
    // Accepts, never answers.
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    let _silent = tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((connection, _)) = listener.accept().await {
            held.push(connection);
        }
    });
    let lb = TcpLoadBalancer::bind(
        config(Algorithm::RoundRobin).with_health_check(
            HealthCheck::http("/", Matcher::default())
                .with_interval(Duration::from_millis(100))
                .with_timeout(Duration::from_millis(100))
                .with_unhealthy_threshold(1),
        ),
    )
    .await
    .unwrap();
    lb.register_targets(&[Target::new("a", address)])
        .await
        .unwrap();
    let health = wait(&lb, "checked", |t| t[0].state != TargetState::Initial).await;
    assert_eq!(
        (health[0].state, health[0].reason.as_deref()),
        (
            TargetState::Unhealthy,
            Some("Target.Timeout: Request timed out")
        )
    );
}

#[tokio::test]
async fn bind_errors_say_which_address_and_why() {
    let taken = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = taken.local_addr().unwrap();
    let error = TcpLoadBalancer::bind(TcpLoadBalancerConfig::new(address))
        .await
        .unwrap_err();
    let Error::LoadBalancerBind {
        address: at, kind, ..
    } = &error
    else {
        panic!("{error:?}");
    };
    assert_eq!((*at, *kind), (address, std::io::ErrorKind::AddrInUse));
    assert!(
        error
            .to_string()
            .starts_with(&format!("load balancer cannot listen on {address}: ")),
        "{error}"
    );

    // Not an address of this machine (TEST-NET-1).
    let elsewhere: SocketAddr = "192.0.2.1:8080".parse().unwrap();
    let error = TcpLoadBalancer::bind(TcpLoadBalancerConfig::new(elsewhere))
        .await
        .unwrap_err();
    assert!(
        matches!(&error, Error::LoadBalancerBind { address, kind: std::io::ErrorKind::AddrNotAvailable, .. } if *address == elsewhere),
        "{error:?}"
    );

    let error = TcpLoadBalancer::bind(
        TcpLoadBalancerConfig::default()
            .with_health_check(HealthCheck::tcp().with_healthy_threshold(0)),
    )
    .await
    .unwrap_err();
    assert_eq!(
        error.to_string(),
        "invalid load balancer configuration: health check healthy threshold must be at least 1"
    );
}

#[tokio::test]
async fn shutdown_closes_the_listener_and_cuts_connections() {
    let a = Backend::start("a").await;
    let lb = balancer(config(Algorithm::RoundRobin), &[&a]).await;
    let open = Client::connect(&lb).await.unwrap();
    let address = lb.local_addr();
    lb.shutdown();
    assert!(open.closed().await, "the connection was cut");
    let deadline = Instant::now() + PATIENCE;
    while TcpStream::connect(address).await.is_ok() {
        assert!(Instant::now() < deadline, "still listening");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    assert_eq!(
        lb.register_targets(&[a.target()])
            .await
            .unwrap_err()
            .to_string(),
        "load balancer web: it is shut down"
    );
    tokio::time::timeout(PATIENCE, lb.deregister_targets(&[a.target()]))
        .await
        .unwrap()
        .unwrap();
    assert!(lb.target_health().await.unwrap().is_empty());
}

#[tokio::test]
async fn it_is_usable_as_a_trait_object() {
    let a = Backend::start("a").await;
    let lb: Arc<dyn LoadBalancer> = Arc::new(
        TcpLoadBalancer::bind(config(Algorithm::RoundRobin))
            .await
            .unwrap(),
    );
    assert_eq!(lb.name(), "web");
    lb.register_targets(&[a.target()]).await.unwrap();
    assert_eq!(lb.target_health().await.unwrap()[0].target, a.target());
    assert!(format!("{lb:?}").starts_with("TcpLoadBalancer { name: \"web\""));
}

/// A deregistration delay past ELB's limit of 3,600 s (here a "never cut" `Duration::MAX`)
/// is refused at bind with an error naming the limit, rather than overflowing an Instant
/// inside the library.
#[tokio::test]
async fn a_huge_deregistration_delay_is_refused() {
    use ecs_core::load_balancer::{TcpLoadBalancer, TcpLoadBalancerConfig};
    let err = TcpLoadBalancer::bind(
        TcpLoadBalancerConfig::default().with_deregistration_delay(Duration::MAX),
    )
    .await
    .unwrap_err();
    assert!(err.to_string().contains("limit of 3600 s"), "{err}");
}
