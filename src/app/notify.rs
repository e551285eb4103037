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

/// This console's own entry `line` is durable: tick the checklist item it completes, if any
/// ([`crate::incident::checklist::auto`]), as a `checklist` entry linked to it. Mirrored
/// entries (other consoles') never come here, so one console ticks.
pub fn auto_tick(state: &mut State, line: &crate::incident::entry::LogLine, fx: &mut Vec<Effect>) {
    use crate::incident::checklist::auto;
    let d = &state.domain;
    if let Some(id) = auto::unticked_by(&d.checklist, &line.kind) {
        if state.domain.checklist.untick(id).is_ok() {
            let what = state.domain.checklist.item(id).map_or(id.to_string(), |i| i.text.clone());
            let note = format!("reopened by {} #{}", line.kind.as_str(), line.seq);
            let by = json!({ "seq": line.seq, "kind": line.kind });
            let details = json!({ "item": id, "undone": true, "note": note, "by": by });
            log(state, fx, EntryKind::Checklist, format!("checklist: unticked {what} ({note})"), details);
        }
        return;
    }
    let Some(id) = auto::ticked_by(&d.checklist, d.checklist_t0(), &line.kind, line.at) else { return };
    let note = auto::by_note(&line.kind, line.seq);
    if state.domain.checklist.tick(id, line.at, Some(note.clone())).is_err() {
        return;
    }
    let what = state.domain.checklist.item(id).map_or(id.to_string(), |i| i.text.clone());
    let by = json!({ "seq": line.seq, "kind": line.kind });
    let details = json!({ "item": id, "note": null, "by": by });
    log(state, fx, EntryKind::Checklist, format!("checklist: {what} ({note})"), details);
}

#[cfg(test)]
mod tests {
    use chrono::Duration;

    use super::*;
    use crate::app::tests::{primary_down_state, t0};
    use crate::app::{Action, update};
    use crate::incident::checklist::auto::BEGIN_FAILOVER;
    use crate::incident::entry::{Entry, LogLine};

    fn line(seq: u64, kind: EntryKind, mins: i64) -> LogLine {
        LogLine { seq, at: t0() + Duration::minutes(mins), operator: "a@h".into(), kind, summary: "x".into() }
    }

    fn ticks(fx: &[Effect]) -> Vec<serde_json::Value> {
        fx.iter()
            .filter_map(|e| match e {
                Effect::Log(i) if i.kind == EntryKind::Checklist => Some(i.details.clone()),
                _ => None,
            })
            .collect()
    }

    #[test]
    fn only_the_console_that_wrote_the_entry_ticks_and_it_links_the_entry() {
        // Console A wrote `runbook-started` #12: it ticks begin-failover, linked to #12.
        let mut a = primary_down_state();
        let fx = update(&mut a, Action::Logged(line(12, EntryKind::RunbookStarted, 2)), t0());
        assert_eq!(
            ticks(&fx),
            [json!({"item": BEGIN_FAILOVER, "note": null, "by": {"seq": 12, "kind": "runbook-started"}})]
        );
        let summary = fx.iter().find_map(|e| match e {
            Effect::Log(i) if i.kind == EntryKind::Checklist => Some(i.summary.clone()),
            _ => None,
        });
        assert_eq!(
            summary.as_deref(),
            Some("checklist: Begin the failover procedure (✓ by runbook-started #12)")
        );
        let done = a.domain.checklist.item(BEGIN_FAILOVER).unwrap().done.clone();
        assert_eq!(done.and_then(|d| d.1).as_deref(), Some("✓ by runbook-started #12"));
        // A second runbook does not tick it again.
        let fx = update(&mut a, Action::Logged(line(20, EntryKind::RunbookStarted, 3)), t0());
        assert!(ticks(&fx).is_empty());
        // Console B sees the same entry mirrored: it writes no tick.
        let mut b = primary_down_state();
        let e = Entry {
            seq: 12,
            ts: t0() + Duration::minutes(2),
            operator: "a@h".into(),
            kind: EntryKind::RunbookStarted,
            summary: "x".into(),
            details: json!({}),
            mono_ms: 0,
            prev: "0".repeat(64),
        };
        let fx = update(&mut b, Action::Mirrored(Box::new(e)), t0());
        assert!(ticks(&fx).is_empty(), "{fx:?}");
    }

    #[test]
    fn a_withdrawn_mitigation_reopens_the_stability_item_it_had_ticked() {
        use crate::incident::checklist::auto::VERIFY_STABILITY;
        let mut a = primary_down_state();
        let fx = update(&mut a, Action::Logged(line(50, EntryKind::DrillResult, 9)), t0());
        assert_eq!(
            ticks(&fx),
            [json!({"item": VERIFY_STABILITY, "note": null, "by": {"seq": 50, "kind": "drill-result"}})]
        );
        let fx = update(&mut a, Action::Logged(line(55, EntryKind::MitigationWithdrawn, 10)), t0());
        assert_eq!(
            ticks(&fx),
            [json!({
                "item": VERIFY_STABILITY, "undone": true, "note": "reopened by mitigation-withdrawn #55",
                "by": {"seq": 55, "kind": "mitigation-withdrawn"}
            })]
        );
        assert!(a.domain.checklist.item(VERIFY_STABILITY).unwrap().done.is_none(), "open again");
        // Mitigated again later: ticked again by the new result.
        let fx = update(&mut a, Action::Logged(line(70, EntryKind::DrillResult, 14)), t0());
        assert_eq!(ticks(&fx).len(), 1);
        assert!(a.domain.checklist.item(VERIFY_STABILITY).unwrap().done.is_some());
    }

    #[test]
    fn a_resumed_log_restores_the_automatic_tick_with_its_link() {
        let mut c = crate::incident::checklist::Checklist::communication();
        let e = Entry {
            seq: 13,
            ts: t0(),
            mono_ms: 0,
            operator: "a@h".into(),
            kind: EntryKind::Checklist,
            summary: "x".into(),
            details: json!({"item": BEGIN_FAILOVER, "note": null, "by": {"seq": 12, "kind": "runbook-started"}}),
            prev: "0".repeat(64),
        };
        assert!(c.apply_entries(&[e]).is_empty());
        let done = c.item(BEGIN_FAILOVER).unwrap().done.clone().and_then(|d| d.1);
        assert_eq!(done.as_deref(), Some("✓ by runbook-started #12"));
    }
}
