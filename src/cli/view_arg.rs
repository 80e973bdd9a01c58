//! A view named on the command line (`snapshot --view`, `keys --view`).

use crate::core::view::ViewId;

use super::session::LaunchError;

/// The view called `name`, or an error that lists the names there are.
pub fn view_arg(name: &str) -> Result<ViewId, LaunchError> {
    ViewId::from_name(name).ok_or_else(|| {
        let names: Vec<&str> = ViewId::ALL.iter().map(|v| v.name()).collect();
        LaunchError::Config(format!("unknown view '{name}' ({})", names.join(", ")))
    })
}
