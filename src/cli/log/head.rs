//! The chain's head in `warroom log verify` (the anchor in the state dir, `--head` from an
//! export) and in every export (so the post-mortem carries the value to compare).

use std::path::Path;

use serde_json::{Value, json};

use super::ExportFormat;
use crate::incident::log::anchor::{AnchorVerdict, ExpectedHead, check, head_of, verify_anchor};

/// What the head checks found: failures (exit 1) and notes printed after the verdict.
#[derive(Debug, Default)]
pub(super) struct HeadLines {
    /// Truncation or rewriting found.
    pub failures: Vec<String>,
    /// Matches and warnings.
    pub notes: Vec<String>,
}

/// Compares the log with its anchor in `state_dir` and, when given, the head from an export.
pub(super) fn check_heads(
    state_dir: &Path,
    id: &str,
    log: &Path,
    expected: Option<&ExpectedHead>,
) -> color_eyre::Result<HeadLines> {
    let mut lines = HeadLines::default();
    let shown = log.display();
    match verify_anchor(state_dir, id, log)? {
        AnchorVerdict::Missing => lines.notes.push(format!(
            "warning: no anchored head for {id} in {} (an incident from before anchors, or the anchor \
             was deleted): a truncated or re-chained log would not be detected; compare with an export's \
             head (--head SEQ:HASH)",
            state_dir.join("anchors").display()
        )),
        AnchorVerdict::OtherLog(other) => lines.notes.push(format!(
            "warning: the anchored head of {id} was written for another log ({}): not compared",
            crate::text::sanitize(&other)
        )),
        AnchorVerdict::Checked { head, check } if check.is_ok() => {
            lines.notes.push(format!("head: {} (sha256 {})", check.message("its anchor"), head.hash));
        }
        AnchorVerdict::Checked { check, .. } => {
            lines.failures.push(format!("TAMPERED OR DAMAGED: {shown}: {}", check.message("its anchor")));
        }
    }
    if let Some(expected) = expected {
        let c = check(log, expected)?;
        let line = c.message("the head given");
        if c.is_ok() {
            lines.notes.push(format!("head: {line} (--head {})", expected.hash));
        } else {
            lines.failures.push(format!("TAMPERED OR DAMAGED: {shown}: {line}"));
        }
    }
    Ok(lines)
}

/// The export with the log's head: a closing Markdown section, or `log_head` in the JSON.
pub(super) fn with_head(
    text: &str,
    format: ExportFormat,
    log: &Path,
    id: &str,
) -> color_eyre::Result<String> {
    let Some(head) = head_of(log)? else { return Ok(text.to_string()) };
    Ok(match format {
        ExportFormat::Markdown => {
            let mut out = text.trim_end_matches('\n').to_string();
            out.push_str(&format!(
                "\n\n## Log head\n\nThe log ended at entry #{} (line SHA-256 `{}`, {} bytes). Check a copy of \
                 the log against it: `warroom log verify {id} --head {}:{}`\n",
                head.seq, head.hash, head.bytes, head.seq, head.hash
            ));
            out
        }
        ExportFormat::Json => {
            let mut doc: Value = serde_json::from_str(text)?;
            if let Value::Object(map) = &mut doc {
                map.insert(
                    "log_head".into(),
                    json!({ "seq": head.seq, "sha256": head.hash, "bytes": head.bytes, "entries": head.entries }),
                );
            }
            serde_json::to_string_pretty(&doc)?
        }
    })
}
