//! The commander lock on screen: the header badge and the takeover dialog.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Clear, Paragraph, Wrap};

use crate::app::State;
use crate::command::Command;
use crate::config::keymap::KeyLayer;
use crate::config::theme::Slot;
use crate::config::{Keymap, Theme};
use crate::incident::commander::CommanderView;

use super::layout::centered;
use crate::text::clean;

/// The header badge text and its style slot; `None` when the console has no lock.
/// Someone else's claim reads `COMMANDER: bob@host pid 42 (expires in 25s)`.
pub fn badge(state: &State) -> Option<(String, Slot)> {
    let now = state.domain.now;
    let (text, slot) = match &state.domain.commander {
        CommanderView::Unknown => return None,
        CommanderView::Pending => ("COMMANDER: ?".to_string(), Slot::Dim),
        CommanderView::Mine { holder, warning, .. } if !holder.expired(now) => match warning {
            None => (format!("COMMANDER: you{}", clock_note(holder)), Slot::BadgeLive),
            Some(_) => (
                format!("COMMANDER: you, RENEWAL FAILING (expires in {}s)", holder.expires_in_secs(now)),
                Slot::Alarm,
            ),
        },
        CommanderView::Mine { .. } => ("COMMANDER: yours EXPIRED".to_string(), Slot::Alarm),
        CommanderView::Free { .. } => ("COMMANDER: free".to_string(), Slot::BadgeReadOnly),
        CommanderView::Theirs { holder } => (
            format!(
                "COMMANDER: {} (expires in {}s){}",
                clean(&holder.identity, 48),
                holder.expires_in_secs(now),
                clock_note(holder)
            ),
            Slot::BadgeReadOnly,
        ),
        CommanderView::Lost { .. } => ("COMMANDER LOST".to_string(), Slot::Alarm),
        CommanderView::Unavailable { .. } => ("COMMANDER: unavailable".to_string(), Slot::Alarm),
    };
    Some((text, slot))
}

/// ` · <note>` when the Lease reports clocks across hosts (a skew over 1 s, or a wait).
fn clock_note(holder: &crate::incident::commander::Holder) -> String {
    holder.clock.as_deref().map(|n| format!(" · {}", clean(n, 96))).unwrap_or_default()
}

/// The header banner when another console took command from this one:
/// `COMMAND TAKEN by bob@host pid 42 at 12:01:05` (UTC, as every time in the log).
pub fn takeover_banner(state: &State) -> Option<String> {
    let (by, at) = state.domain.command_taken.as_ref()?;
    Some(format!("COMMAND TAKEN by {} at {}", clean(by, 48), at.format("%H:%M:%S")))
}

/// Draw the takeover confirmation for `holder`.
pub fn draw_takeover(frame: &mut Frame, area: Rect, theme: &Theme, keymap: &Keymap, holder: &str) {
    let w = area.width.saturating_sub(4).min(72);
    let rect = centered(area, w, 6);
    frame.render_widget(Clear, rect);
    let block = Block::bordered()
        .border_style(theme.style(Slot::Confirm))
        .title(Span::styled(" Take over the commander lock ", theme.style(Slot::PaneTitle)));
    let inner = block.inner(rect);
    frame.render_widget(block, rect);
    let yes = keymap.key_for(KeyLayer::Confirm, Command::ConfirmYes).unwrap_or_else(|| "y".into());
    let no = keymap.key_for(KeyLayer::Confirm, Command::ConfirmNo).unwrap_or_else(|| "n".into());
    let lines = vec![
        Line::from(vec![
            Span::styled(clean(holder, 48), theme.style(Slot::Text)),
            Span::styled(" holds it. Take it over? Their console will", theme.style(Slot::Text)),
        ]),
        Line::styled("stop executing steps. The handover is logged.", theme.style(Slot::Text)),
        Line::styled(
            format!("{} take over · {} cancel", clean(&yes, 12), clean(&no, 12)),
            theme.style(Slot::Dim),
        ),
    ];
    frame.render_widget(Paragraph::new(lines).wrap(Wrap { trim: false }), inner);
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use chrono::{Duration, TimeZone, Utc};
    use ratatui::Terminal;
    use ratatui::backend::TestBackend;

    use super::*;
    use crate::app::Mode;
    use crate::app::state::IncidentInfo;
    use crate::incident::commander::Holder;

    fn state(view: CommanderView) -> State {
        let t0 = Utc.with_ymd_and_hms(2026, 11, 26, 12, 0, 0).unwrap();
        let incident = IncidentInfo {
            id: "INC-20261126-120000".into(),
            title: "Primary database down in us-east-1".into(),
            severity: "SEV1".into(),
            declared_at: t0,
            drill: false,
        };
        let mut s = State::new(Mode::Live, incident, "alice@ops1".into(), Arc::new(Default::default()), t0);
        s.domain.now = t0 + Duration::seconds(65);
        s.domain.commander = view;
        s
    }

    fn bob(s: &State) -> Holder {
        Holder {
            identity: "bob@host pid 42".into(),
            acquired_at: s.domain.now - Duration::seconds(5),
            renewed_at: s.domain.now - Duration::seconds(5),
            expires_at: s.domain.now + Duration::seconds(25),
            clock: None,
        }
    }

    fn header(state: &State, w: u16) -> String {
        let mut t = Terminal::new(TestBackend::new(w, 1)).unwrap();
        t.draw(|f| crate::ui::header::draw(f, f.area(), state, &Theme::fallback())).unwrap();
        t.backend().buffer().content().iter().map(|c| c.symbol()).collect()
    }

    #[test]
    fn header_shows_the_clock_note_of_the_lease() {
        let mut s = state(CommanderView::Pending);
        let mut h = bob(&s);
        h.clock = Some("this host's clock is 2.4 s behind the API server's".into());
        s.domain.commander = CommanderView::Theirs { holder: h };
        let line = header(&s, 200);
        assert!(
            line.contains("COMMANDER: bob@host pid 42 (expires in 25s) · this host's clock is 2.4 s behind"),
            "{line}"
        );
    }

    #[test]
    fn header_shows_a_stale_shared_store_with_its_age_and_pending_count_and_nothing_when_synced() {
        use crate::app::{Action, update};
        use crate::incident::shared::SharedStatus;
        let mut s = state(CommanderView::Free { note: None });
        let now = s.domain.now;
        let since = now - Duration::seconds(12);
        let stale = SharedStatus::Unreachable { error: "connection refused".into(), since, pending: 3 };
        update(&mut s, Action::SharedStore(stale), now);
        let h = header(&s, 160);
        assert!(h.contains("store STALE 12s (3 pending): connection refused"), "{h}");
        update(&mut s, Action::SharedStore(SharedStatus::Synced { at: now }), now);
        assert!(!header(&s, 160).contains("STALE"));
    }

    #[test]
    fn header_names_the_other_holder_and_the_expiry() {
        let mut s = state(CommanderView::Pending);
        s.domain.commander = CommanderView::Theirs { holder: bob(&s) };
        let line = header(&s, 140);
        assert!(line.contains("COMMANDER: bob@host pid 42 (expires in 25s)"), "{line}");
        assert!(line.contains("T+01:05"), "{line}");
        // Narrow: the badge shrinks, the clock and mode stay.
        let narrow = header(&s, 80);
        assert!(
            narrow.contains("T+01:05") && narrow.contains("LIVE") && narrow.contains("COMMANDER"),
            "{narrow}"
        );
    }

    #[test]
    fn the_old_commander_s_header_says_who_took_command_and_when() {
        let mut s = state(CommanderView::Pending);
        s.domain.commander = CommanderView::Theirs { holder: bob(&s) };
        s.domain.command_taken = Some(("bob@host pid 42".into(), s.domain.now - Duration::seconds(3)));
        let line = header(&s, 160);
        assert!(line.contains("COMMAND TAKEN by bob@host pid 42 at 12:01:02"), "{line}");
        assert!(line.contains("T+01:05") && line.contains("LIVE"), "{line}");
        s.domain.command_taken = None;
        assert!(!header(&s, 160).contains("COMMAND TAKEN"));
    }

    #[test]
    fn badge_per_state() {
        let s = state(CommanderView::Unknown);
        assert_eq!(badge(&s), None, "no lock, no badge (as before)");
        let h = bob(&s);
        let mine = CommanderView::Mine { holder: h.clone(), took_over_from: None, warning: None };
        assert_eq!(badge(&state(mine)).unwrap().0, "COMMANDER: you");
        let failing =
            CommanderView::Mine { holder: h.clone(), took_over_from: None, warning: Some("x".into()) };
        assert_eq!(
            badge(&state(failing)).unwrap(),
            ("COMMANDER: you, RENEWAL FAILING (expires in 25s)".into(), Slot::Alarm)
        );
        let mut expired = state(CommanderView::Mine { holder: h, took_over_from: None, warning: None });
        expired.domain.now += Duration::seconds(30);
        assert_eq!(badge(&expired).unwrap(), ("COMMANDER: yours EXPIRED".into(), Slot::Alarm));
        assert_eq!(badge(&state(CommanderView::Lost { reason: "r".into() })).unwrap().1, Slot::Alarm);
        assert_eq!(badge(&state(CommanderView::Free { note: None })).unwrap().0, "COMMANDER: free");
    }

    #[test]
    fn hostile_identity_is_sanitized() {
        let mut s = state(CommanderView::Pending);
        let mut h = bob(&s);
        h.identity = "evil\u{1b}[2Jx pid 1".into();
        s.domain.commander = CommanderView::Theirs { holder: h };
        let (text, _) = badge(&s).unwrap();
        assert!(!text.contains('\u{1b}'), "{text:?}");
    }

    #[test]
    fn a_takeover_rings_the_bell_and_leaves_a_banner_until_command_is_taken_back() {
        use crate::app::{Action, Effect, update};
        let mut s = state(CommanderView::Pending);
        let t0 = s.domain.incident.declared_at;
        let me = Holder::new("alice@host pid 1", t0, t0, std::time::Duration::from_secs(30));
        let mine = CommanderView::Mine { holder: me, took_over_from: None, warning: None };
        update(&mut s, Action::Commander(mine.clone()), t0);
        let at = t0 + Duration::seconds(65);
        let fx = update(
            &mut s,
            Action::Commander(CommanderView::Lost { reason: "taken over by bob pid 2".into() }),
            at,
        );
        assert!(fx.contains(&Effect::Bell), "{fx:?}");
        assert_eq!(s.domain.command_taken, Some(("bob pid 2".to_string(), at)));
        assert_eq!(takeover_banner(&s).as_deref(), Some("COMMAND TAKEN by bob pid 2 at 12:01:05"));
        // Expiry is not a takeover; taking command back clears the banner.
        update(&mut s, Action::Commander(mine), at);
        assert_eq!(s.domain.command_taken, None);
        assert_eq!(takeover_banner(&s), None);
        let fx = update(
            &mut s,
            Action::Commander(CommanderView::Lost { reason: "expired at 12:02:00".into() }),
            at,
        );
        assert!(fx.contains(&Effect::Bell) && s.domain.command_taken.is_none());
        assert_eq!(takeover_banner(&s), None);
    }
}
