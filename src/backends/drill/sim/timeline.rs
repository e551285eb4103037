//! When each fault of the scenario strikes and clears: its trigger (`at`, `after-op`,
//! `after-fault`, `traffic-to`) plus `delay`, then `returns-after`.

use super::Sim;
use crate::backends::drill::scenario::FaultDef;
use crate::operation::kind::OpKind;
use crate::operation::traffic::target_percent;

/// One fault and how far it got.
#[derive(Debug, Clone)]
struct Slot {
    def: FaultDef,
    /// Sim time its condition first held (`traffic-to`).
    armed: Option<f64>,
    /// Sim time it struck.
    struck: Option<f64>,
    /// Its cause cleared (`returns-after`).
    cleared: bool,
}

/// The scenario's faults and the operations seen so far.
#[derive(Debug, Clone, Default)]
pub(super) struct Timeline {
    slots: Vec<Slot>,
    /// First successful execution of each operation kind (sim time).
    ops: Vec<(OpKind, f64)>,
}

impl Timeline {
    pub(super) fn new(faults: &[FaultDef]) -> Timeline {
        Timeline { slots: faults.iter().cloned().map(slot).collect(), ops: Vec::new() }
    }

    /// Add a fault that strikes now (its trigger is ignored); returns its index.
    pub(super) fn push(&mut self, def: FaultDef) -> usize {
        self.slots.push(slot(def));
        self.slots.len() - 1
    }

    pub(super) fn def(&self, i: usize) -> &FaultDef {
        &self.slots[i].def
    }

    /// When the first fault struck.
    pub(super) fn first_struck(&self) -> Option<f64> {
        self.slots.iter().filter_map(|s| s.struck).reduce(f64::min)
    }

    /// Note that an operation of `kind` was executed at `now` (the first time counts).
    pub(super) fn note_op(&mut self, kind: OpKind, now: f64) {
        if !self.ops.iter().any(|(k, _)| *k == kind) {
            self.ops.push((kind, now));
        }
    }

    fn op_at(&self, kind: OpKind) -> Option<f64> {
        // Promoting through the exec API is a promotion too.
        let same = |k: OpKind| k == kind || (kind == OpKind::Promote && k == OpKind::ExecPromote);
        self.ops.iter().filter(|(k, _)| same(*k)).map(|(_, t)| *t).reduce(f64::min)
    }

    fn struck_named(&self, id: &str) -> Option<f64> {
        self.slots.iter().find(|s| s.def.id.as_deref() == Some(id)).and_then(|s| s.struck)
    }
}

fn slot(def: FaultDef) -> Slot {
    Slot { def, armed: None, struck: None, cleared: false }
}

impl Sim {
    /// Strike every fault whose trigger (plus delay) holds at `now`, and clear every struck
    /// fault whose `returns-after` has passed. Faults are visited in file order, so a chain of
    /// `after-fault` strikes in one tick when its delays are zero.
    pub(super) fn faults(&mut self, now: f64) {
        for i in 0..self.timeline.slots.len() {
            let s = &self.timeline.slots[i];
            match s.struck {
                None => {
                    if self.due(i, now).is_some_and(|due| now >= due) {
                        self.timeline.slots[i].struck = Some(now);
                        self.strike(i, now);
                    }
                }
                Some(at) if !s.cleared => {
                    if s.def.returns_after.is_some_and(|r| now >= at + r.as_secs_f64()) {
                        self.timeline.slots[i].cleared = true;
                        self.clear(i, now);
                    }
                }
                Some(_) => {}
            }
        }
    }

    /// When fault `i` is due, once its condition has held (`None` before).
    fn due(&mut self, i: usize, now: f64) -> Option<f64> {
        let def = &self.timeline.slots[i].def;
        let delay = def.delay.map_or(0.0, |d| d.as_secs_f64());
        if let Some(at) = def.at {
            return Some(at.as_secs_f64());
        }
        let held = if let Some(kind) = def.after_op {
            self.timeline.op_at(kind)
        } else if let Some(id) = &def.after_fault {
            self.timeline.struck_named(id)
        } else if let Some(region) = def.traffic_to.clone() {
            if self.timeline.slots[i].armed.is_none() && self.traffic_majority(&region) {
                self.timeline.slots[i].armed = Some(now);
            }
            self.timeline.slots[i].armed
        } else {
            None
        };
        held.map(|t| t + delay)
    }

    /// Whether the Route 53 weights send most of the traffic to `region`.
    fn traffic_majority(&self, region: &str) -> bool {
        let weights: Vec<(String, u8)> =
            self.traffic.regions.iter().map(|r| (r.name.to_string(), r.weight)).collect();
        target_percent(&weights, region) > 50
    }

    /// Note a successfully executed operation for `after-op` triggers.
    pub(crate) fn note_op(&mut self, kind: OpKind) {
        self.timeline.note_op(kind, self.t);
    }

    /// Mark fault `i` struck now (used by [`Sim::inject`]).
    pub(super) fn mark_struck(&mut self, i: usize, now: f64) {
        self.timeline.slots[i].struck = Some(now);
    }
}
