//! The seven panes. Each `draw` takes its area and a [`PaneCtx`].

pub mod database;
pub mod pods;
pub mod sentinel;
pub mod traffic;
pub mod trend;

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::Span;

use crate::app::{PaneId, State};
use crate::backends::Snapshot;
use crate::config::{Keymap, Theme};

use super::widgets::{PaneFrame, badge_room, freshness_badge, pane_block};

/// What every pane needs to draw itself.
pub struct PaneCtx<'a> {
    /// The state.
    pub state: &'a State,
    /// Theme.
    pub theme: &'a Theme,
    /// Keymap (for "press X" texts).
    pub keymap: &'a Keymap,
    /// The pane has focus.
    pub focused: bool,
    /// Compact rendering (title rule instead of a box).
    pub compact: bool,
}

impl PaneCtx<'_> {
    /// Draw the block of a live pane with its freshness badge; returns the inner area.
    pub fn live_block<T>(&self, frame: &mut Frame, area: Rect, pane: PaneId, snap: &Snapshot<T>) -> Rect {
        let name = pane.title();
        let badge = freshness_badge(snap, self.state.domain.now, self.theme, badge_room(area, name));
        self.block(frame, area, pane, badge)
    }

    /// Draw the block of a pane with an arbitrary title suffix; returns the inner area.
    pub fn block(&self, frame: &mut Frame, area: Rect, pane: PaneId, suffix: Vec<Span<'static>>) -> Rect {
        let pf = PaneFrame { name: pane.title(), focused: self.focused, compact: self.compact };
        pane_block(frame, area, &pf, suffix, self.theme)
    }

    /// The selected row of a pane.
    pub fn selected(&self, pane: PaneId) -> usize {
        self.state.view.selected[pane.index()]
    }
}

/// Draw one pane.
pub fn draw(frame: &mut Frame, area: Rect, pane: PaneId, cx: &PaneCtx<'_>) {
    if area.width == 0 || area.height == 0 {
        return;
    }
    match pane {
        PaneId::Pods => pods::draw(frame, area, cx),
        PaneId::Database => database::draw(frame, area, cx),
        PaneId::Sentinel => sentinel::draw(frame, area, cx),
        PaneId::Traffic => traffic::draw(frame, area, cx),
        PaneId::Steps => super::steps::draw(frame, area, cx),
        PaneId::Checklist => super::checklist::draw(frame, area, cx),
        PaneId::Log => super::log::draw(frame, area, cx),
    }
}
