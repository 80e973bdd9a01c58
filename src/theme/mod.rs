//! Themes: semantic roles (`role.rs`) and the theme that styles them
//! (`theme.rs`), loaded from `themes/*.toml`.

pub mod role;
pub mod theme;

pub use role::Role;
pub use theme::Theme;
