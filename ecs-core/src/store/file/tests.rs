//! FileStore's own tests: the conformance checks, persistence, bad files (refused and
//! left byte for byte as they were), crash leftovers, locking, and migrations.

use std::path::{Path, PathBuf};

use redb::{Database, ReadableDatabase, ReadableTable, TableDefinition};

use super::schema::{self, META, Migration, MigrationError, Schema};
use super::*;
use crate::store::{StoreExt, conformance};

const RAW_META: TableDefinition<&str, &str> = TableDefinition::new("meta");

fn dir() -> tempfile::TempDir {
    tempfile::tempdir().unwrap()
}

/// Every file in `dir` and its bytes.
fn snapshot(dir: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    let mut files: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_file())
        .map(|p| {
            let bytes = std::fs::read(&p).unwrap();
            (p, bytes)
        })
        .collect();
    files.sort();
    files
}

/// Opens `path` with `schema`, expects an error, and checks that nothing in its
/// directory changed: not a byte of the file, no file added.
fn refused_with(path: &Path, schema: Schema<'_>) -> Error {
    let dir = path.parent().unwrap();
    let before = snapshot(dir);
    let err = FileStore::open_with(path, schema).expect_err("the open should fail");
    let after = snapshot(dir);
    assert_eq!(
        before.len(),
        after.len(),
        "files were added or removed: {err}"
    );
    for ((p, a), (_, b)) in before.iter().zip(&after) {
        assert!(a == b, "{} changed by a failed open ({err})", p.display());
    }
    err
}

fn refused(path: &Path) -> Error {
    refused_with(path, schema::CURRENT)
}

/// A store at `path` with `n` tasks of about 500 bytes, closed.
async fn store_with_tasks(path: &Path, n: usize) {
    let store = FileStore::open(path).unwrap();
    let writes = (0..n)
        .map(|i| Write::create(Kind::Task, format!("task-{i:05}"), task_json(i)))
        .collect();
    store.commit(writes).await.unwrap();
}

fn task_json(i: usize) -> String {
    format!(
        r#"{{"taskArn":"arn:aws:ecs:us-east-1:123456789012:task/default/{i:032x}","lastStatus":"RUNNING","desiredStatus":"RUNNING","pad":"{}"}}"#,
        "x".repeat(380)
    )
}

/// A raw redb file with a meta table holding `entries` (none: no meta table).
fn raw_redb(path: &Path, entries: Option<&[(&str, &str)]>) {
    let db = Database::create(path).unwrap();
    let txn = db.begin_write().unwrap();
    {
        let mut other = txn
            .open_table(TableDefinition::<&str, &str>::new("settings"))
            .unwrap();
        other.insert("theme", "dark").unwrap();
        if let Some(entries) = entries {
            let mut meta = txn.open_table(RAW_META).unwrap();
            for (k, v) in entries {
                meta.insert(*k, *v).unwrap();
            }
        }
    }
    txn.commit().unwrap();
}

/// A copy of `path` taken while `store` has it open, after its last commit: what a
/// crash (a SIGKILL) leaves on disk. redb must repair it when it is next opened.
fn crash_copy(store: &FileStore, to: &Path) {
    std::fs::copy(store.path(), to).unwrap();
}

#[tokio::test]
async fn conformance() {
    let dir = dir();
    conformance::run(&FileStore::open(dir.path().join("s")).unwrap()).await;
}

#[tokio::test]
async fn a_new_store_is_created_whole_with_its_meta_table() {
    let dir = dir();
    let path = dir.path().join("state.ecs");
    drop(FileStore::open(&path).unwrap());
    // Only the store: the file it was written to was linked into place and removed.
    let files: Vec<_> = snapshot(dir.path()).into_iter().map(|(p, _)| p).collect();
    assert_eq!(files, std::slice::from_ref(&path));
    let db = redb::ReadOnlyDatabase::open(&path).unwrap();
    let txn = db.begin_read().unwrap();
    let meta = txn.open_table(RAW_META).unwrap();
    let get = |k: &str| meta.get(k).unwrap().map(|v| v.value().to_string());
    assert_eq!(get("format").as_deref(), Some("ecs-store"));
    assert_eq!(get("schema_version").as_deref(), Some("1"));
    assert!(get("created_by").unwrap().starts_with("ecs-core "));
    for kind in Kind::ALL {
        txn.open_table(schema::table(kind)).unwrap();
    }
}

#[tokio::test]
async fn records_survive_reopening_and_versions_go_on() {
    let dir = dir();
    let path = dir.path().join("state.ecs");
    let store = FileStore::open(&path).unwrap();
    store
        .create(Kind::Service, "web", b"1".to_vec())
        .await
        .unwrap();
    store
        .replace(Kind::Service, "web", 1, b"2".to_vec())
        .await
        .unwrap();
    store
        .create(Kind::TaskDefinition, "web:1", b"td".to_vec())
        .await
        .unwrap();
    store
        .create(Kind::Task, "gone", b"x".to_vec())
        .await
        .unwrap();
    store.delete(Kind::Task, "gone", 1).await.unwrap();
    let before: Vec<_> = futures::future::join_all(Kind::ALL.map(|k| store.load(k))).await;
    drop(store);

    let store = FileStore::open(&path).unwrap();
    let after: Vec<_> = futures::future::join_all(Kind::ALL.map(|k| store.load(k))).await;
    assert_eq!(before, after);
    assert_eq!(
        store
            .replace(Kind::Service, "web", 2, b"3".to_vec())
            .await
            .unwrap(),
        3
    );
    assert_eq!(store.get(Kind::Task, "gone").await.unwrap(), None);
}

#[tokio::test]
async fn clones_share_the_open_file_which_is_locked() {
    let dir = dir();
    let path = dir.path().join("state.ecs");
    let store = FileStore::open(&path).unwrap();
    let clone = store.clone();
    store
        .create(Kind::Cluster, "default", b"{}".to_vec())
        .await
        .unwrap();
    assert!(clone.get(Kind::Cluster, "default").await.unwrap().is_some());

    let err = FileStore::open(&path).unwrap_err();
    assert_eq!(err, Error::StoreInUse { path: path.clone() });
    assert!(err.to_string().contains("already open"), "{err}");
    // Refusing the second open disturbed nothing.
    clone
        .create(Kind::Cluster, "other", b"{}".to_vec())
        .await
        .unwrap();
    drop((store, clone));
    let store = FileStore::open(&path).unwrap();
    assert_eq!(store.load(Kind::Cluster).await.unwrap().len(), 2);
}

#[tokio::test]
async fn a_store_left_by_a_crash_opens_with_every_commit() {
    let dir = dir();
    let path = dir.path().join("state.ecs");
    let crashed = dir.path().join("crashed.ecs");
    store_with_tasks(&path, 300).await;
    let store = FileStore::open(&path).unwrap();
    store
        .replace(Kind::Task, "task-00007", 1, b"last".to_vec())
        .await
        .unwrap();
    crash_copy(&store, &crashed);
    drop(store);

    let store = FileStore::open(&crashed).unwrap();
    let tasks = store.load(Kind::Task).await.unwrap();
    assert_eq!(tasks.len(), 300);
    assert_eq!(
        (tasks[7].version, tasks[7].value.as_slice()),
        (2, b"last".as_slice())
    );
    store
        .create(Kind::Task, "after", b"x".to_vec())
        .await
        .unwrap();
}

#[test]
fn other_programs_files_are_refused_and_left_alone() {
    let dir = dir();
    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        ("empty", vec![], "an empty file"),
        (
            "random",
            {
                // 64 KiB of random bytes, not starting like text.
                let mut rng = fastrand::Rng::with_seed(7);
                let mut v: Vec<u8> = (0..65_536).map(|_| rng.u8(..)).collect();
                v[0] = 0xfe;
                v
            },
            "unrecognised data",
        ),
        (
            "json",
            br#"{"services": [{"name": "web"}]}"#.to_vec(),
            "JSON text",
        ),
        (
            "sqlite",
            {
                let mut v = b"SQLite format 3\0".to_vec();
                v.resize(8192, 0);
                v
            },
            "an SQLite database",
        ),
        ("text", b"#!/bin/sh\necho hello\n".to_vec(), "text"),
    ];
    for (name, bytes, found) in cases {
        let path = dir.path().join(name);
        std::fs::write(&path, &bytes).unwrap();
        let err = refused(&path);
        match &err {
            Error::StoreForeign { path: p, found: f } => {
                assert_eq!(p, &path);
                assert!(f.starts_with(found), "{name}: {f}");
            }
            other => panic!("{name}: {other:?}"),
        }
        assert!(err.to_string().ends_with("; it was left as it is"), "{err}");
    }
}

#[test]
fn redb_files_that_are_not_stores_are_refused_and_left_alone() {
    let dir = dir();
    let no_meta = dir.path().join("no-meta.redb");
    raw_redb(&no_meta, None);
    let err = refused(&no_meta);
    assert_eq!(
        err.to_string(),
        format!(
            "{} is not an ecs store (it holds a redb database without ecs-store's meta \
             table); it was left as it is",
            no_meta.display()
        )
    );

    let other_format = dir.path().join("other.redb");
    raw_redb(
        &other_format,
        Some(&[("format", "acme-cache"), ("schema_version", "1")]),
    );
    assert!(
        matches!(refused(&other_format), Error::StoreForeign { found, .. }
        if found == "a redb database of format \"acme-cache\"")
    );

    let meta_without_format = dir.path().join("meta.redb");
    raw_redb(&meta_without_format, Some(&[("owner", "someone")]));
    assert!(matches!(
        refused(&meta_without_format),
        Error::StoreForeign { .. }
    ));

    // A meta table of other types.
    let typed = dir.path().join("typed.redb");
    {
        let db = Database::create(&typed).unwrap();
        let txn = db.begin_write().unwrap();
        txn.open_table(TableDefinition::<u64, u64>::new("meta"))
            .unwrap()
            .insert(1, 2)
            .unwrap();
        txn.commit().unwrap();
    }
    assert!(matches!(refused(&typed), Error::StoreForeign { .. }));
}

#[test]
fn a_store_of_a_newer_schema_is_refused_and_left_alone() {
    let dir = dir();
    let path = dir.path().join("newer.ecs");
    raw_redb(
        &path,
        Some(&[("format", "ecs-store"), ("schema_version", "7")]),
    );
    let err = refused(&path);
    assert_eq!(
        err,
        Error::StoreVersion {
            path: path.clone(),
            found: 7,
            supported: 1
        }
    );
    assert_eq!(
        err.to_string(),
        format!(
            "store {}: written by a newer version: schema 7, this build reads up to 1; \
             it was left as it is",
            path.display()
        )
    );

    let garbled = dir.path().join("garbled.ecs");
    raw_redb(
        &garbled,
        Some(&[("format", "ecs-store"), ("schema_version", "seven")]),
    );
    assert!(matches!(refused(&garbled), Error::StoreCorrupt { .. }));
}

#[tokio::test]
async fn files_left_by_a_crash_are_checked_before_their_repair() {
    // A newer build's store, and another program's redb file, both left by a crash:
    // redb must repair them to read them; that repair happens in memory only.
    let dir = dir();
    let newer = dir.path().join("newer.ecs");
    let foreign = dir.path().join("foreign.redb");
    for (path, meta) in [
        (
            &newer,
            Some(&[("format", "ecs-store"), ("schema_version", "2")][..]),
        ),
        (&foreign, None),
    ] {
        let live = dir.path().join("live");
        raw_redb(&live, meta);
        let db = Database::open(&live).unwrap();
        let txn = db.begin_write().unwrap();
        txn.open_table(TableDefinition::<&str, &str>::new("settings"))
            .unwrap()
            .insert("font", "mono")
            .unwrap();
        txn.commit().unwrap();
        std::fs::copy(&live, path).unwrap();
        drop(db);
        std::fs::remove_file(&live).unwrap();
        // It does need a repair.
        assert!(matches!(
            redb::ReadOnlyDatabase::open(path.as_path()),
            Err(redb::DatabaseError::RepairAborted)
        ));
    }
    assert!(matches!(
        refused(&newer),
        Error::StoreVersion { found: 2, .. }
    ));
    assert!(matches!(refused(&foreign), Error::StoreForeign { .. }));
}

#[tokio::test]
async fn truncated_stores_are_refused_and_left_alone() {
    let dir = dir();
    let whole = dir.path().join("whole.ecs");
    store_with_tasks(&whole, 2_000).await;
    let bytes = std::fs::read(&whole).unwrap();
    let len = bytes.len();
    assert!(len > 1 << 20, "{len}");
    let mut cuts = vec![
        1,
        5,
        9,
        64,
        512,
        4096,
        8192,
        65_536,
        len / 3,
        len / 2,
        len - 4096,
    ];
    let mut rng = fastrand::Rng::with_seed(11);
    cuts.extend((0..8).map(|_| rng.usize(1..len)));
    for cut in cuts {
        let path = dir.path().join("cut.ecs");
        std::fs::write(&path, &bytes[..cut]).unwrap();
        let err = refused(&path);
        assert!(
            matches!(err, Error::StoreCorrupt { .. }),
            "cut at {cut} of {len}: {err:?}"
        );
        std::fs::remove_file(&path).unwrap();
    }
}

#[tokio::test]
async fn damaged_stores_are_refused_and_left_alone() {
    let dir = dir();
    let whole = dir.path().join("whole.ecs");
    store_with_tasks(&whole, 2_000).await;
    let bytes = std::fs::read(&whole).unwrap();
    // Damage inside a record's value (a run of "x" padding), a key, and the middle.
    // (Damage to pages that hold nothing, free space, harms nothing and is let be.)
    let find = |what: &[u8]| bytes.windows(what.len()).position(|w| w == what).unwrap();
    for at in [find(&[b'x'; 64]), find(b"task-01000"), bytes.len() / 2] {
        let path = dir.path().join("damaged.ecs");
        let mut damaged = bytes.clone();
        for b in &mut damaged[at..at + 16] {
            *b ^= 0x5a;
        }
        std::fs::write(&path, &damaged).unwrap();
        let err = refused(&path);
        assert!(
            matches!(err, Error::StoreCorrupt { .. }),
            "damage at {at}: {err:?}"
        );
        std::fs::remove_file(&path).unwrap();
    }
}

#[test]
fn paths_that_cannot_be_a_store() {
    let dir = dir();
    let err = FileStore::open(dir.path()).unwrap_err();
    assert!(
        matches!(&err, Error::Store { reason, .. } if reason == "it is a directory"),
        "{err:?}"
    );
    let missing = dir.path().join("no/such/dir/state.ecs");
    let err = FileStore::open(&missing).unwrap_err();
    assert!(
        matches!(&err, Error::Store { path: Some(p), reason } if *p == missing && reason.starts_with("cannot create it")),
        "{err:?}"
    );
    assert!(snapshot(dir.path()).is_empty());
}

// Migrations, with made-up schemas: a v0 that kept tasks as plain values in a table
// "tasks_v0", and a v2 that adds a record.

const TASKS_V0: TableDefinition<&str, &str> = TableDefinition::new("tasks_v0");

fn v0_to_v1(txn: &redb::WriteTransaction) -> Result<(), MigrationError> {
    let old = txn.open_table(TASKS_V0)?;
    let mut new = txn.open_table(schema::table(Kind::Task))?;
    for entry in old.iter()? {
        let (key, value) = entry?;
        new.insert(key.value(), (1, value.value().as_bytes()))?;
    }
    drop((old, new));
    txn.delete_table(TASKS_V0)?;
    for kind in Kind::ALL {
        txn.open_table(schema::table(kind))?;
    }
    Ok(())
}

fn v1_to_v2(txn: &redb::WriteTransaction) -> Result<(), MigrationError> {
    txn.open_table(schema::table(Kind::Cluster))?
        .insert("migrated", (1, b"v2".as_slice()))?;
    Ok(())
}

fn failing(txn: &redb::WriteTransaction) -> Result<(), MigrationError> {
    // Changes something, then fails: the change must not stay.
    txn.open_table(schema::table(Kind::Cluster))?
        .insert("half-done", (1, b"".as_slice()))?;
    Err("the made-up migration failed".into())
}

fn schema_v(version: u32, migrations: &[Migration]) -> Schema<'_> {
    Schema {
        version,
        migrations,
    }
}

fn schema_version(path: &Path) -> String {
    let db = redb::ReadOnlyDatabase::open(path).unwrap();
    let txn = db.begin_read().unwrap();
    let meta = txn.open_table(META).unwrap();
    meta.get("schema_version")
        .unwrap()
        .unwrap()
        .value()
        .to_string()
}

#[tokio::test]
async fn an_older_schema_is_migrated_in_one_transaction() {
    let dir = dir();
    let path = dir.path().join("v0.ecs");
    {
        let db = Database::create(&path).unwrap();
        let txn = db.begin_write().unwrap();
        {
            let mut meta = txn.open_table(RAW_META).unwrap();
            meta.insert("format", "ecs-store").unwrap();
            meta.insert("schema_version", "0").unwrap();
            let mut tasks = txn.open_table(TASKS_V0).unwrap();
            tasks.insert("t-2", "two").unwrap();
            tasks.insert("t-1", "one").unwrap();
        }
        txn.commit().unwrap();
    }
    let migrations = [
        Migration {
            from: 0,
            run: v0_to_v1,
        },
        Migration {
            from: 1,
            run: v1_to_v2,
        },
    ];

    // A build of schema 1 with the v0 migration: migrated to 1.
    let store = FileStore::open_with(&path, schema_v(1, &migrations[..1])).unwrap();
    let tasks = store.load(Kind::Task).await.unwrap();
    let got: Vec<_> = tasks
        .iter()
        .map(|r| (r.key.as_str(), r.version, r.value.as_slice()))
        .collect();
    assert_eq!(
        got,
        [("t-1", 1, b"one".as_slice()), ("t-2", 1, b"two".as_slice())]
    );
    drop(store);
    assert_eq!(schema_version(&path), "1");

    // A build of schema 2 whose migration fails: nothing of it stays, still schema 1.
    let failing = [Migration {
        from: 1,
        run: failing,
    }];
    let err = FileStore::open_with(&path, schema_v(2, &failing)).unwrap_err();
    assert!(
        err.to_string().contains(
            "migrating schema 1 to 2 failed: the made-up migration failed; the file was left at schema 1"
        ),
        "{err}"
    );
    assert_eq!(schema_version(&path), "1");
    let store = FileStore::open(&path).unwrap();
    assert_eq!(store.get(Kind::Cluster, "half-done").await.unwrap(), None);
    drop(store);

    // A build of schema 3 without a migration from 2 refuses a schema 1 store.
    let err = refused_with(&path, schema_v(3, &migrations[1..]));
    assert_eq!(
        err,
        Error::StoreVersion {
            path: path.clone(),
            found: 1,
            supported: 3
        }
    );
    assert!(
        err.to_string()
            .contains("schema 1 is older than any this build can migrate to 3")
    );

    // Both migrations, from 0, in one go: on a fresh v0 copy... and from 1 here.
    let store = FileStore::open_with(&path, schema_v(2, &migrations)).unwrap();
    assert!(
        store
            .get(Kind::Cluster, "migrated")
            .await
            .unwrap()
            .is_some()
    );
    drop(store);
    assert_eq!(schema_version(&path), "2");
    // Opening again runs no migration (it would fail: "migrated" exists, and the
    // version is current anyway).
    drop(FileStore::open_with(&path, schema_v(2, &migrations)).unwrap());
    // And this build (schema 1) now refuses it.
    assert!(matches!(
        refused(&path),
        Error::StoreVersion {
            found: 2,
            supported: 1,
            ..
        }
    ));
}
