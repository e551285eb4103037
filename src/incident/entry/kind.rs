//! [`EntryKind`]: what an incident-log entry records, declared once.
//!
//! On disk a kind is a kebab-case string (`"step-verified"`); the names below are the wire
//! format that resume, export, history and mirroring read back, so they never change. A kind
//! this build does not know (a log written by a newer warroom, or `warroom log append --kind`)
//! reads as [`EntryKind::Other`] and is shown, exported and written back byte for byte.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Declares [`EntryKind`] with its wire names: one line per kind.
macro_rules! entry_kinds {
    ($($(#[$doc:meta])* $variant:ident = $name:literal,)*) => {
        /// What an incident-log entry records. Serialized as its kebab-case wire name.
        #[derive(Debug, Clone, PartialEq, Eq, Hash)]
        pub enum EntryKind {
            $($(#[$doc])* $variant,)*
            /// A kind this build does not know, kept verbatim (written by a newer warroom or by
            /// a script). Build it with `EntryKind::from`, which maps known names to their variant.
            Other(String),
        }

        impl EntryKind {
            /// Every kind this build knows, in declaration order.
            pub const KNOWN: &'static [EntryKind] = &[$(EntryKind::$variant,)*];

            /// The wire name, as written to the log.
            pub fn as_str(&self) -> &str {
                match self {
                    $(EntryKind::$variant => $name,)*
                    EntryKind::Other(name) => name,
                }
            }

            /// The known kind named `name`, if any.
            fn known(name: &str) -> Option<EntryKind> {
                match name {
                    $($name => Some(EntryKind::$variant),)*
                    _ => None,
                }
            }
        }
    };
}

entry_kinds! {
    /// The first entry of every incident: id, title, severity, drill flag, format.
    Declared = "declared",
    /// The incident was resolved (sets `resolved_at`): `{summary}`.
    Resolved = "resolved",
    /// A resolved incident was reopened (clears `resolved_at`).
    Reopened = "reopened",
    /// An unreadable (torn) tail left by a crash, recorded by the next writer (see `log`).
    TornTail = "torn-tail",
    /// A free-text note: `{text}`. The only kind a read-only console's keys write (its exit
    /// also logs its flight-recorder segment: `recording`).
    Note = "note",
    /// A note attached to a step: `{step, note}`.
    StepNote = "step-note",
    /// A checklist item ticked: `{item, note}`.
    Checklist = "checklist",
    /// A status update posted (or copied): `{text}`.
    StatusUpdate = "status-update",
    /// Something changed in the observed estate: `{source, event, ...}`.
    Observation = "observation",
    /// The estate verdict changed level (drills): `{level, reasons, expected_down}`.
    Verdict = "verdict",
    /// The commander lock was taken, handed over or released: `{event, ...}`.
    Commander = "commander",
    /// An operator override: accepted data loss on a promotion (`{step, accepted_bytes, ...}`) or
    /// a single-authority check set aside on a layer (`{check, layer, reason, conflict}`).
    Override = "override",
    /// A layer's single-authority override dropped because the conflict cleared.
    OverrideCleared = "override-cleared",
    /// A runbook was started: `{runbook, title, params, steps, only}`.
    RunbookStarted = "runbook-started",
    /// A runbook ended: `{runbook, outcome, secs, steps}`.
    RunbookFinished = "runbook-finished",
    /// A step was proposed with its exact preview: `{step, op, preview, why, ...}`.
    StepPreviewed = "step-previewed",
    /// The operator confirmed a step: `{step, typed, attempt}`.
    StepConfirmed = "step-confirmed",
    /// A confirmed step is being executed (written before it runs): `{step, op, timeout_secs}`.
    StepExecuting = "step-executing",
    /// The backend answered: `{step, ok, result}`.
    StepResult = "step-result",
    /// The step's effect was observed: `{step, verified, ...}`.
    StepVerified = "step-verified",
    /// A precheck, the execution or the verification failed: `{step, stage, reason}`.
    StepFailed = "step-failed",
    /// The step was skipped: `{step, reason}`.
    StepSkipped = "step-skipped",
    /// The step was aborted by the operator: `{step}`.
    StepAborted = "step-aborted",
    /// A failed step is to be tried again (prechecks run again): `{step}`.
    StepRetry = "step-retry",
    /// A confirmation prompt was cancelled: `{step}`.
    StepCancelled = "step-cancelled",
    /// A drill's parameters and who hosts its estate.
    DrillEstate = "drill-estate",
    /// What a drill measured (RTO, data loss, milestones).
    DrillResult = "drill-result",
    /// What a live recovery measured (like `drill-result`).
    RecoveryResult = "recovery-result",
    /// The latest mitigation no longer holds (the estate failed again): `{reasons, level, ...}`.
    MitigationWithdrawn = "mitigation-withdrawn",
    /// A flight-recorder segment closed: `{console, segment, bytes, records, sha256, from, to}`.
    Recording = "recording",
    /// What a drill's facilitator did: `{action: "pause"|"resume"|"inject"|"hint"|"end", ...}`
    /// (`inject`: `{fault}`; `hint`: `{n, text, hint, by}`). Trainees see only hints.
    Facilitator = "facilitator",
    /// Trend samples the console logs for the post-mortem's charts (`app::trend`), one per series
    /// at most once a minute and only on change: `{samples: [{series: "lag", name, bytes,
    /// seconds, peak_bytes} | {series: "traffic", name, share_pct, health} | {series, name,
    /// stale: true}]}`.
    TrendSample = "trend-sample",
    /// Two hosts appended while the shared store was unreachable: this host's entries were
    /// re-chained after the store's: `{at_seq, rechained, store_head, saved, saved_sha256}`.
    Fork = "fork",
    /// Another person approved a confirmed step (two-person rule): `{step, digest, attempt}`;
    /// the entry's operator is who approved.
    StepApproved = "step-approved",
    /// Another person rejected a confirmed step: `{step, digest, attempt, reason}`.
    StepRejected = "step-rejected",
    /// A posted status update's delivery to one `[[notify]]` target:
    /// `{target, kind, attempts, status, ok, error}` (`status` "drill: not sent" in a drill).
    NotifyResult = "notify-result",
}

impl EntryKind {
    /// A step entry: any kind named `step-...`, unknown ones from a newer build included.
    pub fn is_step(&self) -> bool {
        self.as_str().starts_with("step-")
    }

    /// Bookkeeping that clutters the Log pane and the post-mortem timeline: a `recording`
    /// entry (one per flight-recorder segment per console, every few minutes). `log show`
    /// lists it; the export lists it under its own "Recordings" section. Also `trend-sample`
    /// (charted by the export, not listed in the Log pane or the timeline).
    pub fn is_bookkeeping(&self) -> bool {
        matches!(self, EntryKind::Recording | EntryKind::TrendSample)
    }

    /// A measured result of a drill or of a live recovery.
    pub fn is_result(&self) -> bool {
        matches!(self, EntryKind::DrillResult | EntryKind::RecoveryResult)
    }

    /// A failure worth highlighting (a failed step; unknown kinds naming a failure too).
    pub fn is_failure(&self) -> bool {
        self.as_str().contains("failed")
    }
}

impl From<&str> for EntryKind {
    fn from(name: &str) -> EntryKind {
        EntryKind::known(name).unwrap_or_else(|| EntryKind::Other(name.to_string()))
    }
}

impl From<String> for EntryKind {
    fn from(name: String) -> EntryKind {
        EntryKind::known(&name).unwrap_or(EntryKind::Other(name))
    }
}

impl std::str::FromStr for EntryKind {
    type Err = std::convert::Infallible;

    /// Any name parses: unknown ones become [`EntryKind::Other`] (`warroom log append --kind`).
    fn from_str(name: &str) -> Result<EntryKind, Self::Err> {
        Ok(EntryKind::from(name))
    }
}

/// The wire name; width and alignment apply (`{:<16}` pads like a string).
impl fmt::Display for EntryKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(self.as_str())
    }
}

impl Serialize for EntryKind {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for EntryKind {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<EntryKind, D::Error> {
        String::deserialize(d).map(EntryKind::from)
    }
}

#[cfg(test)]
mod tests {
    use super::EntryKind::{self, *};

    /// The wire names logs were written with before the enum existed: they must never change.
    const WIRE: &[(EntryKind, &str)] = &[
        (Declared, "declared"),
        (Resolved, "resolved"),
        (Reopened, "reopened"),
        (TornTail, "torn-tail"),
        (Note, "note"),
        (StepNote, "step-note"),
        (Checklist, "checklist"),
        (StatusUpdate, "status-update"),
        (Observation, "observation"),
        (Verdict, "verdict"),
        (Commander, "commander"),
        (Override, "override"),
        (OverrideCleared, "override-cleared"),
        (RunbookStarted, "runbook-started"),
        (RunbookFinished, "runbook-finished"),
        (StepPreviewed, "step-previewed"),
        (StepConfirmed, "step-confirmed"),
        (StepExecuting, "step-executing"),
        (StepResult, "step-result"),
        (StepVerified, "step-verified"),
        (StepFailed, "step-failed"),
        (StepSkipped, "step-skipped"),
        (StepAborted, "step-aborted"),
        (StepRetry, "step-retry"),
        (StepCancelled, "step-cancelled"),
        (DrillEstate, "drill-estate"),
        (DrillResult, "drill-result"),
        (RecoveryResult, "recovery-result"),
        (MitigationWithdrawn, "mitigation-withdrawn"),
        (Recording, "recording"),
        (Facilitator, "facilitator"),
        (TrendSample, "trend-sample"),
        (Fork, "fork"),
        (StepApproved, "step-approved"),
        (StepRejected, "step-rejected"),
        (NotifyResult, "notify-result"),
    ];

    #[test]
    fn every_kind_keeps_its_old_wire_name_both_ways() {
        assert_eq!(WIRE.len(), EntryKind::KNOWN.len(), "a kind was added: list its wire name here");
        for (kind, name) in WIRE {
            assert!(EntryKind::KNOWN.contains(kind), "{kind:?}");
            assert_eq!(kind.as_str(), *name);
            assert_eq!(kind.to_string(), *name);
            assert_eq!(serde_json::to_string(kind).unwrap(), format!("\"{name}\""));
            assert_eq!(serde_json::from_str::<EntryKind>(&format!("\"{name}\"")).unwrap(), *kind);
            assert_eq!(EntryKind::from(*name), *kind);
            assert_eq!(name.parse::<EntryKind>(), Ok(kind.clone()));
        }
    }

    #[test]
    fn an_unknown_kind_reads_back_and_is_written_unchanged() {
        for name in ["pager-escalated", "Step-Verified", "step-verified ", "", "ünï \u{1b}[2J"] {
            let json = serde_json::to_string(name).unwrap();
            let kind: EntryKind = serde_json::from_str(&json).unwrap();
            assert_eq!(kind, EntryKind::Other(name.to_string()));
            assert_eq!(kind.as_str(), name);
            assert_eq!(serde_json::to_string(&kind).unwrap(), json);
        }
        assert!(EntryKind::from("step-paused").is_step(), "a newer build's step kind is a step kind");
        assert!(!EntryKind::Note.is_step() && StepCancelled.is_step());
        assert!(StepFailed.is_failure() && !StepVerified.is_failure());
        assert!(DrillResult.is_result() && RecoveryResult.is_result() && !Verdict.is_result());
        assert!(Recording.is_bookkeeping() && !Note.is_bookkeeping());
        assert!(!EntryKind::from("recording-note").is_bookkeeping(), "only the recorder's own kind");
    }

    #[test]
    fn display_pads_like_the_string_it_replaced() {
        assert_eq!(format!("[{:<16}]", StepVerified), format!("[{:<16}]", "step-verified"));
        assert_eq!(format!("[{:>6}]", Note), "[  note]");
        assert_eq!(format!("[{:<8}]", EntryKind::from("pager")), "[pager   ]");
    }

    /// Production code names kinds through the enum: a wire name written as a string where a
    /// kind is logged or compared (`log(state, fx, "note", ..)`, `kind == "resolved"`) fails here
    /// with its file and line. Unit-test modules and this file are not scanned.
    #[test]
    fn no_kind_is_spelled_as_a_string_outside_this_module() {
        fn files(dir: &std::path::Path, out: &mut Vec<std::path::PathBuf>) {
            for e in std::fs::read_dir(dir).expect("src dir").map(|e| e.expect("dir entry").path()) {
                if e.is_dir() {
                    files(&e, out);
                } else if e.extension().is_some_and(|x| x == "rs") {
                    out.push(e);
                }
            }
        }
        let mut all = Vec::new();
        files(&std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src"), &mut all);
        let quoted: Vec<String> = WIRE.iter().map(|(_, name)| format!("\"{name}\"")).collect();
        let mut bad = Vec::new();
        for f in
            all.iter().filter(|f| !f.ends_with("entry/kind.rs") && !f.to_string_lossy().ends_with("tests.rs"))
        {
            let text = std::fs::read_to_string(f).expect("utf-8 source");
            let lines: Vec<&str> = text.lines().collect();
            for (i, line) in lines.iter().enumerate() {
                if line.trim() == "#[cfg(test)]"
                    && lines.get(i + 1).is_some_and(|l| l.starts_with("mod tests"))
                {
                    break;
                }
                let before = lines[i.saturating_sub(3)..i].join(" ");
                let kind_position = ["kind", "log(", "append(", "LogIntent"]
                    .iter()
                    .any(|w| line.contains(w) || (line.trim().starts_with('"') && before.contains(w)));
                if kind_position && quoted.iter().any(|q| line.contains(q.as_str())) {
                    bad.push(format!("{}:{}: {}", f.display(), i + 1, line.trim()));
                }
            }
        }
        assert!(all.len() > 50, "the scan found the sources");
        assert!(bad.is_empty(), "entry kinds spelled as strings (use EntryKind):\n{}", bad.join("\n"));
    }
}
