//! Pure rendering: `draw(frame, &State, &UiContext)`. No I/O, no awaiting.

use ratatui::Frame;

use crate::app::State;
use crate::config::{Keymap, Theme};

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
    let _ = (frame, state, ctx);
}
