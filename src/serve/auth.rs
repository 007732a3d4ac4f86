//! Bearer-token authentication, per-token rate limiting and session ownership for remote MCP.
//!
//! Every request to `/mcp` must carry `Authorization: Bearer TOKEN`. The token is looked up by
//! its hash on the server's own read connection (so a token revoked or expired a moment ago is
//! refused on the next request); its user becomes the request's acting user
//! ([`RequestUser`], read by the MCP handler). Refusals are 401 with `WWW-Authenticate`; a token
//! over its rate is 429 with `Retry-After`; a request that names another user's MCP session is
//! 404, as if the session did not exist.

use crate::engine::tokens::{TokenCheck, check_token, touch_token};
use crate::mcp::server::RequestUser;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use chrono::Utc;
use rusqlite::Connection;
use std::collections::HashMap;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// How often a token's `last_used_at` is written at most.
const TOUCH_EVERY: Duration = Duration::from_secs(60);
/// Sessions remembered for the ownership check before the oldest are forgotten.
const MAX_SESSIONS: usize = 100_000;

pub struct Auth {
    /// The server's own connection for token look-ups (reads only).
    conn: Mutex<Connection>,
    /// A second connection for `last_used_at` writes, off the request path.
    touch_conn: Arc<Mutex<Connection>>,
    limiter: Mutex<HashMap<i64, Bucket>>,
    per_minute: u32,
    touched: Mutex<HashMap<i64, Instant>>,
    /// MCP session id → the token id that opened it.
    sessions: Mutex<HashMap<String, (i64, Instant)>>,
}

/// A token bucket: `per_minute` requests, refilled continuously; bursts up to the full minute.
struct Bucket {
    tokens: f64,
    at: Instant,
}

impl Auth {
    pub fn open(db: &Path, per_minute: u32) -> crate::Result<Auth> {
        Ok(Auth {
            conn: Mutex::new(crate::store::open(db)?),
            touch_conn: Arc::new(Mutex::new(crate::store::open(db)?)),
            limiter: Mutex::new(HashMap::new()),
            per_minute: per_minute.max(1),
            touched: Mutex::new(HashMap::new()),
            sessions: Mutex::new(HashMap::new()),
        })
    }

    fn check(&self, token: &str) -> crate::Result<TokenCheck> {
        let conn = self.conn.lock().unwrap_or_else(|p| p.into_inner());
        check_token(&conn, token, Utc::now())
    }

    /// Takes one request from the token's bucket, or says how many seconds until there is one.
    fn take(&self, token_id: i64) -> Result<(), u64> {
        let rate = f64::from(self.per_minute) / 60.0;
        let cap = f64::from(self.per_minute);
        let now = Instant::now();
        let mut buckets = self.limiter.lock().unwrap_or_else(|p| p.into_inner());
        let b = buckets.entry(token_id).or_insert(Bucket {
            tokens: cap,
            at: now,
        });
        b.tokens = (b.tokens + now.duration_since(b.at).as_secs_f64() * rate).min(cap);
        b.at = now;
        if b.tokens >= 1.0 {
            b.tokens -= 1.0;
            Ok(())
        } else {
            Err(((1.0 - b.tokens) / rate).ceil().max(1.0) as u64)
        }
    }

    /// Writes `last_used_at` about once a minute per token, on a blocking thread.
    fn touch(&self, token_id: i64) {
        let now = Instant::now();
        {
            let mut touched = self.touched.lock().unwrap_or_else(|p| p.into_inner());
            match touched.get(&token_id) {
                Some(t) if now.duration_since(*t) < TOUCH_EVERY => return,
                _ => touched.insert(token_id, now),
            };
        }
        let conn = self.touch_conn.clone();
        tokio::task::spawn_blocking(move || {
            let conn = conn.lock().unwrap_or_else(|p| p.into_inner());
            if let Err(e) = touch_token(&conn, token_id, Utc::now()) {
                tracing::debug!(error = %e, "could not record token use");
            }
        });
    }

    /// Whether `session` may be used by `token_id`: unknown sessions pass (rmcp answers 404 for
    /// those itself), known ones only for the token that opened them.
    fn owns(&self, session: &str, token_id: i64) -> bool {
        let sessions = self.sessions.lock().unwrap_or_else(|p| p.into_inner());
        sessions.get(session).is_none_or(|(id, _)| *id == token_id)
    }

    fn remember(&self, session: &str, token_id: i64) {
        let mut sessions = self.sessions.lock().unwrap_or_else(|p| p.into_inner());
        if sessions.len() >= MAX_SESSIONS {
            // Forget the oldest half (sessions that old have long expired in rmcp).
            let mut ages: Vec<Instant> = sessions.values().map(|(_, t)| *t).collect();
            ages.sort();
            let cut = ages[ages.len() / 2];
            sessions.retain(|_, (_, t)| *t > cut);
        }
        sessions
            .entry(session.to_string())
            .or_insert((token_id, Instant::now()));
    }
}

fn unauthorized(error: &str, description: &str) -> Response {
    let challenge = format!(
        "Bearer realm=\"partnermap\", error=\"{error}\", error_description=\"{description}\""
    );
    let mut r = (
        StatusCode::UNAUTHORIZED,
        format!(
            "{description}. Send `Authorization: Bearer TOKEN`; an operator issues tokens with `partnermap token create --user EMAIL`.\n"
        ),
    )
        .into_response();
    if let Ok(v) = HeaderValue::from_str(&challenge) {
        r.headers_mut().insert(header::WWW_AUTHENTICATE, v);
    }
    r
}

fn bearer(req: &Request) -> Option<&str> {
    let v = req.headers().get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = v.trim().split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
}

/// The middleware: authenticate, rate-limit, check session ownership, attach the acting user.
pub async fn require_token(
    State(auth): State<Arc<Auth>>,
    mut req: Request,
    next: Next,
) -> Response {
    let Some(token) = bearer(&req) else {
        return unauthorized("invalid_request", "no bearer token was sent");
    };
    let (token_id, user) = match auth.check(token) {
        Ok(TokenCheck::Valid { id, user }) => (id, user),
        Ok(TokenCheck::Unknown) => {
            return unauthorized("invalid_token", "the bearer token is not known");
        }
        Ok(TokenCheck::Revoked) => {
            return unauthorized("invalid_token", "the bearer token was revoked");
        }
        Ok(TokenCheck::Expired) => {
            return unauthorized("invalid_token", "the bearer token has expired");
        }
        Err(e) => {
            tracing::error!(target: "partnermap::serve", error = %e, "token check failed");
            return (
                StatusCode::SERVICE_UNAVAILABLE,
                "partnermap could not check the token; try again.\n",
            )
                .into_response();
        }
    };
    if let Err(wait) = auth.take(token_id) {
        tracing::info!(target: "partnermap::serve", user, "rate limited");
        let mut r = (
            StatusCode::TOO_MANY_REQUESTS,
            format!("too many requests for this token; retry in {wait} s.\n"),
        )
            .into_response();
        r.headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from(wait));
        return r;
    }
    let session = req
        .headers()
        .get("mcp-session-id")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    if let Some(s) = &session
        && !auth.owns(s, token_id)
    {
        tracing::warn!(target: "partnermap::serve", user, "session of another token refused");
        return (StatusCode::NOT_FOUND, "session not found\n").into_response();
    }
    auth.touch(token_id);
    req.extensions_mut().insert(RequestUser(user));
    let resp = next.run(req).await;
    if session.is_none()
        && let Some(s) = resp
            .headers()
            .get("mcp-session-id")
            .and_then(|v| v.to_str().ok())
    {
        auth.remember(s, token_id);
    }
    resp
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_bucket_refuses_past_the_rate_and_says_when() {
        let dir = tempfile::tempdir().unwrap();
        let auth = Auth::open(&dir.path().join("a.db"), 3).unwrap();
        for _ in 0..3 {
            assert!(auth.take(1).is_ok());
        }
        let wait = auth.take(1).unwrap_err();
        assert!((1..=20).contains(&wait), "{wait}");
        assert!(auth.take(2).is_ok(), "buckets are per token");
    }

    #[test]
    fn sessions_belong_to_the_token_that_opened_them() {
        let dir = tempfile::tempdir().unwrap();
        let auth = Auth::open(&dir.path().join("a.db"), 3).unwrap();
        assert!(auth.owns("s1", 1));
        auth.remember("s1", 1);
        assert!(auth.owns("s1", 1));
        assert!(!auth.owns("s1", 2));
    }
}
