//! The header line: incident, clock, mode, verdict (and MITIGATED), alarms, operator.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::Modifier;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use crate::app::verdict::Level;
use crate::app::{Mode, State};
use crate::config::Theme;
use crate::config::theme::Slot;

use super::panes::sentinel::sentinels_disagree;
use super::widgets::width;
use crate::text::clean;

/// Alarms the header raises, most severe first.
pub fn alarms(state: &State) -> Vec<&'static str> {
    let mut out = Vec::new();
    if state.domain.observed.database.value.as_ref().is_some_and(|d| d.split_brain()) {
        out.push("!! SPLIT-BRAIN");
    }
    if state.domain.observed.sentinel.value.as_ref().is_some_and(sentinels_disagree) {
        out.push("!! SENTINELS DISAGREE");
    }
    out
}

/// The parts of the header at a width: incident id and severity, the title's room on one
/// line, the essentials (clock, mode, badges, alarms) and the operator.
#[derive(Clone)]
struct Parts {
    /// Incident id and severity (each dropped when space runs out).
    prefix: Vec<Span<'static>>,
    /// The title, sanitized, uncut.
    title: String,
    /// Columns the title has when everything shares one line.
    title_room: usize,
    /// Clock, mode, badges, alarms, the first reason.
    essentials: Vec<Span<'static>>,
    /// The operator, when it fits.
    operator: Option<Span<'static>>,
}

/// `replay_badge`: include the REPLAY badge of a replayed screen (without it, the parts are
/// those of the console that was recorded: the title wraps the same way in a replay).
fn parts(state: &State, theme: &Theme, avail: usize, replay_badge: bool) -> Parts {
    let header = theme.style(Slot::Header);
    let mode = match state.domain.mode {
        Mode::Drill => Span::styled(" DRILL ", theme.style(Slot::BadgeDrill)),
        Mode::Live => Span::styled(" LIVE ", theme.style(Slot::BadgeLive)),
    };
    // Essentials that must always fit: clock, mode, read-only, alarms.
    let mut essentials = vec![Span::styled(state.domain.clock_text(), header), Span::raw(" "), mode];
    if let Some(replay) = state.view.replay.as_ref().filter(|_| replay_badge) {
        essentials.push(Span::raw(" "));
        let text = clean(&replay.text(), avail.saturating_sub(30).max(12));
        essentials.push(Span::styled(format!(" {text} "), theme.style(Slot::BadgeReadOnly)));
    }
    if state.domain.read_only {
        essentials.push(Span::raw(" "));
        essentials.push(Span::styled(" READ-ONLY ", theme.style(Slot::BadgeReadOnly)));
    }
    if let Some(since) = state.domain.facilitation.clock.paused_since() {
        let secs = (state.domain.facilitation.wall - since).num_seconds().max(0);
        essentials.push(Span::raw(" "));
        essentials
            .push(Span::styled(format!(" PAUSED {}:{:02} ", secs / 60, secs % 60), theme.style(Slot::Alarm)));
    }
    if state.domain.facilitation.facilitator {
        essentials.push(Span::raw(" "));
        essentials.push(Span::styled(" FACILITATOR ", theme.style(Slot::BadgeReadOnly)));
    }
    essentials.extend(verdict_badges(state, theme));
    for alarm in alarms(state) {
        essentials.push(Span::raw(" "));
        essentials.push(Span::styled(format!(" {alarm} "), theme.style(Slot::Alarm)));
    }
    if let Some(store) = state.domain.shared_store.as_ref().filter(|s| s.is_stale()) {
        essentials.push(Span::raw(" "));
        let text = clean(&store.line(state.domain.now), avail.saturating_sub(40).max(16));
        essentials.push(Span::styled(format!(" {text} "), theme.style(Slot::Alarm)));
    }
    if let Some(banner) = super::commander::takeover_banner(state) {
        essentials.push(Span::raw(" "));
        essentials.push(Span::styled(format!(" {banner} "), theme.style(Slot::Alarm)));
    }
    if let Some((text, slot)) = super::commander::badge(state) {
        // Never crowd out the clock and alarms: the badge shrinks to what is left.
        let used: usize = essentials.iter().map(|s| width(&s.content)).sum();
        let room = avail.saturating_sub(used + 12);
        if room >= 12 {
            essentials.push(Span::raw(" "));
            essentials.push(Span::styled(format!(" {} ", clean(&text, room - 2)), theme.style(slot)));
        }
    }
    let id = clean(&state.domain.incident.id, 40);
    let sev = clean(&state.domain.incident.severity, 8);
    let operator = clean(&state.domain.operator, 40);
    // A short title (30 columns or less) keeps its one line: the reason gets what the id,
    // severity, operator and title leave (it is also in the verdict, `v`). A longer title wraps
    // onto the second row anyway, so the reason keeps its room.
    let title_w = width(&clean(&state.domain.incident.title, 400));
    let reserve = if title_w <= 30 { width(&id) + width(&sev) + width(&operator) + title_w + 6 } else { 50 };
    push_first_reason(&mut essentials, state, theme, avail, reserve);
    let essentials_w: usize = essentials.iter().map(|s| width(&s.content)).sum();

    // Optional parts, dropped in this order when space runs out: operator, severity, id.
    let mut show_operator = true;
    let mut show_sev = !sev.is_empty();
    let mut show_id = true;
    let optional_w = |op: bool, sv: bool, i: bool| {
        (if op { width(&operator) + 2 } else { 0 })
            + (if sv { width(&sev) + 1 } else { 0 })
            + (if i { width(&id) + 1 } else { 0 })
    };
    let min_title = 8;
    for drop in 0..3 {
        if essentials_w + optional_w(show_operator, show_sev, show_id) + min_title < avail {
            break;
        }
        match drop {
            0 => show_operator = false,
            1 => show_sev = false,
            _ => show_id = false,
        }
    }
    let title_room = avail.saturating_sub(essentials_w + optional_w(show_operator, show_sev, show_id) + 1);
    let mut prefix = Vec::with_capacity(2);
    if show_id {
        prefix.push(Span::styled(format!("{id} "), header));
    }
    if show_sev {
        prefix.push(Span::styled(format!("{sev} "), theme.style(Slot::StatusDown)));
    }
    Parts {
        prefix,
        title: clean(&state.domain.incident.title, 400),
        title_room,
        essentials,
        operator: show_operator.then(|| Span::styled(operator, theme.style(Slot::Dim))),
    }
}

/// Rows the header takes in an area `w` x `h`: two when the title would be cut on one line
/// and the terminal has the rows to spare (24 or more): the title wraps onto the second.
pub fn rows(state: &State, theme: &Theme, w: u16, h: u16) -> u16 {
    if h < 24 {
        return 1;
    }
    let p = parts(state, theme, usize::from(w), false);
    if width(&p.title) <= p.title_room { 1 } else { 2 }
}

/// Draw the header into its area: one line; with two rows, a title that does not fit wraps
/// at a word onto the second, under itself.
pub fn draw(frame: &mut Frame, area: Rect, state: &State, theme: &Theme) {
    let avail = usize::from(area.width);
    let p = parts(state, theme, avail, true);
    // The wrap is the recorded console's (no replay badge), so a replay's second row matches.
    let console = if state.view.replay.is_some() { parts(state, theme, avail, false) } else { p.clone() };
    let indent: usize = console.prefix.iter().map(|s| width(&s.content)).sum();
    let wrapped = area.height >= 2 && width(&console.title) > console.title_room && console.title_room > 0;
    let (first, rest) = if wrapped {
        let (first, rest) = split_title(&console.title, console.title_room);
        (clean(first, p.title_room), Some(rest.to_string()))
    } else {
        (clean(&p.title, p.title_room), None)
    };
    let mut spans = Vec::with_capacity(16);
    spans.extend(p.prefix);
    let pad = p.title_room.saturating_sub(width(&first));
    spans.push(Span::styled(first, theme.style(Slot::Text)));
    spans.push(Span::raw(" ".repeat(pad + 1)));
    spans.extend(p.essentials);
    if let Some(op) = p.operator {
        spans.push(Span::raw("  "));
        spans.push(op);
    }
    frame.render_widget(Paragraph::new(Line::from(spans)), Rect { height: 1, ..area });
    if let Some(rest) = rest {
        let line = Line::from(vec![
            Span::raw(" ".repeat(indent)),
            Span::styled(clean(&rest, avail.saturating_sub(indent)), theme.style(Slot::Text)),
        ]);
        frame.render_widget(Paragraph::new(line), Rect { y: area.y + 1, height: 1, ..area });
    }
}

/// `title` split where it wraps: at the last space within `room` columns, or (one long word)
/// at `room` columns; the rest without its leading spaces.
fn split_title(title: &str, room: usize) -> (&str, &str) {
    let mut cut = 0;
    let mut last_space = None;
    for (i, c) in title.char_indices() {
        if width(&title[..i + c.len_utf8()]) > room {
            break;
        }
        cut = i + c.len_utf8();
        if c == ' ' {
            last_space = Some(i);
        }
    }
    if cut >= title.len() {
        return (title, "");
    }
    let at = match last_space {
        Some(i) if i > 0 && !title[cut..].starts_with(' ') => i,
        _ => cut,
    };
    (title[..at].trim_end(), title[at..].trim_start())
}

/// The theme slot of a verdict level.
pub fn level_slot(level: Level) -> Slot {
    match level {
        Level::Healthy => Slot::StatusHealthy,
        Level::Degraded => Slot::StatusDegraded,
        Level::Failing => Slot::StatusDown,
        Level::Unknown => Slot::StatusStale,
    }
}

/// The verdict badge (` FAILING `), then ` RESOLVED ` once the incident is resolved, else
/// ` MITIGATED ` while the incident or drill is mitigated (not once mitigation was withdrawn).
pub fn verdict_badges(state: &State, theme: &Theme) -> Vec<Span<'static>> {
    let badge = |text: &str, slot| {
        Span::styled(format!(" {text} "), theme.style(slot).add_modifier(Modifier::REVERSED | Modifier::BOLD))
    };
    let mut out = vec![
        Span::raw(" "),
        badge(state.domain.verdict.level.label(), level_slot(state.domain.verdict.level)),
    ];
    if state.domain.resolved.is_some() {
        out.push(Span::raw(" "));
        out.push(badge("RESOLVED", Slot::StatusHealthy));
    } else if state.domain.recovery.mitigated_at.is_some() {
        out.push(Span::raw(" "));
        out.push(badge("MITIGATED", Slot::StatusHealthy));
    }
    out
}

/// The verdict's first reason after the badges, in the room the title can spare.
fn push_first_reason(
    spans: &mut Vec<Span<'static>>,
    state: &State,
    theme: &Theme,
    avail: usize,
    reserve: usize,
) {
    let Some(reason) = state.domain.verdict.first_reason() else { return };
    let used: usize = spans.iter().map(|s| width(&s.content)).sum();
    let room = avail.saturating_sub(used + reserve.max(50)).min(70);
    if room >= 16 {
        spans.push(Span::raw(" "));
        spans
            .push(Span::styled(clean(reason, room - 1), theme.style(level_slot(state.domain.verdict.level))));
    }
}

#[cfg(test)]
mod tests {
    use super::split_title;

    #[test]
    fn a_title_wraps_at_a_word_or_cuts_one_long_word_without_adding_spaces() {
        assert_eq!(split_title("Primary database down", 30), ("Primary database down", ""));
        assert_eq!(split_title("Primary database down", 12), ("Primary", "database down"));
        assert_eq!(split_title("Primary database down", 16), ("Primary database", "down"));
        assert_eq!(split_title("Primary database down", 17), ("Primary database", "down"));
        assert_eq!(split_title("(primary-db-down)", 6), ("(prima", "ry-db-down)"));
        assert_eq!(split_title("Drill: (primary-db-down)", 12), ("Drill:", "(primary-db-down)"));
    }
}
