//! Shared integration-test support: real services on loopback, the Kubernetes API test server,
//! tmux. Each test binary uses a different subset.
#![allow(dead_code)]

pub mod kube_server;
pub mod lab;
