//! [`Record`], what a store holds, and [`Write`], one change of a transaction.

use super::Kind;

/// A stored value and its version (1 on creation, +1 on each write).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    /// Its keyspace.
    pub kind: Kind,
    /// Its key, unique within `kind`.
    pub key: String,
    /// 1 when created, one more on each replacement. A record deleted and created
    /// again starts at 1.
    pub version: u64,
    /// The caller's bytes (JSON in practice); the store never looks inside.
    pub value: Vec<u8>,
}

/// One write of a transaction, with the version it expects (compare-and-swap).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Write {
    /// Creates `key` (fails if it exists) when `expected` is None, else replaces it if
    /// its version is `expected`.
    Put {
        /// The record's keyspace.
        kind: Kind,
        /// The record's key.
        key: String,
        /// `None`: the record must not exist; `Some(v)`: it must be at version `v`.
        expected: Option<u64>,
        /// The new value.
        value: Vec<u8>,
    },
    /// Deletes `key` if its version is `expected`.
    Delete {
        /// The record's keyspace.
        kind: Kind,
        /// The record's key.
        key: String,
        /// The version the record must be at.
        expected: u64,
    },
}

impl Write {
    /// Creates a record, which must not exist; it gets version 1.
    pub fn create(kind: Kind, key: impl Into<String>, value: impl Into<Vec<u8>>) -> Self {
        Write::Put {
            kind,
            key: key.into(),
            expected: None,
            value: value.into(),
        }
    }

    /// Replaces a record that is at version `expected`; it gets `expected + 1`.
    pub fn replace(
        kind: Kind,
        key: impl Into<String>,
        expected: u64,
        value: impl Into<Vec<u8>>,
    ) -> Self {
        Write::Put {
            kind,
            key: key.into(),
            expected: Some(expected),
            value: value.into(),
        }
    }

    /// Deletes a record that is at version `expected`.
    pub fn delete(kind: Kind, key: impl Into<String>, expected: u64) -> Self {
        Write::Delete {
            kind,
            key: key.into(),
            expected,
        }
    }

    /// The keyspace it writes to.
    pub fn kind(&self) -> Kind {
        match self {
            Write::Put { kind, .. } | Write::Delete { kind, .. } => *kind,
        }
    }

    /// The key it writes.
    pub fn key(&self) -> &str {
        match self {
            Write::Put { key, .. } | Write::Delete { key, .. } => key,
        }
    }

    /// The version it expects to find (`None`: no record).
    pub fn expected(&self) -> Option<u64> {
        match self {
            Write::Put { expected, .. } => *expected,
            Write::Delete { expected, .. } => Some(*expected),
        }
    }

    /// Checks the write against the version `found` (`None`: no record) and returns the
    /// version the record has after it (0 once deleted), or the conflict
    /// ([`Error::StoreConflict`](crate::Error::StoreConflict)). Every store applies this
    /// one rule, those of other crates too.
    pub fn check(&self, found: Option<u64>) -> Result<u64, crate::Error> {
        let expected = self.expected();
        if found != expected {
            return Err(crate::Error::StoreConflict {
                kind: self.kind(),
                key: self.key().to_string(),
                expected,
                found,
            });
        }
        Ok(match self {
            Write::Put { .. } => found.map_or(1, |v| v + 1),
            Write::Delete { .. } => 0,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_rule() {
        let create = Write::create(Kind::Task, "t", "v");
        assert_eq!(create.check(None).unwrap(), 1);
        let err = create.check(Some(3)).unwrap_err();
        assert_eq!(
            err.to_string(),
            "store conflict on task \"t\": expected no record, found version 3"
        );
        let replace = Write::replace(Kind::Task, "t", 3, "v");
        assert_eq!(replace.check(Some(3)).unwrap(), 4);
        assert_eq!(
            replace.check(None).unwrap_err().to_string(),
            "store conflict on task \"t\": expected version 3, found no record"
        );
        let delete = Write::delete(Kind::Service, "s", 2);
        assert_eq!(delete.check(Some(2)).unwrap(), 0);
        assert!(matches!(
            delete.check(Some(1)),
            Err(crate::Error::StoreConflict {
                kind: Kind::Service,
                expected: Some(2),
                found: Some(1),
                ..
            })
        ));
    }
}
