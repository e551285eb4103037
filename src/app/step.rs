//! [`StepRun`]: one operation going through preview, precheck, confirm, execute, verify.

use chrono::{DateTime, Utc};

use crate::operation::{Check, Operation, Preview, Risk};

/// Where a step failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stage {
    /// A precheck failed (before or at confirmation).
    Precheck,
    /// The operation returned an error or timed out.
    Execute,
    /// The postcondition did not hold before the verify deadline.
    Verify,
    /// Waiting for approvals: rejected, or timed out (nothing was executed).
    Approval,
}

impl Stage {
    /// Lower-case name.
    pub fn as_str(self) -> &'static str {
        match self {
            Stage::Precheck => "precheck",
            Stage::Execute => "execute",
            Stage::Verify => "verify",
            Stage::Approval => "approval",
        }
    }
}

/// Pipeline state of a step.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StepStatus {
    /// Created, preview shown, prechecks not run yet.
    Proposed,
    /// Prechecks passed; waiting for the operator to open the confirmation.
    Prechecked,
    /// The confirm dialog is open.
    AwaitingConfirm,
    /// Confirmed by the commander; waits for other people's approvals of exactly this preview
    /// (`digest`) and does not execute before enough arrive (see `app::approval`).
    AwaitingApproval {
        /// Approvals needed from people other than the commander.
        needed: u32,
        /// Approvals counted so far (same digest, this attempt, distinct people).
        approvals: u32,
        /// The digest of the confirmed preview (`operation::digest`).
        digest: String,
        /// When the step fails with "approval timed out".
        deadline: DateTime<Utc>,
        /// The confirmation (attempt) the approvals are for.
        attempt: u32,
    },
    /// The operation is running.
    Executing,
    /// Executed; polling the postcondition through the observe side.
    Verifying,
    /// Verified.
    Done,
    /// Failed at a stage, with the reason. Never proceeds by itself.
    Failed {
        /// Which stage.
        stage: Stage,
        /// Why.
        reason: String,
    },
    /// Skipped by the operator, with the reason.
    Skipped(String),
    /// Aborted by the operator.
    Aborted,
    /// The console died while the step was executing: verify before continuing.
    OutcomeUnknown,
}

impl StepStatus {
    /// Short label for the Steps pane.
    pub fn label(&self) -> &'static str {
        match self {
            StepStatus::Proposed => "proposed",
            StepStatus::Prechecked => "ready",
            StepStatus::AwaitingConfirm => "confirm?",
            StepStatus::AwaitingApproval { .. } => "approval?",
            StepStatus::Executing => "executing",
            StepStatus::Verifying => "verifying",
            StepStatus::Done => "done",
            StepStatus::Failed { .. } => "FAILED",
            StepStatus::Skipped(_) => "skipped",
            StepStatus::Aborted => "aborted",
            StepStatus::OutcomeUnknown => "UNKNOWN",
        }
    }

    /// Finished one way or another.
    pub fn is_terminal(&self) -> bool {
        matches!(self, StepStatus::Done | StepStatus::Skipped(_) | StepStatus::Aborted)
    }

    /// Work is in flight (execute or verify).
    pub fn is_active(&self) -> bool {
        matches!(self, StepStatus::Executing | StepStatus::Verifying)
    }
}

/// One operation's run through the pipeline.
#[derive(Debug, Clone, PartialEq)]
pub struct StepRun {
    /// Unique id within the incident.
    pub id: u64,
    /// The operation; `None` for a runbook step listed when its runbook started and not built
    /// yet (it is built, or skipped with the reason it cannot be, when it comes up).
    pub op: Option<Operation>,
    /// Its preview (computed once, shown before confirmation and logged).
    pub preview: Preview,
    /// Why this step is proposed (e.g. "healthiest replica: lag 0 B").
    pub why: String,
    /// Pipeline state.
    pub status: StepStatus,
    /// Latest precheck results.
    pub checks: Vec<Check>,
    /// When it was proposed.
    pub created_at: DateTime<Utc>,
    /// When execution started (last attempt).
    pub started_at: Option<DateTime<Utc>>,
    /// When it reached a terminal or failed state.
    pub finished_at: Option<DateTime<Utc>>,
    /// Verification deadline while verifying.
    pub verify_deadline: Option<DateTime<Utc>>,
    /// Output lines: execute summary, verify progress.
    pub output: Vec<String>,
    /// Execution attempts so far.
    pub attempts: u32,
    /// The runbook step this run belongs to (`step id`, or `step id/part`), if any.
    pub runbook_key: Option<String>,
    /// Risk raised by the runbook (never lowered below the operation's).
    pub risk_override: Option<Risk>,
    /// Execution timeout set by the runbook, in seconds.
    pub timeout_secs: Option<u64>,
    /// Another console drives this step: its state follows that console's log entries, and this
    /// console never verifies or logs it by itself (until it confirms the step itself).
    pub remote: bool,
    /// Verified with a warning: what is still wrong although the postcondition holds.
    pub warning: Option<String>,
    /// The API server's answers to the operation's access requests (`None`: not asked yet,
    /// or being asked); asked again on every retry.
    pub access: Option<Vec<crate::operation::access::AccessAnswer>>,
    /// The access questions are out: the step waits for the API server's answers.
    pub asking_access: bool,
    /// People who must agree, from the runbook step (`approvals = N`, commander included).
    pub approvals_rule: Option<u32>,
    /// Who confirmed the current attempt (the commander, from `step-confirmed`).
    pub confirmed_by: Option<String>,
    /// Every approval or rejection logged for this step, any attempt or digest.
    pub decisions: Vec<super::approval::Decision>,
}

impl StepRun {
    /// A new proposed step.
    pub fn new(id: u64, op: Operation, why: String, now: DateTime<Utc>) -> StepRun {
        StepRun { preview: op.preview(), op: Some(op), ..StepRun::listed(id, String::new(), why, now) }
    }

    /// A runbook step listed when its runbook started: only its title until it comes up.
    pub fn listed(id: u64, title: String, why: String, now: DateTime<Utc>) -> StepRun {
        StepRun {
            id,
            preview: Preview { title, target: String::new(), lines: Vec::new(), blast_radius: String::new() },
            op: None,
            why,
            status: StepStatus::Proposed,
            checks: Vec::new(),
            created_at: now,
            started_at: None,
            finished_at: None,
            verify_deadline: None,
            output: Vec::new(),
            attempts: 0,
            runbook_key: None,
            risk_override: None,
            timeout_secs: None,
            remote: false,
            warning: None,
            access: None,
            asking_access: false,
            approvals_rule: None,
            confirmed_by: None,
            decisions: Vec::new(),
        }
    }

    /// How careful the confirmation must be: the operation's risk, raised by the runbook.
    pub fn risk(&self) -> Risk {
        match (self.op.as_ref().map_or(Risk::Low, Operation::risk), self.risk_override) {
            (Risk::High, _) | (_, Some(Risk::High)) => Risk::High,
            _ => Risk::Low,
        }
    }

    /// The first failed precheck, if any.
    pub fn failed_check(&self) -> Option<&Check> {
        self.checks.iter().find(|c| !c.ok)
    }

    /// Done, but verified with a warning.
    pub fn verified_with_warning(&self) -> bool {
        self.status == StepStatus::Done && self.warning.is_some()
    }

    /// Seconds spent since execution started (or since proposal).
    pub fn elapsed_secs(&self, now: DateTime<Utc>) -> i64 {
        let start = self.started_at.unwrap_or(self.created_at);
        let end = self.finished_at.unwrap_or(now);
        (end - start).num_seconds().max(0)
    }
}
