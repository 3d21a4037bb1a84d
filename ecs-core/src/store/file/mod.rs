//! [`FileStore`]: the crash-safe store on disk, one redb database file
//! (what it is, why redb, how bad files are refused: on the type).

#[cfg(test)]
mod crash_tests;
mod open;
mod schema;
mod scratch;
mod sniff;
#[cfg(test)]
mod tests;

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use redb::{Database, ReadableDatabase, ReadableTable, ReadableTableMetadata, TableError};

use super::{Kind, Record, Store, Write};
use crate::Error;

/// A [`Store`] in one file, crash-safe: each [`Store::commit`] is one redb transaction,
/// durable (synced to disk) when it returns. Clones share the open database.
///
/// Its methods run redb's blocking calls on tokio's blocking threads
/// ([`tokio::task::spawn_blocking`]), so they need a tokio runtime. A commit whose
/// future is dropped before it completes may still be applied. The file is locked
/// while open: a second [`FileStore::open`] of it, in this process or another, is
/// [`Error::StoreInUse`]; it is closed when the last clone is dropped.
///
/// # Why redb
///
/// [redb](https://www.redb.org) is an embedded ACID key-value store in pure Rust (no C
/// library to build or link, no `unsafe` in our code to call it): copy-on-write B-trees,
/// a commit that is durable when it returns (checksummed pages and an `fsync`; a crash
/// leaves the last committed transaction), one writer at a time with readers beside it,
/// and locks that refuse a second process on the same file. The store needs only that:
/// a table per [`Kind`], transactions over several tables, and a meta table. SQLite
/// (through rusqlite with `bundled`) would do as well, at the cost of a C build and SQL
/// for what are only gets and puts. redb is pinned exactly, since its file format is the
/// store's: an upgrade is tested on files the pinned version wrote.
///
/// # The file
///
/// A table `meta` holds `format` (`"ecs-store"`), `schema_version` (1) and
/// `created_by`; a table per kind, named by [`Kind::as_str`], maps each key to its
/// version and value. A newer layout bumps the schema version, and adds a migration
/// from the one before, which [`FileStore::open`] runs in one transaction.
///
/// # Bad files
///
/// [`FileStore::open`] writes nothing to a file before it knows the file is a store this
/// build reads: it looks at its first bytes (another program's file is
/// [`Error::StoreForeign`]), then has redb open it, check every page and repair it if a
/// crash left it so, with every write kept in memory (a damaged or truncated file is
/// [`Error::StoreCorrupt`]), then reads its meta table (none, or another format's:
/// [`Error::StoreForeign`]; a newer schema: [`Error::StoreVersion`]). Only then is it
/// opened for writing. A new store is written beside its path and linked into place, so
/// a crash while creating one never leaves a file that later opens refuse.
#[derive(Clone)]
pub struct FileStore {
    shared: Arc<Shared>,
}

struct Shared {
    db: Database,
    path: PathBuf,
}

impl FileStore {
    /// The schema version this build reads and writes; older stores are migrated to it
    /// when opened.
    pub const SCHEMA_VERSION: u32 = schema::SCHEMA_VERSION;

    /// Opens the store at `path`, creating it if there is no file there (its directory
    /// must exist).
    ///
    /// A file that is not a store this build can read is refused, and left exactly as it
    /// was: another program's file, or a redb database without the store's meta table
    /// ([`Error::StoreForeign`]); a truncated or damaged store ([`Error::StoreCorrupt`]);
    /// a store of a newer schema ([`Error::StoreVersion`]). A store left by a crash is
    /// repaired to its last commit. A store of an older schema is migrated, in one
    /// transaction.
    ///
    /// It blocks: it reads the whole file once to check it (and once more to repair it
    /// after a crash). In async code, call it in [`tokio::task::spawn_blocking`].
    pub fn open(path: impl AsRef<Path>) -> Result<Self, Error> {
        Self::open_with(path.as_ref(), schema::CURRENT)
    }

    fn open_with(path: &Path, schema: schema::Schema<'_>) -> Result<Self, Error> {
        let db = open::open(path, schema)?;
        Ok(Self {
            shared: Arc::new(Shared {
                db,
                path: path.to_path_buf(),
            }),
        })
    }

    /// The file's path, as given to [`FileStore::open`].
    pub fn path(&self) -> &Path {
        &self.shared.path
    }

    /// Runs `f` on a blocking thread.
    async fn blocking<T: Send + 'static>(
        &self,
        f: impl FnOnce(&Shared) -> Result<T, Error> + Send + 'static,
    ) -> Result<T, Error> {
        let shared = self.shared.clone();
        tokio::task::spawn_blocking(move || f(&shared))
            .await
            .map_err(|e| failed(&self.shared.path, format!("its blocking task failed: {e}")))?
    }
}

impl fmt::Debug for FileStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FileStore")
            .field("path", &self.shared.path)
            .finish()
    }
}

#[async_trait::async_trait]
impl Store for FileStore {
    async fn load(&self, kind: Kind) -> Result<Vec<Record>, Error> {
        self.blocking(move |s| {
            let txn = s.db.begin_read().at(&s.path)?;
            let table = match txn.open_table(schema::table(kind)) {
                Ok(table) => table,
                Err(TableError::TableDoesNotExist(_)) => return Ok(Vec::new()),
                Err(e) => return Err(failed(&s.path, e)),
            };
            let mut records = Vec::with_capacity(table.len().at(&s.path)? as usize);
            for entry in table.iter().at(&s.path)? {
                let (key, stored) = entry.at(&s.path)?;
                let (version, value) = stored.value();
                records.push(Record {
                    kind,
                    key: key.value().to_string(),
                    version,
                    value: value.to_vec(),
                });
            }
            Ok(records)
        })
        .await
    }

    async fn get(&self, kind: Kind, key: &str) -> Result<Option<Record>, Error> {
        let key = key.to_string();
        self.blocking(move |s| {
            let txn = s.db.begin_read().at(&s.path)?;
            let table = match txn.open_table(schema::table(kind)) {
                Ok(table) => table,
                Err(TableError::TableDoesNotExist(_)) => return Ok(None),
                Err(e) => return Err(failed(&s.path, e)),
            };
            let stored = table.get(key.as_str()).at(&s.path)?;
            Ok(stored.map(|stored| {
                let (version, value) = stored.value();
                Record {
                    kind,
                    key: key.clone(),
                    version,
                    value: value.to_vec(),
                }
            }))
        })
        .await
    }

    async fn commit(&self, writes: Vec<Write>) -> Result<Vec<u64>, Error> {
        if writes.is_empty() {
            return Ok(Vec::new());
        }
        self.blocking(move |s| {
            let txn = s.db.begin_write().at(&s.path)?;
            let applied = apply(&txn, &writes, &s.path);
            match applied {
                Ok(versions) => {
                    txn.commit().at(&s.path)?;
                    Ok(versions)
                }
                Err(e) => {
                    // Dropped unaborted, it aborts all the same: the conflict is the news.
                    let _ = txn.abort();
                    Err(e)
                }
            }
        })
        .await
    }
}

/// Checks and applies `writes` in `txn`, in order; the caller commits or aborts.
fn apply(txn: &redb::WriteTransaction, writes: &[Write], path: &Path) -> Result<Vec<u64>, Error> {
    // Each table is opened once per transaction.
    let mut tables = Vec::new();
    let mut versions = Vec::with_capacity(writes.len());
    for write in writes {
        let kind = write.kind();
        let at = match tables.iter().position(|(k, _)| *k == kind) {
            Some(at) => at,
            None => {
                let table = txn.open_table(schema::table(kind)).at(path)?;
                tables.push((kind, table));
                tables.len() - 1
            }
        };
        let table = &mut tables[at].1;
        let found = table
            .get(write.key())
            .at(path)?
            .map(|stored| stored.value().0);
        let version = write.check(found)?;
        match write {
            Write::Put { key, value, .. } => {
                table
                    .insert(key.as_str(), (version, value.as_slice()))
                    .at(path)?;
            }
            Write::Delete { key, .. } => {
                table.remove(key.as_str()).at(path)?;
            }
        }
        versions.push(version);
    }
    Ok(versions)
}

/// A store failure at `path`.
fn failed(path: &Path, reason: impl fmt::Display) -> Error {
    Error::Store {
        path: Some(path.to_path_buf()),
        reason: reason.to_string(),
    }
}

/// Turns any redb error into [`Error::Store`] at a path.
trait At<T> {
    fn at(self, path: &Path) -> Result<T, Error>;
}

impl<T, E: fmt::Display> At<T> for Result<T, E> {
    fn at(self, path: &Path) -> Result<T, Error> {
        self.map_err(|e| failed(path, e))
    }
}

/// An I/O failure at `path`, while doing `what`.
fn io_error(path: &Path, what: &str, e: std::io::Error) -> Error {
    failed(path, format!("{what}: {e}"))
}
