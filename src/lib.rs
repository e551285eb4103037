//! warroom: a full-screen terminal incident console.
//!
//! Layers, lowest first; each names only the layers before it (`tests/layering.rs` checks it,
//! `docs/architecture.md` explains it): the leaves [`clock`], [`text`] (sanitizing and
//! redaction), [`command`] (the key-command vocabulary) and [`diagnostics`]; [`config`] (the
//! files the user edits); [`operation`] (the vocabulary of what can be done to the estate);
//! [`backends`] (the systems, and the drill estate, behind `Observe`/`Operate`); [`incident`]
//! (the durable log and what is derived from it); [`runbook`] (procedures, and how their steps
//! are built, previewed, prechecked and verified); [`app`] (the pure core, no terminal);
//! [`runner`] (carries out the core's effects), [`driver`] (the one loop that feeds the core)
//! and [`ui`] (pure drawing); [`tui`] (the terminal); [`cli`] (the commands).

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
