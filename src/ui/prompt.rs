//! A one-line text prompt (skip reason, note).

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Clear, Paragraph};
use unicode_width::UnicodeWidthStr;

use crate::config::Theme;
use crate::config::theme::Slot;

use super::layout::centered;
use crate::text::sanitize;

/// Draw the prompt with `label`, the `text` typed so far and a cursor.
pub fn draw(frame: &mut Frame, area: Rect, theme: &Theme, label: &str, text: &str) {
    let w = area.width.saturating_sub(4).min(80);
    let rect = centered(area, w, 4);
    frame.render_widget(Clear, rect);
    let block = Block::bordered()
        .border_style(theme.style(Slot::Confirm))
        .title(Span::styled(format!(" {} ", sanitize(label)), theme.style(Slot::PaneTitle)));
    let inner = block.inner(rect);
    frame.render_widget(block, rect);
    // Keep the end of long input (where the cursor is) visible.
    let room = usize::from(inner.width).saturating_sub(3);
    let shown = sanitize(text);
    let mut start = 0;
    while shown[start..].width() > room {
        start += shown[start..].chars().next().map_or(1, char::len_utf8);
    }
    let lines = vec![
        Line::from(vec![
            Span::styled("> ", theme.style(Slot::Confirm)),
            Span::raw(shown[start..].to_string()),
            Span::styled("█", theme.style(Slot::Text)),
        ]),
        Line::styled("Enter submit · Esc cancel", theme.style(Slot::Dim)),
    ];
    frame.render_widget(Paragraph::new(lines), inner);
}
