//! The simulated estate used by `warroom drill`: same traits as the real backends.
//!
//! [`Sim`] is the deterministic core (seeded, advanced explicitly); [`DrillEstate`] wraps it
//! for the app: every observation or operation first advances the sim by the real time
//! elapsed since the last one, times the drill speed. Observers and the operator are cheap
//! handles on the same estate.
//!
//! Layout: `estate` (names, addresses, the `warroom.toml` it matches), `kube`, `database`,
//! `sentinel` + `failover`, `traffic` (one simulated system each), `scenario` (scenario files:
//! model, parser, registry), `scenarios` (their listing), `sim` (clock; `sim/timeline` strikes
//! each fault when its trigger holds, `sim/faults` carries each kind out), `operate` (operations), `shift` (the staged `shift-traffic`), `rng` (seeded xorshift).

mod database;
mod dns;
pub mod estate;
mod failover;
mod kube;
mod operate;
pub mod remote;
mod replay;
mod rng;
pub mod scenario;
mod scenarios;
mod sentinel;
mod shift;
mod sim;
mod traffic;

use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use chrono::{DateTime, Utc};
use futures::future::BoxFuture;
use tokio::time::Instant;

pub use replay::{Pauses, Replayed};
pub use scenarios::{ScenarioInfo, scenarios};
pub use sim::Sim;
pub use traffic::ReadyFault;

use scenario::{FaultDef, ScenarioDef};

use crate::backends::model::{DatabaseView, KubeView, SentinelView, TrafficView};
use crate::backends::{Observe, Operate};
use crate::operation::Operation;

/// The sim and the instant it was last brought up to date.
struct Clocked {
    sim: Sim,
    synced: Instant,
    /// Paused by a facilitator since then: nothing advances.
    paused: Option<Instant>,
}

/// A running drill: the simulated estate on a real (speed-scaled) clock. Cheap to clone.
#[derive(Clone)]
pub struct DrillEstate {
    inner: Arc<Mutex<Clocked>>,
    speed: f64,
}

impl std::fmt::Debug for DrillEstate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DrillEstate").field("speed", &self.speed).finish_non_exhaustive()
    }
}

impl DrillEstate {
    /// Start `scenario` at `speed` times real time, seeded by `seed`. Unknown scenarios and
    /// speeds outside (0, 1000] are errors that say what is accepted.
    pub fn new(scenario: &str, speed: f64, seed: u64) -> Result<DrillEstate, String> {
        DrillEstate::from_def(scenario::registry::find(scenario, None)?, speed, seed)
    }

    /// Start the scenario `def` (a built-in or a user file) at `speed`, seeded by `seed`.
    pub fn from_def(def: ScenarioDef, speed: f64, seed: u64) -> Result<DrillEstate, String> {
        let sim = Sim::from_def(def, seed, Utc::now(), speed)?;
        Ok(DrillEstate {
            inner: Arc::new(Mutex::new(Clocked { sim, synced: Instant::now(), paused: None })),
            speed,
        })
    }

    /// The running scenario, as its file says.
    pub fn scenario_def(&self) -> ScenarioDef {
        self.with(|s| s.scenario_def().clone())
    }

    /// Strike `fault` now, whatever its trigger says (a facilitator's injection).
    pub fn inject(&self, fault: &FaultDef) {
        self.with(|s| s.inject(fault));
    }

    /// Lock the sim after advancing it to the present (a poisoned lock is recovered: the
    /// sim holds no invariants a panicking reader could break).
    fn synced(&self) -> MutexGuard<'_, Clocked> {
        let mut g = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        let now = Instant::now();
        let real = now.saturating_duration_since(g.synced);
        g.synced = now;
        if g.paused.is_none() {
            g.sim.advance(real.mul_f64(self.speed));
        }
        g
    }

    /// Pause the drill clock (a facilitator's key): the sim stops advancing until
    /// [`Self::resume`]. Pausing a paused estate changes nothing.
    pub fn pause(&self) {
        let mut g = self.synced();
        if g.paused.is_none() {
            g.paused = Some(g.synced);
        }
    }

    /// Resume the drill clock: the sim advances again from where it stopped, its wall mapping
    /// shifted by the paused length (timestamps it shows stay consistent with drill time).
    /// Returns how long it was paused (`None`: it was running).
    pub fn resume(&self) -> Option<Duration> {
        let mut g = self.synced();
        let since = g.paused.take()?;
        let paused = g.synced.saturating_duration_since(since);
        g.sim.shift_wall(chrono::Duration::from_std(paused).unwrap_or_default());
        Some(paused)
    }

    /// Whether the drill clock is paused.
    pub fn is_paused(&self) -> bool {
        self.inner.lock().unwrap_or_else(|e| e.into_inner()).paused.is_some()
    }

    /// Run `f` on the up-to-date sim.
    fn with<R>(&self, f: impl FnOnce(&mut Sim) -> R) -> R {
        f(&mut self.synced().sim)
    }

    /// The estate described as a `warroom.toml`.
    pub fn config(&self) -> crate::config::Config {
        estate::config()
    }

    /// The Kubernetes observer.
    pub fn kube(&self) -> DrillKube {
        DrillKube(self.clone())
    }

    /// The PostgreSQL observer.
    pub fn database(&self) -> DrillDatabase {
        DrillDatabase(self.clone())
    }

    /// The Sentinel observer.
    pub fn sentinel(&self) -> DrillSentinel {
        DrillSentinel(self.clone())
    }

    /// The Route 53 + HTTP health observer.
    pub fn traffic(&self) -> DrillTraffic {
        DrillTraffic(self.clone())
    }

    /// The operator carrying out runbook operations.
    pub fn operator(&self) -> DrillOperator {
        DrillOperator(self.clone())
    }

    /// When the scenario's fault struck (wall clock), `None` before it and in `calm`.
    pub fn fault_injected_at(&self) -> Option<DateTime<Utc>> {
        self.with(|s| s.fault_injected_at())
    }

    /// When the scenario's fault is scheduled to strike (wall clock), known from the start;
    /// `None` in `calm`. The sim injects it on its first 0.1 s tick at or after this instant,
    /// which [`Self::fault_injected_at`] reports once it happened.
    pub fn fault_scheduled_at(&self) -> Option<DateTime<Utc>> {
        self.with(|s| s.fault_scheduled().map(|t| s.wall(t)))
    }

    /// One line describing the scenario's fault, `None` in `calm`.
    pub fn fault_description(&self) -> Option<&'static str> {
        self.with(|s| s.fault_description())
    }

    /// The running scenario's id and description.
    pub fn scenario(&self) -> &'static ScenarioInfo {
        self.with(|s| s.scenario())
    }

    /// Simulated time since the drill started.
    pub fn sim_elapsed(&self) -> Duration {
        self.with(|s| s.elapsed())
    }

    /// Script (or with `None` clear) a `/health/ready` failure: see [`ReadyFault`]. Lets a
    /// drill or a test fail a shift's health gate during a hold.
    pub fn set_ready_fault(&self, fault: Option<ReadyFault>) {
        self.with(|s| s.traffic.ready_fault = fault);
    }

    /// Script (or with `None` clear) extra propagation lag of simulated name server `server`
    /// (0-3) after each change: `f64::INFINITY` makes it never catch up (`verify-dns` fails).
    pub fn lag_name_server(&self, server: usize, lag: Option<f64>) {
        self.with(|s| s.traffic.dns.lag = lag.map(|l| (server.min(3), l)));
    }

    /// Advance the simulation by `dt` of sim time at once (a fast-forward key, tests).
    pub fn fast_forward(&self, dt: Duration) {
        self.with(|s| s.advance(dt));
    }

    /// Ground truth of the PostgreSQL nodes, read from the sim itself (tests check measured
    /// data loss against it): per node its name, timeline, WAL position (frozen while it is
    /// down or fenced) and the LSN at which its timeline forked (`None` on timeline 1).
    pub fn pg_ground_truth(&self) -> Vec<(String, u32, u64, Option<u64>)> {
        self.with(|s| {
            s.db.nodes.iter().map(|n| (n.spec.name.to_string(), n.timeline, n.lsn, n.fork)).collect()
        })
    }
}

/// Kubernetes observer of a drill.
#[derive(Clone, Debug)]
pub struct DrillKube(DrillEstate);
/// PostgreSQL observer of a drill.
#[derive(Clone, Debug)]
pub struct DrillDatabase(DrillEstate);
/// Sentinel observer of a drill.
#[derive(Clone, Debug)]
pub struct DrillSentinel(DrillEstate);
/// Traffic observer of a drill.
#[derive(Clone, Debug)]
pub struct DrillTraffic(DrillEstate);
/// Operator of a drill.
#[derive(Clone, Debug)]
pub struct DrillOperator(DrillEstate);

macro_rules! observer {
    ($t:ty, $out:ty, $name:literal, $view:ident) => {
        impl Observe for $t {
            type Output = $out;
            fn name(&self) -> &str {
                $name
            }
            fn observe(&self) -> BoxFuture<'_, Result<$out, String>> {
                Box::pin(async move { Ok(self.0.with(|s| s.$view())) })
            }
        }
    };
}

observer!(DrillKube, KubeView, "kube", kube_view);
observer!(DrillDatabase, DatabaseView, "postgres", database_view);
observer!(DrillSentinel, SentinelView, "sentinel", sentinel_view);
observer!(DrillTraffic, TrafficView, "traffic", traffic_view);

/// What a facilitator asks of the hosted estate.
#[derive(Debug, Clone, PartialEq)]
pub enum DrillControl {
    /// Stop the drill clock.
    Pause,
    /// Start it again.
    Resume,
    /// Strike this fault now.
    Inject(FaultDef),
}

impl Operate for DrillOperator {
    fn control(&self, c: &DrillControl) -> Result<String, String> {
        match c {
            DrillControl::Pause => {
                self.0.pause();
                Ok("drill clock paused".into())
            }
            DrillControl::Resume => Ok(match self.0.resume() {
                Some(d) => format!("drill clock resumed after {} s", d.as_secs()),
                None => "drill clock was running".into(),
            }),
            DrillControl::Inject(f) => {
                self.0.inject(f);
                Ok(format!("injected {}", f.kind))
            }
        }
    }

    fn execute(&self, op: &Operation) -> BoxFuture<'_, Result<String, String>> {
        let op = op.clone();
        Box::pin(async move {
            if let Operation::ShiftTraffic { .. } = op {
                return self.shift(&op).await;
            }
            let took = self.0.with(|s| s.begin(&op))?;
            tokio::time::sleep(took.div_f64(self.0.speed)).await;
            self.0.with(|s| s.apply(&op, took))
        })
    }
}

#[cfg(test)]
mod pause_tests {
    use super::DrillEstate;
    use std::time::Duration;

    #[tokio::test(start_paused = true)]
    async fn a_paused_estate_does_not_advance_and_resume_shifts_its_wall_clock() {
        let e = DrillEstate::new("primary-db-down", 1.0, 1).unwrap();
        tokio::time::advance(Duration::from_secs(3)).await;
        let before = e.sim_elapsed();
        let wall_before = e.with(|s| s.now());
        e.pause();
        assert!(e.is_paused());
        tokio::time::advance(Duration::from_secs(20)).await;
        assert_eq!(e.sim_elapsed(), before, "nothing advances while paused");
        assert_eq!(e.with(|s| s.now()), wall_before, "the sim's present maps to the same wall instant");
        assert_eq!(e.resume(), Some(Duration::from_secs(20)));
        assert!(!e.is_paused());
        assert_eq!(e.resume(), None, "resuming a running estate changes nothing");
        let shifted = e.with(|s| s.now());
        assert_eq!(shifted - wall_before, chrono::Duration::seconds(20), "wall mapping shifted by the pause");
        tokio::time::advance(Duration::from_secs(2)).await;
        let after = e.sim_elapsed().as_secs_f64() - before.as_secs_f64();
        assert!((after - 2.0).abs() < 0.11, "advances again after resume: {after}");
    }
}
