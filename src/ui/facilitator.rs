//! The facilitator's injection menu: one list per stage (fault kind, target, returns-after).

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Clear, Paragraph};

use crate::app::facilitator::{InjectStage, inject_items, inject_title};
use crate::config::Theme;
use crate::config::theme::Slot;

use super::layout::centered;
use crate::text::clean;

/// Draw the injection menu at `stage` over `area`, row `selected` highlighted.
pub fn draw_inject(frame: &mut Frame, area: Rect, theme: &Theme, stage: &InjectStage, selected: usize) {
    let items = inject_items(stage);
    let w = area.width.saturating_sub(4).min(60);
    let h = (items.len() as u16 + 2).min(area.height.saturating_sub(2).max(3));
    let rect = centered(area, w, h);
    frame.render_widget(Clear, rect);
    let block = Block::bordered()
        .border_style(theme.style(Slot::Confirm))
        .title(Span::styled(inject_title(stage), theme.style(Slot::PaneTitle)));
    let inner = block.inner(rect);
    frame.render_widget(block, rect);
    let rows = usize::from(inner.height).max(1);
    let sel = selected.min(items.len().saturating_sub(1));
    let offset = if sel < rows { 0 } else { sel + 1 - rows };
    let room = usize::from(inner.width).saturating_sub(2);
    let lines: Vec<Line<'static>> = items
        .iter()
        .enumerate()
        .skip(offset)
        .take(rows)
        .map(|(i, item)| {
            let (mark, slot) = if i == sel { ("› ", Slot::Selection) } else { ("  ", Slot::Text) };
            Line::from(vec![Span::raw(mark), Span::styled(clean(item, room), theme.style(slot))])
        })
        .collect();
    frame.render_widget(Paragraph::new(lines), inner);
}
