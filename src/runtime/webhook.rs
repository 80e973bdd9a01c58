//! Announces operations to a chat webhook. The body carries both `content`
//! (Discord) and `text` (Slack), so one URL format works for either. A failing
//! webhook never blocks or fails an operation: errors come back as text.

use std::time::Duration;

#[derive(Clone, Debug)]
pub struct Webhook {
    url: String,
    client: reqwest::Client,
}

impl Webhook {
    pub fn new(url: &str) -> Result<Self, String> {
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(5))
            .connect_timeout(Duration::from_secs(3))
            .build()
            .map_err(|e| format!("webhook client: {e}"))?;
        Ok(Self {
            url: url.to_string(),
            client,
        })
    }

    /// Posts `message`; `Err` says why it did not arrive.
    pub async fn announce(&self, message: &str) -> Result<(), String> {
        let body = serde_json::json!({
            "username": "opsdeck",
            "content": message,
            "text": message,
        });
        let host = self.url.split('/').nth(2).unwrap_or(&self.url).to_string();
        let resp = self
            .client
            .post(&self.url)
            .json(&body)
            .send()
            .await
            .map_err(|e| format!("webhook {host}: {}", error_chain(&e)))?;
        if resp.status().is_success() {
            Ok(())
        } else {
            Err(format!("webhook {host}: HTTP {}", resp.status()))
        }
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
