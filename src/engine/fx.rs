//! Exchange rates: the current table is the built-in dated table with the stored rows (from
//! `fx update` or `fx set`) over it, currency by currency. Scores always convert with it.

use super::Engine;
use crate::error::{Result, invalid};
use crate::ingest::fx::{self as ingest_fx, BUILTIN, BUILTIN_AS_OF, BUILTIN_SOURCE};
use crate::model::{Actor, Permission};
use crate::store::{self, fx::StoredRate};
use serde::Serialize;
use serde_json::json;
use std::collections::HashMap;
use std::path::Path;

// One rate of the current table.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema, PartialEq)]
#[schemars(inline)]
pub struct FxRate {
    /// ISO currency code.
    #[serde(serialize_with = "crate::shape::as_clean")]
    pub currency: String,
    /// Units of the currency per 1 USD (EUR 0.92 means 1 USD = 0.92 EUR).
    #[serde(serialize_with = "crate::shape::as_sig3")]
    pub per_usd: f64,
    /// The day the rate is from.
    #[serde(serialize_with = "crate::shape::as_clean")]
    pub as_of: String,
    /// built-in, manual, or where an update came from.
    #[serde(serialize_with = "crate::shape::as_clean")]
    pub source: String,
}

/// What an update changed.
#[derive(Debug, Clone, Serialize)]
pub struct FxUpdate {
    pub as_of: String,
    pub source: String,
    pub rates_updated: usize,
}

/// The current table as a lookup: currency code -> units per USD.
#[derive(Debug, Clone)]
pub struct FxTable(HashMap<String, f64>);

impl FxTable {
    pub fn per_usd(&self, currency: &str) -> Option<f64> {
        self.0.get(&currency.to_ascii_uppercase()).copied()
    }
    pub fn knows(&self, currency: &str) -> bool {
        self.per_usd(currency).is_some()
    }
    /// Converts an amount to USD (None for an unknown currency).
    pub fn to_usd(&self, amount: f64, currency: &str) -> Option<f64> {
        self.per_usd(currency).map(|r| amount / r)
    }
    pub fn codes(&self) -> Vec<&str> {
        let mut v: Vec<&str> = self.0.keys().map(String::as_str).collect();
        v.sort_unstable();
        v
    }
}

impl Engine {
    /// The current exchange-rate table, every currency with its date and source.
    pub fn fx_rates(&self) -> Result<Vec<FxRate>> {
        let mut map: HashMap<String, FxRate> = BUILTIN
            .iter()
            .map(|(c, r)| {
                (
                    c.to_string(),
                    FxRate {
                        currency: c.to_string(),
                        per_usd: *r,
                        as_of: BUILTIN_AS_OF.into(),
                        source: BUILTIN_SOURCE.into(),
                    },
                )
            })
            .collect();
        for r in store::fx::all(&self.conn)? {
            map.insert(
                r.currency.clone(),
                FxRate {
                    currency: r.currency,
                    per_usd: r.per_usd,
                    as_of: r.as_of,
                    source: r.source,
                },
            );
        }
        let mut v: Vec<FxRate> = map.into_values().collect();
        v.sort_by(|a, b| a.currency.cmp(&b.currency));
        Ok(v)
    }

    pub fn fx_table(&self) -> Result<FxTable> {
        Ok(FxTable(
            self.fx_rates()?
                .into_iter()
                .map(|r| (r.currency, r.per_usd))
                .collect(),
        ))
    }

    /// Sets one currency's rate (units per 1 USD), dated today.
    pub fn fx_set(&mut self, actor: &Actor, currency: &str, per_usd: f64) -> Result<FxRate> {
        self.require(actor, Permission::ManageDataSources, "set exchange rates")?;
        let code = ingest_fx::currency_code(currency).ok_or_else(|| {
            invalid(format!(
                "'{currency}' is not a currency code: use three letters such as EUR."
            ))
        })?;
        if code == "USD" {
            return Err(invalid("USD is the base currency; its rate is always 1."));
        }
        if !per_usd.is_finite() || per_usd <= 0.0 {
            return Err(invalid(format!(
                "A rate must be a positive number of {code} per 1 USD (e.g. 0.92 for EUR)."
            )));
        }
        let rate = StoredRate {
            currency: code,
            per_usd,
            as_of: self.today().to_string(),
            source: "manual".into(),
        };
        self.write_rates(actor, std::slice::from_ref(&rate), "fx_set")?;
        Ok(FxRate {
            currency: rate.currency,
            per_usd: rate.per_usd,
            as_of: rate.as_of,
            source: rate.source,
        })
    }

    /// Replaces the rates an ECB daily XML document gives (every currency it lists).
    pub fn fx_update_xml(&mut self, actor: &Actor, xml: &str, source: &str) -> Result<FxUpdate> {
        self.require(
            actor,
            Permission::ManageDataSources,
            "update exchange rates",
        )?;
        let (as_of, rates) = ingest_fx::parse_ecb(xml)
            .map_err(|e| invalid(format!("{source}: {e}; the current rates are unchanged.")))?;
        let stored: Vec<StoredRate> = rates
            .into_iter()
            .map(|r| StoredRate {
                currency: r.currency,
                per_usd: r.per_usd,
                as_of: as_of.clone(),
                source: source.to_string(),
            })
            .collect();
        self.write_rates(actor, &stored, "fx_update")?;
        Ok(FxUpdate {
            as_of,
            source: source.to_string(),
            rates_updated: stored.len(),
        })
    }

    /// `fx update --url`: fetches an ECB daily XML document (with a timeout) and applies it.
    pub fn fx_update_url(&mut self, actor: &Actor, url: &str) -> Result<FxUpdate> {
        self.require(
            actor,
            Permission::ManageDataSources,
            "update exchange rates",
        )?;
        let xml = ingest_fx::fetch(url, ingest_fx::FETCH_TIMEOUT)?;
        self.fx_update_xml(actor, &xml, url)
    }

    /// `fx update --file`: applies a saved ECB daily XML file.
    pub fn fx_update_file(&mut self, actor: &Actor, path: &Path) -> Result<FxUpdate> {
        self.require(
            actor,
            Permission::ManageDataSources,
            "update exchange rates",
        )?;
        let xml = std::fs::read_to_string(path).map_err(|e| {
            crate::Error::Io(format!(
                "cannot read {}: {e}. Check the path (an ECB eurofxref-daily.xml file).",
                path.display()
            ))
        })?;
        self.fx_update_xml(actor, &xml, &path.display().to_string())
    }

    fn write_rates(&mut self, actor: &Actor, rates: &[StoredRate], action: &str) -> Result<()> {
        let before: HashMap<String, f64> = self
            .fx_rates()?
            .into_iter()
            .filter(|r| rates.iter().any(|n| n.currency == r.currency))
            .map(|r| (r.currency, r.per_usd))
            .collect();
        let now = self.now_str();
        let tx = store::write_tx(&mut self.conn)?;
        for r in rates {
            store::fx::upsert(&tx, r)?;
        }
        store::audit(
            &tx,
            &now,
            Some(actor.user.id),
            Some(actor.org.id),
            action,
            "fx_rates",
            None,
            Some(&json!(before)),
            Some(&json!(
                rates
                    .iter()
                    .map(|r| (
                        r.currency.clone(),
                        json!({"per_usd": r.per_usd, "as_of": r.as_of, "source": r.source})
                    ))
                    .collect::<serde_json::Map<_, _>>()
            )),
        )?;
        tx.commit()?;
        Ok(())
    }
}
