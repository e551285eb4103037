//! Checklist pane: items grouped by phase, with countdowns to their due times.

use chrono::{DateTime, Duration, Utc};
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use crate::app::PaneId;
use crate::config::Theme;
use crate::config::theme::Slot;
use crate::incident::checklist::{Checklist, ChecklistItem};

use super::panes::PaneCtx;
use super::widgets::{age_text, countdown_text, width};
use crate::text::clean;

/// Due text and its style, or nothing when unscheduled: `due in 4m` (rounded up: whole
/// minutes, tens of seconds in the last minute, see [`countdown_text`]; in the warning colour
/// in the last minute), `next in 12m` for recurring items,
/// `OVERDUE 1m` (how long overdue, as a coarse age rounded down: see [`age_text`]).
pub fn due_text(
    item: &ChecklistItem,
    t0: DateTime<Utc>,
    now: DateTime<Utc>,
    theme: &Theme,
) -> Option<Span<'static>> {
    let due = Checklist::due_at(item, t0)?;
    let left = (due - now).num_seconds();
    let recurring = item.done.is_some();
    Some(if left < 0 {
        let late = Duration::seconds(-left);
        Span::styled(format!("OVERDUE {}", age_text(late)), theme.style(Slot::StatusDown))
    } else if recurring {
        Span::styled(format!("next in {}", countdown_text(left)), theme.style(Slot::Dim))
    } else {
        let slot = if left < 60 { Slot::StatusDegraded } else { Slot::Dim };
        Span::styled(format!("due in {}", countdown_text(left)), theme.style(slot))
    })
}

/// Draw the Checklist pane.
pub fn draw(frame: &mut Frame, area: Rect, cx: &PaneCtx<'_>) {
    let st = cx.state;
    let theme = cx.theme;
    let items = &st.domain.checklist.items;
    let inner = cx.block(frame, area, PaneId::Checklist, vec![title_suffix(cx)]);
    if inner.height == 0 {
        return;
    }
    if items.is_empty() {
        let empty = Line::styled("No checklist items.", theme.style(Slot::Dim));
        frame.render_widget(Paragraph::new(empty), inner);
        return;
    }
    let sel = cx.selected(PaneId::Checklist).min(items.len() - 1);
    let anchor = if cx.focused { sel } else { most_urgent(cx).unwrap_or(sel) };
    let (lines, at) = item_lines(cx, usize::from(inner.width), sel, anchor);
    let offset = scroll_offset(at, usize::from(inner.height), cx.focused);
    let (above, below) = super::scroll::hidden(offset, usize::from(inner.height), lines.len());
    frame.render_widget(Paragraph::new(lines).scroll((offset.min(u16::MAX as usize) as u16, 0)), inner);
    super::scroll::draw_marks(frame, area, !cx.compact, above, below, theme);
}

/// `✗ 2 overdue` when items are overdue, else `3 open`; `resolved: 3 open` once resolved.
fn title_suffix(cx: &PaneCtx<'_>) -> Span<'static> {
    let st = cx.state;
    let items = &st.domain.checklist.items;
    if st.domain.resolved.is_some() {
        let open = items.iter().filter(|i| i.done.is_none()).count();
        return Span::styled(format!("resolved: {open} open"), cx.theme.style(Slot::Dim));
    }
    let overdue = items
        .iter()
        .filter(|i| Checklist::due_at(i, st.domain.checklist_t0()).is_some_and(|d| d < st.domain.now))
        .count();
    if overdue > 0 {
        Span::styled(format!("✗ {overdue} overdue"), cx.theme.style(Slot::StatusDown))
    } else {
        let open = items.iter().filter(|i| i.done.is_none()).count();
        Span::styled(format!("{open} open"), cx.theme.style(Slot::Dim))
    }
}

/// The item due first (overdue ones are due earliest): what an unfocused pane keeps in view.
fn most_urgent(cx: &PaneCtx<'_>) -> Option<usize> {
    let st = cx.state;
    let items = st.domain.checklist.items.iter().enumerate();
    items
        .filter_map(|(i, it)| Checklist::due_at(it, st.domain.checklist_t0()).map(|d| (d, i)))
        .min()
        .map(|(_, i)| i)
}

/// Where the anchor item is in the pane's lines: its line and its phase header's line.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct Anchor {
    /// Line of the anchor item.
    line: usize,
    /// Line of the header of its phase.
    header: usize,
}

/// The pane's lines, `w` wide: a header per phase, then its items (item `sel` in the
/// selection style when focused); and where item `anchor` landed.
fn item_lines(cx: &PaneCtx<'_>, w: usize, sel: usize, anchor: usize) -> (Vec<Line<'static>>, Anchor) {
    let items = &cx.state.domain.checklist.items;
    let mut lines: Vec<Line<'static>> = Vec::with_capacity(items.len() + 4);
    let mut at = Anchor::default();
    let mut header_line = 0;
    let mut phase: Option<&str> = None;
    for (i, item) in items.iter().enumerate() {
        if phase != Some(item.phase.as_str()) {
            phase = Some(item.phase.as_str());
            header_line = lines.len();
            lines.push(Line::styled(clean(&item.phase, w), cx.theme.style(Slot::TableHeader)));
        }
        if i == anchor {
            at = Anchor { line: lines.len(), header: header_line };
        }
        let line = item_line(cx, item, w);
        lines.push(if i == sel && cx.focused { line.style(cx.theme.style(Slot::Selection)) } else { line });
    }
    (lines, at)
}

/// One item, `w` wide: `[ ] text` with its due text right-aligned.
fn item_line(cx: &PaneCtx<'_>, item: &ChecklistItem, w: usize) -> Line<'static> {
    let (st, theme) = (cx.state, cx.theme);
    let done = item.done.is_some();
    let check = if done { "[x] " } else { "[ ] " };
    // Resolved: the timers stop (nothing is due any more).
    let due = if st.domain.resolved.is_some() {
        None
    } else {
        due_text(item, st.domain.checklist_t0(), st.domain.now, theme)
    };
    let due = due.or_else(|| {
        // An automatic tick names the entry that made it: `✓ by runbook-started #12`.
        let note = item.done.as_ref()?.1.as_deref()?;
        note.starts_with("✓ by ").then(|| Span::styled(clean(note, 40), theme.style(Slot::StatusHealthy)))
    });
    let due_w = due.as_ref().map_or(0, |d| width(&d.content) + 1);
    let room = w.saturating_sub(4 + due_w);
    let text = clean(&item.text, room);
    let pad = room.saturating_sub(width(&text));
    let mut spans = vec![
        Span::styled(check, theme.style(if done { Slot::StatusHealthy } else { Slot::Text })),
        Span::styled(text, theme.style(if done { Slot::Dim } else { Slot::Text })),
    ];
    if let Some(d) = due {
        spans.push(Span::raw(" ".repeat(pad + 1)));
        spans.push(d);
    }
    Line::from(spans)
}

/// First line to show in a pane `h` lines high so the anchor is visible: from the top when it
/// fits; focused, the anchor is the last line; unfocused, its phase header is the first line
/// when the phase fits, else the anchor is.
fn scroll_offset(at: Anchor, h: usize, focused: bool) -> usize {
    if at.line < h {
        0
    } else if focused {
        at.line + 1 - h
    } else if at.line - at.header < h {
        at.header
    } else {
        at.line
    }
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;
    use ratatui::style::Style;

    use super::*;
    use crate::incident::checklist::Due;

    fn t(s: i64) -> DateTime<Utc> {
        Utc.timestamp_opt(1_800_000_000 + s, 0).single().expect("valid time")
    }

    fn item(due: Due, done: Option<i64>) -> ChecklistItem {
        ChecklistItem {
            id: "x".into(),
            phase: "p".into(),
            text: "do it".into(),
            due,
            done: done.map(|s| (t(s), None)),
        }
    }

    fn due(item: &ChecklistItem, now: i64) -> Option<(String, Style)> {
        let theme = Theme::fallback();
        due_text(item, t(0), t(now), &theme).map(|s| (s.content.into_owned(), s.style))
    }

    #[test]
    fn due_times_are_coarse_and_never_late() {
        let theme = Theme::fallback();
        let by5 = item(Due::By(Duration::minutes(5)), None);
        assert_eq!(due(&by5, 0), Some(("due in 5m".into(), theme.style(Slot::Dim))));
        assert_eq!(due(&by5, 59), Some(("due in 5m".into(), theme.style(Slot::Dim))));
        assert_eq!(due(&by5, 60), Some(("due in 4m".into(), theme.style(Slot::Dim))));
        assert_eq!(due(&by5, 239), Some(("due in 2m".into(), theme.style(Slot::Dim))));
        assert_eq!(due(&by5, 240), Some(("due in 1m".into(), theme.style(Slot::Dim))));
        assert_eq!(due(&by5, 258), Some(("due in 50s".into(), theme.style(Slot::StatusDegraded))));
        assert_eq!(due(&by5, 299), Some(("due in 10s".into(), theme.style(Slot::StatusDegraded))));
        assert_eq!(due(&by5, 300), Some(("due in 0s".into(), theme.style(Slot::StatusDegraded))));
        // Overdue says how long, rounded down, in the alarm colour.
        assert_eq!(due(&by5, 301), Some(("OVERDUE <10s".into(), theme.style(Slot::StatusDown))));
        assert_eq!(due(&by5, 335), Some(("OVERDUE 30s".into(), theme.style(Slot::StatusDown))));
        assert_eq!(due(&by5, 300 + 125), Some(("OVERDUE 2m".into(), theme.style(Slot::StatusDown))));
        // Done one-off items have no due time; recurring ones count to the next round.
        assert_eq!(due(&item(Due::By(Duration::minutes(5)), Some(10)), 20), None);
        assert_eq!(due(&item(Due::Unscheduled, None), 20), None);
        let every =
            item(Due::Every { first: Duration::minutes(15), every: Duration::minutes(30) }, Some(900));
        assert_eq!(due(&every, 1000), Some(("next in 29m".into(), theme.style(Slot::Dim))));
    }

    #[test]
    fn the_anchor_stays_in_view() {
        let at = |line, header| Anchor { line, header };
        assert_eq!(scroll_offset(at(3, 0), 5, true), 0, "fits from the top");
        assert_eq!(scroll_offset(at(9, 6), 5, true), 5, "focused: the selection is the last line");
        assert_eq!(scroll_offset(at(9, 6), 5, false), 6, "unfocused: its phase header first");
        assert_eq!(scroll_offset(at(12, 6), 5, false), 12, "a long phase: the item first");
    }

    #[test]
    fn an_idle_minute_changes_a_countdown_at_most_twice_before_the_last_one() {
        let by15 = item(Due::By(Duration::minutes(15)), None);
        for start in 0..=780 {
            let texts: std::collections::BTreeSet<String> =
                (start..start + 60).filter_map(|s| due(&by15, s)).map(|(t, _)| t).collect();
            assert!(texts.len() <= 2, "from T+{start}s: {texts:?}");
        }
    }
}
