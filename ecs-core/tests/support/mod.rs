//! What the core's tests share.

#![allow(dead_code)]

pub mod counting;
pub mod fake_lb;
pub mod services;
