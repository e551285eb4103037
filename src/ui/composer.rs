//! The multi-line status-update composer: the text soft-wrapped to the box, a block cursor,
//! the keys in the border, and scrolling that keeps the cursor's line in view.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::Modifier;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Clear, Paragraph};
use unicode_width::UnicodeWidthChar;

use crate::app::composer::{Composer, POST_KEY};
use crate::config::Theme;
use crate::config::theme::Slot;
use crate::text::sanitize;

use super::layout::centered;

/// One screen row of the wrapped text: its cells, and the cursor's cell if it is on this row.
struct Row {
    text: String,
    cursor: Option<usize>,
}

/// Draw the composer over `area`.
pub fn draw(frame: &mut Frame, area: Rect, theme: &Theme, label: &str, buffer: &Composer) {
    let w = area.width.saturating_sub(4).min(100);
    let h = area.height.saturating_sub(2).max(5);
    let rect = centered(area, w, h);
    frame.render_widget(Clear, rect);
    let inner_w = usize::from(rect.width.saturating_sub(2)).max(2);
    let rows = wrap(buffer, inner_w);
    let view = usize::from(rect.height.saturating_sub(2)).max(1);
    let at = rows.iter().position(|r| r.cursor.is_some()).unwrap_or(0);
    let top = (at + 1).saturating_sub(view);
    let (line, _) = buffer.cursor();
    let keys = format!(" {POST_KEY} post · Enter new line · Esc cancel ");
    let place = format!(" line {}/{} ", line + 1, buffer.lines().len());
    let block = Block::bordered()
        .border_style(theme.style(Slot::Confirm))
        .title(Span::styled(format!(" {} ", sanitize(label)), theme.style(Slot::PaneTitle)))
        .title_bottom(Line::styled(keys, theme.style(Slot::Confirm)))
        .title_bottom(Line::styled(place, theme.style(Slot::Dim)).right_aligned());
    let inner = block.inner(rect);
    frame.render_widget(block, rect);
    let cursor_style = theme.style(Slot::Text).add_modifier(Modifier::REVERSED);
    let lines: Vec<Line<'static>> = rows
        .into_iter()
        .skip(top)
        .take(view)
        .map(|r| match r.cursor {
            None => Line::raw(r.text),
            Some(c) => {
                let chars: Vec<char> = r.text.chars().collect();
                let before: String = chars[..c.min(chars.len())].iter().collect();
                let under = chars.get(c).map_or(" ".to_string(), char::to_string);
                let after: String = chars.get(c + 1..).map_or(String::new(), |a| a.iter().collect());
                Line::from(vec![Span::raw(before), Span::styled(under, cursor_style), Span::raw(after)])
            }
        })
        .collect();
    frame.render_widget(Paragraph::new(lines), inner);
}

/// The buffer's lines soft-wrapped at `w` display cells (a row keeps one cell free at its end
/// for the cursor), each line sanitized character by character so the cursor stays aligned.
fn wrap(buffer: &Composer, w: usize) -> Vec<Row> {
    let (cur_line, cur_col) = buffer.cursor();
    let room = w.saturating_sub(1).max(1);
    let mut rows = Vec::with_capacity(buffer.lines().len());
    for (li, line) in buffer.lines().iter().enumerate() {
        let mut row = Row { text: String::new(), cursor: None };
        let (mut cells, mut n) = (0, 0);
        for (ci, c) in line.chars().enumerate() {
            let one = c.to_string();
            let shown = sanitize(&one);
            let cw: usize = shown.chars().map(|c| c.width().unwrap_or(0)).sum();
            if cells + cw > room && cells > 0 {
                rows.push(std::mem::replace(&mut row, Row { text: String::new(), cursor: None }));
                (cells, n) = (0, 0);
            }
            if li == cur_line && ci == cur_col {
                row.cursor = Some(n);
            }
            row.text.push_str(&shown);
            cells += cw;
            n += shown.chars().count();
        }
        if li == cur_line && cur_col >= line.chars().count() {
            row.cursor = Some(n);
        }
        rows.push(row);
    }
    rows
}

#[cfg(test)]
mod tests {
    use ratatui::Terminal;
    use ratatui::backend::TestBackend;

    use super::*;
    use crate::app::TextEdit;
    use crate::app::composer::Motion;

    fn screen(buffer: &Composer, w: u16, h: u16) -> String {
        let mut term = Terminal::new(TestBackend::new(w, h)).unwrap();
        let theme = Theme::fallback();
        term.draw(|f| draw(f, f.area(), &theme, "Status update: edit, Ctrl-S posts it", buffer)).unwrap();
        let buf = term.backend().buffer().clone();
        let mut out = String::new();
        for y in 0..buf.area.height {
            for x in 0..buf.area.width {
                let cell = &buf[(x, y)];
                let rev = cell.modifier.contains(Modifier::REVERSED);
                out.push_str(if rev { "▮" } else { cell.symbol() });
            }
            out.push('\n');
        }
        out
    }

    #[test]
    fn composer_shows_real_lines_the_cursor_and_the_post_key() {
        let mut b = Composer::new("SEV1 INC-1 status update: Primary database down\n\nImpact:\n- none");
        for e in [TextEdit::Move(Motion::Up), TextEdit::Move(Motion::Up), TextEdit::Move(Motion::Home)] {
            b.apply(&e);
        }
        insta::assert_snapshot!(screen(&b, 60, 10));
    }

    #[test]
    fn a_long_text_scrolls_to_keep_the_cursor_in_view_and_wraps_long_lines() {
        let text: Vec<String> = (1..=30).map(|i| format!("line {i}")).collect();
        let b = Composer::new(&(text.join("\n") + " and a tail long enough to wrap in the box"));
        let s = screen(&b, 40, 10);
        assert!(s.contains("line 30 and a tail long"), "{s}");
        assert!(s.contains("wrap in the box▮"), "cursor at the end of the wrapped tail: {s}");
        assert!(!s.contains("line 1 "), "the top scrolled away: {s}");
        assert!(s.contains("line 30/30"), "{s}");
        let mut b = b;
        for _ in 0..29 {
            b.apply(&TextEdit::Move(Motion::Up));
        }
        let s = screen(&b, 40, 10);
        assert!(s.contains("line 1") && s.contains("line 1/30"), "{s}");
    }
}
