//! Sparklines of the core's trends ([`crate::app::trend`]) drawn into a table column: a
//! replica's replay lag in the Database pane, a region's traffic share (bar height) and health
//! (bar colour) in the Traffic pane. The column header names the span covered; a cell without
//! fresh data is a dim `·`, never a bar. The column is a fill column that the table drops
//! before any other column when the pane is narrow, and leaves out while there is no history.

use chrono::{DateTime, Utc};
use ratatui::Frame;
use ratatui::layout::{Constraint, Flex, Layout, Rect};
use ratatui::style::Style;
use ratatui::widgets::{Paragraph, Sparkline, SparklineBar};

use crate::app::trend::{SPAN_LABEL, Series};
use crate::config::Theme;
use crate::config::theme::Slot;
use crate::ui::widgets::{Col, fit_columns, width};

/// Bar levels: a present value is at least one eighth high (so a zero is still seen as data).
const LEVELS: u64 = 8;
/// What a cell without fresh data shows.
const GAP: &str = "·";

/// The trend column of a table: fills what the other columns leave, at least 6 wide; placed
/// after the other keep-1 columns, it is the first one dropped.
pub const fn column() -> Col {
    Col::fill("", 6, 1)
}

/// Which columns fit into `avail` ([`fit_columns`]); the trend column `idx` only when `show`
/// (there is a history to draw), else the others fit as if it were not there.
pub fn fit(cols: &[Col], idx: usize, show: bool, avail: u16) -> Vec<bool> {
    if show {
        return fit_columns(cols, avail);
    }
    let others: Vec<Col> = cols.iter().enumerate().filter(|(i, _)| *i != idx).map(|(_, c)| *c).collect();
    let mut kept = fit_columns(&others, avail);
    kept.insert(idx.min(kept.len()), false);
    kept
}

/// The header for a trend column `w` wide: the longest of `labels` that fits.
fn header(w: usize, what: &str) -> String {
    let long = format!("{what}, {SPAN_LABEL}");
    [long.as_str(), SPAN_LABEL, "15 min", "15m"]
        .iter()
        .find(|l| width(l) <= w)
        .map_or(String::new(), |l| l.to_string())
}

/// Where column `idx` of a `fitted_table` of `cols` (kept per `kept`) lies in `area`: the same
/// layout the table uses (flex start, one space between columns).
fn column_rect(cols: &[Col], kept: &[bool], idx: usize, area: Rect) -> Option<Rect> {
    if !kept.get(idx).copied().unwrap_or(false) {
        return None;
    }
    let shown: Vec<usize> = (0..cols.len()).filter(|i| kept.get(*i).copied().unwrap_or(false)).collect();
    let widths = shown.iter().map(|i| {
        let c = &cols[*i];
        if c.fill { Constraint::Fill(1) } else { Constraint::Length(c.width) }
    });
    let rects = Layout::horizontal(widths).flex(Flex::Start).spacing(1).split(area);
    let pos = shown.iter().position(|i| *i == idx)?;
    rects.get(pos).copied().filter(|r| r.width > 0)
}

/// One row of the trend column: the bars, oldest first (`None`: a gap).
pub type Bars = Vec<Option<(u64, Style)>>;

/// Scale `values` to bar levels 1..=8 against their largest value.
fn levels(values: &[Option<f64>]) -> Vec<Option<u64>> {
    let peak = values.iter().flatten().copied().fold(0.0_f64, f64::max);
    values
        .iter()
        .map(|v| {
            v.map(|v| if peak > 0.0 { 1 + ((v / peak) * (LEVELS - 1) as f64).round() as u64 } else { 1 })
        })
        .collect()
}

/// Lag bars for `series` over `cells` columns at `now`: over `max_lag` bytes drawn as down.
pub fn lag_bars(series: &Series, now: DateTime<Utc>, cells: usize, max_lag: u64, theme: &Theme) -> Bars {
    let values = series.cells(now, cells);
    levels(&values)
        .into_iter()
        .zip(&values)
        .map(|(l, v)| {
            let slot = if v.unwrap_or(0.0) > max_lag as f64 { Slot::StatusDown } else { Slot::StatusHealthy };
            l.map(|l| (l, theme.style(slot)))
        })
        .collect()
}

/// Traffic bars: height from the share (0-100 %), colour from the health (worst in the cell).
/// A region without a weight (failover routing) shows its health at the lowest height.
pub fn traffic_bars(
    share: Option<&Series>,
    health: &Series,
    now: DateTime<Utc>,
    cells: usize,
    theme: &Theme,
) -> Bars {
    let h = health.cells(now, cells);
    let s = share.map(|s| s.cells(now, cells)).unwrap_or_else(|| vec![None; h.len()]);
    h.iter()
        .zip(&s)
        .map(|(h, s)| {
            let h = (*h)?;
            let level =
                s.map_or(1, |pct| 1 + ((pct / 100.0).clamp(0.0, 1.0) * (LEVELS - 1) as f64).round() as u64);
            let slot = if h >= 1.0 {
                Slot::StatusHealthy
            } else if h > 0.0 {
                Slot::StatusDegraded
            } else {
                Slot::StatusDown
            };
            Some((level, theme.style(slot)))
        })
        .collect()
}

/// Draw the trend column `idx` of a table drawn in `table_area`: the header (`what` and the
/// span) on the header row, then for each of the `rows` table rows the bars `bars(row, width)`
/// gives (`None`: nothing to chart for that row).
pub fn draw_column(
    frame: &mut Frame,
    table_area: Rect,
    (cols, kept, idx): (&[Col], &[bool], usize),
    what: &str,
    rows: usize,
    theme: &Theme,
    bars: impl Fn(usize, usize) -> Option<Bars>,
) {
    let Some(col) = column_rect(cols, kept, idx, table_area) else { return };
    let w = usize::from(col.width);
    let head = Rect { height: 1, ..col };
    frame.render_widget(Paragraph::new(header(w, what)).style(theme.style(Slot::TableHeader)), head);
    for i in 0..rows {
        let y = col.y + 1 + i as u16;
        if y >= table_area.bottom() {
            break;
        }
        let Some(bars) = bars(i, w) else { continue };
        // Right-align: the newest bar sits at the column's right edge.
        let x = col.x + col.width.saturating_sub(bars.len() as u16);
        let area = Rect { x, y, width: (bars.len() as u16).min(col.width), height: 1 };
        let data: Vec<SparklineBar> = bars
            .into_iter()
            .map(|b| match b {
                Some((level, style)) => SparklineBar::from(level).style(style),
                None => SparklineBar::from(None),
            })
            .collect();
        let spark = Sparkline::default()
            .data(data)
            .max(LEVELS)
            .absent_value_symbol(GAP)
            .absent_value_style(theme.style(Slot::Dim));
        frame.render_widget(spark, area);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_header_is_the_longest_label_that_fits() {
        assert_eq!(header(40, "lag"), "lag, last 15 min");
        assert_eq!(header(12, "lag"), "last 15 min");
        assert_eq!(header(6, "lag"), "15 min");
        assert_eq!(header(3, "lag"), "15m");
        assert_eq!(header(2, "lag"), "");
    }

    #[test]
    fn levels_keep_zero_visible_and_gaps_apart() {
        assert_eq!(levels(&[Some(0.0), None, Some(5.0), Some(10.0)]), vec![Some(1), None, Some(5), Some(8)]);
        assert_eq!(levels(&[Some(0.0), Some(0.0)]), vec![Some(1), Some(1)]);
    }
}
