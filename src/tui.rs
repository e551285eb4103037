//! The terminal side: setup/teardown, the event loop, key lookup, and a quiet output backend.

pub mod event_loop;
pub mod keys;
pub mod output;
pub mod terminal;

pub use event_loop::{CommanderLink, Console, run};
