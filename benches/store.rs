//! The stores side by side: on disk ([`ecs::store::FileStore`], one redb file in a
//! temporary directory) and, built with the `etcd` feature, on the three-member etcd
//! cluster of `scripts/etcd` ([`ecs::etcd::EtcdStore`], `ECS_ETCD_ENDPOINTS`):
//! - writes per second for task state changes: single-record replace commits one after
//!   another (each durable, synced to disk or agreed by etcd's majority, before the
//!   next), then batches of 100 replaces per commit;
//! - recovery: opening a store of 100,000 task records of about 500 bytes of JSON each
//!   and loading them all; for the file, after a clean close and after a crash (a copy
//!   of the file taken while it was open, as SIGKILL leaves it, which redb repairs).
//!
//! ```text
//! eval "$(scripts/etcd)"; cargo bench --bench store --features etcd
//! ```
//!
//! Without `--bench` (as `cargo test --benches` runs it) it does the same on a few
//! records.

use std::path::Path;
use std::time::{Duration, Instant};

use ecs::store::{FileStore, Kind, Store, Write};

/// One store's figures, for the table at the end.
#[derive(Default)]
struct Figures {
    single: f64,
    batched: f64,
    write_100k: f64,
    recovery: f64,
}

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

async fn create_tasks(store: &dyn Store, n: usize) {
    for chunk in (0..n).collect::<Vec<_>>().chunks(10_000) {
        let writes = chunk
            .iter()
            .map(|&i| Write::create(Kind::Task, key(i), task_json(i, "PROVISIONING")))
            .collect();
        store.commit(writes).await.unwrap();
    }
}

/// Task state changes, one commit each: returns commits per second.
async fn sequential(store: &dyn Store, sizes: &Sizes, versions: &mut [u64]) -> f64 {
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
    per_second(sizes.sequential, elapsed)
}

/// Task state changes, `BATCH` per commit.
async fn batched(store: &dyn Store, sizes: &Sizes, versions: &mut [u64]) -> f64 {
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
    per_second(writes, elapsed)
}

/// Opens the store file at `path` and loads every task: the time of both.
async fn recover(path: &Path, n: usize, what: &str) -> Duration {
    let p = path.to_path_buf();
    recover_with(n, what, async || {
        let store = tokio::task::spawn_blocking(move || FileStore::open(p))
            .await
            .unwrap()
            .unwrap();
        Box::new(store) as Box<dyn Store>
    })
    .await
}

/// Loads every task of `store`, opened by `open`: the time of both.
async fn recover_with(
    n: usize,
    what: &str,
    open: impl AsyncFnOnce() -> Box<dyn Store>,
) -> Duration {
    let start = Instant::now();
    let store = open().await;
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

/// Task state changes, one commit at a time, then in batches.
async fn writes(store: &dyn Store, sizes: &Sizes) -> Figures {
    create_tasks(store, sizes.tasks).await;
    let mut versions = vec![1u64; sizes.tasks];
    Figures {
        single: sequential(store, sizes, &mut versions).await,
        batched: batched(store, sizes, &mut versions).await,
        ..Figures::default()
    }
}

async fn file(sizes: &Sizes) -> Figures {
    let dir = tempfile::tempdir().unwrap();
    println!("== FileStore, in {}", dir.path().display());

    let path = dir.path().join("writes.ecs");
    let store = FileStore::open(&path).unwrap();
    let mut figures = writes(&store, sizes).await;
    drop(store);

    let path = dir.path().join("recovery.ecs");
    let store = FileStore::open(&path).unwrap();
    let start = Instant::now();
    create_tasks(&store, sizes.recovery).await;
    figures.write_100k = start.elapsed().as_secs_f64();
    let bytes: usize = task_json(0, "PROVISIONING").len();
    println!(
        "wrote {} tasks of {bytes} bytes in commits of 10,000: {:.2} s",
        sizes.recovery, figures.write_100k
    );
    // What SIGKILL leaves: the file as it is while open, after the last commit.
    let crashed = dir.path().join("crashed.ecs");
    std::fs::copy(&path, &crashed).unwrap();
    drop(store);
    let size = std::fs::metadata(&path).unwrap().len();
    println!("file: {:.1} MiB", size as f64 / (1 << 20) as f64);

    let clean = recover(&path, sizes.recovery, "after a clean close").await;
    let crash = recover(&crashed, sizes.recovery, "after a crash (repaired)").await;
    figures.recovery = clean.as_secs_f64();
    println!(
        "recovery time for {} tasks: {:.2} s (clean), {:.2} s (after a crash)",
        sizes.recovery,
        clean.as_secs_f64(),
        crash.as_secs_f64()
    );
    figures
}

#[cfg(feature = "etcd")]
async fn etcd(sizes: &Sizes) -> Figures {
    use ecs::etcd::EtcdStore;
    use ecs::etcd::etcd_client::{Client, DeleteOptions};
    let endpoints: Vec<String> = std::env::var("ECS_ETCD_ENDPOINTS")
        .expect("ECS_ETCD_ENDPOINTS: run `eval \"$(scripts/etcd)\"` first")
        .split(',')
        .map(str::to_owned)
        .collect();
    let client = Client::connect(&endpoints, None).await.unwrap();
    let root = format!("ecs-bench/store-{}", std::process::id());
    println!("== EtcdStore, {} under {root}/", endpoints.join(","));
    let store = EtcdStore::open(&client, &format!("{root}/writes"))
        .await
        .unwrap();
    let mut figures = writes(&store, sizes).await;
    drop(store);

    let recovery_root = format!("{root}/recovery");
    let store = EtcdStore::open(&client, &recovery_root).await.unwrap();
    let start = Instant::now();
    create_tasks(&store, sizes.recovery).await;
    figures.write_100k = start.elapsed().as_secs_f64();
    println!(
        "wrote {} tasks in commits of 10,000 (each staged and applied whole): {:.2} s",
        sizes.recovery, figures.write_100k
    );
    drop(store);
    let took = recover_with(sizes.recovery, "from etcd", async || {
        Box::new(EtcdStore::open(&client, &recovery_root).await.unwrap()) as Box<dyn Store>
    })
    .await;
    figures.recovery = took.as_secs_f64();
    client
        .kv_client()
        .delete(format!("{root}/"), Some(DeleteOptions::new().with_prefix()))
        .await
        .unwrap();
    figures
}

async fn run(sizes: &Sizes) {
    let file = file(sizes).await;
    #[cfg(feature = "etcd")]
    let etcd = Some(etcd(sizes).await);
    #[cfg(not(feature = "etcd"))]
    let etcd: Option<Figures> = {
        println!("== EtcdStore: not built; run with --features etcd (and scripts/etcd)");
        None
    };
    println!();
    println!(
        "| store | single-record commits/s | writes/s in commits of {BATCH} | {} tasks written | their recovery (open + load) |",
        sizes.recovery
    );
    for (name, f) in [
        ("FileStore", Some(&file)),
        ("EtcdStore (3 members)", etcd.as_ref()),
    ] {
        if let Some(f) = f {
            println!(
                "| {name} | {:.0} | {:.0} | {:.2} s | {:.2} s |",
                f.single, f.batched, f.write_100k, f.recovery
            );
        }
    }
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
