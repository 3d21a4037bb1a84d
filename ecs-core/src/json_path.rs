//! A location inside a JSON document, written the way people read task definitions:
//! `containerDefinitions[2].portMappings[0].hostPort`.

use std::fmt;

/// One step of a [`JsonPath`].
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Segment {
    /// An object member, by its JSON key.
    Key(String),
    /// An array element, by its zero-based index.
    Index(usize),
}

/// A path from the root of a JSON document to one of its values.
///
/// The root itself displays as `$`; anything below it displays in the familiar dotted
/// form, e.g. `containerDefinitions[0].memory`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct JsonPath(Vec<Segment>);

impl JsonPath {
    /// The document root.
    pub fn root() -> Self {
        Self(Vec::new())
    }

    /// This path extended by an object key.
    #[must_use]
    pub fn key(&self, key: impl Into<String>) -> Self {
        let mut next = self.clone();
        next.0.push(Segment::Key(key.into()));
        next
    }

    /// This path extended by an array index.
    #[must_use]
    pub fn index(&self, index: usize) -> Self {
        let mut next = self.clone();
        next.0.push(Segment::Index(index));
        next
    }

    /// The steps of this path, from the root.
    pub fn segments(&self) -> &[Segment] {
        &self.0
    }

    /// Whether this is the document root.
    pub fn is_root(&self) -> bool {
        self.0.is_empty()
    }

    pub(crate) fn push(&mut self, segment: Segment) {
        self.0.push(segment);
    }
}

impl fmt::Display for JsonPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0.is_empty() {
            return f.write_str("$");
        }
        for (i, segment) in self.0.iter().enumerate() {
            match segment {
                Segment::Key(key) if i == 0 => f.write_str(key)?,
                Segment::Key(key) => write!(f, ".{key}")?,
                Segment::Index(index) => write!(f, "[{index}]")?,
            }
        }
        Ok(())
    }
}

impl From<&serde_path_to_error::Path> for JsonPath {
    fn from(path: &serde_path_to_error::Path) -> Self {
        use serde_path_to_error::Segment as S;
        let mut out = JsonPath::root();
        for segment in path.iter() {
            match segment {
                S::Seq { index } => out.push(Segment::Index(*index)),
                S::Map { key } => out.push(Segment::Key(key.clone())),
                S::Enum { variant } => out.push(Segment::Key(variant.clone())),
                // Nothing to show for a step serde could not name.
                S::Unknown => {}
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn displays_keys_and_indexes() {
        let path = JsonPath::root()
            .key("containerDefinitions")
            .index(2)
            .key("portMappings")
            .index(0)
            .key("hostPort");
        assert_eq!(
            path.to_string(),
            "containerDefinitions[2].portMappings[0].hostPort"
        );
        assert_eq!(JsonPath::root().to_string(), "$");
    }
}
