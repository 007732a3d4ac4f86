//! Stored exchange rates (units per 1 USD). Rows override the built-in table currency by currency.

use rusqlite::{Connection, params};

#[derive(Debug, Clone, PartialEq)]
pub struct StoredRate {
    pub currency: String,
    pub per_usd: f64,
    pub as_of: String,
    pub source: String,
}

pub fn all(conn: &Connection) -> rusqlite::Result<Vec<StoredRate>> {
    conn.prepare("SELECT currency, per_usd, as_of, source FROM fx_rates ORDER BY currency")?
        .query_map([], |r| {
            Ok(StoredRate {
                currency: r.get(0)?,
                per_usd: r.get(1)?,
                as_of: r.get(2)?,
                source: r.get(3)?,
            })
        })?
        .collect()
}

pub fn upsert(conn: &Connection, r: &StoredRate) -> rusqlite::Result<()> {
    conn.execute(
        "INSERT INTO fx_rates (currency, per_usd, as_of, source) VALUES (?1, ?2, ?3, ?4)
         ON CONFLICT (currency) DO UPDATE
           SET per_usd = excluded.per_usd, as_of = excluded.as_of, source = excluded.source",
        params![r.currency, r.per_usd, r.as_of, r.source],
    )?;
    Ok(())
}
