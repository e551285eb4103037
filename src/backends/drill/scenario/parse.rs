//! Scenario file text -> [`ScenarioDef`], every problem a [`ConfigError`] with file, line and
//! column: TOML syntax and serde's type errors first, then what serde cannot check (one
//! trigger per fault, targets that exist in the drill estate, known ids and runbooks), all of
//! them, each at the offending value.

use std::collections::BTreeSet;
use std::ops::Range;
use std::path::Path;

use strum::VariantNames;
use toml::de::DeValue;

use super::model::{FaultDef, FaultKind, ScenarioDef, TargetKind};
use crate::backends::drill::estate::{DEPLOYMENTS, PG_NODES, REDIS_NODES, REGIONS, SENTINELS};
use crate::config::error::{ConfigError, Seg, SpannedDoc, closest, one_of};

/// Pods of the base estate: five application pods per region plus three PostgreSQL and three
/// Redis pods.
pub const BASE_PODS: u32 = {
    let mut app = 0;
    let mut i = 0;
    while i < DEPLOYMENTS.len() {
        app += DEPLOYMENTS[i].1;
        i += 1;
    }
    app * REGIONS.len() as u32 + PG_NODES.len() as u32 + REDIS_NODES.len() as u32
};
/// Largest `estate.pods` a scenario may ask for.
pub const MAX_PODS: u32 = 20_000;
/// The deployment that carries `estate.pods` beyond the base estate.
pub const BATCH_DEPLOYMENT: &str = "batch";
/// The PostgreSQL primary at the start of every drill.
const INITIAL_PRIMARY: &str = "postgresql-0";
/// The four triggers, as written in files.
const TRIGGERS: [&str; 4] = ["at", "after-op", "after-fault", "traffic-to"];

/// Names a scenario may refer to that this layer does not know: each `None` skips its check
/// (`warroom check` fills both; the backends layer knows neither catalogue).
#[derive(Debug, Clone, Copy, Default)]
pub struct Known<'a> {
    /// The runbook ids that exist (built-in and the user's).
    pub runbooks: Option<&'a [&'a str]>,
    /// The checklist item ids that exist.
    pub checklist: Option<&'a [&'a str]>,
}

/// Parse a scenario file, checking its references against `known`.
pub fn parse(text: &str, file: &Path, known: &Known<'_>) -> Result<ScenarioDef, Vec<ConfigError>> {
    let doc = SpannedDoc::parse(text).map_err(|e| vec![ConfigError::from_toml(file, text, &e)])?;
    let err = |span: Range<usize>, msg: String| ConfigError::at(file, text, span.start, msg);
    let kinds = unknown_kinds(&doc, &err);
    if !kinds.is_empty() {
        return Err(kinds);
    }
    let def: ScenarioDef = toml::from_str(text).map_err(|e| vec![ConfigError::from_toml(file, text, &e)])?;
    let mut problems = Vec::new();
    let mut report = |path: &[Seg<'_>], msg: String| problems.push(err(doc.locate(path), msg));
    check(&def, known, &mut report);
    if problems.is_empty() { Ok(def) } else { Err(problems) }
}

/// Fault kinds serde would reject, each with a "did you mean" (serde stops at the first).
fn unknown_kinds(
    doc: &SpannedDoc<'_>,
    err: &dyn Fn(Range<usize>, String) -> ConfigError,
) -> Vec<ConfigError> {
    let Some(DeValue::Array(faults)) = doc.root().get("fault").map(|v| v.get_ref()) else { return vec![] };
    let mut out = Vec::new();
    for fault in faults {
        let Some(kind) = fault.get_ref().as_table().and_then(|t| t.get("kind")) else { continue };
        let Some(name) = kind.get_ref().as_str() else { continue };
        if name.parse::<FaultKind>().is_err() {
            out.push(err(
                kind.span(),
                format!("unknown fault kind `{name}`{}", suggest(name, FaultKind::VARIANTS)),
            ));
        }
    }
    out
}

/// `; did you mean `x`?`, or the list of what is accepted.
fn suggest(input: &str, known: &[&str]) -> String {
    match closest(input, known.iter().copied()).first() {
        Some(best) => format!("; did you mean `{best}`?"),
        None => format!("; expected {}", one_of(known)),
    }
}

fn is_kebab(s: &str) -> bool {
    !s.is_empty()
        && s.split('-').all(|part| {
            !part.is_empty() && part.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
        })
}

/// Every name a fault of `kind` may target, given whether the estate has the `batch` deployment.
pub fn targets(kind: TargetKind, batch: bool) -> Vec<&'static str> {
    let pg = PG_NODES.iter().map(|n| n.name);
    let redis = REDIS_NODES.iter().map(|n| n.name);
    let sentinels = SENTINELS.iter().map(|n| n.name);
    match kind {
        TargetKind::None => vec![],
        TargetKind::DataPod => pg.chain(redis).collect(),
        TargetKind::Node => pg.chain(redis).chain(sentinels).collect(),
        TargetKind::PgNode => pg.collect(),
        TargetKind::Sentinel => sentinels.collect(),
        TargetKind::Region => REGIONS.iter().map(|r| r.0).collect(),
        TargetKind::Deployment => {
            let mut d: Vec<&str> = DEPLOYMENTS.iter().map(|d| d.0).collect();
            if batch {
                d.push(BATCH_DEPLOYMENT);
            }
            d
        }
    }
}

fn regions() -> Vec<&'static str> {
    REGIONS.iter().map(|r| r.0).collect()
}

/// The semantic checks; `report(path, message)` once per problem.
fn check(def: &ScenarioDef, known: &Known<'_>, report: &mut dyn FnMut(&[Seg<'_>], String)) {
    if !is_kebab(&def.id) {
        report(&[Seg::Key("id")], format!("id `{}` must be kebab-case (e.g. `primary-db-down`)", def.id));
    }
    let batch = def.estate.pods.is_some_and(|p| p > BASE_PODS);
    if let Some(pods) = def.estate.pods
        && !(BASE_PODS..=MAX_PODS).contains(&pods)
    {
        report(
            &[Seg::Key("estate"), Seg::Key("pods")],
            format!("estate.pods must be between {BASE_PODS} (the base estate) and {MAX_PODS}, got {pods}"),
        );
    }
    let mut ids = BTreeSet::new();
    for (i, f) in def.faults.iter().enumerate() {
        let at = |key: &'static str| [Seg::Key("fault"), Seg::Index(i), Seg::Key(key)];
        if let Some(id) = &f.id {
            if !is_kebab(id) {
                report(&at("id"), format!("fault id `{id}` must be kebab-case"));
            }
            if !ids.insert(id.as_str()) {
                report(&at("id"), format!("fault id `{id}` is used twice"));
            }
        }
        check_trigger(f, &def.faults[..i], &at, report);
        check_target(f, batch, &at, report);
    }
    check_objectives(def, batch, report);
    for (i, r) in def.runbooks.iter().enumerate() {
        if let Some(runbooks) = known.runbooks
            && !runbooks.contains(&r.as_str())
        {
            report(
                &[Seg::Key("runbooks"), Seg::Index(i)],
                format!("unknown runbook `{r}`{}", suggest(r, runbooks)),
            );
        }
    }
    for (i, item) in def.objectives.checklist_on_time.iter().enumerate() {
        if let Some(items) = known.checklist
            && !items.contains(&item.as_str())
        {
            report(
                &[Seg::Key("objectives"), Seg::Key("checklist-on-time"), Seg::Index(i)],
                format!("unknown checklist item `{item}`{}", suggest(item, items)),
            );
        }
    }
}

fn check_trigger(
    f: &FaultDef,
    earlier: &[FaultDef],
    at: &dyn Fn(&'static str) -> [Seg<'static>; 3],
    report: &mut dyn FnMut(&[Seg<'_>], String),
) {
    let set = [f.at.is_some(), f.after_op.is_some(), f.after_fault.is_some(), f.traffic_to.is_some()];
    let given: Vec<&str> = TRIGGERS.iter().zip(set).filter(|(_, s)| *s).map(|(t, _)| *t).collect();
    match given.as_slice() {
        [] => report(
            &at("kind"),
            format!("fault `{}` has no trigger: give one of {}", f.kind, one_of(&TRIGGERS)),
        ),
        [_] => {}
        [first, rest @ ..] => {
            for t in rest {
                report(
                    &at(t),
                    format!("fault `{}` has two triggers (`{first}` and `{t}`): give exactly one", f.kind),
                );
            }
        }
    }
    if f.delay.is_some() && f.at.is_some() {
        report(
            &at("delay"),
            "`delay` goes with `after-op`, `after-fault` or `traffic-to`, not with `at`".into(),
        );
    }
    if let Some(name) = &f.after_fault
        && !earlier.iter().any(|e| e.id.as_deref() == Some(name))
    {
        let ids: Vec<&str> = earlier.iter().filter_map(|e| e.id.as_deref()).collect();
        let hint =
            if ids.is_empty() { "; no earlier fault has an id".to_string() } else { suggest(name, &ids) };
        report(&at("after-fault"), format!("after-fault `{name}` names no earlier fault{hint}"));
    }
    if let Some(region) = &f.traffic_to
        && !regions().contains(&region.as_str())
    {
        report(&at("traffic-to"), format!("unknown region `{region}`{}", suggest(region, &regions())));
    }
}

fn check_target(
    f: &FaultDef,
    batch: bool,
    at: &dyn Fn(&'static str) -> [Seg<'static>; 3],
    report: &mut dyn FnMut(&[Seg<'_>], String),
) {
    let kind = f.kind.target();
    match (&f.target, kind) {
        (Some(_), TargetKind::None) => {
            report(&at("target"), format!("fault `{}` takes no target", f.kind));
        }
        (None, TargetKind::None) => {}
        (None, _) => report(&at("kind"), format!("fault `{}` needs a target ({})", f.kind, what(kind))),
        (Some(t), _) => {
            let known = targets(kind, batch);
            if !known.contains(&t.as_str()) {
                report(
                    &at("target"),
                    format!("fault `{}` cannot target `{t}`{}", f.kind, suggest(t, &known)),
                );
            } else if t == INITIAL_PRIMARY
                && matches!(f.kind, FaultKind::ReplicaLag | FaultKind::RoguePromote)
            {
                report(
                    &at("target"),
                    format!("`{t}` is the primary at the start: `{}` needs a replica", f.kind),
                );
            }
        }
    }
    if f.returns_after.is_some()
        && matches!(f.kind, FaultKind::RoguePromote | FaultKind::CrashloopRollout | FaultKind::Oom)
    {
        report(
            &at("returns-after"),
            format!(
                "`{}` does not clear with time (a promotion or a rollout stays): drop `returns-after`",
                f.kind
            ),
        );
    }
    match (&f.region, kind) {
        (Some(r), TargetKind::Deployment) if !regions().contains(&r.as_str()) => {
            report(&at("region"), format!("unknown region `{r}`{}", suggest(r, &regions())));
        }
        (Some(_), TargetKind::Deployment) | (None, _) => {}
        (Some(_), _) => {
            report(&at("region"), format!("`region` goes with a deployment target, not `{}`", f.kind))
        }
    }
}

fn what(kind: TargetKind) -> &'static str {
    match kind {
        TargetKind::None => "none",
        TargetKind::DataPod => "a PostgreSQL or Redis pod",
        TargetKind::Node => "a PostgreSQL node, Redis node or Sentinel",
        TargetKind::PgNode => "a PostgreSQL replica",
        TargetKind::Sentinel => "a Sentinel",
        TargetKind::Region => "a region",
        TargetKind::Deployment => "a deployment",
    }
}

fn check_objectives(def: &ScenarioDef, batch: bool, report: &mut dyn FnMut(&[Seg<'_>], String)) {
    let o = &def.objectives;
    let pg = targets(TargetKind::PgNode, false);
    if let Some(p) = &o.promote
        && !pg.contains(&p.as_str())
    {
        report(
            &[Seg::Key("objectives"), Seg::Key("promote")],
            format!("objectives.promote `{p}` is not a PostgreSQL node{}", suggest(p, &pg)),
        );
    }
    let mut all = targets(TargetKind::Node, false);
    all.extend(targets(TargetKind::Region, false));
    all.extend(targets(TargetKind::Deployment, batch));
    for (i, f) in o.forbidden.iter().enumerate() {
        if let Some(t) = &f.target
            && !all.contains(&t.as_str())
        {
            report(
                &[Seg::Key("objectives"), Seg::Key("forbidden"), Seg::Index(i), Seg::Key("target")],
                format!("forbidden target `{t}` is not in the drill estate{}", suggest(t, &all)),
            );
        }
    }
}

#[cfg(test)]
mod tests;
