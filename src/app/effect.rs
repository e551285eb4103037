//! What the core asks the runner to do: the only way it touches the world.

use crate::operation::Operation;

use crate::incident::entry::LogIntent;

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
    /// Ask the API server whether this console's user may do what a step needs (before its
    /// confirmation); the answers come back as `Action::AccessChecked`.
    CheckAccess {
        /// Step id.
        step: u64,
        /// The permissions, in the order the answers must come back.
        requests: Vec<crate::operation::access::AccessRequest>,
    },
    /// Append to the incident log.
    Log(LogIntent),
    /// Ring the terminal bell once.
    Bell,
    /// Copy text to the clipboard with OSC 52.
    Copy(String),
    /// Leave the event loop.
    Quit,
    /// A facilitator's control of the hosted drill estate (pause, resume, inject); a failure
    /// comes back as a flash.
    Drill(crate::backends::drill::DrillControl),
    /// Ask the commander lock task to take or release the lock.
    Commander(crate::incident::commander::LockRequest),
    /// Send a posted status update to these `[[notify]]` targets (each in its own task; each
    /// result comes back as `Action::Notified`).
    Notify {
        /// The targets to contact.
        targets: Vec<crate::config::model::NotifyConfig>,
        /// What is sent.
        message: crate::backends::notify::Message,
    },
}
