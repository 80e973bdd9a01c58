//! Views: pure functions from `&State` and `&Theme` to a frame.

pub mod app_view;

pub use app_view::draw;
