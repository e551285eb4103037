//! The deterministic simulation core: a seeded estate advanced by [`Sim::advance`], with the
//! scenario's faults injected on the sim clock. No wall clock, no I/O: fully unit-testable.

use std::time::Duration;

use chrono::{DateTime, Utc};

use super::database::Database;
use super::estate::REGIONS;
use super::kube::{Doom, Kube, Outage, ReplicaSet};
use super::rng::Rng;
use super::scenarios::Scenario;
use super::sentinel::Redis;
use super::traffic::Traffic;
use crate::backends::model::{DatabaseView, KubeView, SentinelView, TrafficView};

/// Simulation step: long advances are cut into ticks of this many seconds.
const TICK_S: f64 = 0.1;
/// Most ticks one `advance` runs (a laptop waking up after hours must not stall the UI).
const MAX_TICKS: f64 = 200_000.0;
/// In `primary-db-down`, the crashed primary's cause clears this long after the crash.
pub const PRIMARY_RETURNS_AFTER_S: f64 = 150.0;
/// In `redis-master-down`, the dead master's cause clears this long after the crash (it comes
/// back with the first restart after that, and Sentinel converts it into a replica).
pub const REDIS_MASTER_RETURNS_AFTER_S: f64 = 60.0;
/// In `replica-lag`, when the primary dies.
pub const REPLICA_LAG_PRIMARY_DIES_AT_S: f64 = 60.0;

/// The simulated estate: Kubernetes, PostgreSQL, Redis/Sentinel and traffic, on one clock.
#[derive(Debug, Clone)]
pub struct Sim {
    pub(crate) t: f64,
    origin: DateTime<Utc>,
    speed: f64,
    pub(crate) rng: Rng,
    scenario: Scenario,
    fault_at: Option<f64>,
    stage: u8,
    pub(crate) out: Outage,
    pub(crate) kube: Kube,
    pub(crate) db: Database,
    pub(crate) redis: Redis,
    pub(crate) traffic: Traffic,
}

impl Sim {
    /// A new estate running `scenario`, seeded by `seed`. Sim time 0 is wall time `origin`;
    /// later sim instants map to `origin + t / speed` (the drill runs `speed` times faster
    /// than the wall clock), earlier ones (pod creation days ago) to `origin + t`.
    pub fn new(scenario: &str, seed: u64, origin: DateTime<Utc>, speed: f64) -> Result<Sim, String> {
        let scenario = Scenario::parse(scenario)?;
        if !(speed.is_finite() && speed > 0.0 && speed <= 1000.0) {
            return Err(format!("drill speed must be a number in (0, 1000], got {speed}"));
        }
        let mut rng = Rng::new(seed);
        let kube = Kube::new(&mut rng);
        let db = Database::new(&mut rng);
        let redis = Redis::new(&mut rng);
        let traffic = Traffic::new(&mut rng);
        Ok(Sim {
            t: 0.0,
            origin,
            speed,
            rng,
            scenario,
            fault_at: None,
            stage: 0,
            out: Outage::new(),
            kube,
            db,
            redis,
            traffic,
        })
    }

    /// The running scenario.
    pub fn scenario(&self) -> Scenario {
        self.scenario
    }

    /// Simulated time since the start.
    pub fn elapsed(&self) -> Duration {
        Duration::from_secs_f64(self.t)
    }

    /// Speed factor (sim seconds per wall second).
    pub fn speed(&self) -> f64 {
        self.speed
    }

    /// Wall-clock time of sim instant `t` (seconds).
    pub fn wall(&self, t: f64) -> DateTime<Utc> {
        let secs = if t >= 0.0 { t / self.speed } else { t };
        self.origin + chrono::Duration::microseconds((secs * 1e6) as i64)
    }

    /// Wall-clock time of the sim's present.
    pub fn now(&self) -> DateTime<Utc> {
        self.wall(self.t)
    }

    /// When the scenario's fault struck (wall clock), `None` before it or in `calm`.
    pub fn fault_injected_at(&self) -> Option<DateTime<Utc>> {
        self.fault_at.map(|t| self.wall(t))
    }

    /// One line describing the fault, `None` in `calm`.
    pub fn fault_description(&self) -> Option<&'static str> {
        self.scenario.fault_at().map(|_| self.scenario.info().description)
    }

    /// Advance the simulation by `dt` of sim time (in ticks of 0.1 s).
    pub fn advance(&mut self, dt: Duration) {
        let total = dt.as_secs_f64();
        let step = (total / MAX_TICKS).max(TICK_S);
        let mut left = total;
        while left > 1e-9 {
            let d = left.min(step);
            self.tick(d);
            left -= d;
        }
    }

    fn tick(&mut self, dt: f64) {
        self.t += dt;
        let now = self.t;
        self.faults(now);
        let before = self.db.streams(&self.kube, &self.out);
        self.kube.tick(now, &mut self.rng, &self.out);
        let endpoints = self.kube.endpoints(&self.out);
        self.db.tick(now, dt, &mut self.rng, &self.kube, &self.out, &endpoints);
        self.db.note_connections(&before, now, &self.kube, &self.out);
        self.redis.tick(now, dt, &mut self.rng, &self.kube, &self.out);
        self.traffic.tick(dt, &self.kube, &self.out);
    }

    fn faults(&mut self, now: f64) {
        let Some(at) = self.scenario.fault_at() else { return };
        if self.stage == 0 && now >= at {
            self.stage = 1;
            self.fault_at = Some(now);
            self.inject(now);
        }
        if self.stage == 1 && self.scenario == Scenario::ReplicaLag && now >= REPLICA_LAG_PRIMARY_DIES_AT_S {
            self.stage = 2;
            self.kill_pod("us-east-1", "postgresql-0", "Error", None, now);
        }
    }

    /// Kill a database pod's process; restarted containers die again during start-up (before
    /// readiness) until `until`.
    fn kill_pod(&mut self, ctx: &str, name: &str, reason: &'static str, until: Option<f64>, now: f64) {
        if let Some(p) = self.kube.pod_mut(ctx, name) {
            p.doom = Some(Doom { reason, run_for: (0.5, 1.4), until });
        }
        self.kube.crash(ctx, name, reason, now);
    }

    fn inject(&mut self, now: f64) {
        match self.scenario {
            Scenario::Calm => {}
            Scenario::PrimaryDbDown => {
                self.kill_pod("us-east-1", "postgresql-0", "Error", Some(now + PRIMARY_RETURNS_AFTER_S), now)
            }
            Scenario::RedisMasterDown => {
                self.kill_pod("us-east-1", "redis-0", "Error", Some(now + REDIS_MASTER_RETURNS_AFTER_S), now)
            }
            Scenario::RegionOutage => {
                self.out.insert(REGIONS[0].0.to_string());
            }
            Scenario::Crashloop => self.bad_rollout(now),
            Scenario::SplitBrain => {
                self.db.promote(1, now);
                if let Some(p) = self.kube.pod_mut("us-east-1", "postgresql-1") {
                    p.labels.insert("role".into(), "primary".into());
                }
            }
            Scenario::ReplicaLag => self.db.nodes[1].replay_stalled = true,
        }
    }

    /// `api` in us-east-1 rolls out a crashing revision (maxSurge 1, maxUnavailable 1: two
    /// old pods stay, two new ones crash-loop); `worker` rolls out a revision that passes
    /// readiness, completes its rollout, then gets OOMKilled. Both keep their previous, good
    /// ReplicaSet (revision history), so `rollback-deployment` recovers them.
    fn bad_rollout(&mut self, _now: f64) {
        let region = REGIONS[0].0;
        let crash = Doom { reason: "Error", run_for: (3.0, 8.0), until: None };
        let oom = Doom { reason: "OOMKilled", run_for: (20.0, 45.0), until: None };
        for (name, doom, completes) in [("api", crash, false), ("worker", oom, true)] {
            let hash = format!("{}{}", self.rng.int(5, 9), self.rng.suffix(8));
            let Some(d) = self.kube.deployments.iter_mut().find(|d| d.context == region && d.name == name)
            else {
                continue;
            };
            let revision = d.revision() + 1;
            let new = if completes { d.desired } else { 2 };
            if let Some(old) = d.sets.last_mut() {
                old.replicas = if completes { 0 } else { d.desired.saturating_sub(1) };
            }
            d.sets.push(ReplicaSet { hash, revision, replicas: new, doom: Some(doom) });
        }
    }

    /// What the Pods pane shows. A lost region's API server does not answer: its context
    /// reports the error, and the database Service in it cannot be read (no Service view).
    pub fn kube_view(&self) -> KubeView {
        let mut view = self.kube.view(self.t, &self.out, &|t| self.wall(t));
        for c in view.contexts.iter_mut().filter(|c| self.out.contains(&c.context)) {
            c.error = Some(format!(
                "Get \"https://api.{}.eks.example.com/api/v1/pods\": dial tcp: i/o timeout",
                c.context
            ));
            c.last_ok = self.fault_at.map(|t| self.wall(t));
        }
        if view.db_service.as_ref().is_some_and(|s| self.out.contains(&s.context)) {
            view.db_service = None;
        }
        view
    }

    /// What the Database pane shows.
    pub fn database_view(&self) -> DatabaseView {
        self.db.view(self.t, &self.kube, &self.out, &|t| self.wall(t))
    }

    /// What the Sentinel pane shows.
    pub fn sentinel_view(&self) -> SentinelView {
        self.redis.view(self.t, &self.kube, &self.out, &|t| self.wall(t))
    }

    /// What the Traffic pane shows.
    pub fn traffic_view(&self) -> TrafficView {
        let endpoints = self.kube.endpoints(&self.out);
        self.traffic.view(self.t, &self.kube, &self.out, &self.database_view(), &endpoints)
    }

    /// Whether a kube context exists.
    pub(crate) fn has_context(&self, context: &str) -> bool {
        REGIONS.iter().any(|(r, _)| *r == context)
    }
}
