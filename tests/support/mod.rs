//! Test harness support shared by the integration tests.

pub mod http_fake;
pub mod moto;
