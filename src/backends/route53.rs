//! Route 53: the configured record's weighted / failover record sets per region and the
//! status of their health checks (observe), atomic weight changes (operate, in [`weights`])
//! and gradual, health-gated traffic shifts ([`shift`]).
//!
//! The client comes from the standard AWS chain (profile, environment, SSO) pinned to
//! `us-east-1`, the Route 53 control plane, with `route53.endpoint_url` for emulators. The
//! SDK's standard retry mode retries `Throttling` and `PriorRequestNotComplete` with
//! exponential backoff; every attempt has its own timeout so a hung control plane turns into
//! an error instead of a hang.

pub mod dns;
pub mod shift;
pub mod weights;

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::time::Duration;

use aws_config::BehaviorVersion;
use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;
use aws_sdk_route53::Client;
use aws_sdk_route53::config::{Credentials, Region};
use aws_sdk_route53::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};
use aws_sdk_route53::types::{ResourceRecordSet, RrType};
use tokio::sync::OnceCell;

use crate::backends::model::HealthState;
use crate::config::model::{Config, Route53Config};

pub use dns::DnsSettings;
pub use shift::{HealthGate, ShiftOutcome};
pub use weights::{ChangeProgress, Route53Operator, SetWeightsOutcome, parse_weight_spec};

/// The public Route 53 endpoint (shown in previews when no emulator endpoint is configured).
pub const AWS_ROUTE53_ENDPOINT: &str = "https://route53.amazonaws.com";

/// The region every Route 53 control-plane call is signed for.
pub const CONTROL_PLANE_REGION: &str = "us-east-1";

/// The endpoint a [`crate::operation::Operation::SetRoute53Weights`] must name for this
/// configuration: `endpoint_url` when set, else [`AWS_ROUTE53_ENDPOINT`]. The operator refuses
/// an operation that names another endpoint.
pub fn endpoint_label(cfg: &Route53Config) -> String {
    cfg.endpoint_url.clone().unwrap_or_else(|| AWS_ROUTE53_ENDPOINT.to_string())
}

/// How the Route 53 client connects and how long it waits.
#[derive(Debug, Clone)]
pub struct Route53Options {
    /// Static credentials (emulators, tests). `None`: the standard AWS credential chain.
    pub credentials: Option<Credentials>,
    /// Timeout of one HTTP attempt (connect + answer).
    pub attempt_timeout: Duration,
    /// Attempts per call, including the first (throttling and transient errors are retried).
    pub max_attempts: u32,
    /// First retry backoff (doubles with jitter, SDK standard retry mode).
    pub initial_backoff: Duration,
    /// How long a change may stay `PENDING` before the operation fails.
    pub insync_timeout: Duration,
    /// First `GetChange` poll interval (doubles up to `insync_poll_max`).
    pub insync_poll: Duration,
    /// Longest interval between two `GetChange` polls.
    pub insync_poll_max: Duration,
}

impl Default for Route53Options {
    fn default() -> Self {
        Route53Options {
            credentials: None,
            attempt_timeout: Duration::from_secs(5),
            max_attempts: 5,
            initial_backoff: Duration::from_millis(200),
            insync_timeout: Duration::from_secs(180),
            insync_poll: Duration::from_secs(1),
            insync_poll_max: Duration::from_secs(10),
        }
    }
}

/// A configured region as Route 53 knows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegionTarget {
    /// Region name.
    pub name: String,
    /// Configured role.
    pub role: String,
    /// SetIdentifier of its record set (default: the region name).
    pub set_identifier: String,
    /// Health check configured for the region (else the record set's own).
    pub health_check_id: Option<String>,
}

/// One record set of the configured record, as Route 53 holds it.
#[derive(Debug, Clone, PartialEq)]
pub struct RecordSetFacts {
    /// Configured region it belongs to (`None`: a SetIdentifier no region is configured for).
    pub region: Option<String>,
    /// SetIdentifier.
    pub set_identifier: String,
    /// Weight (weighted routing). Route 53 allows 0-255.
    pub weight: Option<i64>,
    /// `PRIMARY` / `SECONDARY` (failover routing).
    pub failover: Option<String>,
    /// TTL in seconds (absent for alias records).
    pub ttl: Option<i64>,
    /// Record values.
    pub values: Vec<String>,
    /// Alias target DNS name, for alias records.
    pub alias: Option<String>,
    /// Health check id attached to the record set.
    pub health_check_id: Option<String>,
    /// The record set exactly as listed (kept so an UPSERT changes only the weight).
    pub raw: ResourceRecordSet,
}

/// A health check's status: healthy checkers of total.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HealthCheckFacts {
    /// Health check id.
    pub id: String,
    /// Derived state (Route 53 calls an endpoint healthy when more than 18 % of checkers do).
    pub state: HealthState,
    /// Healthy checkers, total checkers.
    pub checkers: Option<(u16, u16)>,
    /// Error fetching the status.
    pub error: Option<String>,
}

/// One observation of Route 53.
#[derive(Debug, Clone, PartialEq)]
pub struct Route53Observation {
    /// Record sets of the configured name and type, in listing order.
    pub record_sets: Vec<RecordSetFacts>,
    /// Health check status by id.
    pub health: BTreeMap<String, HealthCheckFacts>,
}

impl Route53Observation {
    /// The record set of a configured region.
    pub fn for_region(&self, region: &str) -> Option<&RecordSetFacts> {
        self.record_sets.iter().find(|r| r.region.as_deref() == Some(region))
    }
}

/// Errors talking to Route 53 or refusing to.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Route53Error {
    /// The request was refused before any call (bad weights, wrong target).
    #[error("refused before any Route 53 call: {0}")]
    Refused(String),
    /// A Route 53 call failed.
    #[error("Route 53 {call} failed: {detail}")]
    Api {
        /// The API call, e.g. `ListResourceRecordSets`.
        call: &'static str,
        /// Error code and message, or why the endpoint could not be reached.
        detail: String,
    },
    /// The change was submitted but did not reach `INSYNC` in time.
    #[error(
        "change {change_id} was submitted but is still PENDING after {waited_ms} ms: not confirmed, \
         check it with GetChange before retrying"
    )]
    StuckPending {
        /// Route 53 change id.
        change_id: String,
        /// How long it was polled.
        waited_ms: u128,
    },
    /// The change was submitted but its status could not be read.
    #[error("change {change_id} was submitted but its status could not be confirmed: {detail}")]
    Unconfirmed {
        /// Route 53 change id.
        change_id: String,
        /// Why.
        detail: String,
    },
}

/// Route 53 access for one configured record: observation and weight changes share it.
#[derive(Debug)]
pub struct Route53Api {
    zone: String,
    record: String,
    record_type: RrType,
    endpoint_url: Option<String>,
    regions: Vec<RegionTarget>,
    options: Route53Options,
    client: OnceCell<Client>,
    last_seen: Mutex<Option<Route53Observation>>,
}

impl Route53Api {
    /// Route 53 access for `config`'s `[route53]` section and regions; `None` when Route 53 is
    /// not configured. The SDK client is built lazily on the first call.
    pub fn from_config(config: &Config, options: Route53Options) -> Option<Route53Api> {
        let r53 = config.route53.as_ref()?;
        let regions = config
            .regions
            .iter()
            .map(|r| RegionTarget {
                name: r.name.clone(),
                role: r.role.clone(),
                set_identifier: r.set_identifier.clone().unwrap_or_else(|| r.name.clone()),
                health_check_id: r.health_check_id.clone(),
            })
            .collect();
        Some(Route53Api {
            zone: r53.hosted_zone_id.clone(),
            record: normalize_name(&r53.record),
            record_type: RrType::from(r53.record_type.to_ascii_uppercase().as_str()),
            endpoint_url: r53.endpoint_url.clone(),
            regions,
            options,
            client: OnceCell::new(),
            last_seen: Mutex::new(None),
        })
    }

    /// Hosted zone id.
    pub fn zone(&self) -> &str {
        &self.zone
    }

    /// Record name, lower case with a trailing dot.
    pub fn record(&self) -> &str {
        &self.record
    }

    /// Endpoint calls go to (see [`endpoint_label`]).
    pub fn endpoint(&self) -> String {
        self.endpoint_url.clone().unwrap_or_else(|| AWS_ROUTE53_ENDPOINT.to_string())
    }

    /// Configured regions with their SetIdentifiers.
    pub fn regions(&self) -> &[RegionTarget] {
        &self.regions
    }

    /// Options in force.
    pub fn options(&self) -> &Route53Options {
        &self.options
    }

    /// The last successful observation (used for previews).
    pub fn last_seen(&self) -> Option<Route53Observation> {
        self.last_seen.lock().map(|g| g.clone()).unwrap_or_default()
    }

    async fn client(&self) -> &Client {
        self.client
            .get_or_init(|| async {
                let timeouts = TimeoutConfig::builder()
                    .connect_timeout(self.options.attempt_timeout)
                    .operation_attempt_timeout(self.options.attempt_timeout)
                    .build();
                let retry = RetryConfig::standard()
                    .with_max_attempts(self.options.max_attempts.max(1))
                    .with_initial_backoff(self.options.initial_backoff);
                let mut loader = aws_config::defaults(BehaviorVersion::latest())
                    .region(Region::from_static(CONTROL_PLANE_REGION))
                    .timeout_config(timeouts)
                    .retry_config(retry);
                if let Some(url) = &self.endpoint_url {
                    loader = loader.endpoint_url(url);
                }
                if let Some(creds) = &self.options.credentials {
                    loader = loader.credentials_provider(creds.clone());
                }
                Client::new(&loader.load().await)
            })
            .await
    }

    /// Read the record sets of the configured record and the status of every health check
    /// that applies to a configured region.
    pub async fn observe(&self) -> Result<Route53Observation, Route53Error> {
        let record_sets = self.list_record_sets().await?;
        let mut ids: Vec<String> = Vec::new();
        for region in &self.regions {
            let from_record = record_sets
                .iter()
                .find(|r| r.region.as_deref() == Some(region.name.as_str()))
                .and_then(|r| r.health_check_id.clone());
            if let Some(id) = region.health_check_id.clone().or(from_record)
                && !ids.contains(&id)
            {
                ids.push(id);
            }
        }
        let statuses = futures::future::join_all(ids.iter().map(|id| self.health_check(id))).await;
        let health = ids.into_iter().zip(statuses).collect();
        let obs = Route53Observation { record_sets, health };
        if let Ok(mut g) = self.last_seen.lock() {
            *g = Some(obs.clone());
        }
        Ok(obs)
    }

    /// All record sets named like the configured record with its type (follows pagination).
    pub async fn list_record_sets(&self) -> Result<Vec<RecordSetFacts>, Route53Error> {
        let client = self.client().await;
        let mut out = Vec::new();
        let mut next: Option<(String, RrType, Option<String>)> =
            Some((self.record.clone(), self.record_type.clone(), None));
        while let Some((name, rtype, ident)) = next.take() {
            let resp = client
                .list_resource_record_sets()
                .hosted_zone_id(&self.zone)
                .start_record_name(name)
                .start_record_type(rtype)
                .set_start_record_identifier(ident)
                .send()
                .await
                .map_err(|e| self.api_error("ListResourceRecordSets", e))?;
            let mut past_record = false;
            for rrs in resp.resource_record_sets() {
                if normalize_name(rrs.name()) != self.record || rrs.r#type() != &self.record_type {
                    past_record = true;
                    continue;
                }
                out.push(self.facts(rrs));
            }
            if resp.is_truncated() && !past_record {
                let same_name =
                    resp.next_record_name().map(normalize_name).as_deref() == Some(self.record.as_str());
                if same_name && resp.next_record_type() == Some(&self.record_type) {
                    next = Some((
                        self.record.clone(),
                        self.record_type.clone(),
                        resp.next_record_identifier().map(str::to_string),
                    ));
                }
            }
        }
        Ok(out)
    }

    fn facts(&self, rrs: &ResourceRecordSet) -> RecordSetFacts {
        let ident = rrs.set_identifier().unwrap_or_default().to_string();
        RecordSetFacts {
            region: self.regions.iter().find(|r| r.set_identifier == ident).map(|r| r.name.clone()),
            set_identifier: ident,
            weight: rrs.weight(),
            failover: rrs.failover().map(|f| f.as_str().to_string()),
            ttl: rrs.ttl(),
            values: rrs.resource_records().iter().map(|v| v.value().to_string()).collect(),
            alias: rrs.alias_target().map(|a| a.dns_name().to_string()),
            health_check_id: rrs.health_check_id().map(str::to_string),
            raw: rrs.clone(),
        }
    }

    /// `GetHealthCheckStatus` for one health check; errors are kept in the result.
    pub async fn health_check(&self, id: &str) -> HealthCheckFacts {
        let client = self.client().await;
        match client.get_health_check_status().health_check_id(id).send().await {
            Ok(resp) => {
                let statuses: Vec<Option<&str>> = resp
                    .health_check_observations()
                    .iter()
                    .map(|o| o.status_report().and_then(|s| s.status()))
                    .collect();
                let (state, checkers) = health_from_statuses(&statuses);
                HealthCheckFacts { id: id.to_string(), state, checkers, error: None }
            }
            Err(e) => HealthCheckFacts {
                id: id.to_string(),
                state: HealthState::Unknown,
                checkers: None,
                error: Some(self.api_error("GetHealthCheckStatus", e).to_string()),
            },
        }
    }

    fn api_error<E, R>(&self, call: &'static str, err: SdkError<E, R>) -> Route53Error
    where
        E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
        R: std::fmt::Debug,
    {
        Route53Error::Api { call, detail: describe_sdk_error(&err, &self.zone, &self.endpoint()) }
    }
}

/// A one-line description of an SDK error: the service's code and message, or why the
/// endpoint could not be reached.
pub fn describe_sdk_error<E, R>(err: &SdkError<E, R>, zone: &str, endpoint: &str) -> String
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    R: std::fmt::Debug,
{
    match err {
        SdkError::ServiceError(s) => {
            let e = s.err();
            let code = e.code().unwrap_or("UnknownError");
            let msg = e.message().unwrap_or("no message");
            match code {
                "NoSuchHostedZone" => format!("hosted zone {zone} does not exist ({code}: {msg})"),
                "NoSuchHealthCheck" => format!("health check does not exist ({code}: {msg})"),
                _ => format!("{code}: {msg}"),
            }
        }
        SdkError::TimeoutError(_) => format!("no answer from {endpoint} in time"),
        SdkError::DispatchFailure(_) => {
            format!("cannot reach {endpoint}: {}", DisplayErrorContext(err))
        }
        _ => format!("{}", DisplayErrorContext(err)),
    }
}

/// Health from the checkers' status reports: `Success...` counts as healthy. Route 53 treats
/// an endpoint as healthy when more than 18 % of its checkers report it healthy; no report at
/// all is [`HealthState::Unknown`].
pub fn health_from_statuses(statuses: &[Option<&str>]) -> (HealthState, Option<(u16, u16)>) {
    let total = u16::try_from(statuses.len()).unwrap_or(u16::MAX);
    if total == 0 {
        return (HealthState::Unknown, None);
    }
    let healthy = statuses.iter().filter(|s| s.is_some_and(|s| s.starts_with("Success"))).count();
    let healthy = u16::try_from(healthy).unwrap_or(u16::MAX);
    let state = if u32::from(healthy) * 100 > 18 * u32::from(total) {
        HealthState::Healthy
    } else {
        HealthState::Unhealthy
    };
    (state, Some((healthy, total)))
}

/// Lower-case a DNS name and make it absolute (trailing dot), as Route 53 lists names.
pub fn normalize_name(name: &str) -> String {
    let lower = name.trim().to_ascii_lowercase();
    if lower.ends_with('.') { lower } else { format!("{lower}.") }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn health_follows_the_18_percent_rule() {
        let ok = Some("Success: HTTP Status Code 200, OK");
        let bad = Some("Failure: Connection timed out.");
        assert_eq!(health_from_statuses(&[]), (HealthState::Unknown, None));
        assert_eq!(health_from_statuses(&[ok, bad, bad]), (HealthState::Healthy, Some((1, 3))));
        let mostly_bad = [ok, bad, bad, bad, bad, bad, bad, bad, bad, bad];
        assert_eq!(health_from_statuses(&mostly_bad), (HealthState::Unhealthy, Some((1, 10))));
        assert_eq!(health_from_statuses(&[None, bad]), (HealthState::Unhealthy, Some((0, 2))));
    }

    #[test]
    fn names_are_normalized() {
        assert_eq!(normalize_name("API.Example.com"), "api.example.com.");
        assert_eq!(normalize_name("api.example.com."), "api.example.com.");
    }

    #[test]
    fn endpoint_label_prefers_the_emulator() {
        let mut cfg = Route53Config::default();
        assert_eq!(endpoint_label(&cfg), AWS_ROUTE53_ENDPOINT);
        cfg.endpoint_url = Some("http://127.0.0.1:5000".into());
        assert_eq!(endpoint_label(&cfg), "http://127.0.0.1:5000");
    }
}
