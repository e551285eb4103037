//! Sending a posted status update to the `[[notify]]` targets: a preview confirmed with `y`
//! (each target, its redacted destination, the exact payload), then the `status-update` entry,
//! then [`Effect::Notify`]; each target's result comes back as [`Action::Notified`] and is
//! logged as a `notify-result` entry.
//!
//! A drill contacts only targets with `drill = true`: the others are shown and logged as
//! "drill: not sent".

use serde_json::json;

use crate::app::effect::Effect;
use crate::app::pipeline::{flash, log};
use crate::app::state::{Modal, Mode, State};
use crate::backends::notify::{Message, Outcome, destination, payload};
use crate::config::model::NotifyConfig;
use crate::incident::entry::EntryKind;

/// Result status of a target a drill does not contact.
pub const DRILL_NOT_SENT: &str = "drill: not sent";

/// Whether posting sends anywhere (then it is previewed and confirmed first).
pub fn has_targets(state: &State) -> bool {
    !state.domain.config.notify.is_empty()
}

/// Whether this console contacts `t` (a drill only contacts `drill = true` targets).
fn contacts(state: &State, t: &NotifyConfig) -> bool {
    state.domain.mode != Mode::Drill || t.drill
}

/// The message a posting at `now` sends.
fn message(state: &State, text: &str) -> Message {
    let d = &state.domain;
    Message {
        incident: d.incident.id.clone(),
        severity: d.incident.severity.clone(),
        title: d.incident.title.clone(),
        text: text.to_string(),
        operator: d.operator.clone(),
        posted_at: d.now,
    }
}

/// The preview's lines: per target its name, kind, redacted destination (or "drill: not
/// sent") and the exact payload.
pub fn preview(state: &State, text: &str) -> Vec<String> {
    let msg = message(state, text);
    let mut out = vec!["Post this status update to the incident log and send it to:".to_string()];
    for t in &state.domain.config.notify {
        let to = if contacts(state, t) { destination(t) } else { format!("({DRILL_NOT_SENT})") };
        out.push(String::new());
        out.push(format!("• {} ({}) → {to}", t.name, t.kind));
        let body = payload(&t.kind, &msg);
        let what = if t.kind == "command" { "stdin" } else { "POST" };
        out.extend(body.lines().enumerate().map(|(i, l)| {
            if i == 0 { format!("  {what}: {l}") } else { format!("  {}  {l}", " ".repeat(what.len())) }
        }));
    }
    out
}

/// Show the preview of posting `text`; `y` posts and sends, `n`/Esc returns to the composer.
pub fn open_preview(state: &mut State, label: String, text: String) {
    let lines = preview(state, &text);
    state.view.modal = Some(Modal::NotifyPreview { label, text, lines });
}

/// `y` on the preview: log the `status-update` entry first (the effects run in order), then
/// send to each target this console contacts; a drill logs the others as not sent.
pub fn confirm(state: &mut State, text: String, fx: &mut Vec<Effect>) {
    crate::app::update::post_status_update(state, text.clone(), fx);
    let targets: Vec<NotifyConfig> = state.domain.config.notify.clone();
    let (send, skip): (Vec<_>, Vec<_>) = targets.into_iter().partition(|t| contacts(state, t));
    for t in &skip {
        log_result(state, fx, &t.name, &t.kind, 0, DRILL_NOT_SENT, None);
    }
    let mut what = Vec::new();
    if !send.is_empty() {
        let names: Vec<&str> = send.iter().map(|t| t.name.as_str()).collect();
        what.push(format!("sending… to {}", names.join(", ")));
        state.view.notify = send.iter().map(|t| (t.name.clone(), "sending…".to_string())).collect();
        fx.push(Effect::Notify { targets: send, message: message(state, &text) });
    }
    if !skip.is_empty() {
        let names: Vec<&str> = skip.iter().map(|t| t.name.as_str()).collect();
        what.push(format!("{} ({DRILL_NOT_SENT})", names.join(", ")));
    }
    flash(state, format!("status update posted; {}", what.join("; ")));
}

/// One target's result arrived: logged (`notify-result`) and shown.
pub fn notified(state: &mut State, target: String, kind: String, outcome: Outcome, fx: &mut Vec<Effect>) {
    let shown = match (&outcome.ok, &outcome.error) {
        (true, _) => format!("sent ({})", outcome.status),
        (false, Some(e)) => format!("failed ({e})"),
        (false, None) => format!("failed ({})", outcome.status),
    };
    log_result(state, fx, &target, &kind, outcome.attempts, &outcome.status, outcome.error.as_deref());
    let line = format!("{target}: {shown}");
    if let Some(slot) = state.view.notify.iter_mut().find(|(n, _)| *n == target) {
        slot.1 = shown;
    }
    flash(state, crate::text::sanitize(&line).into_owned());
}

fn log_result(
    state: &State,
    fx: &mut Vec<Effect>,
    target: &str,
    kind: &str,
    attempts: u32,
    status: &str,
    error: Option<&str>,
) {
    let ok = error.is_none() && status != DRILL_NOT_SENT;
    let summary = match error {
        _ if status == DRILL_NOT_SENT => format!("status update to {target}: {DRILL_NOT_SENT}"),
        None => format!("status update sent to {target} ({status}, {attempts} attempt(s))"),
        Some(e) => format!("status update NOT sent to {target} after {attempts} attempt(s): {e}"),
    };
    let details = json!({
        "target": target, "kind": kind, "attempts": attempts, "status": status, "ok": ok, "error": error,
    });
    log(state, fx, EntryKind::NotifyResult, summary, details);
}
