//! The confirm dialog: exactly what will run, where, what else it hits, every precheck, and how
//! to confirm (or that this console cannot).

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::Modifier;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Paragraph, Wrap};

use crate::app::{State, StepRun};
use crate::command::Command;
use crate::config::keymap::KeyLayer;
use crate::config::theme::Slot;
use crate::config::{Keymap, Theme};
use crate::operation::{Operation, Risk};

use super::layout::centered;
use super::widgets::width;
use crate::text::clean;

/// Key text for a confirm-layer command, or a visible note that nothing is bound.
fn key(keymap: &Keymap, cmd: Command) -> String {
    keymap
        .key_for(KeyLayer::Confirm, cmd)
        .map(|k| clean(&k, 16))
        .unwrap_or_else(|| format!("<{} unbound>", cmd.name()))
}

fn body_lines(step: &StepRun, theme: &Theme, high: bool) -> Vec<Line<'static>> {
    let p = &step.preview;
    let label = |t: &'static str| Span::styled(t, theme.style(Slot::Dim));
    let mut out = vec![
        Line::styled(clean(&p.title, 500), theme.style(Slot::PaneTitle)),
        Line::from(vec![label("target: "), Span::raw(clean(&p.target, 500))]),
        Line::from(label("will run exactly:")),
    ];
    out.extend(p.lines.iter().map(|l| Line::raw(format!("  {}", clean(l, 2000)))));
    out.push(Line::from(vec![label("blast radius: "), Span::raw(clean(&p.blast_radius, 500))]));
    let risk = if high {
        Span::styled("HIGH: destructive or moves traffic", theme.style(Slot::ConfirmDanger))
    } else {
        Span::styled("low", theme.style(Slot::StatusHealthy))
    };
    out.push(Line::from(vec![label("risk: "), risk]));
    if step.runbook_key.is_some() && !step.why.is_empty() {
        out.push(Line::from(vec![label("why: "), Span::raw(clean(&step.why, 1000))]));
    }
    out.push(Line::from(label("prechecks:")));
    if step.checks.is_empty() {
        let (text, slot) = if step.status == crate::app::StepStatus::AwaitingConfirm {
            ("  none needed (nothing is changed)", Slot::Dim)
        } else {
            ("  ? not run yet", Slot::StatusDegraded)
        };
        out.push(Line::styled(text, theme.style(slot)));
    }
    for c in &step.checks {
        let slot = match (c.ok, c.warning) {
            (true, false) => Slot::StatusHealthy,
            (true, true) => Slot::StatusDegraded,
            (false, _) => Slot::StatusDown,
        };
        let sym = c.symbol();
        out.push(Line::from(vec![
            Span::styled(format!("  {sym} {}: ", clean(&c.name, 60)), theme.style(slot)),
            Span::styled(
                clean(&c.detail, 500),
                theme.style(if c.ok && !c.warning { Slot::Text } else { slot }),
            ),
        ]));
    }
    out
}

fn action_lines(
    state: &State,
    keymap: &Keymap,
    step: &StepRun,
    typed: &str,
    theme: &Theme,
) -> Vec<Line<'static>> {
    let mut out = Vec::new();
    let failed = step.checks.iter().filter(|c| !c.ok).count();
    if failed > 0 {
        let text = format!("✗ {failed} precheck{} FAILED", if failed == 1 { "" } else { "s" });
        out.push(Line::styled(text, theme.style(Slot::StatusDown)));
    }
    let cancel = key(keymap, Command::ConfirmNo);
    if state.domain.read_only {
        out.push(Line::styled(
            "READ-ONLY console: confirmation is disabled",
            theme.style(Slot::BadgeReadOnly),
        ));
        out.push(Line::styled(format!("{cancel} close"), theme.style(Slot::Dim)));
        return out;
    }
    if step.risk() == Risk::High {
        let expected = step.op.as_ref().map(Operation::confirm_word).unwrap_or_default();
        let word = clean(&expected, 60);
        out.push(Line::from(vec![
            Span::styled("type ", theme.style(Slot::ConfirmDanger)),
            Span::styled(word.clone(), theme.style(Slot::ConfirmDanger).add_modifier(Modifier::UNDERLINED)),
            Span::styled(" and press Enter", theme.style(Slot::ConfirmDanger)),
            // Typed text takes every printable key, so only Esc cancels here.
            Span::styled(" · esc cancel", theme.style(Slot::Dim)),
        ]));
        let typed_clean = clean(typed, 60);
        let verdict = if typed == expected {
            Span::styled("  ✓ matches", theme.style(Slot::StatusHealthy))
        } else if !typed.is_empty() && !expected.starts_with(typed) {
            Span::styled("  ✗ does not match", theme.style(Slot::StatusDown))
        } else {
            Span::raw("")
        };
        out.push(Line::from(vec![
            Span::styled("> ", theme.style(Slot::ConfirmDanger)),
            Span::styled(typed_clean, theme.style(Slot::Text)),
            Span::styled("█", theme.style(Slot::Text)),
            verdict,
        ]));
    } else {
        let yes = key(keymap, Command::ConfirmYes);
        out.push(Line::from(vec![
            Span::styled(yes, theme.style(Slot::PaneTitle)),
            Span::styled(" confirm · ", theme.style(Slot::Dim)),
            Span::styled(cancel, theme.style(Slot::PaneTitle)),
            Span::styled(" cancel", theme.style(Slot::Dim)),
        ]));
    }
    out
}

/// Rows a set of lines takes when wrapped to `w` columns.
fn wrapped_rows(lines: &[Line<'_>], w: u16) -> u16 {
    let w = usize::from(w.max(1));
    lines.iter().map(|l| width(&l.to_string()).div_ceil(w).max(1)).sum::<usize>().min(usize::from(u16::MAX))
        as u16
}

/// Draw the confirm dialog for step `step_id` over `area`.
pub fn draw(
    frame: &mut Frame,
    area: Rect,
    state: &State,
    theme: &Theme,
    keymap: &Keymap,
    step_id: u64,
    typed: &str,
) {
    let Some(step) = state.domain.step(step_id) else {
        let rect = centered(area, 50, 3);
        frame.render_widget(Clear, rect);
        let block = Block::bordered().border_style(theme.style(Slot::Confirm)).title(" Confirm ");
        let text = format!("step #{step_id} no longer exists");
        frame.render_widget(Paragraph::new(text).block(block), rect);
        return;
    };
    let high = step.risk() == Risk::High;
    let slot = if high { Slot::ConfirmDanger } else { Slot::Confirm };
    let w = area.width.saturating_sub(4).min(100);
    let body = body_lines(step, theme, high);
    let actions = action_lines(state, keymap, step, typed, theme);
    let inner_w = w.saturating_sub(2);
    let body_h = wrapped_rows(&body, inner_w);
    let actions_h = wrapped_rows(&actions, inner_w);
    let h = (body_h + actions_h + 3).min(area.height.saturating_sub(2).max(3));
    let rect = centered(area, w, h);
    frame.render_widget(Clear, rect);
    let title = format!(" Confirm step #{}: {} ", step.id, if high { "HIGH RISK" } else { "low risk" });
    let block = Block::default()
        .borders(Borders::ALL)
        .border_style(theme.style(slot))
        .title(Span::styled(title, theme.style(slot)));
    let inner = block.inner(rect);
    frame.render_widget(block, rect);
    let [body_area, _, actions_area] = inner.layout(&Layout::vertical([
        Constraint::Fill(1),
        Constraint::Length(u16::from(inner.height > actions_h + 1)),
        Constraint::Length(actions_h.min(inner.height)),
    ]));
    frame.render_widget(Paragraph::new(body).wrap(Wrap { trim: false }), body_area);
    frame.render_widget(Paragraph::new(actions).wrap(Wrap { trim: false }), actions_area);
}

/// Draw the y/n confirmation of an irreversible key: `what` happens on `y`.
pub fn draw_key(frame: &mut Frame, area: Rect, theme: &Theme, keymap: &Keymap, what: &str) {
    let w = area.width.saturating_sub(4).min(80);
    // One line per line of `what` (an approval shows the preview's exact calls).
    let what: Vec<Line> =
        what.lines().map(|l| Line::styled(clean(l, 1000), theme.style(Slot::Text))).collect();
    let keys = Line::from(vec![
        Span::styled(key(keymap, Command::ConfirmYes), theme.style(Slot::PaneTitle)),
        Span::styled(" do it · ", theme.style(Slot::Dim)),
        Span::styled(key(keymap, Command::ConfirmNo), theme.style(Slot::PaneTitle)),
        Span::styled(" cancel (nothing happens)", theme.style(Slot::Dim)),
    ]);
    let rows = wrapped_rows(&what, w.saturating_sub(2)) + 4;
    let rect = centered(area, w, rows.min(area.height));
    frame.render_widget(Clear, rect);
    let block = Block::bordered()
        .border_style(theme.style(Slot::ConfirmDanger))
        .title(Span::styled(" Are you sure? ", theme.style(Slot::ConfirmDanger)));
    let inner = block.inner(rect);
    frame.render_widget(block, rect);
    let mut lines = what;
    lines.extend([Line::raw(""), keys]);
    frame.render_widget(Paragraph::new(lines).wrap(Wrap { trim: false }), inner);
}
