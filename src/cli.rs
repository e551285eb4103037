//! The command line: `warroom` (live console), `drill`, `status`, `plan`, `exec`, `check`, `log`,
//! `replay`, `init`, `completions`, `manpage`.

pub mod approve;
pub mod check;
pub mod completions;
pub mod console;
pub mod drill;
mod drill_host;
pub mod error;
pub mod exec;
pub mod init;
pub mod live;
pub mod log;
pub mod out;
pub mod plan;
pub mod replay;
pub mod shared;
pub mod status;

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

pub use error::UserError;

/// Full-screen terminal incident console: live Kubernetes, PostgreSQL, Redis Sentinel and traffic
/// panes, a timed communication checklist, confirmed failover steps and a durable incident log.
#[derive(Debug, Parser)]
#[command(name = "warroom", version, propagate_version = true)]
pub struct Cli {
    /// What to run (default: the live console).
    #[command(subcommand)]
    pub command: Option<Cmd>,
    /// Options shared by every command.
    #[command(flatten)]
    pub common: CommonArgs,
    /// Declare a new incident with this title.
    #[arg(long, value_name = "TITLE")]
    pub new: Option<String>,
    /// Severity of a new incident (SEV1-SEV4).
    #[arg(long, default_value = "SEV2", value_parser = ["SEV1", "SEV2", "SEV3", "SEV4"])]
    pub severity: String,
    /// Resume this incident (default: the most recent open one).
    #[arg(long, value_name = "ID")]
    pub incident: Option<String>,
}

/// Options shared by every command.
#[derive(Debug, Clone, Args)]
pub struct CommonArgs {
    /// warroom.toml to use (default: $WARROOM_CONFIG, then the config dir).
    #[arg(long, global = true, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Theme name (default, light, high-contrast, mono) or path to a theme file.
    #[arg(long, global = true, value_name = "NAME|FILE")]
    pub theme: Option<String>,
    /// Keymap name (default, vim) or path to a keymap file.
    #[arg(long, global = true, value_name = "NAME|FILE")]
    pub keymap: Option<String>,
    /// Observer console: sees everything, writes notes, cannot confirm a step.
    #[arg(long, global = true)]
    pub read_only: bool,
}

/// Subcommands.
#[derive(Debug, Subcommand)]
pub enum Cmd {
    /// Run the console against a simulated estate with injected faults (no services needed).
    Drill(drill::DrillArgs),
    /// Print one snapshot of every layer and exit: a health check (exit 0 all answered, 4 a
    /// configured layer could not be read, 2 a bad config).
    Status {
        /// Print JSON (the shape is a stable contract).
        #[arg(long)]
        json: bool,
    },
    /// Print every step of a runbook with its exact preview; execute nothing (exit 2 usage/config,
    /// 3 parameters unresolvable).
    Plan(plan::PlanArgs),
    /// Run a runbook without a terminal through the console's pipeline, lock and log (exit 0
    /// completed, 1 failed at a step, 2 usage/config, 3 refused, 130 interrupted).
    Exec(exec::ExecArgs),
    /// Validate the config, theme, keymap, runbook and scenario files: every problem in one run
    /// (exit 1), no configuration at all (exit 2).
    Check,
    /// Incident logs: list, show, verify, export.
    Log {
        /// What to do.
        #[command(subcommand)]
        command: log::LogCommand,
    },
    /// Replay a recorded console, read-only, as it was (space pause, +/- speed, arrows seek,
    /// [ ] log entries, m milestones, ? help).
    Replay(replay::ReplayArgs),
    /// Write a commented warroom.toml from the kubeconfig's contexts, the PostgreSQL and Redis
    /// Sentinel pods found in Kubernetes and a Route 53 record's weighted records.
    Init(init::InitArgs),
    /// Print a shell completion script (bash, zsh, fish).
    Completions {
        /// The shell.
        #[arg(value_enum)]
        shell: completions::Shell,
    },
    /// Print the man page (roff), or write one per subcommand with --dir.
    Manpage(completions::ManpageArgs),
    /// Approve (or `--reject --reason`) another person's step awaiting approval, after seeing
    /// its exact preview and digest (exit 0 written, 2 usage, 3 refused).
    Approve(approve::ApproveArgs),
}
