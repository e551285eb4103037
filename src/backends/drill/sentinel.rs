#![allow(clippy::needless_range_loop, reason = "indices are node/Sentinel ids shared by several vectors")]
//! Simulated Redis with three Sentinels: subjective/objective down detection after
//! down-after, leader election and the failover state machine with the event sequence real
//! Sentinel publishes, `SENTINEL FAILOVER` (with INPROG), and an old master that keeps
//! claiming `role:master` until Sentinel converts it. The failover itself is in `failover.rs`.

use std::collections::VecDeque;

use super::estate::{DOWN_AFTER_S, MASTER_NAME, PgSpec, QUORUM, REDIS_NODES, SENTINELS};
use super::kube::{Kube, Outage, Reach};
use super::rng::Rng;
use crate::backends::model::{RedisReplica, SentinelEvent, SentinelObs, SentinelView};

/// Events kept for the pane.
pub const MAX_EVENTS: usize = 50;
/// Replication stream rate on the master, bytes per second.
const OFFSET_RATE: f64 = 40_000.0;

/// One Redis server.
#[derive(Debug, Clone)]
pub struct RedisNode {
    /// Pod name, region, address.
    pub spec: PgSpec,
    /// What the server itself believes: `role:master`.
    pub master: bool,
    /// The master it replicates from.
    pub replica_of: Option<usize>,
    /// Replication offset.
    pub offset: u64,
    /// When its master link comes up after a reconfiguration.
    pub link_up_at: f64,
    /// When Sentinel converts this stale master into a replica.
    pub convert_at: Option<f64>,
}

/// One Sentinel process.
#[derive(Debug, Clone)]
pub struct SentinelProc {
    /// Name, region, address.
    pub spec: PgSpec,
    /// 40-hex run id.
    pub id: String,
    /// The master it reports.
    pub master: usize,
    /// Since when each Redis node has been unreachable from here.
    pub down_since: Vec<Option<f64>>,
    /// Whether `+sdown` was published for each Redis node.
    pub sdown: Vec<bool>,
    /// Since when each other Sentinel has been unreachable, and whether `+sdown` was published.
    pub peer_down: Vec<(Option<f64>, bool)>,
    /// `+odown` published for the current master.
    pub odown: bool,
}

/// A failover being carried out by a leader Sentinel.
#[derive(Debug, Clone)]
pub struct Failover {
    /// Leader Sentinel.
    pub leader: usize,
    /// Master being replaced.
    pub from: usize,
    /// Replica selected for promotion.
    pub to: Option<usize>,
    /// Start time.
    pub started: f64,
    /// Started by `SENTINEL FAILOVER` (no election needed).
    pub manual: bool,
    /// Steps done so far.
    pub step: usize,
    /// When each Sentinel switches to the new master (set at `+failover-end`).
    pub switch_at: Vec<Option<f64>>,
}

/// One recorded pub/sub message (sim time).
#[derive(Debug, Clone)]
pub struct Event {
    /// Sim time.
    pub at: f64,
    /// Publishing Sentinel.
    pub sentinel: usize,
    /// Channel.
    pub kind: &'static str,
    /// Payload.
    pub detail: String,
}

/// The whole Redis/Sentinel layer.
#[derive(Debug, Clone)]
pub struct Redis {
    /// Redis servers.
    pub nodes: Vec<RedisNode>,
    /// Sentinels.
    pub sentinels: Vec<SentinelProc>,
    /// A running failover.
    pub failover: Option<Failover>,
    /// Recent events, oldest first.
    pub events: VecDeque<Event>,
    /// Configuration epoch.
    pub epoch: u64,
}

impl Redis {
    /// `redis-0` master, the others replicating, all Sentinels agreeing.
    pub fn new(rng: &mut Rng) -> Redis {
        let base = rng.int(10_000_000, 90_000_000);
        let nodes = REDIS_NODES
            .iter()
            .enumerate()
            .map(|(i, spec)| RedisNode {
                spec: *spec,
                master: i == 0,
                replica_of: (i != 0).then_some(0),
                offset: base,
                link_up_at: -1.0,
                convert_at: None,
            })
            .collect();
        let sentinels = SENTINELS
            .iter()
            .map(|spec| SentinelProc {
                spec: *spec,
                id: (0..5).map(|_| format!("{:08x}", rng.next_u64() as u32)).collect(),
                master: 0,
                down_since: vec![None; REDIS_NODES.len()],
                sdown: vec![false; REDIS_NODES.len()],
                peer_down: vec![(None, false); SENTINELS.len()],
                odown: false,
            })
            .collect();
        Redis { nodes, sentinels, failover: None, events: VecDeque::new(), epoch: 0 }
    }

    /// Whether a Redis server answers.
    pub fn up(&self, i: usize, kube: &Kube, out: &Outage) -> bool {
        kube.reach(self.nodes[i].spec.region, self.nodes[i].spec.name, out) == Reach::Up
    }

    /// Whether a Sentinel answers (Sentinels run on VMs in their region).
    pub fn sentinel_up(&self, s: usize, out: &Outage) -> bool {
        let spec = &self.sentinels[s].spec;
        !out.contains(spec.region) && !out.hung.contains(spec.name)
    }

    /// Whether Sentinel `s` is cut off from the others and from Redis.
    fn partitioned(&self, s: usize, out: &Outage) -> bool {
        out.partitioned.contains(self.sentinels[s].spec.name)
    }

    /// Whether Sentinel `s` can talk to Sentinel `p` (both up, neither partitioned).
    pub(super) fn sees(&self, s: usize, p: usize, out: &Outage) -> bool {
        s == p || (self.sentinel_up(p, out) && !self.partitioned(s, out) && !self.partitioned(p, out))
    }

    /// Sentinel by address.
    pub fn sentinel_index(&self, addr: &str) -> Option<usize> {
        self.sentinels.iter().position(|s| s.spec.addr() == addr)
    }

    fn link_up(&self, i: usize, now: f64, up: &[bool]) -> bool {
        let n = &self.nodes[i];
        match n.replica_of {
            Some(m) if !n.master => up[i] && up[m] && self.nodes[m].master && now >= n.link_up_at,
            _ => false,
        }
    }

    pub(super) fn emit(&mut self, at: f64, sentinel: usize, kind: &'static str, detail: String) {
        self.events.push_back(Event { at, sentinel, kind, detail });
        while self.events.len() > MAX_EVENTS {
            self.events.pop_front();
        }
    }

    pub(super) fn master_text(&self, m: usize) -> String {
        let s = &self.nodes[m].spec;
        format!("master {MASTER_NAME} {} {}", s.host, s.port)
    }

    pub(super) fn slave_text(&self, r: usize, m: usize) -> String {
        let (s, ms) = (&self.nodes[r].spec, &self.nodes[m].spec);
        format!("slave {}:{} {} {} @ {MASTER_NAME} {} {}", s.host, s.port, s.host, s.port, ms.host, ms.port)
    }

    /// Advance replication, detection and any failover to `now`.
    pub fn tick(&mut self, now: f64, dt: f64, rng: &mut Rng, kube: &Kube, out: &Outage) {
        let up: Vec<bool> = (0..self.nodes.len()).map(|i| self.up(i, kube, out)).collect();
        self.replicate(now, dt, rng, &up);
        self.convert_stale_masters(now, &up, out);
        self.detect(now, &up, out);
        self.maybe_auto_failover(now, out);
        self.run_failover(now, rng, &up, out);
    }

    fn replicate(&mut self, now: f64, dt: f64, rng: &mut Rng, up: &[bool]) {
        for i in 0..self.nodes.len() {
            if self.nodes[i].master && up[i] {
                self.nodes[i].offset += (OFFSET_RATE * dt * rng.range(0.5, 1.5)) as u64;
            }
        }
        for i in 0..self.nodes.len() {
            if self.link_up(i, now, up) {
                let m = self.nodes[i].replica_of.unwrap_or(i);
                let target = self.nodes[m].offset.saturating_sub(rng.int(0, 1_500));
                self.nodes[i].offset = self.nodes[i].offset.max(target);
            }
        }
    }

    pub(super) fn first_up_sentinel(&self, out: &Outage) -> Option<usize> {
        (0..self.sentinels.len()).find(|&s| self.sentinel_up(s, out))
    }

    fn convert_stale_masters(&mut self, now: f64, up: &[bool], out: &Outage) {
        let Some(reporter) = self.first_up_sentinel(out) else { return };
        let current = self.sentinels[reporter].master;
        for i in 0..self.nodes.len() {
            let promoting = self.failover.as_ref().is_some_and(|f| f.to == Some(i));
            if i == current || promoting || !self.nodes[i].master || !up[i] {
                continue;
            }
            match self.nodes[i].convert_at {
                None => self.nodes[i].convert_at = Some(now + 1.0),
                Some(t) if now >= t => {
                    let n = &mut self.nodes[i];
                    n.master = false;
                    n.replica_of = Some(current);
                    n.link_up_at = now + 1.0;
                    n.convert_at = None;
                    let detail = self.slave_text(i, current);
                    self.emit(now, reporter, "+convert-to-slave", detail);
                }
                Some(_) => {}
            }
        }
    }

    fn detect(&mut self, now: f64, up: &[bool], out: &Outage) {
        let sentinel_up: Vec<bool> = (0..self.sentinels.len()).map(|s| self.sentinel_up(s, out)).collect();
        for s in 0..self.sentinels.len() {
            if !sentinel_up[s] {
                continue;
            }
            let m = self.sentinels[s].master;
            let cut_off = self.partitioned(s, out);
            for n in 0..self.nodes.len() {
                let text = if n == m { self.master_text(n) } else { self.slave_text(n, m) };
                let st = &mut self.sentinels[s];
                if up[n] && !cut_off {
                    st.down_since[n] = None;
                    if std::mem::take(&mut st.sdown[n]) {
                        if n == m && std::mem::take(&mut st.odown) {
                            self.emit(now, s, "-odown", text.clone());
                        }
                        self.emit(now, s, "-sdown", text);
                    }
                } else {
                    let since = *st.down_since[n].get_or_insert(now);
                    if !st.sdown[n] && now - since >= DOWN_AFTER_S {
                        st.sdown[n] = true;
                        self.emit(now, s, "+sdown", text);
                    }
                }
            }
            for p in 0..self.sentinels.len() {
                if p == s {
                    continue;
                }
                let ps = self.sentinels[p].spec;
                let text = format!(
                    "sentinel {} {} {} @ {}",
                    self.sentinels[p].id,
                    ps.host,
                    ps.port,
                    self.master_text(m).trim_start_matches("master ")
                );
                let seen = self.sees(s, p, out);
                let st = &mut self.sentinels[s];
                if seen {
                    if std::mem::take(&mut st.peer_down[p]).1 {
                        self.emit(now, s, "-sdown", text);
                    }
                } else {
                    let since = *st.peer_down[p].0.get_or_insert(now);
                    if !st.peer_down[p].1 && now - since >= DOWN_AFTER_S {
                        st.peer_down[p].1 = true;
                        self.emit(now, s, "+sdown", text);
                    }
                }
            }
        }
        for s in 0..self.sentinels.len() {
            let m = self.sentinels[s].master;
            if !sentinel_up[s] || !self.sentinels[s].sdown[m] || self.sentinels[s].odown {
                continue;
            }
            let agree = (0..self.sentinels.len())
                .filter(|&o| {
                    sentinel_up[o]
                        && self.sees(s, o, out)
                        && self.sentinels[o].master == m
                        && self.sentinels[o].sdown[m]
                })
                .count();
            if agree >= QUORUM {
                self.sentinels[s].odown = true;
                let detail = format!("{} #quorum {agree}/{QUORUM}", self.master_text(m));
                self.emit(now, s, "+odown", detail);
            }
        }
    }

    fn maybe_auto_failover(&mut self, now: f64, out: &Outage) {
        if self.failover.is_some() {
            return;
        }
        let alive = (0..self.sentinels.len()).filter(|&s| self.sentinel_up(s, out)).count();
        let majority = self.sentinels.len() / 2 + 1;
        let leader = (0..self.sentinels.len()).find(|&s| self.sentinel_up(s, out) && self.sentinels[s].odown);
        if let Some(leader) = leader.filter(|_| alive >= majority) {
            self.start_failover(leader, false, now);
        }
    }

    /// The pane model, as the first reachable Sentinel reports it.
    pub fn view(
        &self,
        now: f64,
        kube: &Kube,
        out: &Outage,
        wall: &dyn Fn(f64) -> chrono::DateTime<chrono::Utc>,
    ) -> SentinelView {
        let up: Vec<bool> = (0..self.nodes.len()).map(|i| self.up(i, kube, out)).collect();
        let sentinels = (0..self.sentinels.len()).map(|s| self.sentinel_obs(s, out)).collect();
        let events = self
            .events
            .iter()
            .map(|e| SentinelEvent {
                at: wall(e.at),
                sentinel: self.sentinels[e.sentinel].spec.addr(),
                kind: e.kind.into(),
                detail: e.detail.clone(),
            })
            .collect();
        let mut view = SentinelView {
            master_name: MASTER_NAME.into(),
            sentinels,
            events,
            failover_in_progress: self.failover.is_some(),
            ..SentinelView::default()
        };
        let Some(r) = self.first_up_sentinel(out) else { return view };
        view.quorum = Some(self.ckquorum(r, out));
        let m = self.sentinels[r].master;
        view.master_role = up[m].then(|| if self.nodes[m].master { "master" } else { "slave" }.to_string());
        view.replicas =
            (0..self.nodes.len()).filter(|&i| i != m).map(|i| self.replica_row(r, m, i, now, &up)).collect();
        view
    }

    /// What asking Sentinel `s` for the master gives: its address, or the connect error.
    fn sentinel_obs(&self, s: usize, out: &Outage) -> SentinelObs {
        let st = &self.sentinels[s];
        if self.sentinel_up(s, out) {
            SentinelObs { addr: st.spec.addr(), master: Some(self.nodes[st.master].spec.addr()), error: None }
        } else {
            SentinelObs {
                addr: st.spec.addr(),
                master: None,
                error: Some(format!("connect to {}: connection timed out", st.spec.addr())),
            }
        }
    }

    /// `SENTINEL CKQUORUM` as Sentinel `r` answers it.
    fn ckquorum(&self, r: usize, out: &Outage) -> Result<String, String> {
        let usable = (0..self.sentinels.len())
            .filter(|&s| self.sentinel_up(s, out) && !self.sentinels[r].peer_down[s].1)
            .count();
        let majority = self.sentinels.len() / 2 + 1;
        if usable >= QUORUM && usable >= majority {
            Ok(format!("OK {usable} usable Sentinels. Quorum and failover authorization can be reached"))
        } else if usable < QUORUM {
            Err(format!(
                "NOQUORUM {usable} usable Sentinels. Not enough available Sentinels to reach the specified quorum for this master"
            ))
        } else {
            Err(format!(
                "NOQUORUM {usable} usable Sentinels. Not enough available Sentinels to reach the majority and authorize a failover"
            ))
        }
    }

    /// Node `i` as a replica of master `m`, as Sentinel `r` lists it (`SENTINEL REPLICAS`).
    fn replica_row(&self, r: usize, m: usize, i: usize, now: f64, up: &[bool]) -> RedisReplica {
        let mut flags = vec!["slave"];
        if self.sentinels[r].sdown[i] {
            flags.push("s_down");
        }
        if !up[i] {
            flags.push("disconnected");
        }
        let link = self.link_up(i, now, up) && self.nodes[i].replica_of == Some(m);
        RedisReplica {
            addr: self.nodes[i].spec.addr(),
            flags: flags.join(","),
            link_up: link,
            offset_lag: link.then(|| self.nodes[m].offset.saturating_sub(self.nodes[i].offset)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn wall(t: f64) -> chrono::DateTime<chrono::Utc> {
        chrono::DateTime::UNIX_EPOCH + chrono::Duration::milliseconds((t * 1000.0) as i64)
    }

    fn run(r: &mut Redis, k: &Kube, rng: &mut Rng, from: f64, to: f64, out: &Outage) {
        let mut t = from;
        while t < to - 1e-9 {
            t += 0.05;
            r.tick(t, 0.05, rng, k, out);
        }
    }

    fn kinds(r: &Redis) -> Vec<&'static str> {
        r.events.iter().map(|e| e.kind).collect()
    }

    #[test]
    fn healthy_start_agrees_with_quorum_and_linked_replicas() {
        let mut rng = Rng::new(5);
        let kube = Kube::new(&mut rng);
        let mut r = Redis::new(&mut rng);
        run(&mut r, &kube, &mut rng, 0.0, 2.0, &Outage::new());
        let v = r.view(2.0, &kube, &Outage::new(), &wall);
        assert_eq!(v.agreed_master(), Some("10.0.1.10:6379"));
        assert!(v.quorum.as_ref().unwrap().is_ok());
        assert_eq!(v.replicas.len(), 2);
        assert!(v.replicas.iter().all(|x| x.link_up && x.offset_lag.unwrap() <= 1_500));
        assert_eq!(v.master_role.as_deref(), Some("master"));
        assert!(v.events.is_empty());
    }

    #[test]
    fn killed_master_goes_sdown_odown_and_fails_over_automatically() {
        let mut rng = Rng::new(6);
        let mut kube = Kube::new(&mut rng);
        let mut r = Redis::new(&mut rng);
        let out = Outage::new();
        run(&mut r, &kube, &mut rng, 0.0, 1.0, &out);
        kube.crash("us-east-1", "redis-0", "Error", 1.0);
        run(&mut r, &kube, &mut rng, 1.0, 5.9, &out);
        assert!(!kinds(&r).contains(&"+sdown"), "not before down-after");
        run(&mut r, &kube, &mut rng, 5.9, 6.2, &out);
        assert!(kinds(&r).contains(&"+sdown") && kinds(&r).contains(&"+odown"), "{:?}", kinds(&r));
        run(&mut r, &kube, &mut rng, 6.2, 8.0, &out);
        let k = kinds(&r);
        let order = [
            "+try-failover",
            "+elected-leader",
            "+selected-slave",
            "+promoted-slave",
            "+failover-end",
            "+switch-master",
        ];
        let pos: Vec<usize> = order.iter().map(|o| k.iter().position(|x| x == o).expect(o)).collect();
        assert!(pos.windows(2).all(|w| w[0] < w[1]), "{k:?}");
        let v = r.view(8.0, &kube, &out, &wall);
        let new = v.agreed_master().expect("all agree");
        assert_ne!(new, "10.0.1.10:6379");
        assert!(!v.failover_in_progress);
        assert!(v.replicas.iter().any(|x| x.addr == "10.0.1.10:6379" && x.flags.contains("disconnected")));
    }

    #[test]
    fn events_are_bounded() {
        let mut rng = Rng::new(7);
        let mut r = Redis::new(&mut rng);
        for i in 0..200 {
            r.emit(f64::from(i), 0, "+sdown", "x".into());
        }
        assert_eq!(r.events.len(), MAX_EVENTS);
        assert_eq!(r.events.back().unwrap().at, 199.0);
    }
}
