//! The footer line (key hints, flash, warnings count) and the warning line above it.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Wrap};

use crate::app::step::StepStatus;
use crate::app::{Modal, PaneId, State};
use crate::command::Command;
use crate::config::keymap::KeyLayer;
use crate::config::theme::Slot;
use crate::config::{Keymap, Theme};
use crate::operation::Risk;

use super::widgets::width;
use crate::text::clean;

/// The keymap layer of the focused pane.
pub fn pane_layer(pane: PaneId) -> KeyLayer {
    match pane {
        PaneId::Steps => KeyLayer::Steps,
        PaneId::Checklist => KeyLayer::Checklist,
        _ => KeyLayer::Pane,
    }
}

/// Key hints (`key`, `what`) for what is on top: the modal, or the focused pane plus global keys.
/// Only commands that have a key in the active keymap are listed.
pub fn hints(state: &State, keymap: &Keymap) -> Vec<(String, &'static str)> {
    let (layer, wanted, fallback): (KeyLayer, &[(Command, &'static str)], bool) = match &state.view.modal {
        Some(Modal::Verdict) => (KeyLayer::Help, &[(Command::Close, "close")], false),
        Some(Modal::Help) => (
            KeyLayer::Help,
            &[(Command::ScrollDown, "scroll"), (Command::PageDown, "page"), (Command::Close, "close")],
            false,
        ),
        Some(Modal::Actions { .. } | Modal::Runbooks { .. } | Modal::Inject { .. }) => (
            KeyLayer::Actions,
            &[(Command::ScrollDown, "next"), (Command::Select, "choose"), (Command::Close, "close")],
            false,
        ),
        Some(Modal::Confirm { step, .. }) => {
            let high = state.domain.step(*step).is_some_and(|s| s.risk() == Risk::High);
            if high {
                // Every printable key is typed into the name: only Esc cancels here.
                return vec![("type name".to_string(), "then Enter"), ("esc".to_string(), "cancel")];
            }
            (KeyLayer::Confirm, &[(Command::ConfirmYes, "confirm"), (Command::ConfirmNo, "cancel")], false)
        }
        Some(Modal::Prompt { .. }) => {
            return vec![("Enter".to_string(), "submit"), ("Esc".to_string(), "cancel")];
        }
        Some(Modal::Composer { .. }) => {
            return vec![
                (crate::app::composer::POST_KEY.to_string(), "post"),
                ("Enter".to_string(), "new line"),
                ("Esc".to_string(), "cancel"),
            ];
        }
        Some(Modal::NotifyPreview { .. }) => (
            KeyLayer::Confirm,
            &[(Command::ConfirmYes, "post and send"), (Command::ConfirmNo, "back")],
            false,
        ),
        Some(Modal::ConfirmKey { .. }) => {
            (KeyLayer::Confirm, &[(Command::ConfirmYes, "do it"), (Command::ConfirmNo, "cancel")], false)
        }
        None if state.view.swallow.is_some() => {
            return vec![("typing".to_string(), "ignored"), ("esc".to_string(), "keys act again")];
        }
        Some(Modal::TakeCommand { .. }) => {
            (KeyLayer::Confirm, &[(Command::ConfirmYes, "take over"), (Command::ConfirmNo, "cancel")], false)
        }
        None if state.domain.facilitation.facilitator => (
            KeyLayer::Global,
            &[
                (Command::Help, "help"),
                (Command::FacilitatorPause, "pause/resume"),
                (Command::FacilitatorInject, "inject"),
                (Command::FacilitatorHint, "next hint"),
                (Command::FacilitatorHintText, "write hint"),
                (Command::FacilitatorEnd, "end drill"),
                (Command::FocusNext, "next pane"),
                (Command::Quit, "quit"),
            ],
            true,
        ),
        None => {
            let layer = pane_layer(state.view.focus);
            let wanted: &[(Command, &'static str)] = match layer {
                KeyLayer::Steps => &[
                    (Command::Help, "help"),
                    (Command::StepRun, "run"),
                    (Command::StepRetry, "retry"),
                    (Command::StepSkip, "skip"),
                    (Command::StepAbort, "abort"),
                    (Command::Actions, "actions"),
                    (Command::FocusNext, "next pane"),
                    (Command::Quit, "quit"),
                ],
                KeyLayer::Checklist if selected_ticked(state) => &[
                    (Command::Help, "help"),
                    (Command::ChecklistTick, "untick"),
                    (Command::Note, "note"),
                    (Command::Actions, "actions"),
                    (Command::FocusNext, "next pane"),
                    (Command::Quit, "quit"),
                ],
                KeyLayer::Checklist => &[
                    (Command::Help, "help"),
                    (Command::ChecklistTick, "tick"),
                    (Command::Note, "note"),
                    (Command::Actions, "actions"),
                    (Command::FocusNext, "next pane"),
                    (Command::Quit, "quit"),
                ],
                _ => &[
                    (Command::Help, "help"),
                    (Command::Actions, "actions"),
                    (Command::FocusNext, "next pane"),
                    (Command::Zoom, "zoom"),
                    (Command::Note, "note"),
                    (Command::Quit, "quit"),
                ],
            };
            (layer, wanted, true)
        }
    };
    // Someone else (or nobody) holds the commander lock: say how to take it, first.
    let take = (state.view.modal.is_none()
        && !state.domain.read_only
        && !state.domain.facilitation.facilitator
        && !state.domain.commander.held_by_me(state.domain.now)
        && state.domain.commander.is_wired())
    .then(|| keymap.key_for(KeyLayer::Global, Command::TakeCommand).map(|k| (k, "take command")))
    .flatten();
    let forward =
        if state.view.modal.is_none() && state.view.swallow.is_none() { forward(state) } else { Vec::new() };
    let wanted: Vec<(Command, &'static str)> = forward
        .iter()
        .copied()
        .chain(wanted.iter().copied().filter(|(c, _)| !forward.iter().any(|(f, _)| f == c)))
        .collect();
    take.into_iter()
        .chain(wanted.iter().filter_map(|(cmd, what)| {
            let key = keymap
                .key_for(layer, *cmd)
                .or_else(|| if fallback { keymap.key_for(KeyLayer::Global, *cmd) } else { None })?;
            Some((key, *what))
        }))
        .collect()
}

/// The Checklist pane's selected item is a ticked one-off: its tick key unticks it.
fn selected_ticked(state: &State) -> bool {
    let i = state.view.selected[PaneId::Checklist.index()];
    state.domain.checklist.items.get(i).is_some_and(|it| it.done.is_some() && !it.is_recurring())
}

/// The keys that move the incident forward now, most urgent first: start a runbook when none
/// runs; bring up the next step of the running one (which also selects a failed step and says
/// what to do); in the Steps pane, retry or skip its failed step. Nothing for
/// a read-only console, the facilitator, or a resolved incident.
pub fn forward(state: &State) -> Vec<(Command, &'static str)> {
    let d = &state.domain;
    if d.read_only || d.facilitation.facilitator || d.resolved.is_some() {
        return Vec::new();
    }
    let Some(run) = d.runbook.as_ref().filter(|r| r.active()) else {
        return vec![(Command::Runbooks, "runbooks")];
    };
    let current = run.steps.iter().find_map(|(sid, _, _)| d.step(*sid).filter(|s| !s.status.is_terminal()));
    match current.map(|s| &s.status) {
        Some(StepStatus::Executing | StepStatus::Verifying) => Vec::new(),
        Some(StepStatus::Failed { .. } | StepStatus::OutcomeUnknown) if state.view.focus == PaneId::Steps => {
            vec![(Command::StepRetry, "retry step"), (Command::StepSkip, "skip step")]
        }
        _ => vec![(Command::RunbookNext, "next step")],
    }
}

/// Draw the footer: hints on the left, flash and warnings count on the right.
pub fn draw(frame: &mut Frame, area: Rect, state: &State, theme: &Theme, keymap: &Keymap) {
    let avail = usize::from(area.width);
    let mut right: Vec<Span<'static>> = Vec::new();
    if let Some((msg, _)) = &state.view.flash {
        // A refusal must be read whole: the flash may take all but a few hints' room.
        right.push(Span::styled(
            clean(msg, avail.saturating_sub(24).max(avail / 2)),
            theme.style(Slot::StatusDegraded),
        ));
    }
    if !state.domain.warnings.is_empty() {
        let n = state.domain.warnings.len();
        let text = format!(" ! {n} warning{}", if n == 1 { "" } else { "s" });
        right.push(Span::styled(text, theme.style(Slot::Warning)));
    }
    let right_w: usize = right.iter().map(|s| width(&s.content)).sum();

    let mut left: Vec<Span<'static>> = Vec::new();
    let mut used = 0;
    let room = avail.saturating_sub(if right_w > 0 { right_w + 2 } else { 0 });
    for (key, what) in hints(state, keymap) {
        let key = clean(&key, 16);
        let sep = if left.is_empty() { "" } else { " · " };
        let w = width(sep) + width(&key) + 1 + width(what);
        if used + w > room {
            break;
        }
        used += w;
        left.push(Span::styled(sep, theme.style(Slot::Dim)));
        left.push(Span::styled(key, theme.style(Slot::PaneTitle)));
        left.push(Span::styled(format!(" {what}"), theme.style(Slot::Dim)));
    }
    left.push(Span::raw(" ".repeat(avail.saturating_sub(used + right_w))));
    left.extend(right);
    frame.render_widget(Paragraph::new(Line::from(left)), area);
}

/// Hints the trainees' hint box shows: the latest two.
const HINT_ROWS: usize = 2;

/// Rows of the hint box (0 before the first hint).
pub fn hint_rows(state: &State) -> u16 {
    state.domain.facilitation.hints.len().min(HINT_ROWS) as u16
}

/// Draw the hint box (latest hints, one row each) and the first warning in full (sanitized),
/// with how many more there are.
pub fn draw_warning(frame: &mut Frame, area: Rect, state: &State, theme: &Theme) {
    let hints = &state.domain.facilitation.hints;
    let n = usize::from(hint_rows(state));
    for (row, h) in hints[hints.len() - n..].iter().enumerate() {
        let r = Rect { y: area.y + row as u16, height: 1, ..area };
        let text = clean(&h.text, usize::from(area.width).saturating_sub(12));
        let line = Line::from(vec![
            Span::styled(format!(" HINT {} ", h.n), theme.style(Slot::Alarm)),
            Span::raw(" "),
            Span::styled(text, theme.style(Slot::Warning)),
        ]);
        frame.render_widget(Paragraph::new(line), r);
    }
    let area = Rect { y: area.y + n as u16, height: area.height.saturating_sub(n as u16), ..area };
    let Some(first) = state.domain.warnings.first() else { return };
    let more = state.domain.warnings.len() - 1;
    let suffix = if more > 0 { format!(" (+{more} more)") } else { String::new() };
    let room = (usize::from(area.width) * usize::from(area.height)).saturating_sub(width(&suffix) + 2);
    let line = Line::from(vec![
        Span::styled("! ", theme.style(Slot::Warning)),
        Span::styled(clean(first, room), theme.style(Slot::Warning)),
        Span::styled(suffix, theme.style(Slot::Dim)),
    ]);
    frame.render_widget(Paragraph::new(line).wrap(Wrap { trim: false }), area);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::app::tests::{primary_down_state, t0};

    #[test]
    fn the_checklist_hint_says_untick_on_a_ticked_item() {
        let keymap = Keymap::preset("default").expect("default keymap");
        let mut s = primary_down_state();
        s.view.focus = PaneId::Checklist;
        let tick = |s: &State| hints(s, &keymap).into_iter().find(|(k, _)| k == "enter").map(|(_, w)| w);
        assert_eq!(tick(&s), Some("tick"));
        s.domain.checklist.tick("alert-oncall", t0(), None).unwrap();
        assert_eq!(tick(&s), Some("untick"));
        // A recurring item is ticked again (a posting), never unticked.
        let i = s.domain.checklist.items.iter().position(|i| i.id == "status-updates").unwrap();
        s.view.selected[PaneId::Checklist.index()] = i;
        s.domain.checklist.record_status_update(t0());
        assert_eq!(tick(&s), Some("tick"));
    }
}
