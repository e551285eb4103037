//! `warroom approve INCIDENT STEP [--reject --reason TEXT]`: another person approves (or
//! rejects) a step awaiting approval from any shell, after seeing its exact preview and digest.
//!
//! The step's state is rebuilt from the incident log (the same replay as a resuming console);
//! the decision is refused with a one-line error (exit 3) when the step is not awaiting
//! approval, when you are the commander who confirmed it, when its digest is not the one you
//! saw (`--digest`, or the one printed before the question), or when you already decided. On a
//! terminal it asks before writing (`--yes` for scripts; without a terminal `--yes` is
//! required). The log is read again just before the entry is appended: a step that moved on
//! while you looked is refused, never approved blind.
//!
//! With `[war_room]` the decision is made on the shared incident: a host lacking the incident
//! joins it from the store, a host behind catches up before the step is judged (and again
//! before deciding), and the entry is created in the store (create-only) so the commander's
//! host sees it. With the store unreachable nothing is decided (an approval the commander
//! cannot see would be a silent one).

use std::io::{BufRead as _, IsTerminal as _, Write as _};
use std::sync::Arc;

use chrono::Utc;
use clap::Args;

use crate::app::approval::{decision_intent, describe, may_decide, step_digest};
use crate::app::state::IncidentInfo;
use crate::app::step::StepRun;
use crate::app::{Mode, State, resume};
use crate::config::load::Loaded;
use crate::incident::entry::Entry;
use crate::incident::log::{IncidentLog, LogError};
use crate::incident::operator::operator_for;
use crate::incident::shared::SharedStatus;
use crate::incident::store::IncidentMeta;
use crate::text::sanitize;

/// Options of `warroom approve`.
#[derive(Debug, Clone, Args)]
pub struct ApproveArgs {
    /// Incident id.
    pub incident: String,
    /// Step number (as shown: `5` or `#5`).
    pub step: String,
    /// Reject the step instead (needs --reason).
    #[arg(long)]
    pub reject: bool,
    /// Why it is rejected (logged; shown to the commander).
    #[arg(long, value_name = "TEXT", requires = "reject")]
    pub reason: Option<String>,
    /// Do not ask (scripts); required without a terminal.
    #[arg(long)]
    pub yes: bool,
    /// Decide only if the step's digest is this one (as printed, full or its first 12+ characters).
    #[arg(long, value_name = "HEX")]
    pub digest: Option<String>,
    /// Record this identity instead of `$USER@host` (drills: the trainee's name).
    #[arg(long, value_name = "NAME")]
    pub operator: Option<String>,
}

/// A refusal or usage error: message and exit code.
struct Fail(String, i32);

fn refused(msg: String) -> Fail {
    Fail(msg, 3)
}

/// Run `warroom approve`. Returns the exit code.
pub fn run(args: ApproveArgs, loaded: Loaded, read_only: bool) -> color_eyre::Result<i32> {
    let mut out = std::io::stdout().lock();
    match approve(&args, &loaded, read_only, &mut out) {
        Ok(()) => Ok(0),
        Err(Fail(msg, code)) => {
            let _ = writeln!(std::io::stderr(), "warroom approve: {}", sanitize(&msg));
            Ok(code)
        }
    }
}

fn approve(
    args: &ApproveArgs,
    loaded: &Loaded,
    read_only: bool,
    out: &mut impl std::io::Write,
) -> Result<(), Fail> {
    let who = operator_for(args.operator.as_deref()).map_err(|e| Fail(e, 2))?;
    let id: u64 =
        args.step.trim_start_matches('#').parse().map_err(|_| {
            Fail(format!("STEP must be a step number such as 5 or #5, got {:?}", args.step), 2)
        })?;
    let reason = match (args.reject, args.reason.as_deref().map(str::trim)) {
        (true, None | Some("")) => return Err(Fail("--reject needs --reason TEXT (it is logged)".into(), 2)),
        (_, r) => r.map(str::to_string),
    };
    let (log, meta, entries) = open_log(loaded, &args.incident, &who)?;
    let state = rebuild(loaded, &meta, &who, &entries);
    let step = find(&state, id)?;
    let digest = step_digest(step).unwrap_or_default();
    print_preview(out, step, &state, &digest);
    let seen = match &args.digest {
        Some(d) if d.len() >= 12 && digest.starts_with(&d.to_ascii_lowercase()) => digest.clone(),
        Some(d) => d.to_ascii_lowercase(),
        None => digest.clone(),
    };
    let config = &state.domain.config.approvals;
    may_decide(step, &who, read_only, config, &seen).map_err(refused)?;
    let verb = if args.reject { "reject" } else { "approve" };
    if !args.yes {
        if !std::io::stdin().is_terminal() {
            return Err(Fail("not a terminal: pass --yes to decide without being asked".into(), 2));
        }
        let _ = write!(out, "{verb} step #{id} as {who}? type yes: ");
        let _ = out.flush();
        let mut answer = String::new();
        let _ = std::io::stdin().lock().read_line(&mut answer);
        if answer.trim() != "yes" {
            return Err(refused(format!("not confirmed: step #{id} was not {verb}d; nothing was written")));
        }
    }
    // The step may have moved on while the preview was read: decide on the log as it is now
    // (with [war_room], as the store has it now).
    log.sync_now().map_err(|e| Fail(format!("cannot catch up with the shared store: {e}"), 1))?;
    undecided_if_down(&log)?;
    let now = crate::incident::log::read_log(log.path())
        .map_err(|e| Fail(format!("cannot read incident {}: {e}", args.incident), 2))?;
    let state = rebuild(loaded, &meta, &who, &now);
    let step = find(&state, id)?;
    may_decide(step, &who, read_only, config, &seen).map_err(refused)?;
    let (kind, mut summary, mut details) = decision_intent(step, !args.reject, reason.as_deref())
        .ok_or_else(|| refused(format!("step #{id} is not awaiting approval")))?;
    // Drill entries are marked like a drill console's.
    if meta.drill {
        summary = format!("DRILL {summary}");
        if let Some(d) = details.as_object_mut() {
            d.insert("drill".into(), serde_json::json!(true));
        }
    }
    let entry =
        log.append(&kind, &summary, details).map_err(|e| Fail(format!("cannot write the log: {e}"), 1))?;
    let _ = writeln!(out, "{} (seq {}, digest {digest})", sanitize(&entry.summary), entry.seq);
    match store_down(&log) {
        None => Ok(()),
        Some(down) => Err(Fail(
            format!(
                "seq {} is written locally but not yet shared ({down}): the commander's host cannot see it \
                 until a console of this incident on this host uploads it",
                entry.seq
            ),
            1,
        )),
    }
}

/// Opens incident `id` for a decision. With `[war_room]`: joins it from the store when this
/// host lacks it, shares the log (bringing it up to the store's head) and returns the entries
/// as they are after that; refuses when the store cannot be reached.
fn open_log(
    loaded: &Loaded,
    id: &str,
    who: &str,
) -> Result<(Arc<IncidentLog>, IncidentMeta, Vec<Entry>), Fail> {
    let data_dir = &loaded.paths.data_dir;
    let cfg = loaded.config.clone().unwrap_or_default();
    join_if_missing(&cfg, data_dir, id)?;
    let (log, meta, entries) = IncidentLog::open(data_dir, id, who)
        .map_err(|e| Fail(format!("cannot open incident {id}: {e}"), 2))?;
    let log = log
        .anchored(&loaded.paths.state_dir)
        .map_err(|e| Fail(format!("cannot open incident {id}: {e}"), 2))?;
    let log = Arc::new(log);
    // Drills are never shared (as in consoles and exec).
    if cfg.war_room.is_none() || meta.drill {
        return Ok((log, meta, entries));
    }
    if let Some(warning) = crate::cli::shared::share(&cfg, &log, &meta.id) {
        return Err(Fail(format!("{warning}: nothing was decided"), 1));
    }
    undecided_if_down(&log)?;
    let entries = crate::incident::log::read_log(log.path())
        .map_err(|e| Fail(format!("cannot read incident {id}: {e}"), 2))?;
    Ok((log, meta, entries))
}

/// With `[war_room]`, a host lacking incident `id` rebuilds it from the store (an incident
/// the store lacks too is the usage error of an unknown incident).
fn join_if_missing(cfg: &crate::config::Config, data_dir: &std::path::Path, id: &str) -> Result<(), Fail> {
    if crate::incident::store::log_path(data_dir, id).map_or(true, |p| p.exists()) {
        return Ok(());
    }
    let Some(store) = crate::cli::shared::connect(cfg, id) else { return Ok(()) };
    let store = store.map_err(|e| Fail(format!("{e}: nothing was decided"), 1))?;
    match IncidentLog::join_from_store(data_dir, id, store.as_ref()) {
        Ok(_) => Ok(()),
        Err(e @ LogError::NotFound { .. }) => {
            Err(Fail(format!("cannot open incident {id} (not in {} either): {e}", store.describe()), 2))
        }
        Err(e) => Err(Fail(format!("joining {id} from {}: {e}: nothing was decided", store.describe()), 1)),
    }
}

/// With `[war_room]`: why the shared store did not answer the last sync (`None`: it did, or
/// the log is not shared).
fn store_down(log: &IncidentLog) -> Option<String> {
    match log.shared_status()? {
        SharedStatus::Unreachable { error, .. } => {
            let store = log.shared_store().map(|s| s.describe()).unwrap_or_default();
            Some(format!("the shared store ({store}) is unreachable: {error}"))
        }
        SharedStatus::Synced { .. } => None,
    }
}

/// Refuses to decide while the shared store is unreachable: the decision could not reach the
/// commander's host.
fn undecided_if_down(log: &IncidentLog) -> Result<(), Fail> {
    match store_down(log) {
        Some(down) => Err(Fail(format!("{down}: nothing was decided"), 1)),
        None => Ok(()),
    }
}

/// The incident's steps as a resuming console would see them.
fn rebuild(loaded: &Loaded, meta: &IncidentMeta, who: &str, entries: &[Entry]) -> State {
    let config = Arc::new(loaded.config.clone().unwrap_or_default());
    let mode = if meta.drill { Mode::Drill } else { Mode::Live };
    let mut state = State::new(mode, IncidentInfo::from(meta), who.to_string(), config, Utc::now());
    let (runbooks, _) = crate::runbook::catalog::Catalog::load(loaded.paths.runbooks_dir().as_deref());
    state.domain.runbooks = Arc::new(runbooks);
    resume::restore(&mut state.domain, entries);
    state
}

fn find(state: &State, id: u64) -> Result<&StepRun, Fail> {
    state.domain.step(id).ok_or_else(|| {
        let ids: Vec<String> = state.domain.steps.iter().map(|s| format!("#{}", s.id)).collect();
        let known = if ids.is_empty() { "none".to_string() } else { ids.join(", ") };
        Fail(format!("incident {} has no step #{id} (steps: {known})", state.domain.incident.id), 2)
    })
}

/// The exact preview, who confirmed it, the wait and the digest.
fn print_preview(out: &mut impl std::io::Write, step: &StepRun, state: &State, digest: &str) {
    let id = step.id;
    let _ = writeln!(out, "step #{id}: {}", sanitize(&step.preview.title));
    let _ = writeln!(out, "  target: {}", sanitize(&step.preview.target));
    for line in &step.preview.lines {
        let _ = writeln!(out, "    {}", sanitize(line));
    }
    let _ = writeln!(out, "  blast radius: {}", sanitize(&step.preview.blast_radius));
    if let Some(by) = &step.confirmed_by {
        let _ = writeln!(out, "  confirmed by: {}", sanitize(by));
    }
    let status = describe(step, state.domain.now).unwrap_or_else(|| step.status.label().to_string());
    let _ = writeln!(out, "  status: {}", sanitize(&status));
    let _ = writeln!(out, "  digest: {digest}");
}
