//! The checklist from the operator's keys: ticking, unticking (a reason, then y/n, logged),
//! what a read-only console may not do, and a log replay restoring it all.

use chrono::{DateTime, Duration, Utc};
use serde_json::json;

use super::tests::{primary_down_state, t0, typed};
use super::{Action, Effect, State, update};
use crate::app::state::{Modal, PaneId, PromptPurpose};
use crate::command::Command;
use crate::incident::checklist::Checklist;
use crate::incident::checklist::auto::BEGIN_FAILOVER;
use crate::incident::entry::{Entry, EntryKind, LogLine};

fn at(m: i64) -> DateTime<Utc> {
    t0() + Duration::minutes(m)
}

/// Select checklist item `id` and press the tick key.
fn press_tick(s: &mut State, id: &str, now: DateTime<Utc>) -> Vec<Effect> {
    s.view.focus = PaneId::Checklist;
    s.view.selected[PaneId::Checklist.index()] =
        s.domain.checklist.items.iter().position(|i| i.id == id).expect("item");
    update(s, Action::Command(Command::ChecklistTick), now)
}

fn checklist_logs(fx: &[Effect]) -> Vec<serde_json::Value> {
    fx.iter()
        .filter_map(|e| match e {
            Effect::Log(l) if l.kind == EntryKind::Checklist => Some(l.details.clone()),
            _ => None,
        })
        .collect()
}

/// The entries the effects' log intents would append.
fn entries(fx: &[Effect], seq: &mut u64, ts: DateTime<Utc>) -> Vec<Entry> {
    fx.iter()
        .filter_map(|e| match e {
            Effect::Log(l) => Some(l),
            _ => None,
        })
        .map(|l| {
            *seq += 1;
            Entry {
                seq: *seq,
                ts,
                mono_ms: 0,
                operator: "alice@host".into(),
                kind: l.kind.clone(),
                summary: l.summary.clone(),
                details: l.details.clone(),
                prev: "0".repeat(64),
            }
        })
        .collect()
}

fn done(s: &State, id: &str) -> bool {
    s.domain.checklist.item(id).expect("item").done.is_some()
}

#[test]
fn the_tick_key_unticks_a_ticked_item_after_a_reason_and_y_state_by_state() {
    let mut s = primary_down_state();
    let mut seq = 0;
    let mut log = Vec::new();
    // Open item: the key ticks (with a note).
    press_tick(&mut s, "alert-oncall", at(1));
    assert!(matches!(&s.view.modal, Some(Modal::Prompt { purpose: PromptPurpose::ChecklistNote(_), .. })));
    let fx = typed(&mut s, "paged", at(1));
    assert_eq!(checklist_logs(&fx), [json!({ "item": "alert-oncall", "note": "paged" })]);
    log.extend(entries(&fx, &mut seq, at(1)));
    assert!(done(&s, "alert-oncall"));
    // Ticked item: the key asks why, then y/n; `n` leaves it ticked and logs nothing.
    press_tick(&mut s, "alert-oncall", at(2));
    match &s.view.modal {
        Some(Modal::Prompt { purpose: PromptPurpose::ChecklistUntick(id), label, .. }) => {
            assert_eq!(id, "alert-oncall");
            assert!(label.starts_with("Untick 'Alert the on-call team'"), "{label}");
        }
        other => panic!("expected the untick prompt, got {other:?}"),
    }
    let fx = typed(&mut s, "wrong team", at(2));
    assert!(fx.is_empty(), "{fx:?}");
    match &s.view.modal {
        Some(Modal::ConfirmKey { what, .. }) => {
            assert!(what.starts_with("Untick 'Alert the on-call team', ticked at"), "{what}");
            assert!(what.contains("(paged)") && what.contains("\"wrong team\""), "{what}");
        }
        other => panic!("expected y/n, got {other:?}"),
    }
    let fx = update(&mut s, Action::Command(Command::ConfirmNo), at(2));
    assert!(checklist_logs(&fx).is_empty());
    assert!(done(&s, "alert-oncall"), "n keeps the tick");
    // Again, and `y`: open again, logged as an untick with the reason.
    press_tick(&mut s, "alert-oncall", at(3));
    typed(&mut s, "wrong team", at(3));
    let fx = update(&mut s, Action::Command(Command::ConfirmYes), at(3));
    assert_eq!(
        checklist_logs(&fx),
        [json!({ "item": "alert-oncall", "undone": true, "note": "wrong team" })]
    );
    log.extend(entries(&fx, &mut seq, at(3)));
    assert!(!done(&s, "alert-oncall"));
    assert!(s.view.modal.is_none());
    // Overdue again once its time passes (the phase is due at T+5m).
    assert_eq!(
        s.domain.checklist.overdue(t0(), at(6)),
        ["alert-oncall", "start-incident-log", "begin-failover"]
    );
    // The key ticks it again.
    press_tick(&mut s, "alert-oncall", at(7));
    assert!(matches!(&s.view.modal, Some(Modal::Prompt { purpose: PromptPurpose::ChecklistNote(_), .. })));
    // Resuming from the log restores the untick.
    let mut resumed = Checklist::communication();
    assert!(resumed.apply_entries(&log).is_empty());
    assert_eq!(resumed, s.domain.checklist);
}

#[test]
fn an_item_ticked_by_an_event_can_be_unticked_without_a_reason() {
    let mut s = primary_down_state();
    let line = LogLine {
        seq: 12,
        at: at(2),
        operator: "alice@host".into(),
        kind: EntryKind::RunbookStarted,
        summary: "x".into(),
    };
    update(&mut s, Action::Logged(line), at(2));
    assert!(done(&s, BEGIN_FAILOVER));
    press_tick(&mut s, BEGIN_FAILOVER, at(3));
    typed(&mut s, "", at(3));
    match &s.view.modal {
        Some(Modal::ConfirmKey { what, .. }) => {
            assert!(what.contains("(✓ by runbook-started #12)") && !what.contains("Reason"), "{what}")
        }
        other => panic!("expected y/n, got {other:?}"),
    }
    let fx = update(&mut s, Action::Command(Command::ConfirmYes), at(3));
    assert_eq!(checklist_logs(&fx), [json!({ "item": BEGIN_FAILOVER, "undone": true, "note": null })]);
    assert!(!done(&s, BEGIN_FAILOVER));
}

#[test]
fn a_recurring_item_is_ticked_again_never_unticked() {
    let mut s = primary_down_state();
    s.domain.checklist.record_status_update(at(1));
    press_tick(&mut s, "status-updates", at(2));
    assert!(matches!(&s.view.modal, Some(Modal::Prompt { purpose: PromptPurpose::ChecklistNote(_), .. })));
    // A forged untick of it is refused with its reason, nothing logged.
    s.view.modal = None;
    crate::app::guard::ask(
        &mut s,
        crate::app::guard::KeyAction::UntickChecklist { item: "status-updates".into(), note: None },
    );
    assert!(s.view.modal.is_none());
    assert!(s.view.flash.as_ref().is_some_and(|(f, _)| f.contains("is not ticked")), "{:?}", s.view.flash);
}

#[test]
fn a_read_only_console_cannot_untick_by_any_path() {
    let mut s = primary_down_state();
    s.domain.checklist.tick("alert-oncall", at(1), None).unwrap();
    s.domain.read_only = true;
    let fx = press_tick(&mut s, "alert-oncall", at(2));
    assert!(s.view.modal.is_none());
    assert!(
        s.view.flash.as_ref().is_some_and(|(f, _)| f.starts_with("READ-ONLY console")),
        "{:?}",
        s.view.flash
    );
    let mut all = fx;
    // A forged prompt, then a forged y/n.
    s.view.modal = Some(Modal::Prompt {
        purpose: PromptPurpose::ChecklistUntick("alert-oncall".into()),
        label: String::new(),
        text: String::new(),
    });
    all.extend(update(&mut s, Action::Text(super::TextEdit::Submit), at(2)));
    assert!(s.view.modal.is_none());
    assert!(
        s.view.flash.take().is_some_and(|(f, _)| f == "READ-ONLY console: cannot untick checklist items")
    );
    s.view.modal = Some(Modal::ConfirmKey {
        what: String::new(),
        action: crate::app::guard::KeyAction::UntickChecklist { item: "alert-oncall".into(), note: None },
    });
    all.extend(update(&mut s, Action::Command(Command::ConfirmYes), at(2)));
    assert!(s.view.flash.as_ref().is_some_and(|(f, _)| f.contains("cannot untick")), "{:?}", s.view.flash);
    assert!(checklist_logs(&all).is_empty(), "{all:?}");
    assert!(done(&s, "alert-oncall"));
}
