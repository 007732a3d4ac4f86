//! CSV reading for imports: BOMs, quoted newlines, `;`/tab separators detected from the header,
//! line-level errors for bad rows and one clear error for a file that cannot be read at all.

use crate::error::{Error, Result, invalid};
use serde::Serialize;
use std::path::Path;

/// The longest value accepted in one cell.
pub const MAX_FIELD_CHARS: usize = 10_000;
/// The most columns accepted in a header.
pub const MAX_COLUMNS: usize = 500;

/// A rejected row: its line in the file and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RowError {
    pub line: u64,
    pub reason: String,
}

/// A CSV file checked and ready to stream: its bytes (UTF-8, BOM removed), its header and its
/// separator. Rows are read one at a time by [`Table::rows`], so an import holds one row at once.
#[derive(Debug)]
pub struct Table {
    bytes: Vec<u8>,
    bom: usize,
    delimiter: u8,
    pub headers: Vec<String>,
}

/// One good row: the line it starts on and its values (trimmed).
pub type Row = (u64, Vec<String>);

impl Table {
    /// The index of a header, case-insensitively and ignoring surrounding spaces.
    pub fn column(&self, name: &str) -> Option<usize> {
        let want = name.trim();
        self.headers
            .iter()
            .position(|h| h.trim().eq_ignore_ascii_case(want))
    }

    /// The index of a column the caller mapped, or an error that lists the headers.
    pub fn require_column(&self, name: &str, what: &str, path: &Path) -> Result<usize> {
        self.column(name).ok_or_else(|| {
            invalid(format!(
                "{} has no column '{}' for the {}. Its columns are: {}. Pass the right column name.",
                path.display(),
                name,
                what,
                self.headers.join(", ")
            ))
        })
    }

    /// The data rows, each either good or a line-level error. A structural error the reader
    /// cannot recover from ends the stream after reporting it.
    pub fn rows(&self) -> impl Iterator<Item = std::result::Result<Row, RowError>> + '_ {
        let mut rdr = csv::ReaderBuilder::new()
            .delimiter(self.delimiter)
            .flexible(true)
            .has_headers(true)
            .from_reader(&self.bytes[self.bom..]);
        let n = self.headers.len();
        let mut record = csv::StringRecord::new();
        let mut done = false;
        std::iter::from_fn(move || {
            loop {
                if done {
                    return None;
                }
                match rdr.read_record(&mut record) {
                    Ok(false) => return None,
                    Ok(true) => {
                        let line = record.position().map_or(0, |p| p.line());
                        if record.len() == 1 && record.get(0).is_some_and(|v| v.trim().is_empty()) {
                            continue; // a blank line
                        }
                        if record.len() != n {
                            return Some(Err(RowError {
                                line,
                                reason: format!(
                                    "has {} values but the header has {n} columns",
                                    record.len()
                                ),
                            }));
                        }
                        if let Some((i, _)) = record.iter().enumerate().find(|(_, v)| {
                            v.len() > MAX_FIELD_CHARS && v.chars().count() > MAX_FIELD_CHARS
                        }) {
                            return Some(Err(RowError {
                                line,
                                reason: format!(
                                    "the value in column '{}' is longer than {MAX_FIELD_CHARS} characters",
                                    self.headers[i]
                                ),
                            }));
                        }
                        return Some(Ok((
                            line,
                            record.iter().map(|v| v.trim().to_string()).collect(),
                        )));
                    }
                    Err(e) => {
                        done = true;
                        let line = e.position().map_or(0, |p| p.line());
                        return Some(Err(RowError {
                            line,
                            reason: format!(
                                "cannot be read as CSV, and neither can what follows: {e}"
                            ),
                        }));
                    }
                }
            }
        })
    }
}

/// Reads and checks a CSV file. Fails (so that nothing is imported) when the file cannot be read,
/// is not UTF-8, is empty, is not CSV, or has a bad header.
pub fn read(path: &Path) -> Result<Table> {
    let bytes = std::fs::read(path).map_err(|e| {
        Error::Io(format!(
            "cannot read {}: {e}. Check the path (an absolute path is safest).",
            path.display()
        ))
    })?;
    parse(bytes, path)
}

pub fn parse(bytes: Vec<u8>, path: &Path) -> Result<Table> {
    let bom = if bytes.starts_with(b"\xEF\xBB\xBF") {
        3
    } else {
        0
    };
    let body = &bytes[bom..];
    if body.iter().all(|b| b.is_ascii_whitespace()) {
        return Err(invalid(format!(
            "{} is empty: a CSV file with a header row is needed.",
            path.display()
        )));
    }
    if body.contains(&0) {
        return Err(invalid(format!(
            "{} does not look like a CSV file (it holds binary data); nothing was imported.",
            path.display()
        )));
    }
    if let Err(e) = std::str::from_utf8(body) {
        let line = 1 + body[..e.valid_up_to()]
            .iter()
            .filter(|&&b| b == b'\n')
            .count();
        return Err(invalid(format!(
            "{} is not UTF-8 text (first bad byte on line {line}). Save it as 'CSV UTF-8' and import again; nothing was imported.",
            path.display()
        )));
    }
    let delimiter = detect_delimiter(body);
    let mut rdr = csv::ReaderBuilder::new()
        .delimiter(delimiter)
        .flexible(true)
        .has_headers(true)
        .from_reader(body);
    let headers: Vec<String> = rdr
        .headers()
        .map_err(|e| {
            invalid(format!(
                "{} has no readable header row ({e}); nothing was imported.",
                path.display()
            ))
        })?
        .iter()
        .enumerate()
        .map(|(i, h)| {
            let h = h.trim();
            if h.is_empty() {
                format!("column_{}", i + 1)
            } else {
                h.to_string()
            }
        })
        .collect();
    if headers.len() > MAX_COLUMNS {
        return Err(invalid(format!(
            "{} has {} columns; at most {MAX_COLUMNS} are supported.",
            path.display(),
            headers.len()
        )));
    }
    for (i, h) in headers.iter().enumerate() {
        if headers[..i].iter().any(|o| o.eq_ignore_ascii_case(h)) {
            return Err(invalid(format!(
                "{} names the column '{h}' twice in its header; rename one and import again.",
                path.display()
            )));
        }
    }
    Ok(Table {
        bytes,
        bom,
        delimiter,
        headers,
    })
}

/// The separator the header line uses: `,`, `;` or tab, whichever appears most outside quotes.
fn detect_delimiter(bytes: &[u8]) -> u8 {
    let mut counts = [(b',', 0usize), (b';', 0), (b'\t', 0)];
    let mut quoted = false;
    for &b in bytes {
        match b {
            b'"' => quoted = !quoted,
            b'\n' if !quoted => break,
            _ if !quoted => {
                for c in counts.iter_mut() {
                    if c.0 == b {
                        c.1 += 1;
                    }
                }
            }
            _ => {}
        }
    }
    counts
        .iter()
        .max_by_key(|c| c.1)
        .filter(|c| c.1 > 0)
        .map_or(b',', |c| c.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(s: &str) -> Result<Table> {
        parse(s.as_bytes().to_vec(), Path::new("t.csv"))
    }

    fn split(t: &Table) -> (Vec<Row>, Vec<RowError>) {
        let (mut good, mut bad) = (vec![], vec![]);
        for r in t.rows() {
            match r {
                Ok(row) => good.push(row),
                Err(e) => bad.push(e),
            }
        }
        (good, bad)
    }

    #[test]
    fn bom_semicolons_and_quoted_newlines() {
        let t =
            p("\u{feff}Name;Website;Notes\nAcme;acme.com;\"two\nlines\"\nGlobex;globex.com;x\n")
                .unwrap();
        assert_eq!(t.headers, vec!["Name", "Website", "Notes"]);
        let (rows, errors) = split(&t);
        assert_eq!(rows.len(), 2);
        assert_eq!(rows[0].1[2], "two\nlines");
        assert_eq!(rows[1].0, 4);
        assert!(errors.is_empty());
    }

    #[test]
    fn ragged_rows_are_line_errors() {
        let t = p("name,website\nA,a.com\nB\nC,c.com,extra\nD,d.com\n").unwrap();
        let (rows, errors) = split(&t);
        assert_eq!(rows.len(), 2);
        assert_eq!(
            errors.iter().map(|e| e.line).collect::<Vec<_>>(),
            vec![3, 4]
        );
    }

    #[test]
    fn fatal_errors() {
        assert!(p("").is_err());
        assert!(parse(b"name,website\n\xff\xfe,x\n".to_vec(), Path::new("t.csv")).is_err());
        assert!(parse(b"\x00\x01\x02".to_vec(), Path::new("t.csv")).is_err());
        assert!(p("name,Name\nx,y\n").is_err());
    }

    #[test]
    fn tab_separated() {
        let t = p("name\twebsite\nA\ta.com\n").unwrap();
        assert_eq!(split(&t).0[0].1, vec!["A", "a.com"]);
    }
}
