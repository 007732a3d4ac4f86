//! Schema migrations, versioned by `PRAGMA user_version`. Append new steps; never edit old ones.

use rusqlite::Connection;

/// Each entry is one migration; its index + 1 is the schema version it brings the database to.
const MIGRATIONS: &[&str] = &[
    // 1: the whole model of SPEC §1.
    r#"
CREATE TABLE meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);

-- Plans are configuration: defaults from SPEC §4, editable in the database. NULL = unlimited.
CREATE TABLE plans (
    name                   TEXT PRIMARY KEY,
    max_offline_partners   INTEGER,
    max_custom_populations INTEGER,
    partner_score          INTEGER NOT NULL,
    export_allowance       INTEGER NOT NULL
);
INSERT INTO plans VALUES
    ('explorer',   1,    0,    0, 100),
    ('connector',  NULL, 3,    1, 5000),
    ('supernode',  NULL, NULL, 1, 25000),
    ('enterprise', NULL, NULL, 1, 100000);

CREATE TABLE orgs (
    id         INTEGER PRIMARY KEY,
    name       TEXT NOT NULL,
    domain     TEXT,
    plan       TEXT NOT NULL REFERENCES plans(name),
    -- an offline partner: the org that created and manages it; NULL for real orgs
    managed_by INTEGER REFERENCES orgs(id) ON DELETE CASCADE,
    term_start TEXT NOT NULL,
    created_at TEXT NOT NULL
);
CREATE INDEX orgs_managed_by ON orgs(managed_by);

CREATE TABLE users (
    id                  INTEGER PRIMARY KEY,
    org_id              INTEGER NOT NULL REFERENCES orgs(id) ON DELETE CASCADE,
    name                TEXT NOT NULL,
    email               TEXT NOT NULL UNIQUE COLLATE NOCASE,
    role                TEXT NOT NULL CHECK (role IN ('admin', 'partner_manager', 'member')),
    manage_data_sources INTEGER NOT NULL DEFAULT 0,
    manage_partnerships INTEGER NOT NULL DEFAULT 0,
    manage_sharing      INTEGER NOT NULL DEFAULT 0,
    created_at          TEXT NOT NULL
);
CREATE INDEX users_org ON users(org_id);

CREATE TABLE data_sources (
    id             INTEGER PRIMARY KEY,
    org_id         INTEGER NOT NULL REFERENCES orgs(id) ON DELETE CASCADE,
    name           TEXT NOT NULL,
    kind           TEXT NOT NULL CHECK (kind IN ('crm', 'csv')),
    name_column    TEXT,
    website_column TEXT,
    created_at     TEXT NOT NULL,
    updated_at     TEXT NOT NULL,
    UNIQUE (org_id, name)
);

-- key_kind: 1 domain, 2 name, NULL no key. key_fp: seeded 64-bit fingerprint of (kind, key).
CREATE TABLE records (
    id          INTEGER PRIMARY KEY,
    org_id      INTEGER NOT NULL REFERENCES orgs(id) ON DELETE CASCADE,
    source_id   INTEGER NOT NULL REFERENCES data_sources(id) ON DELETE CASCADE,
    external_id TEXT,
    name        TEXT NOT NULL,
    website     TEXT NOT NULL DEFAULT '',
    key_kind    INTEGER,
    key_text    TEXT,
    key_fp      INTEGER,
    fields      TEXT NOT NULL DEFAULT '{}'
);
-- Records are found by source (an org's records: the sources of the org). No other index:
-- overlaps never query records by key (they merge stored key vectors), and each index
-- costs every import.
CREATE INDEX records_source ON records(source_id);

CREATE TABLE opportunities (
    id          INTEGER PRIMARY KEY,
    org_id      INTEGER NOT NULL REFERENCES orgs(id) ON DELETE CASCADE,
    source_id   INTEGER NOT NULL REFERENCES data_sources(id) ON DELETE CASCADE,
    record_id   INTEGER NOT NULL REFERENCES records(id) ON DELETE CASCADE,
    external_id TEXT,
    name        TEXT,
    stage       TEXT,
    amount      REAL,
    currency    TEXT,
    open_date   TEXT,
    close_date  TEXT,
    is_won      INTEGER,
    is_closed   INTEGER
);
CREATE INDEX opportunities_record ON opportunities(record_id);
CREATE INDEX opportunities_org ON opportunities(org_id);

-- members: the population's key vector (16 bytes a member: fingerprint, record id; sorted),
-- materialized whenever the population or its source changes; version bumps each time.
CREATE TABLE populations (
    id           INTEGER PRIMARY KEY,
    org_id       INTEGER NOT NULL REFERENCES orgs(id) ON DELETE CASCADE,
    name         TEXT NOT NULL,
    type         TEXT NOT NULL CHECK (type IN ('prospects', 'customers', 'open_opportunities', 'custom')),
    source_id    INTEGER NOT NULL REFERENCES data_sources(id) ON DELETE CASCADE,
    filters      TEXT NOT NULL DEFAULT '[]',
    record_count INTEGER NOT NULL DEFAULT 0,
    members      BLOB NOT NULL DEFAULT x'',
    version      INTEGER NOT NULL DEFAULT 0,
    created_at   TEXT NOT NULL,
    UNIQUE (org_id, name)
);
CREATE INDEX populations_source ON populations(source_id);

-- One partnership, two sides: org_lo < org_hi; inviter_org is the side that (last) invited.
CREATE TABLE partnerships (
    id          INTEGER PRIMARY KEY,
    org_lo      INTEGER NOT NULL REFERENCES orgs(id) ON DELETE CASCADE,
    org_hi      INTEGER NOT NULL REFERENCES orgs(id) ON DELETE CASCADE,
    inviter_org INTEGER NOT NULL REFERENCES orgs(id) ON DELETE CASCADE,
    status      TEXT NOT NULL CHECK (status IN ('invited', 'active', 'declined', 'revoked')),
    created_at  TEXT NOT NULL,
    updated_at  TEXT NOT NULL,
    CHECK (org_lo < org_hi),
    UNIQUE (org_lo, org_hi)
);
CREATE INDEX partnerships_hi ON partnerships(org_hi);

-- Absent row = the default level, 'counts'.
CREATE TABLE sharing_settings (
    owner_org     INTEGER NOT NULL REFERENCES orgs(id) ON DELETE CASCADE,
    partner_org   INTEGER NOT NULL REFERENCES orgs(id) ON DELETE CASCADE,
    population_id INTEGER NOT NULL REFERENCES populations(id) ON DELETE CASCADE,
    level         TEXT NOT NULL CHECK (level IN ('hidden', 'counts', 'overlaps', 'full')),
    fields        TEXT NOT NULL DEFAULT '[]',
    updated_by    INTEGER REFERENCES users(id) ON DELETE SET NULL,
    updated_at    TEXT NOT NULL,
    PRIMARY KEY (owner_org, partner_org, population_id)
);

CREATE TABLE share_requests (
    id            INTEGER PRIMARY KEY,
    requester_org INTEGER NOT NULL REFERENCES orgs(id) ON DELETE CASCADE,
    owner_org     INTEGER NOT NULL REFERENCES orgs(id) ON DELETE CASCADE,
    population_id INTEGER REFERENCES populations(id) ON DELETE CASCADE,
    level         TEXT CHECK (level IN ('counts', 'overlaps', 'full')),
    fields        TEXT NOT NULL DEFAULT '[]',
    message       TEXT NOT NULL DEFAULT '',
    status        TEXT NOT NULL CHECK (status IN ('pending', 'approved', 'declined', 'withdrawn')),
    created_by    INTEGER REFERENCES users(id) ON DELETE SET NULL,
    responded_by  INTEGER REFERENCES users(id) ON DELETE SET NULL,
    created_at    TEXT NOT NULL,
    updated_at    TEXT NOT NULL
);
CREATE INDEX share_requests_owner ON share_requests(owner_org);
CREATE INDEX share_requests_requester ON share_requests(requester_org);

-- Each distinct partner record exported, per exporting org; the allowance counts distinct
-- record ids exported inside the current 365-day term.
CREATE TABLE exports (
    id          INTEGER PRIMARY KEY,
    org_id      INTEGER NOT NULL REFERENCES orgs(id) ON DELETE CASCADE,
    partner_org INTEGER NOT NULL REFERENCES orgs(id) ON DELETE CASCADE,
    record_id   INTEGER NOT NULL,
    exported_at TEXT NOT NULL,
    user_id     INTEGER REFERENCES users(id) ON DELETE SET NULL
);
CREATE INDEX exports_org_time ON exports(org_id, exported_at);

CREATE TABLE threads (
    id          INTEGER PRIMARY KEY,
    org_a       INTEGER NOT NULL REFERENCES orgs(id) ON DELETE CASCADE,
    org_b       INTEGER NOT NULL REFERENCES orgs(id) ON DELETE CASCADE,
    record_id   INTEGER REFERENCES records(id) ON DELETE SET NULL,
    account     TEXT NOT NULL,
    created_by  INTEGER REFERENCES users(id) ON DELETE SET NULL,
    created_at  TEXT NOT NULL,
    updated_at  TEXT NOT NULL
);
CREATE TABLE thread_messages (
    id         INTEGER PRIMARY KEY,
    thread_id  INTEGER NOT NULL REFERENCES threads(id) ON DELETE CASCADE,
    user_id    INTEGER REFERENCES users(id) ON DELETE SET NULL,
    body       TEXT NOT NULL,
    created_at TEXT NOT NULL
);
CREATE TABLE thread_owners (
    thread_id INTEGER NOT NULL REFERENCES threads(id) ON DELETE CASCADE,
    user_id   INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    PRIMARY KEY (thread_id, user_id)
);

-- Exchange rates: units of the currency per 1 USD, dated.
CREATE TABLE fx_rates (
    currency TEXT PRIMARY KEY,
    per_usd  REAL NOT NULL CHECK (per_usd > 0),
    as_of    TEXT NOT NULL,
    source   TEXT NOT NULL
);

CREATE TABLE audit_events (
    id        INTEGER PRIMARY KEY,
    at        TEXT NOT NULL,
    user_id   INTEGER,
    org_id    INTEGER,
    action    TEXT NOT NULL,
    entity    TEXT NOT NULL,
    entity_id INTEGER,
    before    TEXT,
    after     TEXT
);
CREATE INDEX audit_org ON audit_events(org_id, at);
"#,
    // 2: CRM connectors (SPEC §11): one connection per org. Never a token: only the name of the
    // environment variable that holds it. `cursors` holds each object's last-modified
    // high-water mark, written in the same transaction as the synced data.
    r#"
CREATE TABLE crm_connections (
    org_id            INTEGER PRIMARY KEY REFERENCES orgs(id) ON DELETE CASCADE,
    kind              TEXT NOT NULL CHECK (kind IN ('hubspot', 'salesforce')),
    instance_url      TEXT,
    token_env         TEXT,
    source_name       TEXT NOT NULL,
    field_map         TEXT NOT NULL DEFAULT '{}',
    cursors           TEXT NOT NULL DEFAULT '{}',
    last_sync_at      TEXT,
    last_full_sync_at TEXT,
    last_sync         TEXT,
    accounts          INTEGER NOT NULL DEFAULT 0,
    opportunities     INTEGER NOT NULL DEFAULT 0,
    created_at        TEXT NOT NULL,
    updated_at        TEXT NOT NULL
);
"#,
    // 3: bearer tokens for remote MCP (`partnermap serve`): only the SHA-256 of each token.
    r#"
CREATE TABLE api_tokens (
    id           INTEGER PRIMARY KEY,
    user_id      INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    name         TEXT NOT NULL UNIQUE,
    token_hash   TEXT NOT NULL UNIQUE,
    created_at   TEXT NOT NULL,
    expires_at   TEXT,
    revoked_at   TEXT,
    last_used_at TEXT
);
CREATE INDEX api_tokens_user ON api_tokens(user_id);
"#,
    // 4: partnerships across instances (FEDERATION.md): this instance's identity, remote
    // invitations, one link per remote partner, the outbox, and what partners released.
    r#"
CREATE TABLE fed_identity (
    id          INTEGER PRIMARY KEY CHECK (id = 1),
    cert_der    BLOB NOT NULL,
    key_der     BLOB NOT NULL,
    instance_id BLOB NOT NULL,
    created_at  TEXT NOT NULL
);

-- A remote invitation: only the SHA-256 of its secret is kept; used once, until it expires.
CREATE TABLE fed_invites (
    id          INTEGER PRIMARY KEY,
    org_id      INTEGER NOT NULL REFERENCES orgs(id) ON DELETE CASCADE,
    secret_hash BLOB NOT NULL UNIQUE,
    expires_at  TEXT NOT NULL,
    status      TEXT NOT NULL CHECK (status IN ('open', 'used', 'declined')),
    created_by  INTEGER REFERENCES users(id) ON DELETE SET NULL,
    created_at  TEXT NOT NULL,
    used_by     BLOB
);

-- One remote partner of one local org: the org row standing for it, its pinned instance id,
-- where to reach it, the partnership's secrets, and the state of the message streams.
CREATE TABLE fed_links (
    id               INTEGER PRIMARY KEY,
    local_org        INTEGER NOT NULL REFERENCES orgs(id) ON DELETE CASCADE,
    remote_org       INTEGER NOT NULL UNIQUE REFERENCES orgs(id) ON DELETE CASCADE,
    remote_instance  BLOB NOT NULL,
    remote_url       TEXT,
    remote_link      INTEGER NOT NULL,
    psi_scalar       BLOB,
    oprf_key         BLOB,
    out_seq          INTEGER NOT NULL DEFAULT 0,
    out_acked        INTEGER NOT NULL DEFAULT 0,
    in_seq           INTEGER NOT NULL DEFAULT 0,
    snapshot_hash    TEXT,
    query_hash       TEXT,
    oprf_hash        TEXT,
    last_snapshot    BLOB,
    last_oprf        BLOB,
    last_sync        TEXT,
    last_attempt     TEXT,
    last_error       TEXT,
    failures         INTEGER NOT NULL DEFAULT 0,
    next_attempt     TEXT,
    evals_day        TEXT,
    evals_used       INTEGER NOT NULL DEFAULT 0,
    declared_records INTEGER NOT NULL DEFAULT 0,
    remote_version   TEXT,
    created_at       TEXT NOT NULL,
    UNIQUE (local_org, remote_instance)
);

-- Messages to a remote partner, numbered per link, kept until acknowledged.
CREATE TABLE fed_outbox (
    link_id    INTEGER NOT NULL REFERENCES fed_links(id) ON DELETE CASCADE,
    seq        INTEGER NOT NULL,
    kind       TEXT NOT NULL,
    body       BLOB NOT NULL,
    created_at TEXT NOT NULL,
    PRIMARY KEY (link_id, seq)
);

-- The partner's populations as mirrored here (its reference -> our population row).
CREATE TABLE fed_pops (
    link_id       INTEGER NOT NULL REFERENCES fed_links(id) ON DELETE CASCADE,
    remote_ref    INTEGER NOT NULL,
    population_id INTEGER NOT NULL REFERENCES populations(id) ON DELETE CASCADE,
    points        BLOB NOT NULL DEFAULT x'',
    PRIMARY KEY (link_id, remote_ref)
);

-- Our counts queries' answers: for each of our populations, the sorted multiset x*b.
CREATE TABLE fed_answers (
    link_id       INTEGER NOT NULL REFERENCES fed_links(id) ON DELETE CASCADE,
    population_id INTEGER NOT NULL REFERENCES populations(id) ON DELETE CASCADE,
    points        BLOB NOT NULL,
    PRIMARY KEY (link_id, population_id)
);

-- Overlap counts computed by PSI cardinality: (our population, the partner's mirrored one).
CREATE TABLE fed_counts (
    link_id      INTEGER NOT NULL REFERENCES fed_links(id) ON DELETE CASCADE,
    my_pop       INTEGER NOT NULL REFERENCES populations(id) ON DELETE CASCADE,
    their_pop    INTEGER NOT NULL REFERENCES populations(id) ON DELETE CASCADE,
    count        INTEGER NOT NULL,
    PRIMARY KEY (my_pop, their_pop)
);

-- Our pending OPRF query: the blinding scalar and the keys, in the order sent.
CREATE TABLE fed_oprf_pending (
    link_id INTEGER NOT NULL REFERENCES fed_links(id) ON DELETE CASCADE,
    qid     INTEGER NOT NULL,
    blind   BLOB NOT NULL,
    keys    TEXT NOT NULL,
    PRIMARY KEY (link_id, qid)
);
"#,
    // 5: two match keys per record (SPEC §2 rewritten): a domain key and a name key, each with
    // its fingerprint; the keys themselves are recomputed from name and website by
    // `rekey_records` right after this step, and every population re-materialized at the next
    // open (the `populations_stale` flag). Point lookups (account_lookup, search, threads) go
    // through the two fingerprint indexes.
    r#"
ALTER TABLE records ADD COLUMN domain_key TEXT;
ALTER TABLE records ADD COLUMN domain_fp INTEGER;
ALTER TABLE records ADD COLUMN name_key TEXT;
ALTER TABLE records ADD COLUMN name_fp INTEGER;
ALTER TABLE records DROP COLUMN key_kind;
ALTER TABLE records DROP COLUMN key_text;
ALTER TABLE records DROP COLUMN key_fp;
CREATE INDEX records_org_domain ON records(org_id, domain_fp) WHERE domain_fp IS NOT NULL;
CREATE INDEX records_org_name ON records(org_id, name_fp) WHERE name_fp IS NOT NULL;

-- Columnar side tables of a data source, written once per import (store/columns.rs):
-- populations are filtered over these at the speed of a column scan.
CREATE TABLE source_keys (
    source_id    INTEGER PRIMARY KEY REFERENCES data_sources(id) ON DELETE CASCADE,
    first_id     INTEGER NOT NULL,
    record_count INTEGER NOT NULL,
    members      BLOB NOT NULL
);
-- A population's key vector lives in a table of its own: in `populations` the blob sat before
-- `version`, and every read of the version walked the blob's overflow pages (megabytes).
CREATE TABLE population_members (
    population_id INTEGER PRIMARY KEY REFERENCES populations(id) ON DELETE CASCADE,
    members       BLOB NOT NULL
);
UPDATE populations SET members = x'';
CREATE TABLE source_columns (
    source_id INTEGER NOT NULL REFERENCES data_sources(id) ON DELETE CASCADE,
    field     TEXT NOT NULL,
    dict      BLOB NOT NULL,
    codes     BLOB NOT NULL,
    PRIMARY KEY (source_id, field)
);
"#,
    // 6: what a remote partner's messages made here (FEDERATION.md, "everything else a
    // partnership has"): its users, share requests and threads, by the partner's reference.
    r#"
CREATE TABLE fed_refs (
    link_id    INTEGER NOT NULL REFERENCES fed_links(id) ON DELETE CASCADE,
    kind       TEXT NOT NULL CHECK (kind IN ('user', 'request', 'thread')),
    remote_ref INTEGER NOT NULL,
    local_id   INTEGER NOT NULL,
    PRIMARY KEY (link_id, kind, remote_ref)
);
CREATE INDEX fed_refs_local ON fed_refs(link_id, kind, local_id);
ALTER TABLE fed_links ADD COLUMN users_hash TEXT;
"#,
];

/// The schema version whose step changed the keys: after it, every record's keys are computed
/// again (in the same transaction).
const REKEY_AT: usize = 5;

/// The schema version this binary writes.
pub const SCHEMA_VERSION: i64 = MIGRATIONS.len() as i64;

/// Computes both keys of every record again from its name and website (old databases: the
/// rewritten matching rule) and marks every population for re-materialization.
fn rekey_records(conn: &Connection) -> rusqlite::Result<()> {
    let n: i64 = conn.query_row("SELECT count(*) FROM records", [], |r| r.get(0))?;
    if n == 0 {
        return Ok(());
    }
    let keyer = crate::matching::Keyer::new(super::fingerprint_seed(conn)?);
    let rows: Vec<(i64, String, String)> = conn
        .prepare("SELECT id, name, website FROM records")?
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?
        .collect::<rusqlite::Result<_>>()?;
    let mut upd = conn.prepare(
        "UPDATE records SET domain_key = ?2, domain_fp = ?3, name_key = ?4, name_fp = ?5 WHERE id = ?1",
    )?;
    for (id, name, website) in rows {
        let k = keyer.keys(&name, &website);
        upd.execute(rusqlite::params![
            id,
            k.domain.as_ref().map(|k| k.text.as_str()),
            k.domain.as_ref().map(|k| k.fp as i64),
            k.name.as_ref().map(|k| k.text.as_str()),
            k.name.as_ref().map(|k| k.fp as i64),
        ])?;
    }
    super::meta_set(conn, "populations_stale", "1")
}

/// Brings the database up to `SCHEMA_VERSION`, each step in its own transaction.
pub fn migrate(conn: &mut Connection) -> rusqlite::Result<()> {
    let current: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
    if current > SCHEMA_VERSION {
        return Err(rusqlite::Error::InvalidParameterName(format!(
            "the database has schema version {current}, newer than this partnermap ({SCHEMA_VERSION}); upgrade partnermap"
        )));
    }
    for (i, sql) in MIGRATIONS.iter().enumerate().skip(current as usize) {
        let tx = conn.transaction()?;
        tx.execute_batch(sql)?;
        if i + 1 == REKEY_AT {
            rekey_records(&tx)?;
        }
        tx.pragma_update(None, "user_version", (i + 1) as i64)?;
        tx.commit()?;
    }
    Ok(())
}
