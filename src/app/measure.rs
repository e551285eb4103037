//! Recovery measurement: the [`Recovery`] tracker records when the fault was injected (drill)
//! or detected, the first confirmed step, and mitigation, plus data consistency across the
//! failover (PostgreSQL LSNs, Redis replication offsets). When mitigation is reached the core
//! logs ONE `drill-result` (drill) or `recovery-result` (live) entry with the figures.
//!
//! Pure: fed from [`super::update`] through [`track`] after every action, with the action's `now`.
//!
//! Definitions (all instants are the `now` of the action at which they were first observed):
//! - *start*: the fault injection time (drill, given by the estate) or else detection.
//! - *detected*: the first snapshot in which [`estate_health`] is unhealthy.
//! - *first action*: the first step confirmed at or after the start.
//! - *mitigated*: the first moment after detection when a step has been verified since the
//!   start, no step is failed, executing, verifying or of unknown outcome, and the estate is
//!   healthy again.
//! - *PostgreSQL data loss*: the last LSN seen on the single writable primary before another
//!   node became the single writable primary, minus that node's LSN when it took over (its last
//!   LSN seen as a replica, else its first as primary), floored at 0. LSNs between two polls are
//!   not seen, so this is a lower bound.
//! - *Redis offset loss*: the new master's replication offset lag behind the old master the
//!   last time both were seen linked (old offset minus new offset at the switch).

mod health;
#[cfg(test)]
mod tests;

use std::collections::BTreeMap;

use chrono::{DateTime, SecondsFormat, Utc};
use serde::Serialize;

pub use health::{Health, estate_health};

use super::effect::Effect;
use super::pipeline::log;
use super::state::{Mode, State};
use super::step::{StepRun, StepStatus};
use crate::backends::Observed;
use crate::backends::model::PgRole;
use crate::incident::checklist::{Checklist, Due};

/// The writable PostgreSQL primary changed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PgSwitch {
    /// The primary before.
    pub old_primary: String,
    /// Its last LSN seen while it was the writable primary.
    pub old_lsn: Option<u64>,
    /// The node that took over.
    pub new_primary: String,
    /// Its LSN when it took over.
    pub new_lsn: Option<u64>,
    /// When the switch was seen.
    pub at: DateTime<Utc>,
}

impl PgSwitch {
    /// Bytes written on the old primary that the new one never received (0 when none).
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
    /// First unhealthy snapshot.
    pub detected_at: String,
    /// Why the estate was judged unhealthy then.
    pub detected_because: Vec<String>,
    /// First step confirmed.
    pub first_action_at: Option<String>,
    /// Mitigation.
    pub mitigated_at: String,
    /// Recovery time: mitigated minus injected (drill) or minus detected (live), in seconds.
    pub rto_secs: f64,
    /// What the RTO counts from: `fault_injected` or `detected`.
    pub rto_from: &'static str,
    /// PostgreSQL bytes lost across the primary switch (`None`: no switch, or LSNs unknown).
    pub data_loss_bytes: Option<u64>,
    /// The PostgreSQL primary switch.
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

/// The recovery tracker kept in [`State`].
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Recovery {
    /// The injected fault (drill scenario name).
    pub fault: Option<String>,
    /// When the fault is (or was) injected, given by the drill estate at start.
    pub fault_injected_at: Option<DateTime<Utc>>,
    /// First unhealthy snapshot, with the reasons.
    pub detected: Option<(DateTime<Utc>, Vec<String>)>,
    /// First step confirmed at or after the start.
    pub first_action_at: Option<DateTime<Utc>>,
    /// When mitigation was reached.
    pub mitigated_at: Option<DateTime<Utc>>,
    /// The first PostgreSQL primary switch after the start.
    pub pg_switch: Option<PgSwitch>,
    /// The first Redis master switch after the start.
    pub redis_switch: Option<RedisSwitch>,
    /// The result, once mitigation was reached (logged once).
    pub result: Option<RecoveryResult>,
    last_primary: Option<(String, Option<u64>)>,
    replica_lsn: BTreeMap<String, u64>,
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

    /// When measurement starts: fault injection, else detection (`None` before either).
    pub fn start(&self, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
        match self.fault_injected_at {
            Some(at) if at <= now => Some(at),
            Some(_) => None,
            None => self.detected.as_ref().map(|d| d.0),
        }
    }

    /// Feed the current snapshots and steps at `now`. Returns the result exactly once, when
    /// mitigation is reached.
    pub fn observe(
        &mut self,
        observed: &Observed,
        steps: &[StepRun],
        checklist: &Checklist,
        ctx: &MeasureContext,
        now: DateTime<Utc>,
    ) -> Option<RecoveryResult> {
        if self.result.is_some() {
            return None;
        }
        let health = estate_health(observed);
        if self.detected.is_none()
            && let Health::Unhealthy(reasons) = &health
        {
            self.detected = Some((now, reasons.clone()));
        }
        let started = self.start(now).is_some();
        self.track_postgres(observed, started, now);
        self.track_redis(observed, started, now);
        let start = self.start(now)?;
        if self.first_action_at.is_none() {
            self.first_action_at = steps.iter().filter_map(|s| s.started_at).filter(|t| *t >= start).min();
        }
        let busy = steps.iter().any(|s| {
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
        if self.detected.is_none() || busy || !verified || health != Health::Healthy {
            return None;
        }
        self.mitigated_at = Some(now);
        let result = self.result(start, steps, checklist, ctx, now);
        self.result = Some(result.clone());
        Some(result)
    }

    fn track_postgres(&mut self, observed: &Observed, started: bool, now: DateTime<Utc>) {
        let Some(db) = observed.database.fresh_value() else { return };
        for n in db.nodes.iter().filter(|n| n.role == PgRole::Replica) {
            if let Some(lsn) = n.lsn {
                self.replica_lsn.insert(n.name.clone(), lsn);
            }
        }
        let Some(p) = db.primary() else { return };
        match &mut self.last_primary {
            Some((name, lsn)) if *name == p.name => *lsn = p.lsn.or(*lsn),
            Some((old, old_lsn)) => {
                if started && self.pg_switch.is_none() {
                    self.pg_switch = Some(PgSwitch {
                        old_primary: old.clone(),
                        old_lsn: *old_lsn,
                        new_primary: p.name.clone(),
                        new_lsn: self.replica_lsn.get(&p.name).copied().or(p.lsn),
                        at: now,
                    });
                }
                self.last_primary = Some((p.name.clone(), p.lsn));
            }
            None => self.last_primary = Some((p.name.clone(), p.lsn)),
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
        steps: &[StepRun],
        checklist: &Checklist,
        ctx: &MeasureContext,
        now: DateTime<Utc>,
    ) -> RecoveryResult {
        let (detected_at, detected_because) = self.detected.clone().unwrap_or((start, Vec::new()));
        let from_fault = ctx.mode == Mode::Drill && self.fault_injected_at.is_some();
        let origin = if from_fault { start } else { detected_at };
        let rto_secs = (now - origin).num_milliseconds() as f64 / 1000.0;
        RecoveryResult {
            fault: self.fault.clone(),
            fault_injected_at: self.fault_injected_at.map(rfc3339),
            detected_at: rfc3339(detected_at),
            detected_because,
            first_action_at: self.first_action_at.map(rfc3339),
            mitigated_at: rfc3339(now),
            rto_secs,
            rto_from: if from_fault { "fault_injected" } else { "detected" },
            data_loss_bytes: self.pg_switch.as_ref().and_then(PgSwitch::loss_bytes),
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
                    secs: s.elapsed_secs(now),
                })
                .collect(),
            checklist: lateness(checklist, ctx.declared_at, now),
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
    format!("recovered: RTO {:.1} s{target}, {loss}{redis}", r.rto_secs)
}

/// Feed the tracker in `state` at `state.now`; log the result entry once mitigation is reached.
/// Called by [`super::update`] after every action.
pub fn track(state: &mut State, fx: &mut Vec<Effect>) {
    // A runbook still running is not mitigated yet: its last verify has not passed.
    if state.runbook.as_ref().is_some_and(|r| r.active()) {
        return;
    }
    let ctx = MeasureContext {
        mode: state.mode,
        declared_at: state.incident.declared_at,
        rto_target_secs: state.config.drill.rto_target_secs,
    };
    let Some(result) =
        state.recovery.observe(&state.observed, &state.steps, &state.checklist, &ctx, state.now)
    else {
        return;
    };
    let kind = if state.mode == Mode::Drill { "drill-result" } else { "recovery-result" };
    // Plain structs with string keys always serialize.
    let details = serde_json::to_value(&result).unwrap_or_default();
    log(state, fx, kind, summary(&result), details);
}
