//! Runbooks (catalogue, file format, plans) and how the operations they are made of are
//! previewed, prechecked and verified against the snapshots (the operations themselves are
//! [`crate::operation`]).

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
