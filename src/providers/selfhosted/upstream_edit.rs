//! One edit of nginx's upstream file as ONE remote command, so the live file
//! is always exactly the old or the new one:
//!
//! 1. take the edit lock (`<lock>.edit`, which every edit and every check
//!    after an interrupted edit takes), and the fleet lock too when this
//!    console does not already hold it;
//! 2. compare-and-swap: go on only if the file's SHA-1 is still the one of the
//!    text the change was computed from (another editor is detected);
//! 3. write the new text to a unique temp file in the same directory
//!    (`mktemp`; names without `.conf`, so an `include *.conf` never sees
//!    them) and keep a copy of the old one the same way (temp files a killed
//!    edit left are removed by the next one: edits hold the edit lock, so
//!    any found are leftovers);
//! 4. rename the new file over the live one (atomic), `nginx -t`, reload;
//!    a failing test or reload renames the old copy back (and reloads again
//!    after a failed reload).
//!
//! `nginx -t` can only test the whole configuration, whose `include` names
//! the live path, so the new text is tested in place: nginx itself keeps
//! running the old configuration until the reload, and a failing test puts
//! the old file back before anything reloads.
//!
//! If the command is cut off (timeout, dropped connection, killed), a check
//! under the edit lock (so it waits for a still-running edit to end) reads
//! which file is live and puts the old one back if the new one is live
//! without a completed edit: the verdict always says which file is live.

use super::fleet_lock::{FleetLock, Refusal, parse_refusal};
use super::shell_text::{base64, sha1_hex, shell_quote};

/// How long an edit waits for another edit of the same file to end.
pub const EDIT_WAIT_SECS: u64 = 3;

/// An edit of the upstream file, from `old` (as read) to `new`.
pub struct UpstreamEdit<'a> {
    pub file: &'a str,
    pub old: &'a str,
    pub new: &'a str,
    pub test_command: &'a str,
    pub reload_command: &'a str,
    pub lock: &'a FleetLock,
    /// Whether this console already holds the fleet lock (else the edit
    /// takes it for its own duration).
    pub lock_held: bool,
}

/// What the edit command answered.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum EditOutcome {
    /// The new file is live and nginx reloaded it.
    Applied,
    /// `nginx -t` failed; the old file is live again. nginx's message.
    TestFailed(String),
    /// The reload failed; the old file is live again, and nginx reloaded it
    /// (`true`) or could not be reloaded either (`false`).
    ReloadFailed { message: String, reloaded_old: bool },
    /// The file is not the one read (its SHA-1 now): nothing was changed.
    Changed(String),
    /// Another console holds the fleet lock: nothing was changed.
    Locked(Refusal),
    /// The command did not say (cut off, or failed before changing
    /// anything): check which file is live.
    Unknown(String),
}

/// Which file is live after an interrupted edit.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LiveFile {
    /// The old file is live (the edit never swapped it in, or put it back).
    Old,
    /// The new file was live without a finished edit; the old one was put
    /// back, and nginx reloaded it (`true`) or not.
    OldRestored { reloaded: bool },
    /// Neither: someone else changed the file (its SHA-1).
    Other(String),
}

impl LiveFile {
    pub fn describe(&self) -> String {
        match self {
            LiveFile::Old => "the live upstream file is the old one (unchanged)".into(),
            LiveFile::OldRestored { reloaded: true } => {
                "the live upstream file is the old one (put back and reloaded)".into()
            }
            LiveFile::OldRestored { reloaded: false } => {
                "the live upstream file is the old one (put back; nginx did not reload)".into()
            }
            LiveFile::Other(sum) => format!(
                "the live upstream file is neither the old nor the new one (sha1 {sum}): someone else changed it"
            ),
        }
    }
}

impl UpstreamEdit<'_> {
    /// The one command that makes the edit. The configured commands run in
    /// subshells (a newline before the `)` ends a trailing comment), so a
    /// compound command's output is captured whole.
    pub fn script(&self) -> String {
        let fleet = if self.lock_held {
            String::new()
        } else {
            format!(
                "l={l}; h={h}\nexec 9>>\"$l\" || exit 4\n\
                 flock -w 2 9 || {{ echo HELD; cat \"$h\" 2>/dev/null; exit 3; }}\n\
                 [ -s \"$h\" ] && {{ echo STALE; cat \"$h\"; exit 5; }}\n",
                l = shell_quote(&self.lock.lock_file),
                h = shell_quote(&self.lock.holder_file),
            )
        };
        format!(
            "f={f}; e={e}\n\
             exec 8>>\"$e\" || {{ echo \"cannot open $e\" >&2; exit 4; }}\n\
             flock -w {EDIT_WAIT_SECS} 8 || {{ echo \"another edit of $f is still running\" >&2; exit 4; }}\n\
             {fleet}\
             d=$(dirname \"$f\")\n\
             rm -f \"$d\"/.opsdeck-new.* \"$d\"/.opsdeck-prev.*\n\
             sum() {{ sha1sum < \"$1\" | cut -c1-40; }}\n\
             cur=$(sum \"$f\") || exit 4\n\
             [ \"$cur\" = {old} ] || {{ echo \"CHANGED $cur\"; exit 6; }}\n\
             new=$(mktemp \"$d/.opsdeck-new.XXXXXX\") || exit 4\n\
             prev=$(mktemp \"$d/.opsdeck-prev.XXXXXX\") || {{ rm -f \"$new\"; exit 4; }}\n\
             trap 'rm -f \"$new\" \"$prev\"' EXIT\n\
             printf '%s' {b64} | base64 -d > \"$new\" || exit 4\n\
             [ \"$(sum \"$new\")\" = {newsum} ] || {{ echo \"cannot write $new\" >&2; exit 4; }}\n\
             cat \"$f\" > \"$prev\" || exit 4\n\
             [ \"$(sum \"$prev\")\" = {old} ] || {{ echo \"CHANGED $(sum \"$f\")\"; exit 6; }}\n\
             chmod --reference=\"$f\" \"$new\" \"$prev\" 2>/dev/null || chmod 644 \"$new\" \"$prev\"\n\
             mv -f \"$new\" \"$f\" || exit 4\n\
             echo SWAPPED\n\
             if ! out=$( ( {test}
) 2>&1); then\n\
               mv -f \"$prev\" \"$f\"; echo TEST-FAILED; printf '%s\\n' \"$out\"; exit 7\n\
             fi\n\
             if ! out=$( ( {reload}
) 2>&1); then\n\
               mv -f \"$prev\" \"$f\"\n\
               if again=$( ( {reload}
) 2>&1); then echo RELOAD-FAILED-RELOADED; else echo RELOAD-FAILED; fi\n\
               printf '%s\\n' \"$out\"; exit 8\n\
             fi\n\
             echo APPLIED\n",
            f = shell_quote(self.file),
            e = shell_quote(&self.lock.edit_lock_file),
            old = sha1_hex(self.old),
            newsum = sha1_hex(self.new),
            b64 = base64(self.new.as_bytes()),
            test = self.test_command,
            reload = self.reload_command,
        )
    }

    /// Reads the edit command's answer.
    pub fn outcome(status: Option<u32>, stdout: &str, stderr: &str) -> EditOutcome {
        let mut lines = stdout.lines();
        let marker = |m: &str| stdout.lines().any(|l| l.trim() == m);
        let after = |m: &str| -> String {
            let text: Vec<&str> = stdout
                .lines()
                .skip_while(|l| l.trim() != m)
                .skip(1)
                .collect();
            crate::core::sanitize::sanitize(text.join("\n").trim())
        };
        match status {
            Some(0) if marker("APPLIED") => EditOutcome::Applied,
            Some(3) | Some(5) => EditOutcome::Locked(parse_refusal(status, stdout, stderr)),
            Some(6) => EditOutcome::Changed(
                lines
                    .find_map(|l| l.strip_prefix("CHANGED "))
                    .unwrap_or("?")
                    .trim()
                    .to_string(),
            ),
            Some(7) if marker("TEST-FAILED") => EditOutcome::TestFailed(after("TEST-FAILED")),
            Some(8) if marker("RELOAD-FAILED-RELOADED") => EditOutcome::ReloadFailed {
                message: after("RELOAD-FAILED-RELOADED"),
                reloaded_old: true,
            },
            Some(8) if marker("RELOAD-FAILED") => EditOutcome::ReloadFailed {
                message: after("RELOAD-FAILED"),
                reloaded_old: false,
            },
            _ => EditOutcome::Unknown(format!(
                "the edit command exited with {}{}",
                status.map_or("no status".to_string(), |s| s.to_string()),
                if stderr.trim().is_empty() {
                    String::new()
                } else {
                    format!(": {}", crate::core::sanitize::sanitize(stderr.trim()))
                }
            )),
        }
    }

    /// After an interrupted edit: waits for the edit lock (so a still-running
    /// edit ends first), then says which file is live, putting the old one
    /// back (and reloading) if the new one is.
    pub fn settle_script(&self) -> String {
        format!(
            "f={f}; e={e}\n\
             exec 8>>\"$e\" || exit 4\n\
             flock -w {wait} 8 || {{ echo \"an edit of $f is still running\" >&2; exit 4; }}\n\
             rm -f \"$(dirname \"$f\")\"/.opsdeck-new.* \"$(dirname \"$f\")\"/.opsdeck-prev.*\n\
             cur=$(sha1sum < \"$f\" | cut -c1-40) || exit 4\n\
             [ \"$cur\" = {old} ] && {{ echo LIVE-OLD; exit 0; }}\n\
             [ \"$cur\" = {newsum} ] || {{ echo \"LIVE-OTHER $cur\"; exit 0; }}\n\
             t=$(mktemp \"$(dirname \"$f\")/.opsdeck-prev.XXXXXX\") || exit 4\n\
             printf '%s' {b64} | base64 -d > \"$t\" || {{ rm -f \"$t\"; exit 4; }}\n\
             chmod --reference=\"$f\" \"$t\" 2>/dev/null || chmod 644 \"$t\"\n\
             mv -f \"$t\" \"$f\" || exit 4\n\
             if ( {test}
) >/dev/null 2>&1 && ( {reload}
) >/dev/null 2>&1; then echo LIVE-OLD-RELOADED; else echo LIVE-OLD-RESTORED; fi\n",
            f = shell_quote(self.file),
            e = shell_quote(&self.lock.edit_lock_file),
            wait = EDIT_WAIT_SECS + 2,
            old = sha1_hex(self.old),
            newsum = sha1_hex(self.new),
            b64 = base64(self.old.as_bytes()),
            test = self.test_command,
            reload = self.reload_command,
        )
    }

    /// Reads the settle command's answer.
    pub fn live_file(stdout: &str) -> Option<LiveFile> {
        let line = stdout
            .lines()
            .map(str::trim)
            .find(|l| l.starts_with("LIVE-"))?;
        Some(match line {
            "LIVE-OLD" => LiveFile::Old,
            "LIVE-OLD-RELOADED" => LiveFile::OldRestored { reloaded: true },
            "LIVE-OLD-RESTORED" => LiveFile::OldRestored { reloaded: false },
            other => LiveFile::Other(
                other
                    .strip_prefix("LIVE-OTHER ")
                    .unwrap_or(other)
                    .to_string(),
            ),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn edit(lock: &FleetLock) -> UpstreamEdit<'_> {
        UpstreamEdit {
            file: "/etc/nginx/up.conf",
            old: "a\n",
            new: "b\n",
            test_command: "nginx -t",
            reload_command: "nginx -s reload",
            lock,
            lock_held: true,
        }
    }

    #[test]
    fn outcomes_are_read() {
        assert_eq!(
            UpstreamEdit::outcome(Some(0), "SWAPPED\nAPPLIED\n", ""),
            EditOutcome::Applied
        );
        assert_eq!(
            UpstreamEdit::outcome(Some(7), "SWAPPED\nTEST-FAILED\nnginx: [emerg] bad\n", ""),
            EditOutcome::TestFailed("nginx: [emerg] bad".into())
        );
        assert_eq!(
            UpstreamEdit::outcome(Some(8), "SWAPPED\nRELOAD-FAILED-RELOADED\nno pid\n", ""),
            EditOutcome::ReloadFailed {
                message: "no pid".into(),
                reloaded_old: true
            }
        );
        assert_eq!(
            UpstreamEdit::outcome(Some(6), "CHANGED abc\n", ""),
            EditOutcome::Changed("abc".into())
        );
        assert!(matches!(
            UpstreamEdit::outcome(Some(3), "HELD\n", ""),
            EditOutcome::Locked(Refusal::Held(None))
        ));
        // Cut off after the swap: only a check can say which file is live.
        assert!(matches!(
            UpstreamEdit::outcome(None, "SWAPPED\n", ""),
            EditOutcome::Unknown(_)
        ));
        // Exit 0 without APPLIED is not success.
        assert!(matches!(
            UpstreamEdit::outcome(Some(0), "", ""),
            EditOutcome::Unknown(_)
        ));
    }

    #[test]
    fn the_script_uses_unique_temp_files_and_checks_the_hash() {
        let lock = FleetLock::new(None, "/etc/nginx/up.conf");
        let s = edit(&lock).script();
        assert!(s.contains("mktemp \"$d/.opsdeck-new.XXXXXX\""), "{s}");
        assert!(!s.contains(".opsdeck-new\""), "no fixed temp name: {s}");
        assert!(s.contains(&sha1_hex("a\n")), "{s}");
        assert!(s.contains("mv -f \"$new\" \"$f\""), "{s}");
        assert!(
            !s.contains("flock -w 2 9"),
            "the held lock is not taken again: {s}"
        );
        let mut e = edit(&lock);
        e.lock_held = false;
        assert!(e.script().contains("flock -w 2 9"));
    }

    #[test]
    fn live_file_answers_are_read() {
        assert_eq!(UpstreamEdit::live_file("LIVE-OLD\n"), Some(LiveFile::Old));
        assert_eq!(
            UpstreamEdit::live_file("LIVE-OLD-RELOADED\n"),
            Some(LiveFile::OldRestored { reloaded: true })
        );
        assert_eq!(
            UpstreamEdit::live_file("LIVE-OTHER 12ab\n"),
            Some(LiveFile::Other("12ab".into()))
        );
        assert_eq!(UpstreamEdit::live_file(""), None);
    }
}
