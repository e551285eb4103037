//! The permission precheck in the step pipeline: a console that reviews access asks the API
//! server before a Kubernetes step's confirmation, and only "allowed" lets the step on.

use std::sync::Arc;

use super::effect::Effect;
use super::state::{Modal, State};
use super::step::{Stage, StepStatus};
use super::tests::{Did, kinds, primary_down_state, t0};
use super::{Action, update};
use crate::backends::Snapshot;
use crate::backends::model::{DeploymentRow, KubeView};
use crate::command::Command;
use crate::incident::entry::EntryKind;
use crate::operation::Operation;
use crate::operation::access::{AccessAnswer, AccessRequest};

fn scale() -> Operation {
    Operation::ScaleDeployment {
        context: "us-west-2".into(),
        namespace: "default".into(),
        deployment: "api".into(),
        replicas: 10,
    }
}

/// A console that reviews access, with the Deployment on screen, and `scale()` proposed.
fn proposed() -> (State, u64, Vec<Effect>) {
    let mut s = primary_down_state();
    s.domain.access_reviews = true;
    let kube = KubeView {
        deployments: vec![DeploymentRow {
            context: "us-west-2".into(),
            namespace: "default".into(),
            name: "api".into(),
            desired: 3,
            ready: 3,
            available: 3,
        }],
        ..KubeView::default()
    };
    update(&mut s, Action::Kube(Arc::new(Snapshot::fresh(kube, t0()))), t0());
    let mut fx = Vec::new();
    let id = super::pipeline::propose(&mut s, scale(), "test".into(), &mut fx);
    (s, id, fx)
}

fn asked(fx: &[Effect]) -> Vec<AccessRequest> {
    fx.iter()
        .filter_map(|e| match e {
            Effect::CheckAccess { requests, .. } => Some(requests.clone()),
            _ => None,
        })
        .flatten()
        .collect()
}

#[test]
fn the_step_waits_for_the_answer_and_opens_only_when_allowed() {
    let (mut s, id, fx) = proposed();
    assert_eq!(asked(&fx), scale().access_requests(), "asks exactly what the operation needs");
    assert_eq!(s.domain.step(id).map(|st| st.status.clone()), Some(StepStatus::Proposed));
    assert!(s.view.modal.is_none(), "no confirmation before the answer");
    // Asking again while the question is out sends nothing new.
    let fx = update(&mut s, Action::Command(Command::StepRun), t0());
    assert!(asked(&fx).is_empty(), "{fx:?}");
    let answers = vec![AccessAnswer::Allowed { user: "ops".into() }];
    update(&mut s, Action::AccessChecked { step: id, answers }, t0());
    assert!(matches!(s.view.modal, Some(Modal::Confirm { step, .. }) if step == id));
    let step = s.domain.step(id).expect("step");
    let c = step.checks.iter().find(|c| c.name == "permission").expect("permission check");
    assert!(c.ok && c.detail.contains("you (ops) may patch deployments/scale in default"), "{c:?}");
    let fx = update(&mut s, Action::Command(Command::ConfirmYes), t0());
    assert!(kinds(&fx).contains(&Did::Execute), "{fx:?}");
}

#[test]
fn a_denial_fails_the_step_before_confirmation_naming_the_user() {
    let (mut s, id, _) = proposed();
    let answers = vec![AccessAnswer::Denied { user: "viewer".into(), reason: String::new() }];
    let fx = update(&mut s, Action::AccessChecked { step: id, answers }, t0());
    assert!(s.view.modal.is_none());
    let Some(StepStatus::Failed { stage: Stage::Precheck, reason }) =
        s.domain.step(id).map(|st| st.status.clone())
    else {
        panic!("{:?}", s.domain.step(id))
    };
    assert!(reason.contains("you (viewer) may not patch deployments/scale in default"), "{reason}");
    assert!(kinds(&fx).contains(&Did::Log(EntryKind::StepFailed)), "{fx:?}");
    assert!(!kinds(&fx).contains(&Did::Execute));
}

#[test]
fn an_unanswered_question_is_never_allowed_and_a_retry_asks_again() {
    let (mut s, id, _) = proposed();
    let answers = vec![AccessAnswer::Unknown { error: "connection refused".into() }];
    update(&mut s, Action::AccessChecked { step: id, answers }, t0());
    let status = s.domain.step(id).map(|st| st.status.clone());
    assert!(
        matches!(&status, Some(StepStatus::Failed { reason, .. }) if reason.contains("could not check") && reason.contains("connection refused")),
        "{status:?}"
    );
    let fx = update(&mut s, Action::Command(Command::StepRetry), t0());
    assert_eq!(asked(&fx), scale().access_requests(), "a retry asks again: {fx:?}");
    let answers = vec![AccessAnswer::Allowed { user: "ops".into() }];
    update(&mut s, Action::AccessChecked { step: id, answers }, t0());
    assert!(matches!(s.view.modal, Some(Modal::Confirm { step, .. }) if step == id));
}

#[test]
fn consoles_that_do_not_review_access_and_other_layers_ask_nothing() {
    let mut s = primary_down_state();
    assert!(!s.domain.access_reviews, "off unless a live console turns it on");
    let mut fx = Vec::new();
    super::pipeline::propose(&mut s, scale(), "test".into(), &mut fx);
    assert!(asked(&fx).is_empty());
    s.domain.access_reviews = true;
    let mut fx = Vec::new();
    super::pipeline::propose(&mut s, super::tests::promote("pg-1"), "test".into(), &mut fx);
    assert!(asked(&fx).is_empty(), "a PostgreSQL promotion is not a Kubernetes question");
}

#[test]
fn keys_typed_while_asking_are_dropped_and_the_opened_dialog_takes_keys_again() {
    let (mut s, id, _) = proposed();
    // Running it again while the question is out opens no dialog: what is typed next is dropped.
    update(&mut s, Action::Command(Command::StepRun), t0());
    assert!(s.view.swallow.is_some(), "keys typed before the dialog opens are dropped");
    let answers = vec![AccessAnswer::Allowed { user: "ops".into() }];
    update(&mut s, Action::AccessChecked { step: id, answers }, t0());
    assert!(matches!(s.view.modal, Some(Modal::Confirm { step, .. }) if step == id));
    assert!(s.view.swallow.is_none(), "the dialog takes keys");
}
