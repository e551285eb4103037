//! The commander lock: only one console per incident may execute steps.
//!
//! Two implementations of [`CommanderLock`]: a [`FileLock`] next to the incident log
//! (`<incidents dir>/<id>.commander`), and a Kubernetes `coordination.k8s.io/v1` [`LeaseLock`]
//! when `[commander]` names a context and namespace. A holder renews every `ttl / 3`; a crashed
//! holder's lock expires after `ttl`. Handover is explicit: [`CommanderLock::acquire`] with
//! `force` takes a live lock over. [`spawn`] runs the renewing task a console talks to;
//! [`acquire_for_exec`] is the same lock for the headless `warroom exec`.

mod file;
mod lease;
pub mod skew;
mod task;
mod view;

use std::time::Duration;

use chrono::{DateTime, Utc};
use futures::future::BoxFuture;
use serde::{Deserialize, Serialize};

pub use file::{FileLock, Owner};
pub use lease::LeaseLock;
pub use task::{CommanderGuard, acquire_for_exec, open_lock, spawn};
pub use view::{CommanderView, LockRequest};

/// Default time to live of a lock: a crashed holder's lock is free after this.
pub const DEFAULT_TTL_SECS: u64 = 30;

/// Who holds the lock, and until when.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Holder {
    /// The operator (`user@host`) and the process id: see [`holder_identity`].
    pub identity: String,
    /// When this holder took the lock.
    pub acquired_at: DateTime<Utc>,
    /// Last renewal.
    pub renewed_at: DateTime<Utc>,
    /// When the lock is free unless renewed.
    pub expires_at: DateTime<Utc>,
    /// A note on clocks across hosts (a Lease only): the measured skew when it exceeds 1 s, or
    /// why an expired-looking lease is not taken yet (see [`skew`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub clock: Option<String>,
}

impl Holder {
    /// A holder that just took or renewed the lock for `ttl`.
    pub fn new(identity: &str, acquired_at: DateTime<Utc>, now: DateTime<Utc>, ttl: Duration) -> Holder {
        Holder {
            identity: identity.to_string(),
            acquired_at,
            renewed_at: now,
            expires_at: now + chrono::Duration::from_std(ttl).unwrap_or(chrono::Duration::MAX),
            clock: None,
        }
    }

    /// Whether the lock has expired at `now`.
    pub fn expired(&self, now: DateTime<Utc>) -> bool {
        now >= self.expires_at
    }

    /// Whole seconds until expiry (rounded up, never negative).
    pub fn expires_in_secs(&self, now: DateTime<Utc>) -> i64 {
        let ms = (self.expires_at - now).num_milliseconds().max(0);
        (ms + 999) / 1000
    }
}

/// The lock as seen by one console.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LockState {
    /// Nobody holds it (or the last holder's lock expired).
    Free,
    /// This console holds it.
    Mine(Holder),
    /// Someone else holds it (not expired).
    Theirs(Holder),
}

impl LockState {
    /// Classify a recorded holder for `me` at `now`.
    pub fn classify(holder: Option<Holder>, me: &str, now: DateTime<Utc>) -> LockState {
        match holder {
            Some(h) if h.identity == me => LockState::Mine(h),
            Some(h) if !h.identity.is_empty() && !h.expired(now) => LockState::Theirs(h),
            _ => LockState::Free,
        }
    }
}

/// A commander lock backend (boxed futures, like [`crate::backends::Observe`]).
pub trait CommanderLock: Send + Sync + 'static {
    /// Where the lock lives, for messages: `file /path` or `Lease ctx/ns/name`.
    fn describe(&self) -> String;
    /// Time to live of a holder's claim.
    fn ttl(&self) -> Duration;
    /// How often the holder (and every watcher) looks at the lock between renewals: a takeover
    /// is seen within about this long.
    fn poll_interval(&self) -> Duration {
        Duration::from_secs(2)
    }
    /// Who holds it, as seen by `me`.
    fn status<'a>(&'a self, me: &'a str) -> BoxFuture<'a, Result<LockState, String>>;
    /// Take the lock if it is free, expired or already ours; with `force`, take it over from a
    /// live holder. Returns `Mine` on success, else who holds it.
    fn acquire<'a>(&'a self, me: &'a str, force: bool) -> BoxFuture<'a, Result<LockState, String>>;
    /// Extend our claim. Anything but `Mine` means the lock was lost.
    fn renew<'a>(&'a self, me: &'a str) -> BoxFuture<'a, Result<LockState, String>>;
    /// Give the lock up if we hold it. Returns the state afterwards (never touches someone
    /// else's claim).
    fn release<'a>(&'a self, me: &'a str) -> BoxFuture<'a, Result<LockState, String>>;
}

/// The identity a process claims the lock with: the operator (`user@host`) and the process id,
/// so two consoles of one operator on one host are still two holders.
pub fn holder_identity(operator: &str) -> String {
    format!("{operator} pid {}", std::process::id())
}

#[cfg(test)]
mod tests;
