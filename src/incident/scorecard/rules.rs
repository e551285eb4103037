//! The scoring rules, one function each (see the module doc of `scorecard` for the list).

use chrono::{DateTime, Utc};
use serde_json::Value;

use super::facts::{self, StepFact};
use super::{ChecklistScore, DETECT_DEFINITION, Debrief, EntryRef, ScoreLine, Scorecard, Timeliness};
use crate::backends::drill::scenario::{Objectives, ScenarioDef};
use crate::incident::checklist::{Checklist, DECLARED_ITEM, FIRST_STATUS_UPDATE_ITEM};
use crate::incident::entry::{Entry, EntryKind};
use crate::incident::export::plain_text;
use crate::operation::Operation;
use crate::operation::assertion::Assertion;
use crate::operation::kind::OpKind;

/// What the rules share while they run.
struct Ctx<'a> {
    entries: &'a [Entry],
    obj: &'a Objectives,
    operator: Option<&'a str>,
    /// Every step of the drill.
    steps: Vec<StepFact>,
    /// The counted result entry.
    result: Option<&'a Entry>,
    lines: Vec<ScoreLine>,
    debrief: Vec<Debrief>,
}

impl Ctx<'_> {
    /// Whether `who` is the trainee being scored.
    fn mine(&self, who: Option<&str>) -> bool {
        self.operator.is_none_or(|me| who == Some(me))
    }

    /// The trainee's steps.
    fn my_steps(&self) -> impl Iterator<Item = &StepFact> {
        self.steps.iter().filter(|s| self.mine(s.owner()))
    }

    fn line(
        &mut self,
        objective: impl Into<String>,
        detail: String,
        points: i64,
        max: u32,
        entry: Option<EntryRef>,
    ) {
        self.lines.push(ScoreLine { objective: objective.into(), detail, points, max, entry });
    }

    fn mistake(&mut self, rule: &'static str, text: String, entry: Option<EntryRef>) {
        let text = match entry {
            Some(r) => format!("{text} ({r})"),
            None => text,
        };
        self.debrief.push(Debrief { rule, text, entry });
    }
}

/// See [`super::score`].
pub(super) fn score(entries: &[Entry], def: &ScenarioDef, operator: Option<&str>) -> Scorecard {
    let mut c = Ctx {
        entries,
        obj: &def.objectives,
        operator,
        steps: facts::steps(entries),
        result: facts::result(entries),
        lines: Vec::new(),
        debrief: Vec::new(),
    };
    let (rto_secs, rto_target_secs) = rto(&mut c);
    let (data_loss_bytes, max_data_loss) = data_loss(&mut c);
    let promoted = promote(&mut c);
    promote_before_check(&mut c);
    fence(&mut c);
    let checklist = checklist(&mut c);
    let forbidden = forbidden(&mut c);
    let dangerous = dangerous(&mut c);
    let hints = hints(&mut c);
    let (time_to_detect_secs, time_to_first_action_secs) = timings(&c);
    let mut debrief = c.debrief;
    debrief.sort_by_key(|d| d.entry.map_or(u64::MAX, |r| r.seq));
    Scorecard {
        scenario: plain_text(&def.id),
        title: plain_text(&def.title),
        operator: operator.map(plain_text),
        rto_secs,
        rto_target_secs,
        data_loss_bytes,
        max_data_loss,
        time_to_detect_secs,
        detect_definition: DETECT_DEFINITION,
        time_to_first_action_secs,
        checklist,
        promoted,
        dangerous,
        forbidden,
        hints,
        total: c.lines.iter().map(|l| l.points).sum(),
        max: c.lines.iter().map(|l| l.max).sum(),
        lines: c.lines,
        debrief,
    }
}

fn secs_between(from: DateTime<Utc>, to: DateTime<Utc>) -> f64 {
    (to - from).num_milliseconds() as f64 / 1000.0
}

/// Time to detect and to first action (see [`DETECT_DEFINITION`]).
fn timings(c: &Ctx) -> (Option<f64>, Option<f64>) {
    let Some(fault) = facts::fault_at(c.entries) else { return (None, None) };
    let mine = |e: &&Entry| e.ts >= fault && c.mine(Some(&e.operator));
    let noticed =
        c.entries.iter().filter(mine).find(|e| facts::is_action(&e.kind) && e.kind != EntryKind::Override);
    let acted = c.entries.iter().filter(mine).find(|e| e.kind == EntryKind::StepConfirmed);
    (noticed.map(|e| secs_between(fault, e.ts)), acted.map(|e| secs_between(fault, e.ts)))
}

/// RTO against the target. Returns (measured, target).
fn rto(c: &mut Ctx) -> (Option<f64>, Option<u64>) {
    let measured = c.result.and_then(|r| r.details.get("rto_secs")).and_then(Value::as_f64);
    let target = c.obj.rto.map(|d| d.as_secs());
    let at = c.result.map(EntryRef::of);
    let max = c.obj.points.rto;
    match (measured, target) {
        (Some(rto), Some(t)) if rto <= t as f64 => {
            c.line("RTO", format!("{rto:.1} s, target {t} s: met"), i64::from(max), max, at);
        }
        (Some(rto), Some(t)) => {
            c.line("RTO", format!("{rto:.1} s, target {t} s: missed"), 0, max, at);
            c.mistake("rto-missed", format!("recovery took {rto:.1} s, over the {t} s target"), at);
        }
        (None, target) => {
            if let Some(t) = target {
                c.line("RTO", format!("not recovered, target {t} s"), 0, max, None);
            }
            let last = c
                .entries
                .iter()
                .rev()
                .find(|e| matches!(e.kind, EntryKind::Verdict | EntryKind::MitigationWithdrawn));
            let why = last
                .and_then(|e| e.details.get("reasons")?.as_array()?.first()?.as_str().map(plain_text))
                .map_or(String::new(), |r| format!(": still {r}"));
            c.mistake("not-recovered", format!("the estate was not recovered{why}"), last.map(EntryRef::of));
        }
        (Some(_), None) => {}
    }
    (measured, target)
}

/// Data loss against the limit. Returns (measured, limit).
fn data_loss(c: &mut Ctx) -> (Option<u64>, Option<u64>) {
    let r = c.result;
    let d = r.map(|r| &r.details);
    let measured = d.and_then(|d| match d.get("data_loss_bytes").and_then(Value::as_u64) {
        Some(b) => Some(b),
        // No PostgreSQL primary switch: nothing written elsewhere was lost.
        None if d.get("postgres").is_none_or(Value::is_null) => Some(0),
        None => None,
    });
    let Some(limit) = c.obj.max_data_loss else { return (measured, None) };
    let max = c.obj.points.data_loss;
    let at = r.map(EntryRef::of);
    match (r, measured) {
        (None, _) => {
            c.line("data loss", format!("not measured (not recovered), limit {limit} B"), 0, max, None)
        }
        (Some(_), None) => {
            c.line("data loss", format!("unknown (LSNs not seen), limit {limit} B"), 0, max, at);
        }
        (Some(_), Some(b)) if b <= limit => {
            c.line("data loss", format!("{b} B, limit {limit} B: within"), i64::from(max), max, at);
        }
        (Some(_), Some(b)) => {
            c.line("data loss", format!("{b} B, limit {limit} B: over"), 0, max, at);
            c.mistake("data-loss", format!("{b} B of writes were lost, over the {limit} B limit"), at);
        }
    }
    (measured, Some(limit))
}

fn is_promotion(s: &StepFact) -> bool {
    matches!(s.kind(), Some(OpKind::Promote | OpKind::ExecPromote))
}

/// The right candidate promoted. Returns the nodes the trainee promoted.
fn promote(c: &mut Ctx) -> Vec<String> {
    let mine: Vec<StepFact> = c.my_steps().filter(|s| is_promotion(s) && s.executed()).cloned().collect();
    let promoted: Vec<String> = mine.iter().filter_map(|s| s.node().map(plain_text)).collect();
    let Some(want) = c.obj.promote.clone() else { return promoted };
    let max = c.obj.points.promote;
    for s in mine.iter().filter(|s| s.node() != Some(want.as_str())) {
        let node = plain_text(s.node().unwrap_or("?"));
        let text = format!("you promoted {node}; the safe candidate was {want}");
        c.mistake("wrong-candidate", text, s.executing.or(s.executed_ok));
    }
    match mine.first() {
        Some(s) if s.node() == Some(want.as_str()) && s.verified.is_some() => {
            c.line("promote", format!("{want} promoted and verified"), i64::from(max), max, s.verified);
        }
        Some(s) if s.node() == Some(want.as_str()) => {
            c.line("promote", format!("{want} promoted but not verified"), 0, max, s.executed_ok);
            c.mistake("not-promoted", format!("the promotion of {want} was never verified"), s.executed_ok);
        }
        Some(s) => {
            let node = plain_text(s.node().unwrap_or("?"));
            c.line("promote", format!("{node} promoted first, not {want}"), 0, max, s.executing);
        }
        None => {
            c.line("promote", format!("{want} not promoted"), 0, max, None);
            c.mistake("not-promoted", format!("{want} was never promoted"), None);
        }
    }
    promoted
}

/// Whether step `s` showed the primary down: a verified `primary-down` assertion or a verified
/// `check-primary` step.
fn confirms_down(s: &StepFact) -> bool {
    s.verified.is_some()
        && matches!(
            s.op,
            Some(Operation::CheckPrimary) | Some(Operation::Assert { check: Assertion::PrimaryDown })
        )
}

/// Promotions confirmed before anyone confirmed the primary was down.
fn promote_before_check(c: &mut Ctx) {
    let first_check =
        c.steps.iter().filter(|s| confirms_down(s)).filter_map(|s| s.verified.map(|r| r.seq)).min();
    let hasty: Vec<(String, EntryRef)> = c
        .my_steps()
        .filter(|s| is_promotion(s))
        .filter_map(|s| Some((plain_text(s.node()?), s.confirmed.as_ref()?.0)))
        .filter(|(_, r)| first_check.is_none_or(|seq| seq > r.seq))
        .collect();
    for (node, at) in hasty {
        let text = format!("you promoted {node} before confirming the primary was down");
        c.mistake("promote-before-check", text, Some(at));
    }
}

/// Moves traffic or the Service to the new primary.
fn moves_traffic(s: &StepFact) -> bool {
    matches!(
        s.kind(),
        Some(OpKind::LabelPod | OpKind::RepointService | OpKind::SetWeights | OpKind::ShiftTraffic)
    )
}

/// Whether `e` shows that the old primary (`old`, when known) did not accept writes: a fence
/// step the runbook skipped as not applicable because its `node-writable` gate was not met.
fn shows_not_writable(e: &Entry, old: Option<&str>) -> bool {
    let reason = e.details.get("reason").and_then(Value::as_str).unwrap_or_default();
    e.kind == EntryKind::StepSkipped
        && e.details.get("not_applicable").and_then(Value::as_bool) == Some(true)
        && match old {
            Some(old) => reason.contains(&format!("node-writable:{old} ")),
            None => reason.contains("node-writable:"),
        }
}

/// The first move of the Service or traffic to the new primary made while the old primary was
/// not known to refuse writes: no primary-down check verified and no fence skipped as not
/// applicable (old primary not writable) before it. Returns the step's title and entry.
fn move_while_writable(c: &Ctx, old: Option<&str>) -> Option<(String, EntryRef)> {
    let (s, at) = c
        .steps
        .iter()
        .filter(|s| moves_traffic(s))
        .filter_map(|s| Some((s, s.executing?)))
        .min_by_key(|(_, r)| r.seq)?;
    let checked = c.steps.iter().any(|s| confirms_down(s) && s.verified.is_some_and(|v| v.seq < at.seq));
    let skipped = c.entries.iter().any(|e| e.seq < at.seq && shows_not_writable(e, old));
    (!checked && !skipped).then(|| (s.title.clone(), at))
}

/// The old primary fenced, and not after the Service or traffic moved to the new primary while
/// it still accepted writes.
fn fence(c: &mut Ctx) {
    if !c.obj.fence {
        return;
    }
    let max = c.obj.points.fence;
    let old = c.result.and_then(|r| r.details.pointer("/postgres/old_primary")).and_then(Value::as_str);
    let promoted: Vec<&str> =
        c.steps.iter().filter(|s| is_promotion(s) && s.executed()).filter_map(|s| s.node()).collect();
    let right_node = |n: Option<&str>| match old {
        Some(old) => n == Some(old),
        None => n.is_some_and(|n| !promoted.contains(&n)),
    };
    let fenced = c
        .my_steps()
        .filter(|s| s.kind() == Some(OpKind::Fence) && right_node(s.node()))
        .find_map(|s| Some((plain_text(s.node()?), s.verified?)));
    let moved = move_while_writable(c, old);
    match (fenced, moved) {
        (Some((node, f)), Some((title, m))) if m.seq < f.seq => {
            c.line("fence", format!("{node} fenced after traffic moved"), 0, max, Some(f));
            let text = format!(
                "you fenced {node} ({f}) only after the Service or traffic moved to the new primary ({title}) while it still took writes"
            );
            c.mistake("fence-late", text, Some(m));
        }
        (Some((node, f)), _) => {
            c.line("fence", format!("{node} fenced"), i64::from(max), max, Some(f));
        }
        (None, moved) => {
            c.line("fence", "the old primary was not fenced".into(), 0, max, None);
            let (text, at) = match moved {
                Some((title, m)) => (
                    format!(
                        "the Service or traffic moved to the new primary ({title}) while the old primary was not fenced"
                    ),
                    Some(m),
                ),
                None => ("the old primary was never fenced".to_string(), None),
            };
            c.mistake("no-fence", text, at);
        }
    }
}

/// The entry that ticks checklist item `id`: the `declared` entry for the incident log item,
/// the first `status-update` for the first status update, else a `checklist` entry naming it.
fn ticks(e: &Entry, id: &str) -> bool {
    match e.kind {
        EntryKind::Declared => id == DECLARED_ITEM,
        EntryKind::StatusUpdate => id == FIRST_STATUS_UPDATE_ITEM,
        EntryKind::Checklist => e.details.get("item").and_then(Value::as_str) == Some(id),
        _ => false,
    }
}

/// Each `checklist-on-time` item: on time, late or missed (shared by the team).
fn checklist(c: &mut Ctx) -> Vec<ChecklistScore> {
    let Some(t0) = c.entries.iter().find(|e| e.kind == EntryKind::Declared).map(|e| e.ts) else {
        return Vec::new();
    };
    let list = Checklist::communication();
    let max = c.obj.points.checklist_item;
    let mut out = Vec::new();
    for id in c.obj.checklist_on_time.clone() {
        let item = list.item(&id);
        let due = item.and_then(|i| Checklist::due_at(i, t0));
        let done = c.entries.iter().find(|e| ticks(e, &id)).map(EntryRef::of);
        let name = format!("checklist {}", plain_text(&id));
        let what = item
            .map_or_else(|| plain_text(&id), |i| format!("{} ({})", plain_text(&id), plain_text(&i.text)));
        let status = match (item, done, due) {
            (None, _, _) => Timeliness::Missed,
            (_, Some(d), Some(due)) if d.at > due => Timeliness::Late((d.at - due).num_seconds()),
            (_, Some(_), _) => Timeliness::OnTime,
            (_, None, _) => Timeliness::Missed,
        };
        match status {
            Timeliness::OnTime => c.line(name, "ticked on time".into(), i64::from(max), max, done),
            Timeliness::Late(s) => {
                c.line(name, format!("ticked {s} s late"), 0, max, done);
                c.mistake("checklist-late", format!("{what} was ticked {s} s after it was due"), done);
            }
            Timeliness::Missed if item.is_none() => {
                c.line(name, "not in the communication checklist".into(), 0, max, None);
                c.mistake("checklist-missed", format!("{what} is not an item of the checklist"), None);
            }
            Timeliness::Missed => {
                let when = due.map_or(String::new(), |d| format!(" (due at {})", d.format("%H:%M:%S")));
                c.line(name, format!("never ticked{when}"), 0, max, None);
                c.mistake("checklist-missed", format!("{what} was never ticked{when}"), None);
            }
        }
        out.push(ChecklistScore { item: plain_text(&id), due, done, status });
    }
    out
}

/// Forbidden actions the trainee executed.
fn forbidden(c: &mut Ctx) -> usize {
    let pts = c.obj.points.forbidden;
    let mut hits = Vec::new();
    for f in &c.obj.forbidden {
        for s in c.my_steps() {
            let (Some(op), Some(at)) = (s.op.as_ref(), s.executing) else { continue };
            let on_target = f.target.as_deref().is_none_or(|t| facts::targets(op).contains(&t));
            if op.kind() == f.op && on_target {
                let target = f.target.as_deref().or(facts::targets(op).first().copied()).map(plain_text);
                let what = match target {
                    Some(t) => format!("{} on {t}", f.op),
                    None => f.op.to_string(),
                };
                hits.push((what, plain_text(&f.why), at));
            }
        }
    }
    for (what, why, at) in &hits {
        c.line(format!("forbidden {what}"), why.clone(), -i64::from(pts), 0, Some(*at));
        c.mistake("forbidden", format!("you ran {what}, which must not happen: {why}"), Some(*at));
    }
    hits.len()
}

/// Precheck refusals of changing steps and overrides the trainee took.
fn dangerous(c: &mut Ctx) -> usize {
    let pts = c.obj.points.dangerous;
    let mut hits: Vec<(&'static str, String, EntryRef)> = Vec::new();
    for s in &c.steps {
        if s.kind().is_some_and(|k| !k.is_mutating()) {
            continue;
        }
        for (at, _, reason) in s.precheck_failed.iter().filter(|(_, who, _)| c.mine(Some(who))) {
            let text = format!("step #{} ({}) was refused by its precheck: {reason}", s.id, s.title);
            hits.push(("precheck-refused", text, *at));
        }
    }
    for e in c.entries.iter().filter(|e| e.kind == EntryKind::Override && c.mine(Some(&e.operator))) {
        hits.push(("override", format!("you took an override: {}", plain_text(&e.summary)), EntryRef::of(e)));
    }
    hits.sort_by_key(|(_, _, r)| r.seq);
    for (rule, text, at) in &hits {
        let label = if *rule == "override" { "override taken" } else { "refused by a precheck" };
        c.line("dangerous attempt", label.into(), -i64::from(pts), 0, Some(*at));
        c.mistake(rule, text.clone(), Some(*at));
    }
    hits.len()
}

/// Hints released (shared by the team).
fn hints(c: &mut Ctx) -> usize {
    let pts = c.obj.points.hint;
    let used: Vec<(String, EntryRef)> = c
        .entries
        .iter()
        .filter(|e| facts::is_hint(e))
        .map(|e| (facts::hint_text(e), EntryRef::of(e)))
        .collect();
    for (text, at) in &used {
        c.line("hint", text.clone(), -i64::from(pts), 0, Some(*at));
        c.mistake("hint", format!("a hint was needed: {text}"), Some(*at));
    }
    used.len()
}
