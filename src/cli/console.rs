//! Starting the console: declare or resume the incident, restore its state, run the loop.

use std::io::Write as _;
use std::path::PathBuf;
use std::sync::Arc;

use chrono::Utc;

use crate::app::recording::Genesis;
use crate::app::state::IncidentInfo;
use crate::app::{Mode, State, resume};
use crate::backends::Operate;
use crate::config::Config;
use crate::config::load::Loaded;
use crate::driver::{CommanderLink, Driver, Recorder};
use crate::incident::commander::{self, CommanderView, holder_identity, open_lock};
use crate::incident::entry::Entry;
use crate::incident::entry::{LogIntent, LogLine};
use crate::incident::log::{IncidentLog, LogMode, read_log};
use crate::incident::operator::operator_identity;
use crate::incident::store::{IncidentMeta, incidents_dir, last_open_incident};
use crate::runner::LogSink;
use crate::tui::{self, Sources};
use crate::ui::UiContext;

/// What to start.
pub struct Launch {
    /// Live or drill.
    pub mode: Mode,
    /// Title of a new incident.
    pub title: String,
    /// Severity of a new incident.
    pub severity: String,
    /// `None`: declare a new incident; `Some(None)`: resume the most recent open one (or declare);
    /// `Some(Some(id))`: resume that one.
    pub resume: Option<Option<String>>,
    /// Observer console.
    pub read_only: bool,
    /// Configuration (for a drill: the estate's).
    pub config: Arc<Config>,
    /// Live sources.
    pub sources: Sources,
    /// Executes confirmed steps.
    pub operator: Arc<dyn Operate>,
    /// The identity recorded in every entry this console writes (`--operator`); `None`:
    /// `$USER@host`.
    pub who: Option<String>,
}

/// The durable incident log as the runner's sink.
struct IncidentSink(Arc<IncidentLog>);

/// Step ids allocated through the incident log (unique across the incident's consoles).
struct LogStepIds(Arc<IncidentLog>);

impl std::fmt::Debug for LogStepIds {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "LogStepIds({})", self.0.path().display())
    }
}

impl crate::app::mirror::StepIds for LogStepIds {
    fn allocate(&self, at_least: u64) -> Result<u64, String> {
        self.0.allocate_step_id(at_least).map_err(|e| e.to_string())
    }
}

impl LogSink for IncidentSink {
    fn append(&self, intent: &LogIntent) -> Result<LogLine, String> {
        self.0
            .append(&intent.kind, &intent.summary, intent.details.clone())
            .map(|e| e.to_log_line())
            .map_err(|e| e.to_string())
    }
}

/// Why a console or `exec` of `mode` must not touch incident `id` (one line), or `None`:
/// drills and live incidents never mix. Reads the `declared` line only; an id that does not
/// name a readable log is left to the open that follows (which reports it).
pub fn kind_mismatch(data_dir: &std::path::Path, id: &str, mode: Mode) -> Option<String> {
    let path = crate::incident::store::log_path(data_dir, id).ok()?;
    let declared = crate::incident::store::declared_mode(&path, id).ok()?;
    match (declared, mode) {
        (LogMode::Live, Mode::Drill) => Some(format!(
            "incident {id} is a live incident: a drill never joins or writes to a live incident \
             (nothing was written)"
        )),
        (LogMode::Drill, Mode::Live) => Some(format!(
            "incident {id} is a drill incident: a live console or exec never joins a drill; use \
             `warroom drill --incident {id}` or `warroom exec --drill SCENARIO` (nothing was written)"
        )),
        _ => None,
    }
}

fn open_or_declare(
    l: &Launch,
    data_dir: &std::path::Path,
    who: &str,
) -> color_eyre::Result<(IncidentLog, IncidentMeta, Vec<Entry>)> {
    let drill = l.mode == Mode::Drill;
    let existing = match &l.resume {
        None => None,
        Some(Some(id)) => Some(id.clone()),
        Some(None) => last_open_incident(data_dir)?.filter(|m| m.drill == drill).map(|m| m.id),
    };
    Ok(match existing {
        Some(id) => IncidentLog::open_as(data_dir, &id, who, LogMode::of(drill))?,
        None => {
            let (log, meta) = IncidentLog::declare(data_dir, &l.title, &l.severity, drill, who, Utc::now())?;
            let entries = read_log(log.path())?;
            (log, meta, entries)
        }
    })
}

/// Whether launching `l` would declare a new incident (nothing to join or resume).
fn declares(l: &Launch, data_dir: &std::path::Path) -> color_eyre::Result<bool> {
    let drill = l.mode == Mode::Drill;
    Ok(match &l.resume {
        None => true,
        Some(Some(_)) => false,
        Some(None) => last_open_incident(data_dir)?.filter(|m| m.drill == drill).is_none(),
    })
}

/// Open the incident's commander lock and start its task: a Lease when `[commander]` names a
/// context and namespace (live only), else the file next to the log. Drills use their own
/// incident's file, with the ttl of the user's `[commander]` if any. Read-only consoles only
/// watch. A lock that cannot be opened is shown as unavailable (steps refused) with a warning.
async fn commander_link(
    l: &Launch,
    loaded: &Loaded,
    data_dir: &std::path::Path,
    state: &mut State,
) -> Option<CommanderLink> {
    let drill = l.mode == Mode::Drill;
    let cfg: Config = if drill {
        Config { commander: loaded.config.as_ref().and_then(|c| c.commander.clone()), ..Config::default() }
    } else {
        (*l.config).clone()
    };
    let dir = incidents_dir(data_dir);
    match open_lock(&cfg, &dir, &state.domain.incident.id, drill).await {
        Ok(lock) => {
            tracing::info!("commander lock: {}", lock.describe());
            // Observers and a drill's facilitator never take command: they confirm no step.
            let takes = !state.domain.read_only && !state.domain.facilitation.facilitator;
            let (view, requests) = commander::spawn(lock, holder_identity(&state.domain.operator), takes);
            state.domain.commander = CommanderView::Pending;
            Some(CommanderLink { view, requests: Some(requests) })
        }
        Err(error) => {
            state.domain.warnings.push(format!("commander lock: {error}"));
            state.domain.commander = CommanderView::Unavailable { error };
            None
        }
    }
}

/// The scorecard overlay of the drill logged at `path`, once it is over (resolved or
/// recovered) and its scenario is known.
fn drill_scorecard(path: &std::path::Path) -> Option<Vec<String>> {
    use crate::incident::scorecard::{overlay_lines, scenario_for};
    let entries = crate::incident::log::read_log(path).ok()?;
    let def = scenario_for(&entries, super::log::scenarios_dir().as_deref())?;
    overlay_lines(&entries, &def)
}

/// Start this console's flight recording (`<ID>.rec/<console-id>/`) from the state it is
/// about to run with. A recording that cannot start is a warning on screen, never fatal.
fn start_recorder(
    data_dir: &std::path::Path,
    log: &Arc<IncidentLog>,
    state: &mut State,
    entries: &[Entry],
    runbooks: Vec<(PathBuf, String)>,
) -> Option<Recorder> {
    use crate::incident::recorder::{Limits, SegmentLog, SegmentWriter, new_console_id, recordings_dir};
    let console = new_console_id(Utc::now());
    let started = recordings_dir(data_dir, &state.domain.incident.id)
        .ok_or_else(|| std::io::Error::other("invalid incident id"))
        .and_then(|root| {
            let sink: Arc<dyn SegmentLog> = log.clone();
            SegmentWriter::create(&root, &console, Limits::default(), sink)
        })
        .and_then(|writer| {
            let size = crossterm::terminal::size().unwrap_or((80, 24));
            let genesis = Genesis::capture(&console, state, entries, runbooks, size);
            Recorder::start(genesis, writer)
        });
    match started {
        Ok(r) => Some(r),
        Err(e) => {
            state.domain.warnings.push(format!("flight recorder not started: {e}"));
            None
        }
    }
}

/// Declare or resume the incident and run the console. Returns the exit code.
pub async fn launch(l: Launch, loaded: Loaded) -> color_eyre::Result<i32> {
    launch_with(l, loaded, |_| {}).await
}

/// [`launch`], letting the caller adjust the initial state (e.g. a drill tells the recovery
/// tracker when its fault strikes) after the incident is restored.
pub async fn launch_with(
    l: Launch,
    loaded: Loaded,
    prepare: impl FnOnce(&mut State),
) -> color_eyre::Result<i32> {
    use std::io::IsTerminal;
    if let Some(Some(id)) = &l.resume
        && let Some(why) = kind_mismatch(&loaded.paths.data_dir, id, l.mode)
    {
        eprintln!("warroom: {why}");
        return Ok(2);
    }
    if !std::io::stdin().is_terminal() || !std::io::stdout().is_terminal() {
        eprintln!(
            "warroom: the console needs a terminal; for scripts use `warroom status --json` or `warroom drill --status --json`"
        );
        return Ok(2);
    }
    let who = l.who.clone().unwrap_or_else(operator_identity);
    let data_dir: PathBuf = loaded.paths.data_dir.clone();
    if l.read_only && declares(&l, &data_dir)? {
        eprintln!(
            "warroom: refused: a --read-only console joins an open incident (--incident ID); it cannot declare one"
        );
        return Ok(2);
    }
    // A live console joining an incident this host lacks rebuilds it from the shared store.
    if let (Mode::Live, Some(Some(id))) = (l.mode, &l.resume)
        && let Err(e) = super::shared::join_if_missing(&l.config, &data_dir, id)
    {
        eprintln!("warroom: {e}");
        return Ok(2);
    }
    let (log, meta, entries) = open_or_declare(&l, &data_dir, &who)?;
    let log = log.anchored(&loaded.paths.state_dir)?;
    let now = Utc::now();
    let incident = IncidentInfo::from(&meta);
    let mut state = State::new(l.mode, incident, who, l.config.clone(), now);
    state.domain.access_reviews = crate::app::Domain::reviews_access(l.mode, &state.domain.config);
    state.domain.read_only = l.read_only;
    state.domain.warnings = loaded.warnings.iter().map(ToString::to_string).collect();
    if l.mode == Mode::Live
        && l.config.postgres.is_some()
        && let Some(w) = crate::backends::postgres::pgpass::ignored_warning()
    {
        state.domain.warnings.push(w);
    }
    let (runbooks, runbook_errors) =
        crate::runbook::catalog::Catalog::load(loaded.paths.runbooks_dir().as_deref());
    state.domain.runbooks = std::sync::Arc::new(runbooks);
    state.domain.warnings.extend(runbook_errors.iter().map(|e| format!("runbook skipped: {e}")));
    state.domain.warnings.extend(state.domain.checklist.apply_entries(&entries));
    resume::restore(&mut state.domain, &entries);
    let log = Arc::new(log);
    if l.mode == Mode::Live
        && let Some(warning) = super::shared::share(&l.config, &log, &meta.id)
    {
        state.domain.warnings.push(warning);
    }
    state.domain.step_ids = Some(Arc::new(LogStepIds(log.clone())));
    prepare(&mut state);
    let path = log.path().to_path_buf();
    let follower = log.follower();
    let commander = commander_link(&l, &loaded, &data_dir, &mut state).await;
    let runbook_sources =
        crate::runbook::catalog::Catalog::user_sources(loaded.paths.runbooks_dir().as_deref());
    let recorder = start_recorder(&data_dir, &log, &mut state, &entries, runbook_sources);
    let shared = log.shared_status().is_some().then(|| log.clone());
    let mut driver =
        Driver::start(state, l.sources, l.operator, Arc::new(IncidentSink(log))).with_follower(follower);
    if let Some(log) = shared {
        driver = driver.with_shared_store(log);
    }
    if let Some(link) = commander {
        driver = driver.with_commander(link);
    }
    if let Some(r) = recorder {
        driver = driver.with_recorder(r);
    }
    let ctx = UiContext { theme: loaded.theme.clone(), keymap: loaded.keymap.clone() };
    let epilogue = (l.mode == Mode::Drill).then(|| {
        let path = path.clone();
        Box::new(move || drill_scorecard(&path)) as tui::Epilogue
    });
    let end = tui::run_with(driver, ctx, epilogue).await?;
    // The terminal may be gone (SSH dropped): println! would panic on EIO.
    let _ = writeln!(
        std::io::stdout(),
        "warroom: incident {} ({}) log: {}",
        end.domain.incident.id,
        end.domain.clock_text(),
        path.display()
    );
    Ok(0)
}
