#![cfg_attr(docsrs, feature(doc_cfg))]

pub mod conn;
#[cfg(feature = "chrono")]
pub mod datetime;
pub mod id;
pub mod tarball;
pub mod url;
pub mod version;

#[macro_use]
pub mod opts;
