//! The facilitator's keys, its role, the drill clock in the console, hint timers.

use std::sync::Arc;
use std::time::Duration as StdDuration;

use chrono::{DateTime, Duration, Utc};

use super::effect::Effect;
use super::state::{IncidentInfo, Mode, State};
use super::tests::t0;
use super::{Action, update};
use crate::backends::drill::DrillControl;
use crate::backends::drill::scenario::HintDef;
use crate::command::Command;
use crate::incident::entry::EntryKind;

fn at(s: i64) -> DateTime<Utc> {
    t0() + Duration::seconds(s)
}

fn drill(facilitator: bool) -> State {
    let incident = IncidentInfo {
        id: "INC-DRILL".into(),
        title: "Drill".into(),
        severity: "SEV2".into(),
        declared_at: t0(),
        drill: true,
    };
    let config = Arc::new(crate::backends::drill::estate::config());
    let mut s = State::new(Mode::Drill, incident, "trainer@lab".into(), config, t0());
    s.domain.facilitation.facilitator = facilitator;
    s
}

fn logged_facilitator(fx: &[Effect]) -> Vec<serde_json::Value> {
    fx.iter()
        .filter_map(|e| match e {
            Effect::Log(i) if i.kind == EntryKind::Facilitator => Some(i.details.clone()),
            _ => None,
        })
        .collect()
}

fn flash(s: &State) -> String {
    s.view.flash.as_ref().map(|(f, _)| f.clone()).unwrap_or_default()
}

#[test]
fn the_facilitator_console_cannot_run_steps_take_command_or_propose() {
    for c in [Command::StepRun, Command::TakeCommand, Command::Resolve, Command::ChecklistTick] {
        let mut s = drill(true);
        let fx = update(&mut s, Action::Command(c), at(1));
        assert!(flash(&s).starts_with("FACILITATOR console: cannot"), "{c:?}: {}", flash(&s));
        assert!(
            fx.iter().all(|e| !matches!(e, Effect::Log(_) | Effect::Execute { .. } | Effect::Commander(_)))
        );
    }
}

#[test]
fn a_trainee_cannot_pause_inject_hint_or_end() {
    for c in [
        Command::FacilitatorPause,
        Command::FacilitatorInject,
        Command::FacilitatorHint,
        Command::FacilitatorHintText,
        Command::FacilitatorEnd,
    ] {
        let mut s = drill(false);
        let fx = update(&mut s, Action::Command(c), at(1));
        assert!(flash(&s).starts_with("not the facilitator: cannot"), "{c:?}: {}", flash(&s));
        assert!(fx.is_empty(), "{c:?}: {fx:?}");
        assert!(s.view.modal.is_none());
    }
}

#[test]
fn pause_freezes_t_plus_and_the_checklist_and_resume_continues_without_the_pause() {
    let mut s = drill(true);
    update(&mut s, Action::Tick, at(30));
    let fx = update(&mut s, Action::Command(Command::FacilitatorPause), at(30));
    assert!(fx.contains(&Effect::Drill(DrillControl::Pause)));
    assert_eq!(logged_facilitator(&fx), [serde_json::json!({ "action": "pause", "drill": true })]);
    let countdown = |s: &State| {
        s.domain
            .checklist
            .items
            .iter()
            .map(|i| i.status(s.domain.checklist_t0(), s.domain.now))
            .collect::<Vec<_>>()
    };
    let frozen = (s.domain.clock_text(), countdown(&s));
    for now in [31, 45, 200] {
        update(&mut s, Action::Tick, at(now));
        assert_eq!((s.domain.clock_text(), countdown(&s)), frozen, "at {now}");
    }
    assert_eq!(s.domain.clock_text(), "T+00:30");
    let fx = update(&mut s, Action::Command(Command::FacilitatorPause), at(200));
    assert!(fx.contains(&Effect::Drill(DrillControl::Resume)));
    update(&mut s, Action::Tick, at(210));
    assert_eq!(s.domain.clock_text(), "T+00:40", "170 s paused are not counted");
    assert_ne!(countdown(&s), frozen.1, "countdowns move again");
}

fn staged(afters: &[Option<u64>]) -> Vec<HintDef> {
    afters
        .iter()
        .enumerate()
        .map(|(i, a)| HintDef { after: a.map(StdDuration::from_secs), text: format!("hint number {i}") })
        .collect()
}

#[test]
fn staged_hints_release_on_their_timer_without_progress_pauses_excluded() {
    let mut s = drill(false);
    s.domain.facilitation.auto_hints = true;
    s.domain.facilitation.staged = staged(&[Some(60), Some(30), None]);
    assert!(logged_facilitator(&update(&mut s, Action::Tick, at(59))).is_empty(), "59 s: not yet");
    let fx = update(&mut s, Action::Tick, at(60));
    let d = logged_facilitator(&fx);
    assert_eq!(d.len(), 1);
    assert_eq!(
        (d[0]["action"].as_str(), d[0]["by"].as_str(), d[0]["n"].as_u64()),
        (Some("hint"), Some("timer"), Some(1))
    );
    assert_eq!(s.domain.facilitation.hints.len(), 1);
    // Progress at 70 restarts the second hint's 30 s.
    s.domain.facilitation.note_kind(&EntryKind::Checklist, at(70));
    assert!(logged_facilitator(&update(&mut s, Action::Tick, at(99))).is_empty(), "29 s after progress");
    // A pause of 50 s from 80 does not count.
    s.domain.facilitation.clock.pause(at(80));
    s.domain.facilitation.clock.resume(at(130));
    assert!(logged_facilitator(&update(&mut s, Action::Tick, at(149))).is_empty(), "29 s of drill time");
    assert_eq!(logged_facilitator(&update(&mut s, Action::Tick, at(150))).len(), 1, "30 s of drill time");
    // The third hint has no timer: only the facilitator releases it.
    assert!(logged_facilitator(&update(&mut s, Action::Tick, at(5000))).is_empty());
    assert_eq!(s.domain.facilitation.next_staged(), Some(2));
}

#[test]
fn a_console_that_does_not_host_never_releases_hints_itself() {
    let mut s = drill(false);
    s.domain.facilitation.staged = staged(&[Some(10)]);
    assert!(logged_facilitator(&update(&mut s, Action::Tick, at(1000))).is_empty());
}

#[test]
fn the_inject_menu_offers_each_kind_then_only_its_valid_targets_then_when_it_returns() {
    use super::facilitator::{InjectStage, inject_items};
    use crate::backends::drill::scenario::{FaultDef, FaultKind};
    let mut s = drill(true);
    update(&mut s, Action::Command(Command::FacilitatorInject), at(1));
    let stage = |s: &State| match &s.view.modal {
        Some(super::Modal::Inject { stage, selected }) => (stage.clone(), *selected),
        other => panic!("no inject menu: {other:?}"),
    };
    assert_eq!(stage(&s), (InjectStage::Kind, 0));
    {
        use strum::VariantNames;
        assert_eq!(
            inject_items(&InjectStage::Kind),
            FaultKind::VARIANTS,
            "every fault kind, as files name it"
        );
    }
    let pods = inject_items(&InjectStage::Target { kind: FaultKind::NodeCrash });
    assert_eq!(pods, ["postgresql-0", "postgresql-1", "postgresql-2", "redis-0", "redis-1", "redis-2"]);
    assert_eq!(
        inject_items(&InjectStage::Target { kind: FaultKind::SentinelPartition }),
        ["sentinel-a", "sentinel-b", "sentinel-c"]
    );
    let deps = inject_items(&InjectStage::Target { kind: FaultKind::Oom });
    assert!(deps.contains(&"api in us-west-2".to_string()), "{deps:?}");
    // node-crash (first kind), postgresql-2 (third target), returns after 60 s (third row).
    update(&mut s, Action::Command(Command::Select), at(2));
    assert_eq!(stage(&s), (InjectStage::Target { kind: FaultKind::NodeCrash }, 0));
    for _ in 0..2 {
        update(&mut s, Action::Command(Command::ScrollDown), at(2));
    }
    update(&mut s, Action::Command(Command::Select), at(3));
    let returns = InjectStage::Returns {
        kind: FaultKind::NodeCrash,
        target: Some("postgresql-2".into()),
        region: None,
    };
    assert_eq!(stage(&s), (returns, 0));
    for _ in 0..2 {
        update(&mut s, Action::Command(Command::ScrollDown), at(3));
    }
    let fx = update(&mut s, Action::Command(Command::Select), at(4));
    assert!(s.view.modal.is_none());
    let injected: Vec<&FaultDef> = fx
        .iter()
        .filter_map(|e| match e {
            Effect::Drill(DrillControl::Inject(f)) => Some(f),
            _ => None,
        })
        .collect();
    assert_eq!(injected.len(), 1, "{fx:?}");
    assert_eq!(
        (injected[0].kind, injected[0].target.as_deref()),
        (FaultKind::NodeCrash, Some("postgresql-2"))
    );
    assert_eq!(injected[0].returns_after, Some(StdDuration::from_secs(60)));
    let d = logged_facilitator(&fx);
    assert_eq!(d[0]["action"], "inject");
    assert_eq!(d[0]["fault"]["target"], "postgresql-2");
    // A kind without a target goes straight to when it returns.
    let mut s = drill(true);
    update(&mut s, Action::Command(Command::FacilitatorInject), at(1));
    let at_kind = {
        use strum::IntoEnumIterator;
        FaultKind::iter().position(|k| k == FaultKind::Route53Pending).unwrap()
    };
    for _ in 0..at_kind {
        update(&mut s, Action::Command(Command::ScrollDown), at(1));
    }
    update(&mut s, Action::Command(Command::Select), at(2));
    assert!(matches!(stage(&s).0, InjectStage::Returns { target: None, .. }), "{:?}", stage(&s));
}

fn entry(seq: u64, s: i64, kind: EntryKind, details: serde_json::Value) -> crate::incident::entry::Entry {
    crate::incident::entry::Entry {
        seq,
        ts: at(s),
        mono_ms: 0,
        operator: "trainer@lab".into(),
        kind,
        summary: "x".into(),
        details,
        prev: String::new(),
    }
}

#[test]
fn end_asks_first_then_logs_resolves_and_leaves_for_the_scorecard() {
    let mut s = drill(true);
    let fx = update(&mut s, Action::Command(Command::FacilitatorEnd), at(5));
    assert!(fx.is_empty(), "{fx:?}");
    assert!(matches!(s.view.modal, Some(super::Modal::ConfirmKey { .. })));
    let fx = update(&mut s, Action::Command(Command::ConfirmYes), at(6));
    let kinds: Vec<EntryKind> = fx
        .iter()
        .filter_map(|e| match e {
            Effect::Log(i) => Some(i.kind.clone()),
            _ => None,
        })
        .collect();
    assert_eq!(kinds, [EntryKind::Facilitator, EntryKind::Resolved]);
    assert!(fx.contains(&Effect::Quit));
}

#[test]
fn a_trainee_learns_pauses_and_the_end_from_the_log_and_sees_only_hints() {
    let mut s = drill(false);
    let mirror = |s: &mut State, e| update(s, Action::Mirrored(Box::new(e)), at(40));
    mirror(&mut s, entry(2, 10, EntryKind::Facilitator, serde_json::json!({ "action": "pause" })));
    assert_eq!(s.domain.facilitation.clock.paused_since(), Some(at(10)));
    assert_eq!(s.domain.clock_text(), "T+00:10", "the pause started at 10 s");
    mirror(&mut s, entry(3, 30, EntryKind::Facilitator, serde_json::json!({ "action": "resume" })));
    update(&mut s, Action::Tick, at(40));
    assert_eq!(s.domain.clock_text(), "T+00:20");
    let hint = serde_json::json!({ "action": "hint", "n": 1, "text": "Look at lag", "by": "facilitator" });
    let mut h = entry(4, 35, EntryKind::Facilitator, hint);
    h.summary = "hint 1: Look at lag".into();
    mirror(&mut s, h);
    assert_eq!(s.domain.facilitation.hints.len(), 1);
    let shown: Vec<u64> = s.domain.log_tail.iter().map(|l| l.seq).collect();
    assert_eq!(shown, [4], "pause and resume are not in a trainee's Log pane; the hint is");
    mirror(&mut s, entry(5, 36, EntryKind::Facilitator, serde_json::json!({ "action": "end" })));
    let fx = mirror(&mut s, entry(6, 36, EntryKind::Resolved, serde_json::json!({ "summary": "over" })));
    assert!(fx.contains(&Effect::Quit), "the drill is over: the console leaves for its scorecard");
}
