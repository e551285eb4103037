//! [`Genesis`]: what builds a console's initial [`State`], recorded first so a replay starts
//! from the same state the console did ([`genesis_state`]).

use std::path::PathBuf;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::action::CommanderRec;
use crate::app::state::IncidentInfo;
use crate::app::{Mode, State, resume};
use crate::config::Config;
use crate::incident::entry::Entry;
use crate::runbook::catalog::Catalog;

/// The first record of a console's recording: what `cli::console` built its state from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Genesis {
    /// Recording format version.
    pub format: u32,
    /// The console's id (its recording directory).
    pub console: String,
    /// `live` or `drill`.
    pub mode: String,
    /// Incident id.
    pub id: String,
    /// Incident title.
    pub title: String,
    /// Severity.
    pub severity: String,
    /// T+0.
    pub declared_at: DateTime<Utc>,
    /// A drill incident.
    pub drill: bool,
    /// The console's operator (`user@host`).
    pub operator: String,
    /// When the console built its state (the state's first `now`).
    pub started_at: DateTime<Utc>,
    /// An observer console.
    pub read_only: bool,
    /// The configuration (for a drill: the estate's), redacted.
    pub config: serde_json::Value,
    /// The user's runbook files as (path, text), in load order.
    pub runbooks: Vec<(PathBuf, String)>,
    /// The incident log as the console read it at start (resumed from it).
    pub entries: Vec<Entry>,
    /// The warnings the console started with.
    pub warnings: Vec<String>,
    /// A drill's fault and when it strikes (its recovery tracker).
    pub drill_fault: Option<(String, Option<DateTime<Utc>>)>,
    /// Whether the console records observations (the drill's host does).
    pub records_observations: bool,
    /// The commander lock as the console started (pending, unavailable, none).
    pub commander: CommanderRec,
    /// The terminal size at start (columns, rows).
    pub size: (u16, u16),
}

/// The current format version.
pub const FORMAT: u32 = 1;

impl Genesis {
    /// What `state` was built from, as the console is about to start: `entries` (the log it
    /// resumed from), `runbooks` (the user's runbook files), the terminal `size`.
    pub fn capture(
        console: &str,
        state: &State,
        entries: &[Entry],
        runbooks: Vec<(PathBuf, String)>,
        size: (u16, u16),
    ) -> Genesis {
        let d = &state.domain;
        Genesis {
            format: FORMAT,
            console: console.to_string(),
            mode: match d.mode {
                Mode::Live => "live",
                Mode::Drill => "drill",
            }
            .to_string(),
            id: d.incident.id.clone(),
            title: d.incident.title.clone(),
            severity: d.incident.severity.clone(),
            declared_at: d.incident.declared_at,
            drill: d.incident.drill,
            operator: d.operator.clone(),
            started_at: d.now,
            read_only: d.read_only,
            config: serde_json::to_value(&*d.config).unwrap_or_default(),
            runbooks,
            entries: entries.to_vec(),
            warnings: d.warnings.clone(),
            drill_fault: d.recovery.fault.clone().map(|f| (f, d.recovery.fault_injected_at)),
            records_observations: d.records_observations,
            commander: (&d.commander).into(),
            size,
        }
    }
}

/// The state a console built from `g`, as `cli::console` builds it: the incident, the
/// configuration, the runbooks, the log it resumed, the drill's recovery tracker, the lock's
/// first view, the warnings. Step ids come from this state alone (no shared allocator).
pub fn genesis_state(g: &Genesis) -> State {
    let mode = if g.mode == "live" { Mode::Live } else { Mode::Drill };
    let mut warnings = Vec::new();
    // A redacted secret can make a value unreadable: a replay needs no connection.
    let config: Config = serde_json::from_value(g.config.clone()).unwrap_or_else(|e| {
        warnings.push(format!("recorded configuration unreadable ({e}): replayed without it"));
        Config::default()
    });
    let incident = IncidentInfo {
        id: g.id.clone(),
        title: g.title.clone(),
        severity: g.severity.clone(),
        declared_at: g.declared_at,
        drill: g.drill,
    };
    let mut state = State::new(mode, incident, g.operator.clone(), Arc::new(config), g.started_at);
    let d = &mut state.domain;
    d.access_reviews = crate::app::Domain::reviews_access(mode, &d.config);
    d.read_only = g.read_only;
    d.runbooks = Arc::new(Catalog::from_sources(&g.runbooks).0);
    let _ = d.checklist.apply_entries(&g.entries);
    resume::restore(d, &g.entries);
    if let Some((fault, at)) = &g.drill_fault {
        d.recovery = crate::app::measure::Recovery::drill(fault, *at);
    }
    d.records_observations = g.records_observations;
    d.commander = g.commander.clone().into();
    d.warnings = g.warnings.clone();
    d.warnings.extend(warnings);
    state
}
