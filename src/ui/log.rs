//! Log pane: the tail of the durable incident log, newest at the bottom.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use crate::app::{Mode, PaneId};
use crate::config::theme::Slot;

use super::panes::PaneCtx;
use super::widgets::width;
use crate::text::clean;

/// Draw the Log pane (always shows the newest lines that fit).
pub fn draw(frame: &mut Frame, area: Rect, cx: &PaneCtx<'_>) {
    let st = cx.state;
    let theme = cx.theme;
    let count = Span::styled(format!("{} entries", st.domain.log_tail.len()), theme.style(Slot::Dim));
    let inner = cx.block(frame, area, PaneId::Log, vec![count]);
    let h = usize::from(inner.height);
    if h == 0 {
        return;
    }
    if st.domain.log_tail.is_empty() {
        frame.render_widget(
            Paragraph::new(Line::styled("Nothing logged yet.", theme.style(Slot::Dim))),
            inner,
        );
        return;
    }
    let w = usize::from(inner.width);
    let drill = st.domain.mode == Mode::Drill || st.domain.incident.drill;
    let skip = st.domain.log_tail.len().saturating_sub(h);
    let lines: Vec<Line<'static>> = st
        .domain
        .log_tail
        .iter()
        .skip(skip)
        .map(|l| {
            let mut spans = Vec::with_capacity(4);
            if drill {
                spans.push(Span::styled("DRILL ", theme.style(Slot::BadgeDrill)));
            }
            spans.push(Span::styled(l.at.format("%H:%M:%S ").to_string(), theme.style(Slot::Dim)));
            let kind = clean(l.kind.as_str(), 16);
            let slot = if l.kind.is_failure() { Slot::StatusDown } else { Slot::PaneTitle };
            let used: usize = spans.iter().map(|s| width(&s.content)).sum::<usize>() + width(&kind) + 1;
            spans.push(Span::styled(format!("{kind} "), theme.style(slot)));
            // Drill entries carry "DRILL" in their text for the file; the badge already says it.
            let summary =
                if drill { l.summary.strip_prefix("DRILL ").unwrap_or(&l.summary) } else { &l.summary };
            spans.push(Span::raw(clean(summary, w.saturating_sub(used))));
            Line::from(spans)
        })
        .collect();
    frame.render_widget(Paragraph::new(lines), inner);
    // Older entries scrolled off the top (the newest are always shown).
    super::scroll::draw_marks(frame, area, !cx.compact, skip, 0, theme);
}
