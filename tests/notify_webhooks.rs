//! Posting a status update to `[[notify]]` targets through the real driver and runner, against
//! local HTTP receivers that record what arrived: exact payloads, retries with backoff, a
//! receiver that always fails, one that hangs (the console stays responsive), a command target
//! reading stdin, a drill that does not page anyone, and the secret URL never shown or logged.

mod support;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use serde_json::{Value, json};
use support::headless::Headless;
use support::http_fake::{FakeServer, Mode, Reply};
use warroom::app::state::Modal;
use warroom::app::{Action, TextEdit};
use warroom::command::Command;
use warroom::config::Config;
use warroom::config::model::NotifyConfig;
use warroom::incident::entry::EntryKind;

/// The secret part of every webhook URL here: must never reach the log, flashes or preview.
const SECRET: &str = "T0SECRET/B0SECRET/xoxSECRETxox";

fn answering(f: impl Fn(usize) -> u16 + Send + Sync + 'static) -> Mode {
    let n = Arc::new(AtomicUsize::new(0));
    Mode::Answer(Arc::new(move |_| Reply::text(f(n.fetch_add(1, Ordering::SeqCst)), "")))
}

fn hook(name: &str, kind: &str, server: &FakeServer) -> NotifyConfig {
    NotifyConfig {
        name: name.into(),
        kind: kind.into(),
        url: Some(server.url(&format!("/hooks/{SECRET}"))),
        ..NotifyConfig::default()
    }
}

fn config(targets: Vec<NotifyConfig>) -> Config {
    Config { notify: targets, ..Config::default() }
}

/// Everything the console wrote or showed that could leak: entries, flash, open dialog.
fn shown(h: &Headless) -> String {
    let entries: Vec<Value> =
        h.log.entries().iter().map(|(i, _)| json!({"s": i.summary, "d": i.details})).collect();
    format!("{entries:?} {:?} {:?}", h.state.view.flash, h.state.view.modal)
}

fn results(h: &Headless) -> Vec<Value> {
    h.log
        .entries()
        .into_iter()
        .filter(|(i, _)| i.kind == EntryKind::NotifyResult)
        .map(|(i, _)| i.details)
        .collect()
}

/// Draft, add `extra`, post (Ctrl-S), check the preview, confirm with `y`. Returns the posted text.
fn post(h: &mut Headless, extra: &str) -> String {
    h.apply(Action::Command(Command::StatusUpdate));
    h.apply(Action::Text(TextEdit::Paste(format!("\n{extra}"))));
    h.apply(Action::Text(TextEdit::Submit));
    let Some(Modal::NotifyPreview { text, lines, .. }) = h.state.view.modal.clone() else {
        panic!("no preview: {:?}", h.state.view.modal)
    };
    let preview = lines.join("\n");
    assert!(!preview.contains(SECRET), "{preview}");
    for t in &h.state.domain.config.notify {
        assert!(preview.contains(&format!("• {} ({})", t.name, t.kind)), "{preview}");
    }
    h.apply(Action::Command(Command::ConfirmYes));
    text
}

async fn until_results(h: &mut Headless, n: usize, within: Duration) {
    h.until_with(&format!("{n} notify results"), within, |h| results(h).len() >= n).await;
}

#[tokio::test]
async fn slack_and_webhook_payloads_arrive_exactly_and_the_url_stays_secret() {
    let slack = FakeServer::start(answering(|_| 200)).await;
    let generic = FakeServer::start(answering(|_| 204)).await;
    let mut h = Headless::start(config(vec![
        hook("ops-slack", "slack", &slack),
        hook("status", "webhook", &generic),
    ]))
    .await;
    let text = post(&mut h, "Next: failing back at 04:00");
    until_results(&mut h, 2, Duration::from_secs(20)).await;
    // The status-update entry was written first, with the text posted.
    let kinds: Vec<EntryKind> = h.log.entries().iter().map(|(i, _)| i.kind.clone()).collect();
    let first = kinds.iter().position(|k| *k == EntryKind::StatusUpdate).expect("status-update logged");
    assert!(kinds.iter().position(|k| *k == EntryKind::NotifyResult).unwrap() > first);
    let seen = slack.seen.lock().unwrap().clone();
    assert_eq!(seen.len(), 1);
    assert_eq!(seen[0].method, "POST");
    assert_eq!(seen[0].body, json!({ "text": text }).to_string());
    let body: Value = serde_json::from_str(&generic.seen.lock().unwrap()[0].body).unwrap();
    assert_eq!(body["incident"], "INC-LIVETEST");
    assert_eq!(body["text"], text.as_str());
    assert_eq!(body["operator"], support::headless::OPERATOR);
    assert!(body["severity"].is_string() && body["title"] == "live pipeline test", "{body}");
    assert!(body["posted_at"].as_str().is_some_and(|t| t.ends_with('Z')), "{body}");
    for r in results(&h) {
        assert_eq!((r["ok"].clone(), r["attempts"].clone()), (json!(true), json!(1)), "{r}");
    }
    assert!(!shown(&h).contains(SECRET), "{}", shown(&h));
}

#[tokio::test]
async fn a_receiver_failing_twice_gets_three_attempts_and_success_is_logged() {
    let flaky = FakeServer::start(answering(|n| if n < 2 { 500 } else { 200 })).await;
    let mut h = Headless::start(config(vec![hook("flaky", "slack", &flaky)])).await;
    post(&mut h, "retry me");
    until_results(&mut h, 1, Duration::from_secs(20)).await;
    let r = &results(&h)[0];
    assert_eq!(
        (r["ok"].clone(), r["attempts"].clone(), r["status"].clone()),
        (json!(true), json!(3), json!("HTTP 200"))
    );
    assert_eq!(flaky.hits.load(Ordering::SeqCst), 3);
    assert!(
        h.state.view.notify.iter().any(|(n, s)| n == "flaky" && s.starts_with("sent")),
        "{:?}",
        h.state.view.notify
    );
}

#[tokio::test]
async fn a_receiver_that_always_fails_is_logged_as_failed_after_the_retries() {
    let down = FakeServer::start(answering(|_| 500)).await;
    let mut h = Headless::start(config(vec![hook("down", "webhook", &down)])).await;
    post(&mut h, "nobody hears this");
    until_results(&mut h, 1, Duration::from_secs(20)).await;
    let r = &results(&h)[0];
    assert_eq!(
        (r["ok"].clone(), r["attempts"].clone(), r["status"].clone()),
        (json!(false), json!(3), json!("HTTP 500"))
    );
    assert_eq!(down.hits.load(Ordering::SeqCst), 3);
    let flash = h.state.view.flash.clone().map(|f| f.0).unwrap_or_default();
    assert!(flash.starts_with("down: failed ("), "{flash}");
    assert!(!shown(&h).contains(SECRET));
}

#[tokio::test]
async fn a_hanging_receiver_times_out_while_the_console_keeps_working() {
    let hang = FakeServer::start(Mode::Hang).await;
    let mut target = hook("hangs", "slack", &hang);
    target.timeout_ms = Some(300);
    let mut h = Headless::start(config(vec![target])).await;
    post(&mut h, "into the void");
    // While the sends hang, a note is typed and logged.
    h.apply(Action::Command(Command::Note));
    h.apply(Action::Text(TextEdit::Paste("still responsive".into())));
    h.apply(Action::Text(TextEdit::Submit));
    h.until_with("the note logged", Duration::from_secs(2), |h| {
        h.log.entries().iter().any(|(i, _)| i.summary.contains("still responsive"))
    })
    .await;
    assert!(results(&h).is_empty(), "the note came before any result");
    until_results(&mut h, 1, Duration::from_secs(20)).await;
    let r = &results(&h)[0];
    assert_eq!(
        (r["ok"].clone(), r["attempts"].clone(), r["status"].clone()),
        (json!(false), json!(3), json!("timed out"))
    );
    assert!(r["error"].as_str().unwrap_or_default().contains("300 ms"), "{r}");
    assert!(!shown(&h).contains(SECRET));
}

#[tokio::test]
async fn a_command_target_gets_the_text_on_stdin() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("posted.txt");
    let target = NotifyConfig {
        name: "statuspage".into(),
        kind: "command".into(),
        command: Some(vec!["tee".into(), out.display().to_string()]),
        ..NotifyConfig::default()
    };
    let mut h = Headless::start(config(vec![target])).await;
    let text = post(&mut h, "multi\nline");
    until_results(&mut h, 1, Duration::from_secs(20)).await;
    assert_eq!(results(&h)[0]["status"], "exit 0");
    assert_eq!(std::fs::read_to_string(&out).unwrap(), text);
}

#[tokio::test]
async fn a_drill_contacts_only_targets_that_say_drill_true() {
    let quiet = FakeServer::start(answering(|_| 200)).await;
    let drilled = FakeServer::start(answering(|_| 200)).await;
    let estate = warroom::backends::drill::DrillEstate::new("calm", 1.0, 1).expect("scenario");
    let mut cfg = estate.config();
    let mut yes = hook("drill-room", "slack", &drilled);
    yes.drill = true;
    cfg.notify = vec![hook("pager", "slack", &quiet), yes];
    let mut h = Headless::on_drill(&estate, cfg, Duration::from_millis(200));
    post(&mut h, "drill update");
    until_results(&mut h, 2, Duration::from_secs(20)).await;
    let by = |name: &str| results(&h).into_iter().find(|r| r["target"] == name).unwrap();
    assert_eq!(by("pager")["status"], "drill: not sent");
    assert_eq!(by("drill-room")["ok"], true);
    assert_eq!(quiet.hits.load(Ordering::SeqCst), 0, "a drill must not page people");
    assert_eq!(drilled.hits.load(Ordering::SeqCst), 1);
}
