//! The self-hosted fleet-wide operation lock, kept on the load-balancer host:
//! a lock file taken with `flock` by a long-lived SSH command, and next to it
//! a holder file naming who holds it (the `LockHolder` as JSON).
//!
//! The remote command holds the `flock` while the console feeds it a
//! heartbeat; when the console releases the lock, dies, or its connection
//! drops, the command sees EOF (or misses heartbeats) and lets go, removing
//! the holder file only if it is still its own. A holder file whose `flock`
//! is free is therefore stale: its holder's command was killed on the host.
//! A stale lock blocks new operations until it is broken (after a typed
//! confirmation), because its operation may have stopped half-way.
//!
//! This file only builds the shell scripts and reads their answers; the
//! provider runs them.

use crate::core::lock::LockHolder;

use super::shell_text::shell_quote;

/// The line the holding command prints once it holds the lock.
pub const LOCKED: &str = "OPSDECK-LOCKED";
/// Without a heartbeat for this long, the holding command lets go.
pub const HEARTBEAT_TIMEOUT_SECS: u64 = 15;
/// How long taking the lock waits for a short holder (a probe) to let go;
/// an operation holds it far longer, so a second operator is refused.
const WAIT_SECS: u64 = 1;

/// Where the lock lives on the load-balancer host.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FleetLock {
    /// The file `flock`ed while an operation runs.
    pub lock_file: String,
    /// `<lock_file>.holder`: the holder as JSON.
    pub holder_file: String,
    /// `<lock_file>.edit`: serialises edits of the upstream file, so a check
    /// after an interrupted edit waits until that edit has really ended.
    pub edit_lock_file: String,
}

/// What `probe_script` found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LockState {
    Free,
    Held(LockHolder),
    /// A holder file whose lock nobody holds.
    Stale(LockHolder),
}

/// What `acquire_script` answered when it did not take the lock.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Refusal {
    /// Someone holds the lock (`None`: no readable holder file yet).
    Held(Option<LockHolder>),
    /// The lock is free but a stale holder file is left.
    Stale(LockHolder),
    /// Something else went wrong (the script's stderr).
    Failed(String),
}

impl FleetLock {
    /// The lock at `configured`, or `.opsdeck.lock` next to the upstream file
    /// (a directory the console's SSH user can already write).
    pub fn new(configured: Option<&str>, upstream_file: &str) -> FleetLock {
        let lock_file = match configured {
            Some(path) => path.to_string(),
            None => {
                let dir = upstream_file
                    .rsplit_once('/')
                    .map_or(".", |(d, _)| if d.is_empty() { "/" } else { d });
                format!("{}/.opsdeck.lock", dir.trim_end_matches('/'))
            }
        };
        FleetLock {
            holder_file: format!("{lock_file}.holder"),
            edit_lock_file: format!("{lock_file}.edit"),
            lock_file,
        }
    }

    fn vars(&self) -> String {
        format!(
            "l={}; h={}\n",
            shell_quote(&self.lock_file),
            shell_quote(&self.holder_file)
        )
    }

    /// Takes the lock for `me` and holds it until stdin closes or heartbeats
    /// stop. Prints [`LOCKED`] once held; otherwise exits 3 (held: `HELD` then
    /// the holder file), 5 (stale: `STALE` then the holder file) or 4.
    pub fn acquire_script(&self, me: &LockHolder) -> String {
        let json = holder_json(me);
        format!(
            "{vars}me={me}\n\
             exec 9>>\"$l\" || {{ echo \"cannot open $l\" >&2; exit 4; }}\n\
             if ! flock -w {WAIT_SECS} 9; then echo HELD; cat \"$h\" 2>/dev/null; exit 3; fi\n\
             if [ -s \"$h\" ]; then echo STALE; cat \"$h\"; exit 5; fi\n\
             t=$(mktemp \"$h.XXXXXX\") && printf '%s\\n' \"$me\" > \"$t\" && chmod 644 \"$t\" && mv -f \"$t\" \"$h\" \
             || {{ rm -f \"$t\"; echo \"cannot write $h\" >&2; exit 4; }}\n\
             echo {LOCKED}\n\
             while b=$(timeout {HEARTBEAT_TIMEOUT_SECS} head -c 5) && [ -n \"$b\" ]; do :; done\n\
             [ \"$(cat \"$h\" 2>/dev/null)\" = \"$me\" ] && rm -f \"$h\"\n\
             exit 0\n",
            vars = self.vars(),
            me = shell_quote(&json),
        )
    }

    /// Reads the holder file and whether its `flock` is held, without taking
    /// it for more than an instant: `FREE`, or `HELD`/`STALE` then the file.
    pub fn probe_script(&self) -> String {
        format!(
            "{vars}[ -s \"$h\" ] || {{ echo FREE; exit 0; }}\n\
             if flock -n \"$l\" true; then echo STALE; else echo HELD; fi\n\
             cat \"$h\"\n",
            vars = self.vars()
        )
    }

    /// Removes the holder file if, while we hold the lock, it is still
    /// exactly `expected` (the text read when the operator looked at it).
    /// Prints `BROKEN`, `GONE` (nothing to break), `HELD` (exit 3: not stale
    /// after all) or `OTHER` then the file (exit 5: someone else's now).
    pub fn break_script(&self, expected: &str) -> String {
        format!(
            "{vars}want={want}\n\
             exec 9>>\"$l\" || exit 4\n\
             flock -n 9 || {{ echo HELD; exit 3; }}\n\
             [ -e \"$h\" ] || {{ echo GONE; exit 0; }}\n\
             [ \"$(cat \"$h\")\" = \"$want\" ] || {{ echo OTHER; cat \"$h\"; exit 5; }}\n\
             rm -f \"$h\" && echo BROKEN\n",
            vars = self.vars(),
            want = shell_quote(expected.trim_end_matches('\n')),
        )
    }

    /// `cat` of the holder file (empty if none).
    pub fn read_holder_script(&self) -> String {
        format!("cat {} 2>/dev/null; true", shell_quote(&self.holder_file))
    }
}

/// The holder as the holder file stores it: one line of JSON.
pub fn holder_json(me: &LockHolder) -> String {
    serde_json::to_string(me).unwrap_or_else(|_| format!("{me:?}"))
}

/// A holder file's text, or one that says it cannot be read (so a console
/// still shows that someone holds the lock).
pub fn parse_holder(text: &str) -> LockHolder {
    serde_json::from_str(text.trim()).unwrap_or_else(|_| LockHolder {
        operator: "unknown".into(),
        machine: "unknown".into(),
        pid: 0,
        operation: format!(
            "unreadable holder file: {}",
            crate::core::sanitize::sanitize(
                text.trim().chars().take(80).collect::<String>().as_str()
            )
        ),
        environment: String::new(),
        started_at: crate::core::Timestamp::from_millis(0),
    })
}

/// What `probe_script` printed.
pub fn parse_probe(stdout: &str) -> LockState {
    let (first, rest) = stdout.split_once('\n').unwrap_or((stdout, ""));
    match first.trim() {
        "HELD" => LockState::Held(parse_holder(rest)),
        "STALE" => LockState::Stale(parse_holder(rest)),
        _ => LockState::Free,
    }
}

/// Why `acquire_script` did not print [`LOCKED`].
pub fn parse_refusal(status: Option<u32>, stdout: &str, stderr: &str) -> Refusal {
    let (first, rest) = stdout.split_once('\n').unwrap_or((stdout, ""));
    match (status, first.trim()) {
        (Some(3), "HELD") if rest.trim().is_empty() => Refusal::Held(None),
        (Some(3), "HELD") => Refusal::Held(Some(parse_holder(rest))),
        (Some(5), "STALE") => Refusal::Stale(parse_holder(rest)),
        _ => Refusal::Failed(format!(
            "the lock command exited with {}: {}",
            status.map_or("no status".to_string(), |s| s.to_string()),
            crate::core::sanitize::sanitize(stderr.trim())
        )),
    }
}

/// A stale holder as consoles show it: the operation says it is stale, so a
/// console that only knows `LockHolder` still tells the operator.
pub fn mark_stale(mut holder: LockHolder) -> LockHolder {
    holder.operation = format!(
        "{} [STALE: its lock is free, its console is gone; break it to operate]",
        holder.operation
    );
    holder
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::Timestamp;

    fn alice() -> LockHolder {
        LockHolder {
            operator: "alice".into(),
            machine: "laptop".into(),
            pid: 42,
            operation: "drain-backend web-a1".into(),
            environment: "lab".into(),
            started_at: Timestamp::from_millis(1_000),
        }
    }

    #[test]
    fn the_lock_lives_next_to_the_upstream_file_unless_configured() {
        let l = FleetLock::new(None, "/etc/nginx/conf.d/upstream.conf");
        assert_eq!(l.lock_file, "/etc/nginx/conf.d/.opsdeck.lock");
        assert_eq!(l.holder_file, "/etc/nginx/conf.d/.opsdeck.lock.holder");
        assert_eq!(l.edit_lock_file, "/etc/nginx/conf.d/.opsdeck.lock.edit");
        let l = FleetLock::new(Some("/run/opsdeck/lock"), "/etc/nginx/upstream.conf");
        assert_eq!(l.lock_file, "/run/opsdeck/lock");
        assert_eq!(FleetLock::new(None, "/up.conf").lock_file, "/.opsdeck.lock");
    }

    #[test]
    fn probe_answers_are_read() {
        let json = holder_json(&alice());
        assert_eq!(parse_probe("FREE\n"), LockState::Free);
        assert_eq!(
            parse_probe(&format!("HELD\n{json}\n")),
            LockState::Held(alice())
        );
        assert_eq!(
            parse_probe(&format!("STALE\n{json}\n")),
            LockState::Stale(alice())
        );
        match parse_probe("HELD\n\u{1b}[31mgarbage\n") {
            LockState::Held(h) => {
                assert_eq!(h.operator, "unknown");
                assert!(!h.operation.contains('\u{1b}'), "{}", h.operation);
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn refusals_are_read() {
        let json = holder_json(&alice());
        assert_eq!(
            parse_refusal(Some(3), &format!("HELD\n{json}\n"), ""),
            Refusal::Held(Some(alice()))
        );
        assert_eq!(parse_refusal(Some(3), "HELD\n", ""), Refusal::Held(None));
        assert_eq!(
            parse_refusal(Some(5), &format!("STALE\n{json}\n"), ""),
            Refusal::Stale(alice())
        );
        match parse_refusal(Some(127), "", "sh: flock: not found") {
            Refusal::Failed(why) => assert!(why.contains("flock: not found"), "{why}"),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn scripts_quote_the_holder() {
        let mut h = alice();
        h.operator = "o'brien".into();
        let s = FleetLock::new(None, "/x/up.conf").acquire_script(&h);
        assert!(s.contains("o'\\''brien"), "{s}");
        assert!(s.contains(LOCKED));
        assert!(mark_stale(alice()).operation.contains("STALE"));
    }
}
