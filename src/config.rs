//! Files the user edits: `warroom.toml`, themes, keymaps, and where they are found.
//!
//! The CLI calls [`load`] (never fails: a broken user file falls back to presets and becomes a
//! warning) or, for `warroom check`, [`check`] (every problem).

pub mod error;
pub mod key;
pub mod keymap;
pub mod keymap_parse;
pub mod load;
pub mod model;
pub mod paths;
pub mod recover;
pub mod theme;
pub mod theme_parse;
pub mod validate;

pub use error::ConfigError;
pub use keymap::Keymap;
pub use load::{LoadOptions, Loaded, check, check_in, load, load_in, parse_config, parse_config_all};
pub use model::Config;
pub use paths::{Environment, Paths};
pub use theme::Theme;
