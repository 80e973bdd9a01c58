//! The demo fleet's operation lock: a lock file under opsdeck's state
//! directory, created exclusively (`O_EXCL`) and holding the holder as JSON,
//! so two consoles (or a console and `opsdeck do`) on the same machine
//! exclude each other as they would on a real fleet.
//!
//! A lock file whose process is gone (no `/proc/<pid>`) is taken over rather
//! than kept as a stale lock: each demo process simulates its own fleet, so a
//! dead one left nothing half-done.

use std::fs::OpenOptions;
use std::io::Write;
use std::path::PathBuf;
use std::sync::Mutex;

use crate::core::lock::LockHolder;
use crate::providers::{LockError, ProviderError};

pub struct DemoLock {
    lock_file: PathBuf,
    /// The holder this process wrote, while it holds the lock.
    held: Mutex<Option<LockHolder>>,
}

fn unavailable(path: &std::path::Path, e: impl std::fmt::Display) -> ProviderError {
    ProviderError::Failed {
        origin: path.display().to_string(),
        detail: format!("the demo lock file: {e}"),
    }
}

/// Whether the process that wrote `holder` still runs on this machine.
fn alive(holder: &LockHolder) -> bool {
    if holder.pid == std::process::id() {
        return true;
    }
    if cfg!(target_os = "linux") {
        std::path::Path::new(&format!("/proc/{}", holder.pid)).exists()
    } else {
        // Without /proc, a holder is taken at its word.
        true
    }
}

impl DemoLock {
    /// A lock at `<dir>/demo.lock`.
    pub fn new(dir: PathBuf) -> DemoLock {
        DemoLock {
            lock_file: dir.join("demo.lock"),
            held: Mutex::new(None),
        }
    }

    fn held(&self) -> std::sync::MutexGuard<'_, Option<LockHolder>> {
        self.held.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The lock file's text and the holder in it (`None`: no file).
    fn read(&self) -> Option<(String, Option<LockHolder>)> {
        let text = std::fs::read_to_string(&self.lock_file).ok()?;
        let holder = serde_json::from_str(text.trim()).ok();
        Some((text, holder))
    }

    /// Removes the lock file if it still holds exactly `text`.
    fn remove_if(&self, text: &str) {
        if self.read().is_some_and(|(t, _)| t == text) {
            let _ = std::fs::remove_file(&self.lock_file);
        }
    }

    pub async fn acquire(&self, me: &LockHolder) -> Result<(), LockError> {
        if let Some(holder) = self.held().as_ref() {
            // A second acquire from this process nests (see the self-hosted
            // lock): one process runs one operation at a time.
            return if holder.same_as(me) || (holder.machine == me.machine && holder.pid == me.pid) {
                Ok(())
            } else {
                Err(LockError::Held(holder.clone()))
            };
        }
        if let Some(dir) = self.lock_file.parent() {
            std::fs::create_dir_all(dir)
                .map_err(|e| LockError::Unavailable(unavailable(dir, e)))?;
        }
        let json = serde_json::to_string(me)
            .map_err(|e| LockError::Unavailable(unavailable(&self.lock_file, e)))?;
        for attempt in 0..3 {
            match OpenOptions::new()
                .write(true)
                .create_new(true)
                .open(&self.lock_file)
            {
                Ok(mut file) => {
                    file.write_all(format!("{json}\n").as_bytes())
                        .and_then(|()| file.sync_all())
                        .map_err(|e| LockError::Unavailable(unavailable(&self.lock_file, e)))?;
                    *self.held() = Some(me.clone());
                    return Ok(());
                }
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => match self.read() {
                    Some((_, Some(holder))) if alive(&holder) => {
                        return Err(LockError::Held(holder));
                    }
                    Some((text, Some(holder))) => {
                        tracing::warn!(holder = %holder.describe(me.started_at), "demo lock: taking over the lock of a process that is gone");
                        self.remove_if(&text);
                    }
                    // Being written this instant: look again.
                    Some((_, None)) if attempt < 2 => {
                        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                    }
                    Some((text, None)) => self.remove_if(&text),
                    None => {}
                },
                Err(e) => return Err(LockError::Unavailable(unavailable(&self.lock_file, e))),
            }
        }
        Err(LockError::Unavailable(unavailable(
            &self.lock_file,
            "kept changing while being taken",
        )))
    }

    pub fn release(&self, me: &LockHolder) -> Result<(), ProviderError> {
        let mut held = self.held();
        if !held.as_ref().is_some_and(|h| h.same_as(me)) {
            return Ok(());
        }
        if let Some((text, Some(h))) = self.read()
            && h.same_as(me)
        {
            self.remove_if(&text);
        }
        *held = None;
        Ok(())
    }

    /// Who holds the lock: this process, or another one that still runs.
    pub fn holder(&self) -> Option<LockHolder> {
        if let Some(holder) = self.held().as_ref() {
            return Some(holder.clone());
        }
        self.read().and_then(|(_, h)| h).filter(alive)
    }

    /// Removes a lock left by a process that is gone, if still `stale`'s.
    pub fn break_stale(&self, stale: &LockHolder) -> Result<(), ProviderError> {
        match self.read() {
            Some((text, Some(h))) if h.same_as(stale) => {
                if alive(&h) {
                    return Err(ProviderError::Refused {
                        origin: self.lock_file.display().to_string(),
                        detail: "the lock is not stale: its process still runs".into(),
                    });
                }
                self.remove_if(&text);
                Ok(())
            }
            _ => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::Timestamp;

    /// A holder in this process (alive), told apart by `n`.
    fn holder(n: u32) -> LockHolder {
        LockHolder {
            operator: "alice".into(),
            machine: "laptop".into(),
            pid: std::process::id(),
            operation: format!("drain-backend web-a{n}"),
            environment: "demo".into(),
            started_at: Timestamp::from_millis(1_000 + i64::from(n)),
        }
    }

    #[tokio::test]
    async fn two_consoles_on_one_machine_exclude_each_other() {
        let dir = tempfile::tempdir().expect("tempdir");
        let first = DemoLock::new(dir.path().to_path_buf());
        let second = DemoLock::new(dir.path().to_path_buf());
        first.acquire(&holder(1)).await.expect("free");
        match second.acquire(&holder(2)).await {
            Err(LockError::Held(h)) => assert_eq!(h, holder(1)),
            other => panic!("expected Held, got {other:?}"),
        }
        assert_eq!(
            second.holder(),
            Some(holder(1)),
            "the other console sees it"
        );
        // Releasing someone else's lock does nothing.
        second.release(&holder(2)).expect("release");
        assert_eq!(second.holder(), Some(holder(1)));
        first.release(&holder(1)).expect("release");
        assert_eq!(second.holder(), None);
        second.acquire(&holder(2)).await.expect("free again");
        second.release(&holder(2)).expect("release");
    }

    #[tokio::test]
    async fn a_second_acquire_from_the_same_process_nests() {
        let dir = tempfile::tempdir().expect("tempdir");
        let lock = DemoLock::new(dir.path().to_path_buf());
        lock.acquire(&holder(1)).await.expect("free");
        lock.acquire(&holder(2)).await.expect("nests");
        lock.release(&holder(2)).expect("inner release");
        assert_eq!(lock.holder(), Some(holder(1)), "the outer holder keeps it");
        lock.release(&holder(1)).expect("release");
        assert_eq!(lock.holder(), None);
    }

    #[tokio::test]
    async fn a_holder_file_left_by_a_dead_process_does_not_block() {
        let dir = tempfile::tempdir().expect("tempdir");
        let lock = DemoLock::new(dir.path().to_path_buf());
        // pid 0 never names a user process.
        let mut dead = holder(1);
        dead.pid = 0;
        let json = serde_json::to_string(&dead).expect("json");
        std::fs::write(dir.path().join("demo.lock"), json).expect("write");
        assert_eq!(lock.holder(), None, "its process is gone");
        let me = holder(std::process::id());
        lock.acquire(&me).await.expect("taken over");
        assert_eq!(lock.holder(), Some(me.clone()));
        lock.release(&me).expect("release");
        assert!(!dir.path().join("demo.lock").exists());
    }
}
