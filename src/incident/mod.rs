//! The incident: its log, its timed checklist, its export.

pub mod checklist;
pub mod entry;
pub mod export;
pub mod observations;
pub mod status_update;
