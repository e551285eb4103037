//! `warroom drill` on an incident: one estate per drill incident. The console that declares a
//! drill records its parameters (`drill-estate` entry) and hosts its estate; consoles that join
//! show and operate the host's estate (see [`crate::backends::drill::remote`]); a console that
//! finds no host (the host exited) hosts it again, resumed by replaying the scenario from its
//! start with the operations that executed re-applied.

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde_json::json;

use super::console::{self, Launch};
use super::drill::{DrillArgs, scenario_def, sources};
use crate::app::Mode;
use crate::app::measure::Recovery;
use crate::backends::Sources;
use crate::backends::drill::remote::{self, DrillParams};
use crate::backends::drill::scenario::registry;
use crate::backends::drill::scenario::{FaultDef, FaultKind};
use crate::backends::drill::{DrillEstate, Pauses, Replayed};
use crate::config::load::Loaded;
use crate::incident::drill_clock::DrillClock;
use crate::incident::entry::{Entry, EntryKind};
use crate::incident::log::LogMode;
use crate::incident::log::{IncidentLog, read_log};
use crate::incident::operator::operator_for;
use crate::incident::store;
use crate::operation::Operation;

/// What a drill incident's log says about its estate. Refuses a live incident.
fn recorded(data_dir: &Path, id: &str) -> Result<Recorded, String> {
    let path = store::log_path(data_dir, id).map_err(|e| e.to_string())?;
    let entries = read_log(&path).map_err(|e| e.to_string())?;
    let meta = store::meta_from_entries(&path, &entries).map_err(|e| e.to_string())?;
    if !meta.drill {
        return Err(format!("{id} is a live incident: a drill console never joins one"));
    }
    let params = entries
        .iter()
        .rev()
        .find(|e| e.kind == EntryKind::DrillEstate)
        .and_then(|e| serde_json::from_value::<DrillParams>(e.details.clone()).ok());
    // Sim time 0 of every host's estate: the first record of it.
    let origin = entries.iter().find(|e| e.kind == EntryKind::DrillEstate).map(|e| e.ts);
    Ok(Recorded { params, origin, ops: executed(&entries), clock: DrillClock::from_entries(&entries) })
}

/// What a drill incident's log says about its estate.
struct Recorded {
    /// Scenario, speed and seed (its latest `drill-estate` entry); `None` for a drill declared
    /// before they were recorded.
    params: Option<DrillParams>,
    /// When the drill's estate started.
    origin: Option<DateTime<Utc>>,
    /// Operations that executed successfully, with when they took effect (their result entry).
    ops: Vec<(DateTime<Utc>, Replayed)>,
    /// The drill clock: the facilitator's pauses.
    clock: DrillClock,
}

/// Operations that executed successfully, in order, with the time of their `step-result`.
fn executed(entries: &[Entry]) -> Vec<(DateTime<Utc>, Replayed)> {
    let mut running: HashMap<u64, Operation> = HashMap::new();
    let mut out = Vec::new();
    for e in entries {
        if e.kind == EntryKind::Facilitator {
            if let Some(fault) = injected(e) {
                out.push((e.ts, Replayed::Fault(fault)));
            }
            continue;
        }
        let Some(step) = e.details.get("step").and_then(|v| v.as_u64()) else { continue };
        match e.kind {
            EntryKind::StepExecuting => {
                if let Some(op) = e.details.get("op").and_then(|v| serde_json::from_value(v.clone()).ok()) {
                    running.insert(step, op);
                }
            }
            EntryKind::StepResult if e.details.get("ok").and_then(|v| v.as_bool()) == Some(true) => {
                if let Some(op) = running.remove(&step) {
                    out.push((e.ts, Replayed::Op(op)));
                }
            }
            EntryKind::StepFailed => {
                running.remove(&step);
            }
            _ => {}
        }
    }
    out
}

/// The fault of a facilitator's `inject` entry (`{action: "inject", fault: {kind, target,
/// region, returns_after_secs}}`).
fn injected(e: &Entry) -> Option<FaultDef> {
    if e.details.get("action").and_then(|v| v.as_str()) != Some("inject") {
        return None;
    }
    let f = e.details.get("fault")?;
    let text = |k: &str| f.get(k).and_then(|v| v.as_str()).map(str::to_string);
    Some(FaultDef::now(
        text("kind")?.parse::<FaultKind>().ok()?,
        text("target"),
        text("region"),
        f.get("returns_after_secs").and_then(|v| v.as_u64()).map(Duration::from_secs),
    ))
}

/// Record the drill's parameters in its log: the first host (`resumed`: `None`), or a new host
/// after one exited (`Some(operations re-applied)`). Returns when it was written.
fn record(
    data_dir: &Path,
    id: &str,
    who: &str,
    p: &DrillParams,
    resumed: Option<usize>,
) -> Result<DateTime<Utc>, String> {
    let (log, _, _) = IncidentLog::open_as(data_dir, id, who, LogMode::Drill).map_err(|e| e.to_string())?;
    let summary = match resumed {
        Some(n) => format!(
            "DRILL estate resumed by {who}: the previous host exited; scenario {} replayed from its start with {n} executed operation(s) re-applied (speed {}, seed {})",
            p.scenario, p.speed, p.seed
        ),
        None => format!(
            "DRILL estate: scenario {}, speed {}, seed {}, hosted by {who}",
            p.scenario, p.speed, p.seed
        ),
    };
    let details = json!({
        "scenario": p.scenario, "speed": p.speed, "seed": p.seed, "scenario_hash": p.scenario_hash, "host": who,
        "restart": resumed.is_some(), "reapplied": resumed, "drill": true,
    });
    log.append(&EntryKind::DrillEstate, &summary, details).map(|e| e.ts).map_err(|e| e.to_string())
}

/// The estate this console shows: its own (it hosts the incident's estate) or the host's.
struct Estate {
    sources: Sources,
    operator: Arc<dyn crate::backends::Operate>,
    fault_at: Option<chrono::DateTime<Utc>>,
    /// Kept alive while the console runs: serving joined consoles.
    host: Option<remote::Host>,
}

/// Host the estate of `id` (we hold its lock) and serve it to joined consoles: the scenario
/// from `origin`, with `ops` re-applied (a new host after one exited), up to now.
fn host(
    lock: remote::HostLock,
    p: &DrillParams,
    origin: DateTime<Utc>,
    ops: &[(DateTime<Utc>, Replayed)],
    clock: &DrillClock,
    who: &str,
    scenarios_dir: Option<&Path>,
) -> Result<(Estate, Vec<String>), String> {
    let def = scenario_def(&p.scenario, scenarios_dir)?;
    let here = registry::user_hash(&p.scenario, scenarios_dir);
    if here != p.scenario_hash {
        let what =
            |h: &Option<String>| h.as_deref().map_or("the built-in".to_string(), |h| format!("file {h}"));
        return Err(format!(
            "scenario {} resolves here to {}, but the drill was declared with {}: refusing to host a different drill",
            p.scenario,
            what(&here),
            what(&p.scenario_hash)
        ));
    }
    let drill_time = |t: DateTime<Utc>| clock.drill_time(t);
    let pauses = Pauses { drill_time: &drill_time, paused_since: clock.paused_since() };
    let (estate, refused) = DrillEstate::replay_paused(def, p.speed, p.seed, origin, ops, &pauses)?;
    let srcs = sources(&estate, Duration::from_millis(500));
    let layers = remote::Layers {
        kube: srcs.kube.clone(),
        database: srcs.database.clone(),
        sentinel: srcs.sentinel.clone(),
        traffic: srcs.traffic.clone(),
    };
    let fault_at = estate.fault_scheduled_at();
    let hello = remote::Hello { params: p.clone(), fault_scheduled_at: fault_at, host: who.to_string() };
    let host = remote::serve(lock, layers, Arc::new(estate.operator()), hello)
        .map_err(|e| format!("cannot serve the drill's estate to other consoles: {e}"))?;
    let estate = Estate { sources: srcs, operator: Arc::new(estate.operator()), fault_at, host: Some(host) };
    Ok((estate, refused))
}

/// A refusal of `warroom drill`: what it says and its exit code.
struct Refused {
    code: i32,
    why: String,
}

impl Refused {
    fn new(code: i32, why: impl Into<String>) -> Refused {
        Refused { code, why: why.into() }
    }

    /// Say why, return the exit code.
    fn report(self) -> i32 {
        eprintln!("warroom drill: {}", self.why);
        self.code
    }
}

/// The drill incident this console is on, and what its log says about the estate.
struct Opened {
    id: String,
    params: DrillParams,
    origin: Option<DateTime<Utc>>,
    ops: Vec<(DateTime<Utc>, Replayed)>,
    clock: DrillClock,
}

/// Declare a new drill or join one: one estate per drill incident (see `backends::drill::remote`).
pub(super) async fn console(args: DrillArgs, loaded: Loaded, read_only: bool) -> color_eyre::Result<i32> {
    let data_dir = loaded.paths.data_dir.clone();
    let who = match operator_for(args.operator.as_deref()) {
        Ok(who) => who,
        Err(e) => {
            eprintln!("warroom: {e}");
            return Ok(2);
        }
    };
    let seed = args.seed.unwrap_or(super::drill::DEFAULT_SEED);
    let scenarios_dir = loaded.paths.scenarios_dir();
    let scenario_hash = registry::user_hash(&args.scenario, scenarios_dir.as_deref());
    let own = DrillParams { scenario: args.scenario.clone(), speed: args.speed, seed, scenario_hash };
    let mut warnings = Vec::new();
    let opened = match &args.incident {
        Some(id) => joined(&data_dir, id, own, &mut warnings),
        None if read_only => Err(Refused::new(
            2,
            "refused: a --read-only console joins an open drill (--incident ID); it cannot declare one",
        )),
        None => declared(&data_dir, &who, own)?,
    };
    let opened = match opened {
        Ok(o) => o,
        Err(r) => return Ok(r.report()),
    };
    let estate = match estate(
        &data_dir,
        &opened,
        args.incident.is_none(),
        &who,
        scenarios_dir.as_deref(),
        &mut warnings,
    )
    .await?
    {
        Ok(e) => e,
        Err(r) => return Ok(r.report()),
    };
    let records = estate.host.is_some();
    let mut config = crate::backends::drill::estate::config();
    // The estate replaces the user's layers; the measurement settings still come from them.
    if let Some(user) = &loaded.config {
        config.drill = user.drill.clone();
        config.approvals = user.approvals.clone();
    }
    // A scenario given as a path is measured and shown under its id (`drill --history` groups by it).
    let name = scenario_def(&opened.params.scenario, scenarios_dir.as_deref())
        .map_or_else(|_| opened.params.scenario.clone(), |d| d.id);
    let recovery = Recovery::drill(&name, estate.fault_at);
    let staged =
        scenario_def(&opened.params.scenario, scenarios_dir.as_deref()).map(|d| d.hints).unwrap_or_default();
    let facilitate = args.facilitate;
    let launch = Launch {
        mode: Mode::Drill,
        title: format!("Drill: {name}"),
        severity: "SEV2".into(),
        resume: Some(Some(opened.id)),
        read_only,
        config: Arc::new(config),
        sources: estate.sources,
        operator: estate.operator,
        who: Some(who),
    };
    let _host = estate.host;
    console::launch_with(launch, loaded, move |state| {
        state.domain.recovery = recovery;
        state.domain.records_observations = records;
        // The facilitator's role is set before the log is restored (it decides what is shown).
        state.domain.facilitation.staged = staged;
        state.domain.facilitation.auto_hints = records;
        state.domain.facilitation.facilitator = facilitate;
        state.domain.warnings.extend(warnings);
    })
    .await
}

/// Join the drill incident `id`: its recorded parameters (this console's `own`, with a
/// warning, when it recorded none).
fn joined(
    data_dir: &Path,
    id: &str,
    own: DrillParams,
    warnings: &mut Vec<String>,
) -> Result<Opened, Refused> {
    let r = recorded(data_dir, id).map_err(|e| Refused::new(2, e))?;
    let params = r.params.unwrap_or_else(|| {
        warnings.push(format!(
            "{id} recorded no drill parameters: using this console's (scenario {}, speed {}, seed {})",
            own.scenario, own.speed, own.seed
        ));
        own
    });
    Ok(Opened { id: id.to_string(), params, origin: r.origin, ops: r.ops, clock: r.clock })
}

/// Declare a new drill incident with this console's parameters, recorded in its log.
fn declared(data_dir: &Path, who: &str, own: DrillParams) -> color_eyre::Result<Result<Opened, Refused>> {
    let title = format!("Drill: {}", own.scenario);
    let (_, meta) = IncidentLog::declare(data_dir, &title, "SEV2", true, who, Utc::now())?;
    Ok(match record(data_dir, &meta.id, who, &own, None) {
        Ok(at) => Ok(Opened {
            id: meta.id,
            params: own,
            origin: Some(at),
            ops: Vec::new(),
            clock: DrillClock::default(),
        }),
        Err(e) => Err(Refused::new(1, e)),
    })
}

/// The estate of the incident: hosted here when no console hosts it (`declared`: this console
/// just declared it), else joined from its host.
async fn estate(
    data_dir: &Path,
    opened: &Opened,
    declared: bool,
    who: &str,
    scenarios_dir: Option<&Path>,
    warnings: &mut Vec<String>,
) -> color_eyre::Result<Result<Estate, Refused>> {
    let dir = store::incidents_dir(data_dir);
    // Whoever finds no host hosts (a read-only trainee too: the estate must run somewhere).
    let Some(lock) = remote::try_host(&dir, &opened.id)? else {
        let r =
            remote::join(&remote::socket_path(&dir, &opened.id), &opened.id, Duration::from_secs(3)).await;
        return Ok(Ok(Estate {
            sources: Sources {
                kube: r.layers.kube,
                database: r.layers.database,
                sentinel: r.layers.sentinel,
                traffic: r.layers.traffic,
            },
            operator: Arc::new(r.operator),
            fault_at: r.hello.and_then(|h| h.fault_scheduled_at),
            host: None,
        }));
    };
    // A drill joined after its host exited (or never recorded): resumed by replay.
    let origin = match opened.origin {
        Some(o) if declared => o,
        resumed => match record(data_dir, &opened.id, who, &opened.params, Some(opened.ops.len())) {
            Ok(at) => resumed.unwrap_or(at),
            Err(e) => return Ok(Err(Refused::new(1, e))),
        },
    };
    Ok(match host(lock, &opened.params, origin, &opened.ops, &opened.clock, who, scenarios_dir) {
        Ok((e, refused)) => {
            warnings.extend(refused.into_iter().map(|r| format!("drill estate resumed without: {r}")));
            Ok(e)
        }
        Err(e) => Err(Refused::new(2, e)),
    })
}
