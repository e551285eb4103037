//! The actions menu: operations proposed from the current state, each with why; the ones not
//! offered now (a safety rule or a precheck fails) are listed greyed with the reason.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Clear, Paragraph};

use crate::app::state::Proposal;
use crate::config::Theme;
use crate::config::theme::Slot;
use crate::operation::Risk;

use super::layout::centered;
use super::widgets::width;
use crate::text::clean;

/// Draw the actions menu over `area` with row `selected` highlighted.
pub fn draw(frame: &mut Frame, area: Rect, theme: &Theme, items: &[Proposal], selected: usize) {
    let w = area.width.saturating_sub(4).min(90);
    let h = (items.len().max(1) as u16 * 2 + 2).min(area.height.saturating_sub(2).max(3));
    let rect = centered(area, w, h);
    frame.render_widget(Clear, rect);
    let block = Block::bordered()
        .border_style(theme.style(Slot::Confirm))
        .title(Span::styled(" Proposed operations ", theme.style(Slot::PaneTitle)));
    let inner = block.inner(rect);
    frame.render_widget(block, rect);
    if items.is_empty() {
        let text = "No operations proposed for the current state.";
        frame.render_widget(Paragraph::new(Line::styled(text, theme.style(Slot::Dim))), inner);
        return;
    }
    let iw = usize::from(inner.width);
    let sel = selected.min(items.len() - 1);
    let per_page = (usize::from(inner.height) / 2).max(1);
    let offset = if sel < per_page { 0 } else { sel + 1 - per_page };
    let mut lines: Vec<Line<'static>> = Vec::with_capacity(per_page * 2);
    for (i, p) in items.iter().enumerate().skip(offset).take(per_page) {
        let preview = p.op.preview();
        let (risk, slot) = match (&p.blocked, p.op.risk()) {
            (Some(_), _) => ("[not offered]", Slot::Dim),
            (None, Risk::High) => ("[HIGH]", Slot::ConfirmDanger),
            (None, Risk::Low) => ("[low]", Slot::Dim),
        };
        let title_slot = if p.blocked.is_some() { Slot::Dim } else { Slot::PaneTitle };
        let mark = if i == sel { "› " } else { "  " };
        let head = format!("{mark}{}. ", i + 1);
        let room = iw.saturating_sub(width(&head) + width(risk) + 1);
        let title = clean(&preview.title, room);
        let pad = room.saturating_sub(width(&title));
        let line = Line::from(vec![
            Span::raw(head),
            Span::styled(title, theme.style(title_slot)),
            Span::raw(" ".repeat(pad + 1)),
            Span::styled(risk, theme.style(slot)),
        ]);
        let why = match &p.blocked {
            Some(why_not) => format!("     not offered: {why_not}"),
            None => format!("     why: {}", p.why),
        };
        let why = Line::styled(clean(&why, iw), theme.style(Slot::Dim));
        if i == sel {
            lines.push(line.style(theme.style(Slot::Selection)));
            lines.push(why.style(theme.style(Slot::Selection)));
        } else {
            lines.push(line);
            lines.push(why);
        }
    }
    frame.render_widget(Paragraph::new(lines), inner);
}

#[cfg(test)]
mod tests {
    use ratatui::Terminal;
    use ratatui::backend::TestBackend;

    use super::*;
    use crate::operation::Operation;

    #[test]
    fn a_proposal_not_offered_is_greyed_with_the_reason() {
        let items = vec![
            Proposal { op: Operation::CheckPrimary, why: "read-only".into(), blocked: None },
            Proposal {
                op: Operation::FencePostgres {
                    node: "postgresql-0".into(),
                    endpoint: "10.0.0.10:5432".into(),
                },
                why: "split brain".into(),
                blocked: Some("safety rule fence-routed-primary: repoint first".into()),
            },
        ];
        let theme = Theme::fallback();
        let mut term = Terminal::new(TestBackend::new(100, 12)).expect("terminal");
        term.draw(|f| draw(f, f.area(), &theme, &items, 0)).expect("draw");
        let buf = term.backend().buffer().clone();
        let rows: Vec<String> = (0..buf.area.height)
            .map(|y| (0..buf.area.width).map(|x| buf[(x, y)].symbol().to_string()).collect())
            .collect();
        let text = rows.join("\n");
        assert!(text.contains("[not offered]"), "{text}");
        assert!(text.contains("not offered: safety rule fence-routed-primary: repoint first"), "{text}");
        assert!(!text.contains("[HIGH]"), "a greyed fence shows no risk badge to act on: {text}");
        let y = rows.iter().position(|r| r.contains("Fence postgresql-0")).expect("listed");
        let x = rows[y].find("Fence").map(|b| rows[y][..b].chars().count()).unwrap() as u16;
        assert_ne!(theme.style(Slot::Dim), theme.style(Slot::PaneTitle));
        let cell = buf[(x, y as u16)].style();
        assert_eq!(
            (cell.fg, cell.add_modifier),
            (theme.style(Slot::Dim).fg, theme.style(Slot::Dim).add_modifier)
        );
    }
}
