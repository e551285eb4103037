//! The timed communication checklist (from the failover plan's communication plan).

use chrono::{DateTime, Duration, Utc};

/// When an item is due, relative to the incident's T+0.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Due {
    /// Due by T+offset.
    By(Duration),
    /// Recurring every `every`, first due at T+`first`, then `every` after the last tick.
    Every {
        /// First due time.
        first: Duration,
        /// Interval.
        every: Duration,
    },
    /// No due time (after-failover items).
    Unscheduled,
}

/// One checklist item.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChecklistItem {
    /// Stable id, e.g. `alert-oncall`.
    pub id: String,
    /// Phase title, e.g. `Immediate (0-5 min)`.
    pub phase: String,
    /// What to do.
    pub text: String,
    /// When it is due.
    pub due: Due,
    /// When it was last ticked, with the note.
    pub done: Option<(DateTime<Utc>, Option<String>)>,
}

/// The checklist of one incident.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Checklist {
    /// Items in display order.
    pub items: Vec<ChecklistItem>,
}

impl Checklist {
    /// When an item is (next) due, given the incident's T+0.
    pub fn due_at(item: &ChecklistItem, t0: DateTime<Utc>) -> Option<DateTime<Utc>> {
        match &item.due {
            Due::By(d) if item.done.is_none() => Some(t0 + *d),
            Due::By(_) | Due::Unscheduled => None,
            Due::Every { first, every } => Some(match &item.done {
                Some((at, _)) => *at + *every,
                None => t0 + *first,
            }),
        }
    }
}
