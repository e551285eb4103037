//! `warroom log ...`: list, show, verify, append to and export incident logs from a shell.

use std::io::Write;
use std::path::Path;

use clap::{Subcommand, ValueEnum};
use color_eyre::eyre::{WrapErr, eyre};
use serde_json::Value;

use super::UserError;
use crate::incident::entry::EntryKind;
use crate::incident::export::{ExportMeta, export_json_scored, export_markdown_scored};
use crate::incident::log::anchor::ExpectedHead;
use crate::incident::log::{IncidentLog, LogError, read_log, verify};
use crate::incident::operator::operator_identity;
use crate::incident::recorder;
use crate::incident::scorecard::scenario_for;
use crate::incident::store::{self, list_incidents};

mod head;

/// Subcommands of `warroom log`.
#[derive(Debug, Clone, PartialEq, Eq, Subcommand)]
pub enum LogCommand {
    /// List incidents: id, severity, start (UTC), open/resolved, drill, title.
    List,
    /// Print an incident's timeline: `HH:MM:SS.mmm  operator  kind  summary`.
    Show {
        /// Incident id, e.g. INC-20261126-120301.
        id: String,
    },
    /// Check the hash chain and the head anchored in the state dir; exit 1 if anything was
    /// edited, deleted, reordered, forged or cut off.
    Verify {
        /// Incident id.
        id: String,
        /// Also check the log holds this head (`SEQ:HASH` or `HASH`, as an export prints it).
        #[arg(long, value_name = "SEQ:HASH")]
        head: Option<ExpectedHead>,
    },
    /// Append entries (for scripts and tests); records a torn tail first if there is one.
    Append {
        /// Incident id.
        id: String,
        /// Entry kind: a known one (`note`, `checklist`, `step-verified`, ...) or any other name,
        /// written as given.
        #[arg(long, default_value_t = EntryKind::Note)]
        kind: EntryKind,
        /// One-line summary (with ` #N` appended when --count is above 1).
        #[arg(long, default_value = "scripted entry")]
        summary: String,
        /// Details as a JSON object.
        #[arg(long)]
        details: Option<String>,
        /// How many entries to append, one fsync each.
        #[arg(long, default_value_t = 1)]
        count: u64,
    },
    /// Export an incident for the post-mortem.
    Export {
        /// Incident id.
        id: String,
        /// Output format.
        #[arg(long, value_enum, default_value_t = ExportFormat::Markdown)]
        format: ExportFormat,
    },
}

/// Export formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ExportFormat {
    /// Markdown post-mortem skeleton (`md` works too).
    #[value(alias = "md")]
    Markdown,
    /// JSON document.
    Json,
}

/// Runs a `warroom log` subcommand against `data_dir` (heads anchored in `state_dir`); returns
/// the process exit code (`verify`: 0 intact, 1 tampered or damaged).
pub fn run(cmd: LogCommand, data_dir: &Path, state_dir: &Path) -> color_eyre::Result<i32> {
    let mut out = std::io::stdout().lock();
    match cmd {
        LogCommand::List => list(&mut out, data_dir),
        LogCommand::Show { id } => show(&mut out, data_dir, &id),
        LogCommand::Verify { id, head } => verify_cmd(&mut out, data_dir, state_dir, &id, head.as_ref()),
        LogCommand::Append { id, kind, summary, details, count } => {
            let details = details_object(details.as_deref())?;
            append(&mut out, (data_dir, state_dir), &id, &kind, &summary, &details, count)
        }
        LogCommand::Export { id, format } => export(&mut out, data_dir, &id, format),
    }
}

/// `--details`: a JSON object (`{}` when absent).
fn details_object(text: Option<&str>) -> color_eyre::Result<Value> {
    let Some(text) = text else { return Ok(Value::Object(Default::default())) };
    match serde_json::from_str(text) {
        Ok(v @ Value::Object(_)) => Ok(v),
        Ok(_) => Err(UserError::usage("--details: expected a JSON object ({...})").into()),
        Err(e) => Err(UserError::usage(format!(
            "--details: line {}, column {}: expected a JSON object: {e}",
            e.line(),
            e.column()
        ))
        .into()),
    }
}

/// Appends `count` entries of `kind` (any kind: scripts may write ones this build does not
/// know), one fsync each.
fn append(
    out: &mut impl Write,
    (data_dir, state_dir): (&Path, &Path),
    id: &str,
    kind: &EntryKind,
    summary: &str,
    details: &Value,
    count: u64,
) -> color_eyre::Result<i32> {
    let (log, _meta, _entries) = IncidentLog::open(data_dir, id, &operator_identity())?;
    let log = log.anchored(state_dir)?;
    let mut last = None;
    for i in 1..=count {
        let text = if count > 1 { format!("{summary} #{i}") } else { summary.to_string() };
        last = Some(log.append(kind, &text, details.clone())?.seq);
    }
    if let Some(seq) = last {
        writeln!(
            out,
            "appended {count} entr{} to {id} (last seq {seq})",
            if count == 1 { "y" } else { "ies" }
        )?;
    }
    Ok(0)
}

/// The config dir's `scenarios/` (user scenario files that add to or replace the built-in ones).
pub(crate) fn scenarios_dir() -> Option<std::path::PathBuf> {
    crate::config::paths::Environment::from_process().config_dir.map(|d| d.join("scenarios"))
}

fn export(out: &mut impl Write, data_dir: &Path, id: &str, format: ExportFormat) -> color_eyre::Result<i32> {
    let path = existing_log(data_dir, id)?;
    let entries = read_log(&path)?;
    let meta = store::meta_from_entries(&path, &entries)?;
    let export_meta = ExportMeta {
        id: meta.id,
        title: meta.title,
        severity: meta.severity,
        drill: meta.drill,
        declared_at: meta.declared_at,
        resolved_at: meta.resolved_at,
    };
    let scenario = if meta.drill { scenario_for(&entries, scenarios_dir().as_deref()) } else { None };
    let text = match format {
        ExportFormat::Markdown => export_markdown_scored(&export_meta, &entries, scenario.as_ref()),
        ExportFormat::Json => export_json_scored(&export_meta, &entries, scenario.as_ref()),
    };
    let text = head::with_head(&text, format, &path, id)?;
    out.write_all(text.as_bytes())?;
    if !text.ends_with('\n') {
        writeln!(out)?;
    }
    Ok(0)
}

fn list(out: &mut impl Write, data_dir: &Path) -> color_eyre::Result<i32> {
    let listed = list_incidents(data_dir)?;
    if listed.is_empty() {
        writeln!(out, "no incidents in {}", store::incidents_dir(data_dir).display())?;
        return Ok(0);
    }
    writeln!(out, "{:<28} {:<8} {:<20} {:<9} {:<6} TITLE", "ID", "SEV", "STARTED (UTC)", "STATE", "DRILL")?;
    for item in listed {
        match item {
            Ok(m) => writeln!(
                out,
                "{:<28} {:<8} {:<20} {:<9} {:<6} {}",
                clean(&m.id),
                clean(&m.severity),
                m.declared_at.format("%Y-%m-%d %H:%M:%S"),
                if m.resolved_at.is_some() { "resolved" } else { "open" },
                if m.drill { "DRILL" } else { "-" },
                clean(&m.title)
            )?,
            Err(e) => eprintln!("warning: {e}"),
        }
    }
    Ok(0)
}

fn show(out: &mut impl Write, data_dir: &Path, id: &str) -> color_eyre::Result<i32> {
    let path = existing_log(data_dir, id)?;
    let entries = read_log(&path)?;
    let meta = store::meta_from_entries(&path, &entries)?;
    let state = match meta.resolved_at {
        Some(at) => format!("resolved {}", at.format("%Y-%m-%d %H:%M:%S UTC")),
        None => "open".to_string(),
    };
    writeln!(
        out,
        "{} {} {}{}: {}",
        clean(&meta.id),
        clean(&meta.severity),
        state,
        if meta.drill { " [DRILL]" } else { "" },
        clean(&meta.title)
    )?;
    for e in &entries {
        writeln!(
            out,
            "{}  {}  {}  {}",
            e.ts.format("%H:%M:%S%.3f"),
            clean(&e.operator),
            clean(e.kind.as_str()),
            clean(&e.summary)
        )?;
    }
    Ok(0)
}

fn verify_cmd(
    out: &mut impl Write,
    data_dir: &Path,
    state_dir: &Path,
    id: &str,
    expected: Option<&ExpectedHead>,
) -> color_eyre::Result<i32> {
    let path = existing_log(data_dir, id)?;
    let report = verify(&path)?;
    if let Some(p) = &report.problem {
        writeln!(out, "TAMPERED OR DAMAGED: {}: line {}: {}", path.display(), p.line, p.message)?;
        writeln!(out, "({} entries verified before it)", report.entries)?;
        return Ok(1);
    }
    let heads = head::check_heads(state_dir, id, &path, expected)?;
    for f in &heads.failures {
        writeln!(out, "{f}")?;
    }
    if !heads.failures.is_empty() {
        writeln!(out, "({} entries verified, hash chain intact up to the end of the file)", report.entries)?;
        return Ok(1);
    }
    let rec = recorder::verify(data_dir, id, &read_log(&path)?);
    for p in &rec.problems {
        writeln!(out, "TAMPERED OR DAMAGED: {p}")?;
    }
    if !rec.is_intact() {
        writeln!(
            out,
            "(log: {} entries verified; {} recording segment(s) verified)",
            report.entries, rec.verified
        )?;
        return Ok(1);
    }
    writeln!(
        out,
        "OK: {} entries, hash chain intact, {} torn line(s) recorded; {} recording segment(s) verified",
        report.entries, report.recorded_torn, rec.verified
    )?;
    for note in &heads.notes {
        writeln!(out, "{note}")?;
    }
    for open in &rec.open {
        writeln!(
            out,
            "open: recording segment {} (its console is running, or stopped without closing it)",
            open.display()
        )?;
    }
    if let Some(t) = &report.pending_torn {
        writeln!(
            out,
            "note: torn tail from an interrupted write at line {} ({} line(s), {} bytes); \
             the next open records it",
            t.first_line, t.lines, t.bytes
        )?;
    }
    Ok(0)
}

/// The log path of `id`, with a clear error when it does not exist.
fn existing_log(data_dir: &Path, id: &str) -> color_eyre::Result<std::path::PathBuf> {
    let path = store::log_path(data_dir, id)?;
    if !path.exists() {
        return Err(LogError::NotFound { id: id.to_string(), path }.into());
    }
    Ok(path)
}

/// Log text is untrusted: control characters (escape sequences) and bidi controls never reach
/// the terminal.
fn clean(s: &str) -> String {
    s.chars().map(|c| if crate::text::is_unsafe(c) { '?' } else { c }).collect()
}

/// Context helper for callers that want the data dir named in errors.
pub fn data_dir_from_env() -> color_eyre::Result<std::path::PathBuf> {
    std::env::var_os("WARROOM_DATA_DIR")
        .filter(|v| !v.is_empty())
        .map(std::path::PathBuf::from)
        .ok_or_else(|| eyre!("WARROOM_DATA_DIR is not set: it must name the data directory"))
        .wrap_err("warroom log needs a data directory")
}
