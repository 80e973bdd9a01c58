//! The self-hosted provider: nginx, MySQL/MariaDB, Redis, HTTP probes and
//! Prometheus over SSH, and the fleet-wide lock on the load-balancer host.

pub mod access_log;
pub mod endpoint;
pub mod fleet_lock;
pub mod http_probe;
#[cfg(test)]
pub(crate) mod lab_env;
pub mod mysql_node;
pub mod nginx_upstream;
pub mod prometheus;
pub mod redis_node;
pub mod release_dirs;
pub mod selfhosted_provider;
pub mod service_prober;
pub mod shell_text;
pub mod upstream_edit;

pub use selfhosted_provider::SelfHostedProvider;
