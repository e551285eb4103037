//! Small building blocks shared by the panes: pane blocks with freshness badges, ages,
//! countdowns, byte sizes, table windows.

use chrono::{DateTime, Duration, Utc};
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Paragraph, Wrap};
use unicode_width::UnicodeWidthStr;

use crate::backends::{Freshness, Snapshot};
use crate::config::Theme;
use crate::config::theme::Slot;

use crate::text::clean;

/// Symbol marking the focused pane in its title (focus is never shown by colour alone).
pub const FOCUS_MARK: &str = super::glyphs::FOCUS;

/// Age as an operator reads it, coarse enough that it changes rarely on an idle screen:
/// `<10s`, then whole tens of seconds `10s`..`50s`, minutes `1m`..`59m`, hours `1h`..`23h`,
/// days `3d` (negative ages count as 0).
///
/// Every step is rounded down, so the text is always a true lower bound ("at least this old",
/// as `kubectl get pods` reads): a 29 s old pod shows `20s`, never `30s`. Below a minute the
/// text changes at most every 10 s, below an hour every minute.
pub fn age_text(d: Duration) -> String {
    let s = d.num_seconds().max(0);
    match s {
        0..=9 => "<10s".to_string(),
        10..=59 => format!("{}s", s / 10 * 10),
        60..=3599 => format!("{}m", s / 60),
        3600..=86_399 => format!("{}h", s / 3600),
        _ => format!("{}d", s / 86_400),
    }
}

/// A wait in whole seconds, minutes, hours or days, rounded down: `7s`, `2m` (for timers the
/// operator watches expire, such as a circuit breaker's retry; negative counts as 0).
pub fn seconds_text(d: Duration) -> String {
    let s = d.num_seconds().max(0);
    match s {
        0..=59 => format!("{s}s"),
        60..=3599 => format!("{}m", s / 60),
        3600..=86_399 => format!("{}h", s / 3600),
        _ => format!("{}d", s / 86_400),
    }
}

/// Time left until a deadline, rounded UP so the text is a true upper bound ("due within"):
/// whole minutes (`3m` for 2:01..3:00 left, `1h05m`), and in the last 50 s tens of seconds
/// (`50s` for 41..50 s left, ..., `10s` for 1..10 s), `0s` at the deadline. Negative input
/// counts as 0 (overdue time is an age: see [`age_text`]).
///
/// The text changes at most once a minute, and six times in the last minute: three
/// checklist items falling due together ticking every second cost more than the whole idle
/// budget of 100 B/s (see BENCHMARKS.md).
pub fn countdown_text(secs: i64) -> String {
    let s = secs.max(0);
    if s <= 50 {
        return format!("{}s", (s + 9) / 10 * 10);
    }
    let m = (s + 59) / 60;
    if m >= 60 { format!("{}h{:02}m", m / 60, m % 60) } else { format!("{m}m") }
}

/// Byte count in binary units: `0 B`, `512 B`, `1.5 KiB`, `16.0 MiB`.
pub fn bytes_text(b: u64) -> String {
    const UNITS: [&str; 5] = ["KiB", "MiB", "GiB", "TiB", "PiB"];
    if b < 1024 {
        return format!("{b} B");
    }
    let mut v = b as f64 / 1024.0;
    let mut unit = 0;
    while v >= 1024.0 && unit < UNITS.len() - 1 {
        v /= 1024.0;
        unit += 1;
    }
    format!("{v:.1} {}", UNITS[unit])
}

/// Display width of a string.
pub fn width(s: &str) -> usize {
    s.width()
}

/// The spans of a freshness badge for a snapshot, fitted into `max` columns.
///
/// Fresh `● <10s`; pending `… pending`; stale `◐ stale 10s: <error>` (ages as [`age_text`]); failed
/// `✗ failed: <error>`; breaker open `⊘ circuit open, retry in 20s` (plus the age of the data
/// kept); not configured `– not configured`. Errors are sanitized and cut to fit.
pub fn freshness_badge<T>(
    snap: &Snapshot<T>,
    now: DateTime<Utc>,
    theme: &Theme,
    max: usize,
) -> Vec<Span<'static>> {
    let age = snap.age(now).map(age_text);
    // (slot, text, shorter text for narrow panes, extra detail shown only when it fits)
    let (slot, long, short, extra) = match &snap.freshness {
        Freshness::Fresh => {
            let t = format!("● {}", age.unwrap_or_else(|| "fresh".into()));
            (Slot::StatusHealthy, t.clone(), t, None)
        }
        Freshness::Pending => (Slot::StatusDegraded, "… pending".into(), "…".into(), None),
        Freshness::Stale { .. } => {
            let t = format!("◐ stale {}", age.unwrap_or_else(|| "?".into()));
            (Slot::StatusStale, t.clone(), t, None)
        }
        Freshness::Failed { .. } => (Slot::StatusDown, "✗ failed".into(), "✗ failed".into(), None),
        Freshness::BreakerOpen { retry_at, .. } => {
            let retry = seconds_text(*retry_at - now);
            (
                Slot::StatusDown,
                format!("⊘ circuit open, retry in {retry}"),
                format!("⊘ open, retry {retry}"),
                age.map(|a| format!(", data {a} old")),
            )
        }
        Freshness::NotConfigured => (Slot::Dim, "– not configured".into(), "–".into(), None),
    };
    let mut head = if width(&long) <= max { long } else { clean(&short, max) };
    if let Some(extra) = extra.filter(|e| width(&head) + width(e) <= max) {
        head.push_str(&extra);
    }
    let mut spans = vec![Span::styled(head.clone(), theme.style(slot))];
    let room = max.saturating_sub(width(&head) + 2);
    if let Some(err) = snap.freshness.error().filter(|_| room > 1) {
        spans.push(Span::styled(": ", theme.style(slot)));
        spans.push(Span::styled(clean(err, room), theme.style(slot)));
    }
    spans
}

/// Title and border settings of a pane.
pub struct PaneFrame<'a> {
    /// Pane name.
    pub name: &'a str,
    /// Whether the pane has focus.
    pub focused: bool,
    /// Compact layout: top border only.
    pub compact: bool,
}

/// Draw a pane's block with `name` and `badge` in its title; returns the inner area.
pub fn pane_block(
    frame: &mut Frame,
    area: Rect,
    pane: &PaneFrame<'_>,
    badge: Vec<Span<'static>>,
    theme: &Theme,
) -> Rect {
    let border = if pane.focused { Slot::PaneBorderFocused } else { Slot::PaneBorder };
    let mark = if pane.focused { FOCUS_MARK } else { " " };
    let mut spans = vec![Span::styled(
        format!("{mark}{} ", pane.name),
        theme.style(Slot::PaneTitle).patch(theme.style(border)),
    )];
    spans.extend(badge);
    spans.push(Span::raw(" "));
    let borders = if pane.compact { Borders::TOP } else { Borders::ALL };
    let block = Block::default().borders(borders).border_style(theme.style(border)).title(Line::from(spans));
    let inner = block.inner(area);
    frame.render_widget(block, area);
    inner
}

/// Room left in a pane title for the badge, given the pane's outer width and name.
pub fn badge_room(area: Rect, name: &str) -> usize {
    usize::from(area.width).saturating_sub(width(name) + 5)
}

/// The window of rows to draw so that `selected` stays visible: `(offset, selected)`,
/// with `selected` clamped to the rows that exist.
pub fn scroll_window(selected: usize, len: usize, height: usize) -> (usize, usize) {
    if len == 0 || height == 0 {
        return (0, 0);
    }
    let sel = selected.min(len - 1);
    let offset = if sel < height { 0 } else { sel + 1 - height };
    (offset, sel)
}

/// Draw a short explanatory body text (empty states, not configured, no data).
pub fn message(frame: &mut Frame, area: Rect, lines: Vec<Line<'static>>) {
    frame.render_widget(Paragraph::new(lines).wrap(Wrap { trim: true }), area);
}

/// A styled span of backend text: sanitized and cut to `max` columns.
pub fn text_span(s: &str, max: usize, style: Style) -> Span<'static> {
    Span::styled(clean(s, max), style)
}

/// Body text of a live pane that has no value to show, or `None` when there is a value. A
/// failed layer names where it connected (`tried`, see [`super::tried`]) under the error.
/// Draw it with [`message`]: it wraps, so a hint is never cut off.
pub fn no_value_lines<T>(
    snap: &Snapshot<T>,
    how_to_configure: &str,
    tried: Option<String>,
    theme: &Theme,
) -> Option<Vec<Line<'static>>> {
    if snap.value.is_some() {
        return None;
    }
    Some(match &snap.freshness {
        Freshness::NotConfigured => vec![
            Line::styled("– not configured", theme.style(Slot::Dim)),
            Line::styled(how_to_configure.to_string(), theme.style(Slot::Text)),
        ],
        Freshness::Pending | Freshness::Fresh => {
            vec![Line::styled("… waiting for the first answer", theme.style(Slot::StatusDegraded))]
        }
        f => {
            let mut out = vec![
                Line::styled("✗ no data yet", theme.style(Slot::StatusDown)),
                Line::styled(clean(f.error().unwrap_or("unknown error"), 500), theme.style(Slot::StatusDown)),
            ];
            out.extend(tried.map(|t| Line::styled(clean(&t, 500), theme.style(Slot::Dim))));
            out
        }
    })
}

/// One table column: header, width (minimum width for the fill column), and how long it is
/// kept when space runs out (higher = kept longer; `u8::MAX` = never dropped).
#[derive(Debug, Clone, Copy)]
pub struct Col {
    /// Header text.
    pub header: &'static str,
    /// Width, or minimum width when `fill`.
    pub width: u16,
    /// Takes the remaining width.
    pub fill: bool,
    /// Drop priority: lowest is dropped first.
    pub keep: u8,
}

impl Col {
    /// A fixed-width column.
    pub const fn fixed(header: &'static str, width: u16, keep: u8) -> Col {
        Col { header, width, fill: false, keep }
    }

    /// The column that takes the remaining width (at least `min`).
    pub const fn fill(header: &'static str, min: u16, keep: u8) -> Col {
        Col { header, width: min, fill: true, keep }
    }
}

/// Which columns fit into `avail` columns (with one space between columns): drops the
/// lowest-`keep` columns first, never those with `keep == u8::MAX`.
pub fn fit_columns(cols: &[Col], avail: u16) -> Vec<bool> {
    let mut kept = vec![true; cols.len()];
    loop {
        let n = kept.iter().filter(|k| **k).count() as u32;
        let total: u32 =
            cols.iter().zip(&kept).filter(|(_, k)| **k).map(|(c, _)| u32::from(c.width)).sum::<u32>()
                + n.saturating_sub(1);
        if total <= u32::from(avail) {
            return kept;
        }
        let victim = cols
            .iter()
            .enumerate()
            .filter(|(i, c)| kept[*i] && c.keep < u8::MAX)
            .min_by_key(|(i, c)| (c.keep, usize::MAX - i))
            .map(|(i, _)| i);
        match victim {
            Some(i) => kept[i] = false,
            None => return kept,
        }
    }
}

/// A table of the kept columns: header row styled as a table header, cells picked by `kept`.
pub fn fitted_table(
    cols: &[Col],
    kept: &[bool],
    rows: Vec<(Vec<Span<'static>>, Option<Style>)>,
    theme: &Theme,
) -> ratatui::widgets::Table<'static> {
    use ratatui::layout::Constraint;
    use ratatui::widgets::{Row, Table};
    let pick = |i: usize| kept.get(i).copied().unwrap_or(false);
    let widths: Vec<Constraint> = cols
        .iter()
        .enumerate()
        .filter(|(i, _)| pick(*i))
        .map(|(_, c)| if c.fill { Constraint::Fill(1) } else { Constraint::Length(c.width) })
        .collect();
    let header: Vec<&'static str> =
        cols.iter().enumerate().filter(|(i, _)| pick(*i)).map(|(_, c)| c.header).collect();
    let rows = rows.into_iter().map(|(cells, style)| {
        let cells: Vec<Span<'static>> =
            cells.into_iter().enumerate().filter(|(i, _)| pick(*i)).map(|(_, c)| c).collect();
        let row = Row::new(cells);
        match style {
            Some(s) => row.style(s),
            None => row,
        }
    });
    Table::new(rows, widths).header(Row::new(header).style(theme.style(Slot::TableHeader))).column_spacing(1)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn t(s: i64) -> DateTime<Utc> {
        Utc.timestamp_opt(1_800_000_000 + s, 0).single().expect("valid time")
    }

    fn text(spans: &[Span<'_>]) -> String {
        spans.iter().map(|s| s.content.as_ref()).collect()
    }

    #[test]
    fn ages_are_coarse_lower_bounds() {
        let age = |s| age_text(Duration::seconds(s));
        assert_eq!(age(-5), "<10s");
        assert_eq!(age(0), "<10s");
        assert_eq!(age(9), "<10s");
        assert_eq!(age(10), "10s");
        assert_eq!(age(29), "20s");
        assert_eq!(age(59), "50s");
        assert_eq!(age(60), "1m");
        assert_eq!(age(125), "2m");
        assert_eq!(age(3599), "59m");
        assert_eq!(age(7200), "2h");
        assert_eq!(age(86_399), "23h");
        assert_eq!(age(3 * 86_400 + 5), "3d");
        // Below a minute the text changes at most once every 10 s (6 texts a minute).
        let texts: std::collections::BTreeSet<String> = (0..60).map(age).collect();
        assert_eq!(texts.len(), 6, "{texts:?}");
        // Never older than the truth.
        for s in 0..100_000 {
            let t = age(s);
            let shown: i64 = if t == "<10s" {
                0
            } else {
                let (n, unit) = t.split_at(t.len() - 1);
                let n: i64 = n.parse().expect("a number before the unit");
                n * match unit {
                    "s" => 1,
                    "m" => 60,
                    "h" => 3600,
                    _ => 86_400,
                }
            };
            assert!(shown <= s, "{s} s shown as {t}");
        }
    }

    #[test]
    fn countdowns_are_coarse_upper_bounds() {
        assert_eq!(countdown_text(3723), "1h03m");
        assert_eq!(countdown_text(3600), "1h00m");
        assert_eq!(countdown_text(3599), "1h00m");
        assert_eq!(countdown_text(3540), "59m");
        assert_eq!(countdown_text(192), "4m");
        assert_eq!(countdown_text(180), "3m");
        assert_eq!(countdown_text(121), "3m");
        assert_eq!(countdown_text(120), "2m");
        assert_eq!(countdown_text(61), "2m");
        assert_eq!(countdown_text(60), "1m");
        assert_eq!(countdown_text(51), "1m");
        assert_eq!(countdown_text(50), "50s");
        assert_eq!(countdown_text(42), "50s");
        assert_eq!(countdown_text(11), "20s");
        assert_eq!(countdown_text(10), "10s");
        assert_eq!(countdown_text(1), "10s");
        assert_eq!(countdown_text(0), "0s");
        assert_eq!(countdown_text(-65), "0s");
        // Never less time than the truth, never a whole step more.
        for s in 0..7200 {
            let t = countdown_text(s);
            let (shown, step) = match t.split_once('h') {
                Some((h, m)) => (
                    h.parse::<i64>().unwrap() * 3600 + m.trim_end_matches('m').parse::<i64>().unwrap() * 60,
                    60,
                ),
                None if t.ends_with('m') => (t.trim_end_matches('m').parse::<i64>().unwrap() * 60, 60),
                None => (t.trim_end_matches('s').parse().unwrap(), 10),
            };
            assert!(shown >= s && shown - s < step, "{s} s left shown as {t}");
        }
        // A minute counting down shows at most two texts above the last minute, and six in it.
        let texts =
            |r: std::ops::Range<i64>| r.map(countdown_text).collect::<std::collections::BTreeSet<_>>().len();
        assert!((61..3600).all(|s| texts(s..s + 60) <= 2));
        assert_eq!(texts(1..61), 6);
    }

    #[test]
    fn waits_keep_seconds() {
        assert_eq!(seconds_text(Duration::seconds(7)), "7s");
        assert_eq!(seconds_text(Duration::seconds(-1)), "0s");
        assert_eq!(seconds_text(Duration::seconds(125)), "2m");
    }

    #[test]
    fn bytes_are_humanised() {
        assert_eq!(bytes_text(0), "0 B");
        assert_eq!(bytes_text(1536), "1.5 KiB");
        assert_eq!(bytes_text(16 * 1024 * 1024), "16.0 MiB");
    }

    #[test]
    fn badges_say_what_is_true_and_how_old() {
        let theme = Theme::fallback();
        let fresh = Snapshot::fresh(1u8, t(0));
        assert_eq!(text(&freshness_badge(&fresh, t(3), &theme, 40)), "● <10s");
        assert_eq!(text(&freshness_badge(&fresh, t(14), &theme, 40)), "● 10s");
        let stale = Snapshot {
            value: Some(1u8),
            fetched_at: Some(t(0)),
            freshness: Freshness::Stale { since: t(5), error: "refused\u{1b}[2J".into() },
        };
        assert_eq!(text(&freshness_badge(&stale, t(12), &theme, 40)), "◐ stale 10s: refused␛[2J");
        let open: Snapshot<u8> = Snapshot {
            value: None,
            fetched_at: None,
            freshness: Freshness::BreakerOpen { retry_at: t(20), error: "timeout".into() },
        };
        assert_eq!(text(&freshness_badge(&open, t(0), &theme, 60)), "⊘ circuit open, retry in 20s: timeout");
        // Narrow panes keep the retry time rather than the wording.
        assert_eq!(text(&freshness_badge(&open, t(0), &theme, 20)), "⊘ open, retry 20s");
        let kept = Snapshot { value: Some(1u8), fetched_at: Some(t(-120)), ..open };
        assert_eq!(
            text(&freshness_badge(&kept, t(0), &theme, 80)),
            "⊘ circuit open, retry in 20s, data 2m old: timeout"
        );
        let nc: Snapshot<u8> = Snapshot::not_configured();
        assert_eq!(text(&freshness_badge(&nc, t(0), &theme, 60)), "– not configured");
    }

    #[test]
    fn long_errors_are_cut_to_fit() {
        let theme = Theme::fallback();
        let failed: Snapshot<u8> = Snapshot {
            value: None,
            fetched_at: None,
            freshness: Freshness::Failed { error: "x".repeat(200) },
        };
        let spans = freshness_badge(&failed, t(0), &theme, 30);
        assert!(width(&text(&spans)) <= 30, "{}", text(&spans));
        assert!(text(&spans).starts_with("✗ failed: x"));
    }

    #[test]
    fn columns_are_dropped_by_priority() {
        let cols = [Col::fixed("A", 10, u8::MAX), Col::fill("B", 10, 5), Col::fixed("C", 10, 1)];
        assert_eq!(fit_columns(&cols, 32), vec![true, true, true]);
        assert_eq!(fit_columns(&cols, 31), vec![true, true, false]);
        assert_eq!(fit_columns(&cols, 15), vec![true, false, false]);
        assert_eq!(fit_columns(&cols, 2), vec![true, false, false]);
    }

    #[test]
    fn scroll_window_keeps_selection_visible() {
        assert_eq!(scroll_window(0, 100, 10), (0, 0));
        assert_eq!(scroll_window(9, 100, 10), (0, 9));
        assert_eq!(scroll_window(10, 100, 10), (1, 10));
        assert_eq!(scroll_window(500, 100, 10), (90, 99));
        assert_eq!(scroll_window(3, 0, 10), (0, 0));
    }
}
