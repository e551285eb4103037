//! Secrets (DSN passwords in userinfo, `?password=` and keyword form, Redis AUTH, AWS secret
//! keys from env and config, kubeconfig tokens) never reach the drawn screen bytes, the
//! clipboard payload, the incident log file, the app's debug log (`<state dir>/warroom.log`,
//! written by `diagnostics::init`) or the text of a caught panic as shown and logged, even when
//! a backend error message echoes them.

#[path = "support/ui_fixtures.rs"]
mod ui_fixtures;

#[path = "hostile_support/mod.rs"]
mod hostile_support;

use std::process::Command as Process;
use std::sync::Arc;
use std::time::Duration;

use futures::future::BoxFuture;
use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use warroom::app::{Action, Effect, Modal, TextEdit, update};
use warroom::backends::poller::{self, PollerConfig};
use warroom::backends::{Freshness, Observe, Observed, Snapshot};
use warroom::command::Command;
use warroom::incident::entry::EntryKind;
use warroom::incident::log::IncidentLog;
use warroom::incident::observations;
use warroom::tui::output::osc52;

use hostile_support::{base64_decode, quiet_bytes, screen_rows, terminal_text};

const AWS_SECRET: &str = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";
const KUBE_TOKEN: &str = "eyJhbGciOiJSUzI1NiJ9.S3cretKube.sig";

/// Fragments that must never be seen: every secret below contains one.
const MARKERS: [&str; 3] = ["S3cret", "wJalrXUtnFEMI", "eyJhbGciOiJSUzI1NiJ9"];

/// Backend error messages that echo a secret, one per form.
fn echoing_errors() -> Vec<String> {
    vec![
        "connection to postgres://app:S3cretUser1@db.internal:5432/app failed: timeout".into(),
        "GET postgresql://db.internal/app?sslmode=require&password=S3cretQuery2 refused".into(),
        "invalid dsn: host=db user=app password=S3cretKw3 dbname=app: bad port".into(),
        "dsn host=db password='S3cret Kw 4' port=x".into(),
        "redis://:S3cretRedis5@10.0.0.1:6379/0: connection refused".into(),
        "ERR unknown command 'AUTH', with args beginning with: 'S3cretAuth6' ".into(),
        "AUTH default S3cretAuth7: WRONGPASS".into(),
        format!("credentials: aws_secret_access_key = {AWS_SECRET} rejected"),
        format!("env AWS_SECRET_ACCESS_KEY={AWS_SECRET}"),
        format!("kubeconfig user: token: {KUBE_TOKEN}"),
        format!("401 Unauthorized (Authorization: Bearer {KUBE_TOKEN})"),
        "sentinel auth-pass S3cretSentinel8 rejected".into(),
    ]
}

fn assert_no_secret(what: &str, text: &str) {
    for m in MARKERS {
        if let Some(i) = text.find(m) {
            let from = text[..i].char_indices().rev().nth(60).map_or(0, |(k, _)| k);
            panic!("{what}: secret {m:?} visible after {:?}", &text[from..i]);
        }
    }
}

/// The primary-down estate with a secret-echoing error in every error field.
fn leaky_state() -> warroom::app::State {
    let errs = echoing_errors();
    let e = |i: usize| errs[i % errs.len()].clone();
    let mut st = ui_fixtures::primary_down();
    let mut kube = st.domain.observed.kube.value.clone().expect("kube");
    kube.contexts[0].error = Some(e(9));
    std::sync::Arc::make_mut(&mut kube.pods)[1].reason = Some(e(10));
    st.domain.observed.kube = Arc::new(Snapshot {
        value: Some(kube),
        fetched_at: st.domain.observed.kube.fetched_at,
        freshness: Freshness::Stale { since: ui_fixtures::t(690), error: e(0) },
    });
    let mut db = st.domain.observed.database.value.clone().expect("db");
    db.nodes[0].error = Some(e(1));
    db.nodes[1].error = Some(e(2));
    st.domain.observed.database = Arc::new(Snapshot::fresh(db, ui_fixtures::t(721)));
    let view = warroom::backends::model::SentinelView {
        master_name: "mymaster".into(),
        sentinels: (0..4)
            .map(|i| warroom::backends::model::SentinelObs {
                addr: format!("10.0.0.{i}:26379"),
                master: None,
                error: Some(e(4 + i)),
            })
            .collect(),
        ..Default::default()
    };
    st.domain.observed.sentinel = Arc::new(Snapshot::fresh(view, ui_fixtures::t(722)));
    let mut traffic = st.domain.observed.traffic.value.clone().expect("traffic");
    traffic.control_plane_error = Some(e(7));
    if let Some(p) = traffic.regions[0].live.as_mut() {
        p.error = Some(e(8));
    }
    st.domain.observed.traffic = Arc::new(Snapshot {
        value: Some(traffic),
        fetched_at: st.domain.observed.traffic.fetched_at,
        freshness: Freshness::BreakerOpen { retry_at: ui_fixtures::t(743), error: e(11) },
    });
    let sel = st.view.selected[warroom::app::PaneId::Steps.index()];
    st.domain.steps[sel].output.push(e(3));
    st.view.flash = Some((e(5), ui_fixtures::t(700)));
    st.domain.warnings = vec![e(6)];
    st
}

#[test]
fn echoed_secrets_never_reach_the_screen_bytes() {
    let st = leaky_state();
    let ui = ui_fixtures::ctx();
    let mut seen_masks = 0;
    for (w, h) in [(250, 70), (200, 60), (120, 40), (80, 24)] {
        for zoom in std::iter::once(None).chain(warroom::app::PaneId::ALL.into_iter().map(Some)) {
            let mut s = st.clone();
            if let Some(p) = zoom {
                s.view.focus = p;
                s.view.zoomed = true;
            }
            let text = terminal_text(&quiet_bytes(&s, &ui, w, h)).expect("terminal bytes");
            assert_no_secret(&format!("{w}x{h} {zoom:?} bytes"), &text);
            let rows = screen_rows(&s, &ui, w, h).join("\n");
            assert_no_secret(&format!("{w}x{h} {zoom:?} screen"), &rows);
            seen_masks += rows.matches("***").count();
        }
    }
    assert!(seen_masks > 20, "the errors were not drawn (only {seen_masks} masks seen)");
}

#[test]
fn echoed_secrets_never_reach_the_clipboard() {
    let mut st = leaky_state();
    st.domain.incident.title = "db down; tried postgres://app:S3cretTitle@db/x".into();
    let now = st.domain.now;
    update(&mut st, Action::Command(Command::StatusUpdate), now);
    assert!(matches!(st.view.modal, Some(Modal::Composer { .. })));
    let fx = update(&mut st, Action::Text(TextEdit::Submit), now);
    let copied = fx.iter().find_map(|e| if let Effect::Copy(t) = e { Some(t.clone()) } else { None });
    let copied = copied.expect("copied");
    assert_no_secret("clipboard text", &copied);
    let seq = osc52(&copied);
    let body = seq.strip_prefix("\u{1b}]52;c;").and_then(|s| s.strip_suffix('\u{7}')).expect("OSC 52");
    assert_no_secret(
        "clipboard payload",
        &String::from_utf8(base64_decode(body).expect("b64")).expect("utf-8"),
    );
}

#[test]
fn echoed_secrets_never_reach_the_incident_log_file() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (log, _) = IncidentLog::declare(
        dir.path(),
        "db down: postgres://app:S3cretDeclared@db/x",
        "SEV1",
        false,
        "alice@h",
        ui_fixtures::now(),
    )
    .expect("declare");
    for i in observations::diff(&Observed::default(), &leaky_state().domain.observed, 0) {
        log.append(&i.kind, &i.summary, i.details).expect("append");
    }
    for (n, e) in echoing_errors().into_iter().enumerate() {
        log.append(&EntryKind::StepFailed, &e, json!({ "error": e, "n": n, "nested": [{ "msg": e }] }))
            .expect("append");
    }
    log.append(
        &EntryKind::Note,
        "config",
        json!({
            "password": "S3cretJson9",
            "PGPASSWORD": "S3cretJson10",
            "aws": { "aws_secret_access_key": AWS_SECRET, "AWS_SECRET_ACCESS_KEY": AWS_SECRET },
            "kube": { "token": KUBE_TOKEN, "client-key-data": "S3cretKeyData" },
            "list": [format!("token={KUBE_TOKEN}")],
        }),
    )
    .expect("append");
    let bytes = std::fs::read(log.path()).expect("read");
    let text = String::from_utf8(bytes).expect("utf-8");
    assert_no_secret("incident log file", &text);
    assert!(text.matches("***").count() >= 15, "{text}");
}

/// An observer that panics with a message echoing secrets and escapes.
struct PanickingObserver;

impl Observe for PanickingObserver {
    type Output = warroom::backends::model::DatabaseView;
    fn name(&self) -> &str {
        "postgres"
    }
    fn observe(&self) -> BoxFuture<'_, Result<Self::Output, String>> {
        Box::pin(async {
            panic!(
                "driver bug on postgres://app:S3cretPanic@db/x password=S3cretPanic2 \u{1b}]52;c;aGk=\u{7}"
            )
        })
    }
}

#[tokio::test]
async fn a_panicking_source_shows_and_logs_its_error_without_the_secret() {
    let cfg = PollerConfig {
        interval: Duration::from_millis(50),
        timeout: Duration::from_secs(1),
        breaker_failures: 100,
        breaker_open: Duration::from_secs(1),
    };
    let mut rx = poller::spawn(PanickingObserver, cfg, None);
    let snap = tokio::time::timeout(Duration::from_secs(5), async {
        loop {
            rx.changed().await.expect("poller alive");
            let s = rx.borrow().clone();
            if matches!(s.freshness, Freshness::Failed { .. }) {
                return s;
            }
        }
    })
    .await
    .expect("the panic shows as a failure within 5 s");
    let Freshness::Failed { error } = &snap.freshness else { unreachable!() };
    assert!(error.contains("crashed"), "{error}");
    let mut st = ui_fixtures::calm();
    st.domain.observed.database = snap.clone();
    let ui = ui_fixtures::ctx();
    let text = terminal_text(&quiet_bytes(&st, &ui, 200, 60)).expect("bytes");
    assert_no_secret("screen after a panic", &text);
    assert!(text.contains("crashed"), "the panic is not shown");
    let dir = tempfile::tempdir().expect("tempdir");
    let (log, _) =
        IncidentLog::declare(dir.path(), "t", "SEV1", true, "op", ui_fixtures::now()).expect("declare");
    for i in observations::diff(&ui_fixtures::calm().domain.observed, &st.domain.observed, 0) {
        log.append(&i.kind, &i.summary, i.details).expect("append");
    }
    let logged = std::fs::read_to_string(log.path()).expect("read");
    assert!(logged.contains("crashed"), "the panic is not logged: {logged}");
    assert_no_secret("log after a panic", &logged);
}

/// A Redis/Sentinel stand-in that answers every command as Redis does an unknown one, echoing
/// its arguments (`ERR unknown command 'AUTH', with args beginning with: 'pw'`).
async fn echoing_redis() -> std::net::SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move {
        while let Ok((mut sock, _)) = listener.accept().await {
            tokio::spawn(async move {
                let mut buf = vec![0u8; 65536];
                while let Ok(n) = sock.read(&mut buf).await {
                    if n == 0 {
                        break;
                    }
                    let req = String::from_utf8_lossy(&buf[..n]);
                    let words: Vec<&str> =
                        req.split("\r\n").filter(|l| !l.is_empty() && !l.starts_with(['*', '$'])).collect();
                    let (cmd, args) = words.split_first().map_or(("", &[][..]), |(c, a)| (*c, a));
                    let args: String = args.iter().map(|a| format!("'{a}' ")).collect();
                    let reply = format!("-ERR unknown command '{cmd}', with args beginning with: {args}\r\n");
                    if sock.write_all(reply.as_bytes()).await.is_err() {
                        break;
                    }
                }
            });
        }
    });
    addr
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_real_binary_keeps_secrets_out_of_stdout_stderr_and_its_debug_log() {
    let redis = echoing_redis().await;
    let home = tempfile::tempdir().expect("tempdir");
    let kubeconfig = home.path().join("kubeconfig");
    std::fs::write(
        &kubeconfig,
        format!(
            "apiVersion: v1\nkind: Config\ncurrent-context: us-east-1\nclusters:\n- name: c\n  cluster:\n    \
             server: http://{redis}\ncontexts:\n- name: us-east-1\n  context:\n    cluster: c\n    user: u\n\
             users:\n- name: u\n  user:\n    token: {KUBE_TOKEN}\n"
        ),
    )
    .expect("kubeconfig");
    let config = home.path().join("warroom.toml");
    std::fs::write(
        &config,
        format!(
            r#"
[[regions]]
name = "us-east-1"
role = "primary"
kube_context = "us-east-1"
health_live = "http://{redis}/health/live"

[kubernetes]
kubeconfig = "{kc}"
namespaces = ["default"]

[[postgres.nodes]]
name = "pg-0"
region = "us-east-1"
dsn = "host=127.0.0.1 port={port} user=postgres dbname=postgres connect_timeout=1"
password_env = "WARROOM_PG_PASSWORD"

[sentinel]
master = "mymaster"
addrs = ["{redis}"]
password_env = "WARROOM_REDIS_PASSWORD"

[route53]
hosted_zone_id = "Z0123456789"
record = "api.example.com."
endpoint_url = "http://{redis}"
"#,
            kc = kubeconfig.display(),
            port = redis.port(),
        ),
    )
    .expect("config");
    let out = tokio::task::spawn_blocking(move || {
        let out = Process::new(env!("CARGO_BIN_EXE_warroom"))
            .args(["--config", &config.to_string_lossy(), "status", "--json"])
            .env("HOME", home.path())
            .env("XDG_CONFIG_HOME", home.path().join("config"))
            .env("XDG_STATE_HOME", home.path().join("state"))
            .env("WARROOM_DATA_DIR", home.path().join("data"))
            .env("WARROOM_LOG", "trace")
            .env("WARROOM_PG_PASSWORD", "S3cretPgEnv")
            .env("PGPASSWORD", "S3cretPgEnv2")
            .env("WARROOM_REDIS_PASSWORD", "S3cretRedisEnv")
            .env("AWS_ACCESS_KEY_ID", "AKIAIOSFODNN7EXAMPLE")
            .env("AWS_SECRET_ACCESS_KEY", AWS_SECRET)
            .env("AWS_REGION", "us-east-1")
            .env("AWS_EC2_METADATA_DISABLED", "true")
            .env_remove("WARROOM_CONFIG")
            .output()
            .expect("run warroom");
        (out, home)
    })
    .await
    .expect("join");
    let (out, home) = out;
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    // Exit 4: layers that could not be read (here the passwords are refused); never a crash.
    assert_eq!(out.status.code(), Some(4), "status: {stderr}");
    assert!(stderr.starts_with("warroom status: could not read "), "{stderr}");
    assert!(stdout.contains("\"sentinel\""), "{stdout}");
    // The password was really sent (and the answer kept it out of the message).
    assert!(stdout.contains("authentication"), "{stdout}");
    assert_no_secret("status stdout", &stdout);
    assert_no_secret("status stderr", &stderr);
    let debug_log =
        std::fs::read_to_string(home.path().join("state/warroom/warroom.log")).expect("debug log");
    assert!(!debug_log.is_empty(), "nothing traced");
    assert_no_secret("debug log", &debug_log);
}

#[test]
fn a_config_with_a_password_in_a_dsn_is_refused_without_echoing_it() {
    let home = tempfile::tempdir().expect("tempdir");
    let config = home.path().join("warroom.toml");
    std::fs::write(
        &config,
        "[[postgres.nodes]]\nname = \"pg-0\"\ndsn = \"postgres://app:S3cretInConfig@db/x?password=S3cretQ\"\n\
         [[postgres.nodes]]\nname = \"pg-1\"\ndsn = \"host=db password=S3cretKwConfig\"\n",
    )
    .expect("config");
    for args in [vec!["check"], vec!["status", "--json"]] {
        let out = Process::new(env!("CARGO_BIN_EXE_warroom"))
            .arg("--config")
            .arg(&config)
            .args(&args)
            .env("HOME", home.path())
            .env("XDG_CONFIG_HOME", home.path().join("config"))
            .env("XDG_STATE_HOME", home.path().join("state"))
            .output()
            .expect("run warroom");
        let all = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
        assert!(!out.status.success(), "{args:?} accepted a password in a dsn: {all}");
        assert!(all.contains("password"), "{args:?}: the refusal does not say why: {all}");
        assert_no_secret(&format!("{args:?}"), &all);
    }
}
