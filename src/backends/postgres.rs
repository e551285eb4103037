//! Real PostgreSQL backend (tokio-postgres): [`PostgresObserver`] fills the Database pane,
//! [`PostgresOperator`] checks, promotes and fences nodes.
//!
//! Passwords come from the DSN, the node's `password_env`, `PGPASSWORD` or the libpq password
//! file, and never appear in an error: errors name the node and its `host:port` only.

mod conn;
pub mod endpoint;
mod observe;
mod operate;
pub mod pgpass;

pub(crate) use conn::human;
pub use conn::{PgTimeouts, redact_dsn};
pub use observe::PostgresObserver;
pub use operate::{PROMOTE_WAIT_SECONDS, PostgresOperator};
