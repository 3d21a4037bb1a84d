//! Opening a file as a store: creating it atomically when absent; otherwise making sure
//! it is a store this build can read *before* anything writes to it, then opening it
//! for real (redb repairs it after a crash) and migrating it.
//!
//! The check runs redb's own open, with its integrity check, on a [`Scratch`] backend:
//! redb reads the file, verifies every page's checksum, repairs it if a crash left it
//! so, and everything it would write stays in memory. Only a file that passes, holds
//! the store's meta table and a schema this build reads is then opened for writing.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Read};
use std::panic::{self, AssertUnwindSafe};
use std::path::{Path, PathBuf};

use redb::backends::FileBackend;
use redb::{Builder, Database, DatabaseError, ReadableDatabase, StorageError, TableError};

use super::schema::{self, META, Schema};
use super::scratch::Scratch;
use super::sniff::{Sniffed, sniff};
use super::{failed, io_error};
use crate::Error;
use crate::store::Kind;

/// Opens or creates the store at `path`.
pub(super) fn open(path: &Path, schema: Schema<'_>) -> Result<Database, Error> {
    match fs::metadata(path) {
        Err(e) if e.kind() == io::ErrorKind::NotFound => create(path, schema)?,
        Err(e) => return Err(io_error(path, "cannot read its metadata", e)),
        Ok(m) if m.is_dir() => return Err(failed(path, "it is a directory")),
        Ok(m) if !m.is_file() => return Err(failed(path, "it is not a regular file")),
        Ok(_) => {}
    }
    let found = check(path, schema)?;
    let db = Builder::new().open(path).map_err(|e| open_error(path, e))?;
    if found != schema.version {
        let txn = db.begin_write().map_err(|e| failed(path, e))?;
        schema::migrate(&txn, found, path, schema)?;
        txn.commit().map_err(|e| failed(path, e))?;
    }
    Ok(db)
}

/// Creates a new store at `path`, which does not exist: written in full beside it, then
/// linked into place, which fails rather than replace a file that appeared meanwhile
/// (then that file is opened, as if it had been there first). A crash leaves either no
/// store or a whole one, never an empty file at `path`.
fn create(path: &Path, schema: Schema<'_>) -> Result<(), Error> {
    let name = path
        .file_name()
        .ok_or_else(|| failed(path, "it names no file"))?;
    let dir = match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => Path::new("."),
    };
    let scratch = Removed(dir.join(format!(
        ".{}.{}-{:x}.new",
        name.to_string_lossy(),
        std::process::id(),
        fastrand::u64(..)
    )));
    let file = OpenOptions::new()
        .read(true)
        .write(true)
        .create_new(true)
        .open(&scratch.0)
        .map_err(|e| io_error(path, "cannot create it", e))?;
    let backend = FileBackend::new(file).map_err(|e| failed(path, e))?;
    let db = Builder::new()
        .create_with_backend(backend)
        .map_err(|e| failed(path, e))?;
    let txn = db.begin_write().map_err(|e| failed(path, e))?;
    schema::init(&txn, schema).map_err(|e| failed(path, e))?;
    txn.commit().map_err(|e| failed(path, e))?;
    db.close().map_err(|e| failed(path, e))?;
    match fs::hard_link(&scratch.0, path) {
        Ok(()) => {}
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => return Ok(()),
        Err(e) => return Err(io_error(path, "cannot create it", e)),
    }
    drop(scratch);
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(|e| io_error(path, "cannot sync its directory", e))
}

/// A file removed when dropped (best effort).
struct Removed(PathBuf);

impl Drop for Removed {
    fn drop(&mut self) {
        let _ = fs::remove_file(&self.0);
    }
}

/// Checks, without changing it, that an existing file is a store this build can read,
/// and returns its schema version.
fn check(path: &Path, schema: Schema<'_>) -> Result<u32, Error> {
    let mut file = File::open(path).map_err(|e| io_error(path, "cannot open it", e))?;
    let len = file
        .metadata()
        .map_err(|e| io_error(path, "cannot read its metadata", e))?
        .len();
    let mut head = Vec::with_capacity(512);
    file.by_ref()
        .take(512)
        .read_to_end(&mut head)
        .map_err(|e| io_error(path, "cannot read it", e))?;
    drop(file);
    match sniff(&head, len) {
        Sniffed::Redb => {}
        Sniffed::Truncated => return Err(corrupt(path, format!("it is cut short at {len} bytes"))),
        Sniffed::Foreign(found) => {
            return Err(Error::StoreForeign {
                path: path.to_path_buf(),
                found,
            });
        }
    }
    // Opened for writing so that redb's locks are a writer's (a lock for writing needs
    // a file open for writing); nothing is written through it.
    let file = OpenOptions::new()
        .read(true)
        .write(true)
        .open(path)
        .map_err(|e| io_error(path, "cannot open it for reading and writing", e))?;
    let scratch = Scratch::new(file).map_err(|e| io_error(path, "cannot read it", e))?;
    // redb's debug builds assert on some damage rather than return an error.
    panic::catch_unwind(AssertUnwindSafe(|| probe(scratch, path, schema))).unwrap_or_else(|panic| {
        let message = panic
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| panic.downcast_ref::<String>().cloned())
            .unwrap_or_default();
        Err(corrupt(path, format!("redb failed reading it: {message}")))
    })
}

fn probe(scratch: Scratch, path: &Path, schema: Schema<'_>) -> Result<u32, Error> {
    let db = Builder::new()
        .set_check_integrity_on_open(true)
        .create_with_backend(scratch)
        .map_err(|e| open_error(path, e))?;
    let txn = db.begin_read().map_err(|e| corrupt(path, e))?;
    let meta = match txn.open_table(META) {
        Ok(meta) => Some(meta),
        Err(TableError::TableDoesNotExist(_)) => None,
        Err(TableError::TableTypeMismatch { .. }) => {
            return Err(Error::StoreForeign {
                path: path.to_path_buf(),
                found: format!(
                    "a redb database whose meta table is not {}'s",
                    schema::FORMAT
                ),
            });
        }
        Err(e) => return Err(corrupt(path, e)),
    };
    let found = schema::check(meta.as_ref(), path, schema)?;
    if found == schema.version {
        for kind in Kind::ALL {
            match txn.open_table(schema::table(kind)) {
                Ok(_) | Err(TableError::TableDoesNotExist(_)) => {}
                Err(e) => return Err(corrupt(path, format!("its {kind} table: {e}"))),
            }
        }
    }
    Ok(found)
}

fn corrupt(path: &Path, reason: impl std::fmt::Display) -> Error {
    Error::StoreCorrupt {
        path: path.to_path_buf(),
        reason: reason.to_string(),
    }
}

/// What redb's refusal to open a file means for the caller.
fn open_error(path: &Path, e: DatabaseError) -> Error {
    match e {
        DatabaseError::DatabaseAlreadyOpen | DatabaseError::LockProtocolMismatch => {
            Error::StoreInUse {
                path: path.to_path_buf(),
            }
        }
        DatabaseError::UpgradeRequired(format) => Error::StoreForeign {
            path: path.to_path_buf(),
            found: format!(
                "a redb database of file format {format}, which this build's redb does not read"
            ),
        },
        DatabaseError::RepairAborted => corrupt(path, "redb could not repair it"),
        DatabaseError::Storage(StorageError::Corrupted(reason)) => corrupt(path, reason),
        DatabaseError::Storage(StorageError::Io(e)) if e.kind() == io::ErrorKind::UnexpectedEof => {
            corrupt(path, format!("it is cut short ({e})"))
        }
        DatabaseError::Storage(StorageError::Io(e)) if e.kind() == io::ErrorKind::InvalidData => {
            corrupt(path, e)
        }
        e => failed(path, e),
    }
}
