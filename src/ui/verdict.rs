//! The verdict modal: the level, every reason, what is expected down, and where mitigation
//! stands (mitigated, settling, withdrawn).

use chrono::{DateTime, Utc};
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Clear, Paragraph, Wrap};

use crate::app::State;
use crate::config::Theme;
use crate::config::theme::Slot;

use super::header::level_slot;
use super::layout::centered;
use crate::text::clean;

/// `T+mm:ss` of an instant.
fn offset(state: &State, t: DateTime<Utc>) -> String {
    let s = (t - state.domain.incident.declared_at).num_seconds().max(0);
    format!("T+{:02}:{:02}", s / 60, s % 60)
}

/// Where mitigation stands, in one line.
pub fn mitigation_line(state: &State) -> String {
    let r = &state.domain.recovery;
    let settle = state.domain.config.drill.settle_secs();
    let withdrawn = match r.withdrawals {
        0 => String::new(),
        n => format!(" ({n} earlier mitigation(s) withdrawn)"),
    };
    match (r.mitigated_at, r.holding_since) {
        (Some(at), _) => format!("MITIGATED since {} (held {settle} s){withdrawn}", offset(state, at)),
        (None, Some(since)) => format!(
            "not mitigated yet: the verdict holds since {} ({} of {settle} s){withdrawn}",
            offset(state, since),
            (state.domain.now - since).num_seconds().clamp(0, settle as i64)
        ),
        (None, None) if r.detected.is_some() => format!("not mitigated{withdrawn}"),
        (None, None) => "no fault detected".into(),
    }
}

/// The next step the console recommends (the picker's first entry), or what to do when no
/// runbook addresses what is wrong; `None` when nothing is wrong.
pub fn next_step(state: &State) -> Option<String> {
    match crate::app::recommend::recommended(&state.domain).first() {
        Some(r) => Some(format!("Next: runbook {} (b): {}", r.runbook, r.reason)),
        None if state.domain.verdict.reasons.is_empty() => None,
        None => {
            Some("Next: no runbook addresses this yet: watch the panes; a lists single operations".into())
        }
    }
}

/// The modal's lines for a text width `w`.
pub fn lines(state: &State, theme: &Theme, w: usize) -> Vec<Line<'static>> {
    let v = &state.domain.verdict;
    let slot = level_slot(v.level);
    let mut out = vec![
        Line::from(vec![
            Span::styled("Verdict: ", theme.style(Slot::TableHeader)),
            Span::styled(v.level.label(), theme.style(slot)),
        ]),
        Line::styled(clean(&mitigation_line(state), w), theme.style(Slot::Text)),
        Line::raw(""),
    ];
    if let Some(next) = next_step(state) {
        out.push(Line::styled(clean(&next, w), theme.style(Slot::TableHeader)));
        out.push(Line::raw(""));
    }
    if v.reasons.is_empty() {
        out.push(Line::styled("Nothing is wrong.", theme.style(Slot::StatusHealthy)));
    } else {
        out.push(Line::styled("Still unhealthy:", theme.style(Slot::TableHeader)));
        for r in &v.reasons {
            out.push(Line::styled(format!("- {}", clean(r, w.saturating_sub(2))), theme.style(slot)));
        }
    }
    if !v.expected_down.is_empty() {
        out.push(Line::raw(""));
        out.push(Line::styled("Expected down (does not block mitigation):", theme.style(Slot::TableHeader)));
        for e in &v.expected_down {
            out.push(Line::styled(format!("- {}", clean(e, w.saturating_sub(2))), theme.style(Slot::Dim)));
        }
    }
    out
}

/// Draw the verdict modal.
pub fn draw(frame: &mut Frame, area: Rect, state: &State, theme: &Theme) {
    let w = area.width.saturating_sub(4).min(110);
    let body = lines(state, theme, usize::from(w.saturating_sub(2)));
    let h = (body.len() as u16 + 2).min(area.height.saturating_sub(2));
    let rect = centered(area, w, h);
    frame.render_widget(Clear, rect);
    let block = Block::bordered()
        .border_style(theme.style(slot_border(state)))
        .title(Span::styled(" Estate verdict ", theme.style(Slot::PaneTitle)));
    frame.render_widget(Paragraph::new(body).wrap(Wrap { trim: false }).block(block), rect);
}

fn slot_border(state: &State) -> Slot {
    level_slot(state.domain.verdict.level)
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use chrono::TimeZone;
    use ratatui::Terminal;
    use ratatui::backend::TestBackend;

    use super::*;
    use crate::app::state::IncidentInfo;
    use crate::app::verdict::{Level, Verdict};
    use crate::app::{Action, Modal, Mode, update};
    use crate::command::Command;
    use crate::config::{Config, Keymap};

    fn state() -> State {
        let t0 = Utc.with_ymd_and_hms(2026, 11, 26, 3, 0, 0).unwrap();
        let incident = IncidentInfo {
            id: "INC-1".into(),
            title: "Drill".into(),
            severity: "SEV2".into(),
            declared_at: t0,
            drill: true,
        };
        let mut s = State::new(Mode::Drill, incident, "op@host".into(), Arc::new(Config::default()), t0);
        s.domain.verdict = Verdict {
            level: Level::Failing,
            reasons: vec!["database: Service postgresql has no ready endpoint".into()],
            expected_down: vec![
                "region us-east-1: drained (Route 53 weight 0, traffic moved to us-west-2)".into(),
            ],
            restored: false,
        };
        s
    }

    fn screen(s: &State, w: u16, h: u16) -> String {
        let ctx = crate::ui::UiContext { theme: Theme::fallback(), keymap: Keymap::fallback() };
        let mut t = Terminal::new(TestBackend::new(w, h)).unwrap();
        t.draw(|f| crate::ui::draw(f, s, &ctx)).unwrap();
        let buf = t.backend().buffer();
        (0..h)
            .map(|y| (0..w).map(|x| buf[(x, y)].symbol().to_string()).collect::<String>())
            .collect::<Vec<_>>()
            .join("\n")
    }

    #[test]
    fn the_verdict_key_opens_every_reason_and_what_is_expected_down() {
        let mut s = state();
        let now = s.domain.now;
        let keymap = Keymap::fallback();
        assert_eq!(
            keymap.lookup(&[crate::config::keymap::KeyLayer::Global], &[crate::config::key::Key("v".into())]),
            crate::config::keymap::KeymapResult::Matched(Command::Verdict)
        );
        update(&mut s, Action::Command(Command::Verdict), now);
        assert_eq!(s.view.modal, Some(Modal::Verdict));
        s.domain.verdict = state().domain.verdict;
        let text = screen(&s, 120, 30);
        assert!(text.contains("Verdict: FAILING"), "{text}");
        assert!(text.contains("- database: Service postgresql has no ready endpoint"), "{text}");
        assert!(text.contains("Expected down (does not block mitigation):"), "{text}");
        assert!(text.contains("- region us-east-1: drained"), "{text}");
        update(&mut s, Action::Command(Command::Close), now);
        assert_eq!(s.view.modal, None);
    }

    #[test]
    fn the_verdict_says_the_next_step_the_console_recommends() {
        // Nothing recommended while something is wrong: say so, never leave the operator guessing.
        let s = state();
        assert_eq!(
            next_step(&s).as_deref(),
            Some("Next: no runbook addresses this yet: watch the panes; a lists single operations")
        );
        // The drill's primary down: the recommended runbook, with its reason, in the modal.
        let mut s = crate::app::State::from(crate::app::safety::tests::domain_of(
            &crate::app::safety::tests::sim_at("primary-db-down", 15),
        ));
        s.domain.verdict = crate::app::verdict::verdict_of(&s.domain.observed, &s.domain.config);
        s.view.modal = Some(Modal::Verdict);
        let text = screen(&s, 160, 40);
        assert!(
            text.contains("Next: runbook db-failover (b): PostgreSQL primary postgresql-0 is DOWN"),
            "{text}"
        );
        // Healthy: no next step.
        let mut s = crate::app::State::from(crate::app::safety::tests::domain_of(
            &crate::app::safety::tests::sim_at("calm", 20),
        ));
        s.domain.verdict = crate::app::verdict::verdict_of(&s.domain.observed, &s.domain.config);
        assert_eq!(next_step(&s), None);
    }

    #[test]
    fn the_header_shows_the_verdict_its_first_reason_and_mitigated() {
        let mut s = state();
        s.domain.verdict_of = Some(s.domain.observed.clone());
        let header = screen(&s, 160, 30).lines().next().unwrap().to_string();
        assert!(header.contains(" FAILING  database: Service postgresql has no ready endpoint"), "{header}");
        assert!(!header.contains("MITIGATED"), "{header}");
        s.domain.recovery.mitigated_at = Some(s.domain.now);
        s.domain.verdict = Verdict {
            level: Level::Degraded,
            reasons: vec!["redis: 1 of 3 Sentinels reachable".into()],
            ..s.domain.verdict.clone()
        };
        let header = screen(&s, 160, 30).lines().next().unwrap().to_string();
        assert!(header.contains(" DEGRADED   MITIGATED  redis: 1 of 3 Sentinels reachable"), "{header}");
        // Narrow: the badges stay, the reason goes.
        let header = screen(&s, 80, 24).lines().next().unwrap().to_string();
        assert!(header.contains(" DEGRADED   MITIGATED "), "{header}");
        // Coloured by the theme: the badge cell uses the degraded slot, reversed.
        let ctx = crate::ui::UiContext { theme: Theme::fallback(), keymap: Keymap::fallback() };
        let mut t = Terminal::new(TestBackend::new(160, 30)).unwrap();
        t.draw(|f| crate::ui::draw(f, &s, &ctx)).unwrap();
        let buf = t.backend().buffer();
        let header: String = (0..160).map(|x| buf[(x, 0)].symbol().to_string()).collect();
        let x = header.find(" DEGRADED ").unwrap() as u16 + 1;
        let want = ctx.theme.style(Slot::StatusDegraded);
        assert_eq!(buf[(x, 0)].fg, want.fg.unwrap_or_default(), "{header}");
        assert!(buf[(x, 0)].modifier.contains(ratatui::style::Modifier::REVERSED));
        // Withdrawn: the banner goes away.
        s.domain.recovery.mitigated_at = None;
        let header = screen(&s, 160, 30).lines().next().unwrap().to_string();
        assert!(!header.contains("MITIGATED"), "{header}");
    }
}
