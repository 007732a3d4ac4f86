//! `partnermap token create|list|revoke`: bearer tokens for remote MCP (`partnermap serve`).
//! Operator commands: they need the database file, not an acting user.

use super::print::Out;
use clap::Subcommand;
use partnermap::engine::TokenView;
use partnermap::{Engine, Error};

#[derive(Subcommand, Debug)]
pub enum TokenCmd {
    /// Issue a token for a user; it is printed once (stdout), stored only as a hash.
    Create {
        /// The user the token acts as (email).
        #[arg(long, value_name = "EMAIL")]
        user: String,
        /// A label to list and revoke it by (default EMAIL-N).
        #[arg(long, value_name = "LABEL")]
        name: Option<String>,
        /// Days until it expires (default: never).
        #[arg(long, value_name = "DAYS")]
        expires: Option<u32>,
    },
    /// Every token: id, name, user, status, expiry, last use (never the secret).
    List,
    /// Revoke a token by id or name; the next request presenting it gets 401.
    Revoke {
        #[arg(value_name = "ID|NAME")]
        token: String,
    },
}

fn line(t: &TokenView) -> String {
    let mut s = format!("{:>4}  {:<28} {:<28} {}", t.id, t.name, t.user, t.status);
    if let Some(e) = &t.expires_at {
        s.push_str(&format!("  expires {e}"));
    }
    if let Some(u) = &t.last_used_at {
        s.push_str(&format!("  last used {u}"));
    }
    s
}

pub fn run(cmd: TokenCmd, engine: &mut Engine, out: &Out) -> Result<(), Error> {
    match cmd {
        TokenCmd::Create {
            user,
            name,
            expires,
        } => {
            let t = engine.create_token(&user, name.as_deref(), expires)?;
            if out.json {
                out.value(&t);
            } else {
                println!("{}", t.token);
                eprintln!(
                    "token {} '{}' for {}{}: shown only this once, store it now.",
                    t.view.id,
                    t.view.name,
                    t.view.user,
                    t.view
                        .expires_at
                        .as_deref()
                        .map(|e| format!(", expires {e}"))
                        .unwrap_or_default()
                );
            }
        }
        TokenCmd::List => {
            let list = engine.list_tokens()?;
            if out.json {
                out.value(&list);
            } else {
                for t in &list {
                    println!("{}", line(t));
                }
            }
        }
        TokenCmd::Revoke { token } => {
            let t = engine.revoke_token(&token)?;
            if out.json {
                out.value(&t);
            } else {
                println!("{}", line(&t));
            }
        }
    }
    Ok(())
}
