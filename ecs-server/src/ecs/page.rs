//! ECS's pagination: `maxResults` items per call and a `nextToken` to go on from.
//!
//! A token names the last item returned (hex-encoded, so that callers treat it as
//! opaque), not an offset: items created or deleted between two calls move no other
//! item to another page, and a page never repeats an item or skips one that was there
//! throughout.

use crate::protocol::ApiError;

/// One page of a sorted list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Page {
    /// The items.
    pub(crate) items: Vec<String>,
    /// Where the next page begins, when there are more items.
    pub(crate) next_token: Option<String>,
}

/// The page of `sorted` (ascending, no duplicates) after `token`, of at most
/// `max_results` items (`limit` when unset; refused outside 1 to `limit`).
pub(crate) fn page(
    sorted: Vec<String>,
    token: Option<&str>,
    max_results: Option<i64>,
    limit: usize,
) -> Result<Page, ApiError> {
    page_in(sorted, false, token, max_results, limit)
}

/// As [`page`], of a list sorted ascending or (`descending`) descending.
pub(crate) fn page_in(
    sorted: Vec<String>,
    descending: bool,
    token: Option<&str>,
    max_results: Option<i64>,
    limit: usize,
) -> Result<Page, ApiError> {
    let size = size(max_results, limit)?;
    let start = match after(token)? {
        None => 0,
        Some(after) if descending => sorted.partition_point(|item| *item >= after),
        Some(after) => sorted.partition_point(|item| *item <= after),
    };
    let mut items: Vec<String> = sorted.into_iter().skip(start).take(size + 1).collect();
    let next_token = if items.len() > size {
        items.truncate(size);
        items.last().map(|last| encode(last))
    } else {
        None
    };
    Ok(Page { items, next_token })
}

/// The size of a page asked for: `limit` when unset; refused outside 1 to `limit`.
pub(crate) fn size(max_results: Option<i64>, limit: usize) -> Result<usize, ApiError> {
    match max_results {
        None => Ok(limit),
        Some(n) if (1..=limit as i64).contains(&n) => Ok(n as usize),
        Some(n) => Err(ApiError::invalid(format!(
            "maxResults: {n} is outside 1 to {limit}"
        ))),
    }
}

/// The item a token names (where the next page begins after).
pub(crate) fn after(token: Option<&str>) -> Result<Option<String>, ApiError> {
    match token {
        None | Some("") => Ok(None),
        Some(t) => decode(t).map(Some).ok_or_else(|| {
            ApiError::invalid(format!("nextToken: {t:?} is not a token this server gave"))
        }),
    }
}

/// The token of a page that ended with `last`.
pub(crate) fn token(last: &str) -> String {
    encode(last)
}

fn encode(item: &str) -> String {
    item.bytes().map(|b| format!("{b:02x}")).collect()
}

fn decode(token: &str) -> Option<String> {
    if !token.len().is_multiple_of(2) {
        return None;
    }
    let bytes = (0..token.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(token.get(i..i + 2)?, 16).ok())
        .collect::<Option<Vec<u8>>>()?;
    String::from_utf8(bytes).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn items(n: usize) -> Vec<String> {
        (0..n).map(|i| format!("item-{i:03}")).collect()
    }

    #[test]
    fn pages_cover_every_item_once() {
        let mut seen = Vec::new();
        let mut token = None;
        loop {
            let p = page(items(25), token.as_deref(), Some(10), 100).unwrap();
            seen.extend(p.items);
            match p.next_token {
                Some(t) => token = Some(t),
                None => break,
            }
        }
        assert_eq!(seen, items(25));
    }

    #[test]
    fn descending_lists_page_backwards() {
        let mut desc = items(5);
        desc.reverse();
        let first = page_in(desc.clone(), true, None, Some(2), 100).unwrap();
        assert_eq!(first.items, ["item-004", "item-003"]);
        let second = page_in(desc, true, first.next_token.as_deref(), Some(2), 100).unwrap();
        assert_eq!(second.items, ["item-002", "item-001"]);
    }

    #[test]
    fn a_full_last_page_has_no_token() {
        let p = page(items(10), None, Some(10), 100).unwrap();
        assert_eq!(p.items.len(), 10);
        assert_eq!(p.next_token, None);
    }

    #[test]
    fn an_item_removed_between_calls_moves_nothing_else() {
        let first = page(items(6), None, Some(3), 100).unwrap();
        let mut fewer = items(6);
        fewer.remove(1);
        let second = page(fewer, first.next_token.as_deref(), Some(3), 100).unwrap();
        assert_eq!(second.items, ["item-003", "item-004", "item-005"]);
    }

    #[test]
    fn bad_tokens_and_sizes_are_refused() {
        for t in ["zz", "abc", "ff"] {
            let e = page(items(3), Some(t), None, 100).unwrap_err();
            assert_eq!(e.code, "InvalidParameterException", "{t}");
        }
        for n in [0, -1, 101] {
            assert!(page(items(3), None, Some(n), 100).is_err(), "{n}");
        }
    }
}
