//! The drill's authoritative name servers for the weighted record: four simulated Route 53
//! servers, each answering the values of the record sets with weight > 0 (all of them when
//! every weight is 0) a short propagation delay after a change, as `verify-dns` asks them.

use super::estate::{RECORD, TTL};
use super::sim::Sim;
use crate::backends::dns::Expected;
use crate::backends::dns::judge::{ServerState, judge};
use crate::backends::dns::probe::Reply;

/// The simulated delegation set.
pub const NAME_SERVERS: [&str; 4] =
    ["ns-101.awsdns-12.com", "ns-702.awsdns-23.net", "ns-1303.awsdns-34.org", "ns-1904.awsdns-45.co.uk"];

/// The value of a region's record set in the drill (documentation addresses).
fn region_value(index: usize) -> String {
    format!("203.0.113.{}", 10 + index)
}

impl Sim {
    /// Simulated seconds for the name servers to answer (a propagation delay, then one round).
    pub(super) fn dns_took(&mut self, recheck_after_secs: u64) -> f64 {
        self.rng.range(0.3, 1.2) + recheck_after_secs as f64
    }

    /// Ask the simulated servers for the record and judge the answers against `weights` (empty:
    /// the weights the simulated Route 53 holds).
    pub(super) fn verify_dns(
        &self,
        weights: &[(String, u8)],
        recheck_after_secs: u64,
        secs: f64,
    ) -> Result<String, String> {
        let sets: Vec<(String, Option<i64>, Vec<String>)> = self
            .traffic
            .regions
            .iter()
            .enumerate()
            .map(|(i, r)| (r.name.to_string(), Some(i64::from(r.weight)), vec![region_value(i)]))
            .collect();
        let expected = Expected::from_sets(&sets, weights);
        let serving = Expected::from_sets(&sets, &[]);
        let answer: Vec<String> = serving.values().into_iter().collect();
        let mut lines = Vec::new();
        let mut bad = Vec::new();
        for ns in NAME_SERVERS {
            let replies: Vec<Reply> = answer
                .iter()
                .map(|v| Reply {
                    rcode: "NOERROR".into(),
                    values: vec![v.clone()],
                    ttl: Some(TTL),
                    authoritative: true,
                    via_tcp: false,
                    took: std::time::Duration::from_millis(20),
                })
                .collect();
            let state = judge(&expected, &replies, None);
            let seen = crate::backends::dns::judge::seen_values(&replies);
            match &state {
                ServerState::InSync => {
                    lines.push(format!("{ns}: in sync, answers {}, TTL {TTL} s", expected.label(&seen)))
                }
                other => {
                    lines.push(format!("{ns}: {}: {}", other.word(), expected.label(&seen)));
                    bad.push(ns);
                }
            }
        }
        let what = expected.describe();
        match (bad.is_empty(), recheck_after_secs) {
            (true, 0) => Ok(format!(
                "all {} name servers answer {what} for {RECORD} after {secs:.1} s: {}; resolvers may serve the old answer for up to {TTL} s more (max TTL)",
                NAME_SERVERS.len(),
                lines.join("; ")
            )),
            (true, after) => Ok(format!(
                "no drift {after} s after the change: all {} name servers still answer {what}",
                NAME_SERVERS.len()
            )),
            (false, 0) => Err(format!(
                "{} of {} name servers do not answer {what}: {}",
                bad.len(),
                NAME_SERVERS.len(),
                lines.join("; ")
            )),
            (false, after) => Err(format!("DRIFT {after} s after the change: {}", lines.join("; "))),
        }
    }
}
