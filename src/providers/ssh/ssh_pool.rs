//! One SSH connection per host, shared by everything that talks to it
//! (polls, log streams, actions, shells). Connects lazily on first use,
//! reconnects on the next use after a drop, and shares bastion
//! connections between the hosts behind them.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use super::ssh_config::SshConfig;
use super::ssh_connection::SshConnection;
use super::ssh_error::SshError;
use super::ssh_target::SshTarget;

type Slot = Arc<tokio::sync::Mutex<Option<Arc<SshConnection>>>>;

/// Connections by host. Concurrent `get`s of one host wait for a single
/// connect instead of racing several.
pub struct SshPool {
    config: SshConfig,
    slots: Mutex<HashMap<String, Slot>>,
}

impl SshPool {
    pub fn new(config: SshConfig) -> SshPool {
        SshPool {
            config,
            slots: Mutex::new(HashMap::new()),
        }
    }

    pub fn config(&self) -> &SshConfig {
        &self.config
    }

    /// The live connection to `alias` (resolved through the ssh config),
    /// connecting first if there is none or the last one dropped.
    pub async fn get(&self, alias: &str) -> Result<Arc<SshConnection>, SshError> {
        let target = self.config.resolve(alias);
        self.get_target(&target).await
    }

    /// Like [`SshPool::get`] for a target built by hand (tests, hosts that
    /// come from inventory rather than the ssh config).
    pub async fn get_target(&self, target: &SshTarget) -> Result<Arc<SshConnection>, SshError> {
        let slot = self.slot(&pool_key(target));
        let mut current = slot.lock().await;
        if let Some(conn) = current.as_ref() {
            if !conn.is_closed() {
                return Ok(conn.clone());
            }
            tracing::info!(host = %target.alias, "ssh connection dropped; reconnecting");
        }
        let jump = match &target.proxy_jump {
            Some(hop) => Some(Box::pin(self.get_target(hop)).await?),
            None => None,
        };
        let conn = Arc::new(SshConnection::connect_via(target, jump).await?);
        *current = Some(conn.clone());
        Ok(conn)
    }

    /// Drops the pooled connection to `alias`, so the next `get` connects
    /// afresh (e.g. after the user trusted a new host key). Channels already
    /// open on it keep running until they end.
    pub fn forget(&self, alias: &str) {
        let key = pool_key(&self.config.resolve(alias));
        if let Ok(mut slots) = self.slots.lock() {
            slots.remove(&key);
        }
    }

    /// Like [`SshPool::forget`] for a target built by hand.
    pub fn forget_target(&self, target: &SshTarget) {
        if let Ok(mut slots) = self.slots.lock() {
            slots.remove(&pool_key(target));
        }
    }

    /// Disconnects every pooled connection.
    pub async fn close_all(&self) {
        let slots: Vec<Slot> = match self.slots.lock() {
            Ok(mut slots) => slots.drain().map(|(_, s)| s).collect(),
            Err(_) => return,
        };
        for slot in slots {
            if let Some(conn) = slot.lock().await.take() {
                conn.close().await;
            }
        }
    }

    fn slot(&self, key: &str) -> Slot {
        match self.slots.lock() {
            Ok(mut slots) => slots.entry(key.to_string()).or_default().clone(),
            // A panic while holding the map lock left it poisoned; a fresh,
            // unshared slot still works (it just is not pooled).
            Err(_) => Slot::default(),
        }
    }
}

/// Two targets share a connection when they are the same user on the same
/// host and port through the same jumps.
fn pool_key(target: &SshTarget) -> String {
    target.describe()
}
