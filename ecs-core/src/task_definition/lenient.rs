//! Serde helpers for the liberties real task definitions take with the API's types.
//!
//! AWS's own documentation writes container integers as JSON strings (`"memory": "500"`),
//! and SDK output carries timestamps as epoch seconds where the CLI prints RFC 3339. Both
//! read here; what was read in a different form is reported by the loader as a
//! normalization warning (it compares the input with what the model writes back).

use std::fmt;

use serde::de::{self, Deserializer, Visitor};

struct IntVisitor;

impl Visitor<'_> for IntVisitor {
    type Value = i32;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an integer (or an integer written as a string)")
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<i32, E> {
        i32::try_from(v).map_err(|_| E::custom(format!("integer {v} is out of range")))
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<i32, E> {
        i32::try_from(v).map_err(|_| E::custom(format!("integer {v} is out of range")))
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<i32, E> {
        if v.fract() == 0.0 && v >= f64::from(i32::MIN) && v <= f64::from(i32::MAX) {
            // Exact: the value is integral and within range.
            Ok(v as i32)
        } else {
            Err(E::custom(format!("expected an integer, found {v}")))
        }
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<i32, E> {
        v.trim()
            .parse::<i32>()
            .map_err(|_| E::custom(format!("expected an integer, found the string {v:?}")))
    }
}

/// An `i32` that may be written as a number or as a numeric string.
pub(crate) fn int<'de, D: Deserializer<'de>>(d: D) -> Result<i32, D::Error> {
    d.deserialize_any(IntVisitor)
}

/// An optional [`int`]; `null` reads as absent.
pub(crate) fn opt_int<'de, D: Deserializer<'de>>(d: D) -> Result<Option<i32>, D::Error> {
    struct OptVisitor;
    impl<'de> Visitor<'de> for OptVisitor {
        type Value = Option<i32>;
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            IntVisitor.expecting(f)
        }
        fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
            int(d).map(Some)
        }
    }
    d.deserialize_option(OptVisitor)
}

/// A list of [`int`]s; `null` reads as absent.
pub(crate) fn opt_int_list<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Vec<i32>>, D::Error> {
    #[derive(serde::Deserialize)]
    struct Lenient(#[serde(deserialize_with = "int")] i32);
    let list: Option<Vec<Lenient>> = serde::Deserialize::deserialize(d)?;
    Ok(list.map(|l| l.into_iter().map(|Lenient(v)| v).collect()))
}

/// A task-level `cpu` or `memory`: the API types it as a string; a bare number is
/// accepted too and kept as its decimal string.
pub(crate) fn opt_size_string<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    struct SizeVisitor;
    impl<'de> Visitor<'de> for SizeVisitor {
        type Value = Option<String>;
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("a string such as \"512\", \"1 vCPU\" or \"2 GB\", or a number")
        }
        fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
            d.deserialize_any(self)
        }
        fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
            Ok(Some(v.to_owned()))
        }
        fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
            Ok(Some(v.to_string()))
        }
        fn visit_i64<E: de::Error>(self, v: i64) -> Result<Self::Value, E> {
            Ok(Some(v.to_string()))
        }
        fn visit_f64<E: de::Error>(self, v: f64) -> Result<Self::Value, E> {
            Ok(Some(v.to_string()))
        }
    }
    d.deserialize_option(SizeVisitor)
}

/// A timestamp as RFC 3339 text (the CLI's form) or epoch seconds (the SDKs' wire form).
pub(crate) mod timestamp {
    use super::*;
    use jiff::Timestamp;
    use serde::Serializer;

    pub(crate) fn serialize<S: Serializer>(t: &Option<Timestamp>, s: S) -> Result<S::Ok, S::Error> {
        match t {
            Some(t) => s.collect_str(t),
            None => s.serialize_none(),
        }
    }

    pub(crate) fn deserialize<'de, D: Deserializer<'de>>(
        d: D,
    ) -> Result<Option<Timestamp>, D::Error> {
        struct TsVisitor;
        impl<'de> Visitor<'de> for TsVisitor {
            type Value = Option<Timestamp>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an RFC 3339 timestamp or epoch seconds")
            }
            fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
                Ok(None)
            }
            fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
                Ok(None)
            }
            fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
                d.deserialize_any(self)
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
                v.parse::<Timestamp>()
                    .map(Some)
                    .map_err(|e| E::custom(format!("invalid timestamp {v:?}: {e}")))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Self::Value, E> {
                Timestamp::from_second(v)
                    .map(Some)
                    .map_err(|e| E::custom(format!("invalid epoch seconds {v}: {e}")))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
                let v = i64::try_from(v)
                    .map_err(|_| E::custom(format!("invalid epoch seconds {v}")))?;
                self.visit_i64(v)
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<Self::Value, E> {
                let millis = (v * 1000.0).round();
                if !millis.is_finite() || millis.abs() > 1e17 {
                    return Err(E::custom(format!("invalid epoch seconds {v}")));
                }
                Timestamp::from_millisecond(millis as i64)
                    .map(Some)
                    .map_err(|e| E::custom(format!("invalid epoch seconds {v}: {e}")))
            }
        }
        d.deserialize_option(TsVisitor)
    }
}
