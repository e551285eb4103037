//! `warroom drill`: the same console against the simulated estate.

use std::fmt::Write as _;
use std::path::Path;
use std::time::Duration;

use chrono::Utc;
use clap::Args;

use super::status;
use crate::app::Mode;
use crate::backends::Sources;
use crate::backends::drill::DrillEstate;
use crate::backends::drill::scenario::ScenarioDef;
use crate::backends::drill::scenario::registry::{self, Source};
use crate::backends::poller::{self, PollerConfig};
use crate::config::load::Loaded;
use crate::incident::history::{drill_history_scored, render_text};
use crate::incident::scorecard::scenario_for;

/// Options of `warroom drill`.
#[derive(Debug, Clone, Args)]
pub struct DrillArgs {
    /// Fault scenario: an id (see --list) or a scenario file (a path with `/` or ending in .toml).
    #[arg(long, default_value = "primary-db-down")]
    pub scenario: String,
    /// Simulation speed (2 = faults evolve twice as fast).
    #[arg(long, default_value_t = 1.0)]
    pub speed: f64,
    /// Seed of the simulation (same seed, same drill; default: the scenario's `[estate] seed`,
    /// else 1).
    #[arg(long)]
    pub seed: Option<u64>,
    /// List the scenarios (built-in and the config dir's `scenarios/`) and exit.
    #[arg(long)]
    pub list: bool,
    /// Print one snapshot of the drill estate and exit (like `warroom status`).
    #[arg(long)]
    pub status: bool,
    /// With --status: how far the drill has run when the snapshot is taken, faults included
    /// (e.g. 30s, 2m; default 30s: every scenario's fault struck at 5 s and shows).
    #[arg(long, requires = "status", value_name = "DURATION", value_parser = super::plan::parse_duration)]
    pub at: Option<Duration>,
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
    /// The trainee's name, recorded in every entry this console writes, shown in the header and
    /// on the scorecard (default: `$USER@host`; 1 to 64 printable characters).
    #[arg(long, value_name = "NAME")]
    pub operator: Option<String>,
    /// Facilitate the drill: declare and host it (trainees join with `--incident ID`), or with
    /// `--incident ID` facilitate one hosted by another console. This console pauses and resumes
    /// the drill clock, injects faults, gives hints and ends the drill, and never confirms steps.
    #[arg(long, conflicts_with_all = ["list", "status", "history"])]
    pub facilitate: bool,
}

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
pub async fn run(mut args: DrillArgs, loaded: Loaded, read_only: bool) -> color_eyre::Result<i32> {
    if args.list {
        super::out::write_str(&list(loaded.paths.scenarios_dir().as_deref()))?;
        return Ok(0);
    }
    if args.history {
        return history(&loaded.paths.data_dir, args.json);
    }
    if !(args.speed > 0.0 && args.speed <= 1000.0) {
        eprintln!("warroom drill: --speed must be between 0 and 1000, got {}", args.speed);
        return Ok(2);
    }
    if let Some(id) = &args.incident
        && let Some(why) = super::console::kind_mismatch(&loaded.paths.data_dir, id, Mode::Drill)
    {
        eprintln!("warroom drill: {why}");
        return Ok(2);
    }
    let estate = match scenario_def(&args.scenario, loaded.paths.scenarios_dir().as_deref()).and_then(|def| {
        args.seed = Some(args.seed.or(def.estate.seed).unwrap_or(DEFAULT_SEED));
        DrillEstate::from_def(def, args.speed, args.seed.unwrap_or(DEFAULT_SEED))
    }) {
        Ok(e) => e,
        Err(e) => {
            eprintln!("warroom drill: {e}");
            return Ok(2);
        }
    };
    if args.status {
        return drill_status(&args, &estate).await;
    }
    // The flags are valid; the console's estate is built (or joined) once the incident is known.
    drop(estate);
    super::drill_host::console(args, loaded, read_only).await
}

/// Seed of a drill when neither `--seed` nor the scenario's `[estate] seed` gives one.
pub const DEFAULT_SEED: u64 = 1;

/// The scenario `spec` names: an id (a user file in `scenarios_dir` replaces the built-in of
/// that id) or a path to a scenario file.
pub fn scenario_def(spec: &str, scenarios_dir: Option<&Path>) -> Result<ScenarioDef, String> {
    registry::find(spec, scenarios_dir)
}

/// `drill --list`: every scenario (id, title, source, description), then one line per
/// problem of a user file that does not parse (file:line:col: message).
pub fn list(scenarios_dir: Option<&Path>) -> String {
    let (all, problems) = registry::load_all(scenarios_dir);
    let mut out = String::new();
    for l in &all {
        let source = match &l.source {
            Source::BuiltIn => "built-in".to_string(),
            Source::File(p) => p
                .file_name()
                .map_or_else(|| p.display().to_string(), |f| format!("user: {}", f.to_string_lossy())),
        };
        let desc = crate::text::sanitize(&l.def.description);
        let _ =
            writeln!(out, "{:<20} {:<32} [{source}] {desc}", l.def.id, crate::text::sanitize(&l.def.title));
    }
    for p in &problems {
        let _ = writeln!(out, "error: {}", crate::text::sanitize(&p.to_string()));
    }
    out
}

/// Where `drill --status` looks by default: 30 s into the drill. Every scenario's fault has
/// struck (at 5 s) and is visible, and what the estate does by itself in the first seconds
/// (Sentinel failing over, health checks turning unhealthy, a crashloop's restarts) has
/// happened, as an on-call engineer paged a little after the fault would find it.
pub const STATUS_AT_DEFAULT: Duration = Duration::from_secs(30);

/// `warroom drill --status [--at D] [--json]`: one snapshot of the estate advanced to `--at`.
async fn drill_status(args: &DrillArgs, estate: &DrillEstate) -> color_eyre::Result<i32> {
    estate.fast_forward(args.at.unwrap_or(STATUS_AT_DEFAULT).saturating_sub(estate.sim_elapsed()));
    let observed =
        status::first_snapshots(sources(estate, Duration::from_millis(500)), Duration::from_secs(5)).await;
    let now = Utc::now();
    let v = status::json::status_json_for(&observed, Some(&estate.config()), Mode::Drill, now);
    if args.json {
        super::out::line(&serde_json::to_string_pretty(&v)?)?;
    } else {
        super::out::write_str(&status::text_of(&v, now))?;
    }
    Ok(0)
}

/// `warroom drill --history [--json]`.
fn history(data_dir: &std::path::Path, json: bool) -> color_eyre::Result<i32> {
    let dir = super::log::scenarios_dir();
    let h = match drill_history_scored(data_dir, &|entries| scenario_for(entries, dir.as_deref())) {
        Ok(h) => h,
        Err(e) => {
            eprintln!("warroom drill --history: {e}");
            return Ok(1);
        }
    };
    if json {
        super::out::line(&serde_json::to_string_pretty(&h)?)?;
    } else {
        super::out::write_str(&render_text(&h))?;
    }
    Ok(0)
}
