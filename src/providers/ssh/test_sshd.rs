//! A throwaway OpenSSH server on 127.0.0.1 for tests: its own host key,
//! authorized client key and port, started with `/usr/sbin/sshd -D -e` and
//! killed by PID on drop. Logs in as a dedicated user with `/bin/sh` when
//! running as root (root's login shell init is slow), else as the current
//! user. [`TestSshd::start`] returns `Err(reason)` when sshd cannot run, and
//! tests then skip with that reason printed.

use std::net::{TcpListener, TcpStream};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use super::ssh_target::{SshTarget, StrictHostKeyChecking};

const SSHD: &str = "/usr/sbin/sshd";
const TEST_USER: &str = "opsdeck-ssh";

pub(crate) struct TestSshd {
    pub dir: tempfile::TempDir,
    pub port: u16,
    pub user: String,
    pub host_key_pub: PathBuf,
    pub client_key: PathBuf,
    /// Holds this server's host key for `[127.0.0.1]:port`.
    pub known_hosts: PathBuf,
    child: Child,
}

impl TestSshd {
    /// Starts a server; `Err` says why one cannot run here.
    /// Starts a server, trying again on a fresh port when the first one was
    /// taken by another test's server meanwhile.
    pub fn start() -> Result<TestSshd, String> {
        let mut last = String::new();
        for _ in 0..3 {
            match Self::start_once() {
                Ok(s) => return Ok(s),
                Err(e) if e.contains("taken by another server") => last = e,
                Err(e) => return Err(e),
            }
        }
        Err(last)
    }

    fn start_once() -> Result<TestSshd, String> {
        if !Path::new(SSHD).exists() {
            return Err(format!(
                "{SSHD} is not installed (apt-get install openssh-server)"
            ));
        }
        let _ = std::fs::create_dir_all("/run/sshd");
        let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
        // The login user reads authorized_keys and the test files.
        set_mode(dir.path(), 0o755)?;
        let d = dir.path();
        keygen(&d.join("host_ed25519"))?;
        keygen(&d.join("id_ed25519"))?;
        let host_key_pub = d.join("host_ed25519.pub");
        let client_pub = read(&d.join("id_ed25519.pub"))?;
        std::fs::write(d.join("authorized_keys"), &client_pub).map_err(|e| e.to_string())?;
        set_mode(&d.join("authorized_keys"), 0o644)?;
        let user = login_user()?;
        let port = free_port()?;
        let known_hosts = d.join("known_hosts");
        let host_pub = read(&host_key_pub)?;
        let host_key_fields: Vec<&str> = host_pub.split_whitespace().take(2).collect();
        std::fs::write(
            &known_hosts,
            format!("[127.0.0.1]:{port} {}\n", host_key_fields.join(" ")),
        )
        .map_err(|e| e.to_string())?;
        let config = d.join("sshd_config");
        std::fs::write(
            &config,
            format!(
                "Port {port}\n\
                 ListenAddress 127.0.0.1\n\
                 HostKey {host}\n\
                 PidFile none\n\
                 StrictModes no\n\
                 UsePAM no\n\
                 PasswordAuthentication no\n\
                 KbdInteractiveAuthentication no\n\
                 PubkeyAuthentication yes\n\
                 AuthorizedKeysFile {auth}\n\
                 AllowUsers {user}\n\
                 PermitRootLogin prohibit-password\n\
                 AllowTcpForwarding yes\n\
                 PrintMotd no\n\
                 PrintLastLog no\n\
                 LogLevel ERROR\n",
                host = d.join("host_ed25519").display(),
                auth = d.join("authorized_keys").display(),
            ),
        )
        .map_err(|e| e.to_string())?;
        let log = std::fs::File::create(d.join("sshd.log")).map_err(|e| e.to_string())?;
        let mut child = Command::new(SSHD)
            .arg("-D")
            .arg("-e")
            .arg("-f")
            .arg(&config)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .map_err(|e| format!("cannot start {SSHD}: {e}"))?;
        let started = Instant::now();
        loop {
            if TcpStream::connect(("127.0.0.1", port)).is_ok() {
                // Tests start servers in parallel: a port another test's sshd
                // took between `free_port` and this bind also answers. Ours
                // then exits at once (address in use): make sure it lives.
                std::thread::sleep(Duration::from_millis(100));
                if let Ok(Some(status)) = child.try_wait() {
                    let log = read(&d.join("sshd.log")).unwrap_or_default();
                    return Err(format!(
                        "sshd exited ({status}) though port {port} answered (taken by another server?): {log}"
                    ));
                }
                break;
            }
            if let Ok(Some(status)) = child.try_wait() {
                let log = read(&d.join("sshd.log")).unwrap_or_default();
                return Err(format!("sshd exited ({status}): {log}"));
            }
            if started.elapsed() > Duration::from_secs(5) {
                let _ = child.kill();
                let _ = child.wait();
                return Err("sshd did not listen within 5 s".into());
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        Ok(TestSshd {
            client_key: d.join("id_ed25519"),
            dir,
            port,
            user,
            host_key_pub,
            known_hosts,
            child,
        })
    }

    /// A target for this server that trusts its host key and uses the test
    /// client key only.
    pub fn target(&self, alias: &str) -> SshTarget {
        let mut t = SshTarget::new(alias, "127.0.0.1", self.port, &self.user);
        t.identity_files = vec![self.client_key.clone()];
        t.known_hosts = vec![self.known_hosts.clone()];
        t.strict_host_key_checking = StrictHostKeyChecking::Ask;
        t.keepalive_secs = 5;
        t.connect_timeout_secs = 5;
        t
    }

    /// The host key fingerprint as `ssh-keygen -lf` prints it.
    pub fn fingerprint_by_ssh_keygen(&self) -> Result<String, String> {
        let out = Command::new("ssh-keygen")
            .arg("-lf")
            .arg(&self.host_key_pub)
            .output()
            .map_err(|e| e.to_string())?;
        let text = String::from_utf8_lossy(&out.stdout).to_string();
        text.split_whitespace()
            .nth(1)
            .map(str::to_string)
            .ok_or_else(|| format!("unexpected ssh-keygen output: {text}"))
    }

    /// The listening sshd's PID.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// A file in the server's directory that the login user can read and
    /// append to.
    pub fn shared_file(&self, name: &str, contents: &str) -> Result<PathBuf, String> {
        let path = self.dir.path().join(name);
        std::fs::write(&path, contents).map_err(|e| e.to_string())?;
        set_mode(&path, 0o666)?;
        Ok(path)
    }
}

impl Drop for TestSshd {
    fn drop(&mut self) {
        // Only this server's PID; sessions it forked die with their
        // connections.
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn keygen(path: &Path) -> Result<(), String> {
    let out = Command::new("ssh-keygen")
        .args(["-q", "-t", "ed25519", "-N", "", "-C", "opsdeck-test", "-f"])
        .arg(path)
        .output()
        .map_err(|e| format!("ssh-keygen: {e}"))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(format!(
            "ssh-keygen failed: {}",
            String::from_utf8_lossy(&out.stderr)
        ))
    }
}

fn read(path: &Path) -> Result<String, String> {
    std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))
}

fn set_mode(path: &Path, mode: u32) -> Result<(), String> {
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).map_err(|e| e.to_string())
}

fn free_port() -> Result<u16, String> {
    let l = TcpListener::bind(("127.0.0.1", 0)).map_err(|e| e.to_string())?;
    l.local_addr().map(|a| a.port()).map_err(|e| e.to_string())
}

fn current_user() -> Result<String, String> {
    let out = Command::new("id")
        .arg("-un")
        .output()
        .map_err(|e| e.to_string())?;
    Ok(String::from_utf8_lossy(&out.stdout).trim().to_string())
}

/// As root: a system user with `/bin/sh` (created once). Otherwise the
/// current user, as sshd can only log in as itself.
fn login_user() -> Result<String, String> {
    let me = current_user()?;
    if me != "root" {
        return Ok(me);
    }
    let exists = || {
        Command::new("id")
            .arg("-u")
            .arg(TEST_USER)
            .output()
            .is_ok_and(|o| o.status.success())
    };
    if !exists() {
        // `-p '*'`: no password, but not locked (sshd without PAM refuses
        // locked accounts, which `useradd --system` makes by default).
        let _ = Command::new("useradd")
            .args([
                "--system",
                "--no-create-home",
                "--home-dir",
                "/tmp",
                "--shell",
                "/bin/sh",
            ])
            .args(["-p", "*"])
            .arg(TEST_USER)
            .output();
    } else if is_locked(TEST_USER) {
        let _ = Command::new("usermod")
            .args(["-p", "*", TEST_USER])
            .output();
    }
    // Another test may have created it meanwhile; if it still is not
    // there, root works too (just slower).
    Ok(if exists() { TEST_USER.to_string() } else { me })
}

/// The account's password field starts with `!` (locked).
fn is_locked(user: &str) -> bool {
    std::fs::read_to_string("/etc/shadow").is_ok_and(|shadow| {
        shadow.lines().any(|l| {
            l.strip_prefix(user)
                .and_then(|r| r.strip_prefix(':'))
                .is_some_and(|r| r.starts_with('!'))
        })
    })
}
