//! `verify-dns` against the live estate: the name servers (`[route53] name_servers`, else the
//! hosted zone's delegation set from `GetHostedZone`, resolved with the system resolver), the
//! expected answer from the record sets Route 53 holds, then [`crate::backends::dns`].

use std::time::Duration;

use super::{Route53Api, Route53Error, Route53Operator};
use crate::backends::dns::check::DEFAULT_SAMPLES;
use crate::backends::dns::probe::record_type;
use crate::backends::dns::{DnsCheck, Expected, NameServer, resolve};
use crate::config::model::Config;

/// How the DNS verification asks.
#[derive(Debug, Clone)]
pub struct DnsSettings {
    /// `[route53] name_servers` (empty: the delegation set).
    pub name_servers: Vec<String>,
    /// Timeout of one query.
    pub query_timeout: Duration,
    /// Pause between two rounds for servers that do not agree yet.
    pub retry_interval: Duration,
    /// Queries per server and round for a weighted record.
    pub samples: u32,
}

impl DnsSettings {
    /// From `[route53]` and `[polling]` (a query gets the poll timeout).
    pub fn from_config(cfg: &Config) -> DnsSettings {
        DnsSettings {
            name_servers: cfg.route53.as_ref().map(|r| r.name_servers.clone()).unwrap_or_default(),
            query_timeout: Duration::from_millis(cfg.polling.timeout_ms.clamp(100, 10_000)),
            retry_interval: Duration::from_secs(1),
            samples: DEFAULT_SAMPLES,
        }
    }
}

impl Default for DnsSettings {
    fn default() -> Self {
        DnsSettings {
            name_servers: Vec::new(),
            query_timeout: Duration::from_secs(2),
            retry_interval: Duration::from_secs(1),
            samples: DEFAULT_SAMPLES,
        }
    }
}

impl Route53Api {
    /// The hosted zone's delegation set (`GetHostedZone`).
    pub async fn delegation_name_servers(&self) -> Result<Vec<String>, Route53Error> {
        let client = self.client().await;
        let resp = client
            .get_hosted_zone()
            .id(&self.zone)
            .send()
            .await
            .map_err(|e| self.api_error("GetHostedZone", e))?;
        let names = resp.delegation_set().map(|d| d.name_servers().to_vec()).unwrap_or_default();
        if names.is_empty() {
            return Err(Route53Error::Api {
                call: "GetHostedZone",
                detail: format!(
                    "zone {} has no delegation set (a private zone?): set [route53] name_servers",
                    self.zone
                ),
            });
        }
        Ok(names)
    }

    /// The answer the servers must give for `weights` (region -> weight; empty: the weights
    /// Route 53 holds), from the record sets Route 53 holds now.
    pub async fn expected_answer(&self, weights: &[(String, u8)]) -> Result<Expected, String> {
        let sets = self.list_record_sets().await.map_err(|e| e.to_string())?;
        if sets.is_empty() {
            return Err(format!(
                "Route 53 holds no {} record set named {}",
                self.record_type.as_str(),
                self.record
            ));
        }
        if let Some(alias) = sets.iter().find_map(|s| s.alias.clone()) {
            return Err(format!(
                "{} is an alias record (to {alias}): its values are not checked",
                self.record
            ));
        }
        let by_ident: Vec<(String, u8)> = weights
            .iter()
            .map(|(region, w)| {
                let ident = self
                    .regions
                    .iter()
                    .find(|r| r.name == *region)
                    .map_or(region.clone(), |r| r.set_identifier.clone());
                (ident, *w)
            })
            .collect();
        let raw: Vec<(String, Option<i64>, Vec<String>)> =
            sets.iter().map(|s| (s.set_identifier.clone(), s.weight, s.values.clone())).collect();
        Ok(Expected::from_sets(&raw, &by_ident))
    }
}

impl Route53Operator {
    /// The servers to ask: the override, else the delegation set.
    pub async fn name_servers(&self) -> Result<Vec<NameServer>, String> {
        let names = if self.dns.name_servers.is_empty() {
            self.api().delegation_name_servers().await.map_err(|e| e.to_string())?
        } else {
            self.dns.name_servers.clone()
        };
        resolve(&names).await
    }

    /// The check as configured.
    pub fn dns_check(&self) -> Result<DnsCheck, String> {
        Ok(DnsCheck {
            name: self.api().record().to_string(),
            rtype: record_type(self.api().record_type.as_str())?,
            query_timeout: self.dns.query_timeout,
            samples: self.dns.samples,
            retry_interval: self.dns.retry_interval,
        })
    }

    /// `verify-dns`: every server must answer the expected values within `sync_timeout`; or,
    /// as the drift re-check (`recheck_after` > 0), still answer them after that wait.
    pub async fn verify_dns(
        &self,
        weights: &[(String, u8)],
        sync_timeout: Duration,
        recheck_after: Duration,
    ) -> Result<String, String> {
        let check = self.dns_check()?;
        let servers = self.name_servers().await?;
        if !recheck_after.is_zero() {
            tokio::time::sleep(recheck_after).await;
        }
        let expected = self.api().expected_answer(weights).await?;
        let limit = if recheck_after.is_zero() { sync_timeout } else { Duration::ZERO };
        let report = check.until_in_sync(&servers, &expected, limit).await;
        for line in report.lines() {
            tracing::info!(record = %check.name, "verify-dns: {}", crate::text::sanitize(&line));
        }
        if recheck_after.is_zero() { report.verdict() } else { report.drift_verdict(recheck_after) }
    }
}
