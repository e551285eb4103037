//! The drill's scenarios as `warroom drill --list` names them: the built-ins of the registry
//! (`scenario::registry`), each with its one-line description.

use std::sync::{Mutex, OnceLock};

use super::scenario::ScenarioDef;
use super::scenario::registry::built_ins;

/// A scenario as a list shows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ScenarioInfo {
    /// Name given to `--scenario` (the scenario's id).
    pub name: &'static str,
    /// One-line description.
    pub description: &'static str,
}

/// Every built-in scenario, in the order they are listed.
pub fn scenarios() -> &'static [ScenarioInfo] {
    static ALL: OnceLock<Vec<ScenarioInfo>> = OnceLock::new();
    ALL.get_or_init(|| built_ins().iter().map(|d| *info(d)).collect())
}

/// The listing entry of `def`: the built-in's, or one made once per distinct (id,
/// description) and kept for the process (a console runs one or two scenarios).
pub fn info(def: &ScenarioDef) -> &'static ScenarioInfo {
    static MADE: Mutex<Vec<&'static ScenarioInfo>> = Mutex::new(Vec::new());
    let mut made = MADE.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(i) = made.iter().find(|i| i.name == def.id && i.description == def.description) {
        return i;
    }
    let leak = |s: &str| -> &'static str { Box::leak(s.to_string().into_boxed_str()) };
    let made_now: &'static ScenarioInfo =
        Box::leak(Box::new(ScenarioInfo { name: leak(&def.id), description: leak(&def.description) }));
    made.push(made_now);
    made_now
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backends::drill::scenario::registry::find;

    #[test]
    fn every_listed_scenario_is_found_again() {
        let names: Vec<&str> = scenarios().iter().map(|s| s.name).collect();
        assert_eq!(
            names,
            [
                "calm",
                "primary-db-down",
                "redis-master-down",
                "region-outage",
                "crashloop",
                "split-brain",
                "replica-lag"
            ]
        );
        for s in scenarios() {
            let def = find(s.name, None).unwrap();
            assert_eq!(info(&def), s);
            assert!(std::ptr::eq(info(&def), info(&def)), "made once");
            assert!(!s.description.is_empty());
        }
    }

    #[test]
    fn unknown_scenario_lists_the_known_ones() {
        let err = find("meteor", None).unwrap_err();
        assert!(err.contains("\"meteor\""), "{err}");
        for s in scenarios() {
            assert!(err.contains(s.name), "{err} should list {}", s.name);
        }
    }
}
