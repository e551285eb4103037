//! What the core asks the runner to do: the only way it touches the world.

use serde_json::Value;

use crate::runbook::Operation;

/// Something to write to the incident log. The runner writes and fsyncs it, then sends
/// [`super::Action::Logged`] so the screen shows only what is durable.
#[derive(Debug, Clone, PartialEq)]
pub struct LogIntent {
    /// Entry kind: `declared`, `observation`, `step-previewed`, `step-confirmed`, ...
    pub kind: String,
    /// One human line.
    pub summary: String,
    /// Structured details.
    pub details: Value,
}

impl LogIntent {
    /// A log intent with details.
    pub fn new(kind: &str, summary: impl Into<String>, details: Value) -> LogIntent {
        LogIntent { kind: kind.to_string(), summary: summary.into(), details }
    }
}

/// An effect requested by [`super::update`].
#[derive(Debug, Clone, PartialEq)]
pub enum Effect {
    /// Execute an operation (only ever emitted from the confirm path).
    Execute {
        /// Step id.
        step: u64,
        /// What to run.
        op: Operation,
        /// Timeout in seconds.
        timeout_secs: u64,
    },
    /// Append to the incident log.
    Log(LogIntent),
    /// Ring the terminal bell once.
    Bell,
    /// Copy text to the clipboard with OSC 52.
    Copy(String),
    /// Leave the event loop.
    Quit,
    /// Ask the commander lock task to take or release the lock.
    Commander(crate::incident::commander::LockRequest),
}
