//! Resource tags (TagResource, UntagResource, ListTagsForResource): key-value pairs on
//! clusters, container instances, task definitions, tasks and services, with ECS's
//! limits.

use std::collections::BTreeMap;

use crate::Error;

/// A resource's tags, by key.
pub type Tags = BTreeMap<String, String>;

/// ECS's most tags on one resource.
pub const MAX_TAGS: usize = 50;
/// ECS's longest tag key.
pub const MAX_KEY_CHARS: usize = 128;
/// ECS's longest tag value.
pub const MAX_VALUE_CHARS: usize = 256;

/// Refuses what ECS refuses: an empty or too long key, a too long value, a key in
/// AWS's reserved `aws:` namespace.
pub fn check(operation: &'static str, key: &str, value: &str) -> Result<(), Error> {
    let invalid = |reason: String| Error::InvalidParameter {
        operation,
        member: "tags",
        reason,
    };
    let chars = key.chars().count();
    if chars == 0 || chars > MAX_KEY_CHARS {
        return Err(invalid(format!(
            "tag key {key:?}: {chars} characters, outside 1 to {MAX_KEY_CHARS}"
        )));
    }
    if key.to_ascii_lowercase().starts_with("aws:") {
        return Err(invalid(format!(
            "tag key {key:?}: the aws: prefix is reserved for AWS's own tags"
        )));
    }
    let chars = value.chars().count();
    if chars > MAX_VALUE_CHARS {
        return Err(invalid(format!(
            "tag {key:?}: its value has {chars} characters, more than {MAX_VALUE_CHARS}"
        )));
    }
    Ok(())
}

/// `existing` with `new` added (a key given again takes the new value), or the reason
/// it cannot be: a tag ECS refuses, more than [`MAX_TAGS`] in all.
pub fn merged(operation: &'static str, existing: &Tags, new: &Tags) -> Result<Tags, Error> {
    for (k, v) in new {
        check(operation, k, v)?;
    }
    let mut all = existing.clone();
    all.extend(new.iter().map(|(k, v)| (k.clone(), v.clone())));
    if all.len() > MAX_TAGS {
        return Err(Error::InvalidParameter {
            operation,
            member: "tags",
            reason: format!(
                "{} tags in all, more than the {MAX_TAGS} a resource may have",
                all.len()
            ),
        });
    }
    Ok(all)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tags(pairs: &[(&str, &str)]) -> Tags {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn new_values_replace_old_ones() {
        let all = merged(
            "TagResource",
            &tags(&[("a", "1")]),
            &tags(&[("a", "2"), ("b", "")]),
        )
        .unwrap();
        assert_eq!(all, tags(&[("a", "2"), ("b", "")]));
    }

    #[test]
    fn ecs_limits_are_kept() {
        let existing: Tags = (0..50).map(|i| (format!("k{i}"), String::new())).collect();
        assert!(merged("TagResource", &existing, &tags(&[("k0", "again")])).is_ok());
        assert!(merged("TagResource", &existing, &tags(&[("one-more", "")])).is_err());
        for (k, v) in [("", "x"), ("aws:owner", "x"), ("AWS:x", "y")] {
            assert!(check("TagResource", k, v).is_err(), "{k}");
        }
        assert!(check("TagResource", &"k".repeat(128), &"v".repeat(256)).is_ok());
        assert!(check("TagResource", &"k".repeat(129), "").is_err());
        assert!(check("TagResource", "k", &"v".repeat(257)).is_err());
    }
}
