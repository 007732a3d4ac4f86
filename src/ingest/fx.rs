//! Exchange rates from outside: the built-in dated table, the ECB daily XML format
//! (`eurofxref-daily.xml`, rates per EUR, converted here to units per USD), and fetching it.

use crate::error::{Error, Result, invalid};
use quick_xml::events::Event;
use std::time::Duration;

/// The date of the built-in table.
pub const BUILTIN_AS_OF: &str = "2025-11-14";
pub const BUILTIN_SOURCE: &str = "built-in";

/// Units of each currency per 1 USD (mid-November 2025, rounded).
pub const BUILTIN: &[(&str, f64)] = &[
    ("USD", 1.0),
    ("EUR", 0.86),
    ("GBP", 0.76),
    ("JPY", 154.5),
    ("CAD", 1.40),
    ("AUD", 1.53),
    ("CHF", 0.80),
    ("SEK", 9.45),
    ("NOK", 10.10),
    ("DKK", 6.42),
    ("PLN", 3.65),
    ("CZK", 20.85),
    ("HUF", 331.0),
    ("RON", 4.37),
    ("BGN", 1.68),
    ("ISK", 127.0),
    ("TRY", 42.2),
    ("CNY", 7.10),
    ("HKD", 7.77),
    ("SGD", 1.30),
    ("INR", 88.6),
    ("KRW", 1458.0),
    ("IDR", 16700.0),
    ("MYR", 4.15),
    ("PHP", 58.9),
    ("THB", 32.4),
    ("NZD", 1.77),
    ("BRL", 5.30),
    ("MXN", 18.35),
    ("ZAR", 17.25),
    ("ILS", 3.25),
];

/// One rate: units of `currency` per 1 USD.
#[derive(Debug, Clone, PartialEq)]
pub struct Rate {
    pub currency: String,
    pub per_usd: f64,
}

/// A currency code: three ASCII letters, upper-cased.
pub fn currency_code(text: &str) -> Option<String> {
    let t = text.trim();
    (t.len() == 3 && t.chars().all(|c| c.is_ascii_alphabetic())).then(|| t.to_ascii_uppercase())
}

/// Parses the ECB daily reference-rate XML: `<Cube time="YYYY-MM-DD"><Cube currency="USD"
/// rate="1.08"/>…`. Returns the date and the rates per USD (EUR included, USD = 1).
pub fn parse_ecb(xml: &str) -> Result<(String, Vec<Rate>)> {
    let mut reader = quick_xml::Reader::from_str(xml);
    let mut date: Option<String> = None;
    let mut per_eur: Vec<(String, f64)> = Vec::new();
    loop {
        match reader.read_event() {
            Ok(Event::Start(e)) | Ok(Event::Empty(e)) if e.local_name().as_ref() == "Cube" => {
                let (mut time, mut cur, mut rate) = (None, None, None);
                for a in e.attributes().flatten() {
                    let v = a.value.trim().to_string();
                    match a.key.local_name().as_ref() {
                        "time" => time = Some(v),
                        "currency" => cur = Some(v),
                        "rate" => rate = Some(v),
                        _ => {}
                    }
                }
                if let Some(t) = time
                    && date.is_none()
                {
                    date = Some(t);
                }
                if let (Some(c), Some(r)) = (cur, rate) {
                    let code = currency_code(&c).ok_or_else(|| {
                        invalid(format!("the rate file names a bad currency code '{c}'"))
                    })?;
                    let v: f64 = r
                        .parse()
                        .ok()
                        .filter(|v: &f64| v.is_finite() && *v > 0.0)
                        .ok_or_else(|| {
                            invalid(format!("the rate file gives {code} a bad rate '{r}'"))
                        })?;
                    per_eur.push((code, v));
                }
            }
            Ok(Event::Eof) => break,
            Ok(_) => {}
            Err(e) => {
                return Err(invalid(format!(
                    "the rate file is not valid XML (at byte {}): {e}",
                    reader.buffer_position()
                )));
            }
        }
    }
    let date = date.ok_or_else(|| {
        invalid("the rate file has no <Cube time=\"…\"> element: it is not in the ECB daily format")
    })?;
    if chrono::NaiveDate::parse_from_str(&date, "%Y-%m-%d").is_err() {
        return Err(invalid(format!(
            "the rate file's date '{date}' is not YYYY-MM-DD"
        )));
    }
    let usd_per_eur = per_eur
        .iter()
        .find(|(c, _)| c == "USD")
        .map(|(_, r)| *r)
        .ok_or_else(|| {
            invalid("the rate file has no USD rate, so no rate per USD can be derived from it")
        })?;
    let mut out = vec![
        Rate {
            currency: "USD".into(),
            per_usd: 1.0,
        },
        Rate {
            currency: "EUR".into(),
            per_usd: 1.0 / usd_per_eur,
        },
    ];
    for (c, r) in per_eur {
        if c != "USD" && c != "EUR" {
            out.push(Rate {
                currency: c,
                per_usd: r / usd_per_eur,
            });
        }
    }
    Ok((date, out))
}

/// How long `fetch` waits for the whole answer.
pub const FETCH_TIMEOUT: Duration = Duration::from_secs(15);

/// Fetches a URL's body (reqwest inside a small tokio runtime), with a timeout. The error says
/// the source is unreachable and how to proceed offline.
pub fn fetch(url: &str, timeout: Duration) -> Result<String> {
    let parsed = url::Url::parse(url).map_err(|e| {
        invalid(format!(
            "'{url}' is not a URL ({e}). Pass an http(s) URL or use --file."
        ))
    })?;
    if !matches!(parsed.scheme(), "http" | "https") {
        return Err(invalid(format!(
            "'{url}' is not an http(s) URL; for a local file use --file."
        )));
    }
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| Error::Io(format!("cannot start the network runtime: {e}")))?;
    let unreachable = |e: &dyn std::fmt::Display| {
        Error::Io(format!(
            "cannot fetch exchange rates from {url}: {e}. You may be offline or the server unreachable; the current rates are unchanged. Retry later, use --file with a saved eurofxref-daily.xml, or set a rate with 'fx set CUR RATE'."
        ))
    };
    rt.block_on(async {
        let client = reqwest::Client::builder()
            .timeout(timeout)
            .connect_timeout(timeout.min(Duration::from_secs(5)))
            .build()
            .map_err(|e| unreachable(&e))?;
        let resp = client
            .get(parsed)
            .send()
            .await
            .map_err(|e| unreachable(&e))?;
        let status = resp.status();
        if !status.is_success() {
            return Err(unreachable(&format!("the server answered HTTP {status}")));
        }
        resp.text().await.map_err(|e| unreachable(&e))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const ECB: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<gesmes:Envelope xmlns:gesmes="http://www.gesmes.org/xml/2002-08-01" xmlns="http://www.ecb.int/vocabulary/2002-08-01/eurofxref">
  <gesmes:subject>Reference rates</gesmes:subject>
  <Cube>
    <Cube time='2026-11-20'>
      <Cube currency='USD' rate='1.25'/>
      <Cube currency='JPY' rate='187.5'/>
      <Cube currency='GBP' rate='0.625'/>
    </Cube>
  </Cube>
</gesmes:Envelope>"#;

    #[test]
    fn ecb_rates_become_per_usd() {
        let (date, rates) = parse_ecb(ECB).unwrap();
        assert_eq!(date, "2026-11-20");
        let get = |c: &str| rates.iter().find(|r| r.currency == c).unwrap().per_usd;
        // EUR = 1 / 1.25; GBP = 0.625 / 1.25; JPY = 187.5 / 1.25
        assert_eq!(get("USD"), 1.0);
        assert!((get("EUR") - 0.8).abs() < 1e-12);
        assert!((get("GBP") - 0.5).abs() < 1e-12);
        assert!((get("JPY") - 150.0).abs() < 1e-9);
    }

    #[test]
    fn ecb_errors() {
        assert!(
            parse_ecb(
                "<Cube><Cube time='2026-11-20'><Cube currency='GBP' rate='0.6'/></Cube></Cube>"
            )
            .is_err()
        );
        assert!(parse_ecb("<html>hello</html>").is_err());
        assert!(
            parse_ecb("<Cube time='2026-11-20'><Cube currency='USD' rate='abc'/></Cube>").is_err()
        );
    }

    #[test]
    fn codes() {
        assert_eq!(currency_code(" eur "), Some("EUR".into()));
        assert_eq!(currency_code("EURO"), None);
        assert_eq!(currency_code("E1R"), None);
    }
}
