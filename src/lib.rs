//! warroom: a full-screen terminal incident console.
//!
//! Layout (README, "Layout of the code"; contracts in `docs/`): [`app`] is the pure core, [`ui`] pure drawing, [`tui`] the
//! terminal and event loop, [`backends`] the systems (and the drill estate) behind the
//! `Observe`/`Operate` traits, [`operation`] the vocabulary of what can be done to the
//! estate, [`runbook`] procedures and how their steps are previewed, prechecked and verified,
//! [`incident`] the log and checklist, [`config`] the files the user edits.

pub mod app;
pub mod backends;
pub mod cli;
pub mod clock;
pub mod config;
pub mod diagnostics;
pub mod incident;
pub mod operation;
pub mod runbook;
pub mod runner;
pub mod text;
pub mod tui;
pub mod ui;
