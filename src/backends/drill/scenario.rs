//! Scenarios as data: [`model`] is what a scenario file says.

pub mod model;

pub use model::{FaultDef, FaultKind, Forbidden, HintDef, Objectives, Points, ScenarioDef};
