pub mod access_log;
pub mod endpoint;
pub mod http_probe;
#[cfg(test)]
pub(crate) mod lab_env;
pub mod mysql_node;
pub mod nginx_upstream;
pub mod prometheus;
pub mod redis_node;
pub mod selfhosted_provider;

pub use selfhosted_provider::SelfHostedProvider;
