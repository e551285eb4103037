//! The "Scorecard" Markdown section: one sub-section per trainee, the points line by line (from
//! the scenario's objectives), the timings, and the debrief with the entries it comes from.

use std::fmt::Write as _;

use super::PostMortem;
use super::markdown::{code, text};
use crate::incident::scorecard::{Scorecard, Timeliness};

/// `12.3 s`, or `-`.
fn secs(s: Option<f64>) -> String {
    s.map_or("-".to_string(), |s| format!("{s:.1} s"))
}

/// The section, when the export was scored against a scenario.
pub(super) fn render(md: &mut String, pm: &PostMortem) {
    if pm.scorecards.is_empty() {
        return;
    }
    md.push_str("## Scorecard\n\n");
    let first = &pm.scorecards[0];
    let _ = writeln!(
        md,
        "Scored against the objectives of scenario {} ({}): every point below comes from its `[objectives]`; there is no other formula.\n",
        code(&first.scenario, false),
        text(&first.title)
    );
    for card in &pm.scorecards {
        one(md, card);
    }
}

fn one(md: &mut String, card: &Scorecard) {
    let who = card.operator.as_deref().map_or("the team".to_string(), |o| code(o, false));
    let _ = writeln!(md, "### {who}: {} / {}\n", card.total, card.max);
    md.push_str("| Objective | Result | Points | Entry |\n| --- | --- | --- | --- |\n");
    for l in &card.lines {
        let pts = if l.max > 0 { format!("{:+} / {}", l.points, l.max) } else { format!("{:+}", l.points) };
        let entry = l.entry.map_or(String::new(), |r| format!("#{} {}", r.seq, r.at.format("%H:%M:%S")));
        let _ = writeln!(md, "| {} | {} | {pts} | {entry} |", text(&l.objective), text(&l.detail));
    }
    let count = |f: fn(&Timeliness) -> bool| card.checklist.iter().filter(|c| f(&c.status)).count();
    let _ = writeln!(
        md,
        "\n- Time to detect: {} ({})\n- Time to first action (first step confirmed): {}\n- Checklist: {} on time, {} late, {} missed\n- Promoted: {}\n- Dangerous attempts: {}; forbidden actions: {}; hints used: {}\n",
        secs(card.time_to_detect_secs),
        text(card.detect_definition),
        secs(card.time_to_first_action_secs),
        count(|s| *s == Timeliness::OnTime),
        count(|s| matches!(s, Timeliness::Late(_))),
        count(|s| *s == Timeliness::Missed),
        if card.promoted.is_empty() { "none".to_string() } else { text(&card.promoted.join(", ")) },
        card.dangerous,
        card.forbidden,
        card.hints,
    );
    md.push_str("Debrief:\n\n");
    if card.debrief.is_empty() {
        md.push_str("- nothing to correct\n");
    }
    for d in &card.debrief {
        let _ = writeln!(md, "- {}", text(&d.text));
    }
    md.push('\n');
}
