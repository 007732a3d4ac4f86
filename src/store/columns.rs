//! A data source's columnar side tables, written once per import: every record's key
//! fingerprints in key order (`source_keys`: the whole source as one key vector) and each field
//! dictionary-encoded (`source_columns`: the distinct values, and one u32 code per record in id
//! order). Populations are filtered over these without reading a record or parsing its JSON.

use rusqlite::{Connection, OptionalExtension, params};

/// One dictionary-encoded field: `codes[i]` indexes `dict` for the source's i-th record (by id);
/// code 0 is always the empty string (a missing field reads as empty, as in filters).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Column {
    pub dict: Vec<String>,
    pub codes: Vec<u32>,
}

fn dict_blob(dict: &[String]) -> Vec<u8> {
    let mut out = Vec::with_capacity(dict.iter().map(|s| s.len() + 4).sum());
    for s in dict {
        out.extend_from_slice(&(s.len() as u32).to_le_bytes());
        out.extend_from_slice(s.as_bytes());
    }
    out
}

fn dict_of(blob: &[u8]) -> Vec<String> {
    let mut out = Vec::new();
    let mut i = 0;
    while i + 4 <= blob.len() {
        let n = u32::from_le_bytes(blob[i..i + 4].try_into().expect("4 bytes")) as usize;
        let end = (i + 4 + n).min(blob.len());
        out.push(String::from_utf8_lossy(&blob[i + 4..end]).into_owned());
        i = end;
    }
    out
}

/// Replaces the source's side tables: its key vector (a `PopKeys` blob) with the id of its first
/// record and its record count, and its columns (field names lower-cased).
pub fn store(
    conn: &Connection,
    source: i64,
    first_id: i64,
    count: usize,
    keys_blob: &[u8],
    columns: &[(String, Column)],
) -> rusqlite::Result<()> {
    clear(conn, source)?;
    conn.execute(
        "INSERT INTO source_keys (source_id, first_id, record_count, members) VALUES (?1, ?2, ?3, ?4)",
        params![source, first_id, count as i64, keys_blob],
    )?;
    let mut ins = conn.prepare(
        "INSERT INTO source_columns (source_id, field, dict, codes) VALUES (?1, ?2, ?3, ?4)",
    )?;
    for (field, c) in columns {
        let mut codes = Vec::with_capacity(c.codes.len() * 4);
        for k in &c.codes {
            codes.extend_from_slice(&k.to_le_bytes());
        }
        ins.execute(params![source, field, dict_blob(&c.dict), codes])?;
    }
    Ok(())
}

/// Drops the source's side tables (its records are being replaced).
pub fn clear(conn: &Connection, source: i64) -> rusqlite::Result<()> {
    conn.execute("DELETE FROM source_keys WHERE source_id = ?1", [source])?;
    conn.execute("DELETE FROM source_columns WHERE source_id = ?1", [source])?;
    Ok(())
}

/// The source's key vector blob, first record id and record count; `None` when it has no side
/// tables yet (a database from before them: the caller builds them).
pub fn keys(conn: &Connection, source: i64) -> rusqlite::Result<Option<(i64, usize, Vec<u8>)>> {
    conn.query_row(
        "SELECT first_id, record_count, members FROM source_keys WHERE source_id = ?1",
        [source],
        |r| Ok((r.get(0)?, r.get::<_, i64>(1)? as usize, r.get(2)?)),
    )
    .optional()
}

/// One column (field name lower-cased); `None` when no record of the source has that field.
pub fn column(conn: &Connection, source: i64, field: &str) -> rusqlite::Result<Option<Column>> {
    conn.query_row(
        "SELECT dict, codes FROM source_columns WHERE source_id = ?1 AND field = ?2",
        params![source, field],
        |r| {
            let dict = dict_of(r.get_ref(0)?.as_blob()?);
            let codes = r
                .get_ref(1)?
                .as_blob()?
                .chunks_exact(4)
                .map(|c| u32::from_le_bytes(c.try_into().expect("4 bytes")))
                .collect();
            Ok(Column { dict, codes })
        },
    )
    .optional()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dict_round_trip() {
        let d = vec!["".to_string(), "Customer".into(), "ünïcode".into()];
        assert_eq!(dict_of(&dict_blob(&d)), d);
    }
}
