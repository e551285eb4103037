//! What a key may do (`app::guard`): roles, y/n confirmations of irreversible keys and the
//! swallow state, driven through this key routing (default keymap) and `update`, with an
//! injected `now`.

use chrono::{DateTime, Duration, Utc};
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use super::{ChordBuffer, key_to_action};
use crate::app::guard::{KeyAction, SWALLOW_MS};
use crate::app::tests::{Did, kinds, primary_down_state, promote, t0};
use crate::app::{Action, Effect, Modal, PaneId, State, StepStatus, pipeline, update};
use crate::command::Command;
use crate::config::Keymap;
use crate::incident::commander::{CommanderView, Holder};
use crate::incident::entry::EntryKind;

/// Entry kinds a key typed by accident must never produce.
const ACCIDENTS: [Did; 8] = [
    Did::Log(EntryKind::StepSkipped),
    Did::Log(EntryKind::StepRetry),
    Did::Log(EntryKind::Override),
    Did::Log(EntryKind::StepAborted),
    Did::Log(EntryKind::RunbookFinished),
    Did::Log(EntryKind::StepConfirmed),
    Did::Execute,
    Did::Log(EntryKind::Resolved),
];

fn keymap() -> Keymap {
    Keymap::preset("default").expect("default keymap")
}

/// Type `text` as terminal keys (`\r` Enter, `\x1b` Esc), each read against the state the keys
/// before it left, as the event loop reads a batch.
fn keys(s: &mut State, text: &str, now: DateTime<Utc>) -> Vec<Effect> {
    let km = keymap();
    let mut chord = ChordBuffer::default();
    let mut fx = Vec::new();
    for c in text.chars() {
        let ev = match c {
            '\r' => KeyEvent::new(KeyCode::Enter, KeyModifiers::NONE),
            '\x1b' => KeyEvent::new(KeyCode::Esc, KeyModifiers::NONE),
            '\x13' => KeyEvent::new(KeyCode::Char('s'), KeyModifiers::CONTROL),
            c if c.is_ascii_uppercase() => KeyEvent::new(KeyCode::Char(c), KeyModifiers::SHIFT),
            c => KeyEvent::new(KeyCode::Char(c), KeyModifiers::NONE),
        };
        if let Some(a) = key_to_action(&ev, s, &km, &mut chord) {
            fx.extend(update(s, a, now));
        }
    }
    fx
}

fn flash_text(s: &State) -> String {
    s.view.flash.as_ref().map(|(t, _)| t.clone()).unwrap_or_default()
}

fn accidents(fx: &[Effect]) -> Vec<Did> {
    kinds(fx).into_iter().filter(|k| ACCIDENTS.contains(k)).collect()
}

/// db-failover with `candidate=pg-2` (replay lag 5000 B, limit 1024 B): confirm-down is done;
/// the next step (promote pg-2) fails its lag guard when `N` brings it up.
fn runbook_at_a_failing_promote() -> (State, u64) {
    let mut s = primary_down_state();
    let mut fx = Vec::new();
    let params = [("candidate".to_string(), "pg-2".to_string())];
    crate::app::runbook_flow::start(&mut s, "db-failover", &params, None, &mut fx).expect("starts");
    let first = s.domain.runbook.as_ref().unwrap().steps[0].0;
    assert!(matches!(s.view.modal, Some(Modal::Confirm { step, .. }) if step == first), "{:?}", s.view.modal);
    update(&mut s, Action::Command(Command::ConfirmYes), t0());
    update(&mut s, Action::StepExecuted { step: first, result: Ok("checked".into()) }, t0());
    assert_eq!(s.domain.step(first).unwrap().status, StepStatus::Done, "{:?}", s.domain.step(first));
    let promote = s.domain.runbook.as_ref().unwrap().steps[1].0;
    (s, promote)
}

#[test]
fn n_on_a_failed_precheck_then_a_pod_name_and_enter_run_nothing() {
    let (mut s, promote) = runbook_at_a_failing_promote();
    assert_eq!(s.view.focus, PaneId::Steps, "the Steps pane, where s/r/x/o act on the step");
    // `N`, then the name the operator meant for the confirmation, then Enter: one batch.
    let fx = keys(&mut s, "Npostgresql-2\r", t0());
    assert!(
        matches!(&s.domain.step(promote).unwrap().status, StepStatus::Failed { reason, .. } if reason.starts_with("lag within limit")),
        "{:?}",
        s.domain.step(promote)
    );
    assert_eq!(accidents(&fx), Vec::<Did>::new(), "{:?}", kinds(&fx));
    assert!(
        s.view.modal.is_none() && !s.view.quit && s.view.focus == PaneId::Steps,
        "{:?} quit {}",
        s.view.modal,
        s.view.quit
    );
    let flash = flash_text(&s);
    assert!(
        flash.starts_with(&format!("keys ignored: step #{promote}'s prechecks failed (lag within limit")),
        "{flash}"
    );
    assert_eq!(s.view.swallow.as_ref().map(|w| w.dropped), Some(13), "12 characters and Enter dropped");

    // Typed slowly, each within 1.5 s of the one before: still dropped.
    let mut now = t0();
    for c in "postgresql-2\r".chars() {
        now += Duration::milliseconds(1200);
        update(&mut s, Action::Tick, now);
        let fx = keys(&mut s, &c.to_string(), now);
        assert_eq!(accidents(&fx), Vec::<Did>::new(), "{c:?}");
        assert!(s.view.modal.is_none(), "{c:?} opened {:?}", s.view.modal);
    }
    // 1.5 s without a key: keys act again (`s` opens the skip prompt).
    now += Duration::milliseconds(SWALLOW_MS);
    update(&mut s, Action::Tick, now);
    assert_eq!(s.view.swallow, None);
    keys(&mut s, "s", now);
    assert!(matches!(&s.view.modal, Some(Modal::Prompt { .. })), "{:?}", s.view.modal);
}

#[test]
fn esc_ends_the_swallow_at_once_and_other_refusals_start_one() {
    let (mut s, _) = runbook_at_a_failing_promote();
    keys(&mut s, "N", t0());
    assert!(s.view.swallow.is_some());
    keys(&mut s, "\x1b", t0());
    assert_eq!(
        (s.view.swallow.clone(), s.view.flash.clone()),
        (None, None),
        "Esc: keys act again, message gone"
    );
    keys(&mut s, "x", t0());
    assert!(matches!(s.view.modal, Some(Modal::ConfirmKey { .. })), "x works again: {:?}", s.view.modal);
    keys(&mut s, "n", t0());
    // A step that cannot run: Enter flashes why and the Enter typed after it does nothing.
    let fx = keys(&mut s, "\r\r", t0());
    assert!(s.view.swallow.is_some() && s.view.modal.is_none(), "{:?}", s.view.modal);
    assert_eq!(accidents(&fx), Vec::<Did>::new());
    // A dialog that did open starts nothing.
    let mut s = primary_down_state();
    keys(&mut s, "n", t0());
    assert!(matches!(s.view.modal, Some(Modal::Prompt { .. })) && s.view.swallow.is_none());
}

#[test]
fn x_asks_before_aborting_the_runbook_and_n_esc_enter_do_nothing() {
    let (mut s, promote) = runbook_at_a_failing_promote();
    keys(&mut s, "N\x1b", t0());
    for (answer, what) in [("n", "n"), ("\x1b", "Esc"), ("\rq", "Enter, then other keys")] {
        let fx = keys(&mut s, "X", t0());
        let Some(Modal::ConfirmKey { what: text, action }) = s.view.modal.clone() else {
            panic!("X opens a y/n: {:?}", s.view.modal)
        };
        assert_eq!(action, KeyAction::AbortRunbook);
        assert!(
            text.starts_with(
                "Abort runbook db-failover (Database failover): its 5 remaining steps will not run"
            ),
            "{text}"
        );
        assert!(text.contains(&format!("step #{promote} is marked aborted")), "{text}");
        let fx2 = keys(&mut s, answer, t0());
        assert!(kinds(&fx).is_empty() && kinds(&fx2).is_empty(), "{what}: {:?}", kinds(&fx2));
        assert!(s.domain.runbook.as_ref().unwrap().active() && !s.view.quit, "{what}");
        if what == "Enter, then other keys" {
            assert!(matches!(s.view.modal, Some(Modal::ConfirmKey { .. })), "Enter is not y");
            keys(&mut s, "n", t0());
        }
        assert!(s.view.modal.is_none(), "{what}");
    }
    let fx = keys(&mut s, "Xy", t0());
    assert_eq!(kinds(&fx), [Did::Log(EntryKind::StepAborted), Did::Log(EntryKind::RunbookFinished)]);
    assert!(!s.domain.runbook.as_ref().unwrap().active());
}

#[test]
fn every_irreversible_key_asks_y_n_stating_what_happens() {
    let (mut s, promote) = runbook_at_a_failing_promote();
    keys(&mut s, "N\x1b", t0());
    // x: abort the selected step.
    let fx = keys(&mut s, "x", t0());
    assert!(kinds(&fx).is_empty());
    assert!(
        matches!(&s.view.modal, Some(Modal::ConfirmKey { what, action: KeyAction::AbortStep(id) })
            if *id == promote && what.contains("It will not run. Its runbook is aborted with it.")),
        "{:?}",
        s.view.modal
    );
    keys(&mut s, "n", t0());
    // s: reason, then y/n.
    let fx = keys(&mut s, "slag too high\r", t0());
    assert!(kinds(&fx).is_empty(), "{:?}", kinds(&fx));
    assert!(
        matches!(&s.view.modal, Some(Modal::ConfirmKey { what, .. }) if what.contains("Reason logged: \"lag too high\"")),
        "{:?}",
        s.view.modal
    );
    assert_eq!(kinds(&keys(&mut s, "y", t0())), [Did::Log(EntryKind::StepSkipped)]);
    // R: summary, then y/n.
    let fx = keys(&mut s, "Rfailed over to pg-1\r", t0());
    assert!(kinds(&fx).is_empty() && s.domain.resolved.is_none());
    assert!(
        matches!(&s.view.modal, Some(Modal::ConfirmKey { what, .. }) if what.starts_with("Resolve incident INC-TEST at T+00:00")),
        "{:?}",
        s.view.modal
    );
    assert_eq!(kinds(&keys(&mut s, "y", t0())), [Did::Log(EntryKind::Resolved)]);
    // ctrl-r: release the lock, y/n.
    let holder = Holder::new("alice@host pid 1", t0(), t0(), std::time::Duration::from_secs(30));
    s.domain.commander = CommanderView::Mine { holder, took_over_from: None, warning: None };
    let fx = update(&mut s, Action::Command(Command::ReleaseCommand), t0());
    assert!(fx.is_empty() && matches!(s.view.modal, Some(Modal::ConfirmKey { .. })), "{fx:?}");
    let fx = keys(&mut s, "y", t0());
    assert_eq!(fx, vec![Effect::Commander(crate::incident::commander::LockRequest::Release)]);
}

#[test]
fn in_a_typed_confirmation_every_printable_key_is_text_and_esc_cancels() {
    let mut s = primary_down_state();
    let mut fx = Vec::new();
    let id = pipeline::propose(&mut s, promote("pg-1"), "why".into(), &mut fx);
    let fx = keys(&mut s, "nyqxX", t0());
    assert!(kinds(&fx).is_empty() && !s.view.quit);
    assert_eq!(s.view.modal, Some(Modal::Confirm { step: id, typed: "nyqxX".into() }));
    let hints = crate::ui::footer::hints(&s, &keymap());
    assert!(hints.contains(&("esc".to_string(), "cancel")), "{hints:?}");
    assert!(!hints.iter().any(|(k, _)| k == "n"), "n is typed into the field: {hints:?}");
    // A wrong word: the flash says so; once the dialog is gone, the footer forgets it.
    keys(&mut s, "\r", t0());
    assert!(flash_text(&s).contains("does not match"), "{:?}", s.view.flash);
    let fx = keys(&mut s, "\x1b", t0());
    assert_eq!(kinds(&fx), [Did::Log(EntryKind::StepCancelled)]);
    assert_eq!((s.view.modal.clone(), s.view.flash.clone()), (None, None));
}

/// Answer whatever dialog is open the way an operator who means it would.
fn answer(s: &mut State, fx: &mut Vec<Effect>) {
    for _ in 0..4 {
        match s.view.modal.clone() {
            Some(Modal::Actions { .. } | Modal::Runbooks { .. } | Modal::Inject { .. }) => {
                fx.extend(update(s, Action::Command(Command::Select), t0()))
            }
            Some(Modal::Prompt { .. }) => fx.extend(keys(s, "pg-1 done 12\r", t0())),
            Some(Modal::Composer { .. }) => fx.extend(keys(s, "\x13", t0())),
            Some(Modal::NotifyPreview { .. }) => {
                fx.extend(update(s, Action::Command(Command::ConfirmYes), t0()))
            }
            Some(Modal::Confirm { step, .. }) => {
                let word = s
                    .domain
                    .step(step)
                    .and_then(|st| st.op.as_ref())
                    .map(|op| op.confirm_word())
                    .unwrap_or_default();
                fx.extend(keys(s, &format!("{word}\r"), t0()));
                fx.extend(update(s, Action::Command(Command::ConfirmYes), t0()));
            }
            Some(Modal::ConfirmKey { .. } | Modal::TakeCommand { .. }) => {
                fx.extend(update(s, Action::Command(Command::ConfirmYes), t0()))
            }
            Some(Modal::Help | Modal::Verdict) | None => return,
        }
    }
}

/// A console with a running runbook, a proposed step, every pane focusable.
fn busy_state() -> State {
    let (s, _) = runbook_at_a_failing_promote();
    s
}

#[test]
fn a_read_only_console_writes_notes_and_nothing_else_by_any_command() {
    let mut all = Vec::new();
    for c in Command::ALL.iter().copied().filter(|c| *c != Command::Quit) {
        for pane in PaneId::ALL {
            let mut s = busy_state();
            s.domain.read_only = true;
            s.view.focus = pane;
            let mut fx = update(&mut s, Action::Command(c), t0());
            answer(&mut s, &mut fx);
            // Copying a status update draft to the clipboard writes nothing.
            let bell_or_copy = |k: &Did| matches!(k, Did::Other(e) if e == "Bell" || e.starts_with("Copy("));
            let k: Vec<Did> = kinds(&fx).into_iter().filter(|k| !bell_or_copy(k)).collect();
            assert!(k.iter().all(|k| *k == Did::Log(EntryKind::Note)), "{c:?} on {pane:?}: {k:?}");
            assert!(
                s.domain.resolved.is_none() && s.domain.checklist.items.iter().all(|i| i.done.is_none()),
                "{c:?}"
            );
            all.extend(k);
        }
    }
    assert!(all.contains(&Did::Log(EntryKind::Note)), "notes are written");
    // The refusal names the role.
    let mut s = busy_state();
    s.domain.read_only = true;
    update(&mut s, Action::Command(Command::Resolve), t0());
    assert_eq!(flash_text(&s), "READ-ONLY console: cannot resolve");
    // A status update is a draft: copied, not logged (Esc first: the refusal swallows keys).
    let fx = keys(&mut s, "\x1bu\x13", t0());
    assert!(
        kinds(&fx).iter().all(|k| matches!(k, Did::Other(e) if e.starts_with("Copy"))),
        "{:?}",
        kinds(&fx)
    );
    assert!(
        flash_text(&s).starts_with("draft copied to the clipboard (OSC 52), NOT posted"),
        "{:?}",
        s.view.flash
    );
}

#[test]
fn a_console_that_is_not_the_commander_is_refused_each_commander_only_action() {
    let bob = Holder::new("bob@ops2 pid 42", t0(), t0(), std::time::Duration::from_secs(30));
    let refusals = [
        (Command::RunbookNext, "run runbook steps"),
        (Command::RunbookAbort, "abort the runbook"),
        (Command::StepRun, "run steps"),
        (Command::StepRetry, "retry steps"),
        (Command::StepSkip, "skip steps"),
        (Command::StepAbort, "abort steps"),
        (Command::StepOverride, "override the lag guard"),
        (Command::OverrideAuthority, "override authority"),
        (Command::Resolve, "resolve"),
    ];
    for (c, what) in refusals {
        let mut s = busy_state();
        s.domain.commander = CommanderView::Theirs { holder: bob.clone() };
        let fx = update(&mut s, Action::Command(c), t0());
        assert!(
            kinds(&fx).is_empty() && s.view.modal.is_none(),
            "{c:?}: {:?} {:?}",
            kinds(&fx),
            s.view.modal
        );
        assert_eq!(
            flash_text(&s),
            format!("not the commander (held by bob@ops2 pid 42): cannot {what}; press T to take command")
        );
    }
    // Starting a runbook and proposing a step: the menus open (to look), choosing is refused.
    for (open, what) in [(Command::Runbooks, "start runbooks"), (Command::Actions, "propose steps")] {
        let mut s = primary_down_state();
        s.domain.commander = CommanderView::Theirs { holder: bob.clone() };
        update(&mut s, Action::Command(open), t0());
        assert!(s.view.modal.is_some(), "{open:?} opens");
        let fx = update(&mut s, Action::Command(Command::Select), t0());
        assert!(
            kinds(&fx).is_empty() && s.view.modal.is_none() && s.domain.steps.is_empty(),
            "{:?}",
            kinds(&fx)
        );
        assert!(flash_text(&s).ends_with(&format!("cannot {what}; press T to take command")));
    }
    // A status update: drafted and copied for the commander, not posted.
    let mut s = primary_down_state();
    s.domain.commander = CommanderView::Free { note: None };
    update(&mut s, Action::Command(Command::StatusUpdate), t0());
    assert!(
        matches!(&s.view.modal, Some(Modal::Composer { label, .. }) if label.starts_with("Status update DRAFT (not the commander (nobody holds the lock)")),
        "{:?}",
        s.view.modal
    );
    let fx = keys(&mut s, "\x13", t0());
    assert!(matches!(fx.as_slice(), [Effect::Copy(_)]), "{fx:?}");
    assert!(flash_text(&s).contains("NOT posted or logged: not the commander"), "{:?}", s.view.flash);
    // Notes and checklist ticks are for everyone on the incident.
    let fx = keys(&mut s, "nseen from ops2\r", t0());
    assert_eq!(kinds(&fx), [Did::Log(EntryKind::Note)]);
    s.view.focus = PaneId::Checklist;
    let fx = keys(&mut s, " \r", t0());
    assert_eq!(kinds(&fx), [Did::Log(EntryKind::Checklist)]);
    // The commander does all of it.
    let mut s = busy_state();
    let me = Holder::new("alice@host pid 1", t0(), t0(), std::time::Duration::from_secs(30));
    s.domain.commander = CommanderView::Mine { holder: me, took_over_from: None, warning: None };
    let fx = keys(&mut s, "Rdone\ry", t0());
    assert_eq!(kinds(&fx), [Did::Log(EntryKind::Resolved)]);
}

/// Esc then `T` arriving in one read is Alt-T to crossterm: read back as Esc, then `T`, so the
/// Esc closes what it was meant to close and the `T` takes command.
#[test]
fn an_unbound_alt_key_is_an_esc_followed_by_the_key() {
    let km = keymap();
    let alt_t = KeyEvent::new(KeyCode::Char('T'), KeyModifiers::ALT | KeyModifiers::SHIFT);
    let [esc, key] = super::split_meta(&alt_t, &km).expect("split");
    assert_eq!((esc.code, esc.modifiers), (KeyCode::Esc, KeyModifiers::NONE));
    assert_eq!((key.code, key.modifiers), (KeyCode::Char('T'), KeyModifiers::SHIFT));
    // Plain keys and Ctrl-Alt combinations are left alone.
    assert!(super::split_meta(&KeyEvent::new(KeyCode::Char('T'), KeyModifiers::SHIFT), &km).is_none());
    let ctrl_alt = KeyEvent::new(KeyCode::Char('x'), KeyModifiers::ALT | KeyModifiers::CONTROL);
    assert!(super::split_meta(&ctrl_alt, &km).is_none());
    // A keymap that binds the Alt key keeps it whole.
    let text = "global = [ { on = \"alt-t\", run = \"quit\" } ]\n";
    let bound = Keymap::from_toml(text, std::path::Path::new("k.toml"), None).expect("keymap");
    let alt_lower = KeyEvent::new(KeyCode::Char('t'), KeyModifiers::ALT);
    assert!(super::split_meta(&alt_lower, &bound).is_none());
    assert!(super::split_meta(&alt_lower, &km).is_some());
}
