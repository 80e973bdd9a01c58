//! Views: pure functions from `&State`, `&Theme` and `&Keymap` to a frame.
//! `app_view` lays out the screen; one `*_view` per view and per overlay;
//! `panel_status` frames a panel by the freshness of its data; `fleet_summary`
//! derives what is broken; `format` and `spark` are shared helpers.

pub mod app_view;
pub mod command_palette_view;
pub mod deploys_view;
pub mod details_view;
pub mod dialog_view;
pub mod fleet_summary;
pub mod format;
pub mod help_view;
pub mod input_view;
pub mod instances_view;
pub mod logs_view;
pub mod operations_view;
pub mod overview_view;
pub mod panel_status;
pub mod popup;
pub mod quit_dialog_view;
pub mod replication_view;
pub mod runbook_view;
pub mod service_line;
pub mod spark;
pub mod status_bar_view;
pub mod tab_bar_view;
pub mod usage_view;
pub mod which_key_view;

pub use app_view::draw;
