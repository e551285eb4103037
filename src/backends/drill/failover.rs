//! The Sentinel failover state machine: leader, replica selection, promotion,
//! reconfiguration of the other replicas and the switch propagating to every Sentinel, with
//! the events real Sentinel publishes (`+failover-end` precedes `+switch-master`, as in a
//! real leader's log).
#![allow(clippy::needless_range_loop, reason = "indices are node/Sentinel ids shared by several vectors")]

use super::estate::MASTER_NAME;
use super::kube::Outage;
use super::rng::Rng;
use super::sentinel::{Failover, Redis};

/// Step schedule of a failover, seconds after it started (about 1.2 s in all, as measured).
const STEPS: [f64; 10] = [0.0, 0.05, 0.1, 0.2, 0.3, 0.9, 1.0, 1.1, 1.15, 1.2];
/// A demoted but reachable old master keeps `role:master` this long after a switch.
const CONVERT_AFTER_S: f64 = 10.0;
/// Leader's switch to the other Sentinels learning the new configuration.
const PROPAGATE_S: (f64, f64) = (0.02, 0.1);

impl Redis {
    /// The best replica to promote instead of `from`: reachable, highest offset.
    pub fn candidate(&self, from: usize, up: &[bool]) -> Option<usize> {
        (0..self.nodes.len())
            .filter(|&i| i != from && up[i] && !self.nodes[i].master)
            .max_by(|&a, &b| self.nodes[a].offset.cmp(&self.nodes[b].offset).then(b.cmp(&a)))
    }

    /// Start a failover led by Sentinel `leader` (the caller checked INPROG and the leader).
    pub fn start_failover(&mut self, leader: usize, manual: bool, now: f64) {
        let from = self.sentinels[leader].master;
        self.epoch += 1;
        self.failover = Some(Failover {
            leader,
            from,
            to: None,
            started: now,
            manual,
            step: 0,
            switch_at: vec![None; self.sentinels.len()],
        });
    }

    /// Advance the running failover to `now`: every step whose time has come, then the switch
    /// reaching each Sentinel whose turn it is. The failover ends when both are done.
    pub(super) fn run_failover(&mut self, now: f64, rng: &mut Rng, up: &[bool], out: &Outage) {
        let Some(mut f) = self.failover.clone() else { return };
        while f.step < STEPS.len() && now - f.started >= STEPS[f.step] {
            let at = f.started + STEPS[f.step];
            if !self.failover_step(&mut f, at, rng, up, out) {
                return;
            }
            f.step += 1;
        }
        self.switch_sentinels(&mut f, now);
        let done = f.step == STEPS.len() && f.switch_at.iter().all(Option::is_none);
        self.failover = if done { None } else { Some(f) };
    }

    /// Step `f.step` of the failover, at `at`, with the leader's events; `false` when it
    /// aborted (no replica good enough: the failover is over).
    fn failover_step(&mut self, f: &mut Failover, at: f64, rng: &mut Rng, up: &[bool], out: &Outage) -> bool {
        let l = f.leader;
        let from_text = self.master_text(f.from);
        match f.step {
            0 => {
                self.emit(at, l, "+new-epoch", self.epoch.to_string());
                self.emit(at, l, "+try-failover", from_text);
            }
            1 => self.vote(f, at, out),
            2 => {
                self.emit(at, l, "+elected-leader", from_text.clone());
                self.emit(at, l, "+failover-state-select-slave", from_text);
            }
            3 => return self.select_replica(f, at, up),
            4 => {
                let t = self.slave_text(f.to.unwrap_or(0), f.from);
                self.emit(at, l, "+failover-state-wait-promotion", t);
            }
            5 => {
                let to = f.to.unwrap_or(0);
                self.nodes[to].master = true;
                self.nodes[to].replica_of = None;
                self.nodes[to].convert_at = None;
                let t = self.slave_text(to, f.from);
                self.emit(at, l, "+promoted-slave", t);
                self.emit(at, l, "+failover-state-reconf-slaves", from_text);
            }
            6..=8 => self.reconfigure_replicas(f, at, up),
            _ => self.end_failover(f, at, rng, up, out),
        }
        true
    }

    /// The leader asks for votes: itself alone for a manual failover, else every reachable
    /// Sentinel votes for it.
    fn vote(&mut self, f: &Failover, at: f64, out: &Outage) {
        let l = f.leader;
        let voters: Vec<usize> = if f.manual {
            vec![l]
        } else {
            (0..self.sentinels.len()).filter(|&s| self.sees(l, s, out)).collect()
        };
        for v in voters {
            let detail = format!("{} {}", self.sentinels[l].id, self.epoch);
            self.emit(at, v, "+vote-for-leader", detail);
        }
    }

    /// Pick the replica to promote; `false` (and the failover aborted) when there is none.
    fn select_replica(&mut self, f: &mut Failover, at: f64, up: &[bool]) -> bool {
        let l = f.leader;
        match self.candidate(f.from, up) {
            Some(to) => {
                f.to = Some(to);
                let t = self.slave_text(to, f.from);
                self.emit(at, l, "+selected-slave", t.clone());
                self.emit(at, l, "+failover-state-send-slaveof-noone", t);
                true
            }
            None => {
                let from_text = self.master_text(f.from);
                self.emit(at, l, "-failover-abort-no-good-slave", from_text);
                self.failover = None;
                for s in &mut self.sentinels {
                    s.odown = false;
                }
                false
            }
        }
    }

    /// Steps 6 to 8: the other reachable replicas are sent, working on and done with
    /// `REPLICAOF` the new master (they follow it from step 6).
    fn reconfigure_replicas(&mut self, f: &Failover, at: f64, up: &[bool]) {
        let to = f.to.unwrap_or(0);
        let kind = ["+slave-reconf-sent", "+slave-reconf-inprog", "+slave-reconf-done"][f.step - 6];
        for r in 0..self.nodes.len() {
            if r == to || r == f.from || self.nodes[r].master || !up[r] {
                continue;
            }
            if f.step == 6 {
                self.nodes[r].replica_of = Some(to);
                self.nodes[r].link_up_at = at + 0.3;
            }
            let t = self.slave_text(r, f.from);
            self.emit(at, f.leader, kind, t);
        }
    }

    /// The leader ends the failover: each reachable Sentinel learns the switch a little later
    /// (the leader at once), and a reachable old master is demoted after a while.
    fn end_failover(&mut self, f: &mut Failover, at: f64, rng: &mut Rng, up: &[bool], out: &Outage) {
        let l = f.leader;
        let from_text = self.master_text(f.from);
        self.emit(at, l, "+failover-end", from_text);
        for s in 0..self.sentinels.len() {
            if self.sees(l, s, out) {
                let delay = if s == l { 0.0 } else { rng.range(PROPAGATE_S.0, PROPAGATE_S.1) };
                f.switch_at[s] = Some(at + delay);
            }
        }
        if self.nodes[f.from].master && up[f.from] {
            self.nodes[f.from].convert_at = Some(at + CONVERT_AFTER_S);
        }
    }

    /// Each Sentinel whose switch time has come announces `+switch-master` and follows the new
    /// master.
    fn switch_sentinels(&mut self, f: &mut Failover, now: f64) {
        let Some(to) = f.to else { return };
        for s in 0..self.sentinels.len() {
            if let Some(t) = f.switch_at[s].filter(|t| now >= *t) {
                f.switch_at[s] = None;
                let (o, n) = (self.nodes[f.from].spec, self.nodes[to].spec);
                let detail = format!("{MASTER_NAME} {} {} {} {}", o.host, o.port, n.host, n.port);
                self.emit(t, s, "+switch-master", detail);
                let st = &mut self.sentinels[s];
                st.master = to;
                st.odown = false;
                st.sdown[f.from] = false;
                st.down_since[f.from] = None;
                st.sdown[to] = false;
                self.nodes[to].convert_at = None;
            }
        }
    }
}
