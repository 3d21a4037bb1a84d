//! What the core's tests share.

#![allow(dead_code)]

pub mod counting;
