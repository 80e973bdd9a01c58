//! Themes: semantic roles (`role.rs`), one theme file as written
//! (`theme_file.rs`), loading shipped and user files in layers
//! (`theme_loader.rs`), the resolved theme views draw with (`theme.rs`) and
//! fitting it to the terminal's colour depth (`color_depth.rs`).

pub mod color_depth;
pub mod role;
// `theme::theme` follows the one-type-per-file rule: the file is named after `Theme`.
#[allow(clippy::module_inception)]
pub mod theme;
pub mod theme_file;
pub mod theme_loader;

pub use color_depth::ColorDepth;
pub use role::Role;
pub use theme::Theme;
pub use theme_loader::{LoadedTheme, SHIPPED, load, shipped_names};
