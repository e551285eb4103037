use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use chrono::{DateTime, Duration, TimeZone, Utc};

use super::delta::KubeVal;
use super::*;
use crate::app::{Action, TextEdit};
use crate::backends::model::*;
use crate::backends::{Freshness, Snapshot};
use crate::command::Command;
use crate::incident::commander::{CommanderView, Holder};
use crate::incident::entry::{Entry, EntryKind, LogLine};
use crate::incident::recorder::{Limits, SegmentInfo, SegmentLog, SegmentWriter, read_raw};
use crate::operation::access::AccessAnswer;

fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 12, 6, 5, 0, 0).unwrap()
}

fn pod(ns: &str, name: &str, restarts: u32) -> PodRow {
    PodRow {
        context: "us-east-1".into(),
        namespace: ns.into(),
        name: name.into(),
        ready: 1,
        containers: 1,
        phase: "Running".into(),
        restarts,
        reason: None,
        started_at: Some(t0()),
        node: Some("node-1".into()),
        labels: BTreeMap::from([("app".into(), "api".into())]),
    }
}

fn kube(pods: Vec<PodRow>) -> KubeView {
    KubeView {
        pods: Arc::new(pods),
        deployments: vec![DeploymentRow {
            context: "us-east-1".into(),
            namespace: "prod".into(),
            name: "api".into(),
            desired: 3,
            ready: 3,
            available: 3,
        }],
        db_service: None,
        contexts: vec![ContextHealth { context: "us-east-1".into(), error: None, last_ok: Some(t0()) }],
    }
}

fn many(n: usize) -> Vec<PodRow> {
    let mut v: Vec<PodRow> = (0..n).map(|i| pod("prod", &format!("api-{i:05}"), 0)).collect();
    v.sort_by(|a, b| a.name.cmp(&b.name));
    v
}

fn holder() -> Holder {
    Holder {
        identity: "ana@host pid 1".into(),
        acquired_at: t0(),
        renewed_at: t0(),
        expires_at: t0(),
        clock: None,
    }
}

fn entry(seq: u64, kind: EntryKind, summary: &str) -> Entry {
    Entry {
        seq,
        ts: t0(),
        mono_ms: 5,
        operator: "ana@host".into(),
        kind,
        summary: summary.into(),
        details: serde_json::json!({"step": 3}),
        prev: "0".repeat(64),
    }
}

/// The variant's name; the match is exhaustive, so a new [`Action`] variant fails to compile
/// here until the round trip below covers it.
fn variant(a: &Action) -> &'static str {
    match a {
        Action::Tick => "Tick",
        Action::Command(_) => "Command",
        Action::Text(_) => "Text",
        Action::Resize(..) => "Resize",
        Action::HelpLimit(_) => "HelpLimit",
        Action::Kube(_) => "Kube",
        Action::Database(_) => "Database",
        Action::Sentinel(_) => "Sentinel",
        Action::Traffic(_) => "Traffic",
        Action::StepExecuted { .. } => "StepExecuted",
        Action::AccessChecked { .. } => "AccessChecked",
        Action::Logged(_) => "Logged",
        Action::Mirrored(_) => "Mirrored",
        Action::LogFailed(_) => "LogFailed",
        Action::Shutdown => "Shutdown",
        Action::Commander(_) => "Commander",
        Action::SharedStore(_) => "SharedStore",
        Action::Notified { .. } => "Notified",
    }
}

const VARIANTS: usize = 18;

fn every_action() -> Vec<Action> {
    let db = DatabaseView {
        nodes: vec![PgNodeStatus {
            name: "postgresql-0".into(),
            region: "us-east-1".into(),
            role: PgRole::Primary,
            lsn: Some(42),
            replay_lag_seconds: Some(0.25),
            ..Default::default()
        }],
    };
    let sentinel = SentinelView {
        master_name: "mymaster".into(),
        sentinels: vec![SentinelObs { addr: "s1:26379".into(), master: Some("r1:6379".into()), error: None }],
        quorum: Some(Err("NOQUORUM".into())),
        events: vec![SentinelEvent {
            at: t0(),
            sentinel: "s1".into(),
            kind: "+sdown".into(),
            detail: "x".into(),
        }],
        ..Default::default()
    };
    let traffic = TrafficView {
        record: "api.example.com".into(),
        ttl: Some(60),
        regions: vec![RegionTraffic {
            name: "us-east-1".into(),
            role: "primary".into(),
            weight: Some(100),
            failover_role: None,
            health_check: HealthState::Healthy,
            checkers: Some((8, 8)),
            live: Some(Probe { status: Some(200), latency_ms: 12, error: None }),
            ready: None,
            deploy_ready: Some((3, 3)),
        }],
        control_plane_error: None,
    };
    let at = t0();
    vec![
        Action::Tick,
        Action::Command(Command::Runbooks),
        Action::Text(TextEdit::Char('é')),
        Action::Text(TextEdit::Backspace),
        Action::Text(TextEdit::Cancel),
        Action::Resize(120, 40),
        Action::HelpLimit(42),
        Action::Kube(Arc::new(Snapshot::fresh(kube(many(20)), at))),
        Action::Kube(Arc::new(Snapshot {
            value: Some(kube(many(20))),
            fetched_at: Some(at),
            freshness: Freshness::Stale { since: at, error: "watch failed".into() },
        })),
        Action::Kube(Arc::new(Snapshot::pending())),
        Action::Database(Arc::new(Snapshot::fresh(db.clone(), at))),
        Action::Database(Arc::new(Snapshot {
            value: Some(db),
            fetched_at: Some(at),
            freshness: Freshness::BreakerOpen { retry_at: at, error: "refused".into() },
        })),
        Action::Sentinel(Arc::new(Snapshot::fresh(sentinel, at))),
        Action::Traffic(Arc::new(Snapshot::fresh(traffic, at))),
        Action::Traffic(Arc::new(Snapshot::not_configured())),
        Action::Sentinel(Arc::new(Snapshot {
            value: None,
            fetched_at: None,
            freshness: Freshness::Failed { error: "no route".into() },
        })),
        Action::StepExecuted { step: 3, result: Ok("promoted".into()) },
        Action::StepExecuted { step: 4, result: Err("timed out".into()) },
        Action::AccessChecked {
            step: 3,
            answers: vec![
                AccessAnswer::Allowed { user: "ana".into() },
                AccessAnswer::Denied { user: "ana".into(), reason: "rbac".into() },
                AccessAnswer::Unknown { error: "down".into() },
            ],
        },
        Action::Logged(LogLine {
            seq: 7,
            at,
            operator: "ana@host".into(),
            kind: EntryKind::Note,
            summary: "hello".into(),
        }),
        Action::Mirrored(Box::new(entry(8, EntryKind::StepConfirmed, "confirmed"))),
        Action::LogFailed("disk full".into()),
        Action::Commander(CommanderView::Mine {
            holder: holder(),
            took_over_from: None,
            warning: Some("w".into()),
        }),
        Action::Commander(CommanderView::Theirs { holder: holder() }),
        Action::Commander(CommanderView::Free { note: None }),
        Action::Commander(CommanderView::Lost { reason: "expired".into() }),
        Action::Commander(CommanderView::Unavailable { error: "io".into() }),
        Action::Commander(CommanderView::Pending),
        Action::Commander(CommanderView::Unknown),
        Action::SharedStore(crate::incident::shared::SharedStatus::Synced { at }),
        Action::SharedStore(crate::incident::shared::SharedStatus::Unreachable {
            error: "connection refused".into(),
            since: at,
            pending: 3,
        }),
        Action::Notified {
            target: "ops-slack".into(),
            kind: "slack".into(),
            outcome: crate::backends::notify::Outcome {
                attempts: 3,
                ok: false,
                status: "HTTP 500".into(),
                error: Some("HTTP 500".into()),
            },
        },
        Action::Shutdown,
    ]
}

/// Encode then decode, in order, each action at `t0 + i s`.
fn round_trip(encoder: &mut Encoder, actions: &[Action]) -> Vec<(DateTime<Utc>, Action)> {
    let mut records = Vec::new();
    for (i, a) in actions.iter().enumerate() {
        records.extend(encoder.encode(t0() + Duration::seconds(i as i64), a));
    }
    records.extend(encoder.flush());
    let mut d = Decoder::default();
    records
        .iter()
        .map(|r| match d.decode(r.ts, &r.bytes).expect("decodes") {
            Decoded::Action(a) => (r.ts, a),
            other => panic!("not an action: {other:?}"),
        })
        .collect()
}

#[test]
fn every_action_variant_round_trips() {
    let actions = every_action();
    let covered: std::collections::BTreeSet<_> = actions.iter().map(variant).collect();
    assert_eq!(covered.len(), VARIANTS, "every variant is in the list: {covered:?}");
    let back = round_trip(&mut Encoder::default(), &actions);
    assert_eq!(back.len(), actions.len());
    for (i, ((ts, got), want)) in back.iter().zip(&actions).enumerate() {
        assert_eq!(*ts, t0() + Duration::seconds(i as i64));
        assert_eq!(format!("{got:?}"), format!("{want:?}"), "action {i}");
    }
    // Every command by name, too.
    let cmds: Vec<Action> = Command::ALL.iter().map(|c| Action::Command(*c)).collect();
    let back = round_trip(&mut Encoder::default(), &cmds);
    assert_eq!(format!("{back:?}").matches("Command(").count(), Command::ALL.len());
    for ((_, got), want) in back.iter().zip(&cmds) {
        assert_eq!(format!("{got:?}"), format!("{want:?}"));
    }
}

fn kinds(encoder: &mut Encoder, views: &[KubeView]) -> Vec<&'static str> {
    views
        .iter()
        .enumerate()
        .map(|(i, v)| {
            let snap = Arc::new(Snapshot::fresh(v.clone(), t0() + Duration::seconds(i as i64)));
            let r = encoder.encode(t0() + Duration::seconds(i as i64), &Action::Kube(snap));
            let rec: Rec = serde_json::from_slice(&r[0].bytes).unwrap();
            match rec {
                Rec::A(ActionRec::Kube(k)) => match k.v {
                    KubeVal::Same => "same",
                    KubeVal::None => "none",
                    KubeVal::Key(_) => "key",
                    KubeVal::Delta(_) => "delta",
                },
                _ => panic!("not a kube record"),
            }
        })
        .collect()
}

/// A chain of 5,000-pod views as a drill varies them: a restart, a pod gone, a pod added,
/// nothing, a rollout replacing most pods, the Service changing.
fn chain() -> Vec<KubeView> {
    let base = many(5000);
    let mut views = vec![kube(base.clone())];
    let mut p = base.clone();
    p[10].restarts = 1;
    p[10].reason = Some("OOMKilled".into());
    views.push(kube(p.clone()));
    p.remove(20);
    views.push(kube(p.clone()));
    p.push(pod("prod", "api-99999", 0));
    p.insert(0, pod("a-first", "x", 0));
    views.push(kube(p.clone()));
    views.push(kube(p.clone()));
    let rollout: Vec<PodRow> = (0..5000).map(|i| pod("prod", &format!("api-v2-{i:05}"), 0)).collect();
    views.push(kube(rollout.clone()));
    let mut v = kube(rollout);
    v.db_service = Some(ServiceView {
        context: "us-east-1".into(),
        namespace: "prod".into(),
        name: "db".into(),
        selector: BTreeMap::new(),
        endpoint_pods: vec!["postgresql-1".into()],
        endpoints: vec![],
    });
    views.push(v.clone());
    v.db_service = None;
    views.push(v);
    views
}

#[test]
fn kube_snapshots_are_deltas_with_keyframes_and_decode_to_the_same_views() {
    let views = chain();
    let k = kinds(&mut Encoder::new(1000), &views);
    assert_eq!(
        k,
        ["key", "delta", "delta", "delta", "same", "key", "delta", "delta"],
        "a rollout is a keyframe"
    );
    let k = kinds(&mut Encoder::new(3), &views);
    assert_eq!(k, ["key", "delta", "delta", "key", "same", "key", "delta", "delta"], "a keyframe every 3");
    for every in [1, 3, 1000] {
        let actions: Vec<Action> = views
            .iter()
            .enumerate()
            .map(|(i, v)| {
                Action::Kube(Arc::new(Snapshot::fresh(v.clone(), t0() + Duration::seconds(i as i64))))
            })
            .collect();
        let back = round_trip(&mut Encoder::new(every), &actions);
        for (i, ((_, got), want)) in back.iter().zip(&views).enumerate() {
            let Action::Kube(s) = got else { panic!("kube") };
            assert_eq!(s.value.as_ref(), Some(want), "view {i} (keyframe every {every})");
            assert_eq!(s.fetched_at, Some(t0() + Duration::seconds(i as i64)));
        }
    }
    // A delta holds the changed pod only.
    let mut e = Encoder::new(1000);
    kinds(&mut e, &views[..1]);
    let r = e.encode(t0(), &Action::Kube(Arc::new(Snapshot::fresh(views[1].clone(), t0()))));
    assert!(r[0].bytes.len() < 600, "one pod's delta: {} bytes", r[0].bytes.len());
}

#[test]
fn a_delta_without_its_keyframe_is_an_error_not_a_guess() {
    let mut e = Encoder::new(1000);
    let views = chain();
    let snaps: Vec<_> =
        views.iter().map(|v| Action::Kube(Arc::new(Snapshot::fresh(v.clone(), t0())))).collect();
    let records: Vec<Encoded> = snaps.iter().flat_map(|a| e.encode(t0(), a)).collect();
    let mut d = Decoder::default();
    let err = d.decode(t0(), &records[1].bytes).unwrap_err();
    assert!(err.contains("without a keyframe"), "{err}");
}

/// A log that keeps what it is told.
#[derive(Default)]
struct Kept(Mutex<Vec<SegmentInfo>>);

impl SegmentLog for Kept {
    fn segment_closed(&self, info: &SegmentInfo) -> Result<(), String> {
        self.0.lock().unwrap().push(info.clone());
        Ok(())
    }
}

fn type_text(e: &mut Encoder, text: &str, at: &mut DateTime<Utc>) -> Vec<Encoded> {
    let mut out = e.encode(*at, &Action::Command(Command::Note));
    for c in text.chars() {
        *at += Duration::milliseconds(100);
        out.extend(e.encode(*at, &Action::Text(TextEdit::Char(c))));
        // Snapshots keep coming while someone types.
        out.extend(e.encode(*at, &Action::Tick));
    }
    out.extend(e.encode(*at, &Action::Text(TextEdit::Submit)));
    out
}

#[test]
fn no_secret_reaches_the_segment_bytes() {
    let dir = tempfile::tempdir().unwrap();
    let mut w =
        SegmentWriter::create(dir.path(), "c1", Limits::default(), Arc::new(Kept::default())).unwrap();
    let mut e = Encoder::default();
    let dsn_secret = "hunter2hunter2";
    let token = "eyJhbGciOiJIUzI1NiJ9secretsecret";
    let mut snap = Snapshot::fresh(kube(many(3)), t0());
    snap.freshness = Freshness::Stale {
        since: t0(),
        error: format!("connect postgres://app:{dsn_secret}@db:5432/app failed"),
    };
    let mut db = DatabaseView::default();
    db.nodes
        .push(PgNodeStatus { error: Some(format!("password={dsn_secret} rejected")), ..Default::default() });
    let mut records = e.encode(t0(), &Action::Kube(Arc::new(snap)));
    records.extend(e.encode(t0(), &Action::Database(Arc::new(Snapshot::fresh(db, t0())))));
    records.extend(e.encode(
        t0(),
        &Action::StepExecuted { step: 1, result: Err(format!("Authorization: Bearer {token}")) },
    ));
    let mut at = t0();
    records.extend(type_text(&mut e, &format!("rotated: token={token}"), &mut at));
    records.extend(type_text(&mut e, "all good", &mut at));
    for r in &records {
        w.write(r.ts, &r.bytes, r.urgent).unwrap();
    }
    w.close().unwrap();
    let seg = &crate::incident::recorder::consoles_in(dir.path())[0];
    let raw = read_raw(seg).unwrap();
    let plain: Vec<u8> = raw.records.iter().flat_map(|(_, b)| b.iter().copied()).collect();
    let text = String::from_utf8(plain).unwrap();
    for secret in [dsn_secret, token] {
        assert!(!text.contains(secret), "{secret} in the recording:\n{text}");
        // Nor one character at a time: the typed chars of the secret note were replaced.
        let spread: String =
            secret.chars().map(|c| format!("{{\"Char\":\"{c}\"}}")).collect::<Vec<_>>().join("");
        assert!(!text.replace(['\n', ' '], "").contains(&spread));
    }
    let mut d = Decoder::default();
    let typed: String = raw
        .records
        .iter()
        .filter_map(|(ts, b)| match d.decode(*ts, b).unwrap() {
            Decoded::Action(Action::Text(TextEdit::Char(c))) => Some(c),
            _ => None,
        })
        .collect();
    assert_eq!(typed, "rotated: token=***all good", "redacted where the secret was, the rest as typed");
    assert!(text.contains("connect postgres://"), "the error itself is kept:\n{text}");
}

#[test]
fn typing_without_a_secret_is_recorded_as_typed_in_order() {
    let mut e = Encoder::default();
    let mut at = t0();
    let recs = type_text(&mut e, "db ok", &mut at);
    let mut d = Decoder::default();
    let back: Vec<String> = recs
        .iter()
        .map(|r| match d.decode(r.ts, &r.bytes).unwrap() {
            Decoded::Action(a) => format!("{a:?}"),
            o => panic!("{o:?}"),
        })
        .collect();
    assert_eq!(back.len(), 1 + 5 * 2 + 1);
    assert_eq!(back[1], "Text(Char('d'))");
    assert_eq!(back[2], "Tick");
    assert_eq!(back.last().unwrap(), "Text(Submit)");
    assert!(recs.windows(2).all(|w| w[0].ts <= w[1].ts), "times stay in order");
}

#[test]
fn genesis_rebuilds_the_console_state() {
    use crate::app::state::IncidentInfo;
    let incident = IncidentInfo {
        id: "INC-20261206-050000-DRILL".into(),
        title: "Drill: primary-db-down".into(),
        severity: "SEV2".into(),
        declared_at: t0(),
        drill: true,
    };
    let config = Arc::new(crate::backends::drill::estate::config());
    let mut state =
        crate::app::State::new(crate::app::Mode::Drill, incident, "ana@host".into(), config, t0());
    state.domain.read_only = true;
    state.domain.warnings.push("w1".into());
    state.domain.recovery = crate::app::measure::Recovery::drill("primary-db-down", Some(t0()));
    state.domain.commander = CommanderView::Pending;
    let entries = vec![entry(1, EntryKind::Declared, "declared"), entry(2, EntryKind::Note, "a note")];
    let g = Genesis::capture("c1", &state, &entries, vec![], (100, 30));
    let bytes = Encoder::default().genesis(&g).bytes;
    let Decoded::Genesis(back) = Decoder::default().decode(t0(), &bytes).unwrap() else { panic!("genesis") };
    assert_eq!(*back, g);
    let s = genesis_state(&back);
    let (a, b) = (&s.domain, &state.domain);
    assert_eq!(a.incident, b.incident);
    assert_eq!((a.mode, a.read_only, &a.operator, a.now), (b.mode, b.read_only, &b.operator, b.now));
    assert_eq!(*a.config, *b.config, "the drill estate's configuration comes back");
    assert_eq!(a.recovery, b.recovery);
    assert_eq!(a.commander, b.commander);
    assert_eq!(a.warnings, b.warnings);
    assert_eq!(a.runbooks.ids(), b.runbooks.ids());
    assert_eq!(g.size, (100, 30));
}

#[test]
fn the_fast_path_never_skips_what_the_walk_would_hide() {
    // Clean records skip the walk; each of these must not.
    let mut p = pod("prod", "api-1", 0);
    p.labels.insert("db-password".into(), "plainvalue1".into());
    p.reason = Some("failed:\ntoken: multilinesecret".into());
    let mut q = pod("prod", "api-2", 0);
    q.reason = Some("AUTH default redispass9".into());
    let snap = Arc::new(Snapshot::fresh(kube(vec![p, q]), t0()));
    let bytes = Encoder::default().encode(t0(), &Action::Kube(snap)).remove(0).bytes;
    let text = String::from_utf8(bytes).unwrap();
    for secret in ["plainvalue1", "multilinesecret", "redispass9"] {
        assert!(!text.contains(secret), "{secret} in {text}");
    }
    assert!(!crate::text::redact::may_hold_secret(r#"{"A":{"Kube":{"h":{"a":5,"f":"Fresh"},"v":"Same"}}}"#));
}

#[test]
fn a_pasted_secret_and_composer_edits_are_recorded_redacted() {
    let mut e = Encoder::default();
    let token = "eyJhbGciOiJIUzI1NiJ9pastedsecret";
    let mut at = t0();
    let mut out = Vec::new();
    for edit in [
        TextEdit::Char('a'),
        TextEdit::Move(crate::app::composer::Motion::Home),
        TextEdit::Paste(format!("see token={token}\n")),
        TextEdit::Newline,
        TextEdit::Submit,
    ] {
        at += chrono::Duration::milliseconds(50);
        out.extend(e.encode(at, &Action::Text(edit)));
    }
    let text: String = out.iter().map(|r| String::from_utf8_lossy(&r.bytes).into_owned()).collect();
    assert!(!text.contains(token), "{text}");
    assert!(text.contains("Newline") && text.contains("Home"), "the other edits are kept: {text}");
    let mut d = Decoder::default();
    let kept: Vec<String> = out
        .iter()
        .filter_map(|r| match d.decode(r.ts, &r.bytes).unwrap() {
            Decoded::Action(Action::Text(TextEdit::Char(c))) => Some(c.to_string()),
            Decoded::Action(Action::Text(TextEdit::Paste(p))) => Some(p),
            _ => None,
        })
        .collect();
    assert_eq!(kept.concat(), "asee token=***\n");
}

#[test]
fn a_clean_paste_is_recorded_whole() {
    let mut e = Encoder::default();
    let mut out = e.encode(t0(), &Action::Text(TextEdit::Paste("line one\nline two".into())));
    out.extend(e.encode(t0(), &Action::Text(TextEdit::Submit)));
    let mut d = Decoder::default();
    let pasted: Vec<String> = out
        .iter()
        .filter_map(|r| match d.decode(r.ts, &r.bytes).unwrap() {
            Decoded::Action(Action::Text(TextEdit::Paste(p))) => Some(p),
            _ => None,
        })
        .collect();
    assert_eq!(pasted, ["line one\nline two"]);
}
