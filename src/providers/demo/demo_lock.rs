//! The demo fleet's operation lock: a file lock (`flock` through std's
//! `File::try_lock`) under opsdeck's state directory, with the holder as JSON
//! beside it, so two consoles (or a console and `opsdeck do`) on the same
//! machine exclude each other as they would on a real fleet.
//!
//! The OS drops the lock when its process dies. A holder file left behind by a
//! dead process is taken over rather than kept as a stale lock: each demo
//! process simulates its own fleet, so a dead one left nothing half-done.

use std::fs::{File, OpenOptions, TryLockError};
use std::path::PathBuf;
use std::sync::Mutex;
use std::time::Duration;

use crate::core::lock::LockHolder;
use crate::providers::{LockError, ProviderError};

/// How long taking the lock retries while another process only probes it.
const PROBE_GRACE: Duration = Duration::from_millis(300);

pub struct DemoLock {
    lock_file: PathBuf,
    holder_file: PathBuf,
    held: Mutex<Option<(LockHolder, File)>>,
}

fn unavailable(path: &std::path::Path, e: impl std::fmt::Display) -> ProviderError {
    ProviderError::Failed {
        origin: path.display().to_string(),
        detail: format!("the demo lock file: {e}"),
    }
}

impl DemoLock {
    /// A lock at `<dir>/demo.lock` (the holder in `demo.lock.holder`).
    pub fn new(dir: PathBuf) -> DemoLock {
        DemoLock {
            lock_file: dir.join("demo.lock"),
            holder_file: dir.join("demo.lock.holder"),
            held: Mutex::new(None),
        }
    }

    fn held(&self) -> std::sync::MutexGuard<'_, Option<(LockHolder, File)>> {
        self.held.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn open(&self) -> Result<File, ProviderError> {
        if let Some(dir) = self.lock_file.parent() {
            std::fs::create_dir_all(dir).map_err(|e| unavailable(dir, e))?;
        }
        OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.lock_file)
            .map_err(|e| unavailable(&self.lock_file, e))
    }

    fn read_holder(&self) -> Option<LockHolder> {
        let text = std::fs::read_to_string(&self.holder_file).ok()?;
        serde_json::from_str(text.trim()).ok()
    }

    pub async fn acquire(&self, me: &LockHolder) -> Result<(), LockError> {
        if let Some((holder, _)) = self.held().as_ref() {
            return if holder.same_as(me) {
                Ok(())
            } else {
                Err(LockError::Held(holder.clone()))
            };
        }
        let file = self.open().map_err(LockError::Unavailable)?;
        let deadline = tokio::time::Instant::now() + PROBE_GRACE;
        loop {
            match file.try_lock() {
                Ok(()) => break,
                Err(TryLockError::WouldBlock) if tokio::time::Instant::now() < deadline => {
                    tokio::time::sleep(Duration::from_millis(25)).await;
                }
                Err(TryLockError::WouldBlock) => {
                    let holder = self.read_holder().unwrap_or_else(|| LockHolder {
                        operator: "unknown".into(),
                        machine: "this machine".into(),
                        pid: 0,
                        operation: "unknown (no holder file yet)".into(),
                        environment: "demo".into(),
                        started_at: me.started_at,
                    });
                    return Err(LockError::Held(holder));
                }
                Err(TryLockError::Error(e)) => {
                    return Err(LockError::Unavailable(unavailable(&self.lock_file, e)));
                }
            }
        }
        if let Some(old) = self.read_holder() {
            tracing::warn!(holder = ?old, "demo lock: taking over the holder file of a process that is gone");
        }
        let json = serde_json::to_string(me)
            .map_err(|e| LockError::Unavailable(unavailable(&self.holder_file, e)))?;
        std::fs::write(&self.holder_file, format!("{json}\n"))
            .map_err(|e| LockError::Unavailable(unavailable(&self.holder_file, e)))?;
        *self.held() = Some((me.clone(), file));
        Ok(())
    }

    pub fn release(&self, me: &LockHolder) -> Result<(), ProviderError> {
        let mut held = self.held();
        if !held.as_ref().is_some_and(|(h, _)| h.same_as(me)) {
            return Ok(());
        }
        if self.read_holder().is_some_and(|h| h.same_as(me)) {
            let _ = std::fs::remove_file(&self.holder_file);
        }
        // Dropping the file unlocks it.
        *held = None;
        Ok(())
    }

    /// Who holds the lock: this process, or another one whose lock is taken.
    pub fn holder(&self) -> Option<LockHolder> {
        if let Some((holder, _)) = self.held().as_ref() {
            return Some(holder.clone());
        }
        let holder = self.read_holder()?;
        let file = File::open(&self.lock_file).ok()?;
        // A shared lock is free unless someone holds the exclusive one.
        match file.try_lock_shared() {
            Ok(()) => None,
            Err(_) => Some(holder),
        }
    }

    /// Removes a holder file left by a process that is gone, if still `stale`'s.
    pub fn break_stale(&self, stale: &LockHolder) -> Result<(), ProviderError> {
        let file = self.open()?;
        match file.try_lock() {
            Ok(()) => {}
            Err(_) => {
                return Err(ProviderError::Refused {
                    origin: self.lock_file.display().to_string(),
                    detail: "the lock is not stale: its process still holds it".into(),
                });
            }
        }
        if self.read_holder().is_some_and(|h| h.same_as(stale)) {
            std::fs::remove_file(&self.holder_file)
                .map_err(|e| unavailable(&self.holder_file, e))?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::Timestamp;

    fn holder(pid: u32) -> LockHolder {
        LockHolder {
            operator: "alice".into(),
            machine: "laptop".into(),
            pid,
            operation: format!("drain-backend web-a{pid}"),
            environment: "demo".into(),
            started_at: Timestamp::from_millis(1_000),
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
    async fn a_holder_file_left_by_a_dead_process_does_not_block() {
        let dir = tempfile::tempdir().expect("tempdir");
        let lock = DemoLock::new(dir.path().to_path_buf());
        let json = serde_json::to_string(&holder(9)).expect("json");
        std::fs::write(dir.path().join("demo.lock.holder"), json).expect("write");
        assert_eq!(lock.holder(), None, "nobody holds the OS lock");
        lock.acquire(&holder(1)).await.expect("taken over");
        assert_eq!(lock.holder(), Some(holder(1)));
        lock.release(&holder(1)).expect("release");
        assert!(!dir.path().join("demo.lock.holder").exists());
    }
}
