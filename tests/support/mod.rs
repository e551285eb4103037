//! Shared integration-test support.
#![allow(dead_code)] // each test binary uses a different subset of the helpers

pub mod lab;
