//! Sentinel pane: the agreed master, quorum, the master's own role, replicas, recent events.
//!
//! Lines are written most important first, so a short pane loses the least important ones.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::Line;
use ratatui::widgets::Paragraph;

use crate::app::PaneId;
use crate::backends::model::SentinelView;
use crate::config::theme::Slot;

use super::PaneCtx;
use crate::text::clean;
use crate::ui::widgets::{age_text, bytes_text, no_value_lines};

const HOW_TO_CONFIGURE: &str = "Add a [sentinel] section (master, addrs) to warroom.toml.";

/// Whether reachable Sentinels report two or more different masters.
pub fn sentinels_disagree(v: &SentinelView) -> bool {
    let mut masters = v.sentinels.iter().filter_map(|s| s.master.as_deref());
    match masters.next() {
        Some(first) => masters.any(|m| m != first),
        None => false,
    }
}

/// The first line: the agreed master and how many Sentinels back it. `●` only when every
/// Sentinel agrees; `◐` (degraded) when some do not answer or report nothing.
pub fn headline(v: &SentinelView) -> (String, Slot) {
    let total = v.sentinels.len();
    match v.agreed_master() {
        Some(m) if !sentinels_disagree(v) => {
            let agreeing = v.sentinels.iter().filter(|s| s.master.as_deref() == Some(m)).count();
            let (reachable, _) = v.reachable();
            if agreeing == total {
                (
                    format!("● {} → {m} ({agreeing}/{total} Sentinels agree)", v.master_name),
                    Slot::StatusHealthy,
                )
            } else if reachable < total {
                let text = format!(
                    "◐ {} → {m} ({reachable} of {total} Sentinels reachable; those agree)",
                    v.master_name
                );
                (text, Slot::StatusDegraded)
            } else {
                (
                    format!("◐ {} → {m} ({agreeing}/{total} Sentinels agree)", v.master_name),
                    Slot::StatusDegraded,
                )
            }
        }
        _ if sentinels_disagree(v) => (format!("!! SENTINELS DISAGREE on {}", v.master_name), Slot::Alarm),
        _ => (format!("✗ {}: no Sentinel reports a master", v.master_name), Slot::StatusDown),
    }
}

/// The quorum line: `✓` only for a positive CKQUORUM answer (NOQUORUM is a failure).
pub fn quorum_line(v: &SentinelView) -> (String, Slot) {
    match v.quorum_verdict() {
        Some(Ok(m)) => (format!("✓ quorum: {m}"), Slot::StatusHealthy),
        Some(Err(m)) => (format!("✗ quorum: {m}"), Slot::StatusDown),
        None => ("? quorum unknown".into(), Slot::StatusDegraded),
    }
}

/// Draw the Sentinel pane.
pub fn draw(frame: &mut Frame, area: Rect, cx: &PaneCtx<'_>) {
    let snap = &cx.state.domain.observed.sentinel;
    let inner = cx.live_block(frame, area, PaneId::Sentinel, snap);
    let theme = cx.theme;
    let tried = crate::ui::tried::sentinel(&cx.state.domain.config);
    if let Some(lines) = no_value_lines(snap, HOW_TO_CONFIGURE, tried, theme) {
        crate::ui::widgets::message(frame, inner, lines);
        return;
    }
    let Some(v) = snap.value.as_ref() else { return };
    let w = usize::from(inner.width);
    let line = |text: String, slot: Slot| Line::styled(clean(&text, w), theme.style(slot));
    let mut lines: Vec<Line<'static>> = Vec::new();

    let disagree = sentinels_disagree(v);
    let any_error = v.sentinels.iter().any(|s| s.error.is_some());
    let (text, slot) = headline(v);
    lines.push(line(text, slot));
    let per_sentinel = |lines: &mut Vec<Line<'static>>| {
        for s in &v.sentinels {
            match (&s.error, &s.master) {
                (Some(e), _) => lines.push(line(format!("  ✗ {}: {e}", s.addr), Slot::StatusDown)),
                (None, Some(m)) => lines.push(line(format!("  {} says {m}", s.addr), Slot::Text)),
                (None, None) => {
                    lines.push(line(format!("  ? {} reports no master", s.addr), Slot::StatusDegraded))
                }
            }
        }
    };
    if disagree || any_error {
        per_sentinel(&mut lines);
    }
    if v.failover_in_progress {
        lines.push(line("… failover in progress".into(), Slot::StatusDegraded));
    }
    let (text, slot) = quorum_line(v);
    lines.push(line(text, slot));
    lines.push(match v.master_role.as_deref() {
        Some(r @ ("master" | "primary")) => line(format!("✓ master reports role {r}"), Slot::StatusHealthy),
        Some(r) => line(format!("!! master reports role {r}: it is not a master"), Slot::Alarm),
        None => line("? master role unknown".into(), Slot::StatusDegraded),
    });
    if v.replicas.is_empty() {
        lines.push(line("✗ no replicas".into(), Slot::StatusDegraded));
    }
    for r in &v.replicas {
        let lag = r.offset_lag.map_or("?".into(), bytes_text);
        if r.link_up && !r.flags.contains("down") {
            lines.push(line(format!("● replica {} link up, lag {lag}", r.addr), Slot::StatusHealthy));
        } else {
            let text = format!("✗ replica {} link DOWN ({}), lag {lag}", r.addr, r.flags);
            lines.push(line(text, Slot::StatusDown));
        }
    }
    if !(disagree || any_error) {
        per_sentinel(&mut lines);
    }
    if !v.events.is_empty() {
        lines.push(line("events (newest first):".into(), Slot::Dim));
        for e in v.events.iter().rev().take(8) {
            let age = age_text(cx.state.domain.now - e.at);
            let text = format!("  {age:>4} {} {} ({})", e.kind, e.detail, e.sentinel);
            lines.push(line(text, Slot::Text));
        }
    }
    frame.render_widget(Paragraph::new(lines), inner);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backends::model::SentinelObs;

    fn view(answers: &[(Option<&str>, Option<&str>)], quorum: Result<&str, &str>) -> SentinelView {
        SentinelView {
            master_name: "mymaster".into(),
            sentinels: answers
                .iter()
                .enumerate()
                .map(|(i, (m, e))| SentinelObs {
                    addr: format!("10.0.0.{i}:26379"),
                    master: m.map(str::to_string),
                    error: e.map(str::to_string),
                })
                .collect(),
            quorum: Some(quorum.map(str::to_string).map_err(str::to_string)),
            master_role: Some("master".into()),
            ..SentinelView::default()
        }
    }

    #[test]
    fn one_of_three_reachable_is_degraded_and_says_so() {
        let m = Some("10.0.1.11:6379");
        let v = view(&[(m, None), (None, Some("timeout")), (None, Some("refused"))], Ok("OK 1 usable"));
        let (text, slot) = headline(&v);
        assert!(text.starts_with('◐') && text.contains("1 of 3 Sentinels reachable; those agree"), "{text}");
        assert_eq!(slot, Slot::StatusDegraded);
        let all = view(&[(m, None), (m, None), (m, None)], Ok("OK 3 usable"));
        assert_eq!(
            headline(&all),
            ("● mymaster → 10.0.1.11:6379 (3/3 Sentinels agree)".into(), Slot::StatusHealthy)
        );
    }

    #[test]
    fn noquorum_is_a_failure_however_it_arrives() {
        let m = Some("10.0.1.11:6379");
        for q in [Ok("NOQUORUM 1 usable Sentinels"), Err("NOQUORUM 1 usable Sentinels")] {
            let (text, slot) = quorum_line(&view(&[(m, None)], q));
            assert!(text.starts_with('✗') && text.contains("NOQUORUM"), "{text}");
            assert_eq!(slot, Slot::StatusDown);
        }
        assert_eq!(quorum_line(&view(&[(m, None)], Ok("OK 3 usable"))).1, Slot::StatusHealthy);
    }
}
