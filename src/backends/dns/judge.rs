//! Pure judgement of DNS answers: what the servers should answer after a Route 53 change
//! ([`Expected`]), and whether what one server answered over several queries agrees
//! ([`ServerState`]). Values are mapped back to the record sets' identifiers for the operator.

use std::collections::BTreeSet;

use super::probe::Reply;

/// One Route 53 record set as the judgement needs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SetValues {
    /// SetIdentifier (empty for a plain record).
    pub ident: String,
    /// Record values (normalized, see [`normalize`]).
    pub values: BTreeSet<String>,
    /// Whether this set must be answered (weight > 0, or every weight is 0).
    pub expected: bool,
}

/// The answer the authoritative servers must give.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Expected {
    /// Every record set of the name and type.
    pub sets: Vec<SetValues>,
    /// Weighted routing: a server answers one expected set per query, chosen by weight.
    pub weighted: bool,
}

/// Lower-case, without a trailing dot: how Route 53 and DNS text are compared.
pub fn normalize(value: &str) -> String {
    value.trim().trim_end_matches('.').to_ascii_lowercase()
}

impl Expected {
    /// From the record sets `(set identifier, weight, values)`: a set is expected when its
    /// weight is above 0; when every weight is 0 Route 53 answers all of them. `weights`
    /// (set identifier -> weight) overrides the sets' own weights, e.g. the weights a change
    /// just wrote.
    pub fn from_sets(sets: &[(String, Option<i64>, Vec<String>)], weights: &[(String, u8)]) -> Expected {
        let weighted = sets.iter().any(|(_, w, _)| w.is_some());
        let weight_of = |ident: &str, own: Option<i64>| {
            weights.iter().find(|(i, _)| i == ident).map(|(_, w)| i64::from(*w)).or(own).unwrap_or(0)
        };
        let all_zero = weighted && sets.iter().all(|(i, w, _)| weight_of(i, *w) == 0);
        let sets = sets
            .iter()
            .map(|(ident, w, values)| SetValues {
                ident: ident.clone(),
                values: values.iter().map(|v| normalize(v)).collect(),
                expected: !weighted || all_zero || weight_of(ident, *w) > 0,
            })
            .collect();
        Expected { sets, weighted }
    }

    /// Every value some expected set holds.
    pub fn values(&self) -> BTreeSet<String> {
        self.sets.iter().filter(|s| s.expected).flat_map(|s| s.values.iter().cloned()).collect()
    }

    /// The expected answer for the log, by set: `192.0.2.10 (us-west-2)`.
    pub fn describe(&self) -> String {
        let parts: Vec<String> =
            self.sets.iter().filter(|s| s.expected).map(|s| self.describe_set(s)).collect();
        if parts.is_empty() { "nothing (no record set)".into() } else { parts.join(", ") }
    }

    fn describe_set(&self, s: &SetValues) -> String {
        let values: Vec<&str> = s.values.iter().map(String::as_str).collect();
        if s.ident.is_empty() { values.join(" ") } else { format!("{} ({})", values.join(" "), s.ident) }
    }

    /// Values as answered, each with the set identifier it belongs to: `192.0.2.20
    /// (us-east-1)`, or `(no record set)` for a value Route 53 does not hold at all.
    pub fn label(&self, values: &BTreeSet<String>) -> String {
        if values.is_empty() {
            return "no records".into();
        }
        let parts: Vec<String> = values
            .iter()
            .map(|v| {
                let owners: Vec<&str> = self
                    .sets
                    .iter()
                    .filter(|s| s.values.contains(v))
                    .map(|s| if s.ident.is_empty() { "the record" } else { s.ident.as_str() })
                    .collect();
                if owners.is_empty() {
                    format!("{v} (no record set)")
                } else {
                    format!("{v} ({})", owners.join("/"))
                }
            })
            .collect();
        parts.join(", ")
    }

    /// The set identifiers whose values appear in `values`.
    pub fn sets_seen(&self, values: &BTreeSet<String>) -> Vec<String> {
        self.sets
            .iter()
            .filter(|s| s.values.iter().any(|v| values.contains(v)))
            .map(|s| s.ident.clone())
            .collect()
    }

    /// Whether `values` (everything one server answered over its queries) agree: a weighted
    /// record may show any non-empty subset of the expected values (one set per query), never
    /// another value; a plain record exactly the expected values.
    pub fn agrees(&self, values: &BTreeSet<String>) -> bool {
        let want = self.values();
        if values.is_empty() || want.is_empty() {
            return false;
        }
        if self.weighted { values.is_subset(&want) } else { *values == want }
    }
}

/// What one server's queries came to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ServerState {
    /// Every answer was an expected value.
    InSync,
    /// It answered, but not what Route 53 holds now: what it answers (values with their sets,
    /// or the rcode).
    Disagrees(String),
    /// No usable answer: timeout, refused connection.
    Unreachable(String),
}

impl ServerState {
    /// Short word for the log: `in sync`, `lagging`, `unreachable`.
    pub fn word(&self) -> &'static str {
        match self {
            ServerState::InSync => "in sync",
            ServerState::Disagrees(_) => "lagging",
            ServerState::Unreachable(_) => "unreachable",
        }
    }
}

/// Judge the replies one server gave (`error`: the query that failed, if one did).
pub fn judge(expected: &Expected, replies: &[Reply], error: Option<&str>) -> ServerState {
    if let Some(e) = error {
        return ServerState::Unreachable(e.to_string());
    }
    if let Some(bad) = replies.iter().find(|r| !r.is_noerror()) {
        return ServerState::Disagrees(format!("answers {}", bad.rcode));
    }
    if let Some(r) = replies.iter().find(|r| !r.authoritative) {
        return ServerState::Disagrees(format!("answers without authority (AA not set; {})", r.rcode));
    }
    let seen = seen_values(replies);
    if expected.agrees(&seen) {
        ServerState::InSync
    } else {
        ServerState::Disagrees(format!("answers {}", expected.label(&seen)))
    }
}

/// Every value in `replies`, normalized.
pub fn seen_values(replies: &[Reply]) -> BTreeSet<String> {
    replies.iter().flat_map(|r| r.values.iter().map(|v| normalize(v))).collect()
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    fn sets() -> Vec<(String, Option<i64>, Vec<String>)> {
        vec![
            ("us-east-1".into(), Some(0), vec!["192.0.2.20".into()]),
            ("us-west-2".into(), Some(100), vec!["192.0.2.10".into()]),
        ]
    }

    fn reply(values: &[&str]) -> Reply {
        Reply {
            rcode: "NOERROR".into(),
            values: values.iter().map(|v| v.to_string()).collect(),
            ttl: Some(60),
            authoritative: true,
            via_tcp: false,
            took: Duration::from_millis(1),
        }
    }

    #[test]
    fn expected_is_the_sets_with_weight_and_all_when_every_weight_is_zero() {
        let e = Expected::from_sets(&sets(), &[]);
        assert_eq!(e.values(), BTreeSet::from(["192.0.2.10".to_string()]));
        assert_eq!(e.describe(), "192.0.2.10 (us-west-2)");
        let e = Expected::from_sets(&sets(), &[("us-west-2".into(), 0)]);
        assert_eq!(e.values().len(), 2, "every weight 0: Route 53 answers all sets");
        let e = Expected::from_sets(&sets(), &[("us-east-1".into(), 100), ("us-west-2".into(), 0)]);
        assert_eq!(e.values(), BTreeSet::from(["192.0.2.20".to_string()]), "the written weights win");
    }

    #[test]
    fn a_server_agrees_only_with_expected_values_state_by_state() {
        let e = Expected::from_sets(&sets(), &[("us-east-1".into(), 50), ("us-west-2".into(), 50)]);
        assert_eq!(judge(&e, &[reply(&["192.0.2.10"]), reply(&["192.0.2.20"])], None), ServerState::InSync);
        assert_eq!(
            judge(&e, &[reply(&["192.0.2.10"])], None),
            ServerState::InSync,
            "one weighted set per query"
        );
        let only_west = Expected::from_sets(&sets(), &[]);
        match judge(&only_west, &[reply(&["192.0.2.10"]), reply(&["192.0.2.20."])], None) {
            ServerState::Disagrees(what) => {
                assert_eq!(what, "answers 192.0.2.10 (us-west-2), 192.0.2.20 (us-east-1)")
            }
            other => panic!("{other:?}"),
        }
        match judge(&only_west, &[reply(&["198.51.100.7"])], None) {
            ServerState::Disagrees(what) => assert_eq!(what, "answers 198.51.100.7 (no record set)"),
            other => panic!("{other:?}"),
        }
        assert_eq!(
            judge(&only_west, &[reply(&[])], None),
            ServerState::Disagrees("answers no records".into())
        );
        let nx = Reply { rcode: "NXDOMAIN".into(), ..reply(&[]) };
        assert_eq!(judge(&only_west, &[nx], None), ServerState::Disagrees("answers NXDOMAIN".into()));
        let not_aa = Reply { authoritative: false, ..reply(&["192.0.2.10"]) };
        assert!(matches!(judge(&only_west, &[not_aa], None), ServerState::Disagrees(_)));
        assert_eq!(
            judge(&only_west, &[reply(&["192.0.2.10"])], Some("no answer in 500 ms")),
            ServerState::Unreachable("no answer in 500 ms".into()),
            "a failed query is never in sync, whatever the others said"
        );
    }

    #[test]
    fn a_plain_record_must_answer_every_value() {
        let plain = vec![(String::new(), None, vec!["192.0.2.1".into(), "192.0.2.2".into()])];
        let e = Expected::from_sets(&plain, &[]);
        assert_eq!(judge(&e, &[reply(&["192.0.2.2", "192.0.2.1"])], None), ServerState::InSync);
        assert!(matches!(judge(&e, &[reply(&["192.0.2.1"])], None), ServerState::Disagrees(_)));
        let cname = vec![(String::new(), None, vec!["LB.example.com".into()])];
        let e = Expected::from_sets(&cname, &[]);
        assert_eq!(judge(&e, &[reply(&["lb.example.com."])], None), ServerState::InSync, "case and dot");
        let none: Vec<(String, Option<i64>, Vec<String>)> = Vec::new();
        assert!(!Expected::from_sets(&none, &[]).agrees(&BTreeSet::new()), "nothing expected never agrees");
    }
}
