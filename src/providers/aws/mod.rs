//! The AWS provider: EC2, ELBv2 (ALB), RDS, ElastiCache, CloudWatch metrics
//! and alarms, CloudWatch Logs, through the official SDK crates. Built with
//! the `aws` cargo feature (on by default).

pub mod alarms;
pub mod aws_deploys;
pub mod aws_error;
pub mod aws_operate;
pub mod aws_provider;
pub mod aws_ssh;
pub mod cache_nodes;
pub mod call_meter;
pub mod clients;
pub mod instances;
pub mod live_tail;
pub mod lock_tag;
pub mod log_cursor;
pub mod metrics;
pub mod rds_nodes;
pub mod read_only_guard;
pub mod targets;

pub use aws_provider::AwsProvider;
