//! The drill's authoritative name servers for the weighted record: four simulated Route 53
//! servers. After a change batch each takes the change after its own propagation delay (0.2 to
//! 1.5 s) and answers the previous weights' sets until then; a drill or a test may make one lag
//! longer, or never catch up ([`NameServers::lag`]). `verify-dns` asks them like the real ones.

use std::time::Duration;

use super::estate::{RECORD, TTL};
use super::sim::Sim;
use crate::backends::dns::Expected;
use crate::backends::dns::judge::{ServerState, judge, seen_values};
use crate::backends::dns::probe::Reply;

/// The simulated delegation set.
pub const NAME_SERVERS: [&str; 4] =
    ["ns-101.awsdns-12.com", "ns-702.awsdns-23.net", "ns-1303.awsdns-34.org", "ns-1904.awsdns-45.co.uk"];

/// Sim seconds one round of queries takes.
const ROUND_S: f64 = 0.05;

/// What the simulated name servers know of the last change.
#[derive(Debug, Clone, Default)]
pub struct NameServers {
    /// Sim time of the last change batch.
    changed_at: f64,
    /// Weights (by region index) before it: what a server answers until it has the change.
    previous: Vec<u8>,
    /// Each server's propagation delay for the last change, s.
    delays: [f64; 4],
    /// Scripted extra lag: (server index, seconds; infinite: it never catches up).
    pub lag: Option<(usize, f64)>,
    /// Route 53 keeps the change PENDING: no server gets it until this clears.
    pub pending: bool,
}

impl NameServers {
    /// A change Route 53 held PENDING is released at `now`: the servers take it from then.
    pub fn release(&mut self, now: f64) {
        if std::mem::take(&mut self.pending) {
            self.changed_at = now;
        }
    }

    /// Sim time at which server `i` answers the last change.
    fn in_sync_at(&self, i: usize) -> f64 {
        if self.pending {
            return f64::INFINITY;
        }
        let extra = self.lag.filter(|(s, _)| *s == i).map_or(0.0, |(_, l)| l);
        self.changed_at + self.delays[i] + extra
    }
}

/// The value of a region's record set in the drill (documentation addresses).
fn region_value(index: usize) -> String {
    format!("203.0.113.{}", 10 + index)
}

impl Sim {
    /// A change batch was applied at the current sim time; `previous`: the weights before it.
    pub(super) fn dns_changed(&mut self, previous: Vec<u8>) {
        let delays = [0; 4].map(|_| self.rng.range(0.2, 1.5));
        let (lag, pending) = (self.traffic.dns.lag, self.traffic.pending);
        self.traffic.dns = NameServers { changed_at: self.t, previous, delays, lag, pending };
    }

    /// Sim seconds `verify-dns` takes: until every server has the change (at most
    /// `sync_timeout_secs`), or the re-check's wait, plus one round of queries.
    pub(super) fn dns_took(&mut self, sync_timeout_secs: u64, recheck_after_secs: u64) -> f64 {
        if recheck_after_secs > 0 {
            return recheck_after_secs as f64 + ROUND_S;
        }
        let last = (0..NAME_SERVERS.len()).map(|i| self.traffic.dns.in_sync_at(i)).fold(0.0, f64::max);
        (last - self.t).clamp(0.0, sync_timeout_secs as f64) + ROUND_S
    }

    /// Ask the simulated servers after `secs` of asking and judge them against `weights` (empty:
    /// the weights the simulated Route 53 holds).
    pub(super) fn verify_dns(
        &self,
        weights: &[(String, u8)],
        recheck_after_secs: u64,
        secs: f64,
    ) -> Result<String, String> {
        let sets = |w: &dyn Fn(usize) -> u8| -> Vec<(String, Option<i64>, Vec<String>)> {
            self.traffic
                .regions
                .iter()
                .enumerate()
                .map(|(i, r)| (r.name.to_string(), Some(i64::from(w(i))), vec![region_value(i)]))
                .collect()
        };
        let now = sets(&|i| self.traffic.regions[i].weight);
        let dns = &self.traffic.dns;
        let before = sets(&|i| dns.previous.get(i).copied().unwrap_or(self.traffic.regions[i].weight));
        let expected = Expected::from_sets(&now, weights);
        let start = self.t - secs;
        let mut lines = Vec::new();
        let mut bad = Vec::new();
        for (i, ns) in NAME_SERVERS.iter().enumerate() {
            let synced = self.t >= dns.in_sync_at(i);
            let serving = Expected::from_sets(if synced { &now } else { &before }, &[]);
            let replies: Vec<Reply> = serving
                .values()
                .into_iter()
                .map(|v| Reply {
                    rcode: "NOERROR".into(),
                    values: vec![v],
                    ttl: Some(TTL),
                    authoritative: true,
                    via_tcp: false,
                    took: Duration::from_millis(20),
                })
                .collect();
            let seen = expected.label(&seen_values(&replies));
            match judge(&expected, &replies, None) {
                ServerState::InSync => {
                    let lag = dns.in_sync_at(i) - start;
                    let how = if recheck_after_secs == 0 && lag > ROUND_S {
                        format!("in sync after lagging {lag:.1} s")
                    } else {
                        "in sync".into()
                    };
                    lines.push(format!("{ns}: {how}, answers {seen}, TTL {TTL} s"));
                }
                other => {
                    lines.push(format!(
                        "{ns}: {}, never caught up in {secs:.0} s: still answers {seen}",
                        other.word()
                    ));
                    bad.push(format!("{ns} {}", other.word()));
                }
            }
        }
        let (n, what, lines) = (NAME_SERVERS.len(), expected.describe(), lines.join("; "));
        match (bad.is_empty(), recheck_after_secs) {
            (true, 0) => Ok(format!(
                "all {n} name servers answer {what} for {RECORD} after {secs:.1} s: {lines}; \
                 resolvers may serve the old answer for up to {TTL} s more (max TTL)"
            )),
            (true, after) => {
                Ok(format!("no drift {after} s after the change: all {n} name servers still answer {what}"))
            }
            (false, 0) => Err(format!(
                "{} of {n} name servers do not answer {what} after {secs:.1} s ({}): {lines}",
                bad.len(),
                bad.join(", ")
            )),
            (false, after) => Err(format!(
                "DRIFT {after} s after the change: {} (expected {what}); {lines}",
                bad.join(", ")
            )),
        }
    }
}
