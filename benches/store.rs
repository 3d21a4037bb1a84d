//! The store on disk ([`ecs::store::FileStore`], one redb file in a temporary directory):
//! - writes per second for task state changes: single-record replace commits one after
//!   another (each durable, synced to disk, before the next), then batches of 100
//!   replaces per commit;
//! - recovery: opening a store of 100,000 task records of about 500 bytes of JSON each
//!   and loading them all, after a clean close and after a crash (a copy of the file
//!   taken while it was open, as SIGKILL leaves it, which redb repairs).
//!
//! ```text
//! cargo bench --bench store
//! ```
//!
//! Without `--bench` (as `cargo test --benches` runs it) it does the same on a few
//! records.

use std::path::Path;
use std::time::{Duration, Instant};

use ecs::store::{FileStore, Kind, Store, Write};

struct Sizes {
    tasks: usize,
    sequential: usize,
    batches: usize,
    recovery: usize,
}

const FULL: Sizes = Sizes {
    tasks: 1_000,
    sequential: 2_000,
    batches: 200,
    recovery: 100_000,
};

const QUICK: Sizes = Sizes {
    tasks: 200,
    sequential: 50,
    batches: 5,
    recovery: 2_000,
};

const BATCH: usize = 100;

const STATUSES: [&str; 4] = ["PROVISIONING", "PENDING", "RUNNING", "STOPPED"];

/// A task record as the control plane would keep it: about 500 bytes of JSON.
fn task_json(i: usize, status: &str) -> Vec<u8> {
    format!(
        concat!(
            r#"{{"taskArn":"arn:aws:ecs:us-east-1:123456789012:task/default/{:032x}","#,
            r#""taskDefinitionArn":"arn:aws:ecs:us-east-1:123456789012:task-definition/web:7","#,
            r#""containerInstanceArn":"arn:aws:ecs:us-east-1:123456789012:container-instance/default/{:032x}","#,
            r#""group":"service:web","startedBy":"ecs-svc/{:019}","desiredStatus":"RUNNING","#,
            r#""lastStatus":"{}","cpu":"256","memory":"512","version":{},"#,
            r#""containers":[{{"name":"web","image":"nginx:1.27","runtimeId":"{:016x}"}}]}}"#
        ),
        i,
        i % 5_000,
        i / 10,
        status,
        i % 7,
        i,
    )
    .into_bytes()
}

fn key(i: usize) -> String {
    format!("default/{i:032x}")
}

fn per_second(n: usize, d: Duration) -> f64 {
    n as f64 / d.as_secs_f64()
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

async fn create_tasks(store: &FileStore, n: usize) {
    for chunk in (0..n).collect::<Vec<_>>().chunks(10_000) {
        let writes = chunk
            .iter()
            .map(|&i| Write::create(Kind::Task, key(i), task_json(i, "PROVISIONING")))
            .collect();
        store.commit(writes).await.unwrap();
    }
}

/// Task state changes, one commit each: returns commits per second.
async fn sequential(store: &FileStore, sizes: &Sizes, versions: &mut [u64]) {
    let mut latencies = Vec::with_capacity(sizes.sequential);
    let start = Instant::now();
    for n in 0..sizes.sequential {
        let i = (n * 7_919) % sizes.tasks;
        let status = STATUSES[(versions[i] as usize) % STATUSES.len()];
        let write = Write::replace(Kind::Task, key(i), versions[i], task_json(i, status));
        let t = Instant::now();
        versions[i] = store.commit(vec![write]).await.unwrap()[0];
        latencies.push(t.elapsed());
    }
    let elapsed = start.elapsed();
    latencies.sort_unstable();
    println!(
        "single-record commits: {} in {:.2} s: {:.0} writes per second \
         (latency p50 {:.2} ms, p99 {:.2} ms)",
        sizes.sequential,
        elapsed.as_secs_f64(),
        per_second(sizes.sequential, elapsed),
        percentile(&latencies, 0.5).as_secs_f64() * 1e3,
        percentile(&latencies, 0.99).as_secs_f64() * 1e3,
    );
}

/// Task state changes, `BATCH` per commit.
async fn batched(store: &FileStore, sizes: &Sizes, versions: &mut [u64]) {
    let start = Instant::now();
    for b in 0..sizes.batches {
        let indices: Vec<usize> = (0..BATCH).map(|j| (b * BATCH + j) % sizes.tasks).collect();
        let writes = indices
            .iter()
            .map(|&i| {
                let status = STATUSES[(versions[i] as usize) % STATUSES.len()];
                Write::replace(Kind::Task, key(i), versions[i], task_json(i, status))
            })
            .collect();
        let got = store.commit(writes).await.unwrap();
        for (i, v) in indices.into_iter().zip(got) {
            versions[i] = v;
        }
    }
    let elapsed = start.elapsed();
    let writes = sizes.batches * BATCH;
    println!(
        "batched commits of {BATCH}: {} commits, {writes} writes in {:.2} s: \
         {:.0} writes per second ({:.0} commits per second)",
        sizes.batches,
        elapsed.as_secs_f64(),
        per_second(writes, elapsed),
        per_second(sizes.batches, elapsed),
    );
}

/// Opens the store at `path` and loads every task: the time of each.
async fn recover(path: &Path, n: usize, what: &str) -> Duration {
    let p = path.to_path_buf();
    let start = Instant::now();
    let store = tokio::task::spawn_blocking(move || FileStore::open(p))
        .await
        .unwrap()
        .unwrap();
    let opened = start.elapsed();
    let tasks = store.load(Kind::Task).await.unwrap();
    let total = start.elapsed();
    assert_eq!(tasks.len(), n);
    println!(
        "recovery of {n} tasks {what}: open {:.3} s + load {:.3} s = {:.3} s",
        opened.as_secs_f64(),
        (total - opened).as_secs_f64(),
        total.as_secs_f64(),
    );
    total
}

async fn run(sizes: &Sizes) {
    let dir = tempfile::tempdir().unwrap();
    println!("store in {}", dir.path().display());

    let path = dir.path().join("writes.ecs");
    let store = FileStore::open(&path).unwrap();
    create_tasks(&store, sizes.tasks).await;
    let mut versions = vec![1u64; sizes.tasks];
    sequential(&store, sizes, &mut versions).await;
    batched(&store, sizes, &mut versions).await;
    drop(store);

    let path = dir.path().join("recovery.ecs");
    let store = FileStore::open(&path).unwrap();
    let start = Instant::now();
    create_tasks(&store, sizes.recovery).await;
    let bytes: usize = task_json(0, "PROVISIONING").len();
    println!(
        "wrote {} tasks of {bytes} bytes in commits of 10,000: {:.2} s",
        sizes.recovery,
        start.elapsed().as_secs_f64()
    );
    // What SIGKILL leaves: the file as it is while open, after the last commit.
    let crashed = dir.path().join("crashed.ecs");
    std::fs::copy(&path, &crashed).unwrap();
    drop(store);
    let size = std::fs::metadata(&path).unwrap().len();
    println!("file: {:.1} MiB", size as f64 / (1 << 20) as f64);

    let clean = recover(&path, sizes.recovery, "after a clean close").await;
    let crash = recover(&crashed, sizes.recovery, "after a crash (repaired)").await;
    println!(
        "recovery time for {} tasks: {:.2} s (clean), {:.2} s (after a crash)",
        sizes.recovery,
        clean.as_secs_f64(),
        crash.as_secs_f64()
    );
}

fn main() {
    // `cargo test --benches` runs bench targets with no arguments but `--bench`'s absence;
    // keep that quick.
    let quick = !std::env::args().any(|a| a == "--bench");
    let sizes = if quick { &QUICK } else { &FULL };
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(run(sizes));
}
