//! The terminal side: setup/teardown, the event loop, key lookup, and a quiet output backend.

pub use crate::clock;
pub mod event_loop;
pub mod keys;
pub mod output;
pub mod terminal;

pub use crate::backends::Sources;
pub use event_loop::{CommanderLink, Console, run};
