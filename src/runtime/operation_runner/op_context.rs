//! `OpContext`: the providers, clock, audit log and webhook an operation
//! uses. Only built when the session may mutate.

use std::sync::Arc;

use crate::providers::{ObserveProvider, OperateProvider};
use crate::runtime::audit_log::AuditLog;
use crate::runtime::clock::Clock;
use crate::runtime::webhook::Webhook;

/// Everything an operation needs. Only built when the session may mutate.
pub struct OpContext {
    pub observe: Arc<dyn ObserveProvider>,
    pub operate: Arc<dyn OperateProvider>,
    pub clock: Clock,
    pub audit: AuditLog,
    pub webhook: Option<Webhook>,
    pub environment: String,
}
