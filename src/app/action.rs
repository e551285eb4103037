//! Everything a key, a timer, a source or an effect result can ask of the core.

use std::sync::Arc;

use crate::backends::Snapshot;
use crate::backends::model::{DatabaseView, KubeView, SentinelView, TrafficView};
use crate::command::Command;

use crate::incident::entry::LogLine;

/// An input to [`super::update`].
#[derive(Debug, Clone)]
pub enum Action {
    /// The 1 s tick: clock, checklist due times, verify deadlines.
    Tick,
    /// A named command from the keymap.
    Command(Command),
    /// Text typed into the active prompt (confirm word, skip reason, note).
    Text(TextEdit),
    /// The terminal was resized (forces a full redraw).
    Resize(u16, u16),
    /// The last line the help can start at for the terminal's current size (the ui counts the
    /// help's lines; the tui sends it at start and when the size changes): help scrolling stops
    /// there, so a key back up always moves.
    HelpLimit(usize),
    /// New Kubernetes snapshot.
    Kube(Arc<Snapshot<KubeView>>),
    /// New PostgreSQL snapshot.
    Database(Arc<Snapshot<DatabaseView>>),
    /// New Sentinel snapshot.
    Sentinel(Arc<Snapshot<SentinelView>>),
    /// New traffic snapshot.
    Traffic(Arc<Snapshot<TrafficView>>),
    /// An operation finished executing (not yet verified).
    StepExecuted {
        /// Step id.
        step: u64,
        /// Summary, or the error (including a timeout).
        result: Result<String, String>,
    },
    /// The API server's answers to a step's [`super::Effect::CheckAccess`], in request order.
    AccessChecked {
        /// Step id.
        step: u64,
        /// One answer per request.
        answers: Vec<crate::operation::access::AccessAnswer>,
    },
    /// An incident-log entry was durably written; now it may be shown.
    Logged(LogLine),
    /// An entry another console appended to the incident (seen by the log follower): shown
    /// like [`Action::Logged`], and its step entries update this console's steps.
    Mirrored(Box<crate::incident::entry::Entry>),
    /// Writing the incident log failed: this must be loud.
    LogFailed(String),
    /// Quit was requested by a signal (SIGTERM, SIGHUP).
    Shutdown,
    /// The commander lock changed (took, renewed, lost, someone else holds it).
    Commander(crate::incident::commander::CommanderView),
    /// The shared store's status changed (reachable, or stale with its error and pending count).
    SharedStore(crate::incident::shared::SharedStatus),
    /// A status update's delivery to one `[[notify]]` target ended.
    Notified {
        /// Target name.
        target: String,
        /// Target kind.
        kind: String,
        /// How it ended.
        outcome: crate::backends::notify::Outcome,
    },
}

impl Action {
    /// Whether applying this action to `state` may change what the screen shows. A tick does
    /// not by itself (the loop redraws once a second for the clocks), nor does a snapshot that
    /// only renews `fetched_at` of an unchanged value: ages are shown in coarse steps and the
    /// once-a-second frame shows the new one. An idle estate is then drawn once a second,
    /// not once per poll of each source.
    pub fn may_change_screen(&self, state: &super::state::State) -> bool {
        let o = &state.domain.observed;
        match self {
            Action::Tick => false,
            Action::Kube(s) => !s.same_content(&o.kube),
            Action::Database(s) => !s.same_content(&o.database),
            Action::Sentinel(s) => !s.same_content(&o.sentinel),
            Action::Traffic(s) => !s.same_content(&o.traffic),
            _ => true,
        }
    }
}

/// Editing of the active text prompt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TextEdit {
    /// A typed character.
    Char(char),
    /// Delete the last character.
    Backspace,
    /// Submit the prompt.
    Submit,
    /// Cancel the prompt.
    Cancel,
    /// Break the line at the cursor (the composer; a one-line prompt ignores it).
    Newline,
    /// Delete the character under the cursor (joins lines at a line end).
    Delete,
    /// Delete the word before the cursor (Ctrl-W).
    DeleteWord,
    /// Move the cursor (the composer; a one-line prompt ignores it).
    Move(super::composer::Motion),
    /// Pasted text (bracketed paste); control characters are stripped where it lands.
    Paste(String),
}
