//! The incident: its log, its timed checklist, its export.

pub mod checklist;
pub mod commander;
pub mod drill_clock;
pub mod entry;
pub mod export;
pub mod history;
pub mod log;
pub mod observations;
pub mod operator;
pub mod recorder;
pub mod scorecard;
pub mod shared;
pub mod store;
