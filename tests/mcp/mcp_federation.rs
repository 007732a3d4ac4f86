//! Federation over MCP: invite_partner with remote true gives a code, respond_to_invitation
//! with code accepts it across instances (two processes, two databases, TLS on 127.0.0.1),
//! sync_partner exchanges, and list_partners / get_partner / get_overlaps show the remote
//! partner like any other.

use crate::common;
use crate::mcp_common;
use mcp_common::{ANN, BIN, BOB, connect};
use partnermap::Engine;
use partnermap::engine::InitOrg;
use partnermap::model::{Plan, PopulationType};
use serde_json::json;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

fn instance(dir: &Path, alpha: bool) -> PathBuf {
    let db = dir.join(if alpha { "a.db" } else { "b.db" });
    let mut e = Engine::open(&db).unwrap();
    let (name, domain, admin, file, nc, wc) = if alpha {
        (
            "Alpha",
            "alpha.com",
            ANN,
            "core/alpha.csv",
            "Company",
            "Website",
        )
    } else {
        ("Beta", "beta.io", BOB, "core/beta.csv", "name", "website")
    };
    let a = e
        .init_org(&InitOrg {
            name: name.into(),
            domain: domain.into(),
            admin_email: admin.into(),
            admin_name: None,
            plan: Plan::Connector,
        })
        .unwrap();
    common::import(&mut e, &a, file, "crm", nc, wc);
    common::population(&mut e, &a, "Everyone", PopulationType::Custom, json!([]));
    db
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn remote_invitation_sync_and_status_over_mcp() {
    let dir = tempfile::tempdir().unwrap();
    let a_db = instance(dir.path(), true);
    let b_db = instance(dir.path(), false);
    let mut serve = Command::new(BIN)
        .arg("--db")
        .arg(&a_db)
        .args(["serve", "--peer-listen", "127.0.0.1:0"])
        .env("PARTNERMAP_FED_SYNC_SECS", "0")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(serve.stderr.take().unwrap()).lines();
    loop {
        let l = lines.next().unwrap().unwrap();
        if l.contains("listening on") {
            break;
        }
    }
    std::thread::spawn(move || for _ in lines {});

    let a = connect(&a_db, ANN, &[], false).await;
    let inv = a
        .ok("invite_partner", json!({"remote": true, "expires": "2d"}))
        .await;
    let code = inv["invitation"]["code"].as_str().unwrap().to_string();
    assert!(code.starts_with("pmi1."), "{inv}");
    assert!(inv["partnership"].is_null(), "{inv}");

    let b = connect(&b_db, BOB, &[], false).await;
    let e = b
        .err(
            "respond_to_invitation",
            json!({"code": "pmi1.nope", "accept": true}),
        )
        .await;
    assert!(e.contains("damaged"), "{e}");
    let r = b
        .ok(
            "respond_to_invitation",
            json!({"code": code, "accept": true}),
        )
        .await;
    assert_eq!(r["partnership"]["status"], "active", "{r}");
    assert_eq!(
        r["partnership"]["partner_supplied"]["partner"], "Alpha",
        "{r}"
    );
    let s = b.ok("sync_partner", json!({"partner": "Alpha"})).await;
    assert_eq!(s["results"][0]["reachable"], true, "{s}");
    assert_eq!(s["results"][0]["pending"], 0, "{s}");

    let listed = b.ok("list_partners", json!({})).await;
    let remote = &listed["partners"][0]["remote"];
    assert!(
        remote["instance_id"]
            .as_str()
            .is_some_and(|s| s.contains('-')),
        "{listed}"
    );
    assert_eq!(remote["reachable"], true, "{listed}");
    let detail = b.ok("get_partner", json!({"partner": "Alpha"})).await;
    assert!(detail["remote"]["last_sync"].is_string(), "{detail}");
    let overlaps = b.ok("get_overlaps", json!({"partner": "Alpha"})).await;
    let cells = mcp_common::cells(&overlaps);
    assert_eq!(cells.len(), 1, "{overlaps}");
    assert!(cells[0].2 > 0, "Everyone x Everyone overlaps: {overlaps}");
    // Alpha sees the same partnership from its side.
    let listed = a.ok("list_partners", json!({})).await;
    assert_eq!(
        listed["partners"][0]["partner_supplied"]["name"], "Beta",
        "{listed}"
    );
    assert_eq!(listed["partners"][0]["status"], "active", "{listed}");
    a.close().await;
    b.close().await;
    let _ = serve.kill();
    let _ = serve.wait();
}
