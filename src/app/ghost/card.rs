//! The ghost card: each decision matched or differed, points per match and the total, in the
//! scorecard's text format. Written as JSON next to the recording, never into the incident log.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::compare::Match;

/// Points a decision earns when the trainee's choice is the original operator's.
pub const POINTS_PER_MATCH: u32 = 10;

/// One decision on the card.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DecisionLine {
    /// The original step's id.
    pub step: u64,
    /// When the original operator stood before this decision (recorded time).
    pub at: DateTime<Utc>,
    /// What the original operator confirmed (`promote postgresql-1`).
    pub original: String,
    /// The original step's preview title.
    pub original_title: String,
    /// What the trainee confirmed (`None`: passed).
    pub chosen: Option<String>,
    /// The trainee's choice against the original operator's (this is what scores).
    pub vs_original: Match,
    /// What the runbook's plan expected next, if a runbook applied.
    pub expected: Option<String>,
    /// The trainee's choice against the runbook's plan.
    pub vs_runbook: Option<Match>,
    /// Points earned.
    pub points: u32,
}

/// A trainee's ghost-mode result.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GhostCard {
    /// The replayed incident.
    pub incident: String,
    /// Its title.
    pub title: String,
    /// The trainee.
    pub operator: String,
    /// Who confirmed the steps in the recording.
    pub original_operator: String,
    /// Points per decision matching the original operator's.
    pub points_per_match: u32,
    /// Points earned.
    pub total: u32,
    /// Points possible.
    pub max: u32,
    /// Every decision, in order.
    pub decisions: Vec<DecisionLine>,
}

impl GhostCard {
    /// A card over `decisions`, totals computed from them.
    pub fn new(
        incident: &str,
        title: &str,
        operator: &str,
        original_operator: &str,
        decisions: Vec<DecisionLine>,
    ) -> GhostCard {
        GhostCard {
            incident: incident.to_string(),
            title: title.to_string(),
            operator: operator.to_string(),
            original_operator: original_operator.to_string(),
            points_per_match: POINTS_PER_MATCH,
            total: decisions.iter().map(|d| d.points).sum(),
            max: POINTS_PER_MATCH * decisions.len() as u32,
            decisions,
        }
    }

    /// How many decisions matched the original operator's.
    pub fn matched(&self) -> usize {
        self.decisions.iter().filter(|d| d.vs_original == Match::Same).count()
    }
}

/// The points a decision earns.
pub fn points(vs_original: Match) -> u32 {
    if vs_original == Match::Same { POINTS_PER_MATCH } else { 0 }
}

/// The card as lines, in the scorecard's layout (`incident::scorecard::render_text`).
pub fn render_text(card: &GhostCard) -> Vec<String> {
    let mut out = vec![
        format!("Ghost card: {} — {} ({})", card.operator, card.title, card.incident),
        format!(
            "SCORE {} / {}  ({} points per decision matching {}'s; no hidden formula)",
            card.total, card.max, card.points_per_match, card.original_operator
        ),
    ];
    for (i, d) in card.decisions.iter().enumerate() {
        let verdict = if d.vs_original == Match::Same { "matched" } else { "differed" };
        let chosen = d.chosen.as_deref().unwrap_or("(passed)");
        out.push(format!(
            "  decision {}  {:>9}  {verdict}: you {chosen}; original {} ({}) — {}",
            i + 1,
            format!("{:+} / {}", d.points, card.points_per_match),
            d.original,
            d.original_title,
            d.vs_original.label()
        ));
        match (&d.expected, d.vs_runbook) {
            (Some(e), Some(m)) => out.push(format!("      runbook expected {e}: {}", m.label())),
            _ => out.push("      no runbook plan applied here".to_string()),
        }
    }
    out.push(format!("Matched: {} of {}", card.matched(), card.decisions.len()));
    out
}
