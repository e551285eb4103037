//! The deterministic simulation core: a seeded estate advanced by [`Sim::advance`], with the
//! scenario's faults struck on the sim clock when their triggers hold (`timeline`) and carried
//! out layer by layer (`faults`). No wall clock, no I/O: fully unit-testable.

mod faults;
mod timeline;

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};

use super::database::Database;
use super::estate::REGIONS;
use super::kube::{Kube, Outage};
use super::rng::Rng;
use super::scenario::parse::BASE_PODS;
use super::scenario::registry::find;
use super::scenario::{FaultDef, ScenarioDef};
use super::scenarios::{ScenarioInfo, info};
use super::sentinel::Redis;
use super::traffic::Traffic;
use crate::backends::model::{DatabaseView, KubeView, SentinelView, TrafficView};
use timeline::Timeline;

/// Simulation step: long advances are cut into ticks of this many seconds.
const TICK_S: f64 = 0.1;
/// Most ticks one `advance` runs (a laptop waking up after hours must not stall the UI).
const MAX_TICKS: f64 = 200_000.0;

/// The simulated estate: Kubernetes, PostgreSQL, Redis/Sentinel and traffic, on one clock.
#[derive(Debug, Clone)]
pub struct Sim {
    pub(crate) t: f64,
    origin: DateTime<Utc>,
    speed: f64,
    pub(crate) rng: Rng,
    def: Arc<ScenarioDef>,
    timeline: Timeline,
    pub(crate) out: Outage,
    pub(crate) kube: Kube,
    pub(crate) db: Database,
    pub(crate) redis: Redis,
    pub(crate) traffic: Traffic,
}

impl Sim {
    /// A new estate running the built-in scenario `scenario` (or a scenario file, given as a
    /// path), seeded by `seed`. Sim time 0 is wall time `origin`; later sim instants map to
    /// `origin + t / speed` (the drill runs `speed` times faster than the wall clock), earlier
    /// ones (pod creation days ago) to `origin + t`.
    pub fn new(scenario: &str, seed: u64, origin: DateTime<Utc>, speed: f64) -> Result<Sim, String> {
        Sim::from_def(find(scenario, None)?, seed, origin, speed)
    }

    /// A new estate running `def` (see [`Sim::new`]).
    pub fn from_def(def: ScenarioDef, seed: u64, origin: DateTime<Utc>, speed: f64) -> Result<Sim, String> {
        if !(speed.is_finite() && speed > 0.0 && speed <= 1000.0) {
            return Err(format!("drill speed must be a number in (0, 1000], got {speed}"));
        }
        let mut rng = Rng::new(seed);
        let mut kube = Kube::new(&mut rng);
        let db = Database::new(&mut rng);
        let redis = Redis::new(&mut rng);
        let traffic = Traffic::new(&mut rng);
        if let Some(pods) = def.estate.pods.filter(|p| *p > BASE_PODS) {
            kube.add_batch(&mut rng, pods - BASE_PODS);
        }
        Ok(Sim {
            t: 0.0,
            origin,
            speed,
            rng,
            timeline: Timeline::new(&def.faults),
            def: Arc::new(def),
            out: Outage::new(),
            kube,
            db,
            redis,
            traffic,
        })
    }

    /// The running scenario.
    pub fn scenario_def(&self) -> &ScenarioDef {
        &self.def
    }

    /// The running scenario's listing entry.
    pub fn scenario(&self) -> &'static ScenarioInfo {
        info(&self.def)
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

    /// Shift the wall mapping by `d` (a resumed pause: every sim instant maps `d` later, so
    /// ages and timers read as if the paused time never passed).
    pub fn shift_wall(&mut self, d: chrono::Duration) {
        self.origin += d;
    }

    /// Wall-clock time of the sim's present.
    pub fn now(&self) -> DateTime<Utc> {
        self.wall(self.t)
    }

    /// Sim time of the first fault with a time trigger (`at`), known from the start; `None`
    /// when no fault has one (a calm estate, or only conditional faults).
    pub fn fault_scheduled(&self) -> Option<f64> {
        self.def.faults.iter().filter_map(|f| f.at).map(|d| d.as_secs_f64()).reduce(f64::min)
    }

    /// When the first fault struck (wall clock), `None` before it.
    pub fn fault_injected_at(&self) -> Option<DateTime<Utc>> {
        self.timeline.first_struck().map(|t| self.wall(t))
    }

    /// One line describing the scenario's faults, `None` when it has none.
    pub fn fault_description(&self) -> Option<&'static str> {
        (!self.def.faults.is_empty()).then(|| self.scenario().description)
    }

    /// Strike `fault` now, whatever its trigger (a facilitator's injection).
    pub fn inject(&mut self, fault: &FaultDef) {
        let i = self.timeline.push(fault.clone());
        self.mark_struck(i, self.t);
        self.strike(i, self.t);
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
        self.flap(now);
        let before = self.db.streams(&self.kube, &self.out);
        self.kube.tick(now, &mut self.rng, &self.out);
        let endpoints = self.kube.endpoints(&self.out);
        self.db.tick(now, dt, &mut self.rng, &self.kube, &self.out, &endpoints);
        self.db.note_connections(&before, now, &self.kube, &self.out);
        self.redis.tick(now, dt, &mut self.rng, &self.kube, &self.out);
        self.traffic.tick(dt, &self.kube, &self.out);
    }

    /// What the Pods pane shows. A context whose API server does not answer (region lost or
    /// API down) reports the error with the last time it answered; the database Service in it
    /// cannot be read (no Service view).
    pub fn kube_view(&self) -> KubeView {
        let mut view = self.kube.view(self.t, &self.out, &|t| self.wall(t));
        for c in &mut view.contexts {
            if let Some(since) = self.out.api_silent_since(&c.context) {
                c.error = Some(format!(
                    "Get \"https://api.{}.eks.example.com/api/v1/pods\": dial tcp: i/o timeout",
                    c.context
                ));
                c.last_ok = Some(self.wall(since));
            }
        }
        if view.db_service.as_ref().is_some_and(|s| self.out.api_silent_since(&s.context).is_some()) {
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

#[cfg(test)]
mod tests;
