//! Reading a request's JSON body into an operation's input: bounded in depth, with
//! errors that say where the body went wrong.

use serde::de::DeserializeOwned;

use super::ApiError;

/// The body as `T`. An empty body is `{}` (the aws CLI sends nothing for operations
/// without members). Errors: `SerializationException` for text that is not JSON, and
/// `InvalidParameterException` naming the member for JSON of the wrong shape or too
/// deeply nested.
pub fn parse<T: DeserializeOwned>(body: &[u8], max_depth: usize) -> Result<T, ApiError> {
    let body: &[u8] = if body.iter().all(u8::is_ascii_whitespace) {
        b"{}"
    } else {
        body
    };
    check_depth(body, max_depth)?;
    let mut de = serde_json::Deserializer::from_slice(body);
    let value = serde_path_to_error::deserialize(&mut de).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner();
        if inner.is_syntax() || inner.is_eof() {
            ApiError::client(
                "SerializationException",
                format!("the request body is not JSON: {inner}"),
            )
        } else if path == "." {
            ApiError::invalid(format!("the request body: {inner}"))
        } else {
            ApiError::invalid(format!("{path}: {inner}"))
        }
    })?;
    de.end().map_err(|e| {
        ApiError::client(
            "SerializationException",
            format!("the request body is not JSON: {e}"),
        )
    })?;
    Ok(value)
}

/// A body already read as JSON, as `T`; errors name the member as [`parse`]'s do.
pub fn from_value<T: DeserializeOwned>(value: serde_json::Value) -> Result<T, ApiError> {
    serde_path_to_error::deserialize(value).map_err(|e| {
        let path = e.path().to_string();
        if path == "." {
            ApiError::invalid(format!("the request body: {}", e.into_inner()))
        } else {
            ApiError::invalid(format!("{path}: {}", e.into_inner()))
        }
    })
}

/// Refuses arrays and objects nested deeper than `max`, before anything is built from
/// them (no request of ECS's nests beyond a dozen levels).
fn check_depth(body: &[u8], max: usize) -> Result<(), ApiError> {
    let mut depth = 0usize;
    let mut in_string = false;
    let mut escaped = false;
    for &b in body {
        if in_string {
            match (escaped, b) {
                (true, _) => escaped = false,
                (false, b'\\') => escaped = true,
                (false, b'"') => in_string = false,
                _ => {}
            }
            continue;
        }
        match b {
            b'"' => in_string = true,
            b'[' | b'{' => {
                depth += 1;
                if depth > max {
                    return Err(ApiError::invalid(format!(
                        "the request body nests arrays and objects deeper than {max} levels"
                    )));
                }
            }
            b']' | b'}' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, serde::Deserialize)]
    #[serde(rename_all = "camelCase")]
    #[allow(dead_code)]
    struct Input {
        cluster: Option<String>,
        max_results: Option<u32>,
    }

    #[test]
    fn an_empty_body_is_an_empty_object() {
        let i: Input = parse(b"", 8).unwrap();
        assert!(i.cluster.is_none());
    }

    #[test]
    fn a_wrong_type_names_its_member() {
        let e = parse::<Input>(br#"{"maxResults": "ten"}"#, 8).unwrap_err();
        assert_eq!(e.code, "InvalidParameterException");
        assert!(
            e.message.starts_with("maxResults: invalid type"),
            "{}",
            e.message
        );
    }

    #[test]
    fn text_that_is_not_json_is_a_serialization_error() {
        for body in [&b"{"[..], b"{\"cluster\": }", b"{} {}", b"\xff"] {
            let e = parse::<Input>(body, 8).unwrap_err();
            assert_eq!(e.code, "SerializationException", "{body:?}");
        }
    }

    #[test]
    fn deep_nesting_is_refused_but_brackets_in_strings_are_not_counted() {
        let deep = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
        let e = parse::<serde_json::Value>(deep.as_bytes(), 32).unwrap_err();
        assert_eq!(e.code, "InvalidParameterException");
        assert!(e.message.contains("deeper than 32"), "{}", e.message);
        let brackets = format!(
            r#"{{"cluster": "{}\"{}"}}"#,
            "[".repeat(100),
            "{".repeat(100)
        );
        let i: Input = parse(brackets.as_bytes(), 2).unwrap();
        assert_eq!(i.cluster.unwrap().len(), 201);
    }
}
