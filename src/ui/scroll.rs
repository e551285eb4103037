//! Scroll indicators: a list that hides items says how many, on its frame: `▲ 3 more` on the
//! top edge, `▼ 5 more` on the bottom edge (both on the title rule of a compact pane).

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::Span;
use ratatui::widgets::Paragraph;

use crate::config::Theme;
use crate::config::theme::Slot;

use super::glyphs::{MORE_ABOVE, MORE_BELOW};
use super::widgets::width;

/// The texts for `above` hidden rows above and `below` below: (top edge, bottom edge). A frame
/// without a bottom edge (`bottom_edge` false) carries both on its top edge.
pub fn mark_texts(above: usize, below: usize, bottom_edge: bool) -> (Option<String>, Option<String>) {
    let up = (above > 0).then(|| format!("{MORE_ABOVE} {above} more"));
    let down = (below > 0).then(|| format!("{MORE_BELOW} {below} more"));
    if bottom_edge {
        return (up, down);
    }
    match (up, down) {
        (Some(_), Some(d)) => (Some(format!("{MORE_ABOVE} {above} · {d}")), None),
        (u, d) => (u.or(d), None),
    }
}

/// Rows hidden above and below a window of `shown` rows from `offset` in `len` rows.
pub fn hidden(offset: usize, shown: usize, len: usize) -> (usize, usize) {
    let above = offset.min(len);
    (above, len.saturating_sub(above + shown))
}

/// Draw the marks on the frame `outer` of a list: right-aligned on its top edge, and on its
/// bottom edge when it has one.
pub fn draw_marks(
    frame: &mut Frame,
    outer: Rect,
    bottom_edge: bool,
    above: usize,
    below: usize,
    theme: &Theme,
) {
    if outer.height == 0 {
        return;
    }
    let (top, bottom) = mark_texts(above, below, bottom_edge && outer.height > 1);
    let mut put = |text: String, y: u16| {
        let text = format!(" {text} ");
        let w = (width(&text) as u16).min(outer.width.saturating_sub(2));
        let r = Rect { x: outer.x + outer.width.saturating_sub(w + 1), y, width: w, height: 1 };
        frame.render_widget(Paragraph::new(Span::styled(text, theme.style(Slot::StatusDegraded))), r);
    };
    if let Some(t) = top {
        put(t, outer.y);
    }
    if let Some(b) = bottom {
        put(b, outer.y + outer.height - 1);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn marks_say_how_many_are_hidden_and_where() {
        assert_eq!(mark_texts(0, 0, true), (None, None));
        assert_eq!(mark_texts(3, 0, true), (Some("▲ 3 more".into()), None));
        assert_eq!(mark_texts(0, 5, true), (None, Some("▼ 5 more".into())));
        assert_eq!(mark_texts(3, 5, true), (Some("▲ 3 more".into()), Some("▼ 5 more".into())));
        // Without a bottom edge both go on top.
        assert_eq!(mark_texts(0, 5, false), (Some("▼ 5 more".into()), None));
        assert_eq!(mark_texts(3, 5, false), (Some("▲ 3 · ▼ 5 more".into()), None));
    }

    #[test]
    fn hidden_counts_rows_outside_the_window() {
        assert_eq!(hidden(0, 10, 4), (0, 0));
        assert_eq!(hidden(0, 4, 10), (0, 6));
        assert_eq!(hidden(6, 4, 10), (6, 0));
        assert_eq!(hidden(2, 4, 10), (2, 4));
    }
}
