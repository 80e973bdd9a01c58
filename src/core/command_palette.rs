//! The command palette (`:`): fuzzy completion over actions, views, runbooks and
//! fleet objects, and parsing of what was typed (`drain-backend web-c2`,
//! `logs web-a1`, `runbook database-failover`, `instances`).

use nucleo_matcher::pattern::{AtomKind, CaseMatching, Normalization, Pattern};
use nucleo_matcher::{Config, Matcher, Utf32Str};

use super::action::{ActionId, REGISTRY};
use super::state::State;
use super::view::ViewId;

/// The palette's input and cursor.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CommandPalette {
    pub text: String,
    /// Index into the current candidates.
    pub selected: usize,
}

/// What a candidate completes to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CandidateKind {
    Action,
    View,
    Runbook,
    Object,
}

impl CandidateKind {
    pub fn label(self) -> &'static str {
        match self {
            CandidateKind::Action => "action",
            CandidateKind::View => "view",
            CandidateKind::Runbook => "runbook",
            CandidateKind::Object => "target",
        }
    }
}

/// One completion.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Candidate {
    /// The whole command line this completes to.
    pub text: String,
    pub kind: CandidateKind,
    pub doc: String,
    pub mutates: bool,
}

/// What the palette's text means.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Command {
    Action(ActionId, Option<String>),
    View(ViewId),
    Logs(Option<String>),
    Runbook(String),
    /// The cost meter.
    Usage,
}

/// Parses a command line. Errors are one line for the status bar.
pub fn parse(text: &str) -> Result<Command, String> {
    let mut words = text.split_whitespace();
    let Some(head) = words.next() else {
        return Err("type an action, a view, `logs HOST` or `runbook NAME`".into());
    };
    let arg = words.next().map(str::to_string);
    if let Some(extra) = words.next() {
        return Err(format!("'{extra}': one target at most"));
    }
    if head == "logs" {
        return Ok(Command::Logs(arg));
    }
    if (head == "usage" || head == "diagnostics") && arg.is_none() {
        return Ok(Command::Usage);
    }
    if head == "runbook" {
        return arg
            .map(Command::Runbook)
            .ok_or_else(|| "runbook: which one? (`runbook NAME`)".into());
    }
    if let Some(view) = ViewId::from_name(head)
        && arg.is_none()
    {
        return Ok(Command::View(view));
    }
    match ActionId::from_name(head) {
        Some(id) => Ok(Command::Action(id, arg)),
        None => Err(format!("unknown command '{head}'")),
    }
}

/// Object names offered as targets of `action`.
fn targets(state: &State, action: Option<ActionId>) -> Vec<String> {
    use super::fleet::{HostRole, ReplicaRole};
    let hosts = state.hosts.data.as_ref();
    let backends = || -> Vec<String> {
        hosts
            .map(|h| {
                h.hosts
                    .iter()
                    .filter(|x| x.role == HostRole::Backend)
                    .map(|x| x.name.clone())
                    .collect()
            })
            .unwrap_or_default()
    };
    match action {
        Some(ActionId::DrainBackend | ActionId::UndrainBackend) => backends(),
        Some(ActionId::PromoteReplica | ActionId::FailoverReplica) => state
            .replication
            .data
            .as_ref()
            .map(|r| {
                r.databases
                    .iter()
                    .filter(|d| d.role == ReplicaRole::Replica)
                    .map(|d| d.name.clone())
                    .chain(
                        r.caches
                            .iter()
                            .filter(|c| c.role == ReplicaRole::Replica)
                            .map(|c| c.name.clone()),
                    )
                    .collect()
            })
            .unwrap_or_default(),
        Some(ActionId::RollbackDeploy) => {
            let mut seen = Vec::new();
            if let Some(d) = &state.deploys.data {
                for x in &d.history {
                    if !seen.contains(&x.version) {
                        seen.push(x.version.clone());
                    }
                }
            }
            seen
        }
        _ => hosts
            .map(|h| h.hosts.iter().map(|x| x.name.clone()).collect())
            .unwrap_or_default(),
    }
}

/// Every candidate for the text typed so far, best first.
pub fn candidates(state: &State, text: &str) -> Vec<Candidate> {
    let trimmed = text.trim_start();
    let (head, rest) = match trimmed.split_once(char::is_whitespace) {
        Some((h, r)) => (h, Some(r.trim_start())),
        None => (trimmed, None),
    };
    let mut all: Vec<Candidate> = Vec::new();
    let needle;
    if let Some(rest) = rest {
        // Completing the target of a command.
        needle = rest.to_string();
        let action = ActionId::from_name(head);
        if head == "runbook" {
            for rb in &state.runbooks {
                all.push(Candidate {
                    text: format!("runbook {}", rb.name),
                    kind: CandidateKind::Runbook,
                    doc: rb.title.clone(),
                    mutates: false,
                });
            }
        } else if head == "logs" || action.is_some_and(|a| a.spec().mutates) {
            for t in targets(state, action) {
                all.push(Candidate {
                    text: format!("{head} {t}"),
                    kind: CandidateKind::Object,
                    doc: String::new(),
                    mutates: action.is_some_and(|a| a.spec().mutates),
                });
            }
        }
    } else {
        needle = head.to_string();
        all.push(Candidate {
            text: "usage".to_string(),
            kind: CandidateKind::View,
            doc: "API calls, metrics and log bytes this session, and their cost".into(),
            mutates: false,
        });
        all.push(Candidate {
            text: "diagnostics".to_string(),
            kind: CandidateKind::View,
            doc: "What the console did: frames, messages, polls, bytes to the terminal".into(),
            mutates: false,
        });
        for v in ViewId::ALL {
            all.push(Candidate {
                text: v.name().to_string(),
                kind: CandidateKind::View,
                doc: format!("Show the {} view", v.title()),
                mutates: false,
            });
        }
        for spec in REGISTRY.iter().filter(|s| {
            !s.scopes
                .iter()
                .all(|sc| matches!(sc, super::action::Scope::Dialog))
        }) {
            all.push(Candidate {
                text: spec.name.to_string(),
                kind: CandidateKind::Action,
                doc: spec.doc.to_string(),
                mutates: spec.mutates,
            });
        }
        all.push(Candidate {
            text: "logs".into(),
            kind: CandidateKind::Action,
            doc: "Open the logs, optionally filtered to one host: logs HOST".into(),
            mutates: false,
        });
        all.push(Candidate {
            text: "runbook".into(),
            kind: CandidateKind::Action,
            doc: format!(
                "Open a runbook beside the views ({} available)",
                state.runbooks.len()
            ),
            mutates: false,
        });
    }
    rank(all, &needle, |c| match c.text.split_once(' ') {
        Some((_, t)) if rest.is_some() => t.to_string(),
        _ => c.text.clone(),
    })
}

/// Sorts by fuzzy score (nucleo, as in helix); keeps the original order for
/// an empty needle.
fn rank(items: Vec<Candidate>, needle: &str, key: impl Fn(&Candidate) -> String) -> Vec<Candidate> {
    if needle.is_empty() {
        return items;
    }
    let mut matcher = Matcher::new(Config::DEFAULT);
    let pattern = Pattern::new(
        needle,
        CaseMatching::Ignore,
        Normalization::Smart,
        AtomKind::Fuzzy,
    );
    let mut buf = Vec::new();
    let mut scored: Vec<(u32, usize, Candidate)> = items
        .into_iter()
        .enumerate()
        .filter_map(|(i, c)| {
            let k = key(&c);
            let score = pattern.score(Utf32Str::new(&k, &mut buf), &mut matcher)?;
            Some((score, i, c))
        })
        .collect();
    scored.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
    scored.into_iter().map(|(_, _, c)| c).collect()
}
