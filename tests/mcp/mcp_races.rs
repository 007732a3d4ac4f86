//! Issue 11 point 5: every check-then-write holds under real concurrency. Several
//! `partnermap mcp` processes on one database file race the same operation, ROUNDS times each
//! (bounded: the suite stops by itself), and we count double successes, end states that do not
//! match what succeeded, and raw database errors. All three must be 0.
//!
//! - a share request answered (approve, decline) and withdrawn at once;
//! - two exports past the allowance (each fits alone, not both);
//! - an invitation accepted and withdrawn at once;
//! - an offline partner deleted while a CSV is uploaded for it.

use crate::mcp_common;
use mcp_common::*;
use serde_json::{Value, json};
use std::path::Path;

const ROUNDS: usize = 200;

/// A call's outcome: Ok(structured content) or Err(the sentence). A JSON-RPC error or a raw
/// database message fails the test.
async fn attempt(c: &Client, tool: &str, args: Value) -> Result<Value, String> {
    match c.raw(tool, args.clone()).await {
        Outcome::Result(r) if r.is_error != Some(true) => Ok(r.structured_content.unwrap()),
        Outcome::Result(r) => {
            let t = r.content[0].as_text().unwrap().text.clone();
            let lower = t.to_lowercase();
            for raw in [
                "constraint failed",
                "database error",
                "database is locked",
                "sqlite",
                "internal error",
            ] {
                assert!(!lower.contains(raw), "{tool} {args}: a raw error: {t}");
            }
            Err(t)
        }
        Outcome::RpcError(e) => panic!("{tool} {args}: JSON-RPC error {e}"),
    }
}

fn db(path: &Path) -> rusqlite::Connection {
    let c = rusqlite::Connection::open(path).unwrap();
    c.busy_timeout(std::time::Duration::from_secs(30)).unwrap();
    c
}

fn one<T: rusqlite::types::FromSql>(path: &Path, sql: &str, p: impl rusqlite::Params) -> T {
    db(path).query_row(sql, p, |r| r.get(0)).unwrap()
}

#[derive(Default, Debug)]
struct Tally {
    rounds: usize,
    double: usize,
    inconsistent: Vec<String>,
}

impl Tally {
    fn check(&self, what: &str) {
        eprintln!(
            "{what}: {} rounds, {} double successes, {} inconsistent end states",
            self.rounds,
            self.double,
            self.inconsistent.len()
        );
        assert_eq!(self.double, 0, "{what}: double successes");
        assert!(
            self.inconsistent.is_empty(),
            "{what}: inconsistent end states: {:?}",
            &self.inconsistent[..self.inconsistent.len().min(5)]
        );
        assert_eq!(self.rounds, ROUNDS);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_share_request_is_answered_or_withdrawn_once() {
    let net = Network::build();
    let a1 = net.client(ANN, false).await;
    let a2 = net.client(ANN, false).await;
    let b = net.client(BOB, false).await;
    let alpha: i64 = one(&net.db, "SELECT id FROM orgs WHERE name = 'Alpha'", []);
    let beta: i64 = one(&net.db, "SELECT id FROM orgs WHERE name = 'Beta'", []);
    let pop: i64 = one(
        &net.db,
        "SELECT id FROM populations WHERE org_id = ?1 AND name = 'Customers'",
        [alpha],
    );
    let mut t = Tally::default();
    for round in 0..ROUNDS {
        a1.ok(
            "set_sharing",
            json!({"partner": "Beta", "population": "Customers", "level": "counts"}),
        )
        .await;
        let req = b
            .ok(
                "create_share_request",
                json!({"partner": "Alpha", "population": "Customers", "level": "full", "message": format!("round {round}")}),
            )
            .await;
        let id = req["request"]["id"].as_i64().unwrap();
        let (ap, de, wd) = tokio::join!(
            attempt(
                &a1,
                "respond_to_share_request",
                json!({"request": id, "approve": true})
            ),
            attempt(
                &a2,
                "respond_to_share_request",
                json!({"request": id, "approve": false})
            ),
            attempt(&b, "withdraw_share_request", json!({"request": id})),
        );
        let wins = [ap.is_ok(), de.is_ok(), wd.is_ok()];
        let n = wins.iter().filter(|w| **w).count();
        if n > 1 {
            t.double += 1;
        }
        let status: String = one(
            &net.db,
            "SELECT status FROM share_requests WHERE id = ?1",
            [id],
        );
        let level: String = db(&net.db)
            .query_row(
                "SELECT level FROM sharing_settings WHERE owner_org = ?1 AND partner_org = ?2 AND population_id = ?3",
                [alpha, beta, pop],
                |r| r.get(0),
            )
            .unwrap_or_else(|_| "counts".into());
        let want = match wins {
            [true, false, false] => ("approved", "full"),
            [false, true, false] => ("declined", "counts"),
            [false, false, true] => ("withdrawn", "counts"),
            _ => ("", ""),
        };
        if n == 1 && (status.as_str(), level.as_str()) != want {
            t.inconsistent
                .push(format!("round {round}: {wins:?} but {status} at {level}"));
        }
        if n == 0 {
            t.inconsistent.push(format!(
                "round {round}: nothing succeeded ({ap:?} {de:?} {wd:?})"
            ));
        }
        t.rounds += 1;
    }
    t.check("share request answer/decline/withdraw");
    for c in [a1, a2, b] {
        c.close().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_exports_cannot_both_pass_the_allowance() {
    let net = Network::build();
    let b = net.client(BOB, false).await;
    b.ok(
        "set_sharing",
        json!({"partner": "Alpha", "population": "Customers", "level": "full", "fields": ["*"]}),
    )
    .await;
    b.close().await;
    db(&net.db)
        .execute("UPDATE plans SET export_allowance = 1", [])
        .unwrap();
    let a1 = net.client(ANN, false).await;
    let a2 = net.client(ANN, false).await;
    let base =
        json!({"partner": "Beta", "my_population": "Customers", "partner_population": "Customers"});
    let with = |extra: Value| {
        let mut v = base.clone();
        v.as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        v
    };
    let page = a1
        .ok("account_mapping_report", with(json!({"limit": 1})))
        .await;
    let cursor = page["next_cursor"]
        .as_str()
        .expect("two rows at least")
        .to_string();
    let dir = net.dir.path().to_path_buf();
    let mut t = Tally::default();
    for round in 0..ROUNDS {
        db(&net.db).execute("DELETE FROM exports", []).unwrap();
        let (p1, p2) = (
            dir.join(format!("e{round}a.csv")),
            dir.join(format!("e{round}b.csv")),
        );
        let (x, y) = tokio::join!(
            attempt(&a1, "export_report", with(json!({"path": p1, "limit": 1}))),
            attempt(
                &a2,
                "export_report",
                with(json!({"path": p2, "limit": 1, "cursor": cursor}))
            ),
        );
        if x.is_ok() && y.is_ok() {
            t.double += 1;
        }
        let used: i64 = one(&net.db, "SELECT count(DISTINCT record_id) FROM exports", []);
        let files = p1.exists() as usize + p2.exists() as usize;
        let wins = x.is_ok() as usize + y.is_ok() as usize;
        if used > 1 || files != wins || wins == 0 {
            t.inconsistent.push(format!(
                "round {round}: {wins} succeeded, {files} files, {used} records counted ({x:?} {y:?})"
            ));
        }
        for e in [&x, &y] {
            if let Err(e) = e {
                assert!(e.contains("allowance"), "refused for another reason: {e}");
            }
        }
        t.rounds += 1;
    }
    t.check("exports past the allowance");
    a1.close().await;
    a2.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_invitation_is_accepted_or_withdrawn_consistently() {
    let net = Network::build();
    let a = net.client(ANN, false).await;
    let g = net.client(GUS, false).await;
    let alpha: i64 = one(&net.db, "SELECT id FROM orgs WHERE name = 'Alpha'", []);
    let gamma: i64 = one(&net.db, "SELECT id FROM orgs WHERE name = 'Gamma'", []);
    let status = || -> String {
        one(
            &net.db,
            "SELECT status FROM partnerships WHERE min(org_lo, org_hi) = min(?1, ?2) AND max(org_lo, org_hi) = max(?1, ?2)",
            [alpha, gamma],
        )
    };
    let mut t = Tally::default();
    for round in 0..ROUNDS {
        a.ok("invite_partner", json!({"org": "gamma.org"})).await;
        let (acc, wd) = tokio::join!(
            attempt(
                &g,
                "respond_to_invitation",
                json!({"partner": "Alpha", "accept": true})
            ),
            attempt(&a, "revoke_partnership", json!({"partner": "Gamma"})),
        );
        let end = status();
        // Withdrawn first: the accept fails, the end is revoked. Accepted first: the revoke
        // then ends the active partnership (revoked) — or, had it failed, active.
        let ok = match (acc.is_ok(), wd.is_ok()) {
            (_, true) => end == "revoked",
            (true, false) => end == "active",
            (false, false) => false,
        };
        if !ok {
            t.inconsistent.push(format!(
                "round {round}: accept {:?}, withdraw {:?}, end {end}",
                acc.is_ok(),
                wd.is_ok()
            ));
        }
        // The audit trail's last word on the partnership is its state.
        let last: String = one(
            &net.db,
            "SELECT after FROM audit_events WHERE entity = 'partnership' ORDER BY id DESC LIMIT 1",
            [],
        );
        if !last.contains(&format!("\"{end}\"")) {
            t.inconsistent
                .push(format!("round {round}: ended {end}, audit says {last}"));
        }
        if end == "active" {
            a.ok("revoke_partnership", json!({"partner": "Gamma"}))
                .await;
        }
        t.rounds += 1;
    }
    t.check("invitation accept/withdraw");
    a.close().await;
    g.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_offline_partner_deleted_during_an_upload_leaves_nothing_behind() {
    let net = Network::build();
    db(&net.db)
        .execute("UPDATE plans SET max_offline_partners = NULL", [])
        .unwrap();
    let a1 = net.client(ANN, false).await;
    let a2 = net.client(ANN, false).await;
    let csv = data("delta.csv");
    let mut t = Tally::default();
    for round in 0..ROUNDS {
        let name = format!("Off {round}");
        a1.ok("add_offline_partner", json!({"name": name})).await;
        let (del, up) = tokio::join!(
            attempt(
                &a1,
                "delete_offline_partner",
                json!({"partner": name, "confirm": "DELETE"})
            ),
            attempt(
                &a2,
                "upload_partner_csv",
                json!({"partner": name, "path": csv, "name": "list", "name_column": "Account", "website_column": "URL"})
            ),
        );
        if del.is_err() {
            t.inconsistent
                .push(format!("round {round}: the delete failed: {del:?}"));
        }
        let orphans: i64 = one(
            &net.db,
            "SELECT (SELECT count(*) FROM data_sources WHERE org_id NOT IN (SELECT id FROM orgs))
                  + (SELECT count(*) FROM records WHERE org_id NOT IN (SELECT id FROM orgs))
                  + (SELECT count(*) FROM orgs WHERE name = ?1)",
            [&name],
        );
        if orphans != 0 {
            t.inconsistent
                .push(format!("round {round}: {orphans} rows left ({up:?})"));
        }
        t.rounds += 1;
    }
    t.check("offline delete vs upload");
    a1.close().await;
    a2.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn no_post_lands_on_a_revoked_partnership() {
    let net = Network::build();
    let a = net.client(ANN, false).await;
    let b = net.client(BOB, false).await;
    let t0 = a
        .ok(
            "create_thread",
            json!({"partner": "Beta", "account": "acme.com", "message": "start"}),
        )
        .await;
    let thread = t0["thread"]["id"]
        .as_i64()
        .or_else(|| t0["id"].as_i64())
        .unwrap_or_else(|| panic!("a thread id in {t0}"));
    let mut t = Tally::default();
    for round in 0..ROUNDS {
        let msg = format!("round {round}");
        let (post, rev) = tokio::join!(
            attempt(
                &a,
                "post_to_thread",
                json!({"thread": thread, "message": msg})
            ),
            attempt(&b, "revoke_partnership", json!({"partner": "Alpha"})),
        );
        if rev.is_err() {
            t.inconsistent
                .push(format!("round {round}: the revoke failed: {rev:?}"));
        }
        // A post that succeeded was written while the partnership was active: its audit
        // event comes before the revocation's; one that failed left nothing.
        let stored: i64 = one(
            &net.db,
            "SELECT count(*) FROM thread_messages WHERE body = ?1",
            [&msg],
        );
        let post_at: Option<i64> = db(&net.db)
            .query_row(
                "SELECT e.id FROM audit_events e JOIN thread_messages m
                   ON json_extract(e.after, '$.message_id') = m.id
                 WHERE e.action = 'post_to_thread' AND m.body = ?1",
                [&msg],
                |r| r.get(0),
            )
            .ok();
        let revoked_at: i64 = one(
            &net.db,
            "SELECT max(id) FROM audit_events WHERE action = 'revoke_partnership'",
            [],
        );
        let ok = match (&post, post_at) {
            (Ok(_), Some(at)) => stored == 1 && at < revoked_at,
            (Err(_), None) => stored == 0,
            _ => false,
        };
        if !ok {
            t.inconsistent.push(format!(
                "round {round}: post {:?}, stored {stored}, audit {post_at:?} vs revoke {revoked_at}",
                post.is_ok()
            ));
        }
        a.ok("invite_partner", json!({"org": "beta.io"})).await;
        b.ok(
            "respond_to_invitation",
            json!({"partner": "Alpha", "accept": true}),
        )
        .await;
        t.rounds += 1;
    }
    t.check("thread post vs revoke");
    a.close().await;
    b.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn custom_populations_stay_within_the_plan() {
    let net = Network::build();
    db(&net.db)
        .execute("UPDATE plans SET max_custom_populations = 1", [])
        .unwrap();
    let a1 = net.client(ANN, false).await;
    let a2 = net.client(ANN, false).await;
    let alpha: i64 = one(&net.db, "SELECT id FROM orgs WHERE name = 'Alpha'", []);
    let mut t = Tally::default();
    for round in 0..ROUNDS {
        let f = json!([{"field": "Country", "value": "US"}]);
        let (x, y) = tokio::join!(
            attempt(
                &a1,
                "create_population",
                json!({"name": format!("c{round}a"), "type": "custom", "filters": f})
            ),
            attempt(
                &a2,
                "create_population",
                json!({"name": format!("c{round}b"), "type": "custom", "filters": f})
            ),
        );
        if x.is_ok() && y.is_ok() {
            t.double += 1;
        }
        let n: i64 = one(
            &net.db,
            "SELECT count(*) FROM populations WHERE org_id = ?1 AND type = 'custom'",
            [alpha],
        );
        if n != 1 {
            t.inconsistent.push(format!(
                "round {round}: {n} custom populations ({x:?} {y:?})"
            ));
        }
        // Back to none for the next round.
        db(&net.db)
            .execute(
                "DELETE FROM populations WHERE org_id = ?1 AND type = 'custom'",
                [alpha],
            )
            .unwrap();
        t.rounds += 1;
    }
    t.check("custom populations vs the plan");
    a1.close().await;
    a2.close().await;
}
