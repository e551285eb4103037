//! Tables whose columns are declared once: header, width bounds, priority and cell. The layout
//! for any width is derived from the declaration and the visible rows (the idea of bottom's
//! `DataTable` columns), instead of one hand-aligned list of widths per layout.
//!
//! How a layout is derived ([`fit`]):
//! 1. Columns are taken in priority order, highest first, while their minimum widths (and one
//!    space between columns) fit. The columns left out are therefore always the lowest-priority
//!    ones: a narrow pane loses its least important columns first.
//! 2. The columns taken grow toward the width their header and cells want, again highest
//!    priority first.
//! 3. A [`Width::Fill`] column takes whatever is left.
//!
//! Every cell goes through [`crate::text::clean`] (backend text is never drawn raw) and is cut
//! with `…` to its column's width; a [`Width::Whole`] column is never cut below its widest cell
//! (up to its `max`): it is left out instead.

use std::borrow::Cow;

use ratatui::Frame;
use ratatui::layout::{Constraint, Rect};
use ratatui::text::Span;
use ratatui::widgets::{Row, Table};

use crate::config::Theme;
use crate::config::theme::Slot;
use crate::text::{clean, truncate};
use crate::ui::widgets::width;

/// Space between two shown columns.
const GAP: u16 = 1;

/// How wide a column may be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Width {
    /// As wide as its header and widest cell, up to `max`; never cut below that (left out
    /// instead). For text that is useless when cut, such as a region.
    Whole {
        /// Widest it gets (longer cells are cut here).
        max: u16,
    },
    /// As wide as its header and widest cell, up to `max`; cut down to `min` when narrow.
    Cut {
        /// Narrowest it gets before it is left out.
        min: u16,
        /// Widest it gets.
        max: u16,
    },
    /// Takes the width the other columns leave, at least `min` (or its widest cell, if that is
    /// narrower) before it is left out.
    Fill {
        /// Narrowest it gets before it is left out.
        min: u16,
    },
}

/// One cell: its text (sanitized and cut by the table) and style slot.
#[derive(Debug, Clone)]
pub struct Cell<'a> {
    /// Text as the source has it.
    pub text: Cow<'a, str>,
    /// Theme slot.
    pub slot: Slot,
}

impl<'a> Cell<'a> {
    /// A cell showing `text` in `slot`.
    pub fn new(text: impl Into<Cow<'a, str>>, slot: Slot) -> Cell<'a> {
        Cell { text: text.into(), slot }
    }
}

/// A column, declared once: everything every layout needs.
pub struct Column<R, C> {
    /// Header text.
    pub header: &'static str,
    /// Header used when the column is narrower than `header` (`RST` for `RESTARTS`); empty for
    /// none (the header is then cut like a cell).
    pub short: &'static str,
    /// Width bounds.
    pub width: Width,
    /// Higher is kept longer when the table is narrow.
    pub priority: u8,
    /// The cell of a row; `C` is whatever the cells need besides the row (time, lost sources).
    pub cell: for<'r> fn(&'r R, &C) -> Cell<'r>,
}

impl<R, C> Column<R, C> {
    /// A column with no short header.
    pub fn new(
        header: &'static str,
        width: Width,
        priority: u8,
        cell: for<'r> fn(&'r R, &C) -> Cell<'r>,
    ) -> Column<R, C> {
        Column { header, short: "", width, priority, cell }
    }

    /// The same column with `short` as its header when it is narrower than `header`.
    pub fn short(self, short: &'static str) -> Column<R, C> {
        Column { short, ..self }
    }
}

/// What one column needs, measured from its header and the visible cells.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Need {
    /// Narrowest width it can be shown at.
    pub min: u16,
    /// Width its header and cells want.
    pub want: u16,
    /// Takes what is left after every column got what it wants.
    pub fill: bool,
    /// Higher is kept longer.
    pub priority: u8,
}

/// The width of each column for `total` columns of room (`0`: left out), by the rules in the
/// module documentation. Among equal priorities the column declared first is kept longer.
pub fn fit(needs: &[Need], total: u16) -> Vec<u16> {
    let mut order: Vec<usize> = (0..needs.len()).collect();
    order.sort_by_key(|i| std::cmp::Reverse(needs[*i].priority));
    let mut widths = vec![0u16; needs.len()];
    let mut left = total;
    let mut shown: Vec<usize> = Vec::with_capacity(needs.len());
    for i in order {
        let gap = if shown.is_empty() { 0 } else { GAP };
        let Some(rest) = left.checked_sub(needs[i].min.saturating_add(gap)) else { break };
        left = rest;
        widths[i] = needs[i].min;
        shown.push(i);
    }
    for &i in &shown {
        let grow = needs[i].want.saturating_sub(widths[i]).min(left);
        widths[i] += grow;
        left -= grow;
    }
    if let Some(&i) = shown.iter().find(|i| needs[**i].fill) {
        widths[i] += left;
    }
    widths
}

/// What `column` needs to show `cells` (already cleaned) under its header.
fn need<R, C>(column: &Column<R, C>, cells: impl Iterator<Item = usize>) -> Need {
    let content = cells.max().unwrap_or(0).max(width(column.header));
    let content = u16::try_from(content).unwrap_or(u16::MAX);
    let (min, want, fill) = match column.width {
        Width::Whole { max } => (content.min(max), content.min(max), false),
        Width::Cut { min, max } => (min.min(content), content.min(max), false),
        Width::Fill { min } => (min.min(content), content, true),
    };
    Need { min, want, fill, priority: column.priority }
}

/// The widest a cell of `column` is drawn in a table `total` columns wide.
fn limit<R, C>(column: &Column<R, C>, total: u16) -> usize {
    usize::from(match column.width {
        Width::Whole { max } | Width::Cut { max, .. } => max.min(total),
        Width::Fill { .. } => total,
    })
}

/// The header of `column` drawn `w` columns wide.
fn header<R, C>(column: &Column<R, C>, w: u16) -> Cow<'static, str> {
    let w = usize::from(w);
    if width(column.header) > w && !column.short.is_empty() && width(column.short) <= w {
        Cow::Borrowed(column.short)
    } else {
        truncate(column.header, w)
    }
}

/// A table of `rows` laid out for `width` columns: the widths of every declared column (`0`:
/// left out) and each row's cells, cleaned and cut to those widths.
pub struct Laid {
    /// Width of each declared column.
    pub widths: Vec<u16>,
    /// Header of each shown column.
    pub header: Vec<Cow<'static, str>>,
    /// Cells of the shown columns, per row.
    pub rows: Vec<Vec<(String, Slot)>>,
}

/// Lay out `rows` under `columns` for a table `total` columns wide.
pub fn lay_out<R, C>(columns: &[Column<R, C>], rows: &[&R], cx: &C, total: u16) -> Laid {
    let cells: Vec<Vec<(String, Slot)>> = rows
        .iter()
        .map(|r| {
            columns
                .iter()
                .map(|c| {
                    let cell = (c.cell)(r, cx);
                    (clean(&cell.text, limit(c, total)), cell.slot)
                })
                .collect()
        })
        .collect();
    let needs: Vec<Need> =
        columns.iter().enumerate().map(|(i, c)| need(c, cells.iter().map(|row| width(&row[i].0)))).collect();
    let widths = fit(&needs, total);
    let shown = |i: &usize| widths[*i] > 0;
    let header = (0..columns.len()).filter(shown).map(|i| header(&columns[i], widths[i])).collect();
    let rows = cells
        .into_iter()
        .map(|row| {
            row.into_iter()
                .enumerate()
                .filter(|(i, _)| shown(i))
                .map(|(i, (text, slot))| (truncate(&text, usize::from(widths[i])).into_owned(), slot))
                .collect()
        })
        .collect();
    Laid { widths, header, rows }
}

/// Draw `rows` under `columns` into `area`: a header row, then one line per row; the row at
/// index `selected` (if any) in the selection style.
pub fn draw<R, C>(
    frame: &mut Frame,
    area: Rect,
    theme: &Theme,
    columns: &[Column<R, C>],
    cx: &C,
    rows: &[&R],
    selected: Option<usize>,
) {
    let laid = lay_out(columns, rows, cx, area.width);
    let constraints: Vec<Constraint> =
        laid.widths.iter().filter(|w| **w > 0).map(|w| Constraint::Length(*w)).collect();
    let lines = laid.rows.into_iter().enumerate().map(|(i, cells)| {
        let row = Row::new(cells.into_iter().map(|(text, slot)| Span::styled(text, theme.style(slot))));
        if selected == Some(i) { row.style(theme.style(Slot::Selection)) } else { row }
    });
    let table = Table::new(lines, constraints)
        .header(Row::new(laid.header).style(theme.style(Slot::TableHeader)))
        .column_spacing(GAP);
    frame.render_widget(table, area);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn need(min: u16, want: u16, priority: u8) -> Need {
        Need { min, want, fill: false, priority }
    }

    #[test]
    fn everything_fits_then_fill_takes_the_rest() {
        let needs = [need(1, 1, 9), Need { min: 4, want: 6, fill: true, priority: 8 }, need(3, 5, 1)];
        // 1 + 6 + 5 and two gaps = 14; 6 more go to the fill column.
        assert_eq!(fit(&needs, 20), [1, 12, 5]);
    }

    #[test]
    fn the_lowest_priority_columns_are_left_out_first() {
        let needs = [need(3, 3, 5), need(4, 4, 1), need(5, 5, 3), need(2, 2, 4)];
        assert_eq!(fit(&needs, 17), [3, 4, 5, 2]);
        assert_eq!(fit(&needs, 16), [3, 0, 5, 2], "priority 1 goes first");
        assert_eq!(fit(&needs, 10), [3, 0, 0, 2], "then priority 3");
        // Never a lower-priority column in place of a higher one that does not fit.
        assert_eq!(fit(&needs, 6), [3, 0, 0, 2]);
        assert_eq!(fit(&needs, 4), [3, 0, 0, 0]);
        assert_eq!(fit(&needs, 0), [0, 0, 0, 0]);
    }

    #[test]
    fn columns_grow_toward_what_they_want_by_priority() {
        // Both fit at their minimum (2 + 1 + 2 = 5); 3 more: the higher priority grows first.
        let needs = [need(2, 6, 1), need(2, 6, 2)];
        assert_eq!(fit(&needs, 8), [2, 5]);
        assert_eq!(fit(&needs, 20), [6, 6], "no fill column: the rest stays empty");
    }

    #[test]
    fn equal_priorities_keep_the_column_declared_first() {
        let needs = [need(3, 3, 1), need(3, 3, 1)];
        assert_eq!(fit(&needs, 5), [3, 0]);
    }
}
