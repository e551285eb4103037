//! Scenarios as data: [`model`] is what a scenario file says, [`parse`] reads one with file,
//! line and column on every problem, [`registry`] knows the built-ins and the user's files.

pub mod model;
pub mod parse;
pub mod registry;

pub use model::{FaultDef, FaultKind, Forbidden, HintDef, Objectives, Points, ScenarioDef};
