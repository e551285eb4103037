//! warroom: a full-screen terminal incident console.
//!
//! Layers, lowest first; each names only the layers before it (`tests/layering.rs` checks it):
//! the leaves [`clock`], [`text`] (sanitizing and redaction), [`command`] (the key-command
//! vocabulary) and [`diagnostics`]; [`config`] (the files the user edits); [`backends`] (the
//! systems, and the drill estate, behind `Observe`/`Operate`); [`incident`] (the durable log and
//! what is derived from it); [`runbook`] (operations and procedures); [`app`] (the pure core,
//! no terminal); [`runner`] (carries out the core's effects) and [`ui`] (pure drawing); [`tui`]
//! (the terminal and event loop); [`cli`] (the commands).

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
