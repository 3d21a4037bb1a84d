//! Crash durability: a child process commits in a loop and is killed with SIGKILL at a
//! random moment (while creating the store, opening or repairing it, or committing);
//! the store must then open, hold every commit the child reported done, and no part of
//! a commit without the rest. Sixty rounds on the same file.
//!
//! The child is this test binary, run again on the ignored test [`child`]. A process
//! kill leaves the kernel's page cache intact, so this exercises redb's commit and
//! repair, not the disk's flush; a power cut is not simulated.
//!
//! `ECS_STORE_CRASH_SEED` replays a run (its seed is printed).

use std::io::{BufRead, BufReader, Read};
use std::os::unix::process::ExitStatusExt;
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use super::FileStore;
use crate::store::{Kind, Store, Write};

const CHILD_ENV: &str = "ECS_STORE_CRASH_CHILD";
const ROUNDS: usize = 60;
/// The longest a child runs before it is killed, from its start (about the time it
/// takes to open the store)...
const MAX_START: Duration = Duration::from_millis(40);
/// ... or from its opening the store.
const MAX_COMMITTING: Duration = Duration::from_millis(150);

fn key(n: u64) -> String {
    format!("task-{n:08}")
}

/// Task `n` as first written, and once the next commit has replaced it.
fn value(n: u64, replaced: bool) -> Vec<u8> {
    let status = if replaced { "STOPPED" } else { "RUNNING" };
    format!(
        r#"{{"n":{n},"lastStatus":"{status}","pad":"{}"}}"#,
        "x".repeat(400)
    )
    .into_bytes()
}

/// Commit `n`: the counter to version `n`, task `n` created, task `n - 1` replaced.
fn commit_writes(n: u64) -> Vec<Write> {
    let mut writes = Vec::with_capacity(3);
    writes.push(if n == 1 {
        Write::create(Kind::Cluster, "counter", n.to_string())
    } else {
        Write::replace(Kind::Cluster, "counter", n - 1, n.to_string())
    });
    writes.push(Write::create(Kind::Task, key(n), value(n, false)));
    if n > 1 {
        writes.push(Write::replace(
            Kind::Task,
            key(n - 1),
            1,
            value(n - 1, true),
        ));
    }
    writes
}

#[test]
#[ignore = "the child process of commits_survive_sigkill; does nothing on its own"]
fn child() {
    let Some(path) = std::env::var_os(CHILD_ENV) else {
        return;
    };
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let store = FileStore::open(&path).unwrap();
        println!("opened");
        // Bounded, in case the parent dies before it kills this.
        let deadline = Instant::now() + Duration::from_secs(30);
        while Instant::now() < deadline {
            let n = store
                .get(Kind::Cluster, "counter")
                .await
                .unwrap()
                .map_or(0, |r| r.version);
            store.commit(commit_writes(n + 1)).await.unwrap();
            println!("committed {}", n + 1);
        }
    });
}

/// Checks the store holds commits 1 to `c` exactly, and returns `c`.
async fn check(store: &FileStore) -> u64 {
    let c = store
        .get(Kind::Cluster, "counter")
        .await
        .unwrap()
        .map_or(0, |r| r.version);
    let tasks = store.load(Kind::Task).await.unwrap();
    assert_eq!(tasks.len() as u64, c, "the counter and the tasks disagree");
    for (n, task) in (1..).zip(&tasks) {
        let last = n == c;
        assert_eq!(task.key, key(n));
        assert_eq!(task.version, if last { 1 } else { 2 }, "{}", task.key);
        assert!(task.value == value(n, !last), "{}: wrong value", task.key);
    }
    c
}

/// When a child is killed.
#[derive(Debug, Clone, Copy)]
enum Kill {
    /// This long after it was started: while it starts, opens (repairs) the store, or
    /// commits.
    AfterStart(Duration),
    /// This long after it said it had opened the store: while it commits.
    AfterOpen(Duration),
}

/// Runs the child, kills it, and returns the last commit it reported done, and whether
/// it had opened the store.
fn run_child(exe: &Path, store: &Path, kill: Kill) -> (Option<u64>, bool) {
    let mut child = Command::new(exe)
        .args([
            "--exact",
            "store::file::crash_tests::child",
            "--ignored",
            "--nocapture",
            "--test-threads=1",
            "-q",
        ])
        .env(CHILD_ENV, store)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let mut stderr = child.stderr.take().unwrap();
    let (opened_tx, opened_rx) = mpsc::channel();
    let lines = std::thread::spawn(move || {
        let mut lines = Vec::new();
        let mut reader = BufReader::new(stdout);
        let mut line = String::new();
        // Only whole lines count: a line cut by the kill was not reported.
        while reader.read_line(&mut line).unwrap_or(0) > 0 {
            if line.ends_with('\n') {
                if line == "opened\n" {
                    let _ = opened_tx.send(());
                }
                lines.push(line.trim_end().to_string());
            }
            line.clear();
        }
        lines
    });
    let errors = std::thread::spawn(move || {
        let mut text = String::new();
        let _ = stderr.read_to_string(&mut text);
        text
    });
    match kill {
        Kill::AfterStart(after) => std::thread::sleep(after),
        Kill::AfterOpen(after) => {
            // If it never opens, it is killed all the same, and the checks say why.
            let _ = opened_rx.recv_timeout(Duration::from_secs(60));
            std::thread::sleep(after);
        }
    }
    // SIGKILL on Unix.
    child.kill().unwrap();
    let status = child.wait().unwrap();
    let lines = lines.join().unwrap();
    let errors = errors.join().unwrap();
    assert_eq!(
        status.signal(),
        Some(9),
        "the child ended on its own ({status}) before it was killed:\n{errors}"
    );
    let last = lines
        .iter()
        .filter_map(|l| l.strip_prefix("committed "))
        .map(|n| n.parse::<u64>().unwrap())
        .max();
    (last, lines.iter().any(|l| l == "opened"))
}

#[test]
fn commits_survive_sigkill() {
    let seed = std::env::var("ECS_STORE_CRASH_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| fastrand::u64(..));
    eprintln!("ECS_STORE_CRASH_SEED={seed}");
    let mut rng = fastrand::Rng::with_seed(seed);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("state.ecs");
    let exe = std::env::current_exe().unwrap();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();

    let (mut held, mut opened_rounds, mut committing_rounds, mut in_flight) = (0, 0, 0, 0);
    for round in 0..ROUNDS {
        // One round in four from the start, the others once the store is open.
        let from_start = rng.u8(0..4) == 0;
        let max = if from_start {
            MAX_START
        } else {
            MAX_COMMITTING
        };
        let after = Duration::from_micros(rng.u64(0..max.as_micros() as u64));
        let kill = if from_start {
            Kill::AfterStart(after)
        } else {
            Kill::AfterOpen(after)
        };
        let (reported, opened) = run_child(&exe, &path, kill);
        if !path.exists() {
            // Killed while creating the store: nothing committed, nothing there.
            assert_eq!((held, reported), (0, None), "round {round} (seed {seed})");
            continue;
        }
        let store =
            FileStore::open(&path).unwrap_or_else(|e| panic!("round {round} (seed {seed}): {e}"));
        let now = rt.block_on(check(&store));
        drop(store);
        let done = reported.unwrap_or(held);
        // Everything reported is there, and at most the commit in flight besides.
        assert!(
            now >= done && now <= done + 1 && now >= held,
            "round {round} (seed {seed}): the child reported {reported:?} after {held}, \
             the store holds {now}"
        );
        held = now;
        // The commit in flight when the kill came landed (it had returned, unreported).
        in_flight += usize::from(reported.is_some() && now == done + 1);
        opened_rounds += usize::from(opened);
        committing_rounds += usize::from(reported.is_some());
    }
    eprintln!(
        "{ROUNDS} rounds: {opened_rounds} killed after opening, {committing_rounds} while \
         committing (in {in_flight} of them, the commit in flight had landed unreported); \
         {held} commits held"
    );
    assert!(
        committing_rounds >= ROUNDS / 2,
        "too few rounds reached their commits to show anything ({committing_rounds})"
    );
}
