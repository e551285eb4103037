//! What a person sees first: the help (getting started, the legend, every key), the footer's
//! keys that move the incident forward in each state, scroll indicators, a failing layer with
//! the address it tried, RESOLVED, the lag column. Drawn on ratatui's `TestBackend` with the
//! default keymap.

#[path = "support/ui_fixtures.rs"]
mod ui_fixtures;

use std::sync::Arc;

use ratatui::Terminal;
use ratatui::backend::TestBackend;

use warroom::app::runbook_flow::RunbookRun;
use warroom::app::{Modal, PaneId, State, StepStatus};
use warroom::backends::{Freshness, Snapshot};
use warroom::config::model::{PgNodeConfig, PostgresConfig, RegionConfig, SentinelConfig};
use warroom::config::{Config, Keymap, Theme};
use warroom::incident::entry::LogLine;
use warroom::ui::{UiContext, draw};

use ui_fixtures::{calm, now, primary_down, t};

fn ui() -> UiContext {
    UiContext { theme: Theme::fallback(), keymap: Keymap::preset("default").expect("default keymap") }
}

fn screen(state: &State, w: u16, h: u16) -> String {
    let mut term = Terminal::new(TestBackend::new(w, h)).expect("test backend");
    term.draw(|f| draw(f, state, &ui())).expect("draw");
    term.backend().to_string()
}

/// The footer row (the last) of a screen.
fn footer(state: &State, w: u16) -> String {
    let s = screen(state, w, 24);
    s.lines().last().expect("a footer").trim_matches('"').to_string()
}

fn help(scroll: usize) -> State {
    let mut st = calm();
    st.view.modal = Some(Modal::Help);
    st.view.help_scroll = scroll;
    st
}

// ------------------------------------------------------------------ help

#[test]
fn help_160x48() {
    insta::assert_snapshot!(screen(&help(0), 160, 48));
}

#[test]
fn help_80x24_first_page() {
    let s = screen(&help(0), 80, 24);
    assert!(s.contains("Getting started") && s.contains("lines 1-20 of"), "{s}");
    insta::assert_snapshot!(s);
}

#[test]
fn help_80x24_scrolled_to_the_legend() {
    let s = screen(&help(30), 80, 24);
    assert!(s.contains("▲ lines 31-50 of") && s.contains("▼ more"), "{s}");
    insta::assert_snapshot!(s);
}

#[test]
fn help_80x24_at_the_end_shows_the_last_keys() {
    let s = screen(&help(10_000), 80, 24);
    assert!(!s.contains("▼ more") && s.contains("▲ lines"), "the end says nothing more below: {s}");
    assert!(s.contains("Keys: This help"), "{s}");
}

// ------------------------------------------------------------------ footer

fn with_runbook(mut st: State, step_status: StepStatus) -> State {
    let rb = st.domain.runbooks.get("db-failover").expect("built-in db-failover").clone();
    st.domain.steps[0].status = step_status;
    st.domain.steps[0].runbook_key = Some("check-primary".into());
    st.domain.runbook = Some(RunbookRun {
        runbook: rb,
        params: vec![],
        steps: vec![(1, 0, None)],
        started_at: t(100),
        finished: None,
    });
    st
}

#[test]
fn footer_with_no_runbook_names_the_runbooks_key_first_at_80_columns() {
    let f = footer(&calm(), 80);
    assert!(f.starts_with("b runbooks · ? help"), "{f}");
    insta::assert_snapshot!("footer_no_runbook", f);
}

#[test]
fn footer_with_a_ready_step_names_next_step() {
    let f = footer(&with_runbook(calm(), StepStatus::Prechecked), 80);
    assert!(f.starts_with("N next step · ? help"), "{f}");
    assert!(!f.contains("runbooks"), "a runbook runs: the picker is not the way forward: {f}");
    insta::assert_snapshot!("footer_step_ready", f);
}

#[test]
fn footer_while_a_step_executes_has_nothing_to_press_forward() {
    let f = footer(&with_runbook(calm(), StepStatus::Executing), 80);
    assert!(f.starts_with("? help"), "{f}");
}

#[test]
fn footer_with_a_failed_step_names_retry_and_skip_in_the_steps_pane() {
    let failed = StepStatus::Failed { stage: warroom::app::step::Stage::Execute, reason: "boom".into() };
    let mut st = with_runbook(calm(), failed.clone());
    let f = footer(&st, 80);
    assert!(f.starts_with("N next step"), "outside the Steps pane, N selects it and says what to do: {f}");
    st.view.focus = PaneId::Steps;
    let f = footer(&st, 80);
    assert!(f.starts_with("r retry step · s skip step · ? help"), "{f}");
    insta::assert_snapshot!("footer_step_failed", f);
}

#[test]
fn footer_in_a_confirm_says_y_and_n() {
    let f = footer(&ui_fixtures::calm_with_low_risk_confirm(), 80);
    assert!(f.starts_with("y confirm · n cancel"), "{f}");
    insta::assert_snapshot!("footer_confirm", f);
}

#[test]
fn footer_read_only_and_resolved_offer_no_forward_keys() {
    let mut st = calm();
    st.domain.read_only = true;
    assert!(footer(&st, 80).starts_with("? help"));
    let mut st = calm();
    st.domain.resolved = Some((now(), "fixed".into()));
    assert!(footer(&st, 80).starts_with("? help"));
}

// ------------------------------------------------------------------ scroll indicators

fn many_log_lines(st: &mut State, n: u64) {
    st.domain.log_tail = (1..=n)
        .map(|seq| LogLine {
            seq,
            at: t(seq as i64),
            operator: "alice".into(),
            kind: "note".into(),
            summary: format!("note {seq}"),
        })
        .collect();
}

#[test]
fn lists_say_how_many_items_are_hidden() {
    let mut st = calm();
    many_log_lines(&mut st, 40);
    let s = screen(&st, 160, 48);
    // The log shows the newest entries; the older ones are counted above.
    assert!(s.contains("note 40") && !s.contains("note 1 "), "{s}");
    let shown =
        (1..=40).filter(|i| s.contains(&format!("note {i} ")) || s.contains(&format!("note {i}\""))).count();
    assert!(s.contains(&format!("▲ {} more", 40 - shown)), "{s}");
    insta::assert_snapshot!(s);
}

#[test]
fn the_checklist_says_what_is_below_at_80x24() {
    let s = screen(&calm(), 80, 24);
    let row = s.lines().find(|l| l.contains("Checklist")).expect("checklist title");
    assert!(row.contains("▼") && row.contains("more"), "{row}");
}

// ------------------------------------------------------------------ failing layers, resolved, lag

fn failing_config() -> Config {
    Config {
        regions: vec![RegionConfig {
            name: "us-east-1".into(),
            role: "primary".into(),
            kube_context: Some("east-admin".into()),
            health_live: Some("https://ops:hunter2@api.east.example.com/health/live".into()),
            health_ready: None,
            deployments: vec![],
            namespace: None,
            failover_replicas: None,
            set_identifier: None,
            health_check_id: None,
        }],
        postgres: Some(PostgresConfig {
            nodes: vec![PgNodeConfig {
                name: "postgresql-0".into(),
                region: "us-east-1".into(),
                dsn: "postgres://app:s3cret@10.0.1.30:5433/app".into(),
                password_env: None,
                pod: None,
                data_dir: None,
            }],
            ..PostgresConfig::default()
        }),
        sentinel: Some(SentinelConfig {
            master: "mymaster".into(),
            addrs: vec!["10.0.2.1:26379".into(), "10.0.2.2:26379".into()],
            password_env: None,
        }),
        ..Config::default()
    }
}

#[test]
fn a_failing_layer_names_the_address_it_tried_in_the_normal_pane() {
    let mut st = primary_down();
    st.domain.config = Arc::new(failing_config());
    let failed = |e: &str| Freshness::Failed { error: e.into() };
    st.domain.observed.sentinel =
        Arc::new(Snapshot { value: None, fetched_at: None, freshness: failed("connection refused") });
    let db_error = "password authentication failed for postgres://app:s3cret@10.0.1.30:5433";
    st.domain.observed.database =
        Arc::new(Snapshot { value: None, fetched_at: None, freshness: failed(db_error) });
    let s = screen(&st, 160, 48);
    assert!(s.contains("tried Sentinels 10.0.2.1:26379, 10.0.2.2:26379"), "{s}");
    assert!(s.contains("tried postgresql-0 10.0.1.30:5433"), "{s}");
    assert!(!s.contains("s3cret") && !s.contains("hunter2"), "{s}");
    assert!(!st.view.zoomed);
    insta::assert_snapshot!(s);
}

#[test]
fn resolved_shows_in_the_header_and_stops_the_checklist_timers() {
    let mut st = primary_down();
    let before = screen(&st, 160, 48);
    assert!(before.contains("OVERDUE") && before.contains("due in"), "{before}");
    st.domain.resolved = Some((now(), "replica promoted".into()));
    let s = screen(&st, 160, 48);
    assert!(s.lines().next().expect("header").contains(" RESOLVED "), "{s}");
    assert!(!s.contains("OVERDUE") && !s.contains("due in") && !s.contains("next in"), "{s}");
    assert!(s.contains("resolved: "), "{s}");
}

#[test]
fn the_lag_column_keeps_its_unit() {
    let mut st = calm();
    let mut db = (*st.domain.observed.database).clone();
    let v = db.value.as_mut().expect("db");
    v.nodes[1].replay_lag_bytes = Some(3 * 1024 * 1024 + 300 * 1024);
    v.nodes[1].replay_lag_seconds = Some(12.8);
    st.domain.observed.database = Arc::new(db);
    // Roomy: bytes and seconds, whole; narrower: the bytes alone, whole.
    let s = screen(&st, 160, 48);
    assert!(s.contains("3.3 MiB 12.8s"), "{s}");
    let s = screen(&st, 120, 32);
    assert!(s.contains(" 3.3 MiB "), "{s}");
}

#[test]
fn a_title_cut_at_80x24_wraps_onto_a_second_header_row() {
    let st = primary_down();
    let s = screen(&st, 80, 24);
    let rows: Vec<&str> = s.lines().take(2).collect();
    let both = rows.join(" ");
    for word in ["Primary", "database", "down:", "API", "returning", "500s", "us-east-1"] {
        assert!(both.contains(word), "{word}: {rows:?}");
    }
    assert!(rows[0].contains("FAILING"), "{rows:?}");
}

// ------------------------------------------------------------------ live declare prompt

#[test]
fn the_declare_prompt_is_drawn_over_the_panes_at_80x24() {
    use warroom::ui::declare::DeclareForm;
    let form =
        DeclareForm { title: "API 500s in us-east-1".into(), on_severity: true, ..DeclareForm::default() };
    let mut term = Terminal::new(TestBackend::new(80, 24)).expect("test backend");
    term.draw(|f| {
        draw(f, &calm(), &ui());
        warroom::ui::declare::draw(f, f.area(), &Theme::fallback(), &form);
    })
    .expect("draw");
    let s = term.backend().to_string();
    assert!(s.contains("Declare an incident") && s.contains("Title:    API 500s in us-east-1"), "{s}");
    assert!(s.contains("Pods") && s.contains("Log"), "the panes stay visible around it: {s}");
    assert!(s.lines().last().is_some_and(|l| l.contains("Esc leaves, nothing is written")), "{s}");
    insta::assert_snapshot!(s);
}
