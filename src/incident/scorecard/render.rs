//! The scorecard as plain text lines: the overlay, `drill --history` and tests show these.

use super::{Scorecard, Timeliness};

/// `12.3 s`, or `-` when unknown.
fn secs(s: Option<f64>) -> String {
    s.map_or("-".to_string(), |s| format!("{s:.1} s"))
}

/// The scorecard, one line per string: header, score, every scored line with its points and
/// entry, the timings (with the definition of time to detect), the counts, then the debrief.
pub fn render_text(card: &Scorecard) -> Vec<String> {
    let mut out = Vec::new();
    let who = card.operator.as_deref().unwrap_or("the team");
    out.push(format!("Scorecard: {who} — {} ({})", card.title, card.scenario));
    out.push(format!(
        "SCORE {} / {}  (points from the scenario's objectives, line by line: no hidden formula)",
        card.total, card.max
    ));
    let width = card.lines.iter().map(|l| l.objective.chars().count()).max().unwrap_or(0);
    for l in &card.lines {
        let pts = if l.max > 0 { format!("{:+} / {}", l.points, l.max) } else { format!("{:+}", l.points) };
        let entry = l.entry.map_or(String::new(), |r| format!("  ({r})"));
        out.push(format!("  {:<width$}  {:>9}  {}{entry}", l.objective, pts, l.detail));
    }
    out.push(format!(
        "Time to detect: {}   Time to first action: {}",
        secs(card.time_to_detect_secs),
        secs(card.time_to_first_action_secs)
    ));
    out.push(format!("  (time to detect: {})", card.detect_definition));
    let count = |f: fn(&Timeliness) -> bool| card.checklist.iter().filter(|c| f(&c.status)).count();
    out.push(format!(
        "Checklist: {} on time, {} late, {} missed   Promoted: {}   Dangerous attempts: {}   Forbidden actions: {}   Hints: {}",
        count(|s| *s == Timeliness::OnTime),
        count(|s| matches!(s, Timeliness::Late(_))),
        count(|s| *s == Timeliness::Missed),
        if card.promoted.is_empty() { "none".to_string() } else { card.promoted.join(", ") },
        card.dangerous,
        card.forbidden,
        card.hints
    ));
    out.push("Debrief:".to_string());
    if card.debrief.is_empty() {
        out.push("  nothing to correct".to_string());
    }
    for d in &card.debrief {
        out.push(format!("  - {}", d.text));
    }
    out
}
