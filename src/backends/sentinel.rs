//! Real Redis Sentinel backend (redis crate, async): [`SentinelObserver`] fills the Sentinel
//! pane (and listens to Sentinel pub/sub), [`SentinelOperator`] runs `SENTINEL FAILOVER`.

mod conn;
mod events;
mod observe;
mod operate;

pub use events::{CHANNELS, EVENT_CAPACITY};
pub use observe::SentinelObserver;
pub use operate::SentinelOperator;
