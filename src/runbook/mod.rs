//! Runbooks and the operations they are made of.

pub mod operation;

pub use operation::{Check, Operation, Preview, Risk, Verify};
