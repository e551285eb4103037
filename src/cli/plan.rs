//! `warroom plan RUNBOOK`: every step of a runbook with its exact preview, resolved against the
//! current estate, without doing anything.
//!
//! This path never builds a [`crate::app::State`], never calls [`crate::app::update`] and never
//! starts a [`crate::runner::Runner`]: it holds no [`crate::backends::Operate`] at all (the live
//! estate's operator is dropped where it is built), so no `Execute` effect can exist here.
//! The helpers shared with `warroom exec` (estate, runbook lookup, parameters) live here too.

use std::fmt::Write as _;
use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use clap::Args;
use serde_json::{Value, json};

use super::status;
use crate::app::Mode;
use crate::backends::Sources;
use crate::backends::drill::DrillEstate;
use crate::backends::{Freshness, Observed, live};
use crate::config::Config;
use crate::config::load::Loaded;
use crate::operation::{Operation, Risk};
use crate::runbook::catalog::Catalog;
use crate::runbook::model::Runbook;
use crate::runbook::plan::{self, BuildError, PlannedStep, ResolvedParam};
use crate::text::sanitize;

/// How long `plan` and `exec` wait for the first snapshot of every layer.
pub const FIRST_SNAPSHOT_LIMIT: Duration = Duration::from_secs(5);

/// Options of `warroom plan`.
#[derive(Debug, Clone, Args)]
pub struct PlanArgs {
    /// Runbook id (built-in or from the config dir's runbooks/).
    pub runbook: String,
    /// Parameter override `name=value` (repeatable).
    #[arg(long = "param", value_name = "K=V", value_parser = parse_param)]
    pub params: Vec<(String, String)>,
    /// Plan against the simulated estate of this drill scenario (its fault already struck).
    #[arg(long, value_name = "SCENARIO")]
    pub drill: Option<String>,
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
}

/// A command that ends early: its exit code and what to print on stderr.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Exit {
    /// Process exit code.
    pub code: i32,
    /// Message for stderr.
    pub message: String,
}

impl Exit {
    /// Exit code 2: usage or configuration error.
    pub fn usage(message: impl Into<String>) -> Exit {
        Exit { code: 2, message: message.into() }
    }

    /// Exit code 3: refused (nothing was executed).
    pub fn refused(message: impl Into<String>) -> Exit {
        Exit { code: 3, message: message.into() }
    }
}

/// `--param k=v` as clap parses it.
pub fn parse_param(s: &str) -> Result<(String, String), String> {
    match s.split_once('=') {
        Some((k, v)) if !k.trim().is_empty() => Ok((k.trim().to_string(), v.to_string())),
        _ => Err(format!("expected NAME=VALUE, got {s:?}")),
    }
}

/// How far past its fault a plan's or an exec's drill estate starts by default.
pub const JUST_PAST_FAULT: Duration = Duration::from_secs(1);

/// How a drill target runs: simulation speed and how far it is advanced before use.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct DrillClock {
    /// Sim seconds per wall second.
    pub speed: f64,
    /// Simulated time since the drill started (default: [`JUST_PAST_FAULT`] past the fault).
    pub at: Option<Duration>,
}

impl DrillClock {
    /// Where the estate of `scenario` starts: `at`, by default just past the fault.
    pub fn start(&self, scenario: &str) -> Duration {
        self.at.unwrap_or_else(|| fault_time(scenario).unwrap_or_default() + JUST_PAST_FAULT)
    }
}

impl Default for DrillClock {
    fn default() -> Self {
        DrillClock { speed: 1.0, at: None }
    }
}

/// When `scenario`'s (first) fault strikes, in simulated time since the start (`None`: calm
/// or unknown).
pub fn fault_time(scenario: &str) -> Option<Duration> {
    let def = crate::backends::drill::scenario::registry::find(scenario, None).ok()?;
    def.faults.iter().filter_map(|f| f.at).min()
}

/// The drill estate of `scenario` advanced to `at` of simulated time, faults included.
pub fn advanced_estate(scenario: &str, speed: f64, seed: u64, at: Duration) -> Result<DrillEstate, String> {
    let estate = DrillEstate::new(scenario, speed, seed)?;
    estate.fast_forward(at.saturating_sub(estate.sim_elapsed()));
    Ok(estate)
}

/// The seed of every drill estate `plan` and `exec` build (same seed, same drill).
pub const DRILL_SEED: u64 = 1;

/// What `scenario`'s estate showed just before its fault struck, when an [`advanced_estate`]
/// starts at `at`, past the fault: the recovery tracker is primed with it, so the primary and
/// the Redis master of before the fault are known and a switch (and its data loss) is measured.
/// The sim is deterministic for a seed: this is the state the advanced estate passed through.
/// `None` for calm, or when the estate starts before its fault (it is then observed live).
pub fn before_fault(scenario: &str, speed: f64, at: Duration) -> Option<Observed> {
    let fault = fault_time(scenario)?;
    if at <= fault {
        return None;
    }
    let now = Utc::now();
    let mut sim = crate::backends::drill::Sim::new(scenario, DRILL_SEED, now, speed).ok()?;
    sim.advance(fault.saturating_sub(Duration::from_millis(200)));
    Some(Observed {
        kube: Arc::new(crate::backends::Snapshot::fresh(sim.kube_view(), now)),
        database: Arc::new(crate::backends::Snapshot::fresh(sim.database_view(), now)),
        sentinel: Arc::new(crate::backends::Snapshot::fresh(sim.sentinel_view(), now)),
        traffic: Arc::new(crate::backends::Snapshot::fresh(sim.traffic_view(), now)),
    })
}

/// When the fault of an [`advanced_estate`] struck on the real clock (it was fast-forwarded,
/// so the estate's own wall times lie ahead): now minus the simulated time since the fault.
pub fn fault_struck_at(estate: &DrillEstate, speed: f64) -> Option<chrono::DateTime<Utc>> {
    let fault = fault_time(estate.scenario().name)?;
    let since = estate.sim_elapsed().checked_sub(fault)?.div_f64(speed);
    Some(Utc::now() - chrono::Duration::from_std(since).ok()?)
}

/// A duration as typed: `30s`, `2m`, `1m30s`, `500ms`, `1h`, or bare seconds (`45`, `2.5`).
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    let bad = || format!("expected a duration such as 30s, 2m, 1m30s or 500ms, got {s:?}");
    let t = s.trim();
    if t.is_empty() {
        return Err(bad());
    }
    if let Ok(secs) = t.parse::<f64>() {
        return Duration::try_from_secs_f64(secs).map_err(|_| bad());
    }
    let (mut total, mut rest) = (0.0_f64, t);
    while !rest.is_empty() {
        let n = rest.find(|c: char| !(c.is_ascii_digit() || c == '.')).ok_or_else(bad)?;
        let value: f64 = rest[..n].parse().map_err(|_| bad())?;
        let unit_len = rest[n..].find(|c: char| c.is_ascii_digit() || c == '.').unwrap_or(rest.len() - n);
        let scale = match &rest[n..n + unit_len] {
            "ms" => 0.001,
            "s" => 1.0,
            "m" => 60.0,
            "h" => 3600.0,
            _ => return Err(bad()),
        };
        total += value * scale;
        rest = &rest[n + unit_len..];
    }
    Duration::try_from_secs_f64(total).map_err(|_| bad())
}

/// The estate a plan or an exec works on.
pub enum Target {
    /// The configured (real) estate.
    Live(Arc<Config>),
    /// The simulated estate of a drill scenario.
    Drill(DrillEstate),
}

impl Target {
    /// Live from the loaded config, or the drill `scenario` fast-forwarded past its fault.
    /// A bad or missing config (live), a broken user file or an unknown scenario is exit 2.
    pub fn new(drill: Option<&str>, loaded: &Loaded) -> Result<Target, Exit> {
        Self::with_clock(drill, loaded, DrillClock::default())
    }

    /// [`Self::new`], the drill estate run at `clock.speed` and advanced to `clock.at`.
    pub fn with_clock(drill: Option<&str>, loaded: &Loaded, clock: DrillClock) -> Result<Target, Exit> {
        if let Some(w) = loaded.warnings.first() {
            return Err(Exit::usage(w.to_string()));
        }
        match drill {
            Some(scenario) => {
                let at = clock.start(scenario);
                Ok(Target::Drill(
                    advanced_estate(scenario, clock.speed, DRILL_SEED, at).map_err(Exit::usage)?,
                ))
            }
            None => loaded.config.clone().map(|c| Target::Live(Arc::new(c))).ok_or_else(|| {
                Exit::usage(
                    "no configuration found: give --config FILE or set $WARROOM_CONFIG \
                     (see docs/configuration.md), or use --drill SCENARIO",
                )
            }),
        }
    }

    /// Live or drill.
    pub fn mode(&self) -> Mode {
        match self {
            Target::Live(_) => Mode::Live,
            Target::Drill(_) => Mode::Drill,
        }
    }

    /// The configuration the steps are built from (a drill's is the estate's own).
    pub fn config(&self, loaded: &Loaded) -> Arc<Config> {
        match self {
            Target::Live(c) => c.clone(),
            Target::Drill(e) => {
                let mut cfg = e.config();
                if let Some(user) = &loaded.config {
                    cfg.drill = user.drill.clone();
                    cfg.approvals = user.approvals.clone();
                }
                Arc::new(cfg)
            }
        }
    }

    /// A short description for the output.
    pub fn describe(&self, loaded: &Loaded) -> String {
        match self {
            Target::Live(_) => match &loaded.config_path {
                Some(p) => format!("live ({})", p.display()),
                None => "live".into(),
            },
            Target::Drill(e) => format!("drill {}", e.scenario().name),
        }
    }
}

/// Only the observing side of the estate: pollers, no operator.
async fn observe_only(target: &Target) -> Sources {
    match target {
        // The operator `build` makes is dropped right here: nothing on this path can execute.
        Target::Live(cfg) => live::build(cfg).await.sources,
        Target::Drill(e) => super::drill::sources(e, Duration::from_millis(200)),
    }
}

/// The runbook `id` from the built-ins and the user's runbooks dir (broken user runbooks are
/// reported on stderr and skipped). Unknown: exit 2 listing what exists.
pub fn find_runbook(id: &str, loaded: &Loaded) -> Result<(Catalog, Arc<Runbook>), Exit> {
    let (catalog, errors) = Catalog::load(loaded.paths.runbooks_dir().as_deref());
    for e in &errors {
        eprintln!("warroom: runbook skipped: {e}");
    }
    let rb = catalog
        .get(id)
        .cloned()
        .ok_or_else(|| Exit::usage(format!("no runbook {id:?} (available: {})", catalog.ids().join(", "))))?;
    Ok((catalog, rb))
}

/// `--param` names the runbook does not declare: exit 2 listing what it has.
pub fn check_param_names(rb: &Runbook, overrides: &[(String, String)]) -> Result<(), Exit> {
    let declared: Vec<&str> = rb.params.iter().map(|p| p.name.get_ref().as_str()).collect();
    for (name, _) in overrides {
        if rb.param(name).is_none() {
            return Err(Exit::usage(format!(
                "--param {name}: runbook {} has no such parameter (it has: {})",
                rb.id(),
                if declared.is_empty() { "none".into() } else { declared.join(", ") }
            )));
        }
    }
    Ok(())
}

/// Resolve the parameters now: a bad `--param` value is exit 2, a parameter that cannot be
/// derived from the current state is exit 3.
pub fn resolve(
    rb: &Runbook,
    cfg: &Config,
    obs: &Observed,
    overrides: &[(String, String)],
) -> Result<Vec<ResolvedParam>, Exit> {
    plan::resolve_params(rb, cfg, obs, overrides).map_err(|e| {
        let bad_override = e.split("; ").any(|p| {
            overrides
                .iter()
                .any(|(n, _)| p.starts_with(&format!("parameter {n}:")) || p.starts_with("--param"))
        });
        let message = format!("runbook {}: {e}", rb.id());
        if bad_override { Exit::usage(message) } else { Exit::refused(message) }
    })
}

/// The effective risk of a planned step (the runbook may only raise it).
pub fn step_risk(p: &PlannedStep) -> Option<Risk> {
    let op = p.op.as_ref().ok()?;
    Some(if op.risk() == Risk::High || p.risk == Some(Risk::High) { Risk::High } else { Risk::Low })
}

/// How a step is confirmed, in words.
fn confirmation(op: &Operation, risk: Risk) -> String {
    match (op, risk) {
        (Operation::Manual { .. }, _) => "manual: done by hand, ticked with a note (--note TEXT)".into(),
        (_, Risk::High) => format!("HIGH: type {w} (--confirm {w})", w = op.confirm_word()),
        (_, Risk::Low) => "low: y (--yes-low-risk)".into(),
    }
}

fn layer_states(obs: &Observed) -> Vec<(&'static str, &'static str, Option<String>)> {
    let f = |n: &'static str, fr: &Freshness| (n, fr.as_str(), fr.error().map(|e| sanitize(e).into_owned()));
    vec![
        f("postgres", &obs.database.freshness),
        f("sentinel", &obs.sentinel.freshness),
        f("kubernetes", &obs.kube.freshness),
        f("traffic", &obs.traffic.freshness),
    ]
}

/// Approvals a planned step will wait for after its confirmation (two-person rule: people
/// other than the commander; 0 for a manual step or one that cannot be built).
pub fn approvals_needed(p: &PlannedStep, config: &crate::config::model::ApprovalsConfig) -> u32 {
    match &p.op {
        Ok(Operation::Manual { .. }) | Err(_) => 0,
        Ok(op) => {
            let risk = step_risk(p).unwrap_or(Risk::Low);
            crate::app::approval::people_needed(config, op, risk, p.approvals) - 1
        }
    }
}

/// The plan as JSON (also the shape of `plan --json`).
pub fn plan_json(
    rb: &Runbook,
    estate: &str,
    obs: &Observed,
    params: &[ResolvedParam],
    steps: &[PlannedStep],
    approvals: &crate::config::model::ApprovalsConfig,
) -> Value {
    let layers: serde_json::Map<String, Value> = layer_states(obs)
        .into_iter()
        .map(|(n, fr, err)| (n.to_string(), json!({ "freshness": fr, "error": err })))
        .collect();
    json!({
        "runbook": { "id": rb.id(), "title": rb.title, "description": rb.description },
        "estate": estate,
        "layers": layers,
        "params": params,
        "steps": steps.iter().map(|p| {
            let gate = p.gate.as_ref().map(|g| match g.check(obs) {
                Ok(w) => json!({ "gate": g.text(), "holds_now": true, "observed": w }),
                Err(w) => json!({ "gate": g.text(), "holds_now": false, "observed": w }),
            });
            match &p.op {
                Ok(op) => {
                    let risk = step_risk(p).unwrap_or(Risk::Low);
                    json!({
                        "key": p.key, "title": p.title, "why": p.why, "gate": gate,
                        "risk": risk, "confirm_word": (risk == Risk::High).then(|| op.confirm_word()),
                        "manual": matches!(op, Operation::Manual { .. }),
                        "approvals_needed": approvals_needed(p, approvals),
                        "op": op, "preview": op.preview(), "not_applicable": Value::Null,
                    })
                }
                Err(e) => {
                    let (not_applicable, invalid) = match e {
                        BuildError::NotApplicable(r) => (Some(r), None),
                        BuildError::Invalid(r) => (None, Some(r)),
                    };
                    json!({
                        "key": p.key, "title": p.title, "why": p.why, "gate": gate,
                        "not_applicable": not_applicable, "invalid": invalid,
                    })
                }
            }
        }).collect::<Vec<_>>(),
    })
}

/// The plan as text for a terminal (every backend-derived string sanitized).
pub fn plan_text(
    rb: &Runbook,
    estate: &str,
    obs: &Observed,
    params: &[ResolvedParam],
    steps: &[PlannedStep],
    approvals: &crate::config::model::ApprovalsConfig,
) -> String {
    let mut o = String::new();
    let s = |t: &str| sanitize(t).into_owned();
    let _ = writeln!(o, "Runbook {}: {}", rb.id(), s(&rb.title));
    let _ = writeln!(o, "  {}", s(&rb.description));
    let _ = writeln!(o, "Estate: {}  (plan only: nothing is executed)", s(estate));
    let layers: Vec<String> = layer_states(obs)
        .into_iter()
        .map(|(n, fr, err)| match (fr, err) {
            ("fresh", _) => format!("{n} fresh"),
            (fr, Some(e)) => format!("{n} {} ({e})", fr.to_uppercase()),
            (fr, None) => format!("{n} {}", fr.to_uppercase()),
        })
        .collect();
    let _ = writeln!(o, "Layers: {}", layers.join(", "));
    let _ = writeln!(o, "Parameters:");
    if params.is_empty() {
        let _ = writeln!(o, "  (none)");
    }
    for p in params {
        let _ = writeln!(o, "  {} = {}  [{}]", p.name, s(&p.value), s(&p.origin));
    }
    for (i, p) in steps.iter().enumerate() {
        let _ = writeln!(o);
        let _ = writeln!(o, "{}. {}  {}", i + 1, p.key, s(&p.title));
        match &p.op {
            Ok(op) => {
                let _ = writeln!(o, "   risk: {}", confirmation(op, step_risk(p).unwrap_or(Risk::Low)));
                match approvals_needed(p, approvals) {
                    0 => {}
                    n => {
                        let _ = writeln!(
                            o,
                            "   approvals: {n} other person(s) after the commander's confirmation (two-person rule)"
                        );
                    }
                }
            }
            Err(e) => {
                let _ = writeln!(o, "   {}", s(&e.to_string()));
            }
        }
        if let Some(g) = &p.gate {
            let now = match g.check(obs) {
                Ok(w) => format!("holds now: {}", s(&w)),
                Err(w) => {
                    format!("NOT met now: {}; skipped as not applicable if still so when it comes up", s(&w))
                }
            };
            let _ = writeln!(o, "   gate: {} ({now})", g.text());
        }
        let _ = writeln!(o, "   why: {}", s(&p.why));
        if let Ok(op) = &p.op {
            let pv = op.preview();
            let _ = writeln!(o, "   target: {}", s(&pv.target));
            for line in &pv.lines {
                let _ = writeln!(o, "     | {}", s(line));
            }
            let _ = writeln!(o, "   blast radius: {}", s(&pv.blast_radius));
        }
    }
    o
}

/// Run `warroom plan`. Returns the exit code (0 printed; 2 usage/config; 3 parameters
/// unresolvable).
pub async fn run(args: PlanArgs, loaded: Loaded) -> color_eyre::Result<i32> {
    match plan_cmd(&args, &loaded).await {
        Ok(text) => {
            super::out::write_str(&text)?;
            Ok(0)
        }
        Err(e) => {
            eprintln!("warroom plan: {}", e.message);
            Ok(e.code)
        }
    }
}

async fn plan_cmd(args: &PlanArgs, loaded: &Loaded) -> Result<String, Exit> {
    let target = Target::new(args.drill.as_deref(), loaded)?;
    let (_, rb) = find_runbook(&args.runbook, loaded)?;
    check_param_names(&rb, &args.params)?;
    let cfg = target.config(loaded);
    let obs = status::first_snapshots(observe_only(&target).await, FIRST_SNAPSHOT_LIMIT).await;
    let params = resolve(&rb, &cfg, &obs, &args.params)?;
    let steps = plan::plan(&rb, &cfg, &obs, &params);
    let estate = target.describe(loaded);
    Ok(if args.json {
        let v = plan_json(&rb, &estate, &obs, &params, &steps, &cfg.approvals);
        serde_json::to_string_pretty(&v).unwrap_or_default() + "\n"
    } else {
        plan_text(&rb, &estate, &obs, &params, &steps, &cfg.approvals)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_plan_shows_each_build_error_once_with_its_kind() {
        let rb = crate::runbook::plan::tests::runbook();
        let cfg = crate::runbook::plan::tests::postgres_only();
        let obs = Observed::default();
        let steps = plan::plan(&rb, &cfg, &obs, &[]);
        let text = plan_text(&rb, "test", &obs, &[], &steps, &cfg.approvals);
        assert_eq!(text.matches("not applicable").count(), 1, "{text}");
        assert!(text.contains("\n   not applicable: Kubernetes is not configured\n"), "{text}");
        assert_eq!(text.matches("no PostgreSQL node named pg-9").count(), 1, "{text}");
        assert!(text.contains("\n   cannot be built: no PostgreSQL node named pg-9\n"), "{text}");
        let json = plan_json(&rb, "test", &obs, &[], &steps, &cfg.approvals);
        let step = |i: usize| &json["steps"][i];
        assert_eq!(step(0)["not_applicable"], "Kubernetes is not configured");
        assert!(step(0)["invalid"].is_null());
        assert_eq!(step(1)["invalid"], "no PostgreSQL node named pg-9");
        assert!(step(1)["not_applicable"].is_null());
        assert!(step(2)["not_applicable"].is_null() && step(2)["op"]["op"] == "promote-postgres");
    }

    #[test]
    fn the_plan_shows_how_many_approvals_each_step_needs() {
        let rb = crate::runbook::plan::tests::runbook();
        let cfg = crate::runbook::plan::tests::postgres_only();
        let obs = Observed::default();
        let steps = plan::plan(&rb, &cfg, &obs, &[]);
        let rules = crate::config::model::ApprovalsConfig { high_risk: Some(3), ..Default::default() };
        let text = plan_text(&rb, "test", &obs, &[], &steps, &rules);
        assert!(
            text.contains("\n   approvals: 2 other person(s) after the commander's confirmation"),
            "{text}"
        );
        let json = plan_json(&rb, "test", &obs, &[], &steps, &rules);
        assert_eq!(json["steps"][2]["approvals_needed"], 2, "the promotion is high risk");
        let none = plan_text(&rb, "test", &obs, &[], &steps, &Default::default());
        assert!(!none.contains("approvals:"), "{none}");
    }

    #[test]
    fn params_need_a_name_and_an_equals_sign() {
        assert_eq!(parse_param("candidate=postgresql-1"), Ok(("candidate".into(), "postgresql-1".into())));
        assert_eq!(parse_param("note=a=b"), Ok(("note".into(), "a=b".into())));
        assert!(parse_param("candidate").unwrap_err().contains("NAME=VALUE"));
        assert!(parse_param("=x").is_err());
    }

    #[test]
    fn durations_parse_as_typed_and_nonsense_says_what_is_expected() {
        let d = |s: &str| parse_duration(s).map(|d| d.as_millis());
        assert_eq!(d("30s"), Ok(30_000));
        assert_eq!(d("2m"), Ok(120_000));
        assert_eq!(d("1m30s"), Ok(90_000));
        assert_eq!(d("500ms"), Ok(500));
        assert_eq!(d("45"), Ok(45_000));
        assert_eq!(d("2.5s"), Ok(2_500));
        assert_eq!(d("1h"), Ok(3_600_000));
        for bad in ["", "s", "3x", "-5s", "1m-2s", "abc"] {
            assert!(parse_duration(bad).unwrap_err().contains("expected a duration"), "{bad}");
        }
    }

    #[test]
    fn unknown_param_names_list_the_declared_ones() {
        let (cat, _) = Catalog::load(None);
        let rb = cat.get("db-failover").expect("built-in");
        let e = check_param_names(rb, &[("nope".into(), "1".into())]).unwrap_err();
        assert_eq!(e.code, 2);
        assert!(e.message.contains("candidate") && e.message.contains("old_primary"), "{}", e.message);
        assert!(check_param_names(rb, &[("candidate".into(), "x".into())]).is_ok());
    }
}
