//! The live estate: real backends built from `warroom.toml`, one poller per configured layer.
//!
//! A layer that is not configured is a constant `not_configured` snapshot and its operations
//! are refused with that reason. A layer whose client cannot even be built (a kubeconfig
//! without the configured context, say) shows as failed with the error; the others run.

use std::sync::Arc;
use std::time::Duration;

use futures::future::BoxFuture;
use tokio::sync::watch;

use super::Sources;
use super::kube::{self as kube_backend, KubeOperator};
use super::poller::{self, PollerConfig};
use super::postgres::{PgTimeouts, PostgresObserver, PostgresOperator};
use super::route53::{HealthGate, Route53Operator};
use super::sentinel::{SentinelObserver, SentinelOperator};
use super::traffic::{TrafficObserver, TrafficTimeouts};
use super::{Freshness, Operate, Snapshot};
use crate::config::Config;
use crate::operation::Operation;
use crate::operation::access::{AccessAnswer, AccessRequest};

/// Watch events publish a Kubernetes snapshot at most this often: each copies and sorts every
/// pod, and the core diffs and draws it, so a rollout storm (hundreds of pod events a second on
/// tens of thousands of pods) would otherwise keep the console busy and keys waiting. Adds at
/// most this much to watch event -> pane.
const KUBE_POKE_GAP: Duration = Duration::from_millis(100);

/// Sources and the operator of the live estate.
pub struct LiveEstate {
    /// One watch receiver per layer.
    pub sources: Sources,
    /// Executes confirmed operations on the right backend.
    pub operator: Arc<dyn Operate>,
}

/// Routes each operation to the backend of its layer.
#[derive(Default)]
pub struct LiveOperator {
    postgres: Option<PostgresOperator>,
    sentinel: Option<SentinelOperator>,
    kube: Option<KubeOperator>,
    route53: Option<Route53Operator>,
}

fn not_configured(layer: &str) -> BoxFuture<'static, Result<String, String>> {
    let msg = format!("{layer} is not configured in warroom.toml: nothing was done");
    Box::pin(async move { Err(msg) })
}

impl Operate for LiveOperator {
    fn execute(&self, op: &Operation) -> BoxFuture<'_, Result<String, String>> {
        match op {
            Operation::Manual { .. } => {
                Box::pin(async { Ok("manual step ticked by the operator".to_string()) })
            }
            Operation::Assert { check } => {
                let msg = format!("read-only: {} (judged on the panes' snapshots)", check.title());
                Box::pin(async move { Ok(msg) })
            }
            Operation::CheckPrimary
            | Operation::PromotePostgres { .. }
            | Operation::FencePostgres { .. }
            | Operation::VerifyWrites { .. } => match &self.postgres {
                Some(o) => o.execute(op),
                None => not_configured("[postgres]"),
            },
            Operation::SentinelFailover { .. } => match &self.sentinel {
                Some(o) => o.execute(op),
                None => not_configured("[sentinel]"),
            },
            Operation::PatchServiceSelector { .. }
            | Operation::LabelPod { .. }
            | Operation::ScaleDeployment { .. }
            | Operation::RollbackDeployment { .. }
            | Operation::ExecPromote { .. } => match &self.kube {
                Some(o) => o.execute(op),
                None => not_configured("Kubernetes"),
            },
            Operation::SetRoute53Weights { .. }
            | Operation::ShiftTraffic { .. }
            | Operation::VerifyDns { .. } => match &self.route53 {
                Some(o) => o.execute(op),
                None => not_configured("[route53]"),
            },
        }
    }

    /// Every access question is a Kubernetes one today.
    fn check_access(&self, requests: &[AccessRequest]) -> BoxFuture<'_, Vec<AccessAnswer>> {
        match &self.kube {
            Some(o) => Operate::check_access(o, requests),
            None => {
                let error = "Kubernetes is not configured: nothing to ask".to_string();
                let n = requests.len();
                Box::pin(async move { vec![AccessAnswer::Unknown { error }; n] })
            }
        }
    }
}

fn constant<T: Send + Sync + 'static>(snap: Snapshot<T>) -> watch::Receiver<Arc<Snapshot<T>>> {
    let (tx, rx) = watch::channel(Arc::new(snap));
    // Keep the sender alive for the life of the process so the receiver never reports closed.
    std::mem::forget(tx);
    rx
}

fn failed<T: Send + Sync + 'static>(error: String) -> watch::Receiver<Arc<Snapshot<T>>> {
    constant(Snapshot { value: None, fetched_at: None, freshness: Freshness::Failed { error } })
}

/// Whether Kubernetes is configured (a `[kubernetes]` section or a region with a kube context).
pub fn kube_configured(cfg: &Config) -> bool {
    cfg.kubernetes.is_some() || cfg.regions.iter().any(|r| r.kube_context.is_some())
}

/// Build every configured layer. Must run inside the tokio runtime (pollers are tasks).
pub async fn build(cfg: &Arc<Config>) -> LiveEstate {
    let base = PollerConfig::from_config(&cfg.polling);
    let per_call = base.timeout;
    let mut op = LiveOperator::default();

    let database = match cfg.postgres.as_ref().filter(|p| !p.nodes.is_empty()) {
        Some(pg) => {
            let t = PgTimeouts { connect_timeout: per_call, statement_timeout: per_call };
            op.postgres = Some(PostgresOperator::new(pg, t));
            // Each node has its own deadline; the poll as a whole gets a little more so one hung
            // node marks only its own row.
            let pc = PollerConfig { timeout: t.worst_case() + Duration::from_millis(500), ..base };
            poller::spawn(PostgresObserver::new(pg, t), pc, None)
        }
        None => constant(Snapshot::not_configured()),
    };

    let sentinel = match cfg.sentinel.as_ref().filter(|s| !s.addrs.is_empty()) {
        Some(sc) => {
            op.sentinel = Some(SentinelOperator::new(sc, per_call));
            let obs = SentinelObserver::new(sc, per_call);
            obs.start();
            let poke = obs.notify_handle();
            let pc = PollerConfig { timeout: obs.worst_case() + Duration::from_millis(500), ..base };
            poller::spawn(obs, pc, Some(poke))
        }
        None => constant(Snapshot::not_configured()),
    };

    let kube = if kube_configured(cfg) {
        match kube_backend::connect(cfg).await {
            Ok((obs, kop)) => {
                op.kube = Some(kop);
                let poke = obs.notify_handle();
                poller::spawn_coalesced(obs, base, poke, KUBE_POKE_GAP)
            }
            Err(e) => failed(format!("cannot build Kubernetes clients: {e}")),
        }
    } else {
        constant(Snapshot::not_configured())
    };

    let traffic_configured = cfg.route53.is_some()
        || cfg.regions.iter().any(|r| r.health_live.is_some() || r.health_ready.is_some());
    let traffic = if traffic_configured {
        match TrafficObserver::new(cfg, TrafficTimeouts::from_polling(&cfg.polling)) {
            Ok(obs) => {
                // shift-traffic's hold probes each region's /health/ready like the observer.
                let dns = super::route53::DnsSettings::from_config(cfg);
                op.route53 = obs.operator().map(|o| o.with_dns(dns)).map(|o| {
                    match HealthGate::from_config(cfg, per_call) {
                        Ok(gate) => o.with_health_gate(gate),
                        Err(e) => {
                            tracing::warn!("no health gate for shift-traffic (shifts will be refused): {e}");
                            o
                        }
                    }
                });
                poller::spawn(
                    obs,
                    PollerConfig { timeout: per_call + Duration::from_millis(500), ..base },
                    None,
                )
            }
            Err(e) => failed(format!("cannot build the traffic clients: {e}")),
        }
    } else {
        constant(Snapshot::not_configured())
    };

    LiveEstate { sources: Sources { kube, database, sentinel, traffic }, operator: Arc::new(op) }
}
