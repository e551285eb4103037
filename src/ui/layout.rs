//! Where everything goes: full layout from 120x32, compact from 60x16, else "too small".

use ratatui::layout::{Constraint, Layout, Rect};

use unicode_width::UnicodeWidthStr;

use crate::app::{PaneId, State};
use crate::config::Theme;

use crate::text::sanitize;

/// Smallest terminal the console draws in (below it: a "too small" message).
pub const MIN_SIZE: (u16, u16) = (60, 16);
/// Smallest terminal that gets the full layout.
pub const FULL_SIZE: (u16, u16) = (120, 32);

/// Which layout a terminal size gets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LayoutKind {
    /// Pods left, Database/Sentinel/Traffic right, Steps/Checklist/Log bottom; bordered panes.
    Full,
    /// Two columns of panes with a title rule only; fewer table columns.
    Compact,
    /// Below [`MIN_SIZE`].
    TooSmall,
}

impl LayoutKind {
    /// The layout for an area.
    pub fn for_area(area: Rect) -> LayoutKind {
        if area.width < MIN_SIZE.0 || area.height < MIN_SIZE.1 {
            LayoutKind::TooSmall
        } else if area.width >= FULL_SIZE.0 && area.height >= FULL_SIZE.1 {
            LayoutKind::Full
        } else {
            LayoutKind::Compact
        }
    }
}

/// The areas of one frame.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Screen {
    /// Layout chosen.
    pub kind: LayoutKind,
    /// Header (one line, two when the title needs its own).
    pub header: Rect,
    /// Pane areas (only the panes drawn; one when zoomed).
    pub panes: Vec<(PaneId, Rect)>,
    /// Warning line above the footer, when there are warnings.
    pub warning: Option<Rect>,
    /// Footer line.
    pub footer: Rect,
}

/// Split the terminal area for `state` (`theme` only to measure the header).
pub fn screen(area: Rect, state: &State, theme: &Theme) -> Screen {
    let kind = LayoutKind::for_area(area);
    if kind == LayoutKind::TooSmall {
        return Screen {
            kind,
            header: Rect::default(),
            panes: Vec::new(),
            warning: None,
            footer: Rect::default(),
        };
    }
    let warn_rows = warning_rows(state, area.width);
    let header_rows = super::header::rows(state, theme, area.width, area.height);
    let [header, body, warning, footer] = area.layout(&Layout::vertical([
        Constraint::Length(header_rows),
        Constraint::Fill(1),
        Constraint::Length(warn_rows),
        Constraint::Length(1),
    ]));
    let warning = (warn_rows > 0).then_some(warning);
    let panes = if state.view.zoomed {
        vec![(state.view.focus, body)]
    } else if kind == LayoutKind::Full {
        full(body)
    } else {
        compact(body)
    };
    Screen { kind, header, panes, warning, footer }
}

/// Rows the warning line needs: the hint box, then the first warning in full (at most 3).
fn warning_rows(state: &State, width: u16) -> u16 {
    super::footer::hint_rows(state) + first_warning_rows(state, width)
}

/// Rows of the first warning (0 without one).
fn first_warning_rows(state: &State, width: u16) -> u16 {
    let Some(first) = state.domain.warnings.first() else { return 0 };
    let text_w = sanitize(first).width() + 16; // "! " and "(+N more)"
    let rows = text_w.div_ceil(usize::from(width.max(1)));
    rows.clamp(1, 3) as u16
}

fn full(body: Rect) -> Vec<(PaneId, Rect)> {
    let [top, bottom] = body.layout(&Layout::vertical([Constraint::Percentage(62), Constraint::Fill(1)]));
    // The right column needs ~72 columns for its tables; the Pods table takes the rest.
    let right_w = (u32::from(top.width) * 48 / 100).clamp(60, 100) as u16;
    let [pods, right] = top.layout(&Layout::horizontal([Constraint::Fill(1), Constraint::Length(right_w)]));
    let [db, sentinel, traffic] =
        right.layout(&Layout::vertical([Constraint::Fill(3), Constraint::Fill(4), Constraint::Fill(3)]));
    let [steps, checklist, log] = bottom.layout(&Layout::horizontal([
        Constraint::Percentage(40),
        Constraint::Percentage(30),
        Constraint::Fill(1),
    ]));
    vec![
        (PaneId::Pods, pods),
        (PaneId::Database, db),
        (PaneId::Sentinel, sentinel),
        (PaneId::Traffic, traffic),
        (PaneId::Steps, steps),
        (PaneId::Checklist, checklist),
        (PaneId::Log, log),
    ]
}

fn compact(body: Rect) -> Vec<(PaneId, Rect)> {
    let [band1, band2, band3] =
        body.layout(&Layout::vertical([Constraint::Fill(1), Constraint::Fill(1), Constraint::Fill(1)]));
    let cols = Layout::horizontal([Constraint::Fill(1), Constraint::Fill(1)]).spacing(1);
    let [pods, db] = band1.layout(&cols);
    let [sentinel, traffic] = band2.layout(&cols);
    let [steps, right] = band3.layout(&cols);
    let [checklist, log] = right.layout(&Layout::vertical([Constraint::Fill(1), Constraint::Fill(1)]));
    vec![
        (PaneId::Pods, pods),
        (PaneId::Database, db),
        (PaneId::Sentinel, sentinel),
        (PaneId::Traffic, traffic),
        (PaneId::Steps, steps),
        (PaneId::Checklist, checklist),
        (PaneId::Log, log),
    ]
}

/// A rectangle of at most `w`x`h` centred in `area` (clamped to it).
pub fn centered(area: Rect, w: u16, h: u16) -> Rect {
    let w = w.min(area.width);
    let h = h.min(area.height);
    Rect { x: area.x + (area.width - w) / 2, y: area.y + (area.height - h) / 2, width: w, height: h }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_by_size() {
        assert_eq!(LayoutKind::for_area(Rect::new(0, 0, 0, 0)), LayoutKind::TooSmall);
        assert_eq!(LayoutKind::for_area(Rect::new(0, 0, 59, 40)), LayoutKind::TooSmall);
        assert_eq!(LayoutKind::for_area(Rect::new(0, 0, 80, 24)), LayoutKind::Compact);
        assert_eq!(LayoutKind::for_area(Rect::new(0, 0, 119, 50)), LayoutKind::Compact);
        assert_eq!(LayoutKind::for_area(Rect::new(0, 0, 120, 32)), LayoutKind::Full);
    }

    #[test]
    fn centered_is_clamped() {
        assert_eq!(centered(Rect::new(0, 0, 10, 5), 20, 20), Rect::new(0, 0, 10, 5));
        assert_eq!(centered(Rect::new(2, 2, 10, 6), 4, 2), Rect::new(5, 4, 4, 2));
    }
}
