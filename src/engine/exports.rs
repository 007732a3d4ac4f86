//! Exports (SPEC §3, §4): a report written as CSV, counting each distinct partner record
//! exported against the org's record-export allowance for the term (365-day periods from the
//! org's `term_start`). A record counts once per term however often it is exported; past the
//! allowance the export is refused before anything is written.

use super::Engine;
use super::reports::{ReportQuery, page};
use crate::error::{Error, Result, forbidden, invalid, not_found};
use crate::model::Actor;
use crate::store;
use chrono::{DateTime, Duration, SecondsFormat, Utc};
use serde::Serialize;
use serde_json::{Value, json};
use std::collections::BTreeSet;
use std::path::Path;

#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct ExportResult {
    /// The CSV file written.
    #[serde(serialize_with = "crate::shape::as_clean")]
    pub path: String,
    pub rows_written: usize,
    /// Distinct partner accounts in the file.
    pub partner_records: usize,
    /// Of those, the ones not exported before this term: what this export used of the allowance.
    pub newly_counted: usize,
    /// Partner records your plan may export per 365-day term.
    pub allowance: i64,
    pub used_this_term: i64,
    pub allowance_left: i64,
    pub term_start: String,
    pub term_end: String,
}

/// The 365-day term containing `now`, counted from `start`: [from, to).
pub fn term_of(start: &str, now: DateTime<Utc>) -> (DateTime<Utc>, DateTime<Utc>) {
    let start = DateTime::parse_from_rfc3339(start)
        .map(|t| t.with_timezone(&Utc))
        .unwrap_or(now);
    let term = Duration::days(365);
    let k = if now <= start {
        0
    } else {
        (now - start).num_seconds() / term.num_seconds()
    };
    let from = start + term * (k as i32);
    (from, from + term)
}

fn ts(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// Neutralizes spreadsheet formula injection: a cell starting with = + - @ tab or CR gets a
/// leading apostrophe.
pub fn safe_cell(s: &str) -> String {
    match s.chars().next() {
        Some('=' | '+' | '-' | '@' | '\t' | '\r') => format!("'{s}"),
        _ => s.to_string(),
    }
}

fn cell(v: Option<&Value>) -> String {
    match v {
        None | Some(Value::Null) => String::new(),
        Some(Value::String(s)) => safe_cell(&one_line(s)),
        Some(other) => safe_cell(&one_line(&other.to_string())),
    }
}

impl Engine {
    /// Writes the report (all rows, or one page when `limit`/`cursor` are given) as CSV to
    /// `path`, within the export allowance. Records of offline partners (the org's own
    /// uploads) do not count against it.
    pub fn export_report(
        &mut self,
        actor: &Actor,
        q: &ReportQuery,
        path: &Path,
    ) -> Result<ExportResult> {
        if path.as_os_str().is_empty() {
            return Err(invalid("Give a file path to write the CSV to."));
        }
        // A new file only: never over a file, folder, device, pipe or link (renaming onto
        // /dev/null would replace the device; writing through a link would write elsewhere).
        if std::fs::symlink_metadata(path).is_ok() {
            return Err(invalid(format!(
                "'{}' already exists; an export never replaces a file. Choose a new file name.",
                path.display()
            )));
        }
        let dir = match path.parent() {
            Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
            _ => std::path::PathBuf::from("."),
        };
        if !dir.is_dir() {
            return Err(invalid(format!(
                "The folder '{}' does not exist; create it or choose another path.",
                dir.display()
            )));
        }
        self.refuse_database_files(path)?;
        let full = self.build_report(actor, q)?;
        let (partner_org, offline) = (full.partner_org, full.offline);
        let report = if q.limit.is_some() || q.cursor.is_some() {
            page(
                full.report,
                q.limit.unwrap_or(super::reports::DEFAULT_LIMIT),
                q.cursor.as_deref(),
            )?
        } else {
            full.report
        };
        let ids: Vec<i64> = report
            .rows
            .iter()
            .map(|r| r.partner_record_id)
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect();

        // The CSV, built in memory, written to a private temporary file in the same folder
        // and linked into place (never over anything) only once the export is recorded.
        let bytes = csv_bytes(&report)?;
        let mut tmp = tempfile::Builder::new()
            .prefix(".partnermap-export-")
            .suffix(".partial")
            .tempfile_in(&dir)
            .map_err(|e| Error::Io(format!("could not write in '{}': {e}", dir.display())))?;
        {
            use std::io::Write;
            tmp.write_all(&bytes)
                .and_then(|_| tmp.as_file().sync_all())
                .map_err(|e| Error::Io(format!("could not write '{}': {e}", path.display())))?;
        }

        // The allowance is checked, and the export recorded, in one write transaction: two
        // exports at once cannot both pass a check made on the same count.
        let mut linked = false;
        let done = self.atomic(|e| {
            let org = store::orgs::org(&e.conn, actor.org.id)?
                .ok_or_else(|| not_found("Your organization no longer exists."))?;
            let limits = e.plan_limits(org.plan)?;
            let (from, to) = term_of(&org.term_start, e.now());
            let (from_s, to_s) = (ts(from), ts(to));
            let used = store::exports::distinct_in_window(&e.conn, org.id, &from_s, &to_s)?;
            let new_ids: Vec<i64> = if offline {
                Vec::new()
            } else {
                let done =
                    store::exports::already_exported(&e.conn, org.id, &from_s, &to_s, &ids)?;
                ids.iter().copied().filter(|i| !done.contains(i)).collect()
            };
            let left = (limits.export_allowance - used).max(0);
            if new_ids.len() as i64 > left {
                return Err(forbidden(format!(
                    "This export holds {} partner records not yet exported this term, but {} has {left} of its {} record-export allowance left (the {} plan allows {} per term; {used} used; the term runs {} to {}). Nothing was written. Narrow the report with filters or a limit, export records already exported this term, or upgrade the plan.",
                    new_ids.len(),
                    org.name,
                    limits.export_allowance,
                    org.plan,
                    limits.export_allowance,
                    &from_s[..10],
                    &to_s[..10]
                )));
            }
            let now = e.now_str();
            store::exports::record(&e.conn, org.id, partner_org, &new_ids, actor.user.id, &now)?;
            store::audit(
                &e.conn,
                &now,
                Some(actor.user.id),
                Some(actor.org.id),
                "export_report",
                "export",
                None,
                None,
                Some(&json!({
                    "path": path.display().to_string(),
                    "partner_org": partner_org,
                    "my_population": report.my_population.id,
                    "partner_population": report.partner_population.id,
                    "rows": report.rows.len(),
                    "partner_records": ids.len(),
                    "newly_counted": new_ids.len(),
                })),
            )?;
            // Linked into place inside the transaction: if the name was taken meanwhile,
            // nothing is recorded.
            if let Err(err) = tmp.persist_noclobber(path) {
                let taken = err.error.kind() == std::io::ErrorKind::AlreadyExists;
                return Err(if taken {
                    invalid(format!(
                        "'{}' already exists; an export never replaces a file. Choose a new file name.",
                        path.display()
                    ))
                } else {
                    Error::Io(format!("could not write '{}': {}", path.display(), err.error))
                });
            }
            linked = true;
            Ok((limits, used, new_ids, from_s, to_s))
        });
        let (limits, used, new_ids, from_s, to_s) = match done {
            Ok(v) => v,
            Err(err) => {
                // Linked, then the commit failed: the export did not happen.
                if linked {
                    let _ = std::fs::remove_file(path);
                }
                return Err(err);
            }
        };
        let used_now = used + new_ids.len() as i64;
        Ok(ExportResult {
            path: path.display().to_string(),
            rows_written: report.rows.len(),
            partner_records: ids.len(),
            newly_counted: new_ids.len(),
            allowance: limits.export_allowance,
            used_this_term: used_now,
            allowance_left: (limits.export_allowance - used_now).max(0),
            term_start: from_s,
            term_end: to_s,
        })
    }
}

/// The report as CSV: one line per row, formula cells neutralized.
fn csv_bytes(report: &super::reports::Report) -> Result<Vec<u8>> {
    // Every cell quoted (a spreadsheet never reads a cell as a formula or a separator from
    // partner text); line breaks inside cells are replaced, so every row is one line of the file.
    let mut w = csv::WriterBuilder::new()
        .quote_style(csv::QuoteStyle::Always)
        .from_writer(Vec::new());
    let mut header: Vec<String> = report.columns.my_record.clone();
    header.extend(
        report
            .columns
            .partner_record
            .iter()
            .map(|c| format!("partner.{c}")),
    );
    header.push("matched_on".into());
    let io = |e: csv::Error| Error::Io(format!("could not write the CSV: {e}"));
    w.write_record(header.iter().map(|h| safe_cell(&one_line(h))))
        .map_err(io)?;
    for row in &report.rows {
        let mut rec: Vec<String> = report
            .columns
            .my_record
            .iter()
            .map(|c| cell(row.my_record.as_ref().and_then(|m| m.get(c))))
            .collect();
        rec.extend(
            report
                .columns
                .partner_record
                .iter()
                .map(|c| cell(row.partner_record.as_ref().and_then(|m| m.get(c)))),
        );
        rec.push(row.matched_on.clone().unwrap_or_default());
        w.write_record(&rec).map_err(io)?;
    }
    w.into_inner()
        .map_err(|e| Error::Io(format!("could not write the CSV: {e}")))
}

/// Line breaks inside a cell become spaces (a cell never starts a new line of the file).
fn one_line(s: &str) -> String {
    if s.contains(['\r', '\n']) {
        s.replace("\r\n", " ").replace(['\r', '\n'], " ")
    } else {
        s.to_string()
    }
}

impl Engine {
    /// Refuses a path that is the database or one of its side files.
    fn refuse_database_files(&self, path: &Path) -> Result<()> {
        let Some(db) = self.conn.path().filter(|p| !p.is_empty()) else {
            return Ok(());
        };
        let resolve = |p: &Path| -> Option<std::path::PathBuf> {
            let dir = match p.parent() {
                Some(d) if !d.as_os_str().is_empty() => d,
                _ => Path::new("."),
            };
            Some(std::fs::canonicalize(dir).ok()?.join(p.file_name()?))
        };
        let (Some(target), Some(db)) = (resolve(path), resolve(Path::new(db))) else {
            return Ok(());
        };
        let db_s = db.as_os_str().to_string_lossy().into_owned();
        let t = target.as_os_str().to_string_lossy();
        if ["", "-wal", "-shm", "-journal"]
            .iter()
            .any(|sfx| t == format!("{db_s}{sfx}"))
        {
            return Err(invalid(format!(
                "'{}' is partnermap's own database file; choose another path for the export.",
                path.display()
            )));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formula_cells_are_neutralized() {
        for s in ["=1+1", "+1", "-2", "@SUM(A1)", "\tx", "\rx"] {
            assert_eq!(safe_cell(s), format!("'{s}"));
        }
        assert_eq!(safe_cell("Acme"), "Acme");
        assert_eq!(safe_cell(""), "");
    }

    #[test]
    fn terms_are_365_days() {
        let start = "2025-01-01T00:00:00Z";
        let at = |s: &str| DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc);
        let (f, t) = term_of(start, at("2025-06-01T00:00:00Z"));
        assert_eq!(ts(f), "2025-01-01T00:00:00Z");
        assert_eq!(ts(t), "2026-01-01T00:00:00Z");
        let (f, _) = term_of(start, at("2027-01-01T00:00:00Z"));
        assert_eq!(ts(f), "2027-01-01T00:00:00Z");
        // 2028 is a leap year: its term (from 2028-01-01) ends on 2028-12-31, not 2029-01-01.
        let (f, _) = term_of(start, at("2028-12-31T00:00:00Z"));
        assert_eq!(ts(f), "2028-12-31T00:00:00Z");
        let (f, _) = term_of(start, at("2028-12-30T23:59:59Z"));
        assert_eq!(ts(f), "2028-01-01T00:00:00Z");
    }
}
