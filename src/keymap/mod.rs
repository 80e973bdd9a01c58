//! Keymaps: `keymaps/*.toml` files that bind keys to action names, loaded in
//! layers, validated, and resolved through a per-section trie.

pub mod keymap;
pub mod keymap_loader;

pub use keymap::{Binding, KeyResult, Keymap};
pub use keymap_loader::{LoadedKeymap, SHIPPED, load};
