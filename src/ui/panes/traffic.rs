//! Traffic pane: Route 53 weights or failover roles, health checks, HTTP probes, pods per region.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use crate::app::PaneId;
use crate::backends::model::{HealthState, Probe, RegionTraffic, TrafficView};
use crate::config::Theme;
use crate::config::theme::Slot;

use super::{PaneCtx, trend};
use crate::text::clean;
use crate::ui::widgets::{Col, fitted_table, no_value_lines, width};

const HOW_TO_CONFIGURE: &str =
    "Add a [route53] section and health_live / health_ready to [[regions]] in warroom.toml.";

fn probe_cell(p: Option<&Probe>, max: usize, theme: &Theme) -> Span<'static> {
    match p {
        None => Span::styled("-", theme.style(Slot::Dim)),
        Some(p) if p.ok() => Span::styled(
            clean(&format!("✓ {} {}ms", p.status.unwrap_or(0), p.latency_ms), max),
            theme.style(Slot::StatusHealthy),
        ),
        Some(p) => {
            let text = match (p.status, &p.error) {
                (Some(s), _) => format!("✗ {s} {}ms", p.latency_ms),
                (None, Some(e)) => format!("✗ {e}"),
                (None, None) => "✗ no answer".into(),
            };
            Span::styled(clean(&text, max), theme.style(Slot::StatusDown))
        }
    }
}

/// Health-check cell: symbol, word (unless `short`) and healthy checkers of all.
fn health_cell(r: &RegionTraffic, short: bool, theme: &Theme) -> Span<'static> {
    let n = r.checkers.map(|(ok, all)| format!(" {ok}/{all}")).unwrap_or_default();
    let (sym, word, slot) = match r.health_check {
        HealthState::Healthy => ("●", "healthy", Slot::StatusHealthy),
        HealthState::Unhealthy => ("✗", "unhealthy", Slot::StatusDown),
        HealthState::Unknown => ("?", "unknown", Slot::StatusDegraded),
    };
    let text = if short && !n.is_empty() { format!("{sym}{n}") } else { format!("{sym} {word}{n}") };
    Span::styled(text, theme.style(slot))
}

fn region_row(
    t: &TrafficView,
    r: &RegionTraffic,
    name_w: usize,
    short: bool,
    theme: &Theme,
) -> Vec<Span<'static>> {
    let weight = match (r.weight, &r.failover_role) {
        (Some(w), _) => Span::raw(w.to_string()),
        (None, Some(f)) => Span::raw(clean(f, 9)),
        (None, None) => Span::styled("-", theme.style(Slot::Dim)),
    };
    let share = match t.share(&r.name) {
        Some(s) => format!("{:.0}%", s * 100.0),
        None => "-".into(),
    };
    let pods = match r.deploy_ready {
        Some((ready, desired)) => {
            let slot = if ready < desired {
                Slot::StatusDown
            } else if desired == 0 {
                Slot::Dim
            } else {
                Slot::StatusHealthy
            };
            Span::styled(format!("{ready}/{desired}"), theme.style(slot))
        }
        None => Span::styled("-", theme.style(Slot::Dim)),
    };
    vec![
        Span::raw(clean(&r.name, name_w)),
        Span::raw(clean(&r.role, 9)),
        weight,
        Span::raw(share),
        Span::raw(""),
        health_cell(r, short, theme),
        probe_cell(r.live.as_ref(), 11, theme),
        probe_cell(r.ready.as_ref(), 11, theme),
        pods,
    ]
}

/// Index of the share/health trend column in the region table.
const TREND_COL: usize = 4;

/// Draw the Traffic pane.
pub fn draw(frame: &mut Frame, area: Rect, cx: &PaneCtx<'_>) {
    let snap = &cx.state.domain.observed.traffic;
    let inner = cx.live_block(frame, area, PaneId::Traffic, snap);
    let theme = cx.theme;
    let tried = crate::ui::tried::traffic(&cx.state.domain.config);
    if let Some(lines) = no_value_lines(snap, HOW_TO_CONFIGURE, tried, theme) {
        crate::ui::widgets::message(frame, inner, lines);
        return;
    }
    let Some(t) = snap.value.as_ref() else { return };
    let w = usize::from(inner.width);

    let mut notes: Vec<Line<'static>> = Vec::new();
    if let Some(e) = &t.control_plane_error {
        let text = "◐ control plane unreachable: data-plane failover (health checks) still works";
        notes.push(Line::styled(clean(text, w), theme.style(Slot::StatusStale)));
        notes.push(Line::styled(clean(&format!("  {e}"), w), theme.style(Slot::StatusStale)));
    }
    let ttl = t.ttl.map(|s| format!(", TTL {s}s")).unwrap_or_default();
    notes.push(Line::styled(clean(&format!("record {}{ttl}", t.record), w), theme.style(Slot::Dim)));

    let failover = t.regions.iter().any(|r| r.weight.is_none() && r.failover_role.is_some());
    let name_w = t.regions.iter().map(|r| width(&r.name)).max().unwrap_or(6).clamp(6, 14);
    let short = inner.width < 60;
    let health_w = t.regions.iter().map(|r| width(&health_cell(r, short, theme).content)).max().unwrap_or(0);
    let cols = [
        Col::fixed("REGION", name_w as u16, u8::MAX),
        Col::fixed("ROLE", 9, 1),
        Col::fixed(if failover { "FAILOVER" } else { "WEIGHT" }, if failover { 9 } else { 6 }, u8::MAX),
        Col::fixed("SHARE", 5, 3),
        trend::column(),
        Col::fixed(
            if short { "HC" } else { "HEALTH-CHECK" },
            health_w.max(if short { 2 } else { 12 }) as u16,
            u8::MAX,
        ),
        Col::fixed("LIVE", 11, 2),
        Col::fixed("READY", 11, 5),
        Col::fixed("PODS", 5, 4),
    ];
    let show = t.regions.iter().any(|r| cx.state.domain.trends.health.contains_key(&r.name));
    let kept = trend::fit(&cols, TREND_COL, show, inner.width);
    let rows = t.regions.iter().map(|r| (region_row(t, r, name_w, short, theme), None)).collect();
    let table_h = (t.regions.len() as u16 + 1).min(inner.height);
    let [table_area, notes_area] =
        inner.layout(&Layout::vertical([Constraint::Length(table_h), Constraint::Fill(1)]));
    frame.render_widget(fitted_table(&cols, &kept, rows, theme), table_area);
    let d = &cx.state.domain;
    let col = (&cols[..], &kept[..], TREND_COL);
    trend::draw_column(frame, table_area, col, "share·health", t.regions.len(), theme, |i, w| {
        let name = &t.regions.get(i)?.name;
        let health = d.trends.health.get(name)?;
        Some(trend::traffic_bars(d.trends.share.get(name), health, d.now, w, theme))
    });
    frame.render_widget(Paragraph::new(notes), notes_area);
}
