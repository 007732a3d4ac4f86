//! The CLI as a script would use it: the built binary, `--json`, `--db`/`PARTNERMAP_DB`,
//! `--as`/`PARTNERMAP_USER`, exit codes and error sentences on stderr.

use serde_json::Value;
use std::path::Path;
use std::process::{Command, Output};

fn data(rel: &str) -> String {
    format!("{}/tests/data/{rel}", env!("CARGO_MANIFEST_DIR"))
}

fn pm(db: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_partnermap"))
        .env_remove("PARTNERMAP_USER")
        .env("PARTNERMAP_DB", db)
        .args(args)
        .output()
        .unwrap()
}

fn ok_json(db: &Path, args: &[&str]) -> Value {
    let mut a = args.to_vec();
    a.push("--json");
    let out = pm(db, &a);
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "{args:?}: not JSON ({e}): {}",
            String::from_utf8_lossy(&out.stdout)
        )
    })
}

#[test]
fn walk_through_with_json_output() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("pm.db");
    // no org yet: a clear error saying what to do
    let out = pm(&db, &["whoami"]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("partnermap init"));

    let me = ok_json(
        &db,
        &[
            "init",
            "--org",
            "Alpha",
            "--domain",
            "alpha.com",
            "--admin",
            "ann@alpha.com",
        ],
    );
    assert_eq!(me["org"]["plan"], "connector");
    ok_json(
        &db,
        &[
            "init",
            "--org",
            "Beta",
            "--domain",
            "https://www.beta.io",
            "--admin",
            "bob@beta.io",
            "--plan",
            "supernode",
        ],
    );
    let r = ok_json(
        &db,
        &[
            "import",
            &data("core/alpha.csv"),
            "--name",
            "crm",
            "--name-column",
            "Company",
            "--website-column",
            "Website",
        ],
    );
    assert_eq!(r["rows_imported"], 10);
    ok_json(
        &db,
        &[
            "population",
            "create",
            "--name",
            "Customers",
            "--type",
            "customers",
            "--filter",
            r#"{"field":"type","op":"eq","value":"Customer"}"#,
        ],
    );
    ok_json(
        &db,
        &[
            "--as",
            "bob@beta.io",
            "import",
            &data("core/beta.csv"),
            "--name",
            "list",
        ],
    );
    ok_json(
        &db,
        &[
            "--as",
            "bob@beta.io",
            "population",
            "create",
            "--name",
            "Customers",
            "--type",
            "customers",
            "--filter",
            r#"[{"field":"segment","value":"Customer"}]"#,
        ],
    );
    let p = ok_json(&db, &["invite", "beta.io"]);
    assert_eq!(p["status"], "invited");
    // PARTNERMAP_USER selects the acting user like --as
    let out = Command::new(env!("CARGO_BIN_EXE_partnermap"))
        .env("PARTNERMAP_DB", &db)
        .env("PARTNERMAP_USER", "bob@beta.io")
        .args(["accept", "Alpha", "--json"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let cells = ok_json(&db, &["overlaps", "Beta"]);
    assert_eq!(cells[0]["overlap_count"], 3);
    let cells = ok_json(&db, &["--as", "bob@beta.io", "overlaps", "alpha"]);
    assert_eq!(cells[0]["overlap_count"], 4);
    let partners = ok_json(&db, &["partners", "--status", "active"]);
    assert_eq!(partners.as_array().unwrap().len(), 1);
    let pops = ok_json(&db, &["populations", "--partner", "Beta"]);
    assert_eq!(pops[0]["sharing_level"], "counts");

    // text output for people
    let out = pm(&db, &["overlaps", "Beta"]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("Customers") && text.contains('3'), "{text}");

    // errors: non-zero exit, a sentence on stderr, nothing on stdout
    let out = pm(&db, &["overlaps", "Nobody"]);
    assert!(!out.status.success());
    assert!(out.stdout.is_empty());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("No partner named 'Nobody'. Partners you have: Beta"),
        "{err}"
    );
    let out = pm(&db, &["--as", "who@nowhere.com", "whoami"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("ann@alpha.com") && err.contains("bob@beta.io"),
        "{err}"
    );
    // bad arguments are usage errors (exit 2)
    let out = pm(
        &db,
        &["population", "create", "--name", "x", "--type", "bogus"],
    );
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn logs_never_reach_stdout() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("pm.db");
    let out = Command::new(env!("CARGO_BIN_EXE_partnermap"))
        .env("PARTNERMAP_DB", &db)
        .env("PARTNERMAP_LOG", "trace")
        .args([
            "init", "--org", "A", "--domain", "a.com", "--admin", "a@a.com", "--json",
        ])
        .output()
        .unwrap();
    assert!(out.status.success());
    serde_json::from_slice::<Value>(&out.stdout).expect("stdout is exactly the JSON answer");
    assert!(String::from_utf8_lossy(&out.stderr).contains("opening database"));
}
