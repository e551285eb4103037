//! The runbook picker: every runbook with its description, the parameters it would start with
//! (resolved now from the panes) or why it cannot start, and its steps.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Clear, Paragraph};

use crate::app::State;
use crate::config::Theme;
use crate::config::theme::Slot;
use crate::runbook::plan;

use super::layout::centered;
use super::sanitize::clean;

/// Draw the picker over `area` with row `selected` highlighted.
pub fn draw(frame: &mut Frame, area: Rect, theme: &Theme, state: &State, selected: usize) {
    let entries = &state.runbooks.entries;
    let w = area.width.saturating_sub(4).min(100);
    let h = area.height.saturating_sub(2).clamp(3, 30);
    let rect = centered(area, w, h);
    frame.render_widget(Clear, rect);
    let block = Block::bordered()
        .border_style(theme.style(Slot::Confirm))
        .title(Span::styled(" Runbooks (Enter: start, Esc: close) ", theme.style(Slot::PaneTitle)));
    let inner = block.inner(rect);
    frame.render_widget(block, rect);
    let iw = usize::from(inner.width);
    let sel = selected.min(entries.len().saturating_sub(1));
    let mut lines: Vec<Line<'static>> = Vec::new();
    for (i, e) in entries.iter().enumerate() {
        let rb = &e.runbook;
        let mark = if i == sel { "› " } else { "  " };
        let line = Line::from(vec![
            Span::raw(mark),
            Span::styled(format!("{:<18}", clean(rb.id(), 18)), theme.style(Slot::PaneTitle)),
            Span::raw(" "),
            Span::raw(clean(&rb.title, iw.saturating_sub(28))),
        ]);
        lines.push(if i == sel { line.style(theme.style(Slot::Selection)) } else { line });
    }
    if let Some(e) = entries.get(sel) {
        let rb = &e.runbook;
        lines.push(Line::styled("─".repeat(iw), theme.style(Slot::PaneBorder)));
        lines.push(Line::styled(clean(&rb.description, iw), theme.style(Slot::Text)));
        match plan::resolve_params(rb, &state.config, &state.observed, &[]) {
            Ok(params) => {
                for p in &params {
                    lines.push(Line::styled(
                        clean(&format!("  {} = {}   ({})", p.name, p.value, p.origin), iw),
                        theme.style(Slot::Dim),
                    ));
                }
                let planned = plan::plan(rb, &state.config, &state.observed, &params);
                for (n, s) in planned.iter().enumerate() {
                    let (text, slot) = match &s.op {
                        Ok(_) => (format!("  {}. {}", n + 1, s.title), Slot::Text),
                        Err(why) => (format!("  {}. {} ({why})", n + 1, s.title), Slot::Dim),
                    };
                    lines.push(Line::styled(clean(&text, iw), theme.style(slot)));
                }
            }
            Err(why) => {
                lines.push(Line::styled(
                    clean(&format!("cannot start now: {why}"), iw),
                    theme.style(Slot::StatusDown),
                ));
            }
        }
    }
    frame.render_widget(Paragraph::new(lines), inner);
}
