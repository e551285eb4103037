//! [`State`]: the [`Domain`] (what is true about the incident and the estate) and the [`View`]
//! (what one operator's screen shows), and the types they are made of.

use std::collections::VecDeque;
use std::sync::Arc;

use chrono::{DateTime, Utc};

use crate::backends::Observed;
use crate::config::Config;
use crate::incident::checklist::Checklist;
use crate::operation::Operation;
use crate::runbook::catalog::Catalog;

use super::runbook_flow::RunbookRun;

use super::step::StepRun;

/// Live against real systems, or a drill against the simulated estate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Real backends.
    Live,
    /// Simulated estate.
    Drill,
}

/// The panes, in focus order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PaneId {
    /// Kubernetes pods.
    Pods,
    /// PostgreSQL.
    Database,
    /// Redis Sentinel.
    Sentinel,
    /// Route 53 + HTTP health.
    Traffic,
    /// Step runs.
    Steps,
    /// Communication checklist.
    Checklist,
    /// Incident log tail.
    Log,
}

impl PaneId {
    /// Focus order.
    pub const ALL: [PaneId; 7] = [
        PaneId::Pods,
        PaneId::Database,
        PaneId::Sentinel,
        PaneId::Traffic,
        PaneId::Steps,
        PaneId::Checklist,
        PaneId::Log,
    ];

    /// Index into per-pane arrays.
    pub fn index(self) -> usize {
        PaneId::ALL.iter().position(|p| *p == self).unwrap_or(0)
    }

    /// Title.
    pub fn title(self) -> &'static str {
        match self {
            PaneId::Pods => "Pods",
            PaneId::Database => "Database",
            PaneId::Sentinel => "Sentinel",
            PaneId::Traffic => "Traffic",
            PaneId::Steps => "Steps",
            PaneId::Checklist => "Checklist",
            PaneId::Log => "Log",
        }
    }
}

/// What the incident is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IncidentInfo {
    /// Incident id, e.g. `INC-20261126-1203`.
    pub id: String,
    /// Title.
    pub title: String,
    /// SEV1-SEV4.
    pub severity: String,
    /// T+0.
    pub declared_at: DateTime<Utc>,
    /// A drill incident.
    pub drill: bool,
}

impl From<&crate::incident::store::IncidentMeta> for IncidentInfo {
    fn from(meta: &crate::incident::store::IncidentMeta) -> IncidentInfo {
        IncidentInfo {
            id: meta.id.clone(),
            title: meta.title.clone(),
            severity: meta.severity.clone(),
            declared_at: meta.declared_at,
            drill: meta.drill,
        }
    }
}

use crate::incident::entry::LogLine;

/// An operation the console proposes from the current state.
#[derive(Debug, Clone, PartialEq)]
pub struct Proposal {
    /// The operation.
    pub op: Operation,
    /// Why it is proposed.
    pub why: String,
    /// `Some(why not)`: listed greyed, not offered (a safety rule or a precheck fails now).
    pub blocked: Option<String>,
}

/// What the active text prompt is for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PromptPurpose {
    /// Reason for skipping a step.
    SkipReason(u64),
    /// A free-form note for the log.
    Note,
    /// A note when ticking a checklist item.
    ChecklistNote(String),
    /// Why a ticked checklist item is unticked (then a y/n confirmation).
    ChecklistUntick(String),
    /// A status update draft, edited then posted (logged and copied with OSC 52).
    StatusUpdate,
    /// The one-line summary that resolves the incident.
    Resolve,
    /// The bytes of data loss accepted to promote despite the lag guard (step id).
    AcceptDataLoss(u64),
    /// What the operator did for a manual step (step id); logged when it is ticked.
    ManualNote(u64),
    /// A free-text hint for the trainees (facilitator).
    Hint,
    /// The reason for overriding the single-authority check on a layer.
    AuthorityOverride(crate::backends::Layer),
    /// Why another person's step awaiting approval is rejected (step id).
    RejectReason(u64),
}

/// The layer on top of the panes.
#[derive(Debug, Clone, PartialEq)]
pub enum Modal {
    /// Help generated from the active keymap.
    Help,
    /// The estate verdict: every reason, what is expected down, mitigation.
    Verdict,
    /// Operations proposed from the current state.
    Actions {
        /// The proposals.
        items: Vec<Proposal>,
        /// Highlighted row.
        selected: usize,
    },
    /// The runbook picker.
    Runbooks {
        /// The highlighted runbook's id. The list is ordered by what is wrong now and can
        /// reorder while it is open: the highlight follows the runbook, so Enter starts the
        /// one on screen.
        selected: String,
    },
    /// Confirmation of a step.
    Confirm {
        /// Step id.
        step: u64,
        /// What has been typed so far (high risk).
        typed: String,
    },
    /// Take the commander lock over from its live holder (y/n, logged).
    TakeCommand {
        /// The holder's identity.
        holder: String,
    },
    /// A y/n confirmation of an irreversible key (abort, skip, resolve, release, override):
    /// `what` states exactly what happens; `y` does it, `n`/Esc cancels (see [`super::guard`]).
    ConfirmKey {
        /// What happens on `y`, in one or two sentences.
        what: String,
        /// The action `y` performs.
        action: super::guard::KeyAction,
    },
    /// The facilitator's injection menu (kind, target, returns-after).
    Inject {
        /// Which choice is being made.
        stage: super::facilitator::InjectStage,
        /// Highlighted row.
        selected: usize,
    },
    /// What posting a status update sends to the `[[notify]]` targets: `y` posts and sends.
    NotifyPreview {
        /// The composer's label (restored on cancel).
        label: String,
        /// The text to post.
        text: String,
        /// The preview (targets, redacted destinations, exact payloads).
        lines: Vec<String>,
    },
    /// The multi-line status-update composer.
    Composer {
        /// What posting does (and who may).
        label: String,
        /// The text and the cursor.
        buffer: super::composer::Composer,
    },
    /// A one-line text prompt.
    Prompt {
        /// What it is for.
        purpose: PromptPurpose,
        /// Label.
        label: String,
        /// Text typed so far.
        text: String,
    },
}

/// Everything the screen shows and the core decides on: the [`Domain`] (what is true about the
/// incident and the estate, shared by every console and rebuilt by replaying the log) and the
/// [`View`] (what this one operator's screen shows and is in the middle of).
#[derive(Debug, Clone)]
pub struct State {
    /// What is true about the incident and the estate.
    pub domain: Domain,
    /// What this console's screen shows.
    pub view: View,
}

/// What is true about the incident and the estate, as this console knows it: the snapshots, the
/// steps, the runbook run, the checklist, the log tail and the judgements derived from them.
/// Judged without any screen (verdict, recommendations, safety, recovery, `status --json`) and
/// rebuilt from the incident log by [`super::resume::restore`].
#[derive(Debug, Clone)]
pub struct Domain {
    /// Live or drill.
    pub mode: Mode,
    /// Observers cannot confirm steps.
    pub read_only: bool,
    /// The incident.
    pub incident: IncidentInfo,
    /// `user@host`.
    pub operator: String,
    /// The configuration (what is configured, endpoints, limits).
    pub config: Arc<Config>,
    /// Latest snapshots.
    pub observed: Observed,
    /// Step runs, oldest first.
    pub steps: Vec<StepRun>,
    /// Communication checklist.
    pub checklist: Checklist,
    /// Tail of the durable log, oldest first (bounded).
    pub log_tail: VecDeque<LogLine>,
    /// Warnings to show (bad user files, log failures).
    pub warnings: Vec<String>,
    /// Now, as of the last action.
    pub now: DateTime<Utc>,
    /// Next step id.
    pub next_step_id: u64,
    /// When the incident was resolved, with the summary.
    pub resolved: Option<(DateTime<Utc>, String)>,
    /// Runbooks available (built-in and the user's).
    pub runbooks: Arc<Catalog>,
    /// The runbook being run (or the last one, finished).
    pub runbook: Option<RunbookRun>,
    /// Recovery measurement (fault, detection, first action, mitigation, data loss).
    pub recovery: super::measure::Recovery,
    /// Layers whose single-authority check the operator overrode (until the conflict clears).
    pub authority_overrides: Vec<super::authority::AuthorityOverride>,
    /// The commander lock as last seen (default: no lock in this console).
    pub commander: crate::incident::commander::CommanderView,
    /// The shared store (`[war_room]`) as last seen (`None`: not shared).
    pub shared_store: Option<crate::incident::shared::SharedStatus>,
    /// Another console took command from this one: who, and when (the header's banner).
    pub command_taken: Option<(String, DateTime<Utc>)>,
    /// This console records what it observes (observation and measurement entries). False in
    /// a console that joined a drill hosted by another console: only the host records its estate.
    pub records_observations: bool,
    /// Allocates step ids shared by every console of the incident (`None`: this state alone).
    pub step_ids: Option<Arc<dyn super::mirror::StepIds>>,
    /// The estate verdict of the current snapshots (kept by [`super::measure::track`]).
    pub verdict: super::verdict::Verdict,
    /// The snapshots `verdict` was computed from (compared by pointer).
    pub verdict_of: Option<Observed>,
    /// Ask the API server (SelfSubjectAccessReview) before confirming a Kubernetes step: set
    /// for live consoles with Kubernetes configured ([`Domain::reviews_access`]).
    pub access_reviews: bool,
    /// A drill's facilitation: the drill clock (paused intervals), hints, this console's role.
    pub facilitation: super::facilitator::Facilitation,
    /// Bounded histories of replica lag and region share/health (the panes' sparklines).
    pub trends: super::trend::Trends,
}

/// What one operator's screen shows and is in the middle of: focus, zoom, selections, the modal
/// layer (a dialog, prompt or list), the transient message, and the quit confirmation. Nothing
/// here is logged or shared with other consoles.
#[derive(Debug, Clone)]
pub struct View {
    /// The `[[notify]]` targets of the last status update sent, each with where its delivery
    /// stands ("sending…", "sent (HTTP 200)", "failed (why)").
    pub notify: Vec<(String, String)>,
    /// Focused pane.
    pub focus: PaneId,
    /// Focused pane shown full screen.
    pub zoomed: bool,
    /// Selected row per pane (indexed by [`PaneId::index`]).
    pub selected: [usize; 7],
    /// Modal layer.
    pub modal: Option<Modal>,
    /// A transient status message (e.g. "read-only: cannot confirm").
    pub flash: Option<(String, DateTime<Utc>)>,
    /// The loop should exit.
    pub quit: bool,
    /// Quit was pressed once while a step is in flight; a second press quits.
    pub quit_armed: bool,
    /// Help overlay scroll offset.
    pub help_scroll: usize,
    /// The last line the help can start at for the terminal's size (from the ui, through
    /// [`super::Action::HelpLimit`]); `None` before it is known.
    pub help_limit: Option<usize>,
    /// Keys typed right after a dialog failed to open are dropped while this is set.
    pub swallow: Option<super::guard::Swallow>,
    /// This screen replays a recording (`warroom replay`): the header's REPLAY badge.
    pub replay: Option<super::replay::ReplayBadge>,
}

impl Default for View {
    /// Nothing open, the Database pane focused.
    fn default() -> View {
        View {
            notify: Vec::new(),
            focus: PaneId::Database,
            zoomed: false,
            selected: [0; 7],
            modal: None,
            flash: None,
            quit: false,
            quit_armed: false,
            help_scroll: 0,
            help_limit: None,
            swallow: None,
            replay: None,
        }
    }
}

impl From<Domain> for State {
    /// A console showing `domain` (e.g. rebuilt from a log), nothing open on its screen.
    fn from(domain: Domain) -> State {
        State { domain, view: View::default() }
    }
}

impl AsRef<Domain> for Domain {
    fn as_ref(&self) -> &Domain {
        self
    }
}

impl AsRef<Domain> for State {
    fn as_ref(&self) -> &Domain {
        &self.domain
    }
}

/// How many log lines the Log pane keeps in memory.
pub const LOG_TAIL_MAX: usize = 500;

impl State {
    /// A fresh state: a fresh [`Domain`] and a default [`View`].
    pub fn new(
        mode: Mode,
        incident: IncidentInfo,
        operator: String,
        config: Arc<Config>,
        now: DateTime<Utc>,
    ) -> State {
        State::from(Domain::new(mode, incident, operator, config, now))
    }

    /// The step selected in the Steps pane.
    pub fn selected_step(&self) -> Option<&StepRun> {
        self.domain.steps.get(self.view.selected[PaneId::Steps.index()])
    }

    /// Whether a text prompt is active (keys go to [`super::Action::Text`]).
    pub fn wants_text(&self) -> bool {
        match &self.view.modal {
            Some(Modal::Prompt { .. } | Modal::Composer { .. }) => true,
            Some(Modal::Confirm { step, .. }) => {
                self.domain.step(*step).is_some_and(|s| s.risk() == crate::operation::Risk::High)
            }
            _ => false,
        }
    }
}

impl Domain {
    /// A fresh domain: nothing observed, no steps, the built-in runbooks.
    pub fn new(
        mode: Mode,
        incident: IncidentInfo,
        operator: String,
        config: Arc<Config>,
        now: DateTime<Utc>,
    ) -> Domain {
        Domain {
            mode,
            read_only: false,
            incident,
            operator,
            config,
            observed: Observed::default(),
            steps: Vec::new(),
            checklist: Checklist::communication(),
            log_tail: VecDeque::new(),
            warnings: Vec::new(),
            now,
            next_step_id: 1,
            resolved: None,
            runbooks: Arc::new(Catalog::builtin()),
            runbook: None,
            recovery: super::measure::Recovery::default(),
            authority_overrides: Vec::new(),
            commander: Default::default(),
            shared_store: None,
            command_taken: None,
            records_observations: true,
            step_ids: None,
            verdict: Default::default(),
            verdict_of: None,
            access_reviews: false,
            facilitation: Default::default(),
            trends: Default::default(),
        }
    }

    /// Whether a console of `mode` over `config` asks the API server for permission before a
    /// Kubernetes step: live, with Kubernetes configured (a drill's estate has no RBAC).
    pub fn reviews_access(mode: Mode, config: &Config) -> bool {
        mode == Mode::Live && crate::backends::live::kube_configured(config)
    }

    /// A new step id: from the incident's shared allocator when there is one (no two consoles
    /// get the same id), never below the ids this console has seen.
    pub fn alloc_step_id(&mut self) -> u64 {
        let floor = self.next_step_id;
        let id = match self.step_ids.as_ref().map(|a| a.allocate(floor)) {
            Some(Ok(id)) => id.max(floor),
            Some(Err(e)) => {
                self.warnings.push(format!("step ids: {e} (numbering from this console only)"));
                floor
            }
            None => floor,
        };
        self.next_step_id = id + 1;
        id
    }

    /// Step by id.
    pub fn step(&self, id: u64) -> Option<&StepRun> {
        self.steps.iter().find(|s| s.id == id)
    }

    /// Mutable step by id.
    pub fn step_mut(&mut self, id: u64) -> Option<&mut StepRun> {
        self.steps.iter_mut().find(|s| s.id == id)
    }

    /// Incident clock: seconds since T+0 (never negative).
    pub fn elapsed_secs(&self) -> i64 {
        self.facilitation.clock.elapsed(self.incident.declared_at, self.now).num_seconds().max(0)
    }

    /// The wall clock as of the last action: `now` moves on while a drill is paused (transient
    /// things of one screen, flashes and dropped keys, still expire then).
    pub fn wall(&self) -> DateTime<Utc> {
        self.facilitation.wall.max(self.now)
    }

    /// T+0 as the checklist counts it: the declaration moved later by the drill's pauses up to
    /// now, so due times and countdowns stand still while a drill is paused.
    pub fn checklist_t0(&self) -> DateTime<Utc> {
        let t0 = self.incident.declared_at;
        t0 + self.facilitation.clock.paused_between(t0, self.now)
    }

    /// `T+mm:ss` (hours roll into minutes past 99: `T+1h02:03`).
    pub fn clock_text(&self) -> String {
        let s = self.elapsed_secs();
        if s >= 3600 {
            format!("T+{}h{:02}:{:02}", s / 3600, (s / 60) % 60, s % 60)
        } else {
            format!("T+{:02}:{:02}", s / 60, s % 60)
        }
    }

    /// Keep a log line in the tail: entries arrive from this console's writer and from the
    /// follower (which also sees other consoles' entries), so the tail is kept ordered by seq,
    /// without duplicates, and bounded by [`LOG_TAIL_MAX`]. Bookkeeping entries (a recording
    /// segment closed) are not shown: see [`crate::incident::entry::EntryKind::is_bookkeeping`].
    pub fn push_log_line(&mut self, line: LogLine) {
        self.facilitation.note_kind(&line.kind, line.at);
        if line.kind.is_bookkeeping()
            || !super::facilitator::shown_to(self.facilitation.facilitator, &line.kind, &line.summary)
        {
            return;
        }
        match self.log_tail.back() {
            None => self.log_tail.push_back(line),
            Some(last) if line.seq > last.seq => self.log_tail.push_back(line),
            Some(_) => {
                if let Err(i) = self.log_tail.binary_search_by_key(&line.seq, |l| l.seq) {
                    self.log_tail.insert(i, line);
                }
            }
        }
        while self.log_tail.len() > LOG_TAIL_MAX {
            self.log_tail.pop_front();
        }
    }
}
