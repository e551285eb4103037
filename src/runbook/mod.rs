//! Runbooks and the operations they are made of.

pub mod operation;
pub mod traffic;

pub use operation::{Check, Operation, Preview, Risk, Verify};
