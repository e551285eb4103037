//! The help overlay, generated from the active keymap (every layer, keys and description).

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Clear, Paragraph};

use crate::config::keymap::KeyLayer;
use crate::config::theme::Slot;
use crate::config::{Keymap, Theme};

use super::layout::centered;
use super::widgets::width;
use crate::text::clean;

/// Section title of a layer.
fn layer_title(layer: KeyLayer) -> &'static str {
    match layer {
        KeyLayer::Global => "Everywhere",
        KeyLayer::Pane => "Live panes (Pods, Database, Sentinel, Traffic, Log)",
        KeyLayer::Steps => "Steps pane",
        KeyLayer::Checklist => "Checklist pane",
        KeyLayer::Actions => "Actions menu",
        KeyLayer::Confirm => "Confirm dialog",
        KeyLayer::Help => "This help",
    }
}

/// Number of lines the help has for `keymap` (the core can clamp `help_scroll` with it).
pub fn line_count(keymap: &Keymap) -> usize {
    KeyLayer::ALL
        .iter()
        .map(|(l, _)| keymap.bindings(*l).len())
        .filter(|n| *n > 0)
        .map(|n| n + 2)
        .sum::<usize>()
        .max(1)
}

fn lines(keymap: &Keymap, theme: &Theme, w: usize) -> Vec<Line<'static>> {
    let key_w = KeyLayer::ALL
        .iter()
        .flat_map(|(l, _)| keymap.bindings(*l))
        .map(|b| width(&b.keys_text()))
        .max()
        .unwrap_or(0)
        .clamp(3, 14);
    let mut out = Vec::new();
    for (layer, _) in KeyLayer::ALL {
        let bindings = keymap.bindings(*layer);
        if bindings.is_empty() {
            continue;
        }
        if !out.is_empty() {
            out.push(Line::raw(""));
        }
        out.push(Line::styled(layer_title(*layer), theme.style(Slot::TableHeader)));
        for b in bindings {
            let keys = clean(&b.keys_text(), key_w);
            let pad = key_w.saturating_sub(width(&keys));
            let desc = if b.desc.is_empty() { b.command.description() } else { b.desc.as_str() };
            out.push(Line::from(vec![
                Span::raw("  "),
                Span::styled(keys, theme.style(Slot::PaneTitle)),
                Span::raw(" ".repeat(pad + 2)),
                Span::raw(clean(desc, w.saturating_sub(key_w + 4))),
            ]));
        }
    }
    if out.is_empty() {
        out.push(Line::styled("The active keymap binds no keys.", theme.style(Slot::StatusDown)));
    } else {
        out.push(Line::raw(""));
    }
    out
}

/// Draw the help overlay over `area`, starting at line `scroll` (clamped).
pub fn draw(frame: &mut Frame, area: Rect, theme: &Theme, keymap: &Keymap, scroll: usize) {
    let w = area.width.saturating_sub(4).min(84);
    let h = area.height.saturating_sub(2);
    let rect = centered(area, w, h);
    frame.render_widget(Clear, rect);
    let name = if keymap.name.is_empty() { "keymap".to_string() } else { clean(&keymap.name, 30) };
    let block = Block::bordered()
        .border_style(theme.style(Slot::Confirm))
        .title(Span::styled(format!(" Help: keys of {name} "), theme.style(Slot::PaneTitle)));
    let inner = block.inner(rect);
    frame.render_widget(block, rect);
    let all = lines(keymap, theme, usize::from(inner.width));
    let visible = usize::from(inner.height);
    let max_scroll = all.len().saturating_sub(visible);
    let scroll = scroll.min(max_scroll);
    let more =
        if scroll < max_scroll { format!(" ↓ {} more ", max_scroll - scroll) } else { String::new() };
    let shown: Vec<Line<'static>> = all.into_iter().skip(scroll).take(visible).collect();
    frame.render_widget(Paragraph::new(shown), inner);
    if !more.is_empty() && rect.height > 0 {
        let bottom = Rect { y: rect.y + rect.height - 1, height: 1, ..rect };
        let x = bottom.x + bottom.width.saturating_sub(width(&more) as u16 + 1);
        let r = Rect { x, width: (width(&more) as u16).min(bottom.width), ..bottom };
        frame.render_widget(Paragraph::new(Span::styled(more, theme.style(Slot::Dim))), r);
    }
}
