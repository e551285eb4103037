//! [`Assertion`]: the read-only conditions an assertion step names ("the primary is down",
//! "traffic is on us-west-2"), as data. How each is evaluated against the snapshots is
//! the runbook's business (`runbook::assertion`).

use serde::{Deserialize, Serialize};
use strum::{EnumDiscriminants, EnumString, IntoStaticStr, VariantNames};

/// A named condition on the current snapshots.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, EnumDiscriminants)]
#[serde(tag = "check", rename_all = "kebab-case")]
#[strum_discriminants(
    name(AssertionName),
    derive(EnumString, IntoStaticStr, VariantNames),
    strum(serialize_all = "kebab-case"),
    doc = "An assertion's name, as runbooks write it in `args.check`."
)]
pub enum Assertion {
    /// No PostgreSQL node accepts writes and at least one is unreachable (plan: "check primary
    /// status" before promoting anything).
    PrimaryDown,
    /// Sentinel quorum reachable, every Sentinel agrees on one master, no failover in progress.
    SentinelHealthy,
    /// Every Sentinel agrees on one master and that master answers as a master.
    SentinelAgreed,
    /// The region is failing: health check unhealthy or its ready probe failing.
    RegionDown {
        /// Region name.
        region: String,
    },
    /// The region is healthy: health check healthy (when it has one) and ready probe 2xx.
    RegionHealthy {
        /// Region name.
        region: String,
    },
    /// The region holds all the Route 53 weight and passes its health gate.
    TrafficOn {
        /// Region name.
        region: String,
    },
    /// Data layers replicate: one writable primary with every reachable replica streaming
    /// within the lag limit, and Sentinels agreeing on a master that answers as one, with every
    /// reachable replica linked (nodes lost with a region are reported, not required).
    ReplicationHealthy {
        /// Maximum replay lag accepted.
        max_lag_bytes: u64,
    },
    /// `node` is a streaming replica (restore: the old primary re-attached).
    NodeIsReplica {
        /// Node name.
        node: String,
    },
}

impl AssertionName {
    /// Name as in runbooks.
    pub fn as_str(self) -> &'static str {
        self.into()
    }

    /// The step argument this assertion needs besides `check` (`region`, `node`).
    pub fn needs_arg(self) -> Option<&'static str> {
        match self {
            AssertionName::RegionDown | AssertionName::RegionHealthy | AssertionName::TrafficOn => {
                Some("region")
            }
            AssertionName::NodeIsReplica => Some("node"),
            AssertionName::PrimaryDown
            | AssertionName::SentinelHealthy
            | AssertionName::SentinelAgreed
            | AssertionName::ReplicationHealthy => None,
        }
    }
}

impl Assertion {
    /// Kebab-case name, as runbooks write it in `args.check`.
    pub fn name(&self) -> &'static str {
        AssertionName::from(self).as_str()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// One assertion of each name (the serde tag must be the declared name).
    fn sample(name: AssertionName) -> Assertion {
        let region = "r".to_string();
        match name {
            AssertionName::PrimaryDown => Assertion::PrimaryDown,
            AssertionName::SentinelHealthy => Assertion::SentinelHealthy,
            AssertionName::SentinelAgreed => Assertion::SentinelAgreed,
            AssertionName::RegionDown => Assertion::RegionDown { region },
            AssertionName::RegionHealthy => Assertion::RegionHealthy { region },
            AssertionName::TrafficOn => Assertion::TrafficOn { region },
            AssertionName::ReplicationHealthy => Assertion::ReplicationHealthy { max_lag_bytes: 1 },
            AssertionName::NodeIsReplica => Assertion::NodeIsReplica { node: "n".into() },
        }
    }

    #[test]
    fn every_assertion_name_parses_back_and_is_its_serde_tag() {
        use std::str::FromStr;
        assert_eq!(AssertionName::VARIANTS.len(), 8);
        for name in AssertionName::VARIANTS {
            let kind = AssertionName::from_str(name).expect("a declared name parses");
            let check = sample(kind);
            assert_eq!(check.name(), *name);
            let json = serde_json::to_value(&check).expect("serializes");
            assert_eq!(json["check"], *name);
            assert_eq!(serde_json::from_value::<Assertion>(json).expect("reads back"), check);
        }
    }
}
