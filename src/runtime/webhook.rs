//! Announces operations to a chat webhook. The body carries both `content`
//! (Discord) and `text` (Slack), so one URL format works for either. A failing
//! webhook never blocks or fails an operation: errors come back as text.
//!
//! The URL is a secret (whoever has it can post to the channel), so nothing
//! here ever prints it: errors name only the host, reqwest's own
//! messages are stripped of the URL, and any text that still holds the URL
//! or its path is redacted before it leaves this module.

use std::time::Duration;

#[derive(Clone)]
pub struct Webhook {
    url: String,
    /// `host:port`, the only part of the URL errors show.
    shown: String,
    client: reqwest::Client,
}

impl std::fmt::Debug for Webhook {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Webhook")
            .field("url", &format!("{}/<redacted>", self.shown))
            .finish()
    }
}

impl Webhook {
    pub fn new(url: &str) -> Result<Self, String> {
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(5))
            .connect_timeout(Duration::from_secs(3))
            .build()
            .map_err(|e| format!("webhook client: {}", e.without_url()))?;
        let shown = match url.split_once("://") {
            Some((_, rest)) => {
                let host = rest.split(['/', '?', '#']).next().unwrap_or("");
                // user:password@ is a secret too.
                host.rsplit('@').next().unwrap_or(host).to_string()
            }
            None => "webhook".to_string(),
        };
        Ok(Self {
            url: url.to_string(),
            shown,
            client,
        })
    }

    /// Posts `message`; `Err` says why it did not arrive, without the URL.
    pub async fn announce(&self, message: &str) -> Result<(), String> {
        let body = serde_json::json!({
            "username": "opsdeck",
            "content": message,
            "text": message,
        });
        let resp = self
            .client
            .post(&self.url)
            .json(&body)
            .send()
            .await
            .map_err(|e| {
                self.redact(&format!(
                    "webhook {}: {}",
                    self.shown,
                    error_chain(&e.without_url())
                ))
            })?;
        if resp.status().is_success() {
            Ok(())
        } else {
            Err(self.redact(&format!("webhook {}: HTTP {}", self.shown, resp.status())))
        }
    }

    /// `text` with the URL, and the part of it after the host, replaced.
    fn redact(&self, text: &str) -> String {
        let mut out = text.replace(&self.url, "<webhook URL>");
        let secret_part = self
            .url
            .split_once("://")
            .map_or(self.url.as_str(), |(_, rest)| rest)
            .split_once(['/', '?', '#'])
            .map_or("", |(_, tail)| tail);
        // A short tail ("/hook") carries no token, and replacing it would
        // mangle ordinary words ("webhook").
        if secret_part.len() >= 8 {
            out = out.replace(secret_part, "<redacted>");
        }
        out
    }
}

fn error_chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut cur = e.source();
    while let Some(c) = cur {
        s.push_str(": ");
        s.push_str(&c.to_string());
        cur = c.source();
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_failing_webhook_never_shows_its_url() {
        // A port nobody listens on: bind, learn the port, close.
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map(|a| a.port())
            .expect("port");
        let url = format!("http://127.0.0.1:{port}/api/webhooks/CANARY-7f3a9/tok?x=CANARY-7f3a9");
        let hook = Webhook::new(&url).expect("client");
        let err = hook.announce("hello").await.expect_err("nobody listens");
        assert!(!err.contains("CANARY"), "{err}");
        assert!(
            err.contains(&format!("127.0.0.1:{port}")),
            "names the host: {err}"
        );
        assert!(!format!("{hook:?}").contains("CANARY"));
    }

    #[test]
    fn credentials_in_the_authority_are_not_shown_either() {
        let hook = Webhook::new("https://user:S3CRET@hooks.example/path/TOKEN1").expect("client");
        assert_eq!(hook.shown, "hooks.example");
        assert_eq!(
            hook.redact("failed for https://user:S3CRET@hooks.example/path/TOKEN1 and path/TOKEN1"),
            "failed for <webhook URL> and <redacted>"
        );
    }
}
