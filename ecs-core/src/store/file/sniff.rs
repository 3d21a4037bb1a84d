//! Telling a redb file from another program's by its first bytes, before redb reads it.

/// The first bytes of every redb database file.
pub(super) const REDB_MAGIC: [u8; 9] = [b'r', b'e', b'd', b'b', 0x1A, 0x0A, 0xA9, 0x0D, 0x0A];

/// What the start of a file says it is.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum Sniffed {
    /// It starts as redb files do.
    Redb,
    /// It is shorter than redb's magic number, which it starts with: a store cut short.
    Truncated,
    /// Something else, described.
    Foreign(String),
}

/// Looks at a file's first bytes (`head`, up to a few hundred) and its length.
pub(super) fn sniff(head: &[u8], len: u64) -> Sniffed {
    if len == 0 {
        return Sniffed::Foreign("an empty file".into());
    }
    if head.starts_with(&REDB_MAGIC) {
        return Sniffed::Redb;
    }
    if len < REDB_MAGIC.len() as u64 && REDB_MAGIC.starts_with(head) {
        return Sniffed::Truncated;
    }
    Sniffed::Foreign(describe(head))
}

fn describe(head: &[u8]) -> String {
    const KNOWN: &[(&[u8], &str)] = &[
        (b"SQLite format 3\0", "an SQLite database"),
        (b"\x1f\x8b", "gzip data"),
        (b"PK\x03\x04", "a zip archive"),
        (b"\x7fELF", "an ELF executable"),
        (b"%PDF", "a PDF document"),
    ];
    if let Some((_, what)) = KNOWN.iter().find(|(magic, _)| head.starts_with(magic)) {
        return (*what).to_string();
    }
    // Text: valid UTF-8 (but for a character cut at the end of `head`), no controls but
    // whitespace.
    let text = match std::str::from_utf8(head) {
        Ok(s) => Some(s),
        Err(e) if e.error_len().is_none() => std::str::from_utf8(&head[..e.valid_up_to()]).ok(),
        Err(_) => None,
    };
    if let Some(text) = text.filter(|t| t.chars().all(|c| !c.is_control() || c.is_whitespace())) {
        return match text.trim_start().chars().next() {
            Some('{' | '[') => "JSON text".to_string(),
            _ => "text".to_string(),
        };
    }
    let start: Vec<String> = head.iter().take(8).map(|b| format!("{b:02x}")).collect();
    format!("unrecognised data starting {}", start.join(" "))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_of_files() {
        let foreign = |head: &[u8]| match sniff(head, head.len() as u64) {
            Sniffed::Foreign(what) => what,
            other => panic!("{other:?}"),
        };
        assert_eq!(sniff(b"", 0), Sniffed::Foreign("an empty file".into()));
        assert_eq!(sniff(&REDB_MAGIC, 4096), Sniffed::Redb);
        assert_eq!(sniff(&REDB_MAGIC[..4], 4), Sniffed::Truncated);
        assert_eq!(foreign(b"SQLite format 3\0\x10\0"), "an SQLite database");
        assert_eq!(foreign(b"  {\"tasks\": []}\n"), "JSON text");
        assert_eq!(foreign(b"hello\nworld\n"), "text");
        assert_eq!(foreign("caf\u{e9}".as_bytes()), "text");
        assert_eq!(foreign(&"caf\u{e9}".as_bytes()[..4]), "text");
        assert_eq!(
            foreign(&[0, 1, 2, 3, 250, 251, 252, 253, 254]),
            "unrecognised data starting 00 01 02 03 fa fb fc fd"
        );
        // "redb" alone, then other bytes: not a redb file.
        assert_eq!(foreign(b"redb is a database"), "text");
    }
}
