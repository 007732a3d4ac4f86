//! The connectors' HTTP client: reqwest (rustls) on a small current-thread tokio runtime,
//! with retries: 429 waits for `Retry-After` (or backs off), 5xx and dropped connections back
//! off and retry, a vendor's daily-limit answer stops at once. Counts its requests.

use crate::error::{Error, Result};
use std::time::Duration;

/// How hard to retry.
#[derive(Debug, Clone, Copy)]
pub struct RetryPolicy {
    /// Retries after the first attempt.
    pub retries: u32,
    /// The first back-off; doubled on each retry.
    pub backoff: Duration,
    /// The longest `Retry-After` honoured (a longer one fails with a sentence saying when).
    pub max_wait: Duration,
    pub timeout: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            retries: 5,
            backoff: Duration::from_millis(500),
            max_wait: Duration::from_secs(120),
            timeout: Duration::from_secs(60),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    Get,
    Post,
}

/// An answer that is not retried further: the caller maps its status to a sentence.
#[derive(Debug, Clone)]
pub struct Answer {
    pub status: u16,
    pub body: String,
    pub retry_after: Option<u64>,
}

impl Answer {
    pub fn ok(&self) -> bool {
        (200..300).contains(&self.status)
    }
}

pub struct Http {
    rt: tokio::runtime::Runtime,
    client: reqwest::Client,
    policy: RetryPolicy,
    /// Requests sent (retries included).
    pub requests: u64,
    /// For messages: "HubSpot", "Salesforce".
    vendor: &'static str,
}

impl Http {
    pub fn new(vendor: &'static str, policy: RetryPolicy) -> Result<Http> {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| Error::Io(format!("cannot start the network runtime: {e}")))?;
        let client = reqwest::Client::builder()
            .timeout(policy.timeout)
            .connect_timeout(Duration::from_secs(10))
            .user_agent(concat!("partnermap/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| Error::Io(format!("cannot build the HTTP client: {e}")))?;
        Ok(Http {
            rt,
            client,
            policy,
            requests: 0,
            vendor,
        })
    }

    /// Sends a request, retrying as the policy says. `daily_limit` recognizes the vendor's
    /// "daily quota used up" answer, which is never retried. Returns the final answer (a
    /// success, or an error status the caller explains).
    pub fn send(
        &mut self,
        method: Method,
        url: &str,
        bearer: Option<&str>,
        form: Option<&[(&str, &str)]>,
        json: Option<&serde_json::Value>,
        daily_limit: &dyn Fn(&Answer) -> bool,
    ) -> Result<Answer> {
        let mut attempt = 0u32;
        loop {
            self.requests += 1;
            let mut req = match method {
                Method::Get => self.client.get(url),
                Method::Post => self.client.post(url),
            };
            if let Some(t) = bearer {
                req = req.bearer_auth(t);
            }
            if let Some(f) = form {
                let body = url::form_urlencoded::Serializer::new(String::new())
                    .extend_pairs(f.iter())
                    .finish();
                req = req
                    .header("content-type", "application/x-www-form-urlencoded")
                    .body(body);
            }
            if let Some(j) = json {
                req = req
                    .header("content-type", "application/json")
                    .body(j.to_string());
            }
            req = req.header("accept", "application/json");
            let result = self.rt.block_on(async {
                let resp = req.send().await?;
                let status = resp.status().as_u16();
                let retry_after = resp
                    .headers()
                    .get("retry-after")
                    .and_then(|v| v.to_str().ok())
                    .and_then(|v| v.trim().parse::<u64>().ok());
                let body = resp.text().await?;
                Ok::<_, reqwest::Error>(Answer {
                    status,
                    body,
                    retry_after,
                })
            });
            let backoff = self.policy.backoff * 2u32.saturating_pow(attempt);
            match result {
                Ok(a) if a.status == 429 => {
                    if daily_limit(&a) {
                        return Ok(a);
                    }
                    let wait = a.retry_after.map(Duration::from_secs).unwrap_or(backoff);
                    if attempt >= self.policy.retries || wait > self.policy.max_wait {
                        return Ok(a);
                    }
                    tracing::warn!(
                        vendor = self.vendor,
                        wait_ms = wait.as_millis() as u64,
                        "rate limited (429); waiting"
                    );
                    std::thread::sleep(wait);
                }
                Ok(a) if a.status >= 500 => {
                    if attempt >= self.policy.retries {
                        return Ok(a);
                    }
                    tracing::warn!(
                        vendor = self.vendor,
                        status = a.status,
                        "server error; retrying"
                    );
                    std::thread::sleep(backoff);
                }
                Ok(a) => return Ok(a),
                Err(e) => {
                    if attempt >= self.policy.retries {
                        return Err(Error::Io(format!(
                            "cannot reach {} at {} ({e}); you may be offline. Nothing was changed; run the sync again later (it resumes where it stopped).",
                            self.vendor,
                            host_of(url)
                        )));
                    }
                    tracing::warn!(vendor = self.vendor, error = %e, "request failed; retrying");
                    std::thread::sleep(backoff);
                }
            }
            attempt += 1;
        }
    }
}

/// The scheme and host of a URL, for messages (never its query, which may carry data).
pub fn host_of(url: &str) -> String {
    url::Url::parse(url)
        .map(|u| format!("{}://{}", u.scheme(), u.host_str().unwrap_or("")))
        .unwrap_or_else(|_| "the server".into())
}

/// The path of a URL, for messages.
pub fn path_of(url: &str) -> String {
    url::Url::parse(url)
        .map(|u| u.path().to_string())
        .unwrap_or_default()
}
