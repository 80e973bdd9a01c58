//! The console's views, in tab order.

use serde::{Deserialize, Serialize};

#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
#[serde(rename_all = "kebab-case")]
pub enum ViewId {
    #[default]
    Overview,
    Instances,
    Replication,
    Deploys,
    Logs,
}

impl ViewId {
    pub const ALL: [ViewId; 5] = [
        ViewId::Overview,
        ViewId::Instances,
        ViewId::Replication,
        ViewId::Deploys,
        ViewId::Logs,
    ];

    /// Name used in keymap sections, `--view` and the palette.
    pub fn name(self) -> &'static str {
        match self {
            ViewId::Overview => "overview",
            ViewId::Instances => "instances",
            ViewId::Replication => "replication",
            ViewId::Deploys => "deploys",
            ViewId::Logs => "logs",
        }
    }

    /// Title shown in the tab bar.
    pub fn title(self) -> &'static str {
        match self {
            ViewId::Overview => "Overview",
            ViewId::Instances => "Instances",
            ViewId::Replication => "Replication",
            ViewId::Deploys => "Deploys",
            ViewId::Logs => "Logs",
        }
    }

    pub fn from_name(name: &str) -> Option<ViewId> {
        ViewId::ALL.into_iter().find(|v| v.name() == name)
    }

    pub fn index(self) -> usize {
        ViewId::ALL.iter().position(|v| *v == self).unwrap_or(0)
    }

    pub fn next(self) -> ViewId {
        ViewId::ALL[(self.index() + 1) % ViewId::ALL.len()]
    }

    pub fn prev(self) -> ViewId {
        ViewId::ALL[(self.index() + ViewId::ALL.len() - 1) % ViewId::ALL.len()]
    }
}
