//! The Traffic layer: Route 53 weights and health checks plus each region's HTTP probes,
//! combined into one [`TrafficView`].
//!
//! Route 53 and every probe run concurrently, each under its own timeout: a hung probe marks
//! only that region's probe as an error, and a Route 53 control-plane failure only sets
//! [`TrafficView::control_plane_error`] (the data plane, health-check-based failover, still
//! works without it).

use std::sync::Arc;
use std::time::Duration;

use futures::future::{BoxFuture, join, join_all};

use crate::backends::Observe;
use crate::backends::http::HttpProber;
use crate::backends::model::{HealthState, Probe, RegionTraffic, TrafficView};
use crate::backends::route53::{
    Route53Api, Route53Error, Route53Observation, Route53Operator, Route53Options,
};
use crate::config::model::{Config, PollingConfig};

/// Role shown for a record set whose SetIdentifier matches no configured region.
pub const UNCONFIGURED_ROLE: &str = "unconfigured";

/// Timeouts of one traffic observation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TrafficTimeouts {
    /// Whole Route 53 observation (records and health checks).
    pub route53: Duration,
    /// One HTTP probe.
    pub probe: Duration,
}

impl TrafficTimeouts {
    /// Timeouts that fit inside the poller's: 80 % of `timeout_ms`, so a partial view (with
    /// the slow parts marked) is returned before the poller gives up on the whole poll.
    pub fn from_polling(polling: &PollingConfig) -> TrafficTimeouts {
        let inner =
            Duration::from_millis(polling.timeout_ms.saturating_mul(4) / 5).max(Duration::from_millis(100));
        TrafficTimeouts { route53: inner, probe: inner }
    }
}

/// One configured region's probe URLs.
#[derive(Debug, Clone, PartialEq, Eq)]
struct RegionProbes {
    name: String,
    role: String,
    health_check_id: Option<String>,
    live: Option<String>,
    ready: Option<String>,
}

/// Observes the Traffic layer of a configuration.
#[derive(Debug)]
pub struct TrafficObserver {
    record: String,
    regions: Vec<RegionProbes>,
    route53: Option<Arc<Route53Api>>,
    prober: HttpProber,
    route53_timeout: Duration,
}

impl TrafficObserver {
    /// An observer for `config` using the standard AWS credential chain.
    pub fn new(config: &Config, timeouts: TrafficTimeouts) -> Result<TrafficObserver, String> {
        let options = Route53Options { attempt_timeout: timeouts.route53, ..Route53Options::default() };
        TrafficObserver::with_route53_options(config, timeouts, options)
    }

    /// An observer with explicit Route 53 options (static credentials for emulators, retries).
    pub fn with_route53_options(
        config: &Config,
        timeouts: TrafficTimeouts,
        options: Route53Options,
    ) -> Result<TrafficObserver, String> {
        let regions = config
            .regions
            .iter()
            .map(|r| RegionProbes {
                name: r.name.clone(),
                role: r.role.clone(),
                health_check_id: r.health_check_id.clone(),
                live: r.health_live.clone(),
                ready: r.health_ready.clone(),
            })
            .collect();
        Ok(TrafficObserver {
            record: config.route53.as_ref().map(|r| r.record.clone()).unwrap_or_default(),
            regions,
            route53: Route53Api::from_config(config, options).map(Arc::new),
            prober: HttpProber::new(timeouts.probe)?,
            route53_timeout: timeouts.route53,
        })
    }

    /// The Route 53 access (shared with the operator so previews use the last observation).
    pub fn route53(&self) -> Option<Arc<Route53Api>> {
        self.route53.clone()
    }

    /// An operator for `set-weights` sharing this observer's Route 53 access.
    pub fn operator(&self) -> Option<Route53Operator> {
        self.route53.clone().map(Route53Operator::new)
    }

    /// Take one observation (never fails: failures are inside the view).
    pub async fn observe_view(&self) -> TrafficView {
        let route53 = async {
            let api = self.route53.as_ref()?;
            Some(match tokio::time::timeout(self.route53_timeout, api.observe()).await {
                Ok(r) => r,
                Err(_) => Err(Route53Error::Api {
                    call: "ListResourceRecordSets",
                    detail: format!("no answer within {} ms", self.route53_timeout.as_millis()),
                }),
            })
        };
        let probes = join_all(
            self.regions.iter().map(|r| join(self.probe(r.live.as_deref()), self.probe(r.ready.as_deref()))),
        );
        let (route53, probes) = join(route53, probes).await;
        self.build_view(route53, probes)
    }

    async fn probe(&self, url: Option<&str>) -> Option<Probe> {
        match url {
            Some(u) => Some(self.prober.probe(u).await),
            None => None,
        }
    }

    fn build_view(
        &self,
        route53: Option<Result<Route53Observation, Route53Error>>,
        probes: Vec<(Option<Probe>, Option<Probe>)>,
    ) -> TrafficView {
        let mut errors: Vec<String> = Vec::new();
        let obs = match route53 {
            Some(Ok(o)) => Some(o),
            Some(Err(e)) => {
                errors.push(e.to_string());
                None
            }
            None => None,
        };
        let mut regions: Vec<RegionTraffic> = self
            .regions
            .iter()
            .zip(probes)
            .map(|(r, (live, ready))| {
                let mut row = empty_row(&r.name, &r.role);
                row.live = live;
                row.ready = ready;
                if let Some(o) = &obs {
                    fill_route53(&mut row, o, r.health_check_id.as_deref(), &mut errors);
                }
                row
            })
            .collect();
        if let Some(o) = &obs {
            for facts in o.record_sets.iter().filter(|f| f.region.is_none()) {
                let mut row = empty_row(&facts.set_identifier, UNCONFIGURED_ROLE);
                row.weight = weight_u8(&facts.set_identifier, facts.weight, &mut errors);
                row.failover_role = facts.failover.clone();
                regions.push(row);
            }
        }
        let ttl = obs
            .as_ref()
            .and_then(|o| o.record_sets.iter().filter_map(|f| f.ttl).max())
            .and_then(|t| u32::try_from(t).ok());
        TrafficView {
            record: self.record.clone(),
            ttl,
            regions,
            control_plane_error: if errors.is_empty() { None } else { Some(errors.join("; ")) },
        }
    }
}

impl Observe for TrafficObserver {
    type Output = TrafficView;

    fn name(&self) -> &str {
        "traffic"
    }

    fn observe(&self) -> BoxFuture<'_, Result<TrafficView, String>> {
        Box::pin(async move { Ok(self.observe_view().await) })
    }
}

fn empty_row(name: &str, role: &str) -> RegionTraffic {
    RegionTraffic {
        name: name.to_string(),
        role: role.to_string(),
        weight: None,
        failover_role: None,
        health_check: HealthState::Unknown,
        checkers: None,
        live: None,
        ready: None,
        deploy_ready: None,
    }
}

fn fill_route53(
    row: &mut RegionTraffic,
    obs: &Route53Observation,
    configured_check: Option<&str>,
    errors: &mut Vec<String>,
) {
    let facts = obs.for_region(&row.name);
    if let Some(f) = facts {
        row.weight = weight_u8(&f.set_identifier, f.weight, errors);
        row.failover_role = f.failover.clone();
    }
    let check = configured_check.or(facts.and_then(|f| f.health_check_id.as_deref()));
    if let Some(h) = check.and_then(|id| obs.health.get(id)) {
        row.health_check = h.state;
        row.checkers = h.checkers;
        if let Some(e) = &h.error {
            errors.push(format!("{}: {e}", row.name));
        }
    }
}

fn weight_u8(ident: &str, weight: Option<i64>, errors: &mut Vec<String>) -> Option<u8> {
    let w = weight?;
    match u8::try_from(w) {
        Ok(w) => Some(w),
        Err(_) => {
            errors.push(format!("record set {ident} has weight {w}, outside Route 53's 0-255"));
            None
        }
    }
}
