//! What a console knows of the lock ([`CommanderView`]) and what it asks of it ([`LockRequest`]).

use chrono::{DateTime, Utc};

use super::Holder;

/// The commander lock as the console shows it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum CommanderView {
    /// No commander lock in this console (unit tests, tools that do not execute).
    #[default]
    Unknown,
    /// The lock exists but its state is not known yet.
    Pending,
    /// Nobody holds it.
    Free {
        /// Why, when this console just gave it up (`released`).
        note: Option<String>,
    },
    /// This console holds it.
    Mine {
        /// Our claim.
        holder: Holder,
        /// Set on the view that reports a takeover from this live holder.
        took_over_from: Option<String>,
        /// A renewal or release problem while the claim is still valid.
        warning: Option<String>,
    },
    /// Someone else holds it.
    Theirs {
        /// Their claim.
        holder: Holder,
    },
    /// We held it and lost it (taken over, expired, released elsewhere).
    Lost {
        /// What happened.
        reason: String,
    },
    /// The lock cannot be read.
    Unavailable {
        /// The error.
        error: String,
    },
}

impl CommanderView {
    /// Whether this console holds a claim that has not expired at `now`.
    pub fn held_by_me(&self, now: DateTime<Utc>) -> bool {
        matches!(self, CommanderView::Mine { holder, .. } if !holder.expired(now))
    }

    /// Whether a lock is in use at all (anything but [`CommanderView::Unknown`]).
    pub fn is_wired(&self) -> bool {
        *self != CommanderView::Unknown
    }

    /// The other holder, if someone else holds it.
    pub fn other_holder(&self) -> Option<&Holder> {
        match self {
            CommanderView::Theirs { holder } => Some(holder),
            _ => None,
        }
    }
}

/// What the console asks of the lock task.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LockRequest {
    /// Take the lock; `force` takes it over from a live holder.
    Take {
        /// Take over from a live holder.
        force: bool,
    },
    /// Give it up.
    Release,
}
