#![allow(clippy::needless_range_loop, reason = "indices are node ids shared by several vectors")]
//! Simulated PostgreSQL: one primary and streaming replicas with advancing LSNs, moving replay
//! lag, timelines, promotion, fencing, and a crashed primary that returns writable on its old
//! timeline (split brain), as real PostgreSQL does.

use super::estate::{PG_NODES, PG_VERSION, PgSpec};
use super::kube::{Kube, Outage, Reach};
use super::rng::Rng;
use crate::backends::model::{DatabaseView, PgNodeStatus, PgRole};

/// Client write rate on the primary behind the Service, bytes per second (mean).
const WRITE_RATE: f64 = 180_000.0;
/// Background WAL of a primary no client talks to (checkpoints, autovacuum), bytes/s.
const IDLE_RATE: f64 = 600.0;

/// One simulated PostgreSQL node.
#[derive(Debug, Clone)]
pub struct PgNode {
    /// Static facts: name, region, address.
    pub spec: PgSpec,
    /// Not in recovery.
    pub primary: bool,
    /// The node it streams from (replicas).
    pub upstream: Option<usize>,
    /// Why it cannot follow its upstream (forked timeline), if it cannot.
    pub diverged: Option<String>,
    /// Timeline id.
    pub timeline: u32,
    /// Where the current timeline forked from its parent (`None` on timeline 1).
    pub fork: Option<u64>,
    /// Current WAL position (primary) or last received position (replica).
    pub lsn: u64,
    /// Last replayed position (replicas; equals `lsn` on a primary).
    pub replay: u64,
    /// `default_transaction_read_only` (persisted with ALTER SYSTEM).
    pub read_only: bool,
    /// Replay is stuck behind a conflicting query.
    pub replay_stalled: bool,
    /// Sim time of the last replayed transaction.
    pub last_replay_at: f64,
    /// Streaming resumed at; `catchup` is reported shortly after.
    pub connected_at: f64,
    /// Sim time of the last successful poll.
    pub last_ok: Option<f64>,
}

/// All PostgreSQL nodes plus the current client write rate.
#[derive(Debug, Clone)]
pub struct Database {
    /// Nodes in configured order.
    pub nodes: Vec<PgNode>,
    /// Current client write rate (random walk around [`WRITE_RATE`]).
    pub rate: f64,
}

impl Database {
    /// `postgresql-0` primary on timeline 1, the others streaming from it.
    pub fn new(rng: &mut Rng) -> Database {
        let base = 0x3_0000_0000 + rng.int(0, 0xFFFF_FFFF);
        let nodes = PG_NODES
            .iter()
            .enumerate()
            .map(|(i, spec)| PgNode {
                spec: *spec,
                primary: i == 0,
                upstream: (i != 0).then_some(0),
                diverged: None,
                timeline: 1,
                fork: None,
                lsn: base,
                replay: base,
                read_only: false,
                replay_stalled: false,
                last_replay_at: 0.0,
                connected_at: -86_400.0,
                last_ok: Some(0.0),
            })
            .collect();
        Database { nodes, rate: WRITE_RATE }
    }

    /// Index of a node by name.
    pub fn index(&self, name: &str) -> Option<usize> {
        self.nodes.iter().position(|n| n.spec.name == name)
    }

    /// How a node can be reached (its pod's state, its region).
    pub fn reach(&self, i: usize, kube: &Kube, out: &Outage) -> Reach {
        kube.reach(self.nodes[i].spec.region, self.nodes[i].spec.name, out)
    }

    fn streaming(&self, i: usize, kube: &Kube, out: &Outage) -> Option<usize> {
        let n = &self.nodes[i];
        let u = n.upstream?;
        let ok = !n.primary
            && n.diverged.is_none()
            && self.reach(i, kube, out) == Reach::Up
            && self.reach(u, kube, out) == Reach::Up
            && self.nodes[u].primary;
        ok.then_some(u)
    }

    /// Advance WAL and replication by `dt` seconds ending at `now`. `endpoints` are the pods
    /// behind the database Service: the primary among them receives the client writes.
    pub fn tick(
        &mut self,
        now: f64,
        dt: f64,
        rng: &mut Rng,
        kube: &Kube,
        out: &Outage,
        endpoints: &[String],
    ) {
        self.rate = (self.rate + rng.range(-8_000.0, 8_000.0)).clamp(WRITE_RATE * 0.5, WRITE_RATE * 1.6);
        let up: Vec<bool> = (0..self.nodes.len()).map(|i| self.reach(i, kube, out) == Reach::Up).collect();
        for (i, n) in self.nodes.iter_mut().enumerate() {
            if up[i] {
                n.last_ok = Some(now);
            }
            if n.primary && up[i] && !n.read_only {
                let rate = if endpoints.iter().any(|e| e == n.spec.name) { self.rate } else { IDLE_RATE };
                n.lsn += (rate * dt * rng.range(0.7, 1.3)) as u64;
                n.replay = n.lsn;
            }
        }
        for i in 0..self.nodes.len() {
            let stream = self.streaming(i, kube, out);
            let (rate, cross) = match stream {
                Some(u) => (self.rate, self.nodes[u].spec.region != self.nodes[i].spec.region),
                None => (self.rate, false),
            };
            let upstream_lsn = stream.map(|u| self.nodes[u].lsn);
            let n = &mut self.nodes[i];
            if n.primary || !up[i] {
                continue;
            }
            match upstream_lsn {
                Some(target) => {
                    let delay_s = if cross { rng.range(0.05, 0.12) } else { rng.range(0.002, 0.02) };
                    let behind = (rate * delay_s) as u64;
                    n.lsn = n.lsn.max(target.saturating_sub(behind));
                    if !n.replay_stalled {
                        let backlog = rng.int(0, 24_000);
                        n.replay = n.replay.max(n.lsn.saturating_sub(backlog));
                        let lag_bytes = target.saturating_sub(n.replay) as f64;
                        n.last_replay_at = now - lag_bytes / rate.max(1.0);
                    }
                }
                None if !n.replay_stalled => n.replay = n.lsn,
                None => {}
            }
        }
    }

    /// Mark replicas that just regained their upstream as catching up.
    pub fn note_connections(&mut self, before: &[Option<usize>], now: f64, kube: &Kube, out: &Outage) {
        for i in 0..self.nodes.len() {
            let after = self.streaming(i, kube, out);
            if after.is_some() && before.get(i).copied().flatten().is_none() {
                self.nodes[i].connected_at = now;
            }
        }
    }

    /// Which upstream each node streams from right now.
    pub fn streams(&self, kube: &Kube, out: &Outage) -> Vec<Option<usize>> {
        (0..self.nodes.len()).map(|i| self.streaming(i, kube, out)).collect()
    }

    /// Promote node `i`: it leaves recovery on a new timeline; every other replica is
    /// repointed to it and follows unless it already replayed past the fork point.
    pub fn promote(&mut self, i: usize, now: f64) -> (u32, u64) {
        let fork = self.nodes[i].lsn;
        let timeline = self.nodes[i].timeline + 1;
        {
            let n = &mut self.nodes[i];
            n.primary = true;
            n.upstream = None;
            n.diverged = None;
            n.replay_stalled = false;
            n.timeline = timeline;
            n.fork = Some(fork);
            n.replay = fork;
        }
        for j in 0..self.nodes.len() {
            if j == i || self.nodes[j].primary {
                continue;
            }
            let o = &mut self.nodes[j];
            o.upstream = Some(i);
            o.connected_at = now;
            if o.lsn > fork {
                o.diverged = Some(format!(
                    "diverged: timeline {timeline} forked at {} before this node's {} (needs pg_rewind)",
                    lsn_text(fork),
                    lsn_text(o.lsn)
                ));
            } else {
                o.diverged = None;
                o.timeline = timeline;
                o.fork = Some(fork);
            }
        }
        (timeline, fork)
    }

    /// The pane model.
    pub fn view(
        &self,
        now: f64,
        kube: &Kube,
        out: &Outage,
        wall: &dyn Fn(f64) -> chrono::DateTime<chrono::Utc>,
    ) -> DatabaseView {
        let streams = self.streams(kube, out);
        let nodes = self
            .nodes
            .iter()
            .enumerate()
            .map(|(i, n)| {
                let last_ok = n.last_ok.map(wall);
                let base = PgNodeStatus {
                    name: n.spec.name.into(),
                    region: n.spec.region.into(),
                    role: PgRole::Down,
                    version: None,
                    timeline: None,
                    lsn: None,
                    fork_lsn: None,
                    replay_lag_bytes: None,
                    replay_lag_seconds: None,
                    replication_state: None,
                    read_only: n.read_only,
                    pod: Some(n.spec.name.into()),
                    error: None,
                    last_ok,
                };
                let addr = n.spec.addr();
                let error = match self.reach(i, kube, out) {
                    Reach::Up => None,
                    Reach::Starting => Some("FATAL: the database system is starting up".to_string()),
                    Reach::Refused => {
                        Some(format!("connection to server at {addr} failed: Connection refused"))
                    }
                    Reach::Timeout => Some(format!("connection to server at {addr} failed: timeout expired")),
                };
                if error.is_some() {
                    return PgNodeStatus { error, ..base };
                }
                if n.primary {
                    return PgNodeStatus {
                        role: PgRole::Primary,
                        version: Some(PG_VERSION.into()),
                        timeline: Some(n.timeline),
                        lsn: Some(n.lsn),
                        fork_lsn: n.fork,
                        ..base
                    };
                }
                let (lag, state) = match (streams[i], &n.diverged) {
                    (_, Some(why)) => (n.lsn - n.replay.min(n.lsn), Some(why.clone())),
                    (Some(u), None) => {
                        let state = if now - n.connected_at < 2.0 { "catchup" } else { "streaming" };
                        (self.nodes[u].lsn.saturating_sub(n.replay), Some(state.to_string()))
                    }
                    (None, None) => (n.lsn.saturating_sub(n.replay), None),
                };
                PgNodeStatus {
                    role: PgRole::Replica,
                    version: Some(PG_VERSION.into()),
                    timeline: Some(n.timeline),
                    lsn: Some(n.lsn),
                    fork_lsn: n.fork,
                    replay_lag_bytes: Some(lag),
                    replay_lag_seconds: Some((now - n.last_replay_at).max(0.0)),
                    replication_state: state,
                    ..base
                }
            })
            .collect();
        DatabaseView { nodes }
    }
}

/// An LSN as PostgreSQL prints it (`3/1A2B3C4D`).
pub fn lsn_text(lsn: u64) -> String {
    format!("{:X}/{:X}", lsn >> 32, lsn & 0xFFFF_FFFF)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn wall(t: f64) -> chrono::DateTime<chrono::Utc> {
        chrono::DateTime::UNIX_EPOCH + chrono::Duration::milliseconds((t * 1000.0) as i64)
    }

    fn setup() -> (Database, Kube, Rng) {
        let mut rng = Rng::new(11);
        let kube = Kube::new(&mut rng);
        (Database::new(&mut rng), kube, rng)
    }

    fn run(db: &mut Database, kube: &Kube, rng: &mut Rng, from: f64, to: f64, out: &Outage) {
        let mut t = from;
        while t < to {
            t += 0.1;
            let eps = kube.endpoints(out);
            db.tick(t, 0.1, rng, kube, out, &eps);
        }
    }

    #[test]
    fn lsn_advances_and_replicas_lag_a_little() {
        let (mut db, kube, mut rng) = setup();
        let out = Outage::new();
        let start = db.nodes[0].lsn;
        run(&mut db, &kube, &mut rng, 0.0, 10.0, &out);
        let v = db.view(10.0, &kube, &out, &wall);
        assert!(v.nodes[0].lsn.unwrap() > start + 1_000_000, "10 s at ~180 kB/s");
        assert_eq!(v.primary().unwrap().name, "postgresql-0");
        for r in &v.nodes[1..] {
            assert_eq!(r.role, PgRole::Replica);
            assert!(r.replay_lag_bytes.unwrap() < 100_000, "{r:?}");
            assert!(r.replay_lag_seconds.unwrap() < 1.0, "{r:?}");
            assert_eq!(r.replication_state.as_deref(), Some("streaming"));
        }
        assert_eq!(lsn_text(0x3_1A2B_3C4D), "3/1A2B3C4D");
    }

    #[test]
    fn dead_primary_freezes_replicas_and_lag_seconds_grow() {
        let (mut db, mut kube, mut rng) = setup();
        let out = Outage::new();
        run(&mut db, &kube, &mut rng, 0.0, 5.0, &out);
        kube.crash("us-east-1", "postgresql-0", "Error", 5.0);
        run(&mut db, &kube, &mut rng, 5.0, 8.0, &out);
        let a = db.view(8.0, &kube, &out, &wall);
        run(&mut db, &kube, &mut rng, 8.0, 9.5, &out);
        let b = db.view(9.5, &kube, &out, &wall);
        assert_eq!(b.nodes[0].role, PgRole::Down);
        assert!(b.nodes[0].error.as_deref().unwrap().contains("Connection refused"));
        assert_eq!(a.nodes[1].lsn, b.nodes[1].lsn, "replica stopped receiving");
        assert_eq!(b.nodes[1].replay_lag_bytes, Some(0));
        assert!(b.nodes[1].replay_lag_seconds.unwrap() > a.nodes[1].replay_lag_seconds.unwrap() + 1.0);
        assert!(b.primary().is_none());
    }

    #[test]
    fn promotion_bumps_timeline_and_others_follow_or_diverge() {
        let (mut db, kube, mut rng) = setup();
        let out = Outage::new();
        run(&mut db, &kube, &mut rng, 0.0, 3.0, &out);
        db.nodes[0].primary = false; // pretend it vanished for the fork bookkeeping
        db.nodes[2].lsn = db.nodes[1].lsn + 10;
        let (tl, _) = db.promote(1, 3.0);
        assert_eq!(tl, 2);
        assert!(db.nodes[2].diverged.is_some(), "node 2 received WAL past the fork point");
        assert_eq!(db.nodes[0].upstream, Some(1));
    }
}
