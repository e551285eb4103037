//! Shared integration-test support: real services on loopback (PostgreSQL, Redis/Sentinel,
//! moto), the Kubernetes API test server, a fake Route 53 / HTTP server, tmux. Each test binary
//! uses a different subset.
#![allow(dead_code)]

pub mod control_plane;
pub mod dns;
pub mod fault_proxy;
pub mod headless;
pub mod home;
pub mod http_fake;
pub mod kube_server;
pub mod kube_view;
pub mod lab;
pub mod moto;
pub mod tmux;

/// A region with only a name and a role (every optional key unset).
pub fn region(name: &str, role: &str) -> warroom::config::model::RegionConfig {
    warroom::config::model::RegionConfig {
        name: name.into(),
        role: role.into(),
        ..warroom::config::model::RegionConfig::default()
    }
}
