//! The pure core: [`State`], [`Action`], [`update`] and the [`Effect`]s it asks for.
//!
//! No terminal, no network, no clock of its own: `now` is passed in, so everything here is
//! testable with plain `#[test]`s.

pub mod action;
pub mod approval;
pub mod authority;
pub mod commander;
pub mod composer;
pub mod effect;
pub mod facilitator;
pub mod ghost;
pub mod guard;
pub mod measure;
pub mod mirror;
pub mod notify;
pub mod pipeline;
pub mod propose;
pub mod recommend;
pub mod recording;
pub mod replay;
pub mod resume;
pub mod runbook_flow;
pub mod safety;
pub mod state;
pub mod status_update;
pub mod step;
pub mod trend;
pub mod update;
pub mod verdict;

pub use action::{Action, TextEdit};
pub use effect::Effect;
pub use state::{Domain, Modal, Mode, PaneId, State, View};
pub use step::{StepRun, StepStatus};
pub use update::update;

#[cfg(test)]
mod access_tests;
#[cfg(test)]
mod checklist_tests;
#[cfg(test)]
mod facilitator_tests;
#[cfg(test)]
pub(crate) mod tests;
