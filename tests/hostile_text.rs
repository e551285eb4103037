//! Hostile text from backends (escape sequences, C1 controls, BEL, bidi overrides) never
//! reaches the terminal bytes, the clipboard payload, the incident log file or the exported
//! post-mortem; on screen it shows as visible escapes. Hostile text comes in through snapshots
//! and through the real paths where cheap: pod statuses a REAL kube-apiserver accepts and
//! returns (tests/support/control_plane), a PostgreSQL DSN error, a Redis server answering with
//! a hostile error. Only what the real API server rejects (a 1 MiB annotation: it caps
//! annotations at 256 KiB) stays on the Kubernetes test server, and the test proves the
//! rejection.

#[path = "support/ui_fixtures.rs"]
mod ui_fixtures;

#[path = "hostile_support/mod.rs"]
mod hostile_support;

mod support;

use std::process::Command as Process;
use std::sync::Arc;
use std::time::{Duration, Instant};

use k8s_openapi::api::core::v1::Pod;
use kube::api::{Api, Patch, PatchParams, PostParams};
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use warroom::app::state::PromptPurpose;
use warroom::app::{Action, Effect, Modal, PaneId, TextEdit, update};
use warroom::backends::kube::{KubeClients, KubeObserveSpec, KubeObserver};
use warroom::backends::postgres::{PgTimeouts, PostgresObserver};
use warroom::backends::sentinel::SentinelObserver;
use warroom::backends::{Observe, Observed, Snapshot};
use warroom::command::Command;
use warroom::config::model::{PgNodeConfig, PostgresConfig, SentinelConfig};
use warroom::incident::entry::EntryKind;
use warroom::incident::log::{IncidentLog, read_log};
use warroom::incident::observations;
use warroom::tui::output::osc52;

use hostile_support::*;
use support::control_plane::ControlPlane;
use support::control_plane::objects::{behaviour, eventually, unique_namespace};
use support::kube_server::{KubeLab, waiting_status};

/// Sizes the hostile estate is drawn at.
const SIZES: [(u16, u16); 4] = [(200, 60), (160, 48), (120, 40), (80, 24)];

/// Draws `state` at every size, unzoomed and with each pane zoomed; checks every frame's bytes
/// and returns all screen text seen.
fn draw_everywhere(state: &warroom::app::State) -> String {
    let ui = ui_fixtures::ctx();
    let mut seen = String::new();
    for (w, h) in SIZES {
        for zoom in std::iter::once(None).chain(PaneId::ALL.into_iter().map(Some)) {
            let mut st = state.clone();
            if let Some(p) = zoom {
                st.view.focus = p;
                st.view.zoomed = true;
            }
            let bytes = quiet_bytes(&st, &ui, w, h);
            if let Err(e) = terminal_text(&bytes) {
                panic!("{w}x{h} zoom {zoom:?}: {e}");
            }
            for row in screen_rows(&st, &ui, w, h) {
                seen.push_str(&row);
                seen.push('\n');
            }
        }
    }
    seen
}

#[test]
fn hostile_backend_text_never_reaches_the_terminal_and_shows_as_visible_escapes() {
    let st = hostile_state();
    let seen = draw_everywhere(&st);
    for v in VISIBLE {
        assert!(seen.contains(v), "visible form {v:?} never drawn; screen:\n{seen}");
    }
    // Each hostile field is drawn at least once somewhere (so the byte check covered it).
    let tags = ["H01", "H02", "H04", "H05", "H06", "H09", "H10", "H11", "H12", "H13", "H15", "H16", "H17"];
    for tag in tags {
        assert!(seen.contains(tag), "field {tag} never drawn; screen:\n{seen}");
    }
    assert!(seen.contains("H03"), "no pod reason drawn");
}

#[test]
fn hostile_sentinel_events_and_modals_never_reach_the_terminal() {
    let mut st = hostile_state();
    hostile_sentinel_events(&mut st);
    let seen = draw_everywhere(&st);
    for tag in ["S2", "S3"] {
        assert!(seen.contains(tag), "sentinel field {tag} never drawn; screen:\n{seen}");
    }

    let ui = ui_fixtures::ctx();
    let mut prompt = st.clone();
    prompt.view.modal =
        Some(Modal::Prompt { purpose: PromptPurpose::Note, label: hostile("P1", 0), text: hostile("P2", 2) });
    let mut actions = st.clone();
    let mut items = ui_fixtures::proposals();
    items[0].why = hostile("A1", 4);
    actions.view.modal = Some(Modal::Actions { items, selected: 0 });
    let mut help = st.clone();
    let mut ui_hostile = ui.clone();
    ui_hostile.keymap.name = hostile("K1", 1);
    ui_hostile.keymap.layers[0].1[0].desc = hostile("K2", 3);
    help.view.modal = Some(Modal::Help);
    for (what, s, ui) in [("prompt", &prompt, &ui), ("actions", &actions, &ui), ("help", &help, &ui_hostile)]
    {
        let mut seen = String::new();
        for (w, h) in SIZES {
            if let Err(e) = terminal_text(&quiet_bytes(s, ui, w, h)) {
                panic!("{what} at {w}x{h}: {e}");
            }
            seen.push_str(&screen_rows(s, ui, w, h).join("\n"));
        }
        assert!(seen.contains('␛') || seen.contains("<U+"), "{what}: no visible escape drawn:\n{seen}");
    }
}

#[test]
fn oversized_and_wide_text_is_truncated_to_its_cell_with_an_ellipsis() {
    let mut st = ui_fixtures::primary_down();
    let mut kube = st.domain.observed.kube.value.clone().expect("kube");
    let mib = "A".repeat(1 << 20);
    let pods = Arc::make_mut(&mut kube.pods);
    pods[0].reason = Some(format!("{mib}{ERASE}"));
    pods[1].name = "名前が長いポッド🧑‍🚀👩‍👩‍👧‍👦\u{200d}\u{200b}".repeat(40);
    pods[2].reason = Some("界".repeat(100_000));
    st.domain.observed.kube = Arc::new(Snapshot::fresh(kube, ui_fixtures::t(720)));
    let mut db = st.domain.observed.database.value.clone().expect("db");
    db.nodes[0].error = Some(format!("{}{}", "x".repeat(100_000), TITLE));
    st.domain.observed.database = Arc::new(Snapshot::fresh(db, ui_fixtures::t(721)));
    st.domain.log_tail[0].summary = "🚨".repeat(50_000);
    let ui = ui_fixtures::ctx();
    for (w, h) in SIZES {
        for (zoom, marker) in [
            (None, "AAAA"),
            (Some(PaneId::Pods), "AAAA"),
            (Some(PaneId::Database), "xxxx"),
            (Some(PaneId::Log), "🚨"),
        ] {
            let mut s = st.clone();
            if let Some(p) = zoom {
                s.view.focus = p;
                s.view.zoomed = true;
            }
            let bytes = quiet_bytes(&s, &ui, w, h);
            let text = terminal_text(&bytes).unwrap_or_else(|e| panic!("{w}x{h}: {e}"));
            // A full frame writes each cell once (plus escapes): bounded by the screen, not the input.
            assert!(bytes.len() < usize::from(w) * usize::from(h) * 40, "{w}x{h}: {} bytes", bytes.len());
            assert!(text.chars().count() <= usize::from(w) * usize::from(h) * 2);
            let rows = screen_rows(&s, &ui, w, h);
            for row in &rows {
                assert!(unicode_width::UnicodeWidthStr::width(row.as_str()) <= usize::from(w), "{row}");
            }
            let all = rows.join("\n");
            assert!(
                all.contains(marker) && all.contains('…'),
                "{w}x{h} {zoom:?}: no truncated {marker}:\n{all}"
            );
        }
    }
}

#[test]
fn the_clipboard_payload_of_a_status_update_carries_no_control() {
    let mut st = hostile_state();
    hostile_sentinel_events(&mut st);
    let now = st.domain.now;
    let mut fx = update(&mut st, Action::Command(Command::StatusUpdate), now);
    let Some(Modal::Composer { buffer, .. }) = &st.view.modal else {
        panic!("no status composer: {:?}", st.view.modal)
    };
    let text = buffer.text();
    assert!(text.contains("H0") || text.contains("H1"), "draft names no hostile field:\n{text}");
    // The draft is drawn in the prompt: check those bytes too.
    terminal_text(&quiet_bytes(&st, &ui_fixtures::ctx(), 120, 40)).expect("prompt bytes");
    fx.extend(update(&mut st, Action::Text(TextEdit::Submit), now));
    let copied: Vec<&String> =
        fx.iter().filter_map(|e| if let Effect::Copy(t) = e { Some(t) } else { None }).collect();
    assert_eq!(copied.len(), 1, "{fx:?}");
    for line in copied[0].lines() {
        assert_plain("clipboard text", line);
    }
    let seq = osc52(copied[0]);
    let body = seq.strip_prefix("\u{1b}]52;c;").and_then(|s| s.strip_suffix('\u{7}')).expect("OSC 52 frame");
    let decoded = String::from_utf8(base64_decode(body).expect("base64 body")).expect("utf-8");
    assert_eq!(&decoded, copied[0]);
    assert!(decoded.lines().all(|l| !l.chars().any(warroom::text::is_unsafe)));
}

/// Bytes of a file must hold no raw terminal control: JSON escapes are fine, raw ESC, BEL, C1
/// (as UTF-8), DEL or bidi controls are not.
fn assert_file_plain(what: &str, bytes: &[u8]) {
    let text = std::str::from_utf8(bytes).expect("utf-8 file");
    for line in text.lines() {
        assert_plain(what, line);
    }
}

fn warroom_bin(data: &std::path::Path, home: &std::path::Path, args: &[&str]) -> std::process::Output {
    Process::new(env!("CARGO_BIN_EXE_warroom"))
        .args(args)
        .env("WARROOM_DATA_DIR", data)
        .env("HOME", home)
        .env("XDG_CONFIG_HOME", home.join("config"))
        .env("XDG_STATE_HOME", home.join("state"))
        .env_remove("WARROOM_CONFIG")
        .output()
        .expect("run warroom")
}

#[test]
fn the_incident_log_file_and_the_export_carry_no_control() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("data");
    let (log, meta) = IncidentLog::declare(
        &data,
        &hostile("T", 0),
        &hostile("SEV", 3),
        false,
        &hostile("op", 5),
        ui_fixtures::now(),
    )
    .expect("declare");
    // Observations of a hostile estate, as the console would log them.
    let calm = ui_fixtures::calm().domain.observed;
    let mut bad = hostile_state();
    hostile_sentinel_events(&mut bad);
    let intents = observations::diff(&calm, &bad.domain.observed, 0);
    assert!(!intents.is_empty());
    for i in &intents {
        log.append(&i.kind, &i.summary, i.details.clone()).expect("append");
    }
    // A status update with hostile text, and raw hostile details.
    log.append(
        &EntryKind::StatusUpdate,
        &hostile("status ", 1),
        json!({ "text": hostile("body", 2), "n": [hostile("x", 4)] }),
    )
    .expect("append");
    log.append(
        &EntryKind::from(hostile("kind", 6)),
        &format!("{}\u{7f}\u{85}\u{2028}", hostile("s", 3)),
        json!(hostile("v", 0)),
    )
    .expect("append");
    let bytes = std::fs::read(log.path()).expect("read log");
    assert_file_plain("incident log file", &bytes);
    // It still reads back to the same strings (escaping is lossless).
    let entries = read_log(log.path()).expect("read back");
    let last = entries.last().expect("entries");
    assert_eq!(last.details["value"], json!(hostile("v", 0)));

    let show = warroom_bin(&data, dir.path(), &["log", "show", &meta.id]);
    assert!(show.status.success(), "{show:?}");
    cli_text(&show.stdout).unwrap_or_else(|e| panic!("log show: {e}"));
    for fmt in ["markdown", "json"] {
        let out = warroom_bin(&data, dir.path(), &["log", "export", &meta.id, "--format", fmt]);
        assert!(out.status.success(), "{out:?}");
        assert_file_plain(&format!("export {fmt}"), &out.stdout);
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(text.contains("body") || text.contains("status"), "{text}");
    }
    let list = warroom_bin(&data, dir.path(), &["log", "list"]);
    cli_text(&list.stdout).unwrap_or_else(|e| panic!("log list: {e}"));
}

/// Waits until `cond` holds for the kube view.
async fn kube_until(
    obs: &KubeObserver,
    what: &str,
    cond: impl Fn(&warroom::backends::model::KubeView) -> bool,
) {
    let end = Instant::now() + Duration::from_secs(5);
    loop {
        if let Ok(v) = obs.observe().await
            && cond(&v)
        {
            return;
        }
        assert!(Instant::now() < end, "not within 5 s: {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

fn observe_spec(context: &str, ns: &str) -> KubeObserveSpec {
    KubeObserveSpec {
        contexts: vec![context.into()],
        namespaces: vec![ns.into()],
        db_service: None,
        heartbeat_every: Duration::from_millis(200),
        heartbeat_timeout: Duration::from_secs(2),
        backoff_min: Duration::from_millis(50),
    }
}

/// A pod status as a misbehaving kubelet or runtime could write it: Pending (what the harness
/// kubelet reports for the `pending` behaviour, so it leaves this status alone), the pod-level
/// `reason`/`message` and the container's waiting and last-terminated reasons as given.
fn hostile_status(pod_reason: Option<&str>, waiting: &str, last: &str) -> Value {
    let mut status = json!({
        "phase": "Pending",
        "conditions": [{ "type": "Ready", "status": "False", "message": hostile("CM", 5) }],
        "containerStatuses": [{
            "name": "main", "ready": false, "restartCount": 0, "image": "example/app:1", "imageID": "",
            "started": false,
            "state": { "waiting": { "reason": waiting, "message": hostile("WM", 6) } },
            "lastState": { "terminated": { "reason": last, "exitCode": 137, "message": hostile("TM", 1),
                                           "startedAt": "2026-11-26T11:00:01Z", "finishedAt": "2026-11-26T11:00:09Z" } },
        }],
    });
    if let Some(r) = pod_reason {
        status["reason"] = json!(r);
        status["message"] = json!(hostile("PM", 3));
    }
    status
}

/// Writes `status` on pod `name` once the harness kubelet reported it (so the kubelet's first
/// report cannot overwrite ours), and returns what the real API server stored.
async fn write_status(pods: &Api<Pod>, name: &str, status: Value) -> Pod {
    eventually(&format!("{name} reported by the kubelet"), Duration::from_secs(20), || async {
        let p = pods.get(name).await.map_err(|e| e.to_string())?;
        let reported =
            p.status.as_ref().and_then(|s| s.container_statuses.as_ref()).is_some_and(|c| !c.is_empty());
        if reported { Ok(()) } else { Err("no container status yet".into()) }
    })
    .await;
    pods.patch_status(name, &PatchParams::default(), &Patch::Merge(&json!({ "status": status })))
        .await
        .unwrap_or_else(|e| panic!("the real API server refused {name}'s status: {e}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_pod_statuses_from_a_real_api_server_are_drawn_safely() {
    let cp = ControlPlane::shared();
    let ns = unique_namespace("hostile");
    cp.namespace("us-east-1", &ns).await;
    for name in ["api-1", "api-2", "api-3"] {
        cp.pod("us-east-1", &ns, name, &[("app", "api"), behaviour("pending")]).await;
    }
    let pods: Api<Pod> = Api::namespaced(cp.client("us-east-1").await, &ns);
    // Control characters and escape sequences in reasons and messages: the real API server
    // accepts them and returns them as they were written.
    let stored =
        write_status(&pods, "api-1", hostile_status(None, &hostile("KR", 0), &hostile("LR", 4))).await;
    let cs = &stored.status.as_ref().and_then(|s| s.container_statuses.clone()).expect("statuses")[0];
    let waiting = cs.state.as_ref().and_then(|s| s.waiting.as_ref()).and_then(|w| w.reason.clone());
    assert_eq!(waiting, Some(hostile("KR", 0)), "stored unchanged");
    // A 1 MiB reason with a hyperlink at its end.
    write_status(&pods, "api-2", hostile_status(None, &format!("{}{LINK}", "R".repeat(1 << 20)), "x")).await;
    // A pod-level reason (as for an eviction) wins over the container's.
    write_status(&pods, "api-3", hostile_status(Some(&hostile("PR", 2)), "ContainerCreating", "y")).await;

    let clients = KubeClients::from_kubeconfig(Some(&cp.kubeconfig.to_string_lossy()), &["us-east-1".into()])
        .await
        .expect("clients");
    let obs = KubeObserver::start(&clients, observe_spec("us-east-1", &ns));
    kube_until(&obs, "hostile reasons observed", |v| {
        ["KR", "RRR", "PR"]
            .iter()
            .all(|tag| v.pods.iter().any(|p| p.reason.as_deref().is_some_and(|r| r.starts_with(tag))))
    })
    .await;
    let view = obs.observe().await.expect("view");
    let mut st = ui_fixtures::calm();
    st.domain.observed.kube = Arc::new(Snapshot::fresh(view, ui_fixtures::now()));
    let seen = draw_everywhere(&st);
    assert!(
        seen.contains("KR␛[2J"),
        "hostile reason not shown as a visible escape:
{seen}"
    );
    assert!(
        seen.contains("PR␛]52;c;"),
        "hostile pod-level reason not shown visibly:
{seen}"
    );
    assert!(seen.contains("RRR") && seen.contains('…'));

    // The same observations logged keep the log file clean.
    let dir = tempfile::tempdir().expect("tempdir");
    let (log, _) =
        IncidentLog::declare(dir.path(), "t", "SEV1", true, "op", ui_fixtures::now()).expect("declare");
    for i in observations::diff(&Observed::default(), &st.domain.observed, 0) {
        log.append(&i.kind, &i.summary, i.details).expect("append");
    }
    assert_file_plain("log of hostile pod observations", &std::fs::read(log.path()).expect("read"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn what_the_real_api_server_rejects_is_tested_on_the_test_server() {
    let big = json!({
        "metadata": { "name": "api-2", "labels": { "app": "api" }, "annotations": { "note": "n".repeat(1 << 20) } },
        "spec": { "containers": [{ "name": "main", "image": "example/app:1" }] },
    });
    // The real API server caps annotations at 256 KiB: this part cannot be served by it.
    let cp = ControlPlane::shared();
    let ns = unique_namespace("hostile-big");
    cp.namespace("us-east-1", &ns).await;
    let pods: Api<Pod> = Api::namespaced(cp.client("us-east-1").await, &ns);
    let pod: Pod = serde_json::from_value(big.clone()).expect("pod");
    match pods.create(&PostParams::default(), &pod).await {
        Err(kube::Error::Api(e)) => {
            assert_eq!(e.code, 422, "{e:?}");
            assert!(e.message.contains("annotations") && e.message.contains("Too long"), "{e:?}");
        }
        other => panic!("the real API server accepted a 1 MiB annotation: {other:?}"),
    }
    // Nor does it accept a control character in a label value: labels are never hostile there.
    let labelled: Pod = serde_json::from_value(json!({
        "metadata": { "name": "api-3", "labels": { "app": format!("api{ERASE}") } },
        "spec": { "containers": [{ "name": "main", "image": "example/app:1" }] },
    }))
    .expect("pod");
    match pods.create(&PostParams::default(), &labelled).await {
        Err(kube::Error::Api(e)) => assert_eq!(e.code, 422, "{e:?}"),
        other => panic!("the real API server accepted an escape in a label value: {other:?}"),
    }

    // On the test server: a hostile reason beside the 1 MiB annotation and a 1 MiB reason.
    let lab = KubeLab::start(&["us-east-1"]).await;
    let e = lab.server("us-east-1");
    e.add_pod("default", "api-1", &[("app", "api")]);
    e.set_pod_status("default", "api-1", waiting_status(&hostile("KR", 0), 3, &hostile("LR", 4)));
    let mut big = big;
    big["spec"]["nodeName"] = json!("node-1");
    big["status"] = support::kube_server::ready_status(true);
    e.create("Pod", "default", big);
    e.set_pod_status("default", "api-2", waiting_status(&format!("{}{LINK}", "R".repeat(1 << 20)), 1, "x"));
    let clients =
        KubeClients::from_kubeconfig(Some(&lab.kubeconfig.to_string_lossy()), &["us-east-1".into()])
            .await
            .expect("clients");
    let obs = KubeObserver::start(&clients, observe_spec("us-east-1", "default"));
    kube_until(&obs, "hostile reasons observed", |v| {
        v.pods.iter().any(|p| p.reason.as_deref().is_some_and(|r| r.starts_with("KR")))
            && v.pods.iter().any(|p| p.reason.as_deref().is_some_and(|r| r.starts_with("RRR")))
    })
    .await;
    let view = obs.observe().await.expect("view");
    let mut st = ui_fixtures::calm();
    st.domain.observed.kube = Arc::new(Snapshot::fresh(view, ui_fixtures::now()));
    let seen = draw_everywhere(&st);
    assert!(
        seen.contains("KR␛[2J"),
        "hostile reason not shown as a visible escape:
{seen}"
    );
    assert!(seen.contains("RRR") && seen.contains('…'));
}

#[tokio::test]
async fn a_postgres_dsn_error_and_a_redis_error_with_escapes_are_drawn_safely() {
    // PostgreSQL: a DSN whose option name is hostile (as a typo'd or pasted config would be).
    let cfg = PostgresConfig {
        max_lag_bytes: 0,
        service: None,
        nodes: vec![PgNodeConfig {
            name: "pg-0".into(),
            region: "r".into(),
            dsn: format!("host=127.0.0.1 port=1 user=postgres password=hunter2 x{CLIPBOARD}y=1"),
            password_env: None,
            pod: None,
            data_dir: None,
        }],
    };
    let timeouts =
        PgTimeouts { connect_timeout: Duration::from_secs(1), statement_timeout: Duration::from_secs(1) };
    let db = PostgresObserver::new(&cfg, timeouts).observe().await;
    let pg_err = match &db {
        Ok(v) => v.nodes[0].error.clone().expect("node error"),
        Err(e) => e.clone(),
    };
    assert!(pg_err.contains("]52;"), "the driver error does not echo the option: {pg_err}");
    assert!(!pg_err.contains("hunter2"), "password echoed: {pg_err}");

    // Redis: a server that answers every command with a hostile error.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    let reply = format!("-ERR {TITLE}{C1_CSI}{RLO} AUTH hunter2 {ERASE}\r\n");
    tokio::spawn(async move {
        while let Ok((mut sock, _)) = listener.accept().await {
            let reply = reply.clone();
            tokio::spawn(async move {
                let mut buf = [0u8; 4096];
                while let Ok(n) = sock.read(&mut buf).await {
                    if n == 0 || sock.write_all(reply.as_bytes()).await.is_err() {
                        break;
                    }
                }
            });
        }
    });
    let sentinel = SentinelObserver::new(
        &SentinelConfig { master: "mymaster".into(), addrs: vec![addr.to_string()], password_env: None },
        Duration::from_secs(1),
    );
    let sview = sentinel.observe().await;
    let redis_err = match &sview {
        Ok(v) => v.sentinels.iter().find_map(|s| s.error.clone()).expect("sentinel error"),
        Err(e) => e.clone(),
    };
    assert!(redis_err.contains("pwned-title"), "the Redis error is not passed through: {redis_err}");

    let mut st = ui_fixtures::calm();
    st.domain.observed.database = Arc::new(match db {
        Ok(v) => Snapshot::fresh(v, ui_fixtures::now()),
        Err(error) => Snapshot {
            value: None,
            fetched_at: None,
            freshness: warroom::backends::Freshness::Failed { error },
        },
    });
    st.domain.observed.sentinel = Arc::new(match sview {
        Ok(v) => Snapshot::fresh(v, ui_fixtures::now()),
        Err(error) => Snapshot {
            value: None,
            fetched_at: None,
            freshness: warroom::backends::Freshness::Failed { error },
        },
    });
    let seen = draw_everywhere(&st);
    assert!(seen.contains("␛]52;") || seen.contains("x␛"), "PG error not visible:\n{seen}");
    assert!(seen.contains("␛]0;pwned"), "Redis error not visible:\n{seen}");
    assert!(!seen.contains("hunter2"), "secret drawn:\n{seen}");

    // The same errors logged as observations keep the log file clean.
    let dir = tempfile::tempdir().expect("tempdir");
    let (log, _) =
        IncidentLog::declare(dir.path(), "t", "SEV1", true, "op", ui_fixtures::now()).expect("declare");
    let empty = Observed::default();
    for i in observations::diff(&empty, &st.domain.observed, 0) {
        log.append(&i.kind, &i.summary, i.details).expect("append");
    }
    let bytes = std::fs::read(log.path()).expect("read");
    assert_file_plain("log of hostile observations", &bytes);
    assert!(!String::from_utf8_lossy(&bytes).contains("hunter2"));
}
