use std::sync::Arc;

use chrono::{DateTime, TimeZone, Utc};

use super::*;
use crate::app::state::IncidentInfo;
use crate::app::{Action, Mode, TextEdit, update};
use crate::backends::Snapshot;
use crate::backends::model::{DatabaseView, PgNodeStatus, PgRole};
use crate::command::Command;
use crate::config::Config;
use crate::operation::Operation;

fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 26, 3, 0, 0).unwrap()
}

fn node(name: &str, read_only: bool) -> PgNodeStatus {
    PgNodeStatus {
        name: name.into(),
        region: "r".into(),
        role: PgRole::Primary,
        version: None,
        timeline: Some(2),
        lsn: Some(1),
        fork_lsn: None,
        replay_lag_bytes: None,
        replay_lag_seconds: None,
        replication_state: None,
        read_only,
        pod: None,
        error: None,
        last_ok: Some(t0()),
    }
}

fn db(fenced: bool) -> Action {
    let view = DatabaseView { nodes: vec![node("pg-0", fenced), node("pg-1", false)] };
    Action::Database(Arc::new(Snapshot::fresh(view, t0())))
}

fn state() -> State {
    let info = IncidentInfo {
        id: "INC-1".into(),
        title: "t".into(),
        severity: "SEV2".into(),
        declared_at: t0(),
        drill: false,
    };
    State::new(Mode::Live, info, "op@host".into(), Arc::new(Config::default()), t0())
}

fn logged(fx: &[Effect], kind: EntryKind) -> Vec<serde_json::Value> {
    fx.iter()
        .filter_map(|e| match e {
            Effect::Log(i) if i.kind == kind => Some(i.details.clone()),
            _ => None,
        })
        .collect()
}

fn type_text(s: &mut State, text: &str) -> Vec<Effect> {
    for c in text.chars() {
        update(s, Action::Text(TextEdit::Char(c)), t0());
    }
    update(s, Action::Text(TextEdit::Submit), t0())
}

#[test]
fn nothing_to_override_without_a_conflict() {
    let mut s = state();
    update(&mut s, db(true), t0());
    update(&mut s, Action::Command(Command::OverrideAuthority), t0());
    assert!(s.view.modal.is_none());
    assert!(
        s.view.flash.as_ref().is_some_and(|(m, _)| m.contains("nothing to override")),
        "{:?}",
        s.view.flash
    );
}

#[test]
fn override_needs_a_reason_is_logged_applies_to_its_layer_and_clears_with_the_conflict() {
    let mut s = state();
    update(&mut s, db(false), t0());
    update(&mut s, Action::Command(Command::OverrideAuthority), t0());
    assert!(matches!(
        &s.view.modal,
        Some(Modal::Prompt { purpose: PromptPurpose::AuthorityOverride(Layer::Database), .. })
    ));
    // Empty reason: refused, prompt kept, nothing recorded.
    let fx = update(&mut s, Action::Text(TextEdit::Submit), t0());
    assert!(logged(&fx, EntryKind::Override).is_empty() && s.domain.authority_overrides.is_empty());
    assert!(matches!(s.view.modal, Some(Modal::Prompt { .. })));
    let fx = type_text(&mut s, "pg-0 is isolated");
    let entry = logged(&fx, EntryKind::Override);
    assert_eq!(entry.len(), 1);
    assert_eq!(entry[0]["layer"], "database");
    assert_eq!(entry[0]["reason"], "pg-0 is isolated");
    assert_eq!(s.domain.authority_overrides.len(), 1);

    // The check passes for the database layer only, marked as overridden.
    let mut checks = Operation::CheckPrimary.precheck(&s.domain.observed);
    let promote = Operation::PromotePostgres {
        node: "pg-1".into(),
        endpoint: "e".into(),
        max_lag_bytes: 0,
        accept_data_loss: None,
    };
    checks.extend(promote.precheck(&s.domain.observed));
    apply_overrides(&s.domain.authority_overrides, &promote, &mut checks);
    let c = checks.iter().find(|c| c.name == CHECK_NAME).expect("authority check");
    assert!(c.ok && c.detail.starts_with("OVERRIDDEN by the operator (pg-0 is isolated)"), "{c:?}");
    let failover =
        Operation::SentinelFailover { master: "m".into(), sentinel: "s".into(), from_master: None };
    let mut other = vec![Check::new(CHECK_NAME, false, "sentinels disagree")];
    apply_overrides(&s.domain.authority_overrides, &failover, &mut other);
    assert!(!other[0].ok, "a database override does not cover the sentinel layer");

    // A second request while overridden: nothing left to override.
    update(&mut s, Action::Command(Command::OverrideAuthority), t0());
    assert!(s.view.modal.is_none());

    // Fenced: the conflict is gone, the override is dropped and that is logged once.
    let fx = update(&mut s, db(true), t0());
    assert!(s.domain.authority_overrides.is_empty());
    assert_eq!(logged(&fx, EntryKind::OverrideCleared).len(), 1);
    let fx = update(&mut s, db(true), t0());
    assert!(logged(&fx, EntryKind::OverrideCleared).is_empty());
}

#[test]
fn a_read_only_console_overrides_nothing() {
    let mut s = state();
    s.domain.read_only = true;
    update(&mut s, db(false), t0());
    let mut fx = update(&mut s, Action::Command(Command::OverrideAuthority), t0());
    assert!(s.view.modal.is_none(), "no reason prompt on an observer console");
    assert!(s.view.flash.as_ref().is_some_and(|(m, _)| m.starts_with("READ-ONLY")), "{:?}", s.view.flash);
    // Even a prompt that was somehow open records nothing.
    s.view.modal = Some(Modal::Prompt {
        purpose: PromptPurpose::AuthorityOverride(Layer::Database),
        label: "l".into(),
        text: String::new(),
    });
    fx.extend(type_text(&mut s, "pg-0 is isolated"));
    // The lag guard's data-loss override is refused the same way.
    fx.extend(update(&mut s, Action::Command(Command::StepOverride), t0()));
    assert!(s.view.flash.as_ref().is_some_and(|(m, _)| m.starts_with("READ-ONLY")), "{:?}", s.view.flash);
    assert!(logged(&fx, EntryKind::Override).is_empty() && s.domain.authority_overrides.is_empty());
}
