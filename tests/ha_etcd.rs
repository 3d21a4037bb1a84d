//! High availability on a real three-member etcd (`scripts/etcd`) and real Docker:
//! three `ecs-server --etcd` processes, one leading; the leader killed mid-deployment
//! (SIGKILL) or frozen past its lease (SIGSTOP).

#[path = "support/engines.rs"]
mod engines;
#[path = "support/ha.rs"]
mod ha;

use std::collections::HashMap;
use std::time::{Duration, Instant};

use ha::{Nodes, TaskView, containers, ok, poll, service_tasks};
use serde_json::json;

const TTL: Duration = Duration::from_secs(3);

/// One scenario at a time: their control planes share Docker and the cluster name
/// (`default`), and a new leader's recovery removes the containers of its cluster that
/// its state does not know, another scenario's among them.
static SERIAL: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// A task definition of one container that sleeps; with `healthy_after`, a health
/// check that passes from that many seconds after it starts (checked every 5 s, ECS's
/// least interval).
fn task_definition(family: &str, healthy_after: Option<u32>) -> serde_json::Value {
    let mut container = json!({
        "name": "app",
        "image": engines::image(),
        "memory": 32,
        "command": ["sh", "-c", "trap 'exit 0' TERM; sleep 3600 & wait"],
    });
    if let Some(secs) = healthy_after {
        container["command"] = json!([
            "sh",
            "-c",
            format!("trap 'exit 0' TERM; sleep {secs}; touch /tmp/ok; sleep 3600 & wait")
        ]);
        container["healthCheck"] = json!({
            "command": ["CMD-SHELL", "test -f /tmp/ok"],
            "interval": 5, "timeout": 2, "retries": 1, "startPeriod": 0
        });
    }
    json!({"family": family, "containerDefinitions": [container]})
}

/// Polls the service's tasks until `f` holds of them.
async fn wait_tasks(
    addr: &str,
    what: &str,
    within: Duration,
    f: impl Fn(&HashMap<String, TaskView>) -> bool,
) -> HashMap<String, TaskView> {
    poll(what, within, || service_tasks(addr, "web"), f).await
}

/// Polls the service at `addr` until `f` holds of DescribeServices' answer.
async fn wait_service(
    addr: &str,
    service: &str,
    what: &str,
    within: Duration,
    f: impl Fn(&serde_json::Value) -> bool,
) -> serde_json::Value {
    let look = || async {
        let answer = ok(addr, "DescribeServices", json!({"services": [service]})).await;
        answer["services"][0].clone()
    };
    poll(what, within, look, f).await
}

/// The engine's containers of `family` against the leader's tasks: one container per
/// task and container name ever (nothing started twice), and the tasks with a running
/// container exactly the tasks the leader holds RUNNING (nothing orphaned).
fn check_engine(family: &str, tasks: &HashMap<String, TaskView>) {
    let all = containers(family);
    let mut per_slot: HashMap<(&str, &str), usize> = HashMap::new();
    for c in &all {
        *per_slot
            .entry((c.task.as_str(), c.name.as_str()))
            .or_default() += 1;
    }
    let twice: Vec<_> = per_slot.iter().filter(|(_, n)| **n > 1).collect();
    assert!(
        twice.is_empty(),
        "containers made twice: {twice:?}\n{all:#?}"
    );
    let mut running: Vec<&str> = all
        .iter()
        .filter(|c| c.state == "running")
        .map(|c| c.task.as_str())
        .collect();
    running.sort_unstable();
    running.dedup();
    let mut want: Vec<&str> = tasks
        .iter()
        .filter(|(_, t)| t.status == "RUNNING")
        .map(|(arn, _)| arn.as_str())
        .collect();
    want.sort_unstable();
    assert_eq!(
        running, want,
        "tasks with running containers against RUNNING tasks\n{all:#?}"
    );
}

async fn clean_up(nodes: Nodes, family: &str) {
    nodes.stop().await;
    ha::remove_containers(family);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_leader_killed_mid_deployment_is_succeeded_and_the_deployment_finishes() {
    let _one = SERIAL.lock().await;
    let family = format!("ha-kill-{}", std::process::id());
    let mut nodes = Nodes::start("kill", 3, TTL);
    let (first, addr) = nodes.leader(&[], Duration::from_secs(60)).await;

    // Health checks on both revisions: a task counts as healthy once its check passes
    // (without one, ECS counts it after 40 s).
    ok(
        &addr,
        "RegisterTaskDefinition",
        task_definition(&family, Some(0)),
    )
    .await;
    ok(
        &addr,
        "CreateService",
        json!({"serviceName": "web", "taskDefinition": family, "desiredCount": 4,
               "deploymentConfiguration": {"minimumHealthyPercent": 100, "maximumPercent": 150}}),
    )
    .await;
    wait_tasks(&addr, "4 healthy tasks", Duration::from_secs(60), |t| {
        t.values()
            .filter(|t| t.status == "RUNNING" && t.health == "HEALTHY")
            .count()
            == 4
    })
    .await;

    // Revision 2 becomes healthy 3 s after it starts: the rollout takes several steps.
    ok(
        &addr,
        "RegisterTaskDefinition",
        task_definition(&family, Some(3)),
    )
    .await;
    ok(
        &addr,
        "UpdateService",
        json!({"service": "web", "taskDefinition": format!("{family}:2")}),
    )
    .await;
    let before = wait_tasks(
        &addr,
        "a task of revision 2 running",
        Duration::from_secs(60),
        |t| {
            t.values()
                .any(|t| t.status == "RUNNING" && t.revision == "2")
        },
    )
    .await;
    let mid = ok(&addr, "DescribeServices", json!({"services": ["web"]})).await;
    assert_eq!(
        mid["services"][0]["deployments"].as_array().map(Vec::len),
        Some(2),
        "the deployment is under way when the leader dies: {mid:#}"
    );

    let killed = Instant::now();
    nodes.kill(first).await;
    let (next, addr) = nodes.leader(&[first], Duration::from_secs(30)).await;
    let serving = killed.elapsed();
    let led = nodes.nodes[next].printed_at(" leads (term ").unwrap() - killed;
    println!("a follower led {led:?} after the leader was killed, and served after {serving:?}");
    assert!(
        led <= TTL + Duration::from_secs(1),
        "{} led {led:?} after the kill, past the lease ({TTL:?}) and a second",
        nodes.nodes[next].name
    );

    let done = wait_service(
        &addr,
        "web",
        "the deployment finished",
        Duration::from_secs(120),
        |s| {
            s["runningCount"] == 4
                && s["deployments"].as_array().map(Vec::len) == Some(1)
                && s["deployments"][0]["rolloutState"] == "COMPLETED"
        },
    )
    .await;
    assert_eq!(done["desiredCount"], 4);
    let after = service_tasks(&addr, "web").await;
    let running: Vec<_> = after.values().filter(|t| t.status == "RUNNING").collect();
    assert_eq!(running.len(), 4, "{after:#?}");
    assert!(
        running.iter().all(|t| t.revision == "2"),
        "all on revision 2: {after:#?}"
    );
    // Tasks that ran before the kill and still run are the same containers (adopted).
    let kept: Vec<_> = before
        .iter()
        .filter(|(arn, t)| {
            t.status == "RUNNING" && after.get(*arn).is_some_and(|a| a.status == "RUNNING")
        })
        .collect();
    assert!(
        !kept.is_empty(),
        "a task of revision 2 ran through the failover"
    );
    for (arn, t) in kept {
        assert_eq!(after[arn].runtime, t.runtime, "{arn} kept its container");
    }
    check_engine(&family, &after);
    clean_up(nodes, &family).await;
}

/// Two containers: `app` starts once `db` is HEALTHY (its check passes from the first
/// run, 5 s after it starts): a task spends 5 s half started.
fn gated_task_definition(family: &str) -> serde_json::Value {
    json!({"family": family, "containerDefinitions": [
        {"name": "db", "image": engines::image(), "memory": 16,
         "command": ["sh", "-c", "trap 'exit 0' TERM; touch /tmp/ok; sleep 3600 & wait"],
         "healthCheck": {"command": ["CMD-SHELL", "test -f /tmp/ok"],
                         "interval": 5, "timeout": 2, "retries": 1, "startPeriod": 0}},
        {"name": "app", "image": engines::image(), "memory": 16,
         "command": ["sh", "-c", "trap 'exit 0' TERM; sleep 3600 & wait"],
         "dependsOn": [{"containerName": "db", "condition": "HEALTHY"}]}
    ]})
}

/// Polls until every task of `family` is where it is meant to be (RUNNING ones
/// running, stopped ones stopped); returns them as DescribeTasks says.
async fn settled_tasks(
    addr: &str,
    family: &str,
    context: &str,
) -> HashMap<String, serde_json::Value> {
    let settled = |tasks: &HashMap<String, serde_json::Value>| {
        tasks.values().all(|t| {
            let (last, want) = (&t["lastStatus"], &t["desiredStatus"]);
            last == want || (last == "PENDING" && want == "STOPPED")
        })
    };
    let what = format!("tasks settled ({context})");
    poll(
        &what,
        Duration::from_secs(120),
        || family_tasks(addr, family),
        settled,
    )
    .await
}

/// The tasks as [`check_engine`] takes them.
fn views(tasks: &HashMap<String, serde_json::Value>) -> HashMap<String, TaskView> {
    tasks
        .iter()
        .map(|(arn, t)| (arn.clone(), TaskView::from_json(t)))
        .collect()
}

/// The leader frozen while tasks it started wait, half started, for a dependency: once
/// resumed it must create none of their second containers (nor anything else).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_leader_frozen_past_its_lease_is_fenced_off() {
    let _one = SERIAL.lock().await;
    let family = format!("ha-freeze-{}", std::process::id());
    let nodes = Nodes::start("freeze", 3, TTL);
    let (frozen, addr) = nodes.leader(&[], Duration::from_secs(60)).await;
    ok(
        &addr,
        "RegisterTaskDefinition",
        gated_task_definition(&family),
    )
    .await;
    ok(
        &addr,
        "CreateService",
        json!({"serviceName": "web", "taskDefinition": family, "desiredCount": 2}),
    )
    .await;
    wait_service(
        &addr,
        "web",
        "2 tasks running",
        Duration::from_secs(60),
        |s| s["runningCount"] == 2,
    )
    .await;
    // Two more; frozen while one of them waits for its `db` to turn healthy.
    ok(
        &addr,
        "UpdateService",
        json!({"service": "web", "desiredCount": 4}),
    )
    .await;
    let half_started = |cs: &Vec<ha::EngineContainer>| {
        let dbs = cs
            .iter()
            .filter(|c| c.name == "db" && c.state == "running")
            .count();
        dbs > cs.iter().filter(|c| c.name == "app").count()
    };
    poll(
        "a task half started",
        Duration::from_secs(60),
        || async { containers(&family) },
        half_started,
    )
    .await;
    nodes.signal(frozen, "STOP");
    let at_freeze = containers(&family);
    let apps_at_freeze = at_freeze.iter().filter(|c| c.name == "app").count();
    assert!(
        apps_at_freeze < 4,
        "the work was done before the freeze: {at_freeze:#?}"
    );

    let (_, leader) = nodes.leader(&[frozen], Duration::from_secs(30)).await;
    wait_service(
        &leader,
        "web",
        "4 tasks running under the new leader",
        Duration::from_secs(90),
        |s| s["runningCount"] == 4 && s["desiredCount"] == 4,
    )
    .await;
    let settled = views(&settled_tasks(&leader, &family, "before the resume").await);
    check_engine(&family, &settled);

    // Resumed: it learns that it lost, and acts on nothing more.
    let resumed = jiff::Timestamp::now();
    nodes.signal(frozen, "CONT");
    nodes.nodes[frozen]
        .wait_line("lost the leadership", Duration::from_secs(15))
        .await;
    // Its API closed with its leadership.
    assert!(
        ha::call(&addr, "ListServices", &json!({})).await.is_err(),
        "the old leader still answers"
    );
    // It prints that line once its control plane halted, every loop ended (its
    // half-started tasks' runners among them): nothing of it acts after this point,
    // and what it did since the resume is in Docker's events.
    let now = views(&settled_tasks(&leader, &family, "after the resume").await);
    assert_eq!(
        now, settled,
        "the tasks changed after the old leader resumed"
    );
    check_engine(&family, &now);
    let events = std::process::Command::new("docker")
        .args(["-H", &engines::docker_host(), "events"])
        .args([
            "--since",
            &format!("{}.{:09}", resumed.as_second(), resumed.subsec_nanosecond()),
        ])
        .args([
            "--until",
            &jiff::Timestamp::now()
                .as_second()
                .saturating_add(1)
                .to_string(),
        ])
        .args(["--filter", "type=container"])
        .args([
            "--filter",
            &format!("label=com.amazonaws.ecs.task-definition-family={family}"),
        ])
        .args(["--format", "{{.Action}} {{.Actor.ID}}"])
        .output()
        .unwrap();
    let events = String::from_utf8_lossy(&events.stdout);
    let acted: Vec<&str> = events
        .lines()
        .filter(|l| !l.starts_with("exec_") && !l.starts_with("health_status"))
        .collect();
    assert!(
        acted.is_empty(),
        "containers acted on after the resume: {acted:#?}"
    );
    clean_up(nodes, &family).await;
}

/// Every task of `family` (desired RUNNING or STOPPED), by ARN, at `addr`.
async fn family_tasks(addr: &str, family: &str) -> HashMap<String, serde_json::Value> {
    let mut arns: Vec<serde_json::Value> = Vec::new();
    for desired in ["RUNNING", "STOPPED"] {
        let listed = ok(
            addr,
            "ListTasks",
            json!({"family": family, "desiredStatus": desired}),
        )
        .await;
        arns.extend(listed["taskArns"].as_array().cloned().unwrap_or_default());
    }
    let mut out = HashMap::new();
    for part in arns.chunks(100) {
        let described = ok(addr, "DescribeTasks", json!({"tasks": part})).await;
        for t in described["tasks"].as_array().unwrap() {
            out.insert(t["taskArn"].as_str().unwrap().to_owned(), t.clone());
        }
    }
    out
}

/// Seeds of random leader kills (SIGKILL, then restarted) and freezes (SIGSTOP until
/// another leads, then SIGCONT) among random RunTask, StopTask and UpdateService calls
/// to whoever leads. Afterwards: every acknowledged task is known with what was
/// acknowledged of it, the service's desired count is one that was asked for, and on
/// the engine no task has two containers and the running containers are exactly the
/// RUNNING tasks. `ECS_HA_SEEDS` runs more seeds (2 by default).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn random_leader_kills_and_freezes_lose_and_double_nothing() {
    let _one = SERIAL.lock().await;
    let seeds: u64 = std::env::var("ECS_HA_SEEDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(2);
    for seed in 0..seeds {
        random_failovers(seed).await;
    }
}

async fn random_failovers(seed: u64) {
    let mut rng = fastrand::Rng::with_seed(seed);
    let family = format!("ha-seed{seed}-{}", std::process::id());
    let ttl = Duration::from_secs(2);
    let mut nodes = Nodes::start(&format!("seed{seed}"), 3, ttl);
    let (mut leader, mut addr) = nodes.leader(&[], Duration::from_secs(60)).await;
    ok(
        &addr,
        "RegisterTaskDefinition",
        task_definition(&family, None),
    )
    .await;
    ok(
        &addr,
        "CreateService",
        json!({"serviceName": "web", "taskDefinition": family, "desiredCount": 2}),
    )
    .await;
    // What was acknowledged: tasks run (and whether a stop was acknowledged), and the
    // desired counts that may be the service's last (the last acknowledged, and any
    // asked for after it whose answer was lost).
    let mut runs: HashMap<String, bool> = HashMap::new();
    let mut desired_candidates: Vec<u64> = vec![2];
    let mut faults = Vec::new();
    for step in 0..14 {
        match rng.u8(0..10) {
            0 | 1 => {
                let victim = leader;
                faults.push(format!("step {step}: SIGKILL {}", nodes.nodes[victim].name));
                nodes.kill(victim).await;
                nodes.leader(&[victim], Duration::from_secs(30)).await;
                nodes.restart(victim);
            }
            2 => {
                let victim = leader;
                faults.push(format!("step {step}: SIGSTOP {}", nodes.nodes[victim].name));
                nodes.signal(victim, "STOP");
                nodes.leader(&[victim], Duration::from_secs(30)).await;
                nodes.signal(victim, "CONT");
            }
            3..=5 => {
                let body = json!({"taskDefinition": family, "count": rng.u32(1..=2)});
                if let Ok((200, answer)) = ha::call(&addr, "RunTask", &body).await {
                    for t in answer["tasks"].as_array().unwrap() {
                        runs.insert(t["taskArn"].as_str().unwrap().to_owned(), false);
                    }
                }
            }
            6 | 7 => {
                let running: Vec<String> = runs
                    .iter()
                    .filter(|(_, s)| !**s)
                    .map(|(a, _)| a.clone())
                    .collect();
                if let Some(arn) =
                    (!running.is_empty()).then(|| &running[rng.usize(..running.len())])
                {
                    let body = json!({"task": arn});
                    if let Ok((200, _)) = ha::call(&addr, "StopTask", &body).await {
                        runs.insert(arn.clone(), true);
                    }
                }
            }
            _ => {
                let n = rng.u64(0..=4);
                let body = json!({"service": "web", "desiredCount": n});
                match ha::call(&addr, "UpdateService", &body).await {
                    Ok((200, _)) => desired_candidates = vec![n],
                    _ => desired_candidates.push(n),
                }
            }
        }
        // Requests go to whichever node last said it leads: a resumed one that has
        // not yet noticed its loss too, as a client would (it must acknowledge nothing).
        (leader, addr) = nodes.leader(&[], Duration::from_secs(30)).await;
    }
    let context = format!("seed {seed}, faults: {faults:#?}");

    // Settled: the service at one of the counts asked for, and the engine in step.
    let (_, addr) = nodes.settled_leader(Duration::from_secs(30)).await;
    let service = wait_service(
        &addr,
        "web",
        "the service settled",
        Duration::from_secs(120),
        |s| {
            s["runningCount"] == s["desiredCount"]
                && s["pendingCount"] == 0
                && s["deployments"].as_array().map(Vec::len) == Some(1)
        },
    )
    .await;
    let desired = service["desiredCount"].as_u64().unwrap();
    assert!(
        desired_candidates.contains(&desired),
        "desired {desired}, asked {desired_candidates:?}; {context}"
    );
    let tasks = settled_tasks(&addr, &family, &context).await;
    for (arn, stopped) in &runs {
        let task = tasks
            .get(arn)
            .unwrap_or_else(|| panic!("acknowledged task {arn} is lost; {context}"));
        if *stopped {
            assert_eq!(task["desiredStatus"], "STOPPED", "{arn}; {context}");
        }
    }
    check_engine(&family, &views(&tasks));
    println!(
        "seed {seed}: {} faults, {} tasks acknowledged, desired {desired}: ok",
        faults.len(),
        runs.len()
    );
    clean_up(nodes, &family).await;
}
