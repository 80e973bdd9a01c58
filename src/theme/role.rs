//! Semantic roles: what a piece of text means (a down backend, a selected row, a
//! stale panel), never what colour it is. Views ask the theme for a role; theme
//! files style roles by their dotted names, and a missing role falls back to its
//! parent (`health.ok` → `health` → `text`).

macro_rules! roles {
    ($( $(#[$doc:meta])* $id:ident = $name:literal, )*) => {
        /// Every role a view can ask for. A misspelt role is a compile error.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub enum Role { $( $(#[$doc])* $id ),* }

        impl Role {
            /// Every role, in declaration order.
            pub const ALL: &'static [Role] = &[$(Role::$id),*];

            /// The dotted name used in theme files.
            pub fn name(self) -> &'static str {
                match self { $(Role::$id => $name),* }
            }
        }
    };
}

roles! {
    /// Plain text; the root every role falls back to.
    Text = "text",
    TextDim = "text.dim",
    /// Host, database and cache node names.
    TextName = "text.name",
    /// Numbers in tables (rps, latency, offsets).
    TextNumber = "text.number",
    Title = "title",
    Border = "border",
    BorderFocused = "border.focused",
    /// Border of a panel whose source is failing.
    BorderError = "border.error",
    /// The frame drawn around the whole screen in a production environment.
    BorderProduction = "border.production",

    HealthOk = "health.ok",
    HealthDegraded = "health.degraded",
    HealthDown = "health.down",
    HealthUnknown = "health.unknown",

    TargetActive = "target.active",
    TargetDraining = "target.draining",
    TargetDrained = "target.drained",
    TargetUnknown = "target.unknown",

    LagOk = "lag.ok",
    LagHigh = "lag.high",
    LagUnknown = "lag.unknown",

    SeverityInfo = "severity.info",
    SeverityWarning = "severity.warning",
    SeverityCritical = "severity.critical",

    LevelError = "level.error",
    LevelWarn = "level.warn",
    LevelInfo = "level.info",
    LevelDebug = "level.debug",
    LevelTrace = "level.trace",
    LevelNone = "level.none",
    /// Log line prefix: host and AZ.
    LogHost = "log.host",
    LogTime = "log.time",

    DeploySucceeded = "deploy.succeeded",
    DeployFailed = "deploy.failed",
    DeployRolledBack = "deploy.rolled_back",
    DeployInProgress = "deploy.in_progress",
    /// A backend running a version other than the rest of the fleet.
    Drift = "drift",

    RowHeader = "row.header",
    RowSelected = "row.selected",
    /// A row whose data is stale.
    RowStale = "row.stale",

    TabBar = "tab.bar",
    TabActive = "tab.active",
    TabInactive = "tab.inactive",

    StatusBar = "status.bar",
    StatusInfo = "status.info",
    StatusWarning = "status.warning",
    StatusError = "status.error",
    /// Key names in the key hints.
    StatusKey = "status.key",

    BadgeReadOnly = "badge.read_only",
    /// Environment name badge.
    Env = "env",
    /// The environment's own badge colour (`Theme::with_accent`); when no
    /// layer sets it, the badge is `env` or `env.production`.
    EnvAccent = "env.accent",
    /// The production badge and the title of the production frame.
    EnvProduction = "env.production",

    /// The word STALE and ages of stale data.
    Stale = "stale",
    /// A source's error text inside its panel.
    Error = "error",
    /// `waiting for data…`
    Waiting = "waiting",
    /// Headline line that sums up what is broken.
    ProblemHeadline = "problem",
    AllGood = "problem.none",

    SparkLag = "spark.lag",
    SparkErrors = "spark.errors",
    /// Unknown samples in a sparkline.
    SparkUnknown = "spark.unknown",

    Popup = "popup",
    PopupBorder = "popup.border",
    PopupTitle = "popup.title",
    /// Section headings inside help.
    PopupHeading = "popup.heading",
    /// Key sequences inside help and which-key.
    PopupKey = "popup.key",
    PopupAction = "popup.action",

    Input = "input",
    InputCursor = "input.cursor",
    InputError = "input.error",
}

impl Role {
    /// The role with this dotted name.
    pub fn from_name(name: &str) -> Option<Role> {
        Role::ALL.iter().copied().find(|r| r.name() == name)
    }

    /// True when `name` is a role or a parent of roles (`health`), so a theme
    /// may style it.
    pub fn is_known_prefix(name: &str) -> bool {
        Role::ALL.iter().any(|r| {
            let n = r.name();
            n == name || (n.starts_with(name) && n.as_bytes().get(name.len()) == Some(&b'.'))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_unique_and_dotted_lowercase() {
        let mut names: Vec<_> = Role::ALL.iter().map(|r| r.name()).collect();
        for n in &names {
            assert!(
                n.chars()
                    .all(|c| c.is_ascii_lowercase() || c == '.' || c == '_'),
                "{n}"
            );
            assert_eq!(Role::from_name(n).map(Role::name), Some(*n));
        }
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), Role::ALL.len());
        assert!(Role::is_known_prefix("health"));
        assert!(!Role::is_known_prefix("heal"));
    }
}
