//! Issue 8 (part): crash safety, two processes on one database, and property tests over
//! CSV import (random bytes, ragged rows, huge fields): no panic, a clear error, nothing lost.

use crate::common;
use common::*;
use partnermap::Error;
use partnermap::engine::ImportSpec;
use proptest::prelude::*;
use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn pm(db: &Path) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_partnermap"));
    c.env("PARTNERMAP_DB", db).env_remove("PARTNERMAP_USER");
    c
}

fn big_csv(path: &Path, rows: usize) {
    let mut w = std::io::BufWriter::new(std::fs::File::create(path).unwrap());
    writeln!(w, "name,website,type").unwrap();
    for i in 0..rows {
        writeln!(
            w,
            "Company {i},company{i}.com,{}",
            if i % 3 == 0 { "Customer" } else { "Prospect" }
        )
        .unwrap();
    }
}

fn count(db: &Path, sql: &str) -> i64 {
    let c = rusqlite::Connection::open(db).unwrap();
    c.query_row(sql, [], |r| r.get(0)).unwrap()
}

#[test]
fn sigkill_during_a_large_import_leaves_all_or_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("pm.db");
    let csv = dir.path().join("big.csv");
    const ROWS: usize = 150_000;
    big_csv(&csv, ROWS);
    assert!(
        pm(&db)
            .args([
                "init", "--org", "A", "--domain", "a.com", "--admin", "a@a.com"
            ])
            .status()
            .unwrap()
            .success()
    );
    let mut outcomes = Vec::new();
    for (i, delay_ms) in [50u64, 250, 600, 1500].into_iter().enumerate() {
        let mut child = pm(&db)
            .args([
                "import",
                csv.to_str().unwrap(),
                "--name",
                &format!("big{i}"),
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(Duration::from_millis(delay_ms));
        child.kill().unwrap(); // SIGKILL
        let status = child.wait().unwrap();
        let c = rusqlite::Connection::open(&db).unwrap();
        let ok: String = c
            .query_row("PRAGMA integrity_check", [], |r| r.get(0))
            .unwrap();
        assert_eq!(ok, "ok");
        let n: i64 = c
            .query_row(
                "SELECT count(*) FROM records r JOIN data_sources s ON s.id = r.source_id WHERE s.name = ?1",
                [format!("big{i}")],
                |r| r.get(0),
            )
            .unwrap();
        let sources: i64 = c
            .query_row(
                "SELECT count(*) FROM data_sources WHERE name = ?1",
                [format!("big{i}")],
                |r| r.get(0),
            )
            .unwrap();
        assert!(
            n == 0 || n == ROWS as i64,
            "partial import survived a crash: {n} rows"
        );
        assert_eq!(sources, (n > 0) as i64, "a data source without its rows");
        outcomes.push((delay_ms, status.success(), n));
    }
    // the database still works after the crashes
    let out = pm(&db)
        .args(["import", csv.to_str().unwrap(), "--name", "after", "--json"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        outcomes.iter().any(|o| o.2 == 0),
        "no kill landed mid-import: {outcomes:?}"
    );
    eprintln!("crash outcomes (delay ms, finished, rows): {outcomes:?}");
}

#[test]
fn a_writer_and_a_reader_process_at_once_never_see_a_locked_database() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("pm.db");
    {
        let n = partnered();
        std::fs::copy(n.db_path(), &db).unwrap();
        // copy the WAL too, if the engine has not checkpointed
        let wal = n.db_path().with_extension("db-wal");
        if wal.exists() {
            std::fs::copy(&wal, db.with_extension("db-wal")).unwrap();
        }
    }
    let csv = dir.path().join("mid.csv");
    big_csv(&csv, 20_000);
    let deadline = Instant::now() + Duration::from_secs(60);
    let writer = {
        let db = db.clone();
        let csv = csv.clone();
        std::thread::spawn(move || {
            let mut writes = 0;
            for i in 0..6 {
                let out = pm(&db)
                    .args([
                        "--as",
                        "ann@alpha.com",
                        "import",
                        csv.to_str().unwrap(),
                        "--name",
                        &format!("w{i}"),
                    ])
                    .output()
                    .unwrap();
                assert!(
                    out.status.success(),
                    "writer: {}",
                    String::from_utf8_lossy(&out.stderr)
                );
                writes += 1;
            }
            writes
        })
    };
    let mut reads = 0;
    while !writer.is_finished() && Instant::now() < deadline {
        let out = pm(&db)
            .args(["--as", "bob@beta.io", "overlaps", "Alpha", "--json"])
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "reader: {err}");
        assert!(!err.contains("locked"));
        reads += 1;
    }
    let writes = writer.join().unwrap();
    assert_eq!(writes, 6);
    assert!(reads > 0);
    // no lost write: all six data sources with all their rows
    assert_eq!(
        count(
            &db,
            "SELECT count(*) FROM data_sources WHERE name LIKE 'w%'"
        ),
        6
    );
    assert_eq!(
        count(
            &db,
            "SELECT count(*) FROM records r JOIN data_sources s ON s.id = r.source_id WHERE s.name LIKE 'w%'"
        ),
        6 * 20_000
    );
}

fn import_bytes(n: &mut Net, bytes: &[u8]) -> Result<(usize, usize), Error> {
    let f = n.dir.path().join("fuzz.csv");
    std::fs::write(&f, bytes).unwrap();
    n.engine
        .import_csv(
            &n.alpha,
            &ImportSpec {
                path: f,
                name: "fuzz".into(),
                name_column: "name".into(),
                website_column: "website".into(),
            },
            None,
        )
        .map(|r| (r.rows_imported, r.rows_rejected))
}

fn csv_cell() -> impl Strategy<Value = String> {
    prop_oneof![
        "[a-zA-Z0-9 .,&-]{0,20}",
        Just("=HYPERLINK(\"http://evil\",\"x\")".to_string()),
        Just("\"quoted, with comma\"".to_string()),
        Just("line\nbreak".to_string()),
        Just("ünïcödé ✓".to_string()),
        "[ -~]{0,40}",
        Just("x".repeat(12_000)),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    /// Random bytes: never a panic; a failed import changes nothing.
    #[test]
    fn random_bytes_never_panic_and_failures_change_nothing(bytes in proptest::collection::vec(any::<u8>(), 0..400)) {
        let mut n = two_orgs();
        let before = n.engine.dump().unwrap();
        let mut with_header = b"name,website\n".to_vec();
        with_header.extend_from_slice(&bytes);
        for b in [bytes.clone(), with_header] {
            if import_bytes(&mut n, &b).is_err() {
                prop_assert_eq!(n.engine.dump().unwrap(), before.clone());
            }
        }
    }

    /// Ragged rows, huge fields, formula cells, quotes and line breaks: the good rows import,
    /// the others are reported by line, and nothing panics.
    #[test]
    fn ragged_and_hostile_rows(rows in proptest::collection::vec(proptest::collection::vec(csv_cell(), 0..5), 0..30)) {
        let mut n = two_orgs();
        let mut text = String::from("name,website,notes\n");
        for r in &rows {
            let cells: Vec<String> = r.iter().map(|c| format!("\"{}\"", c.replace('"', "\"\""))).collect();
            text.push_str(&cells.join(","));
            text.push('\n');
        }
        let before = n.engine.dump().unwrap();
        match import_bytes(&mut n, text.as_bytes()) {
            Ok((good, bad)) => {
                let nonblank = rows.iter().filter(|r| !(r.is_empty() || (r.len() == 1 && r[0].trim().is_empty()))).count();
                prop_assert_eq!(good + bad, nonblank);
            }
            Err(e) => {
                prop_assert!(matches!(e, Error::Invalid(_)), "{e:?}");
                prop_assert_eq!(n.engine.dump().unwrap(), before);
            }
        }
    }
}
