//! warroom: a full-screen terminal incident console.
//!
//! Layout (README, "Layout of the code"; contracts in `docs/`): [`app`] is the pure core, [`ui`] pure drawing, [`tui`] the
//! terminal and event loop, [`backends`] the systems (and the drill estate) behind the
//! `Observe`/`Operate` traits, [`runbook`] operations and procedures, [`incident`] the log and
//! checklist, [`config`] the files the user edits.

pub mod app;
pub mod backends;
pub mod cli;
pub mod clock;
pub mod command;
pub mod config;
pub mod diagnostics;
pub mod driver;
pub mod incident;
pub mod operation;
pub mod runbook;
pub mod runner;
pub mod text;
pub mod tui;
pub mod ui;
