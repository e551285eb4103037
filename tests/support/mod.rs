//! Shared integration-test support: real services on loopback (PostgreSQL, Redis/Sentinel,
//! moto), the Kubernetes API test server, a fake Route 53 / HTTP server, tmux. Each test binary
//! uses a different subset.
#![allow(dead_code)]

pub mod fault_proxy;
pub mod headless;
pub mod http_fake;
pub mod kube_server;
pub mod lab;
pub mod moto;
pub mod tmux;
