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
use crate::ui::sanitize::clean;
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

/// Draw the Sentinel pane.
pub fn draw(frame: &mut Frame, area: Rect, cx: &PaneCtx<'_>) {
    let snap = &cx.state.observed.sentinel;
    let inner = cx.live_block(frame, area, PaneId::Sentinel, snap);
    let theme = cx.theme;
    if let Some(lines) = no_value_lines(snap, HOW_TO_CONFIGURE, theme) {
        frame.render_widget(Paragraph::new(lines), inner);
        return;
    }
    let Some(v) = snap.value.as_ref() else { return };
    let w = usize::from(inner.width);
    let line = |text: String, slot: Slot| Line::styled(clean(&text, w), theme.style(slot));
    let mut lines: Vec<Line<'static>> = Vec::new();

    let disagree = sentinels_disagree(v);
    let any_error = v.sentinels.iter().any(|s| s.error.is_some());
    let total = v.sentinels.len();
    match v.agreed_master() {
        Some(m) if !disagree => {
            let agreeing = v.sentinels.iter().filter(|s| s.master.as_deref() == Some(m)).count();
            let slot = if agreeing == total { Slot::StatusHealthy } else { Slot::StatusDegraded };
            let text = format!("● {} → {m} ({agreeing}/{total} Sentinels agree)", v.master_name);
            lines.push(line(text, slot));
        }
        _ if disagree => {
            lines.push(line(format!("!! SENTINELS DISAGREE on {}", v.master_name), Slot::Alarm));
        }
        _ => lines.push(line(format!("✗ {}: no Sentinel reports a master", v.master_name), Slot::StatusDown)),
    }
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
    lines.push(match &v.quorum {
        Some(Ok(m)) => line(format!("✓ quorum: {m}"), Slot::StatusHealthy),
        Some(Err(m)) => line(format!("✗ quorum: {m}"), Slot::StatusDown),
        None => line("? quorum unknown".into(), Slot::StatusDegraded),
    });
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
            let age = age_text(cx.state.now - e.at);
            let text = format!("  {age:>4} {} {} ({})", e.kind, e.detail, e.sentinel);
            lines.push(line(text, Slot::Text));
        }
    }
    frame.render_widget(Paragraph::new(lines), inner);
}
