//! Pictures in the post-mortem: a Mermaid `gantt` of the incident (GitHub and GitLab both render
//! it: detection, each step from start to end with failed ones `crit`, mitigation, resolution),
//! and text charts of replica lag and region traffic built from the `trend-sample` entries the
//! console logged (`app::trend`). Only logged samples are charted: a sample is written when a
//! value changes (at most once a minute), so a value holds until the next sample; a "no fresh
//! data" sample and the time before the first sample are gaps.

use std::fmt::Write as _;

use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::Value;

use super::{PostMortem, plain_text};
use crate::incident::entry::{Entry, EntryKind};

/// One logged sample of a series.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TrendPoint {
    /// When it was logged.
    pub ts: DateTime<Utc>,
    /// Lag in bytes (latest) or share in percent; `None`: no fresh data from here on.
    pub value: Option<f64>,
    /// Lag: the largest value seen since the previous sample.
    pub peak: Option<f64>,
    /// Traffic: the health-check state (`healthy`, `unhealthy`, `unknown`).
    pub health: Option<String>,
}

/// The samples of one series (`lag` of a replica, `traffic` of a region), in log order.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TrendChart {
    /// `lag` or `traffic`.
    pub series: String,
    /// The replica or region.
    pub name: String,
    /// Its samples.
    pub points: Vec<TrendPoint>,
}

/// Every series the log's `trend-sample` entries carry, in order of first appearance.
pub fn trend_charts(entries: &[Entry]) -> Vec<TrendChart> {
    let mut charts: Vec<TrendChart> = Vec::new();
    for e in entries.iter().filter(|e| e.kind == EntryKind::TrendSample) {
        let Some(samples) = e.details.get("samples").and_then(Value::as_array) else { continue };
        for s in samples {
            let text = |k: &str| s.get(k).and_then(Value::as_str).map(plain_text);
            let (Some(series), Some(name)) = (text("series"), text("name")) else { continue };
            let num = |k: &str| s.get(k).and_then(Value::as_f64);
            let stale = s.get("stale").and_then(Value::as_bool) == Some(true);
            let value = if stale { None } else { num("bytes").or(num("share_pct")) };
            let health = if stale { None } else { text("health") };
            let point = TrendPoint { ts: e.ts, value, peak: num("peak_bytes").filter(|_| !stale), health };
            match charts.iter_mut().find(|c| c.series == series && c.name == name) {
                Some(c) => c.points.push(point),
                None => charts.push(TrendChart { series, name, points: vec![point] }),
            }
        }
    }
    charts
}

/// Text safe inside a Mermaid statement: letters, digits, spaces and a few harmless marks;
/// everything else (`:` `;` `#` `%` quotes, brackets of HTML, backticks, line breaks) becomes a
/// space. One line, at most 60 characters, never empty.
pub(super) fn mermaid_text(s: &str) -> String {
    let safe: String = plain_text(s)
        .chars()
        .map(|c| if c.is_alphanumeric() || " -_.,()/+=@'[]!?*".contains(c) { c } else { ' ' })
        .collect();
    let words: Vec<&str> = safe.split_whitespace().collect();
    let mut out = words.join(" ");
    if out.chars().count() > 60 {
        out = out.chars().take(59).collect::<String>().trim_end().to_string() + "…";
    }
    if out.is_empty() { "untitled".into() } else { out }
}

fn mermaid_time(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%d %H:%M:%S").to_string()
}

/// The "Timeline chart" section: a Mermaid gantt of milestones and steps.
pub(super) fn render_timeline(md: &mut String, pm: &PostMortem) {
    let m = &pm.meta;
    md.push_str("## Timeline chart\n\n```mermaid\ngantt\n");
    let _ = writeln!(md, "    title {} {}", mermaid_text(&m.id), mermaid_text(&m.title));
    md.push_str("    dateFormat YYYY-MM-DD HH:mm:ss\n    axisFormat %H:%M\n");
    let milestone = |md: &mut String, name: &str, label: &str| {
        if let Some(at) = pm.milestones.iter().find(|x| x.name == name).and_then(|x| x.at) {
            let id = name.replace('-', "_");
            let _ = writeln!(md, "    {label} : milestone, m_{id}, {}, 0d", mermaid_time(at));
        }
    };
    md.push_str("    section Incident\n");
    milestone(md, "declared", "Declared");
    milestone(md, "detected", "Detected");
    if !pm.steps.is_empty() {
        md.push_str("    section Steps\n");
    }
    for (i, s) in pm.steps.iter().enumerate() {
        let Some(start) = s.events.first().map(|e| e.ts) else { continue };
        let end = s.outcome_at.or(s.events.last().map(|e| e.ts)).unwrap_or(start).max(start);
        let tag = match s.outcome {
            "failed" | "aborted" => "crit, ",
            "verified" => "done, ",
            _ => "",
        };
        let label = mermaid_text(&format!("Step {} {} ({})", s.id, s.title, s.outcome));
        let _ = writeln!(md, "    {label} : {tag}s{}, {}, {}", i + 1, mermaid_time(start), mermaid_time(end));
    }
    md.push_str("    section Recovery\n");
    milestone(md, "first-action", "First action");
    milestone(md, "mitigated", "Mitigated");
    milestone(md, "resolved", "Resolved");
    md.push_str("```\n\n");
}

/// Bar glyphs, lowest first.
const BARS: [char; 8] = ['▁', '▂', '▃', '▄', '▅', '▆', '▇', '█'];
/// A column without fresh data.
const GAP: char = '·';
/// At most this many columns per chart.
const WIDTH: i64 = 60;

/// Per column of `[from, to)`: the state in force (the last sample at or before the column's
/// end, or the largest sample inside it), `None` before the first sample or after "no data".
fn columns(points: &[TrendPoint], from: DateTime<Utc>, to: DateTime<Utc>) -> Vec<Option<&TrendPoint>> {
    let span = (to - from).num_seconds().max(1);
    let n = span.min(WIDTH);
    (0..n)
        .map(|c| {
            let (a, b) = (
                from + chrono::Duration::seconds(span * c / n),
                from + chrono::Duration::seconds(span * (c + 1) / n),
            );
            let inside = points.iter().filter(|p| p.ts >= a && p.ts < b && p.value.is_some());
            let best = inside.max_by(|x, y| {
                x.peak.or(x.value).unwrap_or(0.0).total_cmp(&y.peak.or(y.value).unwrap_or(0.0))
            });
            best.or_else(|| points.iter().rev().find(|p| p.ts < a))
                .filter(|p| p.value.is_some() || p.health.is_some())
        })
        .collect()
}

fn bar(v: f64, lo: f64, hi: f64) -> char {
    let i = if hi > lo { ((v - lo) / (hi - lo) * 7.0).round() as usize } else { 0 };
    BARS[i.min(7)]
}

/// Bytes as the console shows them.
fn bytes(b: f64) -> String {
    const UNITS: [&str; 5] = ["KiB", "MiB", "GiB", "TiB", "PiB"];
    if b < 1024.0 {
        return format!("{b:.0} B");
    }
    let (mut v, mut unit) = (b / 1024.0, 0);
    while v >= 1024.0 && unit < UNITS.len() - 1 {
        v /= 1024.0;
        unit += 1;
    }
    format!("{v:.1} {}", UNITS[unit])
}

/// One chart: a labelled bar row, the min label and the time axis.
fn chart_rows(
    out: &mut String,
    row: &str,
    (hi, lo): (String, String),
    extra: Option<(&str, String)>,
    axis: (String, String),
) {
    let w =
        hi.chars().count().max(lo.chars().count()).max(extra.as_ref().map_or(0, |(l, _)| l.chars().count()));
    let _ = writeln!(out, "  {hi:>w$} ┤{row}");
    let _ = writeln!(out, "  {lo:>w$} ┤");
    if let Some((label, r)) = extra {
        let _ = writeln!(out, "  {label:>w$} ┤{r}");
    }
    let cols = row.chars().count();
    let gap = cols.saturating_sub(axis.0.chars().count() + axis.1.chars().count()).max(1);
    let _ = writeln!(out, "  {:w$}  {}{}{}", "", axis.0, " ".repeat(gap), axis.1);
}

/// The "Lag and traffic" section: one text chart per series, in a fenced block.
pub(super) fn render_trends(md: &mut String, pm: &PostMortem, entries_end: DateTime<Utc>) {
    if pm.trends.is_empty() {
        return;
    }
    let t0 = pm.meta.declared_at;
    let end = pm.meta.resolved_at.unwrap_or(entries_end).max(t0);
    let off = |t: DateTime<Utc>| super::markdown::offset((t - t0).num_seconds());
    let axis = (off(t0), off(end));
    md.push_str("## Lag and traffic\n\n");
    md.push_str(
        "From the `trend-sample` entries: a sample is logged when a value changes (at most once a \
         minute per series), so a value holds until the next one; `·` marks no fresh data.\n\n```text\n",
    );
    for c in &pm.trends {
        let cols = columns(&c.points, t0, end);
        if c.series == "lag" {
            let lag = |p: &TrendPoint| p.peak.or(p.value).unwrap_or(0.0).max(p.value.unwrap_or(0.0));
            let hi = cols.iter().flatten().map(|p| lag(p)).fold(0.0_f64, f64::max);
            let lo = cols.iter().flatten().map(|p| lag(p)).fold(f64::INFINITY, f64::min).min(hi);
            let row: String = cols
                .iter()
                .map(|p| p.filter(|p| p.value.is_some()).map_or(GAP, |p| bar(lag(p), lo, hi)))
                .collect();
            let _ = writeln!(md, "{} replay lag", c.name);
            chart_rows(
                md,
                &row,
                (format!("max {}", bytes(hi)), format!("min {}", bytes(lo))),
                None,
                axis.clone(),
            );
            let peak = c
                .points
                .iter()
                .filter_map(|p| Some((p.peak.or(p.value)?.max(p.value.unwrap_or(0.0)), p.ts)))
                .max_by(|a, b| a.0.total_cmp(&b.0));
            if let Some((v, at)) = peak {
                let _ = writeln!(
                    md,
                    "  peak {} logged at {} ({} UTC)\n",
                    bytes(v),
                    off(at),
                    at.format("%H:%M:%S")
                );
            }
        } else {
            let row: String =
                cols.iter().map(|p| p.and_then(|p| p.value).map_or(GAP, |v| bar(v, 0.0, 100.0))).collect();
            let health: String = cols
                .iter()
                .map(|p| match p.and_then(|p| p.health.as_deref()) {
                    Some("healthy") => 'H',
                    Some("unhealthy") => 'U',
                    Some(_) => '?',
                    None => GAP,
                })
                .collect();
            let _ = writeln!(md, "{} traffic share and health (H healthy, U unhealthy, ? unknown)", c.name);
            chart_rows(md, &row, ("share 100%".into(), "0%".into()), Some(("health", health)), axis.clone());
            md.push('\n');
        }
    }
    md.push_str("```\n\n");
}
