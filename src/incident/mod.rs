//! The incident: its log, its timed checklist, its export.

pub mod checklist;
pub mod entry;
