//! One replay frame: the console's own `ui::draw` of the replayed state at the recorded
//! terminal size, placed in this terminal (clipped or padded, and said so), with the replay's
//! overlays on top.

use ratatui::Frame;
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::Modifier;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Paragraph};

use super::player::{HELP, Overlay, Player};
use crate::app::State;
use crate::app::replay::Timeline;
use crate::config::theme::Slot;
use crate::ui::{self, UiContext};

/// How a frame drawn at `recorded` fits a terminal of `terminal` size (`None`: exactly).
pub fn fit_note(recorded: (u16, u16), terminal: (u16, u16)) -> Option<String> {
    let (rw, rh) = recorded;
    let (tw, th) = terminal;
    if recorded == terminal {
        return None;
    }
    let how = match (tw < rw || th < rh, tw > rw || th > rh) {
        (true, true) => "clipped and padded",
        (true, false) => "clipped",
        _ => "padded",
    };
    Some(format!("recorded {rw}x{rh}, terminal {tw}x{th}: {how}"))
}

/// The console's frame of `state` at `size`, drawn by the console's own [`ui::draw`].
pub fn recorded_frame(state: &State, size: (u16, u16), ctx: &UiContext) -> Buffer {
    let backend = TestBackend::new(size.0, size.1);
    let mut term = match Terminal::new(backend) {
        Ok(t) => t,
        Err(e) => match e {},
    };
    match term.draw(|f| ui::draw(f, state, ctx)) {
        Ok(_) => {}
        Err(e) => match e {},
    }
    term.backend().buffer().clone()
}

/// Draw the replay: `recorded` (the console's frame, badge included) at the top left, clipped
/// to the terminal; when clipped, the badge's text on the last row (the header's right end may
/// be cut off); then the overlay.
pub fn draw(
    frame: &mut Frame,
    recorded: &Buffer,
    badge: &str,
    player: &Player,
    tl: &Timeline,
    ctx: &UiContext,
) {
    let area = frame.area();
    let buf = frame.buffer_mut();
    let (w, h) = (recorded.area.width.min(area.width), recorded.area.height.min(area.height));
    for y in 0..h {
        for x in 0..w {
            buf[(area.x + x, area.y + y)] = recorded[(x, y)].clone();
        }
    }
    let clipped = area.width < recorded.area.width || area.height < recorded.area.height;
    let theme = &ctx.theme;
    if (clipped || player.message.is_some()) && area.height > 0 {
        let text = match &player.message {
            Some(m) => format!(" {badge} · {m} "),
            None => format!(" {badge} "),
        };
        let row = Rect { y: area.y + area.height - 1, height: 1, ..area };
        let line = Line::from(Span::styled(text, theme.style(Slot::BadgeReadOnly)));
        frame.render_widget(Clear, row);
        frame.render_widget(Paragraph::new(line), row);
    }
    match &player.overlay {
        None => {}
        Some(Overlay::Help) => help(frame, area, ctx),
        Some(Overlay::Milestones { selected }) => milestones(frame, area, tl, *selected, ctx),
    }
}

fn boxed(frame: &mut Frame, area: Rect, title: &str, lines: Vec<Line<'static>>, ctx: &UiContext) {
    let width = lines.iter().map(|l| l.width()).max().unwrap_or(0) as u16 + 4;
    let rect = ui::layout::centered(area, width.max(title.len() as u16 + 6), lines.len() as u16 + 2);
    let block =
        Block::default().borders(Borders::ALL).title(format!(" {title} ")).style(ctx.theme.style(Slot::Text));
    frame.render_widget(Clear, rect);
    frame.render_widget(Paragraph::new(lines).block(block), rect);
}

fn help(frame: &mut Frame, area: Rect, ctx: &UiContext) {
    let keys = ctx.theme.style(Slot::Header);
    let mut lines: Vec<Line<'static>> = HELP
        .iter()
        .map(|(k, what)| {
            Line::from(vec![Span::styled(format!(" {k:<20}"), keys), Span::raw(format!("{what} "))])
        })
        .collect();
    lines.push(Line::raw(""));
    lines.push(Line::raw(" Read-only: no key reaches the console; nothing runs, nothing is written. "));
    boxed(frame, area, "replay keys", lines, ctx);
}

fn milestones(frame: &mut Frame, area: Rect, tl: &Timeline, selected: usize, ctx: &UiContext) {
    let room = usize::from(area.height.saturating_sub(4)).max(1);
    let first = selected.saturating_sub(room - 1);
    let start = tl.start();
    let lines = tl
        .milestones()
        .iter()
        .enumerate()
        .skip(first)
        .take(room)
        .map(|(i, m)| {
            let s = (m.at - start).num_seconds().max(0);
            let text = crate::text::clean(&m.text, usize::from(area.width.saturating_sub(40)).max(10));
            let line = format!(" +{:02}:{:02}  {:<15} {text} ", s / 60, s % 60, m.kind.label());
            let style = match i == selected {
                true => ctx.theme.style(Slot::Text).add_modifier(Modifier::REVERSED),
                false => ctx.theme.style(Slot::Text),
            };
            Line::from(Span::styled(line, style))
        })
        .collect();
    boxed(frame, area, "milestones (time since the recording's start)", lines, ctx);
}
