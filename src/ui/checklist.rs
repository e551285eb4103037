//! Checklist pane: items grouped by phase, with countdowns to their due times.

use chrono::{DateTime, Utc};
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use crate::app::PaneId;
use crate::config::Theme;
use crate::config::theme::Slot;
use crate::incident::checklist::{Checklist, ChecklistItem};

use super::panes::PaneCtx;
use super::sanitize::clean;
use super::widgets::{countdown_text, width};

/// Due text and its style: `due in 3:12`, `OVERDUE 1:05`, or nothing when unscheduled.
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
        Span::styled(format!("OVERDUE {}", countdown_text(left)), theme.style(Slot::StatusDown))
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
    let items = &st.checklist.items;
    let overdue = items
        .iter()
        .filter(|i| Checklist::due_at(i, st.incident.declared_at).is_some_and(|d| d < st.now))
        .count();
    let suffix = if overdue > 0 {
        Span::styled(format!("✗ {overdue} overdue"), theme.style(Slot::StatusDown))
    } else {
        let open = items.iter().filter(|i| i.done.is_none()).count();
        Span::styled(format!("{open} open"), theme.style(Slot::Dim))
    };
    let inner = cx.block(frame, area, PaneId::Checklist, vec![suffix]);
    if inner.height == 0 {
        return;
    }
    if items.is_empty() {
        frame.render_widget(
            Paragraph::new(Line::styled("No checklist items.", theme.style(Slot::Dim))),
            inner,
        );
        return;
    }
    let w = usize::from(inner.width);
    let sel = cx.selected(PaneId::Checklist).min(items.len() - 1);
    let mut lines: Vec<Line<'static>> = Vec::with_capacity(items.len() + 4);
    // Unfocused, the pane shows the most urgent item (earliest due, overdue first) with its
    // phase; focused, it follows the selection.
    let anchor = if cx.focused {
        sel
    } else {
        items
            .iter()
            .enumerate()
            .filter_map(|(i, it)| Checklist::due_at(it, st.incident.declared_at).map(|d| (d, i)))
            .min()
            .map_or(sel, |(_, i)| i)
    };
    let (mut anchor_line, mut anchor_header) = (0, 0);
    let mut header_line = 0;
    let mut phase: Option<&str> = None;
    for (i, item) in items.iter().enumerate() {
        if phase != Some(item.phase.as_str()) {
            phase = Some(item.phase.as_str());
            header_line = lines.len();
            lines.push(Line::styled(clean(&item.phase, w), theme.style(Slot::TableHeader)));
        }
        if i == anchor {
            anchor_line = lines.len();
            anchor_header = header_line;
        }
        let check = if item.done.is_some() { "[x] " } else { "[ ] " };
        let due = due_text(item, st.incident.declared_at, st.now, theme);
        let due_w = due.as_ref().map_or(0, |d| width(&d.content) + 1);
        let room = w.saturating_sub(4 + due_w);
        let text = clean(&item.text, room);
        let pad = room.saturating_sub(width(&text));
        let text_slot = if item.done.is_some() { Slot::Dim } else { Slot::Text };
        let mut spans = vec![
            Span::styled(
                check,
                theme.style(if item.done.is_some() { Slot::StatusHealthy } else { Slot::Text }),
            ),
            Span::styled(text, theme.style(text_slot)),
        ];
        if let Some(d) = due {
            spans.push(Span::raw(" ".repeat(pad + 1)));
            spans.push(d);
        }
        let line = Line::from(spans);
        lines.push(if i == sel && cx.focused { line.style(theme.style(Slot::Selection)) } else { line });
    }
    let h = usize::from(inner.height);
    let offset = if anchor_line < h {
        0
    } else if cx.focused {
        anchor_line + 1 - h
    } else if anchor_line - anchor_header < h {
        anchor_header
    } else {
        anchor_line
    };
    frame.render_widget(Paragraph::new(lines).scroll((offset.min(u16::MAX as usize) as u16, 0)), inner);
}
