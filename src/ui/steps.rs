//! Steps pane: one line per step run, details of the selected one below.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use crate::app::step::{Stage, StepStatus};
use crate::app::{PaneId, State, StepRun};
use crate::command::Command;
use crate::config::keymap::KeyLayer;
use crate::config::theme::Slot;
use crate::operation::Operation;

use super::glyphs;
use super::panes::PaneCtx;
use super::widgets::{scroll_window, width};
use crate::text::clean;

/// Symbol and style slot of a step status (never colour alone).
pub fn status_symbol(s: &StepStatus) -> (&'static str, Slot) {
    match s {
        StepStatus::Proposed => (glyphs::PROPOSED, Slot::Text),
        StepStatus::Prechecked => (glyphs::PRECHECKED, Slot::Text),
        StepStatus::AwaitingConfirm => (glyphs::AWAITING, Slot::StatusDegraded),
        StepStatus::AwaitingApproval { .. } => (glyphs::AWAITING_APPROVAL, Slot::StatusDegraded),
        StepStatus::Executing | StepStatus::Verifying => (glyphs::PENDING, Slot::StatusDegraded),
        StepStatus::Done => (glyphs::OK, Slot::StatusHealthy),
        StepStatus::Failed { .. } => (glyphs::DOWN, Slot::StatusDown),
        StepStatus::Skipped(_) => (glyphs::SKIPPED, Slot::Dim),
        StepStatus::Aborted => (glyphs::BLOCKED, Slot::Dim),
        StepStatus::OutcomeUnknown => (glyphs::UNKNOWN_OUTCOME, Slot::StatusDown),
    }
}

/// Seconds resolvers may still answer from their cache after a done `set-weights` or
/// `shift-traffic` step: the record TTL (from the Traffic snapshot) minus the time since the step
/// finished. `None` for other steps, without a TTL, or once the TTL has run out.
pub fn cache_secs_left(state: &State, s: &StepRun) -> Option<i64> {
    if s.status != StepStatus::Done
        || !matches!(
            s.op,
            Some(
                Operation::SetRoute53Weights { .. }
                    | Operation::ShiftTraffic { .. }
                    | Operation::VerifyDns { recheck_after_secs: 0, .. }
            )
        )
    {
        return None;
    }
    let ttl = state.domain.observed.traffic.value.as_ref()?.ttl?;
    let left = i64::from(ttl) - (state.domain.now - s.finished_at?).num_seconds();
    (left > 0).then_some(left)
}

/// The key that opens the actions menu, as the empty state names it.
fn actions_key(cx: &PaneCtx<'_>) -> Option<String> {
    cx.keymap
        .key_for(KeyLayer::Steps, Command::Actions)
        .or_else(|| cx.keymap.key_for(KeyLayer::Global, Command::Actions))
}

/// Draw the Steps pane.
pub fn draw(frame: &mut Frame, area: Rect, cx: &PaneCtx<'_>) {
    let steps = &cx.state.domain.steps;
    let theme = cx.theme;
    let done = steps.iter().filter(|s| s.status == StepStatus::Done).count();
    let summary = match cx.state.domain.runbook.as_ref() {
        Some(run) => {
            let ids: Vec<u64> = run.steps.iter().map(|(id, _, _)| *id).collect();
            let finished = ids
                .iter()
                .filter(|id| cx.state.domain.step(**id).is_some_and(|s| s.status.is_terminal()))
                .count();
            match &run.finished {
                Some((_, outcome)) => format!("{} {outcome}", run.runbook.id()),
                None => format!("{} {finished}/{}", run.runbook.id(), ids.len()),
            }
        }
        None if steps.is_empty() => String::new(),
        None => format!("{done}/{} done", steps.len()),
    };
    let inner = cx.block(frame, area, PaneId::Steps, vec![Span::styled(summary, theme.style(Slot::Dim))]);
    if inner.height == 0 {
        return;
    }
    if steps.is_empty() {
        let runbooks = key_of(cx, Command::Runbooks);
        let text = match (runbooks, actions_key(cx)) {
            (Some(r), Some(a)) => format!(
                "No steps. Press {} for runbooks (guided procedures), {} for single operations.",
                clean(&r, 16),
                clean(&a, 16)
            ),
            (None, Some(a)) => format!("No steps. Press {} for proposed operations.", clean(&a, 16)),
            _ => "No steps. Open the runbook picker or the actions menu.".to_string(),
        };
        frame.render_widget(
            Paragraph::new(Line::styled(text, theme.style(Slot::Dim)))
                .wrap(ratatui::widgets::Wrap { trim: true }),
            inner,
        );
        return;
    }
    let w = usize::from(inner.width);
    let mut inner = inner;
    if let Some(line) = next_hint(cx, w) {
        let [hint, rest] = inner.layout(&Layout::vertical([Constraint::Length(1), Constraint::Fill(1)]));
        frame.render_widget(Paragraph::new(line), hint);
        inner = rest;
        if inner.height == 0 {
            return;
        }
    }
    let list_h = (steps.len() as u16).min((inner.height / 2).max(1)).min(inner.height);
    let [list_area, detail_area] =
        inner.layout(&Layout::vertical([Constraint::Length(list_h), Constraint::Fill(1)]));
    let (offset, sel) = scroll_window(cx.selected(PaneId::Steps), steps.len(), usize::from(list_h));
    let lines: Vec<Line<'static>> = steps
        .iter()
        .enumerate()
        .skip(offset)
        .take(usize::from(list_h))
        .map(|(i, s)| step_line(cx, s, i == sel, w))
        .collect();
    frame.render_widget(Paragraph::new(lines), list_area);
    if let Some(step) = steps.get(sel) {
        frame.render_widget(Paragraph::new(detail_lines(cx, step, w)), detail_area);
    }
    // Steps hidden above on the pane's top edge, below on the rule under the list.
    let (above, below) = super::scroll::hidden(offset, usize::from(list_h), steps.len());
    let (bottom, edge) =
        if detail_area.height > 0 { (detail_area.y, true) } else { (area.y + area.height - 1, !cx.compact) };
    let marks = Rect { height: bottom + 1 - area.y, ..area };
    super::scroll::draw_marks(frame, marks, edge, above, below, theme);
}

/// The key bound to `c` (steps layer first, then global).
fn key_of(cx: &PaneCtx<'_>, c: Command) -> Option<String> {
    cx.keymap.key_for(KeyLayer::Steps, c).or_else(|| cx.keymap.key_for(KeyLayer::Global, c))
}

/// "next: <title> (press N)" while a runbook runs and its next step waits for the operator.
fn next_hint(cx: &PaneCtx<'_>, w: usize) -> Option<Line<'static>> {
    let run = cx.state.domain.runbook.as_ref().filter(|r| r.active())?;
    let next = run
        .steps
        .iter()
        .find_map(|(id, _, _)| cx.state.domain.step(*id).filter(|s| !s.status.is_terminal()))?;
    let (text, slot) = match &next.status {
        StepStatus::Proposed | StepStatus::Prechecked => {
            let key = key_of(cx, Command::RunbookNext)
                .map(|k| format!(" (press {})", clean(&k, 12)))
                .unwrap_or_default();
            (format!("next: {}{key}", next.preview.title), Slot::StatusDegraded)
        }
        StepStatus::AwaitingConfirm => (format!("confirm: {}", next.preview.title), Slot::StatusDegraded),
        StepStatus::AwaitingApproval { .. } => (
            format!(
                "{}: {}",
                crate::app::approval::describe(next, cx.state.domain.now).unwrap_or_default(),
                next.preview.title
            ),
            Slot::StatusDegraded,
        ),
        StepStatus::Executing | StepStatus::Verifying => {
            (format!("{}: {}", next.status.label(), next.preview.title), Slot::StatusDegraded)
        }
        _ => (
            format!(
                "stopped at {}: retry, skip with a reason, or abort",
                next.runbook_key.as_deref().unwrap_or("?")
            ),
            Slot::StatusDown,
        ),
    };
    Some(Line::styled(clean(&text, w), cx.theme.style(slot)))
}

fn step_line(cx: &PaneCtx<'_>, s: &StepRun, selected: bool, w: usize) -> Line<'static> {
    let theme = cx.theme;
    // Verified with a warning is shown as such, never as a plain pass.
    let (sym, slot) = if s.verified_with_warning() {
        (glyphs::WARNING, Slot::StatusDegraded)
    } else {
        status_symbol(&s.status)
    };
    let key_w = cx
        .state
        .domain
        .steps
        .iter()
        .filter_map(|x| x.runbook_key.as_deref())
        .map(width)
        .max()
        .unwrap_or(0)
        .min(14);
    let head = match &s.runbook_key {
        Some(key) => {
            let key = clean(key, key_w);
            let pad = key_w.saturating_sub(width(&key));
            format!("{}#{} {key}{} ", if selected { "›" } else { " " }, s.id, " ".repeat(pad))
        }
        None => format!("{}#{} ", if selected { "›" } else { " " }, s.id),
    };
    let label = if s.verified_with_warning() { "done, warn" } else { s.status.label() };
    let status = format!("{sym} {label:<9}");
    // A runbook step that has not come up yet has no elapsed time.
    let waiting = s.runbook_key.is_some() && s.status == StepStatus::Proposed;
    let elapsed = if waiting {
        "       ".to_string()
    } else {
        format!(" {:>4}s ", s.elapsed_secs(cx.state.domain.now))
    };
    let room = w.saturating_sub(width(&head) + width(&status) + width(&elapsed));
    let line = Line::from(vec![
        Span::raw(head),
        Span::styled(status, theme.style(slot)),
        Span::styled(elapsed, theme.style(Slot::Dim)),
        Span::raw(clean(&s.preview.title, room)),
    ]);
    if selected && cx.focused { line.style(theme.style(Slot::Selection)) } else { line }
}

fn detail_lines(cx: &PaneCtx<'_>, s: &StepRun, w: usize) -> Vec<Line<'static>> {
    let theme = cx.theme;
    let line = |text: String, slot: Slot| Line::styled(clean(&text, w), theme.style(slot));
    let mut out = vec![Line::styled("─".repeat(w), theme.style(Slot::PaneBorder))];
    let failed_check = s.failed_check();
    match &s.status {
        StepStatus::Failed { stage: Stage::Precheck, .. } if failed_check.is_some() => {}
        StepStatus::Failed { stage, reason } => {
            out.push(line(format!("✗ failed at {}: {reason}", stage.as_str()), Slot::StatusDown));
        }
        StepStatus::Skipped(reason) => out.push(line(format!("↷ skipped: {reason}"), Slot::Dim)),
        StepStatus::OutcomeUnknown => out.push(line(
            "‽ outcome unknown: the console stopped while this step ran; verify before continuing".into(),
            Slot::StatusDown,
        )),
        StepStatus::AwaitingApproval { .. } => {
            let wait = crate::app::approval::describe(s, cx.state.domain.now).unwrap_or_default();
            let by = s.confirmed_by.as_deref().unwrap_or("the commander");
            out.push(line(format!("⧗ {wait}; confirmed by {by}"), Slot::StatusDegraded));
            for d in crate::app::approval::counted(s).iter().filter(|d| d.approve) {
                out.push(line(format!("  ✓ approved by {}", d.by), Slot::StatusHealthy));
            }
        }
        _ => {}
    }
    if let Some(n) = cache_secs_left(cx.state, s) {
        out.push(line(format!("resolvers may still cache the old answer for {n} s"), Slot::StatusDegraded));
    }
    if let Some(c) = failed_check {
        out.push(line(format!("✗ precheck \"{}\" failed: {}", c.name, c.detail), Slot::StatusDown));
    }
    out.push(line(format!("why: {}", s.why), Slot::Text));
    out.push(line(format!("target: {}", s.preview.target), Slot::Dim));
    if matches!(
        s.status,
        StepStatus::Proposed
            | StepStatus::Prechecked
            | StepStatus::AwaitingConfirm
            | StepStatus::AwaitingApproval { .. }
    ) {
        for l in &s.preview.lines {
            out.push(line(format!("  $ {l}"), Slot::Dim));
        }
        for c in &s.checks {
            let slot = match (c.ok, c.warning) {
                (true, false) => Slot::StatusHealthy,
                (true, true) => Slot::StatusDegraded,
                (false, _) => Slot::StatusDown,
            };
            let mark = c.symbol();
            out.push(line(format!("{mark} {}: {}", c.name, c.detail), slot));
        }
    }
    if s.attempts > 1 {
        out.push(line(format!("attempts: {}", s.attempts), Slot::Dim));
    }
    for o in s.output.iter().rev().take(8).rev() {
        out.push(line(format!("  {o}"), Slot::Text));
    }
    out
}
