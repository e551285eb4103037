//! Runbooks and the operations they are made of.

pub mod authority;
pub mod operation;
pub mod traffic;

pub use operation::{Check, Operation, Preview, Risk, Verify};
