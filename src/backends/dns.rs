//! DNS answers after a Route 53 change: non-recursive queries to each authoritative name
//! server ([`probe`]), the judgement of what they answer against the record sets Route 53
//! holds ([`judge`]), and the verification with re-queries and the drift re-check ([`check`]).
//! The Route 53 operator runs it for [`crate::operation::Operation::VerifyDns`].

pub mod check;
pub mod judge;
pub mod probe;

pub use check::{DnsCheck, NameServer, SyncReport, resolve};
pub use judge::{Expected, ServerState};
