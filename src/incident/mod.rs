//! The incident: its log, its timed checklist, its export.

pub mod checklist;
pub mod cli;
pub mod entry;
pub mod log;
pub mod operator;
pub mod redact;
pub mod store;
