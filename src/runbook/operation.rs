//! How each [`crate::operation::Operation`] is judged against the
//! snapshots: its exact preview, its prechecks and its postcondition.
//!
//! Prechecks and verification are pure functions of [`crate::backends::Observed`], so the app
//! core evaluates them on every snapshot change without awaiting anything.

use crate::backends::model::SentinelView;
use crate::backends::{Freshness, Snapshot};

use crate::operation::Check;

pub mod dns;
mod precheck;
mod preview;
mod promote;
mod repoint;
mod rollback;
mod verify;

pub use precheck::{ACCESS_CHECK, access_checks};
pub(crate) use repoint::pod_label;

pub(crate) fn fresh_check<T>(what: &str, snap: &Snapshot<T>) -> Check {
    match &snap.freshness {
        Freshness::Fresh => Check::new(&format!("{what} fresh"), true, "fresh"),
        f => Check::new(
            &format!("{what} fresh"),
            false,
            format!(
                "{what} is {}{}: refusing to act on it",
                f.as_str(),
                f.error().map(|e| format!(" ({e})")).unwrap_or_default()
            ),
        ),
    }
}

fn disagreement(s: &SentinelView) -> String {
    let parts: Vec<String> = s
        .sentinels
        .iter()
        .map(|x| format!("{} says {}", x.addr, x.master.as_deref().unwrap_or("?")))
        .collect();
    format!("Sentinels disagree: {}", parts.join(", "))
}

pub(crate) fn probe_text(p: &crate::backends::model::Probe) -> String {
    match p.status {
        Some(s) => format!("{s} in {} ms", p.latency_ms),
        None => p.error.clone().unwrap_or_else(|| "no answer".into()),
    }
}
