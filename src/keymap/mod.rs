//! Keymaps: `keymaps/*.toml` files that bind keys to action names, loaded and
//! validated into a per-section trie.

pub mod keymap;

pub use keymap::{Binding, KeyResult, Keymap};
