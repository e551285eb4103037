//! What the ghost-mode box at the bottom of the screen says in each phase. Pure text.

use crate::app::ghost::{DecisionLine, DecisionPoint};

/// The box while the replay plays towards the next stop (or its end).
pub fn playing(next: Option<usize>, total: usize) -> Vec<String> {
    match next {
        Some(k) => vec![
            format!("GHOST MODE — replaying to decision {k} of {total}"),
            "Enter: skip to the decision   Ctrl-C: quit (the card is written)".into(),
        ],
        None => vec!["GHOST MODE — replaying to the end".into(), "Enter or q: the card".into()],
    }
}

/// The box at a stop: the question and the keys.
pub fn choosing(k: usize, total: usize) -> Vec<String> {
    vec![
        format!("GHOST MODE — decision {k} of {total}: What would you do next?"),
        "Use the console's keys (b runbooks, a actions, confirm as usual): the first step you confirm is your choice. Nothing is executed.   F9: pass".into(),
    ]
}

/// The box after a choice: the difference with the original operator and with the plan.
pub fn decided(line: &DecisionLine, point: &DecisionPoint) -> Vec<String> {
    let chosen = line.chosen.as_deref().unwrap_or("passed");
    let runbook = match (&line.expected, line.vs_runbook) {
        (Some(e), Some(m)) => format!("the runbook's plan expected {e}: {}", m.label()),
        _ => "no runbook plan applied here".into(),
    };
    vec![
        format!(
            "You: {chosen}.  The operator: {} (\"{}\") — {}  {:+} points",
            line.original,
            line.original_title,
            line.vs_original.label().to_uppercase(),
            line.points
        ),
        format!("{runbook}.   Enter: continue the replay (step #{} in the recording)", point.step),
    ]
}
