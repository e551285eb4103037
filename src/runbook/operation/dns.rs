//! `verify-dns`: how the DNS verification after a Route 53 change is built from `[route53]`
//! and previewed. The backend asks the servers (`backends::dns`); the step fails unless every
//! server agrees, so its postcondition is the execution's own result.

use crate::config::model::{DEFAULT_DNS_RECHECK_AFTER_MS, DEFAULT_DNS_SYNC_TIMEOUT_MS, Route53Config};
use crate::operation::{Operation, Preview};

/// The verification of `cfg`'s record against `weights` (empty: the weights Route 53 holds);
/// `recheck`: the drift re-check, `dns_recheck_after_ms` later.
pub fn verify_dns_op(cfg: &Route53Config, weights: Vec<(String, u8)>, recheck: bool) -> Operation {
    let secs = |ms: u64| ms.div_ceil(1000).max(1);
    Operation::VerifyDns {
        zone: cfg.hosted_zone_id.clone(),
        record: cfg.record.clone(),
        endpoint: crate::backends::route53::endpoint_label(cfg),
        weights,
        sync_timeout_secs: secs(cfg.dns_sync_timeout_ms.unwrap_or(DEFAULT_DNS_SYNC_TIMEOUT_MS)),
        recheck_after_secs: if recheck {
            secs(cfg.dns_recheck_after_ms.unwrap_or(DEFAULT_DNS_RECHECK_AFTER_MS))
        } else {
            0
        },
    }
}

/// What `verify-dns` asks, and of whom.
pub fn preview(
    zone: &str,
    record: &str,
    endpoint: &str,
    weights: &[(String, u8)],
    sync_timeout_secs: u64,
    recheck_after_secs: u64,
) -> Preview {
    let against = if weights.is_empty() {
        "the record sets with weight > 0 that Route 53 holds now".to_string()
    } else {
        let w: Vec<String> = weights.iter().map(|(r, w)| format!("{r}={w}")).collect();
        format!("the record sets with weight > 0 of {}", w.join(" "))
    };
    let mut lines = vec![
        format!("ListResourceRecordSets {zone} {record} at {endpoint}: the values expected: {against}"),
        "each authoritative name server ([route53] name_servers, else the zone's delegation set): \
         dig +norecurse {record} (16 queries per server for a weighted record)"
            .replace("{record}", record),
    ];
    let title = if recheck_after_secs == 0 {
        lines.push(format!(
            "servers that still answer the old value are asked again for up to {sync_timeout_secs} s"
        ));
        format!("Verify DNS answers for {record}")
    } else {
        lines.insert(
            0,
            format!("wait {recheck_after_secs} s, then ask every server once: a changed answer is drift"),
        );
        format!("Re-check DNS answers for {record} after {recheck_after_secs} s (drift)")
    };
    Preview {
        title,
        target: format!("the authoritative name servers of zone {zone}"),
        lines,
        blast_radius: "none (read-only DNS queries)".into(),
    }
}
