//! `set-weights`: one atomic `ChangeResourceRecordSets` with an UPSERT per region that
//! changes only the weight of the existing record set, then `GetChange` until `INSYNC`.

use std::sync::Arc;
use std::time::Duration;

use aws_sdk_route53::types::{Change, ChangeAction, ChangeBatch, ChangeStatus, ResourceRecordSet};
use futures::future::BoxFuture;
use serde_json::{Value, json};
use tokio::time::Instant;

use super::{Route53Api, Route53Error};
use crate::backends::Operate;
use crate::operation::Operation;

/// Progress of a submitted change, reported after submission and after every `GetChange`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChangeProgress {
    /// Route 53 change id.
    pub change_id: String,
    /// `PENDING` or `INSYNC`.
    pub status: String,
    /// `GetChange` polls so far.
    pub polls: u32,
    /// Time since submission.
    pub elapsed: Duration,
}

/// What a successful `set-weights` did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SetWeightsOutcome {
    /// Hosted zone.
    pub zone: String,
    /// Record name.
    pub record: String,
    /// Route 53 change id.
    pub change_id: String,
    /// Weights written, per region.
    pub weights: Vec<(String, u8)>,
    /// Largest TTL of the changed record sets (`None` for alias records).
    pub ttl: Option<i64>,
    /// `GetChange` polls until `INSYNC`.
    pub polls: u32,
    /// Time from submission to `INSYNC`.
    pub elapsed: Duration,
}

impl SetWeightsOutcome {
    /// One-line summary for the step log, including how long resolvers may cache the old answer.
    pub fn summary(&self) -> String {
        let weights: Vec<String> = self.weights.iter().map(|(r, w)| format!("{r}={w}")).collect();
        let cache = match self.ttl {
            Some(ttl) => format!("resolvers may still cache the old answer for {ttl} s (TTL)"),
            None => "alias records: resolvers may cache the old answer for the target's TTL".to_string(),
        };
        format!(
            "change {} INSYNC after {:.1} s ({} GetChange poll(s)): {} {} in zone {}; {}",
            self.change_id,
            self.elapsed.as_secs_f64(),
            self.polls,
            self.record,
            weights.join(" "),
            self.zone,
            cache
        )
    }
}

/// Parse `region=weight[,region=weight...]` (as typed on the command line) into weights,
/// refusing weights outside Route 53's 0-255.
pub fn parse_weight_spec(spec: &str) -> Result<Vec<(String, u8)>, String> {
    let mut out = Vec::new();
    for (i, item) in spec.split(',').map(str::trim).enumerate() {
        let n = i + 1;
        let (region, weight) = item
            .split_once('=')
            .ok_or_else(|| format!("weight {n} ('{item}'): expected region=weight, e.g. us-west-2=100"))?;
        let region = region.trim();
        if region.is_empty() {
            return Err(format!("weight {n} ('{item}'): region name is empty"));
        }
        let value: i64 = weight
            .trim()
            .parse()
            .map_err(|_| format!("weight {n} ('{item}'): '{}' is not a whole number", weight.trim()))?;
        let value = u8::try_from(value).map_err(|_| {
            format!("weight {n} ('{item}'): {value} is out of range, Route 53 weights are 0-255")
        })?;
        out.push((region.to_string(), value));
    }
    Ok(out)
}

impl Route53Api {
    /// Check weights without any call: not empty, no duplicates, known regions, one non-zero.
    pub fn validate_weights(&self, weights: &[(String, u8)]) -> Result<(), Route53Error> {
        if weights.is_empty() {
            return Err(Route53Error::Refused("no weights given".into()));
        }
        for (i, (region, _)) in weights.iter().enumerate() {
            if weights[..i].iter().any(|(r, _)| r == region) {
                return Err(Route53Error::Refused(format!("region {region} is given twice")));
            }
            if !self.regions.iter().any(|r| &r.name == region) {
                let known: Vec<&str> = self.regions.iter().map(|r| r.name.as_str()).collect();
                return Err(Route53Error::Refused(format!(
                    "unknown region {region} (configured: {})",
                    if known.is_empty() { "none".to_string() } else { known.join(", ") }
                )));
            }
        }
        if weights.iter().all(|(_, w)| *w == 0) {
            return Err(Route53Error::Refused("all weights are 0: no region would answer".into()));
        }
        Ok(())
    }

    /// The record sets to UPSERT: each region's current record set with only the weight changed.
    pub fn plan_upserts(
        &self,
        current: &[super::RecordSetFacts],
        weights: &[(String, u8)],
    ) -> Result<Vec<ResourceRecordSet>, Route53Error> {
        weights
            .iter()
            .map(|(region, w)| {
                let ident = self.set_identifier(region);
                let facts = current.iter().find(|f| f.set_identifier == ident).ok_or_else(|| {
                    Route53Error::Refused(format!(
                        "no record set {} {} with SetIdentifier {ident} (region {region}) in zone {}",
                        self.record,
                        self.record_type.as_str(),
                        self.zone
                    ))
                })?;
                if facts.failover.is_some() || facts.weight.is_none() {
                    return Err(Route53Error::Refused(format!(
                        "record set {ident} uses {} routing, not weighted: weights do not apply",
                        if facts.failover.is_some() { "failover" } else { "simple or other" }
                    )));
                }
                let mut rrs = facts.raw.clone();
                rrs.weight = Some(i64::from(*w));
                Ok(rrs)
            })
            .collect()
    }

    fn set_identifier(&self, region: &str) -> String {
        self.regions
            .iter()
            .find(|r| r.name == region)
            .map_or_else(|| region.to_string(), |r| r.set_identifier.clone())
    }

    /// The change batch as the AWS CLI's `--change-batch` JSON, for the preview. Uses the last
    /// observed record sets; a region not seen yet shows only the fields that will change.
    pub fn change_batch_json(&self, weights: &[(String, u8)]) -> String {
        let seen = self.last_seen();
        let changes: Vec<Value> = weights
            .iter()
            .map(|(region, w)| {
                let ident = self.set_identifier(region);
                let rrs = match seen
                    .as_ref()
                    .and_then(|o| o.record_sets.iter().find(|f| f.set_identifier == ident))
                {
                    Some(f) => {
                        let mut raw = f.raw.clone();
                        raw.weight = Some(i64::from(*w));
                        record_set_json(&raw)
                    }
                    None => json!({
                        "Name": self.record,
                        "Type": self.record_type.as_str(),
                        "SetIdentifier": ident,
                        "Weight": w,
                        "Note": "TTL, values and health check are kept from the current record set",
                    }),
                };
                json!({ "Action": "UPSERT", "ResourceRecordSet": rrs })
            })
            .collect();
        let batch = json!({ "Comment": comment(weights), "Changes": changes });
        serde_json::to_string_pretty(&batch).unwrap_or_else(|e| format!("cannot render change batch: {e}"))
    }

    /// Validate, read the current record sets, submit ONE atomic UPSERT batch, then poll
    /// `GetChange` with backoff until `INSYNC`. A change still `PENDING` at
    /// `insync_timeout` is an error, never a success.
    pub async fn set_weights(
        &self,
        weights: &[(String, u8)],
        progress: &(dyn Fn(&ChangeProgress) + Send + Sync),
    ) -> Result<SetWeightsOutcome, Route53Error> {
        self.validate_weights(weights)?;
        let current = self.list_record_sets().await?;
        let upserts = self.plan_upserts(&current, weights)?;
        let ttl = upserts.iter().filter_map(|r| r.ttl).max();
        let changes = upserts
            .into_iter()
            .map(|rrs| Change::builder().action(ChangeAction::Upsert).resource_record_set(rrs).build())
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| Route53Error::Refused(format!("cannot build change: {e}")))?;
        let batch = ChangeBatch::builder()
            .comment(comment(weights))
            .set_changes(Some(changes))
            .build()
            .map_err(|e| Route53Error::Refused(format!("cannot build change batch: {e}")))?;
        let client = self.client().await;
        let resp = client
            .change_resource_record_sets()
            .hosted_zone_id(&self.zone)
            .change_batch(batch)
            .send()
            .await
            .map_err(|e| self.api_error("ChangeResourceRecordSets", e))?;
        let info = resp.change_info().ok_or_else(|| Route53Error::Api {
            call: "ChangeResourceRecordSets",
            detail: "no ChangeInfo".into(),
        })?;
        let change_id = info.id().to_string();
        let (polls, elapsed) = self.wait_insync(&change_id, info.status(), progress).await?;
        Ok(SetWeightsOutcome {
            zone: self.zone.clone(),
            record: self.record.clone(),
            change_id,
            weights: weights.to_vec(),
            ttl,
            polls,
            elapsed,
        })
    }

    /// Poll `GetChange` with doubling intervals until `INSYNC` or `insync_timeout`.
    async fn wait_insync(
        &self,
        change_id: &str,
        first: &ChangeStatus,
        progress: &(dyn Fn(&ChangeProgress) + Send + Sync),
    ) -> Result<(u32, Duration), Route53Error> {
        let start = Instant::now();
        let mut polls = 0;
        let report = |status: &ChangeStatus, polls: u32| {
            progress(&ChangeProgress {
                change_id: change_id.to_string(),
                status: status.as_str().to_string(),
                polls,
                elapsed: start.elapsed(),
            })
        };
        report(first, 0);
        if *first == ChangeStatus::Insync {
            return Ok((0, start.elapsed()));
        }
        let client = self.client().await;
        let mut delay = self.options.insync_poll;
        loop {
            let remaining = self.options.insync_timeout.saturating_sub(start.elapsed());
            if remaining.is_zero() {
                return Err(Route53Error::StuckPending {
                    change_id: change_id.to_string(),
                    waited_ms: start.elapsed().as_millis(),
                });
            }
            tokio::time::sleep(delay.min(remaining)).await;
            polls += 1;
            let resp =
                client.get_change().id(change_id).send().await.map_err(|e| Route53Error::Unconfirmed {
                    change_id: change_id.to_string(),
                    detail: self.api_error("GetChange", e).to_string(),
                })?;
            let status = resp.change_info().map(|c| c.status().clone()).unwrap_or(ChangeStatus::Pending);
            report(&status, polls);
            if status == ChangeStatus::Insync {
                return Ok((polls, start.elapsed()));
            }
            delay = (delay * 2).min(self.options.insync_poll_max);
        }
    }
}

fn comment(weights: &[(String, u8)]) -> String {
    let parts: Vec<String> = weights.iter().map(|(r, w)| format!("{r}={w}")).collect();
    format!("warroom set-weights {}", parts.join(" "))
}

/// A record set as the AWS CLI writes it in JSON.
fn record_set_json(rrs: &ResourceRecordSet) -> Value {
    let mut m = serde_json::Map::new();
    m.insert("Name".into(), json!(rrs.name()));
    m.insert("Type".into(), json!(rrs.r#type().as_str()));
    if let Some(id) = rrs.set_identifier() {
        m.insert("SetIdentifier".into(), json!(id));
    }
    if let Some(w) = rrs.weight() {
        m.insert("Weight".into(), json!(w));
    }
    if let Some(f) = rrs.failover() {
        m.insert("Failover".into(), json!(f.as_str()));
    }
    if let Some(ttl) = rrs.ttl() {
        m.insert("TTL".into(), json!(ttl));
    }
    if !rrs.resource_records().is_empty() {
        let values: Vec<Value> =
            rrs.resource_records().iter().map(|v| json!({ "Value": v.value() })).collect();
        m.insert("ResourceRecords".into(), Value::Array(values));
    }
    if let Some(a) = rrs.alias_target() {
        m.insert(
            "AliasTarget".into(),
            json!({
                "HostedZoneId": a.hosted_zone_id(),
                "DNSName": a.dns_name(),
                "EvaluateTargetHealth": a.evaluate_target_health(),
            }),
        );
    }
    if let Some(hc) = rrs.health_check_id() {
        m.insert("HealthCheckId".into(), json!(hc));
    }
    Value::Object(m)
}

/// Carries out [`Operation::SetRoute53Weights`] and [`Operation::ShiftTraffic`] against the
/// configured zone and record.
#[derive(Debug, Clone)]
pub struct Route53Operator {
    api: Arc<Route53Api>,
    gate: Option<Arc<super::shift::HealthGate>>,
    pub(super) dns: super::DnsSettings,
}

impl Route53Operator {
    /// An operator sharing `api` (and its last observation) with the traffic observer.
    pub fn new(api: Arc<Route53Api>) -> Route53Operator {
        Route53Operator { api, gate: None, dns: super::DnsSettings::default() }
    }

    /// The same operator with the health gate `shift-traffic` checks during each hold (without
    /// one, shifts are refused).
    pub fn with_health_gate(mut self, gate: super::shift::HealthGate) -> Route53Operator {
        self.gate = Some(Arc::new(gate));
        self
    }

    /// The same operator asking the name servers as `dns` says (`verify-dns`).
    pub fn with_dns(mut self, dns: super::DnsSettings) -> Route53Operator {
        self.dns = dns;
        self
    }

    /// The health gate, if set.
    pub fn health_gate(&self) -> Option<&Arc<super::shift::HealthGate>> {
        self.gate.as_ref()
    }

    /// The Route 53 access behind this operator.
    pub fn api(&self) -> &Arc<Route53Api> {
        &self.api
    }

    /// The change batch JSON for the preview (see [`Route53Api::change_batch_json`]).
    pub fn change_batch_json(&self, weights: &[(String, u8)]) -> String {
        self.api.change_batch_json(weights)
    }

    /// Refuse an operation whose explicit target is not this operator's zone, record, endpoint.
    fn check_target(&self, zone: &str, record: &str, endpoint: &str) -> Result<(), Route53Error> {
        let api = &self.api;
        let zone_ok =
            zone.trim_start_matches("/hostedzone/") == api.zone().trim_start_matches("/hostedzone/");
        if !zone_ok {
            return Err(Route53Error::Refused(format!(
                "operation targets zone {zone}, configured is {}",
                api.zone()
            )));
        }
        if super::normalize_name(record) != api.record() {
            return Err(Route53Error::Refused(format!(
                "operation targets record {record}, configured is {}",
                api.record()
            )));
        }
        if endpoint != api.endpoint() {
            return Err(Route53Error::Refused(format!(
                "operation targets endpoint {endpoint}, this console talks to {}",
                api.endpoint()
            )));
        }
        Ok(())
    }
}

impl Operate for Route53Operator {
    fn execute(&self, op: &Operation) -> BoxFuture<'_, Result<String, String>> {
        let op = op.clone();
        Box::pin(async move {
            if let Operation::ShiftTraffic { zone, record, endpoint, target, stages, hold_secs } = &op {
                self.check_target(zone, record, endpoint).map_err(|e| e.to_string())?;
                let hold = Duration::from_secs(*hold_secs);
                return self.shift_traffic(target, stages, hold).await.map(|o| o.summary());
            }
            if let Operation::VerifyDns {
                zone,
                record,
                endpoint,
                weights,
                sync_timeout_secs,
                recheck_after_secs,
            } = &op
            {
                self.check_target(zone, record, endpoint).map_err(|e| e.to_string())?;
                let sync = Duration::from_secs(*sync_timeout_secs);
                return self.verify_dns(weights, sync, Duration::from_secs(*recheck_after_secs)).await;
            }
            let Operation::SetRoute53Weights { zone, record, endpoint, weights } = &op else {
                return Err(format!("the Route 53 operator cannot run '{}'", op.name()));
            };
            self.check_target(zone, record, endpoint).map_err(|e| e.to_string())?;
            let log = |p: &ChangeProgress| {
                tracing::info!(change = %p.change_id, status = %p.status, polls = p.polls, "route53 change");
            };
            self.api.set_weights(weights, &log).await.map(|o| o.summary()).map_err(|e| e.to_string())
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn weight_spec_parses_and_names_the_bad_item() {
        assert_eq!(
            parse_weight_spec("us-east-1=0, us-west-2=255").unwrap(),
            vec![("us-east-1".to_string(), 0), ("us-west-2".to_string(), 255)]
        );
        let e = parse_weight_spec("us-east-1=0,us-west-2=300").unwrap_err();
        assert!(e.contains("weight 2") && e.contains("0-255"), "{e}");
        let e = parse_weight_spec("us-east-1").unwrap_err();
        assert!(e.contains("expected region=weight"), "{e}");
        let e = parse_weight_spec("us-east-1=-1").unwrap_err();
        assert!(e.contains("out of range"), "{e}");
        let e = parse_weight_spec("=5").unwrap_err();
        assert!(e.contains("empty"), "{e}");
        let e = parse_weight_spec("a=x").unwrap_err();
        assert!(e.contains("not a whole number"), "{e}");
    }

    #[test]
    fn summary_names_change_weights_and_ttl() {
        let o = SetWeightsOutcome {
            zone: "Z1".into(),
            record: "api.example.com.".into(),
            change_id: "/change/C1".into(),
            weights: vec![("us-east-1".into(), 0), ("us-west-2".into(), 100)],
            ttl: Some(60),
            polls: 2,
            elapsed: Duration::from_millis(1500),
        };
        let s = o.summary();
        assert!(s.contains("/change/C1 INSYNC after 1.5 s (2 GetChange poll(s))"), "{s}");
        assert!(s.contains("us-east-1=0 us-west-2=100"), "{s}");
        assert!(s.contains("resolvers may still cache the old answer for 60 s"), "{s}");
    }
}
