//! Each operator's trend per scenario: their score (when the drill's scenario is known) and the
//! drill's RTO, run after run, with the best, median and last of each.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::backends::drill::scenario::ScenarioDef;
use crate::incident::entry::Entry;
use crate::incident::export::plain_text;
use crate::incident::scorecard;

/// One operator's part in one drill.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TrendRun {
    /// When (the run's date in the history).
    pub date: DateTime<Utc>,
    /// Incident id.
    pub incident: String,
    /// The operator's score (`None`: the scenario's objectives are unknown).
    pub score: Option<i64>,
    /// Points possible.
    pub max: Option<u32>,
    /// The drill's RTO (shared by its operators; `None`: not mitigated).
    pub rto_secs: Option<f64>,
}

/// Best, median and last of a series (best: highest score, shortest RTO).
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Figures {
    /// The best value.
    pub best: f64,
    /// The median (the mean of the two middle ones for an even count).
    pub median: f64,
    /// The latest run's value (`None` when the latest run has none, e.g. not mitigated).
    pub last: Option<f64>,
}

/// One operator on one scenario.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Trend {
    /// Scenario id (`?` when unknown).
    pub scenario: String,
    /// The operator.
    pub operator: String,
    /// Their drills, oldest first.
    pub runs: Vec<TrendRun>,
    /// Score figures (`None`: no run was scored).
    pub score: Option<Figures>,
    /// RTO figures (`None`: no run was mitigated).
    pub rto_secs: Option<Figures>,
}

/// What one drill contributes: one run per operator (scored when `def` is known, else the
/// history's operator alone, unscored).
pub(super) fn runs_of(
    entries: &[Entry],
    def: Option<&ScenarioDef>,
    scenario: &str,
    fallback_operator: &str,
    run: (DateTime<Utc>, &str, Option<f64>),
) -> Vec<(String, String, TrendRun)> {
    let (date, incident, rto_secs) = run;
    let mk = |operator: String, card: Option<&scorecard::Scorecard>| {
        let run = TrendRun {
            date,
            incident: incident.to_string(),
            score: card.map(|c| c.total),
            max: card.map(|c| c.max),
            rto_secs,
        };
        (scenario.to_string(), operator, run)
    };
    match def {
        Some(def) => scorecard::scorecards(entries, def)
            .iter()
            .map(|c| mk(c.operator.clone().unwrap_or_default(), Some(c)))
            .collect(),
        None => vec![mk(plain_text(fallback_operator), None)],
    }
}

/// Best, median, last of `values` (in run order); `higher_is_better` picks the best.
fn figures(values: &[Option<f64>], higher_is_better: bool) -> Option<Figures> {
    let mut known: Vec<f64> = values.iter().flatten().copied().collect();
    if known.is_empty() {
        return None;
    }
    known.sort_by(f64::total_cmp);
    let n = known.len();
    let median = if n % 2 == 1 { known[n / 2] } else { (known[n / 2 - 1] + known[n / 2]) / 2.0 };
    let best = if higher_is_better { known[n - 1] } else { known[0] };
    Some(Figures { best, median, last: values.last().copied().flatten() })
}

/// Group the runs by scenario and operator, oldest run first.
pub(super) fn trends(runs: Vec<(String, String, TrendRun)>) -> Vec<Trend> {
    let mut groups: BTreeMap<(String, String), Vec<TrendRun>> = BTreeMap::new();
    for (scenario, operator, run) in runs {
        groups.entry((scenario, operator)).or_default().push(run);
    }
    groups
        .into_iter()
        .map(|((scenario, operator), mut runs)| {
            runs.sort_by_key(|r| r.date);
            let scores: Vec<Option<f64>> = runs.iter().map(|r| r.score.map(|s| s as f64)).collect();
            let rtos: Vec<Option<f64>> = runs.iter().map(|r| r.rto_secs).collect();
            Trend { score: figures(&scores, true), rto_secs: figures(&rtos, false), scenario, operator, runs }
        })
        .collect()
}

/// `SCENARIO  OPERATOR  N drill(s): score a → b → c (best, median, last); RTO ...`, one line each.
pub(super) fn render(out: &mut String, trends: &[Trend]) {
    if trends.is_empty() {
        return;
    }
    out.push_str("\nTrend per operator and scenario (oldest first):\n");
    for t in trends {
        let _ = write!(out, "{}  {}  {} drill(s)", t.scenario, t.operator, t.runs.len());
        if let Some(f) = &t.score {
            let series: Vec<String> = t
                .runs
                .iter()
                .map(|r| match (r.score, r.max) {
                    (Some(s), Some(m)) => format!("{s}/{m}"),
                    _ => "-".into(),
                })
                .collect();
            let last = f.last.map_or("-".to_string(), |l| format!("{l:.0}"));
            let _ = write!(
                out,
                ": score {} (best {:.0}, median {:.1}, last {last})",
                series.join(" → "),
                f.best,
                f.median
            );
        }
        if let Some(f) = &t.rto_secs {
            let series: Vec<String> =
                t.runs.iter().map(|r| r.rto_secs.map_or("-".to_string(), |s| format!("{s:.1} s"))).collect();
            let last = f.last.map_or("-".to_string(), |l| format!("{l:.1} s"));
            let _ = write!(
                out,
                "; RTO {} (best {:.1} s, median {:.1} s, last {last})",
                series.join(" → "),
                f.best,
                f.median
            );
        }
        out.push('\n');
    }
}
