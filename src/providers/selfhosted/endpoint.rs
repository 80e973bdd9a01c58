//! Shared plumbing for the self-hosted clients: `host:port` addresses, the
//! origin label every error carries (`db-replica (127.0.2.21:3308)`), and a
//! deadline wrapper that turns an elapsed timeout into `ProviderError::Timeout`.

use std::future::Future;
use std::time::Duration;

use crate::providers::ProviderError;

/// Splits `host:port` (or `[v6]:port`) into its parts. Errors name the address.
pub fn split_host_port(addr: &str) -> Result<(String, u16), String> {
    let addr = addr.trim();
    let (host, port) = addr
        .rsplit_once(':')
        .ok_or_else(|| format!("`{addr}` is not host:port"))?;
    let host = host.trim_start_matches('[').trim_end_matches(']');
    if host.is_empty() {
        return Err(format!("`{addr}` has no host"));
    }
    let port = port
        .parse::<u16>()
        .map_err(|_| format!("`{addr}` has no valid port"))?;
    Ok((host.to_string(), port))
}

/// `name (addr)`, or just `addr` when the node has no name.
pub fn origin(name: &str, addr: &str) -> String {
    if name.is_empty() || name == addr {
        addr.to_string()
    } else {
        format!("{name} ({addr})")
    }
}

/// Runs `fut` with a deadline; an elapsed deadline becomes `Timeout` naming `origin`.
pub async fn with_deadline<T, F>(
    origin: &str,
    timeout: Duration,
    fut: F,
) -> Result<T, ProviderError>
where
    F: Future<Output = Result<T, ProviderError>>,
{
    match tokio::time::timeout(timeout, fut).await {
        Ok(result) => result,
        Err(_) => Err(ProviderError::Timeout {
            origin: origin.to_string(),
            after_ms: u64::try_from(timeout.as_millis()).unwrap_or(u64::MAX),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_v4_and_v6() {
        assert_eq!(
            split_host_port("127.0.2.21:3308"),
            Ok(("127.0.2.21".to_string(), 3308))
        );
        assert_eq!(split_host_port("[::1]:6380"), Ok(("::1".to_string(), 6380)));
        assert!(split_host_port("db:port").is_err());
        assert!(split_host_port("nocolon").is_err());
        assert!(split_host_port(":3306").is_err());
    }

    #[test]
    fn origin_names_host_and_address() {
        assert_eq!(
            origin("db-replica", "127.0.2.21:3308"),
            "db-replica (127.0.2.21:3308)"
        );
        assert_eq!(origin("", "127.0.2.21:3308"), "127.0.2.21:3308");
    }

    #[tokio::test(start_paused = true)]
    async fn deadline_names_origin() {
        let slow = async {
            tokio::time::sleep(Duration::from_secs(10)).await;
            Ok::<_, ProviderError>(())
        };
        let err = with_deadline("x (1.2.3.4:5)", Duration::from_millis(250), slow).await;
        assert_eq!(
            err,
            Err(ProviderError::Timeout {
                origin: "x (1.2.3.4:5)".into(),
                after_ms: 250
            })
        );
    }
}
