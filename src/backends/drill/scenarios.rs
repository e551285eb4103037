//! The drill's fault scenarios: names, one-line descriptions, and when the fault strikes.

/// A scenario as `warroom drill --scenario NAME` lists it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ScenarioInfo {
    /// Name given to `--scenario`.
    pub name: &'static str,
    /// One-line description.
    pub description: &'static str,
}

/// Every scenario the drill knows, in the order they are listed.
pub fn scenarios() -> &'static [ScenarioInfo] {
    SCENARIOS
}

const SCENARIOS: &[ScenarioInfo] = &[
    ScenarioInfo {
        name: "calm",
        description: "No fault: a healthy estate to learn the panes and operations on.",
    },
    ScenarioInfo {
        name: "primary-db-down",
        description: "postgresql-0 crashes into CrashLoopBackOff; it comes back writable ~2.5 min later (split brain if a replica was promoted).",
    },
    ScenarioInfo {
        name: "redis-master-down",
        description: "The Redis master dies; Sentinel detects it after down-after (5 s) and fails over automatically; the old master returns ~70 s later and becomes a replica.",
    },
    ScenarioInfo {
        name: "region-outage",
        description: "us-east-1 is lost: its API server does not answer, health check unhealthy, probes time out, pods NotReady, PostgreSQL primary and Redis master unreachable.",
    },
    ScenarioInfo {
        name: "crashloop",
        description: "Bad rollouts in us-east-1: the new api revision crash-loops with growing back-off, the new worker revision is OOMKilled; both previous revisions were good.",
    },
    ScenarioInfo {
        name: "split-brain",
        description: "postgresql-1 is promoted by mistake while postgresql-0 keeps accepting writes: two writable primaries.",
    },
    ScenarioInfo {
        name: "replica-lag",
        description: "postgresql-1's replay stalls behind a long query, then the primary dies: only postgresql-2 is a safe candidate.",
    },
];

/// Sim time (seconds) at which every scenario's fault strikes.
pub const FAULT_AT_S: f64 = 5.0;

/// A parsed scenario.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scenario {
    /// No fault.
    Calm,
    /// PostgreSQL primary crash-loops, then returns writable.
    PrimaryDbDown,
    /// Redis master dies; Sentinel fails over.
    RedisMasterDown,
    /// The whole primary region is lost.
    RegionOutage,
    /// Bad api rollout and OOMKilled workers.
    Crashloop,
    /// Two writable PostgreSQL primaries.
    SplitBrain,
    /// A lagging replica, then a primary crash.
    ReplicaLag,
}

impl Scenario {
    /// Parse a scenario name; unknown names get an error listing the known ones.
    pub fn parse(name: &str) -> Result<Scenario, String> {
        Ok(match name {
            "calm" => Scenario::Calm,
            "primary-db-down" => Scenario::PrimaryDbDown,
            "redis-master-down" => Scenario::RedisMasterDown,
            "region-outage" => Scenario::RegionOutage,
            "crashloop" => Scenario::Crashloop,
            "split-brain" => Scenario::SplitBrain,
            "replica-lag" => Scenario::ReplicaLag,
            other => {
                let known: Vec<&str> = SCENARIOS.iter().map(|s| s.name).collect();
                return Err(format!(
                    "unknown drill scenario {other:?}; known scenarios: {}",
                    known.join(", ")
                ));
            }
        })
    }

    /// The scenario's listing entry.
    pub fn info(self) -> &'static ScenarioInfo {
        let name = match self {
            Scenario::Calm => "calm",
            Scenario::PrimaryDbDown => "primary-db-down",
            Scenario::RedisMasterDown => "redis-master-down",
            Scenario::RegionOutage => "region-outage",
            Scenario::Crashloop => "crashloop",
            Scenario::SplitBrain => "split-brain",
            Scenario::ReplicaLag => "replica-lag",
        };
        SCENARIOS.iter().find(|s| s.name == name).unwrap_or(&SCENARIOS[0])
    }

    /// Sim time of the (first) fault, `None` for `calm`.
    pub fn fault_at(self) -> Option<f64> {
        match self {
            Scenario::Calm => None,
            _ => Some(FAULT_AT_S),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_listed_scenario_parses_back_to_itself() {
        for s in scenarios() {
            let parsed = Scenario::parse(s.name).unwrap();
            assert_eq!(parsed.info().name, s.name);
            assert!(!s.description.is_empty());
        }
    }

    #[test]
    fn unknown_scenario_lists_the_known_ones() {
        let err = Scenario::parse("meteor").unwrap_err();
        assert!(err.contains("\"meteor\""), "{err}");
        for s in scenarios() {
            assert!(err.contains(s.name), "{err} should list {}", s.name);
        }
    }
}
