//! The scorecard overlay a drill console shows when the drill ends (resolved, or quit after it
//! recovered): each trainee's scorecard as `incident::scorecard::render_text` writes it,
//! scrollable, over the last frame of the console.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Clear, Paragraph, Wrap};

use super::layout::centered;
use crate::config::Theme;
use crate::config::theme::Slot;
use crate::text::sanitize;

/// The overlay's title, with the keys it takes.
pub const TITLE: &str = " SCORECARD: drill over (↑/↓ scroll, any other key exits) ";

/// The style of one line: score lines stand out, debrief items warn.
fn slot(line: &str) -> Slot {
    if line.starts_with("SCORE ") || line.starts_with("Scorecard: ") {
        Slot::Header
    } else if line.starts_with("  - ") {
        Slot::Warning
    } else {
        Slot::Text
    }
}

/// Draw `lines` (already plain text) in a centered box, from line `scroll`.
pub fn draw(frame: &mut Frame, area: Rect, theme: &Theme, lines: &[String], scroll: u16) {
    let w = area.width.saturating_sub(4).min(140);
    let h = (lines.len() as u16).saturating_add(2).min(area.height.saturating_sub(2));
    let rect = centered(area, w, h);
    frame.render_widget(Clear, rect);
    let body: Vec<Line> = lines
        .iter()
        .map(|l| Line::from(Span::styled(sanitize(l).into_owned(), theme.style(slot(l)))))
        .collect();
    let block = Block::bordered()
        .border_style(theme.style(Slot::PaneBorderFocused))
        .title(Span::styled(TITLE, theme.style(Slot::PaneTitle)));
    frame.render_widget(
        Paragraph::new(body).wrap(Wrap { trim: false }).block(block).scroll((scroll, 0)),
        rect,
    );
}

#[cfg(test)]
mod tests {
    use ratatui::Terminal;
    use ratatui::backend::TestBackend;

    use super::*;

    fn screen(lines: &[String], w: u16, h: u16, scroll: u16) -> String {
        let mut t = Terminal::new(TestBackend::new(w, h)).unwrap();
        t.draw(|f| draw(f, f.area(), &Theme::fallback(), lines, scroll)).unwrap();
        let buf = t.backend().buffer().clone();
        (0..h)
            .map(|y| (0..w).map(|x| buf[(x, y)].symbol().to_string()).collect::<String>())
            .collect::<Vec<_>>()
            .join("\n")
    }

    #[test]
    fn the_overlay_shows_the_scorecard_and_scrolls() {
        let mut lines = vec!["Scorecard: alice@lab — Primary database down (primary-db-down)".to_string()];
        lines.push("SCORE 80 / 85  (points from the scenario's objectives)".into());
        lines.extend((1..=30).map(|i| format!("  - mistake number {i} (#{i} at 03:00:{i:02})")));
        let s = screen(&lines, 100, 20, 0);
        assert!(s.contains("SCORECARD: drill over"), "{s}");
        assert!(s.contains("SCORE 80 / 85"), "{s}");
        assert!(s.contains("mistake number 1 (#1"), "{s}");
        assert!(!s.contains("mistake number 30"), "does not fit: {s}");
        let s = screen(&lines, 100, 20, 20);
        assert!(s.contains("mistake number 30 (#30 at 03:00:30)"), "{s}");
        assert!(!s.contains("SCORE 80"), "{s}");
        // Control characters never reach the terminal.
        let s = screen(&["x\u{1b}[2Jy".to_string()], 40, 6, 0);
        assert!(!s.contains('\u{1b}'), "{s}");
    }
}
