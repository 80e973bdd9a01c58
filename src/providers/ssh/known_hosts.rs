//! known_hosts lookup (plain and hashed `|1|salt|hash` entries, wildcards,
//! negation, `@revoked`; `@cert-authority` lines are skipped) and `trust`,
//! which appends a key once the user has said yes.

use std::fs::OpenOptions;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use russh::keys::{Algorithm, HashAlg, PublicKey};

use super::hmac_sha1::{base64_decode, hmac_sha1};
use super::host_key_check::HostKeyCheck;
use super::host_pattern::list_matches;
use super::ssh_target::host_port;

/// The known_hosts files of one target, looked up in order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KnownHosts {
    files: Vec<PathBuf>,
}

/// One known_hosts line that names the host.
struct Entry {
    file: PathBuf,
    line: usize,
    revoked: bool,
    key: PublicKey,
}

/// `SHA256:<base64 without padding>`, as `ssh-keygen -l` prints it.
pub fn fingerprint(key: &PublicKey) -> String {
    key.fingerprint(HashAlg::Sha256).to_string()
}

impl KnownHosts {
    pub fn new(files: Vec<PathBuf>) -> KnownHosts {
        KnownHosts { files }
    }

    pub fn files(&self) -> &[PathBuf] {
        &self.files
    }

    /// Looks `key` up for `host` on `port`, like OpenSSH: the same key
    /// anywhere is known; a different key of the same type is a change.
    pub fn check(&self, host: &str, port: u16, key: &PublicKey) -> HostKeyCheck {
        let entries = self.entries(host, port);
        let got = fingerprint(key);
        if let Some(r) = entries
            .iter()
            .find(|e| e.revoked && e.key.key_data() == key.key_data())
        {
            return HostKeyCheck::Revoked {
                fingerprint: got,
                file: r.file.clone(),
                line: r.line,
            };
        }
        let plain = entries.iter().filter(|e| !e.revoked);
        if plain.clone().any(|e| e.key.key_data() == key.key_data()) {
            return HostKeyCheck::Known;
        }
        if let Some(old) = plain
            .clone()
            .find(|e| same_family(&e.key.algorithm(), &key.algorithm()))
        {
            return HostKeyCheck::Changed {
                expected_fingerprint: fingerprint(&old.key),
                got_fingerprint: got,
                file: old.file.clone(),
                line: old.line,
            };
        }
        HostKeyCheck::Unknown { fingerprint: got }
    }

    /// The key algorithms already recorded for the host, so the handshake
    /// can ask for those first (as OpenSSH does) and a trusted host is not
    /// reported unknown just because it offered another key type.
    pub fn known_algorithms(&self, host: &str, port: u16) -> Vec<Algorithm> {
        let mut out: Vec<Algorithm> = Vec::new();
        for e in self.entries(host, port) {
            let alg = e.key.algorithm();
            if !e.revoked && !out.contains(&alg) {
                out.push(alg);
            }
        }
        out
    }

    fn entries(&self, host: &str, port: u16) -> Vec<Entry> {
        let name = host_port(host, port).to_lowercase();
        let mut out = Vec::new();
        for file in &self.files {
            let mut text = String::new();
            match std::fs::File::open(file).and_then(|mut f| f.read_to_string(&mut text)) {
                Ok(_) => {}
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
                Err(e) => {
                    tracing::warn!(file = %file.display(), error = %e, "cannot read known_hosts");
                    continue;
                }
            }
            for (i, line) in text.lines().enumerate() {
                if let Some((revoked, key)) = parse_line(line, &name) {
                    out.push(Entry {
                        file: file.clone(),
                        line: i + 1,
                        revoked,
                        key,
                    });
                }
            }
        }
        out
    }
}

/// The key of a known_hosts line if the line names `name`; `true` when the
/// line is `@revoked`.
fn parse_line(line: &str, name: &str) -> Option<(bool, PublicKey)> {
    let line = line.trim();
    if line.is_empty() || line.starts_with('#') {
        return None;
    }
    let mut fields = line.split_whitespace();
    let mut hosts = fields.next()?;
    let mut revoked = false;
    if let Some(marker) = hosts.strip_prefix('@') {
        match marker {
            "revoked" => revoked = true,
            // CA keys sign host certificates; opsdeck does not take
            // certificates, so these lines say nothing about plain keys.
            _ => return None,
        }
        hosts = fields.next()?;
    }
    let key_type = fields.next()?;
    let key_b64 = fields.next()?;
    if !hosts_match(hosts, name) {
        return None;
    }
    PublicKey::from_openssh(&format!("{key_type} {key_b64}"))
        .ok()
        .map(|k| (revoked, k))
}

fn hosts_match(hosts: &str, name: &str) -> bool {
    if let Some(hashed) = hosts.strip_prefix("|1|") {
        let mut parts = hashed.splitn(2, '|');
        let (Some(salt), Some(hash)) = (parts.next(), parts.next()) else {
            return false;
        };
        let (Some(salt), Some(hash)) = (base64_decode(salt), base64_decode(hash)) else {
            return false;
        };
        return hmac_sha1(&salt, name.as_bytes()).as_slice() == hash.as_slice();
    }
    list_matches(hosts.split(','), name)
}

/// Whether two host key algorithms are the same kind of key (RSA with any
/// signature hash counts as one kind).
pub(crate) fn same_family(a: &Algorithm, b: &Algorithm) -> bool {
    matches!((a, b), (Algorithm::Rsa { .. }, Algorithm::Rsa { .. })) || a == b
}

/// Appends `host`'s key to `known_hosts_path` (creating it and its
/// directory), as a plain `host` or `[host]:port` line. Call it only after
/// the user has confirmed the fingerprint.
pub fn trust(
    known_hosts_path: &Path,
    host: &str,
    port: u16,
    key: &PublicKey,
) -> std::io::Result<()> {
    if let Some(dir) = known_hosts_path.parent()
        && !dir.as_os_str().is_empty()
    {
        std::fs::create_dir_all(dir)?;
    }
    let key_text = key
        .to_openssh()
        .map_err(|e| std::io::Error::other(format!("cannot encode the host key: {e}")))?;
    // Drop the comment: known_hosts lines are `host type base64`.
    let key_text = key_text
        .split_whitespace()
        .take(2)
        .collect::<Vec<_>>()
        .join(" ");
    let needs_newline = std::fs::read(known_hosts_path)
        .map(|b| b.last().is_some_and(|c| *c != b'\n'))
        .unwrap_or(false);
    let mut f = OpenOptions::new()
        .create(true)
        .append(true)
        .open(known_hosts_path)?;
    let lead = if needs_newline { "\n" } else { "" };
    writeln!(
        f,
        "{lead}{} {key_text}",
        host_port(host, port).to_lowercase()
    )?;
    f.flush()
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY_A: &str =
        "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIH2+aZYC3D5z3dfDDiyykeCy+YlD6Yzhv9+noeb63Jm2";
    const KEY_B: &str =
        "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAINQ0dxYysR9iywgqW2/9kGgE/jaX0sWiafE0AjlJIXFl";

    fn key(text: &str) -> PublicKey {
        PublicKey::from_openssh(text).expect("test key parses")
    }

    fn file_with(text: &str) -> (tempfile::TempDir, PathBuf) {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("known_hosts");
        std::fs::write(&path, text).expect("write");
        (dir, path)
    }

    #[test]
    fn plain_entries_known_unknown_changed() {
        let (_d, path) = file_with(&format!(
            "# comment\nweb-a1,10.0.1.5 {KEY_A}\n[db.internal]:2222 {KEY_B}\n*.b.internal,!bad.b.internal {KEY_A}\n"
        ));
        let kh = KnownHosts::new(vec![path.clone()]);
        assert_eq!(kh.check("web-a1", 22, &key(KEY_A)), HostKeyCheck::Known);
        assert_eq!(kh.check("10.0.1.5", 22, &key(KEY_A)), HostKeyCheck::Known);
        assert_eq!(
            kh.check("db.internal", 2222, &key(KEY_B)),
            HostKeyCheck::Known
        );
        assert_eq!(
            kh.check("x.b.internal", 22, &key(KEY_A)),
            HostKeyCheck::Known
        );
        // Port matters: db.internal on 22 is not known.
        assert!(matches!(
            kh.check("db.internal", 22, &key(KEY_B)),
            HostKeyCheck::Unknown { .. }
        ));
        assert!(matches!(
            kh.check("bad.b.internal", 22, &key(KEY_A)),
            HostKeyCheck::Unknown { .. }
        ));
        match kh.check("web-a1", 22, &key(KEY_B)) {
            HostKeyCheck::Changed {
                expected_fingerprint,
                got_fingerprint,
                file,
                line,
            } => {
                assert_eq!(expected_fingerprint, fingerprint(&key(KEY_A)));
                assert_eq!(got_fingerprint, fingerprint(&key(KEY_B)));
                assert_eq!(file, path);
                assert_eq!(line, 2);
            }
            other => panic!("expected Changed, got {other:?}"),
        }
    }

    #[test]
    fn fingerprint_is_openssh_sha256() {
        let fp = fingerprint(&key(KEY_A));
        assert!(fp.starts_with("SHA256:"), "{fp}");
        assert!(!fp.ends_with('='), "{fp}");
        assert_eq!(fp.len(), "SHA256:".len() + 43);
    }

    #[test]
    fn revoked_refuses() {
        let (_d, path) = file_with(&format!("@revoked * {KEY_A}\nweb-a1 {KEY_A}\n"));
        let kh = KnownHosts::new(vec![path]);
        assert!(matches!(
            kh.check("web-a1", 22, &key(KEY_A)),
            HostKeyCheck::Revoked { line: 1, .. }
        ));
    }

    #[test]
    fn trust_appends_then_known() {
        let (_d, path) = file_with(&format!("other {KEY_B}"));
        trust(&path, "127.0.0.1", 2022, &key(KEY_A)).expect("trust");
        let text = std::fs::read_to_string(&path).expect("read");
        assert_eq!(
            text,
            format!("other {KEY_B}\n[127.0.0.1]:2022 {KEY_A}\n"),
            "appended on its own line"
        );
        let kh = KnownHosts::new(vec![path]);
        assert_eq!(
            kh.check("127.0.0.1", 2022, &key(KEY_A)),
            HostKeyCheck::Known
        );
    }

    /// Hashed entries as `ssh-keygen -H` writes them.
    #[test]
    fn hashed_entries_from_ssh_keygen() {
        let (_d, path) = file_with(&format!("web-a1 {KEY_A}\n[db.internal]:2222 {KEY_B}\n"));
        let hashed = std::process::Command::new("ssh-keygen")
            .arg("-H")
            .arg("-f")
            .arg(&path)
            .output();
        match hashed {
            Ok(out) if out.status.success() => {}
            _ => {
                eprintln!("skipped: ssh-keygen -H is not available");
                return;
            }
        }
        let text = std::fs::read_to_string(&path).expect("read");
        assert!(text.starts_with("|1|"), "{text}");
        assert!(!text.contains("web-a1"), "{text}");
        let kh = KnownHosts::new(vec![path.clone()]);
        assert_eq!(kh.check("web-a1", 22, &key(KEY_A)), HostKeyCheck::Known);
        assert_eq!(
            kh.check("db.internal", 2222, &key(KEY_B)),
            HostKeyCheck::Known
        );
        assert!(matches!(
            kh.check("web-a1", 22, &key(KEY_B)),
            HostKeyCheck::Changed { line: 1, .. }
        ));
        assert!(matches!(
            kh.check("web-a2", 22, &key(KEY_A)),
            HostKeyCheck::Unknown { .. }
        ));
    }
}
