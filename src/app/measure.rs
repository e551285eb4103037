//! Recovery measurement: the [`Recovery`] tracker records when the fault was injected (drill)
//! or detected, the first confirmed step, and mitigation (withdrawn again if the estate fails
//! anew), plus data consistency across the failover (PostgreSQL LSNs, Redis replication
//! offsets). Each time mitigation is reached the core logs a `drill-result` (drill) or
//! `recovery-result` (live) entry with the figures; each withdrawal a `mitigation-withdrawn`
//! entry. Changes of the verdict level are logged as `verdict` entries (the last one says why
//! a drill that never got mitigated was not).
//!
//! Pure: fed from [`super::update`] through [`track`] after every action, with the action's
//! `now`, and the estate [`Verdict`] (one judgement, see [`super::verdict`]).
//!
//! Definitions (all instants are the `now` of the action at which they were first observed):
//! - *start*: the fault injection time (drill, given by the estate) or else detection.
//! - *detected*: the first snapshot (at or after the injection, in a drill) in which the
//!   verdict is degraded or failing.
//! - *first action*: the first step confirmed at or after the start.
//! - *the verdict holds* when, after detection, a step has been verified since the start, no
//!   step is failed, executing, verifying or of unknown outcome, no runbook is running, the
//!   verdict is [`Verdict::restored`] (healthy, or degraded by lost redundancy only; what is
//!   expected down does not count) and there is no split brain.
//! - *mitigated*: the verdict has held for the settle period (`[drill] settle_secs`, default
//!   10 s) without a break; mitigation is dated from the moment it began to hold (the RTO ends
//!   there) and logged when the settle period is over.
//! - *withdrawn*: after mitigation, a snapshot with a split brain or a verdict that is neither
//!   restored nor unknown withdraws it (logged); it is reached again by the same rule, and the
//!   latest result is the one that counts.
//! - *PostgreSQL data loss*: see [`postgres`]: the last LSN seen on each primary that lost
//!   (the old one, or the second one of a split brain) minus the LSN at which the surviving
//!   timeline forked from it, floored at 0.
//! - *Redis offset loss*: the new master's replication offset lag behind the old master the
//!   last time both were seen linked (old offset minus new offset at the switch).

pub mod postgres;
#[cfg(test)]
mod tests;

use std::collections::BTreeMap;
use std::sync::Arc;

use chrono::{DateTime, Duration, SecondsFormat, Utc};
use serde::Serialize;
use serde_json::json;

use self::postgres::PgTrack;
use super::effect::Effect;
use super::pipeline::log;
use super::state::{Domain, Mode};
use super::step::{StepRun, StepStatus};
use super::verdict::{Level, Verdict, verdict_of};
use crate::backends::Observed;
use crate::incident::checklist::{Checklist, Due};
use crate::incident::entry::EntryKind;

/// The PostgreSQL primary that survived, and one that lost writes to it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PgSwitch {
    /// The primary whose writes after the fork are lost (it is no longer writable).
    pub old_primary: String,
    /// Its last LSN seen while it was writable.
    pub old_lsn: Option<u64>,
    /// The single writable primary that remains.
    pub new_primary: String,
    /// The LSN at which the two nodes' timelines forked.
    pub new_lsn: Option<u64>,
    /// Where the fork LSN came from (the node's timeline history, or its last LSN seen as a
    /// replica: a lower bound).
    pub fork_source: Option<String>,
    /// When the switch was first seen.
    pub at: DateTime<Utc>,
}

impl PgSwitch {
    /// Bytes written on the old primary after the fork (0 when none).
    pub fn loss_bytes(&self) -> Option<u64> {
        Some(self.old_lsn?.saturating_sub(self.new_lsn?))
    }
}

/// The Redis master the Sentinels agree on changed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RedisSwitch {
    /// Old master `host:port`.
    pub old_master: String,
    /// New master `host:port`.
    pub new_master: String,
    /// Old master's offset minus the new master's, last seen while both were linked.
    pub offset_loss: Option<u64>,
    /// When the switch was seen.
    pub at: DateTime<Utc>,
}

/// One step as the result reports it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StepFigure {
    /// Step id.
    pub id: u64,
    /// Preview title.
    pub title: String,
    /// Status label (`done`, `skipped`, ...).
    pub status: String,
    /// Seconds from its (last) execution start, or proposal, to its end.
    pub secs: i64,
}

/// One checklist item's lateness at mitigation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ChecklistLateness {
    /// Item id.
    pub item: String,
    /// Item text.
    pub text: String,
    /// When it was (next) due.
    pub due: DateTime<Utc>,
    /// When it was done (`None`: not done by mitigation).
    pub done: Option<DateTime<Utc>>,
    /// Seconds late (done or, if not done, mitigation minus due); negative: early.
    pub late_secs: i64,
}

/// What a recovery measured: the details of the `drill-result` / `recovery-result` entry.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RecoveryResult {
    /// The injected fault (drill scenario), if known.
    pub fault: Option<String>,
    /// When the fault was injected (drill).
    pub fault_injected_at: Option<String>,
    /// First degraded or failing snapshot.
    pub detected_at: String,
    /// The verdict's reasons then.
    pub detected_because: Vec<String>,
    /// First step confirmed.
    pub first_action_at: Option<String>,
    /// Mitigation: when the verdict began to hold (it then held for the settle period).
    pub mitigated_at: String,
    /// The settle period it held for, in seconds.
    pub settle_secs: u64,
    /// Earlier mitigations withdrawn before this one (the estate failed again).
    pub withdrawals: u32,
    /// What the verdict still listed at mitigation (lost redundancy), and what is expected down.
    pub remaining: Vec<String>,
    /// What is expected to stay down.
    pub expected_down: Vec<String>,
    /// Recovery time: mitigated minus injected (drill) or minus detected (live), in seconds.
    pub rto_secs: f64,
    /// What the RTO counts from: `fault_injected` or `detected`.
    pub rto_from: &'static str,
    /// PostgreSQL bytes lost (`None`: no other primary wrote, or an LSN is unknown).
    pub data_loss_bytes: Option<u64>,
    /// The PostgreSQL switch with the largest loss.
    pub postgres: Option<PgSwitch>,
    /// Redis offset lost across the master switch.
    pub redis_offset_loss: Option<u64>,
    /// The Redis master switch.
    pub redis: Option<RedisSwitch>,
    /// `[drill] rto_target_secs`.
    pub rto_target_secs: Option<u64>,
    /// Whether the RTO met the target (`None` without a target).
    pub target_met: Option<bool>,
    /// Every step.
    pub steps: Vec<StepFigure>,
    /// Scheduled checklist items with their lateness (not-done items only once overdue).
    pub checklist: Vec<ChecklistLateness>,
}

/// What one observation changed about mitigation.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// Mitigation was reached (after the settle period): the result to log.
    Mitigated(Box<RecoveryResult>),
    /// Mitigation was withdrawn: the estate failed again, for these reasons.
    Withdrawn(Vec<String>),
}

/// The recovery tracker kept in [`Domain`].
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Recovery {
    /// The injected fault (drill scenario name).
    pub fault: Option<String>,
    /// When the fault is (or was) injected, given by the drill estate at start.
    pub fault_injected_at: Option<DateTime<Utc>>,
    /// First degraded or failing snapshot, with the reasons.
    pub detected: Option<(DateTime<Utc>, Vec<String>)>,
    /// First step confirmed at or after the start.
    pub first_action_at: Option<DateTime<Utc>>,
    /// Since when the verdict holds (mitigation once it held for the settle period).
    pub holding_since: Option<DateTime<Utc>>,
    /// When the current mitigation began (`None`: not mitigated, or withdrawn).
    pub mitigated_at: Option<DateTime<Utc>>,
    /// How many mitigations were withdrawn.
    pub withdrawals: u32,
    /// The PostgreSQL switch measured so far (largest loss).
    pub pg_switch: Option<PgSwitch>,
    /// Total PostgreSQL loss across every primary that lost writes.
    pub pg_loss: Option<u64>,
    /// The first Redis master switch after the start.
    pub redis_switch: Option<RedisSwitch>,
    /// The result of the current mitigation (`None` while not mitigated).
    pub result: Option<RecoveryResult>,
    /// The verdict level last logged (`verdict` entries are written on change).
    pub logged_level: Option<Level>,
    /// The drill clock: the RTO excludes the paused intervals.
    pub clock: crate::incident::drill_clock::DrillClock,
    pg: PgTrack,
    redis_master: Option<String>,
    redis_lag: BTreeMap<String, u64>,
}

fn rfc3339(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Millis, true)
}

impl Recovery {
    /// A tracker for a drill whose fault `fault` is injected at `at`.
    pub fn drill(fault: &str, at: Option<DateTime<Utc>>) -> Recovery {
        Recovery { fault: Some(fault.to_string()), fault_injected_at: at, ..Recovery::default() }
    }

    /// Feed snapshots of the estate before the fault struck, without starting the measurement:
    /// for a drill observed only from past its fault (`warroom exec --drill`), so the primary
    /// and the Redis master before the fault are known and their switch is measured.
    pub fn prime(&mut self, before: &Observed) {
        if let Some(db) = before.database.fresh_value() {
            self.pg.observe(db, false);
        }
        self.track_redis(before, false, Utc::now());
    }

    /// When measurement starts: fault injection, else detection (`None` before either).
    pub fn start(&self, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
        match self.fault_injected_at {
            Some(at) if at <= now => Some(at),
            Some(_) => None,
            None => self.detected.as_ref().map(|d| d.0),
        }
    }

    /// Feed the current snapshots, their verdict and the steps at `now`. Returns what changed
    /// about mitigation: reached (once per mitigation) or withdrawn.
    pub fn observe(
        &mut self,
        observed: &Observed,
        verdict: &Verdict,
        steps: &[StepRun],
        checklist: &Checklist,
        ctx: &MeasureContext,
        now: DateTime<Utc>,
    ) -> Option<Outcome> {
        let injected = self.fault_injected_at.is_none_or(|at| at <= now);
        if self.detected.is_none() && injected && matches!(verdict.level, Level::Degraded | Level::Failing) {
            self.detected = Some((now, verdict.reasons.clone()));
        }
        let started = self.start(now).is_some();
        self.track_postgres(observed, started, now);
        self.track_redis(observed, started, now);
        let start = self.start(now)?;
        if self.first_action_at.is_none() {
            self.first_action_at = steps.iter().filter_map(|s| s.started_at).filter(|t| *t >= start).min();
        }
        let split = observed.database.fresh_value().is_some_and(|d| d.split_brain());
        if self.mitigated_at.is_some() {
            if split || !(verdict.restored || verdict.level == Level::Unknown) {
                self.mitigated_at = None;
                self.result = None;
                self.holding_since = None;
                self.withdrawals += 1;
                return Some(Outcome::Withdrawn(verdict.reasons.clone()));
            }
            return None;
        }
        let busy = ctx.runbook_active
            || steps.iter().any(|s| {
                matches!(
                    s.status,
                    StepStatus::Failed { .. }
                        | StepStatus::Executing
                        | StepStatus::Verifying
                        | StepStatus::OutcomeUnknown
                )
            });
        let verified =
            steps.iter().any(|s| s.status == StepStatus::Done && s.finished_at.is_some_and(|t| t >= start));
        if self.detected.is_none() || busy || !verified || split || !verdict.restored {
            self.holding_since = None;
            return None;
        }
        let since = *self.holding_since.get_or_insert(now);
        if now - since < Duration::seconds(ctx.settle_secs as i64) {
            return None;
        }
        self.mitigated_at = Some(since);
        let result = self.result(start, since, verdict, steps, checklist, ctx);
        self.result = Some(result.clone());
        Some(Outcome::Mitigated(Box::new(result)))
    }

    fn track_postgres(&mut self, observed: &Observed, started: bool, now: DateTime<Utc>) {
        let Some(db) = observed.database.fresh_value() else { return };
        self.pg.observe(db, started);
        if !started {
            return;
        }
        let Some(p) = db.primary() else { return };
        if let Some((sw, total)) = self.pg.switch(&p.name, now) {
            let at =
                self.pg_switch.as_ref().filter(|o| o.new_primary == sw.new_primary).map_or(now, |o| o.at);
            self.pg_switch = Some(PgSwitch { at, ..sw });
            self.pg_loss = total;
        }
    }

    fn track_redis(&mut self, observed: &Observed, started: bool, now: DateTime<Utc>) {
        let Some(s) = observed.sentinel.fresh_value() else { return };
        let Some(master) = s.agreed_master() else { return };
        match &self.redis_master {
            Some(old) if old != master => {
                if started && self.redis_switch.is_none() {
                    self.redis_switch = Some(RedisSwitch {
                        old_master: old.clone(),
                        new_master: master.to_string(),
                        offset_loss: self.redis_lag.get(master).copied(),
                        at: now,
                    });
                }
                self.redis_lag.clear();
            }
            _ => {}
        }
        self.redis_master = Some(master.to_string());
        if s.master_role.as_deref() == Some("master") {
            for r in s.replicas.iter().filter(|r| r.link_up) {
                if let Some(lag) = r.offset_lag {
                    self.redis_lag.insert(r.addr.clone(), lag);
                }
            }
        }
    }

    fn result(
        &self,
        start: DateTime<Utc>,
        at: DateTime<Utc>,
        verdict: &Verdict,
        steps: &[StepRun],
        checklist: &Checklist,
        ctx: &MeasureContext,
    ) -> RecoveryResult {
        let (detected_at, detected_because) = self.detected.clone().unwrap_or((start, Vec::new()));
        let from_fault = ctx.mode == Mode::Drill && self.fault_injected_at.is_some();
        let origin = if from_fault { start } else { detected_at };
        // A drill's fault time is a drill instant (scheduled from the start): count to the drill
        // instant of mitigation, whatever was paused before or after the fault.
        let rto =
            if from_fault { self.clock.drill_time(at) - origin } else { self.clock.elapsed(origin, at) };
        let rto_secs = rto.num_milliseconds() as f64 / 1000.0;
        RecoveryResult {
            fault: self.fault.clone(),
            fault_injected_at: self.fault_injected_at.map(rfc3339),
            detected_at: rfc3339(detected_at),
            detected_because,
            first_action_at: self.first_action_at.map(rfc3339),
            mitigated_at: rfc3339(at),
            settle_secs: ctx.settle_secs,
            withdrawals: self.withdrawals,
            remaining: verdict.reasons.clone(),
            expected_down: verdict.expected_down.clone(),
            rto_secs,
            rto_from: if from_fault { "fault_injected" } else { "detected" },
            data_loss_bytes: self.pg_switch.as_ref().and(self.pg_loss),
            postgres: self.pg_switch.clone(),
            redis_offset_loss: self.redis_switch.as_ref().and_then(|r| r.offset_loss),
            redis: self.redis_switch.clone(),
            rto_target_secs: ctx.rto_target_secs,
            target_met: ctx.rto_target_secs.map(|t| rto_secs <= t as f64),
            steps: steps
                .iter()
                .map(|s| StepFigure {
                    id: s.id,
                    title: s.preview.title.clone(),
                    status: s.status.label().to_string(),
                    secs: s.elapsed_secs(at),
                })
                .collect(),
            checklist: lateness(
                checklist,
                ctx.declared_at + self.clock.paused_between(ctx.declared_at, at),
                at,
            ),
        }
    }
}

/// What the tracker needs from the incident besides snapshots and steps.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MeasureContext {
    /// Live or drill (drills count the RTO from the fault).
    pub mode: Mode,
    /// T+0 (checklist due times).
    pub declared_at: DateTime<Utc>,
    /// `[drill] rto_target_secs`.
    pub rto_target_secs: Option<u64>,
    /// `[drill] settle_secs`.
    pub settle_secs: u64,
    /// A runbook is running (its last verify has not passed: the verdict does not hold).
    pub runbook_active: bool,
}

/// Scheduled items: one-off items with their due and done times; recurring items only when
/// their next posting is overdue at `now`.
pub fn lateness(checklist: &Checklist, t0: DateTime<Utc>, now: DateTime<Utc>) -> Vec<ChecklistLateness> {
    let mut out = Vec::new();
    for item in &checklist.items {
        let (due, done) = match &item.due {
            Due::By(d) => (t0 + *d, item.done.as_ref().map(|(at, _)| *at)),
            Due::Every { .. } => match Checklist::due_at(item, t0) {
                Some(due) if due <= now => (due, None),
                _ => continue,
            },
            Due::Unscheduled => continue,
        };
        if done.is_none() && due > now {
            continue;
        }
        let late_secs = (done.unwrap_or(now) - due).num_seconds();
        out.push(ChecklistLateness { item: item.id.clone(), text: item.text.clone(), due, done, late_secs });
    }
    out
}

/// One line for the log summary.
pub fn summary(r: &RecoveryResult) -> String {
    let target = match (r.rto_target_secs, r.target_met) {
        (Some(t), Some(true)) => format!(" (target {t} s: met)"),
        (Some(t), _) => format!(" (target {t} s: missed by {:.1} s)", r.rto_secs - t as f64),
        _ => String::new(),
    };
    let loss = match (r.data_loss_bytes, &r.postgres) {
        (Some(b), _) => format!("data loss {b} B"),
        (None, Some(_)) => "data loss unknown (LSNs not seen)".into(),
        (None, None) => "no PostgreSQL primary switch".into(),
    };
    let redis = r.redis_offset_loss.map_or(String::new(), |o| format!(", Redis offset loss {o}"));
    format!("recovered: RTO {:.1} s{target}, {loss}{redis} (held {} s)", r.rto_secs, r.settle_secs)
}

/// The verdict of `domain`'s snapshots, recomputed only when a snapshot changed.
pub fn refresh_verdict(domain: &mut Domain) {
    let o = &domain.observed;
    let same = domain.verdict_of.as_ref().is_some_and(|k| {
        Arc::ptr_eq(&k.kube, &o.kube)
            && Arc::ptr_eq(&k.database, &o.database)
            && Arc::ptr_eq(&k.sentinel, &o.sentinel)
            && Arc::ptr_eq(&k.traffic, &o.traffic)
    });
    if !same {
        domain.verdict = verdict_of(o, &domain.config);
        domain.verdict_of = Some(o.clone());
    }
}

/// Refresh `domain.verdict`, log a change of its level, feed the tracker at `domain.now` and log
/// mitigation (result) or its withdrawal. Called by [`super::update`] after every action.
pub fn track(domain: &mut Domain, fx: &mut Vec<Effect>) {
    refresh_verdict(domain);
    log_level_change(domain, fx);
    if domain.recovery.clock != domain.facilitation.clock {
        domain.recovery.clock = domain.facilitation.clock.clone();
    }
    let ctx = MeasureContext {
        mode: domain.mode,
        declared_at: domain.incident.declared_at,
        rto_target_secs: domain.config.drill.rto_target_secs,
        settle_secs: domain.config.drill.settle_secs(),
        runbook_active: domain.runbook.as_ref().is_some_and(|r| r.active()),
    };
    let outcome = domain.recovery.observe(
        &domain.observed,
        &domain.verdict,
        &domain.steps,
        &domain.checklist,
        &ctx,
        domain.now,
    );
    match outcome {
        None => {}
        Some(Outcome::Mitigated(result)) => {
            let kind =
                if domain.mode == Mode::Drill { EntryKind::DrillResult } else { EntryKind::RecoveryResult };
            // Plain structs with string keys always serialize.
            let details = serde_json::to_value(&result).unwrap_or_default();
            log(domain, fx, kind, summary(&result), details);
        }
        Some(Outcome::Withdrawn(reasons)) => {
            let first = reasons.first().cloned().unwrap_or_else(|| "split brain".into());
            log(
                domain,
                fx,
                EntryKind::MitigationWithdrawn,
                format!("mitigation withdrawn: the estate failed again: {first}"),
                json!({ "reasons": reasons, "level": domain.verdict.level, "withdrawals": domain.recovery.withdrawals }),
            );
            fx.push(Effect::Bell);
        }
    }
}

/// A `verdict` entry when the level changes to a known one, in drills (the history says why a
/// drill was not mitigated from the last one); read-only consoles write nothing.
fn log_level_change(domain: &mut Domain, fx: &mut Vec<Effect>) {
    let level = domain.verdict.level;
    if domain.mode != Mode::Drill
        || domain.read_only
        || level == Level::Unknown
        || domain.recovery.logged_level == Some(level)
    {
        return;
    }
    domain.recovery.logged_level = Some(level);
    let v = &domain.verdict;
    let summary = match v.first_reason() {
        Some(r) => format!("verdict: {} ({r})", level.label()),
        None => format!("verdict: {}", level.label()),
    };
    let details = json!({ "level": level, "reasons": v.reasons, "expected_down": v.expected_down });
    log(domain, fx, EntryKind::Verdict, summary, details);
}
