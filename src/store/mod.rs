//! SQLite storage: the connection, migrations and queries. No policy lives here: the engine
//! decides who may read or write what, then calls these functions.

pub mod columns;
pub mod crm_sync;
pub mod exports;
pub mod fed_refs;
pub mod federation;
pub mod fx;
mod migrations;
pub mod opportunities;
pub mod orgs;
pub mod partnerships;
pub mod populations;
pub mod records;
pub mod share_requests;
pub mod sharing;
pub mod threads;
pub mod tokens;

pub use migrations::SCHEMA_VERSION;

use rusqlite::{Connection, OptionalExtension, params};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Opens (creating if needed) the database at `path`: WAL, foreign keys, a busy timeout, and
/// migrations up to the current schema. The database is private to the user whatever the umask
/// (SPEC §8): a folder made for it is 0700, the file and its `-wal`/`-shm` 0600 (an existing
/// file with looser permissions is tightened, with a log line).
pub fn open(path: &Path) -> rusqlite::Result<Connection> {
    let memory = path.as_os_str() == ":memory:" || path.as_os_str().is_empty();
    if !memory {
        if let Some(dir) = path.parent()
            && !dir.as_os_str().is_empty()
            && !dir.exists()
        {
            let _ = private_dir(dir);
        }
        if let Some(dir) = path.parent()
            && default_path().parent() == Some(dir)
        {
            private_default_dir(dir);
        }
        create_private(path);
    }
    let mut conn = Connection::open(path)?;
    configure(&conn)?;
    migrations::migrate(&mut conn)?;
    if !memory {
        for suffix in ["", "-wal", "-shm", "-journal"] {
            let mut p = path.as_os_str().to_owned();
            p.push(suffix);
            tighten(Path::new(&p));
        }
    }
    Ok(conn)
}

/// Creates the folder (and its missing parents) readable by the user only.
fn private_dir(dir: &Path) -> std::io::Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)
    }
    #[cfg(not(unix))]
    std::fs::create_dir_all(dir)
}

/// Creates an empty database file with mode 0600 before SQLite opens it (SQLite would create it
/// 0644 under the usual umask; it then gives its side files the database file's mode).
fn create_private(path: &Path) {
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        let _ = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(path);
    }
    #[cfg(not(unix))]
    let _ = path;
}

/// Makes a database file readable and writable by its owner only, if it is looser.
fn tighten(path: &Path) {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let Ok(meta) = std::fs::symlink_metadata(path) else {
            return;
        };
        let mode = meta.permissions().mode() & 0o777;
        if meta.is_file() && mode & 0o077 != 0 {
            match std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode & 0o600)) {
                Ok(()) => tracing::warn!(
                    path = %path.display(),
                    "the database file was readable by other users (mode {mode:o}); it is now 0600"
                ),
                Err(e) => tracing::warn!(
                    path = %path.display(),
                    error = %e,
                    "the database file is readable by other users and could not be made private"
                ),
            }
        }
    }
    #[cfg(not(unix))]
    let _ = path;
}

/// The default data folder, made private (0700) if it is not.
fn private_default_dir(dir: &Path) {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        if let Ok(meta) = std::fs::metadata(dir)
            && meta.is_dir()
            && meta.permissions().mode() & 0o077 != 0
        {
            let _ = std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700));
        }
    }
    #[cfg(not(unix))]
    let _ = dir;
}

fn configure(conn: &Connection) -> rusqlite::Result<()> {
    conn.busy_timeout(Duration::from_secs(30))?;
    // Takes effect only on a new database (before its first table): larger pages make bulk
    // imports and blob reads of key vectors cheaper.
    conn.pragma_update(None, "page_size", 16_384)?;
    conn.pragma_update(None, "journal_mode", "WAL")?;
    conn.pragma_update(None, "synchronous", "NORMAL")?;
    conn.pragma_update(None, "foreign_keys", "ON")?;
    conn.pragma_update(None, "temp_store", "MEMORY")?;
    conn.pragma_update(None, "cache_size", -64_000)?;
    Ok(())
}

/// Where the database lives when neither `--db` nor `PARTNERMAP_DB` says.
pub fn default_path() -> PathBuf {
    directories::ProjectDirs::from("", "", "partnermap")
        .map(|d| d.data_dir().join("partnermap.db"))
        .unwrap_or_else(|| PathBuf::from("partnermap.db"))
}

pub fn meta_get(conn: &Connection, key: &str) -> rusqlite::Result<Option<String>> {
    conn.query_row("SELECT value FROM meta WHERE key = ?1", [key], |r| r.get(0))
        .optional()
}

pub fn meta_set(conn: &Connection, key: &str, value: &str) -> rusqlite::Result<()> {
    conn.execute(
        "INSERT INTO meta (key, value) VALUES (?1, ?2)
         ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        params![key, value],
    )?;
    Ok(())
}

/// The database's fingerprint seed, made at random on first use and kept forever
/// (fingerprints are stored, so the seed may never change).
pub fn fingerprint_seed(conn: &Connection) -> rusqlite::Result<u64> {
    if let Some(v) = meta_get(conn, "fingerprint_seed")?
        && let Ok(seed) = v.parse()
    {
        return Ok(seed);
    }
    let seed: u64 = rand::random();
    conn.execute(
        "INSERT OR IGNORE INTO meta (key, value) VALUES ('fingerprint_seed', ?1)",
        [seed.to_string()],
    )?;
    // Another process may have won the race: read back what is stored.
    Ok(meta_get(conn, "fingerprint_seed")?
        .and_then(|v| v.parse().ok())
        .unwrap_or(seed))
}

/// Sets the database's fingerprint seed, for a reproducible database (the demo derives it from
/// its `--seed`). Refused (returns false, nothing changed) once any record exists, since stored
/// fingerprints depend on it. An engine opened before this call keeps the old seed: reopen it.
pub fn set_fingerprint_seed(conn: &Connection, seed: u64) -> rusqlite::Result<bool> {
    let records: i64 = conn.query_row("SELECT count(*) FROM records", [], |r| r.get(0))?;
    if records > 0 {
        return Ok(false);
    }
    meta_set(conn, "fingerprint_seed", &seed.to_string())?;
    Ok(true)
}

/// One audit event: who, what, when, before and after.
#[allow(clippy::too_many_arguments)]
pub fn audit(
    conn: &Connection,
    at: &str,
    user_id: Option<i64>,
    org_id: Option<i64>,
    action: &str,
    entity: &str,
    entity_id: Option<i64>,
    before: Option<&serde_json::Value>,
    after: Option<&serde_json::Value>,
) -> rusqlite::Result<()> {
    conn.execute(
        "INSERT INTO audit_events (at, user_id, org_id, action, entity, entity_id, before, after)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
        params![
            at,
            user_id,
            org_id,
            action,
            entity,
            entity_id,
            before.map(|v| v.to_string()),
            after.map(|v| v.to_string())
        ],
    )?;
    Ok(())
}

/// A deterministic text dump of every table, row by row (for tests that check that a failed
/// write changed nothing).
pub fn dump(conn: &Connection) -> rusqlite::Result<String> {
    let mut out = String::new();
    let tables: Vec<String> = conn
        .prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")?
        .query_map([], |r| r.get(0))?
        .collect::<Result<_, _>>()?;
    for t in tables {
        out.push_str(&format!("== {t}\n"));
        let mut stmt = conn.prepare(&format!("SELECT * FROM \"{t}\" ORDER BY rowid"))?;
        let n = stmt.column_count();
        let mut rows = stmt.query([])?;
        while let Some(row) = rows.next()? {
            for i in 0..n {
                let v: rusqlite::types::Value = row.get(i)?;
                out.push_str(&format!("{v:?}|"));
            }
            out.push('\n');
        }
    }
    Ok(out)
}

/// Begins a write transaction that takes the write lock at once (`BEGIN IMMEDIATE`), so that a
/// second process writing at the same time waits for the busy timeout instead of failing with
/// "database is locked" when a read inside the transaction would have to upgrade.
///
/// Inside an operation that already holds the write lock (the engine's `atomic`, which began
/// the transaction before reading the state it checks), this joins that transaction: its
/// commit is the outer one's, and an error rolls the whole operation back.
pub fn write_tx(conn: &mut Connection) -> rusqlite::Result<WriteTx<'_>> {
    if conn.is_autocommit() {
        Ok(WriteTx::Own(conn.transaction_with_behavior(
            rusqlite::TransactionBehavior::Immediate,
        )?))
    } else {
        Ok(WriteTx::Joined(conn))
    }
}

/// A write transaction of its own, or a part of the caller's (see [`write_tx`]).
pub enum WriteTx<'c> {
    Own(rusqlite::Transaction<'c>),
    Joined(&'c Connection),
}

impl WriteTx<'_> {
    /// Commits an own transaction; a joined one commits with the operation around it.
    pub fn commit(self) -> rusqlite::Result<()> {
        match self {
            WriteTx::Own(tx) => tx.commit(),
            WriteTx::Joined(_) => Ok(()),
        }
    }
}

impl std::ops::Deref for WriteTx<'_> {
    type Target = Connection;
    fn deref(&self) -> &Connection {
        match self {
            WriteTx::Own(tx) => tx,
            WriteTx::Joined(c) => c,
        }
    }
}

/// A number that grows with every write to the database, from any process: the newest audit
/// event's id (every write is audited in its own transaction).
pub fn change_stamp(conn: &Connection) -> rusqlite::Result<i64> {
    conn.query_row("SELECT coalesce(max(id), 0) FROM audit_events", [], |r| {
        r.get(0)
    })
}
