//! Runbooks and the operations they are made of.

pub mod assertion;
pub mod authority;
pub mod catalog;
pub mod gate;
pub mod guard;
pub mod model;
pub mod operation;
pub mod parse;
pub mod plan;
pub mod traffic;

pub use operation::{Check, Operation, Preview, Risk, Verify};
