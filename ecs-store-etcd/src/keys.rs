//! Where things live in etcd, under a store's root:
//!
//! - `<root>/records/<kind>/<key>`: the records;
//! - `<root>/commit`: the large commit under way, if any (its chunk count; its etcd
//!   version counts the chunks applied);
//! - `<root>/batch/<n>`: that commit's chunks, staged;
//! - `<root>/leader`: the election's name (its candidates' keys are below it).

use ecs_core::store::Kind;

/// A store's key layout.
#[derive(Debug, Clone)]
pub(crate) struct Keys {
    root: String,
}

impl Keys {
    pub(crate) fn new(root: &str) -> Self {
        Self {
            root: root.trim_end_matches('/').to_owned(),
        }
    }

    pub(crate) fn root(&self) -> &str {
        &self.root
    }

    /// The prefix of every record of a kind.
    pub(crate) fn kind(&self, kind: Kind) -> Vec<u8> {
        format!("{}/records/{kind}/", self.root).into_bytes()
    }

    pub(crate) fn record(&self, kind: Kind, key: &str) -> Vec<u8> {
        let mut k = self.kind(kind);
        k.extend_from_slice(key.as_bytes());
        k
    }

    /// A record's own key, from its etcd key.
    pub(crate) fn record_name(&self, kind: Kind, full: &[u8]) -> Result<String, ecs_core::Error> {
        let prefix = self.kind(kind);
        full.strip_prefix(prefix.as_slice())
            .and_then(|k| std::str::from_utf8(k).ok())
            .map(str::to_owned)
            .ok_or_else(|| ecs_core::Error::Store {
                path: None,
                reason: format!(
                    "etcd: the key {:?} is not a {kind} record of this store",
                    String::from_utf8_lossy(full)
                ),
            })
    }

    pub(crate) fn commit(&self) -> Vec<u8> {
        format!("{}/commit", self.root).into_bytes()
    }

    /// The prefix of the staged chunks.
    pub(crate) fn batch(&self) -> Vec<u8> {
        format!("{}/batch/", self.root).into_bytes()
    }

    pub(crate) fn chunk(&self, n: usize) -> Vec<u8> {
        format!("{}/batch/{n:08}", self.root).into_bytes()
    }

    /// The election's name.
    pub(crate) fn election(&self) -> String {
        format!("{}/leader", self.root)
    }
}

/// The end of the range of every key that starts with `prefix` (etcd's `range_end`):
/// the prefix with its last byte below 0xff incremented.
pub(crate) fn prefix_end(prefix: &[u8]) -> Vec<u8> {
    let mut end = prefix.to_vec();
    while let Some(last) = end.pop() {
        if last < 0xff {
            end.push(last + 1);
            return end;
        }
    }
    // Every byte 0xff: to the end of the keyspace.
    vec![0]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layout() {
        let keys = Keys::new("ecs/prod/");
        assert_eq!(
            keys.record(Kind::Task, "c/t-1"),
            b"ecs/prod/records/task/c/t-1"
        );
        assert_eq!(
            keys.record_name(Kind::Task, b"ecs/prod/records/task/c/t-1")
                .unwrap(),
            "c/t-1"
        );
        // A task's prefix does not cover task definitions.
        assert!(
            !keys
                .record(Kind::TaskDefinition, "f:1")
                .starts_with(&keys.kind(Kind::Task))
        );
        assert!(
            keys.record_name(Kind::Service, b"ecs/prod/records/task/x")
                .is_err()
        );
        assert_eq!(keys.chunk(7), b"ecs/prod/batch/00000007");
        assert!(keys.chunk(7).starts_with(&keys.batch()));
    }

    #[test]
    fn prefix_ends() {
        assert_eq!(prefix_end(b"a/"), b"a0");
        assert_eq!(prefix_end(b"a\xff"), b"b");
        assert_eq!(prefix_end(b"\xff\xff"), b"\0");
    }
}
