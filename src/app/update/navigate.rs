//! Moving around the screen: help, the verdict, focus, zoom, scrolling lists and panes, closing.

use crate::app::effect::Effect;
use crate::app::guard;
use crate::app::pipeline;
use crate::app::state::{Modal, PaneId, State};
use crate::command::Command;

/// How far the help scrolls before the ui said where its last page starts ([`crate::app::Action::HelpLimit`]).
const HELP_LIMIT_UNKNOWN: usize = 500;

/// Run a navigation command.
pub(super) fn run(state: &mut State, c: Command, fx: &mut Vec<Effect>) {
    let view = &mut state.view;
    match c {
        Command::Help => {
            view.modal = if view.modal == Some(Modal::Help) { None } else { Some(Modal::Help) };
            view.help_scroll = 0;
        }
        Command::Close => close(state, fx),
        Command::Verdict => {
            view.modal = if view.modal == Some(Modal::Verdict) { None } else { Some(Modal::Verdict) };
        }
        Command::FocusNext | Command::FocusPrev => {
            let n = PaneId::ALL.len();
            let i = view.focus.index();
            let j = if c == Command::FocusNext { (i + 1) % n } else { (i + n - 1) % n };
            view.focus = PaneId::ALL[j];
        }
        Command::FocusPods => view.focus = PaneId::Pods,
        Command::FocusDatabase => view.focus = PaneId::Database,
        Command::FocusSentinel => view.focus = PaneId::Sentinel,
        Command::FocusTraffic => view.focus = PaneId::Traffic,
        Command::FocusSteps => view.focus = PaneId::Steps,
        Command::FocusChecklist => view.focus = PaneId::Checklist,
        Command::FocusLog => view.focus = PaneId::Log,
        Command::Zoom => view.zoomed = !view.zoomed,
        Command::ScrollUp => scroll(state, -1),
        Command::ScrollDown => scroll(state, 1),
        Command::PageUp => scroll(state, -10),
        Command::PageDown => scroll(state, 10),
        Command::ScrollTop => scroll(state, i64::MIN / 2),
        Command::ScrollBottom => scroll(state, i64::MAX / 2),
        _ => {}
    }
}

/// Esc: close the open layer (cancelling a confirmation), or with nothing open leave zoom and
/// dismiss the message.
fn close(state: &mut State, fx: &mut Vec<Effect>) {
    match state.view.modal.take() {
        Some(Modal::Confirm { step, .. }) => pipeline::cancel_confirm(state, step, fx),
        Some(Modal::ConfirmKey { .. }) => guard::cancel(state),
        Some(preview @ Modal::NotifyPreview { .. }) => {
            state.view.modal = Some(preview);
            super::commands::back_to_composer(state);
        }
        Some(_) => {}
        None => {
            state.view.zoomed = false;
            state.view.flash = None;
        }
    }
}

/// Rows in `pane`.
fn row_count(state: &State, pane: PaneId) -> usize {
    let d = &state.domain;
    let o = &d.observed;
    match pane {
        PaneId::Pods => o.kube.value.as_ref().map_or(0, |k| k.pods.len()),
        PaneId::Database => o.database.value.as_ref().map_or(0, |d| d.nodes.len()),
        PaneId::Sentinel => {
            o.sentinel.value.as_ref().map_or(0, |s| s.sentinels.len() + s.replicas.len() + s.events.len())
        }
        PaneId::Traffic => o.traffic.value.as_ref().map_or(0, |t| t.regions.len()),
        PaneId::Steps => d.steps.len(),
        PaneId::Checklist => d.checklist.items.len(),
        PaneId::Log => d.log_tail.len(),
    }
}

/// Move the highlight of the open list, the help's scroll, or the focused pane's selection.
fn scroll(state: &mut State, delta: i64) {
    if let Some(Modal::Runbooks { selected }) = &state.view.modal {
        let entries = super::super::runbook_flow::picker_entries(state);
        let at = entries.iter().position(|e| &e.id == selected).unwrap_or(0);
        if let Some(e) = entries.get(clamp_add(at, delta, entries.len())) {
            state.view.modal = Some(Modal::Runbooks { selected: e.id.clone() });
        }
        return;
    }
    match &mut state.view.modal {
        Some(Modal::Actions { items, selected }) => {
            *selected = clamp_add(*selected, delta, items.len());
        }
        Some(Modal::Inject { stage, selected }) => {
            *selected = clamp_add(*selected, delta, crate::app::facilitator::inject_items(stage).len());
        }
        Some(Modal::Help) => {
            let limit = state.view.help_limit.unwrap_or(HELP_LIMIT_UNKNOWN);
            state.view.help_scroll = clamp_add(state.view.help_scroll, delta, limit + 1);
        }
        Some(_) => {}
        None => {
            let n = row_count(state, state.view.focus);
            let i = state.view.focus.index();
            state.view.selected[i] = clamp_add(state.view.selected[i], delta, n);
        }
    }
}

fn clamp_add(v: usize, delta: i64, len: usize) -> usize {
    if len == 0 {
        return 0;
    }
    (v as i64).saturating_add(delta).clamp(0, len as i64 - 1) as usize
}

#[cfg(test)]
mod tests {
    use crate::app::state::Modal;
    use crate::app::tests::{primary_down_state, t0};
    use crate::app::{Action, State, update};
    use crate::command::Command;

    fn key(s: &mut State, c: Command) -> usize {
        update(s, Action::Command(c), t0());
        s.view.help_scroll
    }

    #[test]
    fn help_scrolling_stops_at_the_last_page_so_a_key_back_always_moves() {
        let mut s = primary_down_state();
        key(&mut s, Command::Help);
        assert_eq!(s.view.modal, Some(Modal::Help));
        // The ui said where the last page starts at this size (120 lines, 20 shown: 100).
        update(&mut s, Action::HelpLimit(100), t0());
        assert_eq!(key(&mut s, Command::ScrollBottom), 100);
        assert_eq!(key(&mut s, Command::ScrollDown), 100, "no overscroll past the last page");
        assert_eq!(key(&mut s, Command::ScrollUp), 99, "one key up moves at once");
        assert_eq!(key(&mut s, Command::PageDown), 100);
        for _ in 0..30 {
            key(&mut s, Command::ScrollDown);
        }
        assert_eq!(key(&mut s, Command::PageUp), 90);
        // A bigger terminal shows more: the offset comes back under the new limit at once.
        update(&mut s, Action::HelpLimit(40), t0());
        assert_eq!(s.view.help_scroll, 40);
        assert_eq!(key(&mut s, Command::ScrollUp), 39);
        // Everything fits: nothing to scroll.
        update(&mut s, Action::HelpLimit(0), t0());
        assert_eq!(key(&mut s, Command::ScrollDown), 0);
        // Closed and opened again: from the top, the limit kept for the size.
        key(&mut s, Command::Help);
        key(&mut s, Command::Help);
        assert_eq!((s.view.help_scroll, s.view.help_limit), (0, Some(0)));
    }

    #[test]
    fn before_the_ui_says_the_size_the_help_still_scrolls_back_from_its_cap() {
        let mut s = primary_down_state();
        key(&mut s, Command::Help);
        assert_eq!(key(&mut s, Command::ScrollBottom), super::HELP_LIMIT_UNKNOWN);
        assert_eq!(key(&mut s, Command::ScrollUp), super::HELP_LIMIT_UNKNOWN - 1);
    }
}
