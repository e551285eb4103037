//! Database pane: role, timeline, LSN, lag and state per node; where the Service points.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use crate::app::{PaneId, safety};
use crate::backends::model::{DatabaseView, PgNodeStatus, PgRole};
use crate::config::Theme;
use crate::config::theme::Slot;
use crate::text::grammar::each_verb;

use super::{PaneCtx, trend};
use crate::text::clean;
use crate::ui::widgets::{Col, age_text, bytes_text, fitted_table, no_value_lines, width};

const HOW_TO_CONFIGURE: &str = "Add a [postgres] section with [[postgres.nodes]] to warroom.toml.";

/// PostgreSQL LSN notation (`16/B374D848`) of a byte position.
pub fn lsn_text(lsn: u64) -> String {
    format!("{:X}/{:X}", lsn >> 32, lsn & 0xFFFF_FFFF)
}

/// Role text (long and short) and its style slot. A fenced primary is `primary (fenced)`;
/// in split brain every writable primary is an alarm.
fn role(n: &PgNodeStatus, split: bool) -> (&'static str, &'static str, Slot) {
    match n.role {
        PgRole::Primary if n.read_only => ("⊘ primary (fenced)", "⊘ fenced", Slot::StatusDegraded),
        PgRole::Primary if split => ("!! primary", "!! primary", Slot::Alarm),
        PgRole::Primary => ("● primary", "● primary", Slot::StatusHealthy),
        PgRole::Replica => ("● replica", "● replica", Slot::StatusHealthy),
        PgRole::Down => ("✗ DOWN", "✗ DOWN", Slot::StatusDown),
        PgRole::Unknown => ("? unknown", "? unknown", Slot::StatusDegraded),
    }
}

fn lag_text(n: &PgNodeStatus, with_seconds: bool) -> String {
    if n.role != PgRole::Replica {
        return "-".into();
    }
    let bytes = n.replay_lag_bytes.map_or("?".into(), bytes_text);
    match n.replay_lag_seconds {
        Some(s) if with_seconds => format!("{bytes} {s:.1}s"),
        _ => bytes,
    }
}

fn state_text(n: &PgNodeStatus) -> String {
    match n.role {
        PgRole::Primary if n.read_only => "read-only".into(),
        PgRole::Primary => "read-write".into(),
        PgRole::Replica => n.replication_state.clone().unwrap_or_else(|| "-".into()),
        PgRole::Down | PgRole::Unknown => "-".into(),
    }
}

/// The line saying where the database Service points.
fn service_line(cx: &PaneCtx<'_>, db: &DatabaseView, w: usize) -> Option<Line<'static>> {
    let theme = cx.theme;
    let kube = &cx.state.domain.observed.kube;
    let configured = cx.state.domain.config.postgres.as_ref().and_then(|p| p.service.as_ref());
    let Some(svc) = kube.value.as_ref().and_then(|k| k.db_service.as_ref()) else {
        let name = configured?.name.as_str();
        let text = format!("? Service {name}: no data (kubernetes {})", kube.freshness.as_str());
        return Some(Line::styled(clean(&text, w), theme.style(Slot::StatusDegraded)));
    };
    let name = clean(&svc.name, 30);
    // Endpoints the slices list that get no traffic, shown apart: "no traffic: pg-1 (not ready)".
    let idle: Vec<String> =
        svc.idle_endpoints().map(|e| format!("{} ({})", e.pod, e.state.as_str())).collect();
    let idle = if idle.is_empty() { String::new() } else { format!("; no traffic: {}", idle.join(", ")) };
    if svc.endpoint_pods.is_empty() {
        let text = format!("✗ Service {name} → no ready endpoint{idle}");
        return Some(Line::styled(clean(&text, w), theme.style(Slot::StatusDown)));
    }
    let terminating = if svc.draining() { " [terminating: no endpoint is ready]" } else { "" };
    let targets: Vec<String> = svc
        .endpoint_pods
        .iter()
        .map(|pod| match db.nodes.iter().find(|n| n.pod.as_deref() == Some(pod.as_str())) {
            Some(n) if n.is_writable_primary() => format!("{pod} (primary)"),
            Some(n) if n.role == PgRole::Primary => format!("{pod} (fenced primary)"),
            Some(n) => format!("{pod} ({})", n.role.as_str()),
            None => format!("{pod} (not a configured node)"),
        })
        .collect();
    let good = svc.endpoint_pods.len() == 1
        && !svc.draining()
        && db
            .nodes
            .iter()
            .any(|n| n.pod.as_deref() == Some(svc.endpoint_pods[0].as_str()) && n.is_writable_primary());
    let (sym, slot) = if good { ("●", Slot::StatusHealthy) } else { ("✗", Slot::StatusDown) };
    let text = format!("{sym} Service {name} → {}{terminating}{idle}", targets.join(", "));
    Some(Line::styled(clean(&text, w), theme.style(slot)))
}

/// In a split brain: every writable primary with its timeline, LSN and whether the database
/// Service routes to it, then which one to fence (the one the Service does not route to).
pub fn split_brain_lines(state: &crate::app::State, db: &DatabaseView) -> Vec<String> {
    let primaries = db.writable_primaries();
    let names: Vec<&str> = primaries.iter().map(|n| n.name.as_str()).collect();
    let mut out =
        vec![format!("!! SPLIT-BRAIN: {}", each_verb(&names, ", ", "accepts writes", "accept writes"))];
    for n in &primaries {
        let routed = if safety::routed(&state.domain, &n.name) {
            "Service routes here"
        } else {
            "Service does not route here"
        };
        out.push(format!(
            "   {}: timeline {}, LSN {}, {routed}",
            n.name,
            n.timeline.map_or("?".into(), |t| t.to_string()),
            n.lsn.map_or("?".into(), lsn_text)
        ));
    }
    if let Some(plan) = safety::split_brain_plan(&state.domain, db) {
        let fence = plan.fence.join(", ");
        out.push(if plan.repoint_first {
            format!("   → fence {fence}, then repoint the Service to {} (it routes to neither)", plan.keep)
        } else {
            format!("   → fence {fence} (not routed: no application write stops); keep {}", plan.keep)
        });
    }
    out
}

/// Draw the Database pane.
pub fn draw(frame: &mut Frame, area: Rect, cx: &PaneCtx<'_>) {
    let snap = &cx.state.domain.observed.database;
    let inner = cx.live_block(frame, area, PaneId::Database, snap);
    let theme = cx.theme;
    let tried = crate::ui::tried::database(&cx.state.domain.config);
    if let Some(lines) = no_value_lines(snap, HOW_TO_CONFIGURE, tried, theme) {
        crate::ui::widgets::message(frame, inner, lines);
        return;
    }
    let Some(db) = snap.value.as_ref() else { return };
    let w = usize::from(inner.width);
    let split = db.split_brain();

    let mut top: Vec<Line<'static>> = Vec::new();
    if split {
        for text in split_brain_lines(cx.state, db) {
            top.push(Line::styled(clean(&text, w), theme.style(Slot::Alarm)));
        }
    } else if db.primary().is_none() && !db.nodes.is_empty() {
        top.push(Line::styled("✗ no writable primary", theme.style(Slot::StatusDown)));
    }
    let mut bottom: Vec<Line<'static>> = Vec::new();
    bottom.extend(service_line(cx, db, w));
    for n in db.nodes.iter().filter(|n| n.error.is_some()) {
        let last = n
            .last_ok
            .map(|t| format!(" (last ok {} ago)", age_text(cx.state.domain.now - t)))
            .unwrap_or_default();
        let at = crate::ui::tried::node(&cx.state.domain.config, &n.name)
            .map(|a| format!(" ({a})"))
            .unwrap_or_default();
        let text = format!("✗ {}{at}: {}{last}", n.name, n.error.as_deref().unwrap_or(""));
        bottom.push(Line::styled(clean(&text, w), theme.style(Slot::StatusDown)));
    }

    let table_h = (db.nodes.len() as u16 + 1).min(inner.height.saturating_sub(top.len() as u16));
    let [top_area, table_area, bottom_area] = inner.layout(&Layout::vertical([
        Constraint::Length(top.len() as u16),
        Constraint::Length(table_h),
        Constraint::Fill(1),
    ]));
    frame.render_widget(Paragraph::new(top), top_area);
    let (table, cols, kept) = node_table(cx, db, split, inner.width, theme);
    frame.render_widget(table, table_area);
    lag_trends(frame, table_area, (&cols, &kept), cx, db);
    frame.render_widget(Paragraph::new(bottom), bottom_area);
}

/// Index of the lag trend column in [`node_table`]'s columns.
const TREND_COL: usize = 5;

/// Each node's lag sparkline in the trend column (nodes without a lag history get none).
fn lag_trends(
    frame: &mut Frame,
    area: Rect,
    (cols, kept): (&[Col], &[bool]),
    cx: &PaneCtx<'_>,
    db: &DatabaseView,
) {
    let d = &cx.state.domain;
    let max_lag = d.config.postgres.as_ref().map_or(u64::MAX, |p| p.max_lag_bytes);
    let col = (cols, kept, TREND_COL);
    trend::draw_column(frame, area, col, "lag", db.nodes.len(), cx.theme, |i, w| {
        let series = d.trends.lag_bytes.get(&db.nodes.get(i)?.name)?;
        Some(trend::lag_bars(series, d.now, w, max_lag, cx.theme))
    });
}

fn node_table(
    cx: &PaneCtx<'_>,
    db: &DatabaseView,
    split: bool,
    avail: u16,
    theme: &Theme,
) -> (ratatui::widgets::Table<'static>, [Col; 8], Vec<bool>) {
    let name_w = db.nodes.iter().map(|n| width(&n.name)).max().unwrap_or(4).clamp(4, 16) as u16;
    let endpoints: &[String] = cx
        .state
        .domain
        .observed
        .kube
        .value
        .as_ref()
        .and_then(|k| k.db_service.as_ref())
        .map_or(&[], |s| s.endpoint_pods.as_slice());
    let roomy = avail >= 60;
    let role_w = db
        .nodes
        .iter()
        .map(|n| {
            let (long, short, _) = role(n, split);
            width(if roomy { long } else { short })
        })
        .max()
        .unwrap_or(4)
        .max(4) as u16;
    // Sized from its widest value with its unit, so "2.8s" is never cut to "2.8".
    let lag_w = db.nodes.iter().map(|n| width(&lag_text(n, roomy))).max().unwrap_or(3).max(3) as u16;
    let cols = [
        Col::fixed("NAME", name_w, u8::MAX),
        Col::fixed("ROLE", role_w, u8::MAX),
        Col::fixed("TL", 2, 3),
        Col::fixed("LSN", 10, 1),
        Col::fixed("LAG", lag_w, 6),
        trend::column(),
        Col::fixed("STATE", 10, 2),
        Col::fixed("SVC", 5, 8),
    ];
    let show = db.nodes.iter().any(|n| cx.state.domain.trends.lag_bytes.contains_key(&n.name));
    let kept = trend::fit(&cols, TREND_COL, show, avail);
    let rows = db
        .nodes
        .iter()
        .map(|n| {
            let (long, short, slot) = role(n, split);
            let svc = n.pod.as_ref().is_some_and(|p| endpoints.contains(p));
            let cells = vec![
                Span::raw(clean(&n.name, usize::from(name_w))),
                Span::styled(if roomy { long } else { short }, theme.style(slot)),
                Span::raw(n.timeline.map_or("-".into(), |t| t.to_string())),
                Span::raw(n.lsn.map_or("-".into(), lsn_text)),
                Span::raw(lag_text(n, roomy)),
                Span::raw(""),
                Span::raw(clean(&state_text(n), 10)),
                Span::styled(if svc { "◀ svc" } else { "" }, theme.style(Slot::PaneTitle)),
            ];
            (cells, None)
        })
        .collect();
    (fitted_table(&cols, &kept, rows, theme), cols, kept)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn split_brain_shows_both_primaries_with_timeline_lsn_and_routing_and_the_fence() {
        let s = crate::app::State::from(crate::app::safety::tests::domain_of(
            &crate::app::safety::tests::sim_at("split-brain", 15),
        ));
        let db = s.domain.observed.database.value.clone().expect("db");
        let lines = split_brain_lines(&s, &db);
        assert_eq!(lines[0], "!! SPLIT-BRAIN: postgresql-0, postgresql-1 both accept writes", "{lines:?}");
        for n in db.writable_primaries() {
            let row =
                lines.iter().find(|l| l.trim_start().starts_with(&format!("{}:", n.name))).expect("a row");
            assert!(row.contains(&format!("timeline {}", n.timeline.unwrap())), "{row}");
            assert!(row.contains(&lsn_text(n.lsn.unwrap())), "{row}");
            let routed = crate::app::safety::routed(&s.domain, &n.name);
            assert_eq!(row.contains("Service routes here"), routed, "{row}");
        }
        let plan = crate::app::safety::split_brain_plan(&s.domain, &db).unwrap();
        let last = lines.last().unwrap();
        assert!(
            last.contains(&format!("fence {}", plan.fence[0])) && last.contains("no application write stops"),
            "{last}"
        );
    }

    /// The Service line names the pods that get traffic, then the listed ones that get none
    /// with their state; traffic only to terminating endpoints is never drawn healthy.
    #[test]
    fn the_service_line_shows_endpoints_without_traffic_apart() {
        use crate::backends::model::{EndpointState, ServiceEndpoint};
        let mut s = crate::app::State::from(crate::app::safety::tests::domain_of(
            &crate::app::safety::tests::sim_at("split-brain", 15),
        ));
        let db = s.domain.observed.database.value.clone().expect("db");
        let (theme, keymap) = (Theme::fallback(), crate::config::keymap::Keymap::fallback());
        let ep = |pod: &str, state, traffic| ServiceEndpoint { pod: pod.into(), state, traffic };
        let mut line_with = |endpoints: Vec<ServiceEndpoint>| {
            let mut kube = (*s.domain.observed.kube).clone();
            let svc = kube.value.as_mut().and_then(|k| k.db_service.as_mut()).expect("service");
            svc.endpoint_pods = endpoints.iter().filter(|e| e.traffic).map(|e| e.pod.clone()).collect();
            svc.endpoints = endpoints;
            s.domain.observed.kube = std::sync::Arc::new(kube);
            let cx = PaneCtx { state: &s, theme: &theme, keymap: &keymap, focused: false, compact: false };
            let line = service_line(&cx, &db, 200).expect("a Service line");
            line.spans.iter().map(|sp| sp.content.to_string()).collect::<String>()
        };
        let text = line_with(vec![
            ep("postgresql-0", EndpointState::Ready, true),
            ep("postgresql-1", EndpointState::NotReady, false),
            ep("postgresql-2", EndpointState::Terminating, false),
        ]);
        assert!(text.contains("→ postgresql-0 ("), "{text}");
        assert!(
            text.ends_with("; no traffic: postgresql-1 (not ready), postgresql-2 (terminating)"),
            "{text}"
        );
        let text = line_with(vec![ep("postgresql-0", EndpointState::ServingTerminating, true)]);
        assert!(text.starts_with("✗") && text.contains("[terminating: no endpoint is ready]"), "{text}");
        let text = line_with(vec![ep("postgresql-1", EndpointState::NotReady, false)]);
        assert!(text.contains("no ready endpoint; no traffic: postgresql-1 (not ready)"), "{text}");
    }

    #[test]
    fn lsn_is_printed_like_postgres() {
        assert_eq!(lsn_text(0x16_B374_D848), "16/B374D848");
        assert_eq!(lsn_text(0x300_0060), "0/3000060");
    }
}
