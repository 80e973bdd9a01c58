//! The action registry: every thing a key can do has a stable kebab-case name, a
//! one-line doc, the scopes it applies in and whether it mutates the fleet.
//! Keymaps, help, `opsdeck keys`, the palette and runbooks all read this table.

use super::view::ViewId;

/// Where an action applies.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Scope {
    /// Every view.
    Global,
    View(ViewId),
    /// A confirmation dialog has focus: only `[dialog]` keys apply.
    Dialog,
    /// A runbook is open beside the views: `[runbook]` keys apply before the view's.
    Runbook,
}

impl Scope {
    /// Keymap section name.
    pub fn name(self) -> &'static str {
        match self {
            Scope::Global => "global",
            Scope::View(v) => v.name(),
            Scope::Dialog => "dialog",
            Scope::Runbook => "runbook",
        }
    }

    /// The keymap sections that apply, most specific first: a dialog is
    /// modal; an open runbook's keys come before the view's.
    pub fn in_effect(view: ViewId, dialog: bool, runbook: bool) -> Vec<Scope> {
        if dialog {
            vec![Scope::Dialog]
        } else if runbook {
            vec![Scope::Runbook, Scope::View(view), Scope::Global]
        } else {
            vec![Scope::View(view), Scope::Global]
        }
    }
}

macro_rules! actions {
    ($( $id:ident = $name:literal, $doc:literal, [$($scope:expr),*], $mutates:literal; )*) => {
        /// Every action the console knows.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub enum ActionId { $($id),* }

        /// The registry, in the order help lists it.
        pub static REGISTRY: &[ActionSpec] = &[
            $(ActionSpec {
                id: ActionId::$id,
                name: $name,
                doc: $doc,
                scopes: &[$($scope),*],
                mutates: $mutates,
            }),*
        ];
    };
}

use Scope::{Dialog, Global, Runbook, View};
use ViewId::{Deploys, Instances, Logs, Overview, Replication};

actions! {
    Quit = "quit", "Quit opsdeck", [Global], false;
    ShowHelp = "show-help", "Show or hide help for the current view", [Global], false;
    Close = "close", "Close the overlay, cancel input or clear the pending keys", [Global], false;
    NextView = "next-view", "Switch to the next view", [Global], false;
    PrevView = "prev-view", "Switch to the previous view", [Global], false;
    ViewOverview = "view-overview", "Show the overview of both AZs", [Global], false;
    ViewInstances = "view-instances", "Show the instances table", [Global], false;
    ViewReplication = "view-replication", "Show database and cache replication", [Global], false;
    ViewDeploys = "view-deploys", "Show deploy history and running versions", [Global], false;
    ViewLogs = "view-logs", "Show the merged live logs", [Global], false;
    MoveDown = "move-down", "Select the next row", [Global], false;
    MoveUp = "move-up", "Select the previous row", [Global], false;
    MoveTop = "move-top", "Jump to the first row (oldest line in logs)", [Global], false;
    MoveBottom = "move-bottom", "Jump to the last row (newest line in logs, and follow)", [Global], false;
    PageDown = "page-down", "Move one page down", [Global], false;
    PageUp = "page-up", "Move one page up", [Global], false;
    ShowDetails = "show-details", "Show details of the selection", [Global], false;
    Refresh = "refresh", "Poll every source now", [Global], false;
    BreakLock = "break-lock", "Break a stale fleet-wide operation lock (typed confirmation; not in read-only)", [Global], false;
    ShowLogsForSelection = "show-logs", "Open the logs filtered to the selected host", [View(Overview), View(Instances), View(Replication)], false;
    StartFilter = "filter", "Filter rows (instances) or lines by regex (logs)", [View(Instances), View(Logs)], false;
    ClearFilter = "clear-filter", "Clear every filter of this view", [View(Instances), View(Logs)], false;
    SortNext = "sort-next", "Sort by the next column", [View(Instances)], false;
    SortReverse = "sort-reverse", "Reverse the sort order", [View(Instances)], false;
    ToggleFollow = "toggle-follow", "Follow the newest lines, or pause", [View(Logs)], false;
    ToggleWrap = "toggle-wrap", "Wrap long lines", [View(Logs)], false;
    ToggleTimestamps = "toggle-timestamps", "Show or hide timestamps", [View(Logs)], false;
    CycleLevel = "cycle-level", "Minimum level: all, INFO, WARN, ERROR", [View(Logs)], false;
    CycleHost = "cycle-host", "Show one host at a time, or all", [View(Logs)], false;
    CycleAz = "cycle-az", "Show one AZ at a time, or both", [View(Logs)], false;
    OpenPalette = "open-palette", "Run any action, view, runbook or host by name", [Global], false;
    ShowOperations = "show-operations", "Show running and recent operations", [Global], false;
    DrainBackend = "drain-backend", "Take the selected backend out of the load-balancer pool", [View(Overview), View(Instances)], true;
    UndrainBackend = "undrain-backend", "Put the selected backend back into the load-balancer pool", [View(Overview), View(Instances)], true;
    PromoteReplica = "promote-replica", "Promote the selected replica (else the database replica) to primary", [View(Overview), View(Replication)], true;
    FailoverReplica = "failover-replica", "Emergency failover: promote the selected replica now (name typed)", [View(Overview), View(Replication)], true;
    RollbackDeploy = "rollback-deploy", "Roll the service back to the last good version (or the selected one)", [View(Overview), View(Deploys)], true;
    SshOpen = "ssh-open", "Open an SSH session on the selected host", [View(Overview), View(Instances), View(Replication)], true;
    DialogConfirm = "confirm", "Confirm the dialog", [Dialog], false;
    DialogCancel = "cancel", "Cancel the dialog (nothing is sent)", [Dialog], false;
    DialogActivate = "activate", "Press the focused button (Cancel is focused first)", [Dialog], false;
    DialogNextButton = "next-button", "Focus the next button", [Dialog], false;
    DialogPrevButton = "prev-button", "Focus the previous button", [Dialog], false;
    RunbookNextStep = "runbook-next-step", "Move to the next runbook step", [Runbook], false;
    RunbookPrevStep = "runbook-prev-step", "Move to the previous runbook step", [Runbook], false;
    RunbookToggleStep = "runbook-toggle-step", "Tick or untick the current runbook step", [Runbook], false;
    CloseRunbook = "close-runbook", "Close the runbook pane", [Runbook], false;
}

/// One registry entry.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ActionSpec {
    pub id: ActionId,
    pub name: &'static str,
    pub doc: &'static str,
    pub scopes: &'static [Scope],
    pub mutates: bool,
}

impl ActionSpec {
    pub fn applies_in(&self, view: ViewId) -> bool {
        self.scopes
            .iter()
            .any(|s| *s == Scope::Global || *s == Scope::View(view))
    }

    /// Whether a binding in keymap section `section` may name this action.
    pub fn bindable_in(&self, section: Scope) -> bool {
        match section {
            // Global keys reach every view, so any view action may live there.
            Scope::Global => self
                .scopes
                .iter()
                .any(|s| matches!(s, Scope::Global | Scope::View(_))),
            other => self
                .scopes
                .iter()
                .any(|s| *s == other || (*s == Scope::Global && matches!(other, Scope::View(_)))),
        }
    }
}

impl ActionId {
    pub fn spec(self) -> &'static ActionSpec {
        // The registry is generated from the same list as the enum, in order.
        &REGISTRY[self as usize]
    }

    pub fn name(self) -> &'static str {
        self.spec().name
    }

    pub fn from_name(name: &str) -> Option<ActionId> {
        REGISTRY.iter().find(|s| s.name == name).map(|s| s.id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn registry_is_in_enum_order_and_names_are_kebab_case() {
        for (i, spec) in REGISTRY.iter().enumerate() {
            assert_eq!(spec.id as usize, i);
            assert!(
                spec.name
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c == '-' || c.is_ascii_digit()),
                "{}",
                spec.name
            );
            assert!(!spec.doc.is_empty());
            assert_eq!(ActionId::from_name(spec.name), Some(spec.id));
        }
    }

    #[test]
    fn names_are_unique() {
        let mut names: Vec<_> = REGISTRY.iter().map(|s| s.name).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), REGISTRY.len());
    }
}
