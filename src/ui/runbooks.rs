//! The runbook picker: the runbooks recommended for the current faults first (with their
//! reasons), then every other runbook, each with its description, the parameters it would start with
//! (resolved now from the panes) or why it cannot start, and its steps.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Clear, Paragraph};

use crate::app::{State, runbook_flow, safety};
use crate::config::Theme;
use crate::config::theme::Slot;
use crate::runbook::plan;

use super::layout::centered;
use crate::text::clean;

/// Draw the picker over `area` with runbook `selected` highlighted: the recommended runbooks
/// first, each with its reason, then the others.
pub fn draw(frame: &mut Frame, area: Rect, theme: &Theme, state: &State, selected: &str) {
    let entries = runbook_flow::picker_entries(state);
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
    let sel = entries.iter().position(|e| e.id == selected).unwrap_or(0);
    let mut lines: Vec<Line<'static>> = Vec::new();
    let mut sel_line = 0;
    for (i, e) in entries.iter().enumerate() {
        let Some(rb) = state.domain.runbooks.get(&e.id) else { continue };
        let mark = match (i == sel, e.reason.is_some()) {
            (true, _) => "› ",
            (false, true) => "★ ",
            (false, false) => "  ",
        };
        let line = Line::from(vec![
            Span::raw(mark),
            Span::styled(format!("{:<18}", clean(rb.id(), 18)), theme.style(Slot::PaneTitle)),
            Span::raw(" "),
            Span::raw(clean(&rb.title, iw.saturating_sub(28))),
        ]);
        if i == sel {
            sel_line = lines.len();
        }
        lines.push(if i == sel { line.style(theme.style(Slot::Selection)) } else { line });
        if let Some(reason) = &e.reason {
            let text = clean(&format!("    recommended: {reason}"), iw);
            lines.push(Line::styled(text, theme.style(Slot::StatusDegraded)));
        }
    }
    if let Some(rb) = entries.get(sel).and_then(|e| state.domain.runbooks.get(&e.id)) {
        lines.push(Line::styled("─".repeat(iw), theme.style(Slot::PaneBorder)));
        lines.push(Line::styled(clean(&rb.description, iw), theme.style(Slot::Text)));
        match plan::resolve_params(rb, &state.domain.config, &state.domain.observed, &[]) {
            Ok(params) => {
                for p in &params {
                    lines.push(Line::styled(
                        clean(&format!("  {} = {}   ({})", p.name, p.value, p.origin), iw),
                        theme.style(Slot::Dim),
                    ));
                }
                let planned = plan::plan(rb, &state.domain.config, &state.domain.observed, &params);
                for (n, s) in planned.iter().enumerate() {
                    let (text, slot) = match &s.op {
                        Ok(op) => match safety::check(&state.domain, op).into_iter().next() {
                            // Listed, but the step would be skipped: a safety rule stops it now.
                            Some(v) => (
                                format!("  {}. {} (not offered now: {})", n + 1, s.title, v.text()),
                                Slot::Dim,
                            ),
                            None => (format!("  {}. {}", n + 1, s.title), Slot::Text),
                        },
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
    // Keep the highlighted runbook in view; say what is hidden above and below.
    let h = usize::from(inner.height);
    let offset = if sel_line < h { 0 } else { sel_line + 1 - h };
    let (above, below) = super::scroll::hidden(offset, h, lines.len());
    frame.render_widget(Paragraph::new(lines).scroll((offset.min(usize::from(u16::MAX)) as u16, 0)), inner);
    super::scroll::draw_marks(frame, rect, true, above, below, theme);
}
