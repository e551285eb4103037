//! Pure rendering: `draw(frame, &State, &UiContext)`. No I/O, no awaiting, no clock (the
//! state's `now` is the time), and only visible rows are built.
//!
//! Every screen answers "what is true right now, how old is that, and what happens if I press
//! this key": panes carry freshness badges, the footer lists the keys that work, and all
//! backend text goes through [`crate::text`] before it is drawn.

pub mod actions;
pub mod checklist;
pub mod commander;
pub mod composer;
pub mod confirm;
pub mod declare;
pub mod facilitator;
pub mod footer;
pub mod glyphs;
pub mod header;
pub mod help;
pub mod layout;
pub mod log;
pub mod notify;
pub mod panes;
pub mod prompt;
pub mod runbooks;
pub mod scorecard;
pub mod scroll;
pub mod steps;
pub mod table;
pub mod tried;
pub mod verdict;
pub mod widgets;

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::Line;
use ratatui::widgets::{Clear, Paragraph};

use crate::app::{Modal, State};
use crate::config::theme::Slot;
use crate::config::{Keymap, Theme};

use self::layout::{LayoutKind, MIN_SIZE, centered};
use self::panes::PaneCtx;

/// What drawing needs besides the state.
#[derive(Debug, Clone)]
pub struct UiContext {
    /// Active theme.
    pub theme: Theme,
    /// Active keymap (help overlay and key hints are generated from it).
    pub keymap: Keymap,
}

/// Draw the whole screen.
pub fn draw(frame: &mut Frame, state: &State, ctx: &UiContext) {
    let area = frame.area();
    let theme = &ctx.theme;
    let screen = layout::screen(area, state, theme);
    if screen.kind == LayoutKind::TooSmall {
        too_small(frame, area, theme);
        return;
    }
    header::draw(frame, screen.header, state, theme);
    let compact = screen.kind == LayoutKind::Compact && !state.view.zoomed;
    for (pane, rect) in &screen.panes {
        let cx = PaneCtx { state, theme, keymap: &ctx.keymap, focused: *pane == state.view.focus, compact };
        panes::draw(frame, *rect, *pane, &cx);
    }
    if let Some(w) = screen.warning {
        footer::draw_warning(frame, w, state, theme);
    }
    footer::draw(frame, screen.footer, state, theme, &ctx.keymap);

    match &state.view.modal {
        None => {}
        Some(Modal::Help) => help::draw(frame, area, theme, &ctx.keymap, state.view.help_scroll),
        Some(Modal::Verdict) => verdict::draw(frame, area, state, theme),
        Some(Modal::Actions { items, selected }) => actions::draw(frame, area, theme, items, *selected),
        Some(Modal::Runbooks { selected }) => runbooks::draw(frame, area, theme, state, selected),
        Some(Modal::Inject { stage, selected }) => {
            facilitator::draw_inject(frame, area, theme, stage, *selected)
        }
        Some(Modal::Confirm { step, typed }) => {
            confirm::draw(frame, area, state, theme, &ctx.keymap, *step, typed);
        }
        Some(Modal::Prompt { label, text, .. }) => prompt::draw(frame, area, theme, label, text),
        Some(Modal::Composer { label, buffer }) => composer::draw(frame, area, theme, label, buffer),
        Some(Modal::NotifyPreview { lines, .. }) => notify::draw(frame, area, theme, &ctx.keymap, lines),
        Some(Modal::ConfirmKey { what, .. }) => confirm::draw_key(frame, area, theme, &ctx.keymap, what),
        Some(Modal::TakeCommand { holder }) => {
            commander::draw_takeover(frame, area, theme, &ctx.keymap, holder)
        }
    }
}

/// The only thing drawn below the minimum size.
fn too_small(frame: &mut Frame, area: Rect, theme: &Theme) {
    if area.width == 0 || area.height == 0 {
        return;
    }
    frame.render_widget(Clear, area);
    let text = format!(
        "terminal too small (need {}x{}, have {}x{})",
        MIN_SIZE.0, MIN_SIZE.1, area.width, area.height
    );
    let rows = (widgets::width(&text) as u16).div_ceil(area.width.max(1));
    let rect = centered(area, area.width, rows);
    let p = Paragraph::new(Line::styled(text, theme.style(Slot::Warning)))
        .centered()
        .wrap(ratatui::widgets::Wrap { trim: true });
    frame.render_widget(p, rect);
}
