//! The preview of a status update's `[[notify]]` sends: each target, its redacted
//! destination, the exact payload; `y` posts and sends, `n` returns to the composer.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Clear, Paragraph, Wrap};

use crate::command::Command;
use crate::config::keymap::KeyLayer;
use crate::config::theme::Slot;
use crate::config::{Keymap, Theme};
use crate::text::{redact, sanitize};

use super::layout::centered;

/// Draw the preview over `area` (lines already hold only redacted destinations; every line
/// is sanitized and redacted again here, as all text drawn is).
pub fn draw(frame: &mut Frame, area: Rect, theme: &Theme, keymap: &Keymap, lines: &[String]) {
    let w = area.width.saturating_sub(4).min(100);
    let h = (lines.len() as u16 + 4).min(area.height.saturating_sub(2));
    let rect = centered(area, w, h);
    frame.render_widget(Clear, rect);
    let key = |c: Command| {
        keymap.key_for(KeyLayer::Confirm, c).unwrap_or_else(|| format!("<{} unbound>", c.name()))
    };
    let keys = Line::from(vec![
        Span::styled(format!(" {} ", key(Command::ConfirmYes)), theme.style(Slot::PaneTitle)),
        Span::styled("post and send · ", theme.style(Slot::Dim)),
        Span::styled(key(Command::ConfirmNo), theme.style(Slot::PaneTitle)),
        Span::styled(" back to the text ", theme.style(Slot::Dim)),
    ]);
    let block = Block::bordered()
        .border_style(theme.style(Slot::Confirm))
        .title(Span::styled(" Send status update ", theme.style(Slot::PaneTitle)))
        .title_bottom(keys);
    let inner = block.inner(rect);
    frame.render_widget(block, rect);
    let text: Vec<Line<'static>> =
        lines.iter().map(|l| Line::raw(sanitize(&redact(l)).into_owned())).collect();
    frame.render_widget(Paragraph::new(text).wrap(Wrap { trim: false }), inner);
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use chrono::{TimeZone, Utc};
    use ratatui::Terminal;
    use ratatui::backend::TestBackend;

    use super::*;
    use crate::app::state::{IncidentInfo, Mode, State};
    use crate::config::Config;
    use crate::config::model::NotifyConfig;

    #[test]
    fn the_preview_shows_each_target_and_payload_but_never_the_secret_url() {
        let target = |name: &str, kind: &str, drill: bool| NotifyConfig {
            name: name.into(),
            kind: kind.into(),
            url: Some("https://hooks.slack.com/services/T0/B0/SECRETSECRET".into()),
            drill,
            ..NotifyConfig::default()
        };
        let cfg = Config {
            notify: vec![target("ops", "slack", false), target("room", "webhook", true)],
            ..Config::default()
        };
        let now = Utc.with_ymd_and_hms(2026, 12, 6, 3, 0, 0).unwrap();
        let incident = IncidentInfo {
            id: "INC-1".into(),
            title: "db down".into(),
            severity: "SEV1".into(),
            declared_at: now,
            drill: true,
        };
        let state = State::new(Mode::Drill, incident, "ana@h".into(), Arc::new(cfg), now);
        let lines = crate::app::notify::preview(&state, "All good now");
        let mut term = Terminal::new(TestBackend::new(100, 30)).unwrap();
        let (theme, keymap) = (Theme::fallback(), Keymap::fallback());
        term.draw(|f| draw(f, f.area(), &theme, &keymap, &lines)).unwrap();
        let screen: String = term.backend().buffer().content().iter().map(|c| c.symbol()).collect();
        assert!(!screen.contains("SECRET"), "{screen}");
        assert!(screen.contains("• ops (slack) → (drill: not sent)"), "{screen}");
        assert!(screen.contains("• room (webhook) → https://hooks.slack.com/…"), "{screen}");
        assert!(screen.contains(r#"POST: {"text":"All good now"}"#), "{screen}");
        assert!(screen.contains("post and send"), "{screen}");
    }
}
