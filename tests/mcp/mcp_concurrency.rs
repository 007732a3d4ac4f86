//! Issue 8: two `partnermap mcp` processes on one database at once (an assistant and an IDE).
//! One writes (imports of a few thousand rows under new names, populations, sharing settings,
//! thread posts) while the other reads in a loop (overlaps, partners, a report, top partners):
//! no call may surface "database is locked" or "busy", every call succeeds, and no write is lost.
//! The reader also sees the writer's changes: its cached population key vectors are invalidated
//! by writes made in the other process.

use crate::mcp_common;
use mcp_common::*;
use serde_json::{Value, json};
use std::fmt::Write as _;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

const ROWS: usize = 3_000;
const ROUNDS: usize = 5;

fn count(db: &Path, sql: &str) -> i64 {
    let c = rusqlite::Connection::open_with_flags(db, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
        .unwrap();
    c.query_row(sql, [], |r| r.get(0)).unwrap()
}

fn write_csv(path: &Path, round: usize) {
    let mut s = String::from("Company,Website,Type\n");
    for i in 0..ROWS {
        let t = if i % 3 == 0 { "Customer" } else { "Prospect" };
        writeln!(s, "Company {round}-{i},company{round}-{i}.com,{t}").unwrap();
    }
    // every round also holds two of Beta's accounts, so the overlaps change as rounds land
    writeln!(s, "Wayne,wayne.com,Customer\nAcme,acme.com,Customer").unwrap();
    std::fs::write(path, s).unwrap();
}

/// A call that must succeed and must not mention a locked or busy database.
async fn must(c: &Client, tool: &str, args: Value) -> Value {
    match c.raw(tool, args.clone()).await {
        Outcome::Result(r) if r.is_error != Some(true) => r.structured_content.unwrap(),
        Outcome::Result(r) => {
            let t = r.content[0].as_text().unwrap().text.clone();
            let lower = t.to_lowercase();
            assert!(
                !lower.contains("locked") && !lower.contains("busy"),
                "{tool}: the user saw {t:?}"
            );
            panic!("{tool} {args} failed: {t}");
        }
        Outcome::RpcError(e) => panic!("{tool} {args}: JSON-RPC error {e}"),
    }
}

fn cell(v: &Value, mine: &str, theirs: &str) -> u64 {
    cells(v)
        .into_iter()
        .find(|(a, b, _)| a == mine && b == theirs)
        .unwrap_or_else(|| panic!("no cell {mine} x {theirs} in {v}"))
        .2
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_writer_and_a_reader_server_on_one_database() {
    let net = Network::build();
    net.cli(Some(ANN), &["plan", "supernode"]); // room for the custom populations
    let dir = net.dir.path().to_path_buf();
    let writer = net.client(ANN, false).await;
    let reader = net.client(BOB, true).await;

    // Alpha shares its Customers at overlaps so that Beta's report has rows; a thread to post to.
    must(
        &writer,
        "set_sharing",
        json!({"partner": "Beta", "population": "Customers", "level": "overlaps"}),
    )
    .await;
    let t = must(
        &writer,
        "create_thread",
        json!({"partner": "Beta", "account": "acme.com", "message": "start"}),
    )
    .await;
    let thread = t["thread"]["id"]
        .as_i64()
        .unwrap_or_else(|| panic!("thread id in {t}"));
    let msgs_before = count(&net.db, "SELECT count(*) FROM thread_messages");

    for r in 0..ROUNDS {
        write_csv(&dir.join(format!("w{r}.csv")), r);
    }
    let done = Arc::new(AtomicBool::new(false));
    let reads = Arc::new(AtomicUsize::new(0));
    let reader = Arc::new(reader);
    let read_loop = {
        let (done, reads, reader) = (done.clone(), reads.clone(), reader.clone());
        tokio::spawn(async move {
            let mut seen_partner_pops = 0usize;
            while !done.load(Ordering::SeqCst) {
                let o = must(
                    &reader,
                    "get_overlaps",
                    json!({"partner": "Alpha", "limit": 200}),
                )
                .await;
                seen_partner_pops = seen_partner_pops.max(o["total"].as_u64().unwrap() as usize);
                let p = must(&reader, "list_partners", json!({})).await;
                assert_eq!(p["partners"][0]["partner_supplied"]["name"], "Alpha");
                let rep = must(
                    &reader,
                    "account_mapping_report",
                    json!({"partner": "Alpha", "my_population": "Customers", "partner_population": "Customers"}),
                )
                .await;
                assert_eq!(rep["total"], 2, "{rep}"); // acme and hooli
                must(&reader, "top_partners", json!({})).await;
                reads.fetch_add(4, Ordering::SeqCst);
            }
            seen_partner_pops
        })
    };

    let mut writes = 0;
    for r in 0..ROUNDS {
        let path = dir.join(format!("w{r}.csv"));
        let imp = must(
            &writer,
            "import_csv",
            json!({"path": path, "name": format!("w{r}"), "name_column": "Company", "website_column": "Website"}),
        )
        .await;
        assert_eq!(imp["rows_imported"], ROWS + 2);
        must(
            &writer,
            "create_population",
            json!({"name": format!("P{r}"), "type": "custom", "data_source": format!("w{r}"),
                   "filters": [{"field": "Type", "value": "Customer"}]}),
        )
        .await;
        let level = if r % 2 == 0 { "overlaps" } else { "full" };
        must(
            &writer,
            "set_sharing",
            json!({"partner": "Beta", "population": format!("P{r}"), "level": level}),
        )
        .await;
        must(
            &writer,
            "post_to_thread",
            json!({"thread": thread, "message": format!("round {r}")}),
        )
        .await;
        writes += 4;
    }
    // Importing a round again under its name replaces its rows (still no lock error).
    let path = dir.join("w0.csv");
    must(
        &writer,
        "import_csv",
        json!({"path": path, "name": "w0", "name_column": "Company", "website_column": "Website"}),
    )
    .await;
    writes += 1;
    done.store(true, Ordering::SeqCst);
    let seen = read_loop.await.unwrap();
    let reads = reads.load(Ordering::SeqCst);
    assert!(reads >= 8, "the reader ran only {reads} calls");

    // No lost write.
    assert_eq!(
        count(
            &net.db,
            "SELECT count(*) FROM data_sources WHERE name GLOB 'w[0-9]*'"
        ),
        ROUNDS as i64
    );
    assert_eq!(
        count(
            &net.db,
            "SELECT count(*) FROM records r JOIN data_sources s ON s.id = r.source_id WHERE s.name GLOB 'w[0-9]*'"
        ),
        (ROUNDS * (ROWS + 2)) as i64
    );
    assert_eq!(
        count(
            &net.db,
            "SELECT count(*) FROM populations WHERE name GLOB 'P[0-9]*'"
        ),
        ROUNDS as i64
    );
    assert_eq!(
        count(&net.db, "SELECT count(*) FROM thread_messages") - msgs_before,
        ROUNDS as i64
    );
    // The reader sees every new population, each overlapping Beta's Customers on acme and wayne.
    let o = must(
        &reader,
        "get_overlaps",
        json!({"partner": "Alpha", "limit": 200}),
    )
    .await;
    for r in 0..ROUNDS {
        assert_eq!(cell(&o, "Customers", &format!("P{r}")), 2, "{o}");
    }
    eprintln!(
        "concurrency: {writes} writes, {reads} reads at once; the reader saw up to {seen} cells mid-run"
    );
    Arc::try_unwrap(reader).ok().unwrap().close().await;
    writer.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_reader_sees_a_reimport_made_by_the_other_process() {
    let net = Network::build();
    let writer = net.client(ANN, false).await;
    let reader = net.client(BOB, false).await;
    // Beta's view before: its Customers (acme, initech, wayne, hooli) against Alpha's Customers
    // (acme, globex, hooli): acme and hooli. Read first, so the reader's cache holds them.
    let before = must(&reader, "get_overlaps", json!({"partner": "Alpha"})).await;
    assert_eq!(cell(&before, "Customers", "Customers"), 2, "{before}");
    // Alpha re-imports its crm source with wayne.com and initech.com as customers.
    let f = net.dir.path().join("crm2.csv");
    std::fs::write(
        &f,
        "Company,Website,Type\nAcme Corp,acme.com,Customer\nWayne,wayne.com,Customer\nInitech,initech.com,Customer\n",
    )
    .unwrap();
    let imp = must(
        &writer,
        "import_csv",
        json!({"path": f, "name": "crm", "name_column": "Company", "website_column": "Website"}),
    )
    .await;
    assert_eq!(imp["replaced"], true);
    let after = must(&reader, "get_overlaps", json!({"partner": "Alpha"})).await;
    assert_eq!(cell(&after, "Customers", "Customers"), 3, "{after}");
    assert_eq!(cell(&after, "Customers", "Prospects"), 0, "{after}");
    // And the other way round: Beta's writes show up in Alpha's process.
    let f = net.dir.path().join("beta2.csv");
    std::fs::write(&f, "name,website,stage\nAcme,acme.com,Prospect\n").unwrap();
    must(&reader, "import_csv", json!({"path": f, "name": "list"})).await;
    let a = must(&writer, "get_overlaps", json!({"partner": "Beta"})).await;
    assert_eq!(cell(&a, "Customers", "Customers"), 0, "{a}");
    writer.close().await;
    reader.close().await;
}

/// A population deleted in one process and a new one created in its place (SQLite reuses the
/// highest row id) must not be answered from the other process's cache of the old one.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_population_recreated_under_the_same_id_is_not_served_from_cache() {
    let net = Network::build();
    let ide = net.client(ANN, false).await;
    let assistant = net.client(ANN, false).await;
    let dir = net.dir.path();
    let old = dir.join("old.csv");
    std::fs::write(&old, "name,website\nAcme,acme.com\n").unwrap();
    let new = dir.join("new.csv");
    std::fs::write(
        &new,
        "name,website\nGlobex,globex.com\nHooli,hooli.com\nInitech,initech.com\n",
    )
    .unwrap();
    let old_id = setup(&ide, "Old Co", old).await;
    let o = must(&assistant, "get_overlaps", json!({"partner": "Old Co"})).await;
    assert_eq!(cell(&o, "Customers", "Customers"), 1, "{o}"); // acme
    must(
        &ide,
        "delete_offline_partner",
        json!({"partner": "Old Co", "confirm": "DELETE"}),
    )
    .await;
    let new_id = setup(&ide, "New Co", new).await;
    eprintln!("population ids: old {old_id}, new {new_id}");
    let o = must(&assistant, "get_overlaps", json!({"partner": "New Co"})).await;
    assert_eq!(cell(&o, "Customers", "Customers"), 2, "{o}"); // globex, hooli
    assert_eq!(cell(&o, "Prospects", "Customers"), 1, "{o}"); // initech
    // the same in one process
    let o = must(&ide, "get_overlaps", json!({"partner": "New Co"})).await;
    assert_eq!(cell(&o, "Customers", "Customers"), 2, "{o}");
    ide.close().await;
    assistant.close().await;
}

async fn setup(c: &Client, name: &str, file: std::path::PathBuf) -> i64 {
    must(c, "add_offline_partner", json!({"name": name})).await;
    must(
        c,
        "upload_partner_csv",
        json!({"partner": name, "path": file, "name": "list"}),
    )
    .await;
    must(
        c,
        "create_population",
        json!({"name": "Customers", "type": "customers", "partner": name}),
    )
    .await["population"]["id"]
        .as_i64()
        .unwrap()
}
