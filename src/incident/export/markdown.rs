//! Markdown rendering of a [`PostMortem`]. All text in the model is already plain (no controls);
//! here it is escaped for Markdown or put in code spans / fenced blocks.

use std::fmt::Write as _;

use chrono::{DateTime, Utc};

use super::{ChecklistRow, PostMortem, StepReport};

/// Render the whole document.
pub(super) fn render(pm: &PostMortem) -> String {
    let mut md = String::new();
    summary(&mut md, pm);
    milestones(&mut md, pm);
    super::charts::render_timeline(&mut md, pm);
    let last = pm.timeline.last().map(|r| r.ts);
    let last_sample = pm.trends.iter().filter_map(|c| c.points.last()).map(|p| p.ts).max();
    super::charts::render_trends(&mut md, pm, last.max(last_sample).unwrap_or(pm.meta.declared_at));
    timeline(&mut md, pm);
    checklist(&mut md, pm);
    steps(&mut md, pm);
    super::drill::render(&mut md, pm);
    super::scorecard::render(&mut md, pm);
    recordings(&mut md, pm);
    md.push_str("## Root cause\n\n_To be written._\n\n");
    md.push_str("## Contributing factors\n\n_To be written._\n\n");
    md.push_str("## Action items\n\n- [ ] _To be written._\n");
    md
}

fn summary(md: &mut String, pm: &PostMortem) {
    let m = &pm.meta;
    let t0 = m.declared_at;
    let _ = writeln!(md, "# Post-mortem: {}\n", text(&m.title));
    if m.drill {
        md.push_str("> **DRILL**: this incident was a failover drill against the simulated estate.\n\n");
    }
    md.push_str("## Summary\n\n| Field | Value |\n| --- | --- |\n");
    let _ = writeln!(md, "| Incident | {} |", code(&m.id, true));
    let _ = writeln!(md, "| Title | {} |", text(&m.title));
    let _ = writeln!(md, "| Severity | {} |", text(&m.severity));
    let _ = writeln!(md, "| Drill | {} |", if m.drill { "yes" } else { "no" });
    let _ = writeln!(md, "| Declared | {} |", datetime(t0));
    let resolved = pm.milestones.iter().find(|x| x.name == "resolved").and_then(|x| x.at);
    let _ = writeln!(md, "| Resolved | {} |", resolved.map_or("not resolved".to_string(), datetime));
    let _ = writeln!(md, "| Duration | {} |", pm.duration_secs.map_or("ongoing".to_string(), duration));
    let _ =
        writeln!(md, "| Resolution | {} |\n", pm.resolution.as_deref().map_or("none logged".into(), text));
}

fn milestones(md: &mut String, pm: &PostMortem) {
    md.push_str("## Milestones\n\n| Milestone | Time (UTC) | T+ | Entry |\n| --- | --- | --- | --- |\n");
    for m in &pm.milestones {
        let name = match m.name {
            "declared" => "Declared",
            "detected" => "Detected",
            "first-action" => "First action (first confirmed step)",
            "mitigated" => "Mitigated (verdict restored and held)",
            _ => "Resolved",
        };
        let entry = match (m.seq, &m.summary) {
            (Some(seq), Some(s)) => format!("#{seq} {}", text(s)),
            _ => "".to_string(),
        };
        match (m.at, m.offset_secs) {
            (Some(at), Some(off)) => {
                let _ = writeln!(md, "| {name} | {} | {} | {entry} |", at.format("%H:%M:%S"), offset(off));
            }
            _ => {
                let _ = writeln!(md, "| {name} | not reached | | |");
            }
        }
    }
    md.push('\n');
    for (label, secs) in [
        ("Time to detect", pm.time_to_detect_secs),
        ("Time to mitigate", pm.time_to_mitigate_secs),
        ("Time to resolve", pm.time_to_resolve_secs),
    ] {
        let _ = writeln!(md, "- {label}: {}", secs.map_or("n/a".to_string(), duration));
    }
    md.push('\n');
}

fn timeline(md: &mut String, pm: &PostMortem) {
    md.push_str("## Timeline\n\n| # | Time (UTC) | T+ | Operator | Kind | Summary |\n");
    md.push_str("| --- | --- | --- | --- | --- | --- |\n");
    for r in &pm.timeline {
        let _ = writeln!(
            md,
            "| {} | {} | {} | {} | {} | {} |",
            r.seq,
            r.ts.format("%H:%M:%S"),
            offset(r.offset_secs),
            code(&r.operator, true),
            code(&r.kind, true),
            text(&r.summary)
        );
    }
    md.push('\n');
}

/// The flight-recorder segments (`warroom log verify` checks each hash; `warroom replay`
/// shows them); nothing when none were recorded.
fn recordings(md: &mut String, pm: &PostMortem) {
    if pm.recordings.is_empty() {
        return;
    }
    md.push_str(
        "## Recordings

| # | Closed (UTC) | Console | Segment | Bytes | SHA-256 |
",
    );
    md.push_str(
        "| --- | --- | --- | --- | --- | --- |
",
    );
    for r in &pm.recordings {
        let _ = writeln!(
            md,
            "| {} | {} | {} | {} | {} | {} |",
            r.seq,
            r.ts.format("%H:%M:%S"),
            code(&r.console, true),
            code(&r.segment, true),
            r.bytes.map_or("?".into(), |b| b.to_string()),
            code(&r.sha256, true)
        );
    }
    md.push('\n');
}

fn checklist(md: &mut String, pm: &PostMortem) {
    md.push_str("## Checklist\n\n| Item | Phase | Due | Done | Lateness | Note |\n");
    md.push_str("| --- | --- | --- | --- | --- | --- |\n");
    let t0 = pm.meta.declared_at;
    for r in &pm.checklist {
        let item = match r.posting {
            Some(n) => format!("{} (#{n})", text(&r.text)),
            None => text(&r.text),
        };
        let due = r.due_at.map_or("unscheduled".to_string(), |d| offset((d - t0).num_seconds()));
        let done = r.done_at.map_or("not done".to_string(), |d| offset((d - t0).num_seconds()));
        let _ = writeln!(
            md,
            "| {item} | {} | {due} | {done} | {} | {} |",
            text(&r.phase),
            lateness(r),
            r.note.as_deref().map_or(String::new(), text)
        );
    }
    let done = pm.checklist.iter().filter(|r| r.done_at.is_some()).count();
    let late =
        pm.checklist.iter().filter(|r| r.done_at.is_some() && r.late_secs.is_some_and(|s| s > 0)).count();
    let _ = writeln!(md, "\n{done} of {} done, {late} late.\n", pm.checklist.len());
}

fn lateness(r: &ChecklistRow) -> String {
    match (r.done_at, r.late_secs) {
        (Some(_), Some(s)) if s > 0 => format!("late by {}", duration(s)),
        (Some(_), Some(_)) => "on time".to_string(),
        (Some(_), None) => String::new(),
        (None, Some(s)) => format!("**missed** (overdue by {} at the end)", duration(s)),
        (None, None) => String::new(),
    }
}

fn steps(md: &mut String, pm: &PostMortem) {
    md.push_str("## Steps\n\n");
    if pm.steps.is_empty() {
        md.push_str("No steps were run.\n\n");
    }
    for s in &pm.steps {
        step(md, s, pm.meta.declared_at);
    }
}

fn step(md: &mut String, s: &StepReport, t0: DateTime<Utc>) {
    let _ = writeln!(md, "### Step {}: {}\n", text(&s.id), text(&s.title));
    let outcome = match s.outcome_at {
        Some(at) => {
            format!("{} at {} ({})", s.outcome, at.format("%H:%M:%S"), offset((at - t0).num_seconds()))
        }
        None => s.outcome.to_string(),
    };
    let _ = writeln!(md, "- Outcome: **{outcome}**");
    if let Some(t) = &s.target {
        let _ = writeln!(md, "- Target: {}", code(t, false));
    }
    if let Some(b) = &s.blast_radius {
        let _ = writeln!(md, "- Blast radius: {}", text(b));
    }
    if !s.lines.is_empty() {
        let body = s.lines.join("\n");
        let fence = "`".repeat(longest_backtick_run(&body).max(2) + 1);
        let _ = writeln!(md, "- Preview:\n\n{fence}text\n{body}\n{fence}");
    }
    md.push_str("\n| Time (UTC) | T+ | Kind | Summary |\n| --- | --- | --- | --- |\n");
    for e in &s.events {
        let _ = writeln!(
            md,
            "| {} | {} | {} | {} |",
            e.ts.format("%H:%M:%S"),
            offset(e.offset_secs),
            code(&e.kind, true),
            text(&e.summary)
        );
    }
    md.push('\n');
}

// ---------------------------------------------------------------- escaping and formats

/// Markdown-significant ASCII punctuation escaped with a backslash (inline text).
pub(super) fn text(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if matches!(c, '\\' | '`' | '*' | '_' | '[' | ']' | '<' | '>' | '#' | '|' | '~' | '&' | '!' | '$') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// A code span that cannot be closed early by the text; `in_table` escapes `|` (GFM splits
/// cells before it parses code spans, and `\|` inside a code span in a table renders as `|`).
pub(super) fn code(s: &str, in_table: bool) -> String {
    if s.is_empty() {
        return String::new();
    }
    let body = if in_table { s.replace('|', "\\|") } else { s.to_string() };
    let fence = "`".repeat(longest_backtick_run(&body) + 1);
    let pad = if body.starts_with('`') || body.ends_with('`') || body.starts_with(' ') { " " } else { "" };
    format!("{fence}{pad}{body}{pad}{fence}")
}

fn longest_backtick_run(s: &str) -> usize {
    s.split(|c| c != '`').map(str::len).max().unwrap_or(0)
}

/// `2026-11-26 12:00:00 UTC`.
fn datetime(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%d %H:%M:%S UTC").to_string()
}

/// `T+05:03`, `T+1h02:03`, `T-00:30`.
pub(super) fn offset(secs: i64) -> String {
    let sign = if secs < 0 { '-' } else { '+' };
    let s = secs.unsigned_abs();
    if s >= 3600 {
        format!("T{sign}{}h{:02}:{:02}", s / 3600, (s / 60) % 60, s % 60)
    } else {
        format!("T{sign}{:02}:{:02}", s / 60, s % 60)
    }
}

/// `35s`, `4m 05s`, `1h 02m 03s`.
pub(super) fn duration(secs: i64) -> String {
    let sign = if secs < 0 { "-" } else { "" };
    let s = secs.unsigned_abs();
    match s {
        0..=59 => format!("{sign}{s}s"),
        60..=3599 => format!("{sign}{}m {:02}s", s / 60, s % 60),
        _ => format!("{sign}{}h {:02}m {:02}s", s / 3600, (s / 60) % 60, s % 60),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn code_spans_cannot_be_closed_by_the_text() {
        assert_eq!(code("a`b", false), "``a`b``");
        assert_eq!(code("`x`", false), "`` `x` ``");
        assert_eq!(code("a|b", true), "`a\\|b`");
        assert_eq!(code("a|b", false), "`a|b`");
    }

    #[test]
    fn inline_text_escapes_markdown() {
        assert_eq!(text("[x](http://e) <b> *y* | #"), "\\[x\\](http://e) \\<b\\> \\*y\\* \\| \\#");
    }

    #[test]
    fn offsets_and_durations() {
        assert_eq!(offset(0), "T+00:00");
        assert_eq!(offset(303), "T+05:03");
        assert_eq!(offset(3723), "T+1h02:03");
        assert_eq!(offset(-30), "T-00:30");
        assert_eq!(duration(35), "35s");
        assert_eq!(duration(245), "4m 05s");
        assert_eq!(duration(3723), "1h 02m 03s");
    }
}
