//! Themes: semantic roles (`role.rs`) and the theme that styles them
//! (`theme.rs`), loaded from `themes/*.toml`.

pub mod role;
// `theme::theme` follows the one-type-per-file rule: the file is named after `Theme`.
#[allow(clippy::module_inception)]
pub mod theme;

pub use role::Role;
pub use theme::Theme;
