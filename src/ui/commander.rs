//! The commander lock on screen: the header badge and the takeover dialog.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Clear, Paragraph, Wrap};

use crate::app::{Command, State};
use crate::config::keymap::KeyLayer;
use crate::config::theme::Slot;
use crate::config::{Keymap, Theme};
use crate::incident::commander::CommanderView;

use super::layout::centered;
use super::sanitize::clean;

/// The header badge text and its style slot; `None` when the console has no lock.
/// Someone else's claim reads `COMMANDER: bob@host pid 42 (expires in 25s)`.
pub fn badge(state: &State) -> Option<(String, Slot)> {
    let now = state.now;
    let (text, slot) = match &state.commander {
        CommanderView::Unknown => return None,
        CommanderView::Pending => ("COMMANDER: ?".to_string(), Slot::Dim),
        CommanderView::Mine { holder, warning, .. } if !holder.expired(now) => match warning {
            None => ("COMMANDER: you".to_string(), Slot::BadgeLive),
            Some(_) => (
                format!("COMMANDER: you, RENEWAL FAILING (expires in {}s)", holder.expires_in_secs(now)),
                Slot::Alarm,
            ),
        },
        CommanderView::Mine { .. } => ("COMMANDER: yours EXPIRED".to_string(), Slot::Alarm),
        CommanderView::Free { .. } => ("COMMANDER: free".to_string(), Slot::BadgeReadOnly),
        CommanderView::Theirs { holder } => (
            format!(
                "COMMANDER: {} (expires in {}s)",
                clean(&holder.identity, 48),
                holder.expires_in_secs(now)
            ),
            Slot::BadgeReadOnly,
        ),
        CommanderView::Lost { .. } => ("COMMANDER LOST".to_string(), Slot::Alarm),
        CommanderView::Unavailable { .. } => ("COMMANDER: unavailable".to_string(), Slot::Alarm),
    };
    Some((text, slot))
}

/// Draw the takeover confirmation for `holder`.
pub fn draw_takeover(frame: &mut Frame, area: Rect, theme: &Theme, keymap: &Keymap, holder: &str) {
    let w = area.width.saturating_sub(4).min(72);
    let rect = centered(area, w, 6);
    frame.render_widget(Clear, rect);
    let block = Block::bordered()
        .border_style(theme.style(Slot::Confirm))
        .title(Span::styled(" Take over the commander lock ", theme.style(Slot::PaneTitle)));
    let inner = block.inner(rect);
    frame.render_widget(block, rect);
    let yes = keymap.key_for(KeyLayer::Confirm, Command::ConfirmYes).unwrap_or_else(|| "y".into());
    let no = keymap.key_for(KeyLayer::Confirm, Command::ConfirmNo).unwrap_or_else(|| "n".into());
    let lines = vec![
        Line::from(vec![
            Span::styled(clean(holder, 48), theme.style(Slot::Text)),
            Span::styled(" holds it. Take it over? Their console will", theme.style(Slot::Text)),
        ]),
        Line::styled("stop executing steps. The handover is logged.", theme.style(Slot::Text)),
        Line::styled(
            format!("{} take over · {} cancel", clean(&yes, 12), clean(&no, 12)),
            theme.style(Slot::Dim),
        ),
    ];
    frame.render_widget(Paragraph::new(lines).wrap(Wrap { trim: false }), inner);
}
