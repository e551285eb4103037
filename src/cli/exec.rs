//! `warroom exec RUNBOOK`: run a runbook without a terminal, through the SAME pipeline as the
//! console (`State` + `app::update` + `runbook_flow` + the effect `Runner` writing the real
//! incident log), under the commander lock, with the context guard and prechecks.
//!
//! Confirmations come from the command line, as an operator would give them: a high-risk step
//! runs only if its confirm word is among `--confirm`, a low-risk one needs `--yes-low-risk`, a
//! manual one `--note`. Exit codes: 0 completed; 1 failed at a step; 2 usage or config error;
//! 3 refused before executing (missing confirmation, lock held, read-only, unresolvable
//! parameters, precheck refusal, the lag guard included, a step rejected by its approver or
//! whose approvals did not arrive in time); 130 interrupted (SIGINT / SIGTERM, after the
//! executing step's result is logged).
//!
//! A step that needs approvals (two-person rule, `app::approval`) is confirmed, then exec says
//! it waits (the step, its digest, the `warroom approve` command) and follows the incident log
//! until another person approves it (then it executes), rejects it, or `--approval-timeout`
//! (default `[approvals] timeout_secs`) passes.
//!
//! Every refusal that can be known from the first snapshots is made before an incident is
//! declared ([`preflight`]): a refused exec leaves no incident behind. A refusal that only shows
//! once the run is under way (the estate changed in between) stays in the declared incident's
//! log, where the attempt is recorded. A completed drill run waits (at most `--result-wait`,
//! 60 s) for the `drill-result` entry the console would record.

mod driver;
mod preflight;

use std::path::Path;
use std::sync::{Arc, Mutex};

use chrono::{SecondsFormat, Utc};
use clap::Args;

use super::plan::{self, DrillClock, Exit, Target};
use crate::app::measure::Recovery;
use crate::app::state::IncidentInfo;
use crate::app::{Mode, State, resume};
use crate::backends::Operate;
use crate::backends::live;
use crate::config::load::Loaded;
use crate::incident::commander::{CommanderGuard, acquire_for_exec, holder_identity};
use crate::incident::entry::Entry;
use crate::incident::entry::LogIntent;
use crate::incident::entry::LogLine;
use crate::incident::log::{IncidentLog, LogError, LogMode, read_log};
use crate::incident::operator::operator_identity;
use crate::incident::store::{IncidentMeta, incidents_dir};
use crate::runner::LogSink;
use crate::text::sanitize;

pub use driver::{Decisions, Outcome};

/// Options of `warroom exec`.
#[derive(Debug, Clone, Args)]
pub struct ExecArgs {
    /// Runbook id (built-in or from the config dir's runbooks/).
    pub runbook: String,
    /// Parameter override `name=value` (repeatable).
    #[arg(long = "param", value_name = "K=V", value_parser = plan::parse_param)]
    pub params: Vec<(String, String)>,
    /// Run only this step (the others are skipped as "not selected", logged).
    #[arg(long, value_name = "ID")]
    pub step: Option<String>,
    /// Confirm a high-risk step by its target's name (as typed in the console; repeatable).
    #[arg(long = "confirm", value_name = "TARGET")]
    pub confirm: Vec<String>,
    /// Confirm every low-risk step.
    #[arg(long)]
    pub yes_low_risk: bool,
    /// Note logged when ticking a manual step (what was done by hand).
    #[arg(long, value_name = "TEXT")]
    pub note: Option<String>,
    /// Continue this incident (default: declare a new one).
    #[arg(long, value_name = "ID")]
    pub incident: Option<String>,
    /// Run against the simulated estate of this drill scenario (its fault already struck).
    #[arg(long, value_name = "SCENARIO")]
    pub drill: Option<String>,
    /// With --drill: simulation speed (sim seconds per second; 1 = real time).
    #[arg(long, requires = "drill", default_value_t = 1.0)]
    pub speed: f64,
    /// With --drill: how far the estate is advanced before the run (e.g. 70s; default 1 s past
    /// the scenario's fault).
    #[arg(long, requires = "drill", value_name = "DURATION", value_parser = plan::parse_duration)]
    pub at: Option<std::time::Duration>,
    /// With --drill: how long a completed run waits for the drill result (mitigation may need
    /// the estate to settle after the last verify).
    #[arg(long, requires = "drill", value_name = "DURATION", value_parser = plan::parse_duration,
          default_value = "60s")]
    pub result_wait: std::time::Duration,
    /// How long a step waits for other people's approvals (two-person rule) before it fails
    /// (exit 3); default: `[approvals] timeout_secs` (600 s).
    #[arg(long, value_name = "SECS")]
    pub approval_timeout: Option<u64>,
}

/// The durable incident log as the runner's sink; every entry is printed once it is durable.
struct PrintingSink {
    log: Arc<IncidentLog>,
    out: Mutex<()>,
}

impl LogSink for PrintingSink {
    fn append(&self, intent: &LogIntent) -> Result<LogLine, String> {
        let line = self
            .log
            .append(&intent.kind, &intent.summary, intent.details.clone())
            .map(|e| e.to_log_line())
            .map_err(|e| e.to_string())?;
        let _guard = self.out.lock();
        progress(&format!(
            "{}  {:<16} {}",
            line.at.to_rfc3339_opts(SecondsFormat::Millis, true),
            line.kind,
            sanitize(&line.summary)
        ));
        Ok(line)
    }
}

/// One line on stdout (never panics on a closed pipe).
fn progress(text: &str) {
    use std::io::Write as _;
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{text}");
    let _ = out.flush();
}

/// Run `warroom exec`. Returns the exit code.
pub async fn run(args: ExecArgs, loaded: Loaded, read_only: bool) -> color_eyre::Result<i32> {
    match exec_cmd(args, &loaded, read_only).await {
        Ok(code) => Ok(code),
        Err(e) => {
            eprintln!("warroom exec: {}", e.message);
            Ok(e.code)
        }
    }
}

fn open_or_declare(
    args: &ExecArgs,
    mode: Mode,
    data_dir: &Path,
    who: &str,
) -> Result<(IncidentLog, IncidentMeta, Vec<Entry>), Exit> {
    let drill = mode == Mode::Drill;
    match &args.incident {
        Some(id) => IncidentLog::open_as(data_dir, id, who, LogMode::of(drill)).map_err(|e| match e {
            LogError::ModeMismatch { .. } => Exit::usage(e.to_string()),
            e => Exit::usage(format!("cannot open incident {id}: {e}")),
        }),
        None => {
            let title = match &args.drill {
                Some(s) => format!("Drill: {s} (warroom exec {})", args.runbook),
                None => format!("warroom exec {}", args.runbook),
            };
            let (log, meta) = IncidentLog::declare(data_dir, &title, "SEV2", drill, who, Utc::now())
                .map_err(|e| Exit::usage(format!("cannot declare an incident: {e}")))?;
            let entries = read_log(log.path()).map_err(|e| Exit::usage(e.to_string()))?;
            Ok((log, meta, entries))
        }
    }
}

/// The same receivers (the preflight reads them; the driver then follows them).
fn share(s: &crate::backends::Sources) -> crate::backends::Sources {
    crate::backends::Sources {
        kube: s.kube.clone(),
        database: s.database.clone(),
        sentinel: s.sentinel.clone(),
        traffic: s.traffic.clone(),
    }
}

async fn exec_cmd(args: ExecArgs, loaded: &Loaded, read_only: bool) -> Result<i32, Exit> {
    let wanted = if args.drill.is_some() { Mode::Drill } else { Mode::Live };
    if let Some(id) = &args.incident
        && let Some(why) = super::console::kind_mismatch(&loaded.paths.data_dir, id, wanted)
    {
        return Err(Exit::usage(why));
    }
    if !(args.speed > 0.0 && args.speed <= 1000.0) {
        return Err(Exit::usage(format!("--speed must be between 0 and 1000, got {}", args.speed)));
    }
    let clock = DrillClock { speed: args.speed, at: args.at };
    let target = Target::with_clock(args.drill.as_deref(), loaded, clock)?;
    let (catalog, rb) = plan::find_runbook(&args.runbook, loaded)?;
    plan::check_param_names(&rb, &args.params)?;
    if let Some(step) = &args.step
        && !rb.steps.iter().any(|s| s.id.get_ref() == step)
    {
        let ids: Vec<&str> = rb.steps.iter().map(|s| s.id.get_ref().as_str()).collect();
        return Err(Exit::usage(format!(
            "runbook {} has no step {step:?} (steps: {})",
            rb.id(),
            ids.join(", ")
        )));
    }
    let config = target.config(loaded);
    // A bad --param value is a usage error, known before anything is observed or declared.
    if let Err(e) = plan::resolve(&rb, &config, &crate::backends::Observed::default(), &args.params)
        && e.code == 2
    {
        return Err(e);
    }
    if read_only {
        return Err(Exit::refused(
            "refused: --read-only consoles cannot execute steps (nothing was executed)",
        ));
    }
    let mode = target.mode();
    let (sources, operator, recovery): (_, Arc<dyn Operate>, _) = match &target {
        Target::Live(cfg) => {
            let estate = live::build(cfg).await;
            (estate.sources, estate.operator, None)
        }
        Target::Drill(e) => (
            super::drill::sources(e, std::time::Duration::from_millis(200)),
            Arc::new(e.operator()),
            Some({
                let mut r = Recovery::drill(e.scenario().name, plan::fault_struck_at(e, args.speed));
                let name = e.scenario().name;
                if let Some(before) = plan::before_fault(name, args.speed, clock.start(name)) {
                    r.prime(&before);
                }
                r
            }),
        ),
    };
    let decisions =
        Decisions { confirm: args.confirm.clone(), yes_low_risk: args.yes_low_risk, note: args.note.clone() };
    let first = super::status::first_snapshots(share(&sources), plan::FIRST_SNAPSHOT_LIMIT).await;
    if let Err(e) = preflight::check(&rb, &config, &first, &args.params, args.step.as_deref(), &decisions) {
        if e.code != 3 {
            return Err(e);
        }
        let why = format!("{}; nothing was executed and no incident was declared", e.message);
        progress(&format!("RESULT: REFUSED: {} (exit 3)", sanitize(&why)));
        return Err(Exit::refused(format!("refused: {why}")));
    }
    run_with(args, loaded, &catalog, config, mode, sources, operator, recovery, decisions).await
}

#[allow(clippy::too_many_arguments)]
async fn run_with(
    args: ExecArgs,
    loaded: &Loaded,
    catalog: &crate::runbook::catalog::Catalog,
    config: Arc<crate::config::Config>,
    mode: Mode,
    sources: crate::backends::Sources,
    operator: Arc<dyn Operate>,
    recovery: Option<Recovery>,
    decisions: Decisions,
) -> Result<i32, Exit> {
    let who = operator_identity();
    let data_dir = loaded.paths.data_dir.clone();
    // A live exec on an incident this host lacks rebuilds it from the shared store first.
    if let (Mode::Live, Some(id)) = (mode, &args.incident) {
        crate::cli::shared::join_if_missing(&config, &data_dir, id).map_err(Exit::usage)?;
    }
    let (log, meta, entries) = open_or_declare(&args, mode, &data_dir, &who)?;
    let log = log.anchored(&loaded.paths.state_dir).map_err(|e| Exit::usage(e.to_string()))?;
    let log = Arc::new(log);
    if mode == Mode::Live
        && let Some(warning) = crate::cli::shared::share(&config, &log, &meta.id)
    {
        progress(&format!("warroom exec: {warning}"));
    }
    let path = log.path().to_path_buf();
    progress(&format!(
        "warroom exec: incident {} ({}) log: {}",
        meta.id,
        sanitize(&meta.title),
        path.display()
    ));
    let lock_cfg = match mode {
        // Drills use the file next to their own log, with the ttl of the user's [commander].
        Mode::Drill => crate::config::Config {
            commander: loaded.config.as_ref().and_then(|c| c.commander.clone()),
            ..crate::config::Config::default()
        },
        Mode::Live => (*config).clone(),
    };
    let guard: CommanderGuard =
        acquire_for_exec(&lock_cfg, &incidents_dir(&data_dir), &meta.id, &holder_identity(&who))
            .await
            .map_err(|e| Exit::refused(format!("refused: {e} (nothing was executed)")))?;
    progress(&format!("warroom exec: commander lock held ({})", guard.describe()));
    let incident = IncidentInfo::from(&meta);
    let config = match args.approval_timeout {
        Some(secs) => {
            let mut c = (*config).clone();
            c.approvals.timeout_secs = Some(secs.max(1));
            Arc::new(c)
        }
        None => config,
    };
    let mut state = State::new(mode, incident, who, config, Utc::now());
    state.domain.access_reviews = crate::app::Domain::reviews_access(mode, &state.domain.config);
    state.domain.runbooks = Arc::new(catalog.clone());
    state.domain.warnings.extend(state.domain.checklist.apply_entries(&entries));
    resume::restore(&mut state.domain, &entries);
    if let Some(r) = recovery {
        state.domain.recovery = r;
    }
    // Other people's entries (approvals of the steps it waits on) reach exec through the log.
    let follower = log.follower();
    let sink = Arc::new(PrintingSink { log, out: Mutex::new(()) });
    let mut d = driver::Exec::new(state, sources, operator, sink, guard.view(), follower);
    let outcome = d.execute(&args.runbook, &args.params, args.step.as_deref(), &decisions).await;
    d.finish(&outcome).await;
    if mode == Mode::Drill && outcome == Outcome::Completed && !d.drill_result_logged() {
        if let Some(step) = &args.step {
            progress(&format!(
                "warroom exec: no drill result yet: only step {step} was selected; it is recorded once \
                 the estate recovers (a later exec or a console on this incident)"
            ));
        } else {
            progress(&format!(
                "warroom exec: waiting for the drill result (at most {} s)",
                args.result_wait.as_secs_f64()
            ));
            if let Err(why) = d.await_drill_result(args.result_wait).await {
                progress(&format!("warroom exec: no drill result: {why}"));
            }
        }
    }
    let lock_view = guard.view();
    match guard.release().await {
        // The release goes into the incident log like a console's.
        Ok(()) => d.observe_commander(lock_view.borrow().clone()).await,
        Err(e) => eprintln!("warroom exec: releasing the commander lock: {e}"),
    }
    progress(&d.summary(&outcome));
    progress(&format!("warroom exec: incident {} log: {}", meta.id, path.display()));
    match outcome {
        Outcome::Refused(why) => Err(Exit::refused(format!("refused: {why} (nothing after this ran)"))),
        other => Ok(other.code()),
    }
}
