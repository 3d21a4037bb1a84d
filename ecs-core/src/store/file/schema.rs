//! The file's layout and its schema version: the meta table, the tables of records, and
//! the migrations from one schema version to the next.

use std::path::Path;

use redb::{ReadableTable, TableDefinition, WriteTransaction};

use crate::Error;
use crate::store::Kind;

/// `format` in the meta table: what says a redb file is a store.
pub(super) const FORMAT: &str = "ecs-store";

/// The schema version this build reads and writes.
pub(super) const SCHEMA_VERSION: u32 = 1;

/// `format`, `schema_version` (decimal) and `created_by` (the crate and version that
/// created the file).
pub(super) const META: TableDefinition<&str, &str> = TableDefinition::new("meta");

/// One table per kind, named by [`Kind::as_str`]: key, then version and value.
pub(super) fn table(kind: Kind) -> TableDefinition<'static, &'static str, (u64, &'static [u8])> {
    TableDefinition::new(kind.as_str())
}

/// What a migration may fail with.
pub(super) type MigrationError = Box<dyn std::error::Error + Send + Sync>;

/// One step: turns a store of schema `from` into one of schema `from + 1`, within the
/// transaction that opens the file (which then records the new version).
#[derive(Clone, Copy)]
pub(super) struct Migration {
    /// The version it migrates from.
    pub(super) from: u32,
    /// The change.
    pub(super) run: fn(&WriteTransaction) -> Result<(), MigrationError>,
}

/// Every migration, oldest first. Schema 1 is the first there is: none yet. A change to
/// the layout or to what records mean adds one here and bumps [`SCHEMA_VERSION`].
const MIGRATIONS: &[Migration] = &[];

/// What a build reads: its schema version, and the migrations that lead to it.
#[derive(Clone, Copy)]
pub(super) struct Schema<'a> {
    pub(super) version: u32,
    pub(super) migrations: &'a [Migration],
}

/// This build's.
pub(super) const CURRENT: Schema<'static> = Schema {
    version: SCHEMA_VERSION,
    migrations: MIGRATIONS,
};

impl Schema<'_> {
    /// The migrations from `found` to this version, in order, or why there are none.
    fn path_from(&self, found: u32, file: &Path) -> Result<Vec<Migration>, Error> {
        if found > self.version {
            return Err(version_error(file, found, self.version));
        }
        (found..self.version)
            .map(|from| {
                self.migrations
                    .iter()
                    .find(|m| m.from == from)
                    .copied()
                    .ok_or_else(|| version_error(file, found, self.version))
            })
            .collect()
    }
}

fn version_error(path: &Path, found: u32, supported: u32) -> Error {
    Error::StoreVersion {
        path: path.to_path_buf(),
        found,
        supported,
    }
}

/// Writes a new store's meta table and creates its tables.
pub(super) fn init(txn: &WriteTransaction, schema: Schema<'_>) -> Result<(), redb::Error> {
    let mut meta = txn.open_table(META)?;
    meta.insert("format", FORMAT)?;
    meta.insert("schema_version", schema.version.to_string().as_str())?;
    let created_by = concat!(env!("CARGO_PKG_NAME"), " ", env!("CARGO_PKG_VERSION"));
    meta.insert("created_by", created_by)?;
    for kind in Kind::ALL {
        txn.open_table(table(kind))?;
    }
    Ok(())
}

/// Reads the meta table (`None`: the file has none) and returns the schema version it
/// holds, once sure the file is a store this build can read, at once or by migrating.
pub(super) fn check(
    meta: Option<&impl ReadableTable<&'static str, &'static str>>,
    path: &Path,
    schema: Schema<'_>,
) -> Result<u32, Error> {
    let foreign = |found: String| Error::StoreForeign {
        path: path.to_path_buf(),
        found,
    };
    let corrupt = |reason: String| Error::StoreCorrupt {
        path: path.to_path_buf(),
        reason,
    };
    let Some(meta) = meta else {
        return Err(foreign(format!(
            "a redb database without {FORMAT}'s meta table"
        )));
    };
    let get = |key: &str| -> Result<Option<String>, Error> {
        meta.get(key)
            .map(|v| v.map(|v| v.value().to_string()))
            .map_err(|e| corrupt(format!("its meta table cannot be read: {e}")))
    };
    match get("format")? {
        Some(format) if format == FORMAT => {}
        Some(format) => return Err(foreign(format!("a redb database of format {format:?}"))),
        None => {
            return Err(foreign(format!(
                "a redb database with a meta table that is not {FORMAT}'s"
            )));
        }
    }
    let found = get("schema_version")?
        .ok_or_else(|| corrupt("its meta table has no schema_version".into()))?;
    let found: u32 = found
        .parse()
        .map_err(|_| corrupt(format!("its schema_version {found:?} is not a number")))?;
    schema.path_from(found, path)?;
    Ok(found)
}

/// Brings a store of schema `found` to this build's: runs the migrations in order and
/// records the new version, all in `txn`. Does nothing when it is current.
pub(super) fn migrate(
    txn: &WriteTransaction,
    found: u32,
    path: &Path,
    schema: Schema<'_>,
) -> Result<(), Error> {
    for migration in schema.path_from(found, path)? {
        (migration.run)(txn).map_err(|e| Error::Store {
            path: Some(path.to_path_buf()),
            reason: format!(
                "migrating schema {} to {} failed: {e}; the file was left at schema {found}",
                migration.from,
                migration.from + 1
            ),
        })?;
    }
    if found != schema.version {
        let mut meta = txn.open_table(META).map_err(|e| super::failed(path, e))?;
        meta.insert("schema_version", schema.version.to_string().as_str())
            .map_err(|e| super::failed(path, e))?;
    }
    Ok(())
}
