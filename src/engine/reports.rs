//! Account-mapping reports (SPEC §3) for one matrix cell: the actor's population X × the
//! partner's population Y. Rows are the actor's records in X that overlap Y, with the actor's
//! own fields and the partner's fields exactly as the partner's setting for Y allows; at `full`
//! also Y's records that overlap nothing in X ("greenfield", `my_record` null). At `counts` the
//! report is refused with the reason and the count.
//!
//! Filters, sort and columns name the actor's fields plainly (`country`) and the partner's
//! with a `partner.` prefix (`partner.owner`); a partner field must be one the partner shares.

use super::Engine;
use super::access::{ALL_FIELDS, RecordAccess, VisiblePopulation, list_or_none};
use super::filters::{Filter, compare};
use super::overlaps::PopRef;
use crate::error::{Result, invalid};
use crate::matching::{KeyKind, explain};
use crate::model::{Actor, Record, SharingLevel};
use crate::store;
use serde::Serialize;
use serde_json::{Map, Value};
use std::cmp::Ordering;
use std::collections::HashMap;

/// What a report (or an export) asks for.
#[derive(Debug, Clone, Default)]
pub struct ReportQuery {
    pub partner: String,
    pub my_population: String,
    pub partner_population: String,
    /// Filters (same operators as populations); `partner.<field>` filters the partner's record.
    pub filters: Value,
    /// Columns to show: own fields by name, the partner's as `partner.<field>`. None = all.
    pub columns: Option<Vec<String>>,
    /// A field to sort by, optionally `-field` or `field desc` for descending.
    pub sort: Option<String>,
    pub limit: Option<usize>,
    pub cursor: Option<String>,
}

// One row: the actor's record (None for a greenfield row), the partner's record as shared (None
// when the partner shares no field), and what the two matched on.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
#[schemars(inline)]
pub struct ReportRow {
    /// Your account (id, name, website, ...); absent on a greenfield row (an account only the partner has).
    #[serde(
        skip_serializing_if = "Option::is_none",
        serialize_with = "crate::shape::as_clean_fields_opt"
    )]
    pub my_record: Option<Map<String, Value>>,
    /// What the two accounts matched on ("domain acme.com" or "name acme"); absent on a greenfield row.
    #[serde(
        skip_serializing_if = "Option::is_none",
        serialize_with = "crate::shape::as_clean_opt"
    )]
    pub matched_on: Option<String>,
    /// {partner_record}: the partner's account with only the fields it shares; absent when it shares no field.
    #[serde(
        rename = "partner_supplied",
        skip_serializing_if = "Option::is_none",
        serialize_with = "crate::text::as_record_opt"
    )]
    #[schemars(with = "Option<crate::text::RecordGroup>")]
    pub partner_record: Option<Map<String, Value>>,
    // The partner record behind the row (never shown; counted by exports).
    #[serde(skip)]
    pub(crate) partner_record_id: i64,
}

#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
#[schemars(inline)]
pub struct ReportColumns {
    /// Your columns in `my_record` (id first).
    #[serde(serialize_with = "crate::shape::as_clean_all")]
    pub my_record: Vec<String>,
    /// {partner_record}: the partner's shared columns (filter and sort on them as partner.<field>).
    #[serde(
        rename = "partner_supplied",
        skip_serializing_if = "Vec::is_empty",
        serialize_with = "crate::text::as_columns"
    )]
    #[schemars(with = "crate::text::ColumnsGroup")]
    pub partner_record: Vec<String>,
}

#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct Report {
    /// The partner: {id, partner_supplied: {name}}.
    #[serde(serialize_with = "crate::text::as_ref")]
    #[schemars(with = "crate::text::Ref")]
    pub partner: PopRef,
    /// Your population (the matrix row).
    pub my_population: PopRef,
    /// The partner's population (the matrix column): {id, partner_supplied: {name}}.
    #[serde(serialize_with = "crate::text::as_ref")]
    #[schemars(with = "crate::text::Ref")]
    pub partner_population: PopRef,
    /// The level the partner shares its population with you at: overlaps (its shared fields on matched accounts) or full (also its accounts you do not have).
    #[schemars(with = "String")]
    pub sharing_level: SharingLevel,
    /// The cell's overlap count, as in get_overlaps.
    pub overlap_count: usize,
    /// The partner's accounts in its population that match none of yours (listed at full only).
    #[serde(skip_serializing_if = "crate::shape::is_zero")]
    pub greenfield_count: usize,
    /// Rows after filters, across all pages.
    pub total: usize,
    pub columns: ReportColumns,
    pub rows: Vec<ReportRow>,
    /// Pass as `cursor` (with the same partner, populations, filters, columns and sort) for the next page; absent on the last page.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_cursor: Option<String>,
    /// This page holds fewer rows than `limit` because it grew too large; next_cursor continues.
    #[serde(skip_serializing_if = "crate::shape::is_false")]
    pub truncated: bool,
}

impl Report {
    /// Keeps the rows that fit in `max_bytes` of JSON as served (at least one); `truncated`
    /// says rows were cut. Returns how many rows are kept.
    pub fn fit(&mut self, max_bytes: usize) -> usize {
        let page = self.rows.len();
        let keep = crate::shape::fit(&mut self.rows, max_bytes);
        self.truncated |= keep < page;
        keep
    }
}

pub const DEFAULT_LIMIT: usize = 100;
pub const MAX_LIMIT: usize = 1000;
const PARTNER_PREFIX: &str = "partner.";

/// Splits `partner.x` into `x`.
fn partner_field(name: &str) -> Option<&str> {
    let n = name.trim();
    (n.len() > PARTNER_PREFIX.len()
        && n[..PARTNER_PREFIX.len()].eq_ignore_ascii_case(PARTNER_PREFIX))
    .then(|| &n[PARTNER_PREFIX.len()..])
}

/// The cursor of the report page that starts at row `offset` (what `next_cursor` holds), for
/// callers that page a report their own way (the MCP layer cuts wide pages short).
pub fn encode_cursor(offset: usize) -> String {
    format!("r{offset:x}")
}

pub(crate) fn decode_cursor(c: &str) -> Result<usize> {
    c.strip_prefix('r')
        .and_then(|h| usize::from_str_radix(h, 16).ok())
        .ok_or_else(|| {
            invalid(format!(
                "'{c}' is not a cursor of this report; pass the next_cursor of the previous page, or none for the first page."
            ))
        })
}

/// Cuts one page out of a whole report.
pub(crate) fn page(mut r: Report, limit: usize, cursor: Option<&str>) -> Result<Report> {
    if limit == 0 || limit > MAX_LIMIT {
        return Err(invalid(format!("limit must be between 1 and {MAX_LIMIT}.")));
    }
    let offset = match cursor.map(str::trim).filter(|c| !c.is_empty()) {
        Some(c) => decode_cursor(c)?,
        None => 0,
    };
    let rows: Vec<ReportRow> = r.rows.drain(..).skip(offset).take(limit).collect();
    r.next_cursor = (offset + rows.len() < r.total).then(|| encode_cursor(offset + rows.len()));
    r.rows = rows;
    Ok(r)
}

/// A whole report before paging, for reports and exports.
pub(crate) struct FullReport {
    pub report: Report,
    pub partner_org: i64,
    pub offline: bool,
}

impl Engine {
    /// One page of the account-mapping report for (my_population × partner_population).
    pub fn account_mapping_report(&self, actor: &Actor, q: &ReportQuery) -> Result<Report> {
        let full = self.build_report(actor, q)?;
        page(
            full.report,
            q.limit.unwrap_or(DEFAULT_LIMIT),
            q.cursor.as_deref(),
        )
    }

    /// Every row of the report (filters, columns and sort applied; no paging).
    pub(crate) fn build_report(&self, actor: &Actor, q: &ReportQuery) -> Result<FullReport> {
        let partner = self.resolve_partner(actor, &q.partner)?;
        let vis = self.resolve_partner_population(actor, &partner, &q.partner_population)?;
        let mine = self.resolve_own_population(actor, &q.my_population)?;
        let my_keys = self.pop_keys(mine.id)?;
        let their_keys = self.pop_keys(vis.population.id)?;
        let overlap_count =
            self.cell_overlap_count(&partner, mine.id, &my_keys, &vis, &their_keys)?;
        self.require_records_shared(&partner, &vis, overlap_count)?;

        // Column sets: the actor's fields, and exactly the partner's shared fields.
        let mut my_known: Vec<String> = ["name", "website", "domain"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        my_known.extend(store::sharing::source_field_names(
            &self.conn,
            mine.source_id,
        )?);
        let partner_known = shared_columns(self, &vis)?;
        let (my_cols, partner_cols) = match &q.columns {
            None => (my_known.clone(), partner_known.clone()),
            Some(cols) => {
                let (mut m, mut p) = (Vec::new(), Vec::new());
                for c in cols
                    .iter()
                    .map(|c| c.trim())
                    .filter(|c| !c.is_empty() && !c.eq_ignore_ascii_case("id"))
                {
                    if let Some(f) = partner_field(c) {
                        p.push(pick_column(f, &partner_known, || {
                            not_shared(&partner.org.name, &vis, f, &partner_known)
                        })?);
                    } else {
                        m.push(pick_column(c, &my_known, || {
                            invalid(format!(
                                "Your population '{}' has no column '{c}'. Its columns: {}; the partner's shared columns are named partner.<field>: {}.",
                                mine.name,
                                list_or_none(my_known.iter().cloned()),
                                list_or_none(partner_known.iter().map(|f| format!("partner.{f}")))
                            ))
                        })?);
                    }
                }
                (m, p)
            }
        };

        let filter = Filter::parse(&q.filters)?;
        let unknown_mine = |f: &str| {
            invalid(format!(
                "Your population '{}' has no field '{f}'. Its fields: {}; the partner's shared fields are named partner.<field>: {}.",
                mine.name,
                list_or_none(my_known.iter().cloned()),
                list_or_none(partner_known.iter().map(|f| format!("partner.{f}")))
            ))
        };
        let is_mine = |f: &str| {
            f.eq_ignore_ascii_case("id") || my_known.iter().any(|k| k.eq_ignore_ascii_case(f))
        };
        if let Some(f) = filter
            .fields()
            .into_iter()
            .find(|f| partner_field(f).is_none() && !is_mine(f))
        {
            return Err(unknown_mine(f));
        }
        check_partner_refs(&filter, &mut |f| {
            if partner_known.iter().any(|k| k.eq_ignore_ascii_case(f)) {
                Ok(())
            } else {
                Err(not_shared(&partner.org.name, &vis, f, &partner_known))
            }
        })?;
        let sort = match q.sort.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
            Some(s) => {
                let (field, desc) = parse_sort(s);
                if let Some(f) = partner_field(&field)
                    && !partner_known.iter().any(|k| k.eq_ignore_ascii_case(f))
                {
                    return Err(not_shared(&partner.org.name, &vis, f, &partner_known));
                }
                if partner_field(&field).is_none() && !is_mine(&field) {
                    return Err(unknown_mine(&field));
                }
                Some((field, desc))
            }
            None => None,
        };

        // The rows: matched pairs, then (at full) greenfield records of the partner.
        let pairs = my_keys.overlapping(&their_keys);
        let mut greenfield_ids: Vec<i64> = Vec::new();
        if vis.record_access() == RecordAccess::Everything {
            let met: std::collections::HashSet<i64> =
                their_keys.matched_ids(&my_keys).into_iter().collect();
            greenfield_ids = their_keys
                .record_ids()
                .filter(|id| !met.contains(id))
                .collect();
        }
        let my_ids: Vec<i64> = pairs.iter().map(|m| m.mine.record_id).collect();
        let mut their_ids: Vec<i64> = pairs.iter().map(|m| m.theirs.record_id).collect();
        their_ids.extend(&greenfield_ids);
        let my_recs: HashMap<i64, Record> = store::records::records_by_ids(&self.conn, &my_ids)?
            .into_iter()
            .map(|r| (r.id, r))
            .collect();
        let their_recs: HashMap<i64, Record> =
            store::records::records_by_ids(&self.conn, &their_ids)?
                .into_iter()
                .map(|r| (r.id, r))
                .collect();

        struct Work<'a> {
            mine: Option<&'a Record>,
            theirs: &'a Record,
            matched_on: Option<String>,
            view: Record,
        }
        let mut work: Vec<Work> = Vec::with_capacity(pairs.len() + greenfield_ids.len());
        for p in &pairs {
            let (Some(m), Some(t)) = (
                my_recs.get(&p.mine.record_id),
                their_recs.get(&p.theirs.record_id),
            ) else {
                continue;
            };
            // Fingerprints met; confirm on the key text (a collision is not a match).
            let text = match p.on {
                KeyKind::Domain => (m.domain_key.as_ref(), t.domain_key.as_ref()),
                KeyKind::Name => (m.name_key.as_ref(), t.name_key.as_ref()),
            };
            let Some(text) = text.0.filter(|x| Some(*x) == text.1) else {
                continue;
            };
            work.push(Work {
                mine: Some(m),
                theirs: t,
                matched_on: Some(explain(p.on, text)),
                view: combined(Some(m), t, &vis, &partner_known),
            });
        }
        let matched = work.len();
        for id in &greenfield_ids {
            if let Some(t) = their_recs.get(id) {
                work.push(Work {
                    mine: None,
                    theirs: t,
                    matched_on: None,
                    view: combined(None, t, &vis, &partner_known),
                });
            }
        }
        let greenfield_count = work.len() - matched;
        if !filter.is_empty() {
            work.retain(|w| filter.matches(&w.view));
        }
        // The default order (matched rows by name, then greenfield), then a stable sort by the
        // asked field, so equal keys keep the default order.
        work.sort_by(|x, y| match (x.mine, y.mine) {
            (Some(a), Some(b)) => a
                .name
                .to_lowercase()
                .cmp(&b.name.to_lowercase())
                .then(a.id.cmp(&b.id)),
            (Some(_), None) => Ordering::Less,
            (None, Some(_)) => Ordering::Greater,
            (None, None) => x.theirs.id.cmp(&y.theirs.id),
        });
        if let Some((field, desc)) = &sort {
            work.sort_by(|x, y| {
                let a = x.view.field(field).unwrap_or_default();
                let b = y.view.field(field).unwrap_or_default();
                match (a.trim().is_empty(), b.trim().is_empty()) {
                    (true, true) => Ordering::Equal,
                    (true, false) => Ordering::Greater,
                    (false, true) => Ordering::Less,
                    _ => {
                        let o = compare(&a, &b);
                        if *desc { o.reverse() } else { o }
                    }
                }
            });
        }
        let rows: Vec<ReportRow> = work
            .iter()
            .map(|w| ReportRow {
                my_record: w.mine.map(|m| {
                    let mut o = Map::new();
                    o.insert("id".into(), Value::from(m.id));
                    for c in &my_cols {
                        o.insert(
                            c.clone(),
                            m.field(c).map(Value::String).unwrap_or(Value::Null),
                        );
                    }
                    o
                }),
                partner_record: (!partner_cols.is_empty()).then(|| {
                    partner_cols
                        .iter()
                        .filter(|c| vis.field_allowed(c))
                        .map(|c| {
                            let v = w.theirs.field(c).map(Value::String).unwrap_or(Value::Null);
                            (c.clone(), v)
                        })
                        .collect()
                }),
                matched_on: w.matched_on.clone(),
                partner_record_id: w.theirs.id,
            })
            .collect();
        Ok(FullReport {
            partner_org: partner.org.id,
            offline: partner.is_offline(),
            report: Report {
                partner: PopRef {
                    id: partner.org.id,
                    name: partner.org.name.clone(),
                },
                my_population: PopRef {
                    id: mine.id,
                    name: mine.name.clone(),
                },
                partner_population: PopRef {
                    id: vis.population.id,
                    name: vis.population.name.clone(),
                },
                sharing_level: vis.sharing.level,
                overlap_count,
                greenfield_count,
                total: rows.len(),
                columns: ReportColumns {
                    my_record: std::iter::once("id".to_string()).chain(my_cols).collect(),
                    partner_record: partner_cols,
                },
                rows,
                next_cursor: None,
                truncated: false,
            },
        })
    }
}

/// The partner's shared columns: the fields of its setting (for `*`, every field its records
/// carry).
fn shared_columns(e: &Engine, vis: &VisiblePopulation) -> Result<Vec<String>> {
    let mut out = vis.shared_field_names(None);
    if vis.sharing.fields.iter().any(|f| f == ALL_FIELDS) {
        out.extend(store::sharing::source_field_names(
            &e.conn,
            vis.population.source_id,
        )?);
        let mut seen = std::collections::HashSet::new();
        out.retain(|f| seen.insert(f.to_ascii_lowercase()));
    }
    out.retain(|f| vis.field_allowed(f));
    Ok(out)
}

fn pick_column(name: &str, known: &[String], err: impl FnOnce() -> crate::Error) -> Result<String> {
    known
        .iter()
        .find(|k| k.eq_ignore_ascii_case(name))
        .cloned()
        .ok_or_else(err)
}

fn not_shared(partner: &str, vis: &VisiblePopulation, f: &str, known: &[String]) -> crate::Error {
    invalid(format!(
        "{partner} does not share the field '{f}' of '{}' with you. Fields it shares: {}. Ask for more with create_share_request.",
        vis.population.name,
        list_or_none(known.iter().map(|k| format!("partner.{k}")))
    ))
}

/// Calls `ok` for every `partner.<field>` a filter names.
fn check_partner_refs(f: &Filter, ok: &mut impl FnMut(&str) -> Result<()>) -> Result<()> {
    match f {
        Filter::And(v) | Filter::Or(v) => v.iter().try_for_each(|x| check_partner_refs(x, ok)),
        Filter::Cond { field, .. } => match partner_field(field) {
            Some(p) => ok(p),
            None => Ok(()),
        },
    }
}

/// `name`, `-name`, `name desc`, `name asc`.
fn parse_sort(s: &str) -> (String, bool) {
    let s = s.trim();
    if let Some(f) = s.strip_prefix('-') {
        return (f.trim().to_string(), true);
    }
    let lower = s.to_ascii_lowercase();
    if let Some(f) = lower.strip_suffix(" desc") {
        return (s[..f.len()].trim().to_string(), true);
    }
    if let Some(f) = lower.strip_suffix(" asc") {
        return (s[..f.len()].trim().to_string(), false);
    }
    (s.to_string(), false)
}

/// The row as filters and sort see it: the actor's record, plus the partner's shared fields
/// under `partner.<field>` (nothing the partner does not share).
fn combined(
    mine: Option<&Record>,
    theirs: &Record,
    vis: &VisiblePopulation,
    shared: &[String],
) -> Record {
    let mut fields = mine.map(|m| m.fields.clone()).unwrap_or_default();
    for f in shared {
        if vis.field_allowed(f) {
            fields.insert(
                format!("{PARTNER_PREFIX}{f}"),
                theirs.field(f).map(Value::String).unwrap_or(Value::Null),
            );
        }
    }
    Record {
        id: mine.map(|m| m.id).unwrap_or(0),
        org_id: mine.map(|m| m.org_id).unwrap_or(0),
        source_id: mine.map(|m| m.source_id).unwrap_or(0),
        external_id: None,
        name: mine.map(|m| m.name.clone()).unwrap_or_default(),
        website: mine.map(|m| m.website.clone()).unwrap_or_default(),
        domain_key: mine.and_then(|m| m.domain_key.clone()),
        name_key: mine.and_then(|m| m.name_key.clone()),
        domain_fp: 0,
        name_fp: 0,
        fields,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sort_specs() {
        assert_eq!(parse_sort("name"), ("name".into(), false));
        assert_eq!(parse_sort("-Employees"), ("Employees".into(), true));
        assert_eq!(
            parse_sort("partner.owner DESC"),
            ("partner.owner".into(), true)
        );
        assert_eq!(parse_sort("country asc"), ("country".into(), false));
    }

    #[test]
    fn cursors_round_trip() {
        assert_eq!(decode_cursor(&encode_cursor(250)).unwrap(), 250);
        assert!(decode_cursor("zzz").is_err());
    }

    #[test]
    fn partner_prefix() {
        assert_eq!(partner_field("partner.owner"), Some("owner"));
        assert_eq!(partner_field("Partner.Owner"), Some("Owner"));
        assert_eq!(partner_field("owner"), None);
        assert_eq!(partner_field("partner."), None);
    }
}
