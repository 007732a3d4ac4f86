//! CSV reading for imports: BOMs, quoted newlines, `;`/tab separators detected from the header,
//! line-level errors for bad rows and one clear error for a file that cannot be read at all.

use crate::error::{Error, Result, invalid};
use serde::Serialize;
use std::io::{BufRead, BufReader, Read};
use std::path::Path;
use std::sync::{Arc, Mutex};

/// The longest value accepted in one cell.
pub const MAX_FIELD_CHARS: usize = 10_000;
/// The most columns accepted in a header.
pub const MAX_COLUMNS: usize = 500;

// A rejected row: its line in the file and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, schemars::JsonSchema)]
#[schemars(inline)]
pub struct RowError {
    /// The line of the file (1 = the header).
    pub line: u64,
    #[serde(serialize_with = "crate::shape::as_clean")]
    pub reason: String,
}

/// A CSV file checked and ready to stream: its header and separator, and a reader positioned
/// on the first data row. Rows are read one at a time by [`Table::rows`] (once), so an import
/// holds one chunk of rows at once whatever the file's size. A problem found while streaming
/// (not UTF-8, binary data, over the size cap, a read error) ends the rows and is returned by
/// [`Table::finish`], which the importer calls before committing.
pub struct Table {
    reader: Mutex<Option<csv::Reader<Checked>>>,
    failure: Arc<Mutex<Option<String>>>,
    pub headers: Vec<String>,
}

impl std::fmt::Debug for Table {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Table")
            .field("headers", &self.headers)
            .finish()
    }
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

    /// The index of a column the caller mapped, or an error that lists the headers (which
    /// passed [`plausible_headers`], so they are column names, not the content of some file).
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

    /// The name and website columns: both present, and not the same column.
    pub fn name_and_website(
        &self,
        name: &str,
        website: &str,
        path: &Path,
    ) -> Result<(usize, usize)> {
        let n = self.require_column(name, "company name", path)?;
        let w = self.require_column(website, "website", path)?;
        if n == w {
            return Err(invalid(format!(
                "The company name and the website must be two different columns of {}; both were given as '{}'.",
                path.display(),
                self.headers[n]
            )));
        }
        Ok((n, w))
    }

    /// What went wrong while streaming the rows, if anything: the whole file is then refused.
    pub fn finish(&self) -> Result<()> {
        match self
            .failure
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .take()
        {
            Some(why) => Err(invalid(why)),
            None => Ok(()),
        }
    }

    /// The data rows, each either good or a line-level error. A structural error the reader
    /// cannot recover from ends the stream after reporting it. The rows can be read once.
    pub fn rows(&self) -> impl Iterator<Item = std::result::Result<Row, RowError>> + '_ {
        let mut rdr = self.reader.lock().unwrap_or_else(|p| p.into_inner()).take();
        let n = self.headers.len();
        let mut record = csv::StringRecord::new();
        std::iter::from_fn(move || {
            loop {
                let r = rdr.as_mut()?;
                match r.read_record(&mut record) {
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
                        rdr = None;
                        let line = e.position().map_or(0, |p| p.line());
                        let reason = match e.kind() {
                            csv::ErrorKind::Io(_) => {
                                "cannot be read, and neither can what follows".to_string()
                            }
                            _ => {
                                format!("cannot be read as CSV, and neither can what follows: {e}")
                            }
                        };
                        return Some(Err(RowError { line, reason }));
                    }
                }
            }
        })
    }
}

/// The import size cap: `PARTNERMAP_MAX_IMPORT_BYTES`, default 1 GiB.
pub fn max_import_bytes() -> u64 {
    std::env::var("PARTNERMAP_MAX_IMPORT_BYTES")
        .ok()
        .and_then(|v| v.trim().parse().ok())
        .filter(|&n: &u64| n > 0)
        .unwrap_or(1 << 30)
}

/// Opens and checks a CSV file. Only a regular file is read (never a device, pipe, socket,
/// folder or a `/proc` or `/sys` entry): it is opened without blocking and checked on the open
/// descriptor, so what is checked is what is read. Fails (so that nothing is imported) when the
/// file cannot be read, is larger than the cap, is empty or is not a CSV file with a header of
/// column names.
pub fn read(path: &Path) -> Result<Table> {
    let file = open_regular(path)?;
    let cap = max_import_bytes();
    let len = file.metadata().map(|m| m.len()).unwrap_or(0);
    if len > cap {
        return Err(too_large(path, cap));
    }
    from_reader(Box::new(file), path, cap)
}

fn too_large(path: &Path, cap: u64) -> Error {
    invalid(format!(
        "{} is larger than the import limit of {cap} bytes (PARTNERMAP_MAX_IMPORT_BYTES); split it or raise the limit. Nothing was imported.",
        path.display()
    ))
}

/// Opens `path` for reading if it is a regular file.
fn open_regular(path: &Path) -> Result<std::fs::File> {
    let mut opts = std::fs::OpenOptions::new();
    opts.read(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        // A FIFO opened for reading would wait for a writer; a terminal must not become ours.
        opts.custom_flags(libc::O_NONBLOCK | libc::O_NOCTTY);
    }
    let file = opts.open(path).map_err(|e| {
        Error::Io(format!(
            "cannot read {}: {e}. Check the path (an absolute path is safest).",
            path.display()
        ))
    })?;
    let meta = file
        .metadata()
        .map_err(|e| Error::Io(format!("cannot read {}: {e}.", path.display())))?;
    if !meta.is_file() {
        return Err(invalid(format!(
            "{} is not a regular file (it is a folder, device, pipe or socket); give the path of a CSV file.",
            path.display()
        )));
    }
    if pseudo_file_system(&file) {
        return Err(invalid(format!(
            "{} is a system entry (/proc or /sys), not a CSV file; give the path of a CSV file.",
            path.display()
        )));
    }
    Ok(file)
}

/// Whether the open file lives on procfs or sysfs.
#[cfg(target_os = "linux")]
fn pseudo_file_system(file: &std::fs::File) -> bool {
    use std::os::fd::AsRawFd;
    const PROC_SUPER_MAGIC: i64 = 0x9fa0;
    const SYSFS_MAGIC: i64 = 0x6265_6572;
    // SAFETY: fstatfs writes into the zeroed struct we own, for a descriptor we hold open.
    let mut st: libc::statfs = unsafe { std::mem::zeroed() };
    if unsafe { libc::fstatfs(file.as_raw_fd(), &mut st) } != 0 {
        return false;
    }
    #[allow(clippy::unnecessary_cast)]
    let t = st.f_type as i64;
    t == PROC_SUPER_MAGIC || t == SYSFS_MAGIC
}

#[cfg(not(target_os = "linux"))]
fn pseudo_file_system(_file: &std::fs::File) -> bool {
    false
}

/// Checks a CSV held in memory (tests, small inputs).
pub fn parse(bytes: Vec<u8>, path: &Path) -> Result<Table> {
    from_reader(Box::new(std::io::Cursor::new(bytes)), path, u64::MAX)
}

const BUF: usize = 256 * 1024;

fn from_reader(inner: Box<dyn Read + Send>, path: &Path, cap: u64) -> Result<Table> {
    let failure: Arc<Mutex<Option<String>>> = Arc::default();
    let mut checked = Checked {
        inner: BufReader::with_capacity(BUF, inner),
        path: path.display().to_string(),
        cap,
        total: 0,
        lines: 1,
        carry: Vec::new(),
        failure: failure.clone(),
    };
    let fail = |failure: &Arc<Mutex<Option<String>>>, fallback: String| {
        let why = failure
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .take()
            .unwrap_or(fallback);
        invalid(why)
    };
    let head = checked
        .inner
        .fill_buf()
        .map_err(|e| Error::Io(format!("cannot read {}: {e}.", path.display())))?;
    if head.starts_with(b"\xEF\xBB\xBF") {
        checked.inner.consume(3);
    }
    let head = checked
        .inner
        .fill_buf()
        .map_err(|e| Error::Io(format!("cannot read {}: {e}.", path.display())))?;
    if head.iter().all(|b| b.is_ascii_whitespace()) && head.len() < BUF {
        return Err(invalid(format!(
            "{} is empty: a CSV file with a header row is needed.",
            path.display()
        )));
    }
    let delimiter = detect_delimiter(head);
    let mut rdr = csv::ReaderBuilder::new()
        .delimiter(delimiter)
        .flexible(true)
        .has_headers(true)
        .buffer_capacity(BUF)
        .from_reader(checked);
    let raw: Vec<String> = match rdr.headers() {
        Ok(h) => h.iter().map(|h| h.trim().to_string()).collect(),
        Err(e) => {
            let fallback = match e.kind() {
                csv::ErrorKind::Utf8 { .. } => format!(
                    "{} is not UTF-8 text (first bad byte on line 1). Save it as 'CSV UTF-8' and import again; nothing was imported.",
                    path.display()
                ),
                _ => format!(
                    "{} has no readable header row; nothing was imported.",
                    path.display()
                ),
            };
            return Err(fail(&failure, fallback));
        }
    };
    if let Some(why) = failure.lock().unwrap_or_else(|p| p.into_inner()).take() {
        return Err(invalid(why));
    }
    if !plausible_headers(&raw) {
        // Not quoted: the first line of a file that is not a CSV may be a secret.
        return Err(invalid(format!(
            "{} does not look like a CSV file of companies: its first line is not a header row of at least two column names. Nothing was imported.",
            path.display()
        )));
    }
    let headers: Vec<String> = raw
        .into_iter()
        .enumerate()
        .map(|(i, h)| {
            if h.is_empty() {
                format!("column_{}", i + 1)
            } else {
                h
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
        reader: Mutex::new(Some(rdr)),
        failure,
        headers,
    })
}

/// Whether a header row looks like column names rather than the first line of some other file
/// (a key, a password file, a `.env`, JSON): at least two columns, named (mostly), each short,
/// without control characters or the punctuation of configuration and key files.
pub fn plausible_headers(headers: &[String]) -> bool {
    let named = headers.iter().filter(|h| !h.is_empty()).count();
    headers.len() >= 2
        && named * 2 >= headers.len()
        && headers.iter().all(|h| {
            let n = h.chars().count();
            n <= 100
                && !h.chars().any(|c| {
                    c.is_control() || matches!(c, '=' | ':' | '<' | '>' | '{' | '}' | '\\' | '|')
                })
                && (n <= 48 || h.contains(' '))
        })
}

/// The file's bytes as read, checked on the way: within the size cap, no NUL byte, UTF-8. A
/// problem is recorded (for [`Table::finish`]) and ends the stream with an I/O error.
struct Checked {
    inner: BufReader<Box<dyn Read + Send>>,
    path: String,
    cap: u64,
    total: u64,
    /// The line the next byte is on.
    lines: u64,
    /// The start of a UTF-8 character cut by the end of the previous read.
    carry: Vec<u8>,
    failure: Arc<Mutex<Option<String>>>,
}

impl Checked {
    fn fail(&mut self, why: String) -> std::io::Error {
        let mut f = self.failure.lock().unwrap_or_else(|p| p.into_inner());
        if f.is_none() {
            *f = Some(why);
        }
        std::io::Error::new(std::io::ErrorKind::InvalidData, "refused")
    }
}

impl Read for Checked {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        if self
            .failure
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .is_some()
        {
            return Err(std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                "refused",
            ));
        }
        let n = match self.inner.read(buf) {
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => return Err(e),
            Err(e) => {
                let why = format!("could not read {}: {e}; nothing was imported.", self.path);
                return Err(self.fail(why));
            }
        };
        if n == 0 {
            if !self.carry.is_empty() {
                let why = not_utf8(&self.path, self.lines);
                return Err(self.fail(why));
            }
            return Ok(0);
        }
        self.total += n as u64;
        if self.total > self.cap {
            let why = too_large(Path::new(&self.path), self.cap).to_string();
            return Err(self.fail(why));
        }
        let data = &buf[..n];
        if data.contains(&0) {
            let why = format!(
                "{} does not look like a CSV file (it holds binary data); nothing was imported.",
                self.path
            );
            return Err(self.fail(why));
        }
        let joined;
        let chunk: &[u8] = if self.carry.is_empty() {
            data
        } else {
            let mut v = std::mem::take(&mut self.carry);
            v.extend_from_slice(data);
            joined = v;
            &joined
        };
        if let Err(e) = std::str::from_utf8(chunk) {
            if e.error_len().is_none() {
                self.carry = chunk[e.valid_up_to()..].to_vec();
            } else {
                let line = self.lines
                    + chunk[..e.valid_up_to()]
                        .iter()
                        .filter(|&&b| b == b'\n')
                        .count() as u64;
                let why = not_utf8(&self.path, line);
                return Err(self.fail(why));
            }
        }
        self.lines += data.iter().filter(|&&b| b == b'\n').count() as u64;
        Ok(n)
    }
}

fn not_utf8(path: &str, line: u64) -> String {
    format!(
        "{path} is not UTF-8 text (first bad byte on line {line}). Save it as 'CSV UTF-8' and import again; nothing was imported."
    )
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
        // Not column names: never accepted, never quoted.
        for secret in [
            "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXk\n",
            "root:x:0:0:root,,,:/root:/bin/bash\n",
            "API_KEY=sk-123,other\n",
            "{\"a\": 1, \"b\": 2}\n",
        ] {
            let e = p(secret).unwrap_err().to_string();
            assert!(
                !e.contains("BEGIN") && !e.contains("root") && !e.contains("sk-123"),
                "{e}"
            );
        }
    }

    #[test]
    fn streaming_failures_end_the_import() {
        // The whole file is refused, whether the problem shows while reading the header (a
        // small file is read at once) or later, while streaming rows.
        fn refused(t: Result<Table>) -> String {
            match t {
                Err(e) => e.to_string(),
                Ok(t) => {
                    for _ in t.rows() {}
                    t.finish().unwrap_err().to_string()
                }
            }
        }
        let mut body = b"name,website\nA,a.com\n".to_vec();
        body.extend_from_slice(b"B,\xff.com\n");
        assert!(refused(parse(body.clone(), Path::new("t.csv"))).contains("line 3"));
        let mut big = b"name,website\n".to_vec();
        while big.len() < 3 * BUF {
            big.extend_from_slice(b"Acme,acme.com\n");
        }
        let mut late = big.clone();
        late.extend_from_slice(b"B,\xff.com\n");
        let t = parse(late, Path::new("t.csv")).unwrap();
        let (good, _) = split(&t);
        assert!(good.len() > 1000, "rows before the bad byte stream");
        assert!(t.finish().unwrap_err().to_string().contains("not UTF-8"));
        let capped = from_reader(
            Box::new(std::io::Cursor::new(big)),
            Path::new("t.csv"),
            (BUF + 10) as u64,
        );
        assert!(refused(capped).contains("larger"));
    }

    #[test]
    fn tab_separated() {
        let t = p("name\twebsite\nA\ta.com\n").unwrap();
        assert_eq!(split(&t).0[0].1, vec!["A", "a.com"]);
    }
}
