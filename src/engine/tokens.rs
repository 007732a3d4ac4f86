//! Bearer tokens for remote MCP (`partnermap serve`, SPEC §10): issued to one user, printed
//! once, stored only as a SHA-256 hash, revocable, with an optional expiry.
//!
//! Issuing, listing and revoking are operator commands: whoever can open the database file runs
//! the server and hands out its tokens (like `init`), so they take no acting user. What a
//! token's holder may then see is decided per call by the privacy gate, as that user.

use super::Engine;
use crate::error::{Result, conflict, invalid, not_found};
use crate::store;
use chrono::{DateTime, Duration, Utc};
use rusqlite::Connection;
use serde::Serialize;
use sha2::{Digest, Sha256};

/// Every token starts with this, so a leaked one is recognizable (secret scanners, logs).
pub const TOKEN_PREFIX: &str = "pmt_";

/// A token as listed (never the secret).
#[derive(Debug, Clone, Serialize)]
pub struct TokenView {
    pub id: i64,
    pub name: String,
    pub user: String,
    pub created_at: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub revoked_at: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_used_at: Option<String>,
    /// active, expired or revoked.
    pub status: &'static str,
}

/// A freshly issued token: its listing and the secret, shown this once.
#[derive(Debug, Clone, Serialize)]
pub struct NewToken {
    #[serde(flatten)]
    pub view: TokenView,
    pub token: String,
}

/// Who a presented token belongs to, or why it is refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TokenCheck {
    Valid { id: i64, user: String },
    Unknown,
    Revoked,
    Expired,
}

/// The stored form of a token: lower-case hex SHA-256 of the whole token text.
pub fn hash_token(token: &str) -> String {
    Sha256::digest(token.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn status(row: &store::tokens::TokenRow, now: DateTime<Utc>) -> &'static str {
    if row.revoked_at.is_some() {
        "revoked"
    } else if expired(row.expires_at.as_deref(), now) {
        "expired"
    } else {
        "active"
    }
}

fn expired(expires_at: Option<&str>, now: DateTime<Utc>) -> bool {
    match expires_at.map(DateTime::parse_from_rfc3339) {
        None => false,
        Some(Ok(t)) => t <= now,
        Some(Err(_)) => true, // unreadable: refuse rather than accept forever
    }
}

fn view(row: store::tokens::TokenRow, now: DateTime<Utc>) -> TokenView {
    TokenView {
        status: status(&row, now),
        id: row.id,
        name: row.name,
        user: row.email,
        created_at: row.created_at,
        expires_at: row.expires_at,
        revoked_at: row.revoked_at,
        last_used_at: row.last_used_at,
    }
}

/// Checks a presented token on `conn` (the HTTP server's own connection) at `now`.
pub fn check_token(conn: &Connection, token: &str, now: DateTime<Utc>) -> Result<TokenCheck> {
    let token = token.trim();
    if !token.starts_with(TOKEN_PREFIX) {
        return Ok(TokenCheck::Unknown);
    }
    let Some(row) = store::tokens::by_hash(conn, &hash_token(token))? else {
        return Ok(TokenCheck::Unknown);
    };
    Ok(match status(&row, now) {
        "revoked" => TokenCheck::Revoked,
        "expired" => TokenCheck::Expired,
        _ => TokenCheck::Valid {
            id: row.id,
            user: row.email,
        },
    })
}

/// Records that a token was used (the server calls this at most about once a minute per token).
pub fn touch_token(conn: &Connection, id: i64, now: DateTime<Utc>) -> Result<()> {
    let at = now.to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    store::tokens::touch(conn, id, &at)?;
    Ok(())
}

impl Engine {
    /// Issues a token for the user with `email`. `name` labels it (default `EMAIL-N`);
    /// `expires_days` limits its life.
    pub fn create_token(
        &mut self,
        email: &str,
        name: Option<&str>,
        expires_days: Option<u32>,
    ) -> Result<NewToken> {
        let now = self.now();
        let at = self.now_str();
        let expires_at = match expires_days {
            Some(0) => {
                return Err(invalid(
                    "--expires must be at least 1 day; leave it out for a token that does not expire.",
                ));
            }
            Some(d) => Some(
                (now + Duration::days(i64::from(d)))
                    .to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            ),
            None => None,
        };
        let bytes: [u8; 32] = rand::random();
        let secret: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
        let token = format!("{TOKEN_PREFIX}{secret}");
        let tx = store::write_tx(&mut self.conn)?;
        let user = store::orgs::user_by_email(&tx, email)?.ok_or_else(|| {
            not_found(format!(
                "no user has the email '{}'; add them with `partnermap user add --email …` first.",
                email.trim()
            ))
        })?;
        let name = match name.map(str::trim) {
            Some("") => return Err(invalid("the token name must not be empty.")),
            Some(n) if n.parse::<i64>().is_ok() => {
                return Err(invalid(
                    "a token name must not be a number (numbers name tokens by id); pick a label.",
                ));
            }
            Some(n) => {
                if store::tokens::name_taken(&tx, n)? {
                    return Err(conflict(format!(
                        "a token named '{n}' exists already; pick another --name or revoke it first."
                    )));
                }
                n.to_string()
            }
            None => (1..)
                .map(|i| format!("{}-{i}", user.email))
                .find(|n| !store::tokens::name_taken(&tx, n).unwrap_or(true))
                .expect("an unused name"),
        };
        let id = store::tokens::insert(
            &tx,
            user.id,
            &name,
            &hash_token(&token),
            &at,
            expires_at.as_deref(),
        )?;
        store::audit(
            &tx,
            &at,
            Some(user.id),
            Some(user.org_id),
            "create",
            "api_token",
            Some(id),
            None,
            Some(&serde_json::json!({"name": name, "expires_at": expires_at})),
        )?;
        let row = store::tokens::find(&tx, &id.to_string())?.expect("just inserted");
        tx.commit()?;
        Ok(NewToken {
            view: view(row, now),
            token,
        })
    }

    /// Every token (never the secrets), newest first.
    pub fn list_tokens(&self) -> Result<Vec<TokenView>> {
        let now = self.now();
        Ok(store::tokens::list(&self.conn)?
            .into_iter()
            .map(|r| view(r, now))
            .collect())
    }

    /// Revokes a token by id or name: the next request that presents it gets 401.
    pub fn revoke_token(&mut self, id_or_name: &str) -> Result<TokenView> {
        let now = self.now();
        let at = self.now_str();
        let tx = store::write_tx(&mut self.conn)?;
        let row = store::tokens::find(&tx, id_or_name.trim())?.ok_or_else(|| {
            not_found(format!(
                "no token has the id or name '{}'; `partnermap token list` shows them.",
                id_or_name.trim()
            ))
        })?;
        if !store::tokens::revoke(&tx, row.id, &at)? {
            return Err(conflict(format!(
                "token '{}' was revoked already.",
                row.name
            )));
        }
        store::audit(
            &tx,
            &at,
            Some(row.user_id),
            None,
            "revoke",
            "api_token",
            Some(row.id),
            None,
            None,
        )?;
        let row = store::tokens::find(&tx, &row.id.to_string())?.expect("still there");
        tx.commit()?;
        Ok(view(row, now))
    }
}
