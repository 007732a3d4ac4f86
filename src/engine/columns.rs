//! Populations at the speed of a column scan (issue 17): each import writes its source's key
//! vector and its fields dictionary-encoded (store/columns.rs); a population's filter is then
//! evaluated once per distinct value and applied to the u32 codes, and its key vector is the
//! source's, restricted to the members (no record read, no JSON parsed, no sort).

use super::filters::{Filter, eval};
use crate::error::Result;
use crate::matching::{Member, PopKeys};
use crate::store;
use crate::store::columns::Column;
use rusqlite::Connection;
use std::borrow::Cow;
use std::collections::HashMap;

/// Fields answered from the record itself, never from its JSON (as in `Record::field_str`).
const RECORD_FIELDS: [&str; 3] = ["name", "website", "domain"];

struct Building {
    values: HashMap<String, u32>,
    col: Column,
}

/// Accumulates a source's columns and key vector while its records are written, in id order.
#[derive(Default)]
pub(crate) struct ColumnsBuilder {
    rows: usize,
    /// Field name as written → column (the common case: the same headers on every row).
    exact: HashMap<String, usize>,
    /// Lower-cased field name → column.
    lower: HashMap<String, usize>,
    cols: Vec<(String, Building)>,
    members: Vec<Member>,
    contiguous: bool,
}

impl ColumnsBuilder {
    pub fn new() -> Self {
        ColumnsBuilder {
            contiguous: true,
            ..Default::default()
        }
    }

    /// Adds the next record (ids must come in increasing order) with its fields.
    pub fn add<'a>(&mut self, m: Member, fields: impl Iterator<Item = (&'a str, Cow<'a, str>)>) {
        if let Some(last) = self.members.last()
            && m.record_id != last.record_id + 1
        {
            self.contiguous = false;
        }
        self.members.push(m);
        for (k, v) in fields {
            let ci = match self.exact.get(k) {
                Some(&i) => i,
                None => {
                    let lk = k.to_ascii_lowercase();
                    if RECORD_FIELDS.contains(&lk.as_str()) {
                        continue;
                    }
                    let i = match self.lower.get(&lk) {
                        Some(&i) => i,
                        None => {
                            let mut b = Building {
                                values: HashMap::new(),
                                col: Column {
                                    dict: vec![String::new()],
                                    codes: vec![0; self.rows],
                                },
                            };
                            b.values.insert(String::new(), 0);
                            self.cols.push((lk.clone(), b));
                            self.lower.insert(lk, self.cols.len() - 1);
                            self.cols.len() - 1
                        }
                    };
                    self.exact.insert(k.to_string(), i);
                    i
                }
            };
            let b = &mut self.cols[ci].1;
            if b.col.codes.len() > self.rows {
                continue; // the first field of that name (any case) wins, as in filters
            }
            let code = match b.values.get(v.as_ref()) {
                Some(&c) => c,
                None => {
                    let c = b.col.dict.len() as u32;
                    b.col.dict.push(v.to_string());
                    b.values.insert(v.into_owned(), c);
                    c
                }
            };
            b.col.codes.push(code);
        }
        self.rows += 1;
        for (_, b) in &mut self.cols {
            if b.col.codes.len() < self.rows {
                b.col.codes.push(0);
            }
        }
    }

    /// Writes the source's side tables. Ids that are not contiguous (never the case for one
    /// import) store no table: populations then fall back to reading the records.
    pub fn finish(self, conn: &Connection, source: i64) -> Result<()> {
        store::columns::clear(conn, source)?;
        if !self.contiguous {
            return Ok(());
        }
        let first = self.members.first().map_or(0, |m| m.record_id);
        let n = self.members.len();
        let keys = PopKeys::new(self.members);
        let cols: Vec<(String, Column)> = self.cols.into_iter().map(|(k, b)| (k, b.col)).collect();
        store::columns::store(conn, source, first, n, &keys.to_blob(), &cols)?;
        Ok(())
    }
}

/// Builds the side tables of a source from its stored records (databases from before them).
fn build_from_records(conn: &Connection, source: i64) -> Result<()> {
    let mut b = ColumnsBuilder::new();
    store::records::for_each_in_source(conn, source, |r| {
        let m = Member {
            record_id: r.id,
            domain: r.domain_fp,
            name: r.name_fp,
        };
        b.add(
            m,
            r.fields.iter().map(|(k, v)| {
                let v: Cow<str> = match v {
                    serde_json::Value::String(s) => Cow::Borrowed(s.as_str()),
                    serde_json::Value::Null => Cow::Borrowed(""),
                    other => Cow::Owned(other.to_string()),
                };
                (k.as_str(), v)
            }),
        );
    })?;
    b.finish(conn, source)
}

/// The source's whole key vector with its first record id and record count (building the side
/// tables first when the source has none); `None` when they cannot serve (ids not contiguous).
pub(crate) fn source_keys(conn: &Connection, source: i64) -> Result<Option<(i64, usize, PopKeys)>> {
    if store::columns::keys(conn, source)?.is_none() {
        build_from_records(conn, source)?;
    }
    Ok(store::columns::keys(conn, source)?
        .map(|(first, n, blob)| (first, n, PopKeys::from_blob(&blob))))
}

/// The records of the source (by position: id − first id) that the filter selects.
pub(crate) fn select(
    conn: &Connection,
    source: i64,
    filter: &Filter,
    n: usize,
) -> Result<Vec<bool>> {
    let mut cache: HashMap<String, Option<Column>> = HashMap::new();
    mask(conn, source, filter, n, &mut cache)
}

fn mask(
    conn: &Connection,
    source: i64,
    f: &Filter,
    n: usize,
    cache: &mut HashMap<String, Option<Column>>,
) -> Result<Vec<bool>> {
    Ok(match f {
        Filter::And(fs) => {
            let mut m = vec![true; n];
            for f in fs {
                let x = mask(conn, source, f, n, cache)?;
                m.iter_mut().zip(x).for_each(|(a, b)| *a &= b);
            }
            m
        }
        Filter::Or(fs) => {
            let mut m = vec![false; n];
            for f in fs {
                let x = mask(conn, source, f, n, cache)?;
                m.iter_mut().zip(x).for_each(|(a, b)| *a |= b);
            }
            m
        }
        Filter::Cond { field, op, value } => {
            let lf = field.to_ascii_lowercase();
            if !cache.contains_key(&lf) {
                let c = if RECORD_FIELDS.contains(&lf.as_str()) {
                    Some(record_column(conn, source, &lf)?)
                } else {
                    store::columns::column(conn, source, &lf)?
                };
                cache.insert(lf.clone(), c);
            }
            match &cache[&lf] {
                // No record has the field: it reads as empty everywhere.
                None => vec![eval("", *op, value); n],
                Some(c) => {
                    let ok: Vec<bool> = c.dict.iter().map(|v| eval(v, *op, value)).collect();
                    c.codes.iter().map(|&k| ok[k as usize]).collect()
                }
            }
        }
    })
}

/// `name`, `website` or `domain` of every record of the source, by id, as a column (one entry
/// per record: these are nearly unique, so they are read when a filter names them).
fn record_column(conn: &Connection, source: i64, field: &str) -> Result<Column> {
    let col = match field {
        "name" => "name",
        "website" => "website",
        _ => "coalesce(domain_key, '')",
    };
    let dict: Vec<String> = conn
        .prepare(&format!(
            "SELECT {col} FROM records WHERE source_id = ?1 ORDER BY id"
        ))?
        .query_map([source], |r| r.get(0))?
        .collect::<rusqlite::Result<_>>()?;
    Ok(Column {
        codes: (0..dict.len() as u32).collect(),
        dict,
    })
}
