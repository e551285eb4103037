//! `warroom drill`: the same console against the simulated estate.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use clap::Args;
use serde_json::json;

use super::console::{self, Launch};
use super::status;
use crate::app::Mode;
use crate::app::measure::Recovery;
use crate::backends::drill::remote::{self, DrillParams};
use crate::backends::drill::{DrillEstate, scenarios};
use crate::backends::poller::{self, PollerConfig};
use crate::config::load::Loaded;
use crate::incident::history::{drill_history, render_text};
use crate::incident::log::{IncidentLog, read_log};
use crate::incident::operator::operator_identity;
use crate::incident::store;
use crate::tui::Sources;

/// Options of `warroom drill`.
#[derive(Debug, Clone, Args)]
pub struct DrillArgs {
    /// Fault scenario (see --list).
    #[arg(long, default_value = "primary-db-down")]
    pub scenario: String,
    /// Simulation speed (2 = faults evolve twice as fast).
    #[arg(long, default_value_t = 1.0)]
    pub speed: f64,
    /// Seed of the simulation (same seed, same drill).
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// List the scenarios and exit.
    #[arg(long)]
    pub list: bool,
    /// Print one snapshot of the drill estate and exit (like `warroom status`).
    #[arg(long)]
    pub status: bool,
    /// With --status or --history: print JSON.
    #[arg(long)]
    pub json: bool,
    /// List every measured drill in the data dir (date, scenario, RTO, data loss, target met,
    /// incident), oldest first, with the best, median and worst RTO; then exit.
    #[arg(long, conflicts_with_all = ["list", "status"])]
    pub history: bool,
    /// Join this drill incident (a second console, a trainee) instead of declaring a new one.
    /// Every console shows the one estate its hosting console runs, with the scenario, speed and
    /// seed recorded when the drill was declared (this console's flags are not used); if no
    /// console hosts it any more, this one does.
    #[arg(long, value_name = "ID")]
    pub incident: Option<String>,
}

/// Entry kind recording a drill's parameters and who hosts its estate.
pub const ESTATE_ENTRY: &str = "drill-estate";

/// Pollers over the drill estate (the same poller as live sources).
pub fn sources(estate: &DrillEstate, interval: Duration) -> Sources {
    let cfg = PollerConfig {
        interval,
        timeout: Duration::from_secs(2),
        breaker_failures: 5,
        breaker_open: Duration::from_secs(30),
    };
    Sources {
        kube: poller::spawn(estate.kube(), cfg, None),
        database: poller::spawn(estate.database(), cfg, None),
        sentinel: poller::spawn(estate.sentinel(), cfg, None),
        traffic: poller::spawn(estate.traffic(), cfg, None),
    }
}

/// Run `warroom drill`. Returns the exit code.
pub async fn run(args: DrillArgs, loaded: Loaded, read_only: bool) -> color_eyre::Result<i32> {
    if args.list {
        for s in scenarios() {
            println!("{:<20} {}", s.name, s.description);
        }
        return Ok(0);
    }
    if args.history {
        return history(&loaded.paths.data_dir, args.json);
    }
    if !(args.speed > 0.0 && args.speed <= 1000.0) {
        eprintln!("warroom drill: --speed must be between 0 and 1000, got {}", args.speed);
        return Ok(2);
    }
    let estate = match DrillEstate::new(&args.scenario, args.speed, args.seed) {
        Ok(e) => e,
        Err(e) => {
            eprintln!("warroom drill: {e}");
            return Ok(2);
        }
    };
    if args.status {
        let srcs = sources(&estate, Duration::from_millis(500));
        let observed = status::first_snapshots(srcs, Duration::from_secs(5)).await;
        let now = Utc::now();
        if args.json {
            println!("{}", serde_json::to_string_pretty(&status::status_json(&observed, Mode::Drill, now))?);
        } else {
            print!("{}", status::status_text(&observed, Mode::Drill, now));
        }
        return Ok(0);
    }
    // The flags are valid; the console's estate is built (or joined) once the incident is known.
    drop(estate);
    console(args, loaded, read_only).await
}

/// The parameters a drill was declared with (its latest `drill-estate` entry), `None` for a
/// drill declared before they were recorded. Refuses a live incident.
fn recorded(data_dir: &Path, id: &str) -> Result<Option<DrillParams>, String> {
    let path = store::log_path(data_dir, id).map_err(|e| e.to_string())?;
    let entries = read_log(&path).map_err(|e| e.to_string())?;
    let meta = store::meta_from_entries(&path, &entries).map_err(|e| e.to_string())?;
    if !meta.drill {
        return Err(format!("{id} is a live incident: a drill console never joins one"));
    }
    let params = entries
        .iter()
        .rev()
        .find(|e| e.kind == ESTATE_ENTRY)
        .and_then(|e| serde_json::from_value::<DrillParams>(e.details.clone()).ok());
    Ok(params)
}

/// Record the drill's parameters in its log (the first host, or a new host after one exited).
fn record(data_dir: &Path, id: &str, who: &str, p: &DrillParams, restart: bool) -> Result<(), String> {
    let (log, _, _) = IncidentLog::open(data_dir, id, who).map_err(|e| e.to_string())?;
    let summary = if restart {
        format!(
            "DRILL estate restarted by {who}: the previous host exited; scenario {} starts over (speed {}, seed {})",
            p.scenario, p.speed, p.seed
        )
    } else {
        format!("DRILL estate: scenario {}, speed {}, seed {}, hosted by {who}", p.scenario, p.speed, p.seed)
    };
    let details = json!({ "scenario": p.scenario, "speed": p.speed, "seed": p.seed, "host": who, "restart": restart, "drill": true });
    log.append(ESTATE_ENTRY, &summary, details).map(|_| ()).map_err(|e| e.to_string())
}

/// The estate this console shows: its own (it hosts the incident's estate) or the host's.
struct Estate {
    sources: Sources,
    operator: Arc<dyn crate::backends::Operate>,
    fault_at: Option<chrono::DateTime<Utc>>,
    /// Kept alive while the console runs: serving joined consoles.
    host: Option<remote::Host>,
}

/// Host the estate of `id` (we hold its lock) and serve it to joined consoles.
fn host(lock: remote::HostLock, p: &DrillParams, who: &str) -> Result<Estate, String> {
    let estate = DrillEstate::new(&p.scenario, p.speed, p.seed)?;
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
    Ok(Estate { sources: srcs, operator: Arc::new(estate.operator()), fault_at, host: Some(host) })
}

/// Declare a new drill or join one: one estate per drill incident (see `backends::drill::remote`).
async fn console(args: DrillArgs, loaded: Loaded, read_only: bool) -> color_eyre::Result<i32> {
    let data_dir = loaded.paths.data_dir.clone();
    let who = operator_identity();
    let own = DrillParams { scenario: args.scenario.clone(), speed: args.speed, seed: args.seed };
    let mut warnings = Vec::new();
    let (id, params, declared) = match &args.incident {
        Some(id) => match recorded(&data_dir, id) {
            Ok(Some(p)) => (id.clone(), p, false),
            Ok(None) => {
                warnings.push(format!(
                    "{id} recorded no drill parameters: using this console's (scenario {}, speed {}, seed {})",
                    own.scenario, own.speed, own.seed
                ));
                (id.clone(), own, false)
            }
            Err(e) => {
                eprintln!("warroom drill: {e}");
                return Ok(2);
            }
        },
        None => {
            let title = format!("Drill: {}", own.scenario);
            let (_, meta) = IncidentLog::declare(&data_dir, &title, "SEV2", true, &who, Utc::now())?;
            if let Err(e) = record(&data_dir, &meta.id, &who, &own, false) {
                eprintln!("warroom drill: {e}");
                return Ok(1);
            }
            (meta.id, own, true)
        }
    };
    let dir = store::incidents_dir(&data_dir);
    // Whoever finds no host hosts (a read-only trainee too: the estate must run somewhere).
    let lock = remote::try_host(&dir, &id)?;
    let estate = match lock {
        Some(lock) => {
            if !declared && let Err(e) = record(&data_dir, &id, &who, &params, true) {
                eprintln!("warroom drill: {e}");
                return Ok(1);
            }
            match host(lock, &params, &who) {
                Ok(e) => e,
                Err(e) => {
                    eprintln!("warroom drill: {e}");
                    return Ok(2);
                }
            }
        }
        None => {
            let r = remote::join(&remote::socket_path(&dir, &id), &id, Duration::from_secs(3)).await;
            Estate {
                sources: Sources {
                    kube: r.layers.kube,
                    database: r.layers.database,
                    sentinel: r.layers.sentinel,
                    traffic: r.layers.traffic,
                },
                operator: Arc::new(r.operator),
                fault_at: r.hello.and_then(|h| h.fault_scheduled_at),
                host: None,
            }
        }
    };
    let records = estate.host.is_some();
    let mut config = crate::backends::drill::estate::config();
    // The estate replaces the user's layers; the measurement settings still come from them.
    if let Some(user) = &loaded.config {
        config.drill = user.drill.clone();
    }
    let recovery = Recovery::drill(&params.scenario, estate.fault_at);
    let launch = Launch {
        mode: Mode::Drill,
        title: format!("Drill: {}", params.scenario),
        severity: "SEV2".into(),
        resume: Some(Some(id)),
        read_only,
        config: Arc::new(config),
        sources: estate.sources,
        operator: estate.operator,
    };
    let _host = estate.host;
    console::launch_with(launch, loaded, move |state| {
        state.recovery = recovery;
        state.records_observations = records;
        state.warnings.extend(warnings);
    })
    .await
}

/// `warroom drill --history [--json]`.
fn history(data_dir: &std::path::Path, json: bool) -> color_eyre::Result<i32> {
    let h = match drill_history(data_dir) {
        Ok(h) => h,
        Err(e) => {
            eprintln!("warroom drill --history: {e}");
            return Ok(1);
        }
    };
    if json {
        println!("{}", serde_json::to_string_pretty(&h)?);
    } else {
        print!("{}", render_text(&h));
    }
    Ok(0)
}
