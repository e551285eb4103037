//! The key-command vocabulary: every named command a keymap can bind (`run = "focus-next"`),
//! declared once in the `commands!` table with its keymap name and help line.
//!
//! A leaf: it names no other module of ours, so `config` (keymaps), `app` (what a command does),
//! `ui` (help, footers) and `tui` (key dispatch) all use it without depending on each other.

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
    ChecklistTick = "checklist-tick": "Tick the selected checklist item; on a ticked one (by hand or by an event), untick it (asks why, then y/n; logged)",
    Note = "note": "Write a note into the incident log",
    StatusUpdate = "status-update": "Draft a status update from the current state, edit it, post it (copied via OSC 52; only the commander posts, others copy the draft)",
    Resolve = "resolve": "Resolve the incident (asks for a one-line summary, then y/n)",
    OverrideAuthority = "override-authority": "Act despite conflicting authority on a layer (asks for a reason, then y/n; logged; lasts until the conflict clears)",
    TakeCommand = "take-command": "Take the commander lock (explicit handover, logged)",
    ReleaseCommand = "release-command": "Release the commander lock (asks y/n first; logged)",
    Verdict = "verdict": "Show the estate verdict: every reason, what is expected down, mitigation",
    FacilitatorPause = "facilitator-pause": "Facilitator: pause or resume the drill clock (logged; every console shows PAUSED)",
    FacilitatorInject = "facilitator-inject": "Facilitator: inject a fault now (kind, then target, then when it returns)",
    FacilitatorHint = "facilitator-hint": "Facilitator: release the scenario's next staged hint to the trainees",
    FacilitatorHintText = "facilitator-hint-text": "Facilitator: write a free-text hint for the trainees",
    FacilitatorEnd = "facilitator-end": "Facilitator: end the drill (asks y/n; logged; resolves the incident)",
    StepApprove = "step-approve": "Approve the selected step awaiting approval (another person's: shows its exact preview and digest, then y; logged)",
    StepReject = "step-reject": "Reject the selected step awaiting approval (asks for a reason, shows its exact preview, then y; logged)",
}
