//! Everything a key, a timer, a source or an effect result can ask of the core.

use std::sync::Arc;

use crate::backends::Snapshot;
use crate::backends::model::{DatabaseView, KubeView, SentinelView, TrafficView};

use super::state::LogLine;

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
}

macro_rules! commands {
    ($( $variant:ident = $name:literal : $desc:literal ),* $(,)?) => {
        /// A named action that keymaps bind keys to (`run = "focus-next"`).
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum Command { $( #[doc = $desc] $variant ),* }

        impl Command {
            /// Every command, in help order.
            pub const ALL: &'static [Command] = &[ $( Command::$variant ),* ];

            /// The keymap name.
            pub fn name(self) -> &'static str {
                match self { $( Command::$variant => $name ),* }
            }

            /// One-line description for the help overlay.
            pub fn description(self) -> &'static str {
                match self { $( Command::$variant => $desc ),* }
            }

            /// Look a command up by its keymap name.
            pub fn from_name(name: &str) -> Option<Command> {
                match name { $( $name => Some(Command::$variant), )* _ => None }
            }
        }
    };
}

commands! {
    Quit = "quit": "Quit warroom (asks first while a step is executing)",
    Help = "help": "Show or hide this help",
    Close = "close": "Close the dialog, leave zoom, or dismiss the message (and stop ignoring keys)",
    FocusNext = "focus-next": "Focus the next pane",
    FocusPrev = "focus-prev": "Focus the previous pane",
    FocusPods = "focus-pods": "Focus the Pods pane",
    FocusDatabase = "focus-database": "Focus the Database pane",
    FocusSentinel = "focus-sentinel": "Focus the Sentinel pane",
    FocusTraffic = "focus-traffic": "Focus the Traffic pane",
    FocusSteps = "focus-steps": "Focus the Steps pane",
    FocusChecklist = "focus-checklist": "Focus the Checklist pane",
    FocusLog = "focus-log": "Focus the Log pane",
    Zoom = "zoom": "Zoom the focused pane to full screen (again to restore)",
    ScrollUp = "scroll-up": "Move the selection up",
    ScrollDown = "scroll-down": "Move the selection down",
    PageUp = "page-up": "Move up one page",
    PageDown = "page-down": "Move down one page",
    ScrollTop = "scroll-top": "Go to the first row",
    ScrollBottom = "scroll-bottom": "Go to the last row",
    Actions = "actions": "Open the list of operations proposed from the current state",
    Select = "select": "Choose the highlighted item",
    Runbooks = "runbooks": "Open the runbook picker (guided, confirmed procedures from the failover plan)",
    RunbookNext = "runbook-next": "Bring up the next step of the running runbook (its confirmation opens)",
    RunbookAbort = "runbook-abort": "Abort the running runbook (asks y/n first; logged; an executing step finishes first)",
    StepRun = "step-run": "Confirm / run the selected step",
    StepRetry = "step-retry": "Retry the selected failed step (prechecks run again)",
    StepSkip = "step-skip": "Skip the selected step (asks for a reason, then y/n)",
    StepAbort = "step-abort": "Abort the selected step (asks y/n first)",
    StepOverride = "step-override": "Override a failed lag guard: promote anyway, typing the data loss accepted (logged)",
    ConfirmYes = "confirm-yes": "Confirm (low-risk steps, y/n questions)",
    ConfirmNo = "confirm-no": "Cancel the confirmation",
    ChecklistTick = "checklist-tick": "Tick the selected checklist item",
    Note = "note": "Write a note into the incident log",
    StatusUpdate = "status-update": "Draft a status update from the current state, edit it, post it (copied via OSC 52; only the commander posts, others copy the draft)",
    Resolve = "resolve": "Resolve the incident (asks for a one-line summary, then y/n)",
    OverrideAuthority = "override-authority": "Act despite conflicting authority on a layer (asks for a reason, then y/n; logged; lasts until the conflict clears)",
    TakeCommand = "take-command": "Take the commander lock (explicit handover, logged)",
    ReleaseCommand = "release-command": "Release the commander lock (asks y/n first; logged)",
    Verdict = "verdict": "Show the estate verdict: every reason, what is expected down, mitigation",
}
