//! CSV imports of companies: the actor's own data, or an offline partner's upload.
//! One transaction per import; keys computed once here and stored.

use super::Engine;
use super::populations::refresh_source;
use crate::error::{Result, forbidden, invalid};
use crate::ingest::csv_file::{self, RowError};
use crate::matching::{Keyer, RecordKeys};
use crate::model::{Actor, DataSource, Permission, SourceKind};
use crate::shape;
use crate::store;
use rayon::prelude::*;
use schemars::JsonSchema;
use serde::Serialize;
use serde_json::{Map, Value, json};
use std::path::PathBuf;

#[derive(Debug, Clone)]
pub struct ImportSpec {
    pub path: PathBuf,
    /// The data source's name; importing again under the same name replaces its records.
    pub name: String,
    pub name_column: String,
    pub website_column: String,
}

#[derive(Debug, Clone, Serialize, JsonSchema)]
#[schemars(inline)]
pub struct DataSourceRef {
    pub id: i64,
    #[serde(serialize_with = "shape::as_clean")]
    pub name: String,
}

#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct ImportReport {
    pub data_source: DataSourceRef,
    pub rows_imported: usize,
    pub rows_rejected: usize,
    /// The rejected rows with the reason (at most 200 listed).
    #[serde(
        skip_serializing_if = "Vec::is_empty",
        serialize_with = "shape::as_first"
    )]
    pub errors: Vec<RowError>,
    /// More rejected rows exist than are listed.
    #[serde(skip_serializing_if = "shape::is_false")]
    pub errors_truncated: bool,
    /// Rows kept without a match key (no usable website or name): they never overlap.
    pub rows_without_key: usize,
    /// An existing data source of that name was replaced.
    #[serde(skip_serializing_if = "shape::is_false")]
    pub replaced: bool,
}

impl Engine {
    /// Imports a CSV of companies as the actor's own data source (`partner` = None) or as the
    /// data of an offline partner the actor's org manages.
    pub fn import_csv(
        &mut self,
        actor: &Actor,
        spec: &ImportSpec,
        partner: Option<&str>,
    ) -> Result<ImportReport> {
        self.atomic(|e| e.import_csv_checked(actor, spec, partner))
    }

    /// [`Self::import_csv`], inside its write transaction (state read here is current).
    fn import_csv_checked(
        &mut self,
        actor: &Actor,
        spec: &ImportSpec,
        partner: Option<&str>,
    ) -> Result<ImportReport> {
        let owner = match partner {
            None => {
                self.require(actor, Permission::ManageDataSources, "import data")?;
                actor.org.clone()
            }
            Some(p) => {
                self.require(actor, Permission::ManageDataSources, "upload partner data")?;
                let partner = self.resolve_partner(actor, p)?;
                if !partner.is_offline() {
                    return Err(forbidden(format!(
                        "{} is an online partner: it uploads its own data. You can upload CSV files only for offline partners.",
                        partner.org.name
                    )));
                }
                partner.org
            }
        };
        let (source_name, existing) =
            existing_source(&self.conn, owner.id, &spec.name, SourceKind::Csv)?;
        let source_name = source_name.as_str();
        // Everything that can make the whole file unreadable is checked before any write.
        let table = csv_file::read(&spec.path)?;
        let (name_col, web_col) =
            table.name_and_website(&spec.name_column, &spec.website_column, &spec.path)?;
        let keyer = self.keyer;
        let now = self.now_str();
        let tx = store::write_tx(&mut self.conn)?;
        let source_id = open_source(
            &tx,
            owner.id,
            existing.as_ref(),
            source_name,
            SourceKind::Csv,
            Some(&table.headers[name_col]),
            Some(&table.headers[web_col]),
            &now,
        )?;
        let mut errors = Vec::new();
        let (imported, without_key) = {
            let mut writer = RecordWriter::new(&tx, keyer, owner.id, source_id)?;
            let fields = FieldsWriter::new(&table.headers, &[name_col, web_col]);
            // Pipelined: one thread reads rows and computes keys and field JSON (in parallel,
            // a chunk at a time) while this thread writes the previous chunk to SQLite.
            let (send, recv) = std::sync::mpsc::sync_channel(2);
            std::thread::scope(|scope| -> Result<()> {
                let producer = scope.spawn(|| {
                    let send = send; // moved in: the channel closes when this thread ends
                    let mut rows = table.rows();
                    loop {
                        let chunk: Vec<_> = rows.by_ref().take(IMPORT_CHUNK).collect();
                        if chunk.is_empty() {
                            break;
                        }
                        let prepared: Vec<_> = chunk
                            .into_par_iter()
                            .map(|row| {
                                let (line, values) = row?;
                                let name = values[name_col].as_str();
                                if name.is_empty() {
                                    return Err(RowError {
                                        line,
                                        reason: format!(
                                            "the company name ('{}') is empty",
                                            table.headers[name_col]
                                        ),
                                    });
                                }
                                let keys = keyer.keys(name, &values[web_col]);
                                let json = fields.write(&values);
                                Ok((values, keys, json))
                            })
                            .collect();
                        if send.send(prepared).is_err() {
                            break; // the writer stopped on an error
                        }
                    }
                });
                for prepared in recv {
                    for p in prepared {
                        match p {
                            Ok((values, keys, json)) => {
                                writer.write_keyed(
                                    None,
                                    &values[name_col],
                                    &values[web_col],
                                    &keys,
                                    &json,
                                    table
                                        .headers
                                        .iter()
                                        .zip(&values)
                                        .enumerate()
                                        .filter(|(i, _)| *i != name_col && *i != web_col)
                                        .map(|(_, (h, v))| (h.as_str(), v.as_str().into())),
                                )?;
                            }
                            Err(e) => errors.push(e),
                        }
                    }
                }
                producer.join().expect("the CSV reader thread panicked");
                Ok(())
            })?;
            writer.finish()?
        };
        // A file refused while streaming (not UTF-8, binary, over the size cap): nothing is kept.
        table.finish()?;
        errors.sort_by_key(|e| e.line);
        if imported == 0 {
            // Dropping the transaction rolls back the data source row as well.
            return Err(invalid(format!(
                "{} has no importable row; nothing was imported.{}",
                spec.path.display(),
                errors
                    .iter()
                    .take(5)
                    .map(|e| format!(" Line {}: {}.", e.line, e.reason))
                    .collect::<String>()
            )));
        }
        refresh_source(&tx, source_id)?;
        let source: DataSource = store::records::source(&tx, source_id)?.expect("just written");
        store::audit(
            &tx,
            &now,
            Some(actor.user.id),
            Some(actor.org.id),
            if existing.is_some() {
                "reimport_csv"
            } else {
                "import_csv"
            },
            "data_source",
            Some(source_id),
            None,
            Some(&json!({
                "owner_org": owner.id,
                "name": source.name,
                "path": spec.path.display().to_string(),
                "rows_imported": imported,
                "rows_rejected": errors.len(),
            })),
        )?;
        tx.commit()?;
        Ok(ImportReport {
            data_source: DataSourceRef {
                id: source.id,
                name: source.name,
            },
            rows_imported: imported,
            rows_rejected: errors.len(),
            errors_truncated: errors.len() > shape::MAX_LIST,
            errors,
            rows_without_key: without_key,
            replaced: existing.is_some(),
        })
    }

    /// The actor's data sources (or an offline partner's).
    pub fn data_sources(&self, actor: &Actor, partner: Option<&str>) -> Result<Vec<DataSource>> {
        let org = match partner {
            None => actor.org.id,
            Some(p) => {
                let partner = self.resolve_partner(actor, p)?;
                if !self.owns_data_of(actor, &partner.org) {
                    return Err(forbidden(format!(
                        "The data sources of {} are its own; you see only what it shares.",
                        partner.org.name
                    )));
                }
                partner.org.id
            }
        };
        Ok(store::records::sources_of(&self.conn, org)?)
    }
}

/// Checks a data source name and finds an existing source of that name (to be replaced), failing
/// when it is of another kind. Returns the trimmed name.
pub(super) fn existing_source(
    conn: &rusqlite::Connection,
    owner: i64,
    name: &str,
    kind: SourceKind,
) -> Result<(String, Option<DataSource>)> {
    let name = name.trim();
    if name.is_empty() || name.chars().count() > 100 {
        return Err(invalid(
            "A data source needs a name of 1 to 100 characters.",
        ));
    }
    let existing = store::records::source_by_name(conn, owner, name)?;
    if let Some(s) = &existing
        && s.kind != kind
    {
        return Err(invalid(format!(
            "'{}' is a {} data source; choose another name for the {kind} import.",
            s.name, s.kind
        )));
    }
    Ok((name.to_string(), existing))
}

/// Creates the data source, or clears an existing one for a re-import (its records and, by
/// cascade, their deals), inside the caller's transaction. Returns its id.
#[allow(clippy::too_many_arguments)]
pub(super) fn open_source(
    tx: &rusqlite::Connection,
    owner: i64,
    existing: Option<&DataSource>,
    name: &str,
    kind: SourceKind,
    name_column: Option<&str>,
    website_column: Option<&str>,
    now: &str,
) -> Result<i64> {
    Ok(match existing {
        Some(s) => {
            store::records::clear_source(tx, s.id)?;
            store::records::touch_source(tx, s.id, name_column, website_column, now)?;
            s.id
        }
        None => {
            store::records::insert_source(tx, owner, name, kind, name_column, website_column, now)?
        }
    })
}

/// Writes the records of one import: each match key is computed once, here, and stored.
pub(super) struct RecordWriter<'c> {
    ins: store::records::RecordInserter<'c>,
    conn: &'c rusqlite::Connection,
    source: i64,
    columns: super::columns::ColumnsBuilder,
    keyer: Keyer,
    pub written: usize,
    pub without_key: usize,
}

impl<'c> RecordWriter<'c> {
    pub fn new(
        tx: &'c rusqlite::Connection,
        keyer: Keyer,
        owner: i64,
        source: i64,
    ) -> Result<Self> {
        Ok(RecordWriter {
            ins: store::records::RecordInserter::new(tx, owner, source)?,
            conn: tx,
            source,
            columns: super::columns::ColumnsBuilder::new(),
            keyer,
            written: 0,
            without_key: 0,
        })
    }

    /// Computes the record's key and writes it.
    pub fn write(
        &mut self,
        external_id: Option<&str>,
        name: &str,
        website: &str,
        fields: &Map<String, Value>,
    ) -> Result<i64> {
        let keys = self.keyer.keys(name, website);
        self.write_keyed(
            external_id,
            name,
            website,
            &keys,
            &serde_json::to_string(fields).unwrap_or_default(),
            fields.iter().map(|(k, v)| {
                let v: std::borrow::Cow<str> = match v {
                    Value::String(s) => s.as_str().into(),
                    Value::Null => "".into(),
                    other => other.to_string().into(),
                };
                (k.as_str(), v)
            }),
        )
    }

    /// Writes the source's columnar side tables (after the last record); returns the number
    /// of records written and of those without any key.
    pub fn finish(self) -> Result<(usize, usize)> {
        self.columns.finish(self.conn, self.source)?;
        Ok((self.written, self.without_key))
    }

    /// Writes a record whose key (and field JSON) were computed beforehand (in parallel).
    pub fn write_keyed<'a>(
        &mut self,
        external_id: Option<&str>,
        name: &str,
        website: &str,
        keys: &RecordKeys,
        fields_json: &str,
        fields: impl Iterator<Item = (&'a str, std::borrow::Cow<'a, str>)>,
    ) -> Result<i64> {
        self.without_key += keys.is_empty() as usize;
        self.written += 1;
        let id = self
            .ins
            .insert(external_id, name, website, keys, fields_json)?;
        self.columns.add(
            crate::matching::Member {
                record_id: id,
                domain: keys.domain_fp(),
                name: keys.name_fp(),
            },
            fields,
        );
        Ok(id)
    }
}

/// Rows per parallel chunk of an import.
const IMPORT_CHUNK: usize = 16_384;

/// Writes a row's extra columns as a JSON object, with the keys escaped once up front.
pub(crate) struct FieldsWriter {
    /// (column index, `"Header":`) for every column kept as a field.
    keys: Vec<(usize, String)>,
}

impl FieldsWriter {
    pub(crate) fn new(headers: &[String], skip: &[usize]) -> Self {
        FieldsWriter {
            keys: headers
                .iter()
                .enumerate()
                .filter(|(i, _)| !skip.contains(i))
                .map(|(i, h)| (i, format!("{}:", json_string(h))))
                .collect(),
        }
    }

    pub(crate) fn write(&self, values: &[String]) -> String {
        let mut out = String::with_capacity(16 + self.keys.len() * 24);
        out.push('{');
        for (n, (i, key)) in self.keys.iter().enumerate() {
            if n > 0 {
                out.push(',');
            }
            out.push_str(key);
            out.push_str(&json_string(&values[*i]));
        }
        out.push('}');
        out
    }
}

fn json_string(s: &str) -> String {
    serde_json::to_string(s).unwrap_or_else(|_| "\"\"".into())
}

#[cfg(test)]
mod tests {
    use super::FieldsWriter;

    #[test]
    fn fields_json_is_valid_and_skips_mapped_columns() {
        let headers: Vec<String> = ["name", "Type \"x\"", "website", "Notes"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        let w = FieldsWriter::new(&headers, &[0, 2]);
        let values: Vec<String> = ["Acme", "Customer", "acme.com", "line1\nline2 \\ \u{1}"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        let v: serde_json::Value = serde_json::from_str(&w.write(&values)).unwrap();
        assert_eq!(
            v,
            serde_json::json!({"Type \"x\"": "Customer", "Notes": "line1\nline2 \\ \u{1}"})
        );
    }
}
