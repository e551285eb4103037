//! UI snapshots (text only) and explicit cell-style checks, drawn on ratatui's `TestBackend`.

#[path = "support/ui_fixtures.rs"]
mod ui_fixtures;

use std::sync::Arc;

use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::buffer::Buffer;
use ratatui::style::Style;

use warroom::app::{Modal, PaneId, State};
use warroom::backends::Snapshot;
use warroom::config::theme::Slot;
use warroom::ui::panes::PaneCtx;
use warroom::ui::{UiContext, draw};

use ui_fixtures::{calm, calm_with_low_risk_confirm, ctx, many_pods, now, primary_down, proposals};

fn render_with(state: &State, ui: &UiContext, w: u16, h: u16) -> Terminal<TestBackend> {
    let mut term = Terminal::new(TestBackend::new(w, h)).expect("test backend");
    term.draw(|f| draw(f, state, ui)).expect("draw");
    term
}

fn render(state: &State, w: u16, h: u16) -> Terminal<TestBackend> {
    render_with(state, &ctx(), w, h)
}

fn screen(state: &State, w: u16, h: u16) -> String {
    render(state, w, h).backend().to_string()
}

/// Positions of every occurrence of `needle` (narrow characters only) in the buffer.
fn find_all(buf: &Buffer, needle: &str) -> Vec<(u16, u16)> {
    let chars: Vec<String> = needle.chars().map(String::from).collect();
    let mut out = Vec::new();
    let area = buf.area;
    for y in area.top()..area.bottom() {
        for x in area.left()..area.right() {
            let fits = chars.iter().enumerate().all(|(i, c)| {
                let cx = x + i as u16;
                cx < area.right() && buf[(cx, y)].symbol() == c
            });
            if fits {
                out.push((x, y));
            }
        }
    }
    out
}

fn assert_styled(buf: &Buffer, at: (u16, u16), want: Style, what: &str) {
    let cell = &buf[at];
    assert_eq!(Some(cell.fg), want.fg, "{what} at {at:?}: foreground");
    assert!(cell.modifier.contains(want.add_modifier), "{what} at {at:?}: modifiers {:?}", cell.modifier);
}

// ------------------------------------------------------------------ snapshots: main screen

#[test]
fn calm_80x24() {
    insta::assert_snapshot!(screen(&calm(), 80, 24));
}

#[test]
fn calm_160x48() {
    insta::assert_snapshot!(screen(&calm(), 160, 48));
}

#[test]
fn primary_down_80x24() {
    insta::assert_snapshot!(screen(&primary_down(), 80, 24));
}

#[test]
fn primary_down_160x48() {
    insta::assert_snapshot!(screen(&primary_down(), 160, 48));
}

// ------------------------------------------------------------------ snapshots: modals

#[test]
fn confirm_low_risk() {
    insta::assert_snapshot!(screen(&calm_with_low_risk_confirm(), 100, 30));
}

#[test]
fn confirm_high_risk_with_failed_precheck() {
    let mut st = primary_down();
    st.view.modal = Some(Modal::Confirm { step: 3, typed: "postgresql-".into() });
    insta::assert_snapshot!(screen(&st, 100, 30));
}

#[test]
fn confirm_read_only_says_confirmation_is_disabled() {
    let mut st = primary_down();
    st.domain.read_only = true;
    st.view.modal = Some(Modal::Confirm { step: 2, typed: String::new() });
    let text = screen(&st, 100, 30);
    assert!(text.contains("READ-ONLY console: confirmation is disabled"), "{text}");
    assert!(text.contains("READ-ONLY"), "header badge missing: {text}");
    assert!(!text.contains("and press Enter"), "{text}");
}

#[test]
fn help_overlay() {
    let mut st = calm();
    st.view.modal = Some(Modal::Help);
    insta::assert_snapshot!(screen(&st, 80, 24));
}

#[test]
fn help_overlay_scrolls_and_clamps() {
    let mut st = calm();
    st.view.modal = Some(Modal::Help);
    let top = screen(&st, 80, 24);
    assert!(top.contains("Getting started"), "{top}");
    assert!(top.contains("more "), "a long help says there is more: {top}");
    st.view.help_scroll = 12;
    let scrolled = screen(&st, 80, 24);
    assert_ne!(top, scrolled);
    assert!(!scrolled.contains("Getting started"), "{scrolled}");
    // Scrolling past the end clamps: the last section is visible.
    st.view.help_scroll = 10_000;
    let end = screen(&st, 80, 24);
    assert!(end.contains("Close help"), "{end}");
    let n = warroom::ui::help::line_count(&ctx().keymap);
    assert!(n > 20, "help has every layer: {n}");
}

#[test]
fn actions_menu() {
    let mut st = primary_down();
    st.view.modal = Some(Modal::Actions { items: proposals(), selected: 0 });
    insta::assert_snapshot!(screen(&st, 80, 24));
}

#[test]
fn prompt_shows_label_text_and_cursor() {
    let mut st = primary_down();
    st.view.modal = Some(Modal::Prompt {
        purpose: warroom::app::state::PromptPurpose::Note,
        label: "Note for the incident log".into(),
        text: "paged dba\u{1b}[2J team".into(),
    });
    let text = screen(&st, 80, 24);
    assert!(text.contains("Note for the incident log"), "{text}");
    assert!(text.contains("> paged dba␛[2J team█"), "{text}");
}

#[test]
fn zoomed_pods_pane() {
    let mut st = primary_down();
    st.view.focus = PaneId::Pods;
    st.view.zoomed = true;
    insta::assert_snapshot!(screen(&st, 80, 24));
}

#[test]
fn too_small_message() {
    let text = screen(&calm(), 50, 12);
    assert!(text.contains("terminal too small (need 60x16, have 50x12)"), "{text}");
    insta::assert_snapshot!(text);
}

// ------------------------------------------------------------------ cell styles

#[test]
fn down_node_is_drawn_in_the_down_style() {
    let st = primary_down();
    let ui = ctx();
    for (w, h) in [(80, 24), (160, 48)] {
        let term = render_with(&st, &ui, w, h);
        let buf = term.backend().buffer();
        let hits = find_all(buf, "DOWN");
        assert!(!hits.is_empty(), "DOWN not drawn at {w}x{h}");
        for at in hits {
            assert_styled(buf, at, ui.theme.style(Slot::StatusDown), "DOWN");
        }
    }
}

#[test]
fn healthy_dots_are_drawn_in_the_healthy_style() {
    let st = calm();
    let ui = ctx();
    let term = render_with(&st, &ui, 160, 48);
    let buf = term.backend().buffer();
    let dots = find_all(buf, "●");
    assert!(dots.len() >= 10, "fresh badges, pods, replicas: {}", dots.len());
    for at in dots {
        assert_styled(buf, at, ui.theme.style(Slot::StatusHealthy), "●");
    }
}

#[test]
fn stale_badge_is_drawn_in_the_stale_style() {
    let st = primary_down();
    let ui = ctx();
    let term = render_with(&st, &ui, 160, 48);
    let buf = term.backend().buffer();
    let hits = find_all(buf, "◐ stale");
    assert_eq!(hits.len(), 1, "one stale pane (Pods)");
    assert_styled(buf, hits[0], ui.theme.style(Slot::StatusStale), "stale badge");
    let failed = find_all(buf, "✗ failed:");
    assert_eq!(failed.len(), 1, "one failed pane (Sentinel)");
    assert_styled(buf, failed[0], ui.theme.style(Slot::StatusDown), "failed badge");
    let open = find_all(buf, "⊘ circuit open, retry in 20s");
    assert_eq!(open.len(), 1, "breaker open on Traffic");
}

#[test]
fn focused_pane_border_uses_the_focused_style() {
    let mut st = calm();
    st.view.focus = PaneId::Traffic;
    let ui = ctx();
    let term = render_with(&st, &ui, 160, 48);
    let buf = term.backend().buffer();
    let title = find_all(buf, "▶Traffic");
    assert_eq!(title.len(), 1, "focus marker on the Traffic title");
    let (x, y) = title[0];
    assert_styled(buf, (x - 1, y), ui.theme.style(Slot::PaneBorderFocused), "focused border");
    assert_eq!(find_all(buf, "▶").len(), 1, "only one pane is focused");
}

#[test]
fn split_brain_and_disagreement_raise_header_alarms() {
    let mut st = calm();
    let mut db = st.domain.observed.database.value.clone().expect("calm has database data");
    db.nodes[1].role = warroom::backends::model::PgRole::Primary;
    st.domain.observed.database = Arc::new(Snapshot::fresh(db, now()));
    let mut s = st.domain.observed.sentinel.value.clone().expect("calm has sentinel data");
    s.sentinels[2].master = Some("10.0.1.11:6379".into());
    st.domain.observed.sentinel = Arc::new(Snapshot::fresh(s, now()));
    let ui = ctx();
    let term = render_with(&st, &ui, 160, 48);
    let buf = term.backend().buffer();
    let sb = find_all(buf, "SPLIT-BRAIN");
    assert!(sb.iter().any(|(_, y)| *y == 0), "header alarm: {sb:?}");
    for at in sb {
        assert_styled(buf, at, ui.theme.style(Slot::Alarm), "split brain alarm");
    }
    assert!(find_all(buf, "SENTINELS DISAGREE").iter().any(|(_, y)| *y == 0));
    // Still visible at 80 columns (the title gives way first).
    let small = screen(&st, 80, 24);
    let first = small.lines().next().unwrap_or_default().to_string();
    assert!(first.contains("SPLIT-BRAIN") && first.contains("SENTINELS DISAGREE"), "{first}");
}

// ------------------------------------------------------------------ robustness

#[test]
fn never_panics_at_any_size() {
    let mut states = vec![calm(), primary_down(), calm_with_low_risk_confirm()];
    let mut help = calm();
    help.view.modal = Some(Modal::Help);
    states.push(help);
    let mut actions = primary_down();
    actions.view.modal = Some(Modal::Actions { items: proposals(), selected: 99 });
    states.push(actions);
    let mut confirm = primary_down();
    confirm.view.modal = Some(Modal::Confirm { step: 3, typed: "x".repeat(300) });
    states.push(confirm);
    let mut zoom = primary_down();
    zoom.view.zoomed = true;
    zoom.view.selected = [usize::MAX; 7];
    states.push(zoom);
    let mut empty = calm();
    empty.domain.observed = Default::default();
    empty.domain.steps.clear();
    empty.domain.checklist.items.clear();
    empty.domain.log_tail.clear();
    states.push(empty);
    let sizes = [0u16, 1, 2, 3, 10, 15, 16, 23, 24, 31, 32, 59, 60, 79, 80, 119, 120, 250];
    for st in &states {
        for w in sizes {
            for h in sizes.iter().copied().filter(|h| *h <= 80) {
                let _ = render(st, w, h);
            }
        }
    }
}

#[test]
fn hostile_backend_text_never_reaches_the_terminal() {
    let mut st = primary_down();
    let mut kube = st.domain.observed.kube.value.clone().expect("kube data");
    let pods = std::sync::Arc::make_mut(&mut kube.pods);
    pods[0].name = "evil\u{1b}]52;c;aGk=\u{7}pod".into();
    pods[0].reason = Some("\u{9b}2J\u{202e}gnp.exe".into());
    st.domain.observed.kube = Arc::new(Snapshot::fresh(kube, now()));
    st.domain.warnings = vec!["bad \u{1b}[31mfile\u{7}".into()];
    st.view.focus = PaneId::Pods;
    st.view.zoomed = true;
    let term = render(&st, 160, 48);
    let buf = term.backend().buffer();
    for cell in buf.content() {
        assert!(
            !cell.symbol().chars().any(warroom::text::is_unsafe),
            "control character drawn: {:?}",
            cell.symbol()
        );
    }
    let text = term.backend().to_string();
    assert!(text.contains("evil␛]52;c;aGk=␇pod"), "{text}");
    assert!(text.contains("bad ␛[31mfile␇"), "{text}");
}

/// The Pods pane alone, drawn compact (as on an 80x24 screen) `w` columns wide: its lines.
fn pods_pane(st: &State, w: u16, h: u16) -> Vec<String> {
    let ui = ctx();
    let mut term = Terminal::new(TestBackend::new(w, h)).expect("test backend");
    term.draw(|f| {
        let cx = PaneCtx { state: st, theme: &ui.theme, keymap: &ui.keymap, focused: false, compact: true };
        warroom::ui::panes::draw(f, f.area(), PaneId::Pods, &cx);
    })
    .expect("draw");
    let buf = term.backend().buffer();
    (0..h).map(|y| (0..w).map(|x| buf[(x, y)].symbol()).collect()).collect()
}

/// `st` with two pods in eu-central-1 (the longest region name), one of them crash-looping.
fn with_eu_pods(mut st: State) -> State {
    let mut kube = st.domain.observed.kube.value.clone().expect("kube data");
    let pods = Arc::make_mut(&mut kube.pods);
    for (name, reason) in [("api-5e4d3c-7yt6r", Some("CrashLoopBackOff")), ("worker-2b3c-m4n5b", None)] {
        let mut p = pods[0].clone();
        (p.context, p.namespace, p.name) = ("eu-central-1".into(), "default".into(), name.into());
        (p.ready, p.phase, p.restarts) = (u16::from(reason.is_none()), "Running".into(), 3);
        p.reason = reason.map(String::from);
        pods.push(p);
    }
    st.domain.observed.kube = Arc::new(Snapshot { value: Some(kube), ..(*st.domain.observed.kube).clone() });
    st
}

#[test]
fn narrow_pods_panes_keep_the_region_whole_before_and_after_a_fault() {
    for (what, st) in [("calm", with_eu_pods(calm())), ("primary down", with_eu_pods(primary_down()))] {
        let pods = st.domain.observed.kube.value.clone().expect("kube data").pods;
        for w in [40, 60, 80, 160] {
            let lines = pods_pane(&st, w, 20);
            let text = lines.join("\n");
            assert!(lines.iter().any(|l| l.contains(" CONTEXT ")), "{what} at {w}:\n{text}");
            for p in pods.iter() {
                let row = lines.iter().find(|l| l.contains(&p.name[..12]));
                let row = row.unwrap_or_else(|| panic!("{what} at {w}: {} not drawn:\n{text}", p.name));
                assert!(row.contains(&format!(" {} ", p.context)), "{what} at {w}: region cut:\n{text}");
            }
            assert!(!text.contains("eu-centr…") && !text.contains("us-east…"), "{what} at {w}:\n{text}");
        }
        // Wide enough, nothing is left out; at 40 columns the lowest-priority ones are.
        let wide = pods_pane(&st, 160, 20).join("\n");
        for h in [" NAMESPACE ", " POD ", " READY ", " STATUS ", " RESTARTS ", " AGE"] {
            assert!(wide.contains(h), "{what}: {h} at 160:\n{wide}");
        }
        let narrow = pods_pane(&st, 40, 20).join("\n");
        for h in ["NAMESPACE", "AGE", "RESTARTS", "RST"] {
            assert!(!narrow.contains(h), "{what}: {h} at 40:\n{narrow}");
        }
    }
}

#[test]
fn five_thousand_pods_scroll_to_the_selected_row() {
    let mut st = calm();
    let view = many_pods(5000);
    let order = warroom::ui::panes::pods::display_order(&view);
    let unhealthy = view.pods.iter().filter(|p| p.is_unhealthy()).count();
    assert!(order[..unhealthy].iter().all(|i| view.pods[*i].is_unhealthy()), "unhealthy first");
    let target = view.pods[order[3000]].name.clone();
    st.domain.observed.kube = Arc::new(Snapshot::fresh(view, now()));
    st.view.focus = PaneId::Pods;
    st.view.selected[PaneId::Pods.index()] = 3000;
    let text = screen(&st, 160, 48);
    assert!(text.contains(&format!("5000 pods, {unhealthy} unhealthy")), "{text}");
    assert!(text.contains(&target), "selected pod {target} is visible:\n{text}");
    // The selected row is highlighted.
    let ui = ctx();
    let term = render_with(&st, &ui, 160, 48);
    let buf = term.backend().buffer();
    let at = find_all(buf, &target);
    assert_eq!(at.len(), 1);
    assert!(buf[at[0]].modifier.contains(ui.theme.style(Slot::Selection).add_modifier));
}

#[test]
fn empty_steps_pane_names_the_actions_key() {
    let mut st = calm();
    st.domain.steps.clear();
    let text = screen(&st, 160, 48);
    assert!(text.contains("No steps. Press a for proposed operations."), "{text}");
}

#[test]
fn not_configured_panes_say_how_to_configure() {
    let mut st = calm();
    st.domain.observed.sentinel = Arc::new(Snapshot::not_configured());
    let text = screen(&st, 160, 48);
    assert!(text.contains("Sentinel – not configured"), "{text}");
    assert!(text.contains("Add a [sentinel] section"), "{text}");
}

// ------------------------------------------------------------------ trends (sparklines)

/// The Database pane draws each replica's lag sparkline beside its lag, with the span labelled;
/// the stale minutes of the database are a gap (`·`), never bars. The Traffic pane's table is
/// full at 160x48 (its trend would push out the LIVE probe), so its sparklines show zoomed.
#[test]
fn trends_160x48() {
    let mut st = ui_fixtures::calm_with_trends();
    let text = screen(&st, 160, 48);
    assert!(text.contains("15 min"), "{text}");
    let replica = text.lines().find(|l| l.contains("postgresql-1 ● replica")).expect("the replica row");
    assert!(replica.contains('·') && replica.contains('█'), "a gap and the peak: {replica}");
    assert!(text.contains("✓ 200 12ms"), "the LIVE probe stays: {text}");
    insta::assert_snapshot!(text);
    st.view.focus = PaneId::Traffic;
    st.view.zoomed = true;
    let zoomed = screen(&st, 160, 48);
    assert!(zoomed.contains("share·health, last 15 min"), "{zoomed}");
    let east = zoomed.lines().find(|l| l.contains("us-east-1    primary")).expect("us-east-1 row");
    assert!(east.contains('█') && east.contains('▅'), "full share, then half: {east}");
    insta::assert_snapshot!("trends_160x48_traffic_zoomed", zoomed);
}

/// At 80x24 the trend column goes before any figure is cut: the lag and the share stay whole.
#[test]
fn trends_80x24() {
    let text = screen(&ui_fixtures::calm_with_trends(), 80, 24);
    let calm = screen(&calm(), 80, 24);
    assert_eq!(text, calm, "no sparkline squeezes the figures at 80x24");
    insta::assert_snapshot!(text);
}

/// Stale data never draws as a flat healthy line: a source that stopped answering leaves gaps
/// up to now, in the healthy colour nowhere.
#[test]
fn stale_trends_draw_gaps_not_bars() {
    let mut st = ui_fixtures::calm_with_trends();
    // Three minutes later with nothing fresh since: the newest cells are gaps.
    st.domain.now = now() + chrono::Duration::minutes(3);
    let term = render(&st, 160, 48);
    let buf = term.backend().buffer();
    let text = term.backend().to_string();
    let row = text.lines().position(|l| l.contains("postgresql-1 ● replica")).expect("replica row") as u16;
    let svc = find_all(buf, "streaming").into_iter().find(|(_, y)| *y == row).expect("state cell");
    // The cell just left of STATE (after the column space) is the newest trend cell.
    assert_eq!(buf[(svc.0 - 2, row)].symbol(), "·", "{text}");
}
