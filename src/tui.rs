//! The terminal side: setup/teardown, the console loop around the driver, key lookup, and a
//! quiet output backend (also the bell and clipboard output).

pub use crate::clock;
pub mod declare;
pub mod event_loop;
pub mod ghost;
pub mod keys;
pub mod output;
pub mod replay;
pub mod terminal;

pub use crate::backends::Sources;
pub use event_loop::{Epilogue, run, run_with};
