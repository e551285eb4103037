//! A drill estate rebuilt after its host exited: the scenario from its original start, with the
//! operations that succeeded applied again at the moments they took effect, brought up to now.
//! Not bit-identical to the lost estate (the random draws differ), but the same story: the fault
//! struck when it did, a fault a facilitator injected strikes again when it did, a promoted
//! replica is still the primary, moved traffic stays moved.

use std::time::Duration;

use chrono::{DateTime, Utc};
use tokio::time::Instant;

use super::scenario::{FaultDef, ScenarioDef};
use super::{Clocked, DrillEstate, Sim};
use crate::operation::Operation;

impl DrillEstate {
    /// `scenario` at `speed`, seeded by `seed`, whose sim time 0 was wall time `origin`, with
    /// `ops` (wall time it took effect, operation) applied in order. Returns the estate and, per
    /// operation the estate refuses now, why.
    pub fn replay(
        scenario: &str,
        speed: f64,
        seed: u64,
        origin: DateTime<Utc>,
        ops: &[(DateTime<Utc>, Operation)],
    ) -> Result<(DrillEstate, Vec<String>), String> {
        let def = super::scenario::registry::find(scenario, None)?;
        DrillEstate::replay_def(def, speed, seed, origin, ops)
    }

    /// [`DrillEstate::replay`] of the scenario `def` (a built-in or a user file).
    pub fn replay_def(
        def: ScenarioDef,
        speed: f64,
        seed: u64,
        origin: DateTime<Utc>,
        ops: &[(DateTime<Utc>, Operation)],
    ) -> Result<(DrillEstate, Vec<String>), String> {
        let events: Vec<(DateTime<Utc>, Replayed)> =
            ops.iter().map(|(at, op)| (*at, Replayed::Op(op.clone()))).collect();
        DrillEstate::replay_paused(def, speed, seed, origin, &events, &Pauses::none())
    }

    /// [`DrillEstate::replay_def`] of a drill a facilitator may have paused and struck: sim time
    /// counts drill time only, the wall mapping is shifted by the pauses, an estate paused now
    /// stays paused, and `events` (operations that took effect, faults injected; in time order)
    /// happen again at their moments.
    pub fn replay_paused(
        def: ScenarioDef,
        speed: f64,
        seed: u64,
        origin: DateTime<Utc>,
        events: &[(DateTime<Utc>, Replayed)],
        pauses: &Pauses<'_>,
    ) -> Result<(DrillEstate, Vec<String>), String> {
        let mut sim = Sim::from_def(def, seed, origin, speed)?;
        let drill = |at: DateTime<Utc>| (pauses.drill_time)(at);
        let sim_at =
            |at: DateTime<Utc>| ((drill(at) - origin).num_milliseconds().max(0) as f64 / 1000.0) * speed;
        let mut refused = Vec::new();
        for (at, event) in events {
            let dt = sim_at(*at) - sim.elapsed().as_secs_f64();
            if dt > 0.0 {
                sim.advance(Duration::from_secs_f64(dt));
            }
            let op = match event {
                Replayed::Op(op) => final_state(op),
                Replayed::Fault(fault) => {
                    sim.inject(fault);
                    continue;
                }
            };
            if let Err(e) = sim.begin(&op).and_then(|took| sim.apply(&op, took)) {
                refused.push(format!("{}: {e}", op.preview().title));
            }
        }
        let now = Utc::now();
        let dt = sim_at(now) - sim.elapsed().as_secs_f64();
        if dt > 0.0 {
            sim.advance(Duration::from_secs_f64(dt));
        }
        // Closed pauses shift the wall mapping now; an open one shifts it on resume.
        let until = pauses.paused_since.unwrap_or(now).min(now);
        sim.shift_wall(until - drill(until));
        let synced = Instant::now();
        let paused = pauses.paused_since.map(|p| {
            let ago = (now - p).to_std().unwrap_or_default();
            synced.checked_sub(ago).unwrap_or(synced)
        });
        let inner = std::sync::Arc::new(std::sync::Mutex::new(Clocked { sim, synced, paused }));
        Ok((DrillEstate { inner, speed }, refused))
    }
}

/// Something that happened to a drill estate and happens again when it is re-hosted.
#[derive(Debug, Clone, PartialEq)]
pub enum Replayed {
    /// An operation that took effect.
    Op(Operation),
    /// A fault the facilitator injected.
    Fault(FaultDef),
}

/// The pauses of a drill, as a re-hosting console knows them from its log.
pub struct Pauses<'a> {
    /// Wall instant to drill instant (minus every pause before it).
    pub drill_time: &'a dyn Fn(DateTime<Utc>) -> DateTime<Utc>,
    /// Paused since then, and not resumed.
    pub paused_since: Option<DateTime<Utc>>,
}

impl Pauses<'_> {
    /// A drill never paused.
    pub fn none() -> Pauses<'static> {
        Pauses { drill_time: &|t| t, paused_since: None }
    }
}

/// A staged traffic shift is replayed as its end state.
fn final_state(op: &Operation) -> Operation {
    match op {
        Operation::ShiftTraffic { zone, record, endpoint, stages, .. } => Operation::SetRoute53Weights {
            zone: zone.clone(),
            record: record.clone(),
            endpoint: endpoint.clone(),
            weights: stages.last().cloned().unwrap_or_default(),
        },
        other => other.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backends::model::PgRole;

    #[tokio::test(start_paused = true)]
    async fn a_replayed_paused_drill_counts_drill_time_only_and_stays_paused() {
        let origin = Utc::now() - chrono::Duration::seconds(100);
        let pause = origin + chrono::Duration::seconds(20);
        let def = || crate::backends::drill::scenario::registry::find("calm", None).unwrap();
        // Paused from 20 s to 60 s, then again from 90 s on: 50 s of drill time so far.
        let resumed = origin + chrono::Duration::seconds(60);
        let again = origin + chrono::Duration::seconds(90);
        let drill_time = move |t: DateTime<Utc>| {
            let closed = (t.min(resumed) - t.min(pause)).max(chrono::Duration::zero());
            let open = (t - t.min(again)).max(chrono::Duration::zero());
            t - closed - open
        };
        let pauses = Pauses { drill_time: &drill_time, paused_since: Some(again) };
        let (e, _) = DrillEstate::replay_paused(def(), 1.0, 1, origin, &[], &pauses).unwrap();
        let t = e.sim_elapsed().as_secs_f64();
        assert!((t - 50.0).abs() < 0.2, "sim time is drill time: {t}");
        assert!(e.is_paused(), "the drill is still paused");
        tokio::time::advance(Duration::from_secs(5)).await;
        assert_eq!(e.sim_elapsed().as_secs_f64(), t, "nothing advances while paused");
        let now_wall = e.with(|s| s.now());
        let shift = (now_wall - (origin + chrono::Duration::milliseconds((t * 1000.0) as i64))).num_seconds();
        assert_eq!(shift, 40, "the closed pause shifts the wall mapping");
        let paused_for = e.resume().expect("was paused");
        assert!(
            paused_for >= Duration::from_secs(14),
            "the open pause counts from when it began: {paused_for:?}"
        );
    }

    #[test]
    fn a_replayed_primary_db_down_drill_keeps_its_fault_time_and_the_promotion() {
        let origin = Utc::now() - chrono::Duration::seconds(60);
        let first = DrillEstate::replay("primary-db-down", 2.0, 1, origin, &[]).expect("estate").0;
        let fault = first.fault_injected_at().expect("the fault struck in the first minute");
        assert!(fault > origin && fault < origin + chrono::Duration::seconds(60), "{fault}");
        let addr = first.with(|s| s.db.nodes[1].spec.addr());
        let promote = Operation::PromotePostgres {
            node: "postgresql-1".into(),
            endpoint: addr,
            max_lag_bytes: 1 << 30,
            accept_data_loss: Some(1 << 30),
        };
        let at = origin + chrono::Duration::seconds(40);
        let (again, refused) =
            DrillEstate::replay("primary-db-down", 2.0, 1, origin, &[(at, promote.clone())]).expect("estate");
        assert!(refused.is_empty(), "{refused:?}");
        assert_eq!(again.fault_injected_at(), Some(fault), "the fault struck when it did the first time");
        let role = again.with(|s| s.database_view()).node("postgresql-1").map(|n| n.role);
        assert_eq!(role, Some(PgRole::Primary), "the promotion is kept");
        // An operation the estate refuses is reported, not hidden.
        let (_, refused) = DrillEstate::replay(
            "primary-db-down",
            2.0,
            1,
            origin,
            &[(at, promote.clone()), (at + chrono::Duration::seconds(1), promote)],
        )
        .expect("estate");
        assert_eq!(refused.len(), 1, "{refused:?}");
        assert!(refused[0].contains("already a primary"), "{refused:?}");
    }

    /// A fault the facilitator injected strikes the re-hosted estate again, at its moment.
    #[test]
    fn a_replayed_drill_strikes_the_injected_fault_again() {
        let origin = Utc::now() - chrono::Duration::seconds(60);
        let def = || crate::backends::drill::scenario::registry::find("calm", None).unwrap();
        let kind = crate::backends::drill::scenario::FaultKind::NodeCrash;
        let fault = FaultDef::now(kind, Some("postgresql-0".into()), None, None);
        let role = |e: &DrillEstate| e.with(|s| s.database_view()).node("postgresql-0").map(|n| n.role);
        let at = origin + chrono::Duration::seconds(30);
        let (calm, _) = DrillEstate::replay_paused(def(), 1.0, 1, origin, &[], &Pauses::none()).unwrap();
        assert_eq!(role(&calm), Some(PgRole::Primary), "calm has a healthy primary");
        let events = [(at, Replayed::Fault(fault))];
        let (struck, refused) =
            DrillEstate::replay_paused(def(), 1.0, 1, origin, &events, &Pauses::none()).unwrap();
        assert!(refused.is_empty(), "{refused:?}");
        assert_eq!(role(&struck), Some(PgRole::Down), "the injected crash strikes again");
        let when = struck.fault_injected_at().expect("the fault is known to the estate");
        assert!((when - at).num_milliseconds().abs() <= 200, "at its moment: {when} vs {at}");
    }
}
