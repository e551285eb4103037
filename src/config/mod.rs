//! Files the user edits: `warroom.toml`, themes, keymaps, and where they are found.

pub mod keymap;
pub mod model;
pub mod theme;

pub use keymap::Keymap;
pub use model::Config;
pub use theme::Theme;
