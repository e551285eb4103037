//! Shared test support.

pub mod kube_server;
