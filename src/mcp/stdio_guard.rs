//! A guard in front of rmcp's stdio transport: every request gets an answer, even one that
//! cannot be parsed (SPEC §7).
//!
//! rmcp (3.11, `transport/async_rw.rs`) drops a line that is not valid JSON without a reply, on
//! purpose (rust-sdk#938: answering garbage can start an error storm with a peer that echoes).
//! serde_json refuses JSON nested deeper than 128 levels as a *syntax* error, so a well-formed
//! but deep request falls into the same branch, and the client waits forever. This guard reads
//! stdin line by line first: a line that is nested too deep, or is not JSON at all, is answered
//! here with a JSON-RPC parse error (`-32700`, `id: null`) and never reaches rmcp; every other
//! line is passed on unchanged. Replies from rmcp and from the guard are written to stdout whole
//! lines at a time, so they never interleave.

use serde::de::IgnoredAny;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader, DuplexStream};

use tokio::sync::mpsc;

/// serde_json's recursion limit: deeper input cannot be parsed.
pub const MAX_DEPTH: usize = 128;

/// The longest line passed on (rmcp's own limit is larger; a line this long is not a request a
/// client sends).
const MAX_LINE: usize = 64 * 1024 * 1024;

/// The (reader, writer) pair to give rmcp instead of `rmcp::transport::stdio()`.
pub fn stdio() -> (DuplexStream, DuplexStream) {
    let (to_rmcp, rmcp_in) = tokio::io::duplex(1 << 20);
    let (rmcp_out, from_rmcp) = tokio::io::duplex(1 << 20);
    let (errors_tx, errors_rx) = mpsc::unbounded_channel::<String>();
    tokio::spawn(read_stdin(to_rmcp, errors_tx));
    tokio::spawn(write_stdout(from_rmcp, errors_rx));
    (rmcp_in, rmcp_out)
}

async fn read_stdin(mut to_rmcp: DuplexStream, errors: mpsc::UnboundedSender<String>) {
    let mut stdin = BufReader::new(tokio::io::stdin());
    let mut line = Vec::new();
    loop {
        line.clear();
        let oversized = match read_line_capped(&mut stdin, &mut line, MAX_LINE).await {
            Ok(None) | Err(_) => break,
            Ok(Some(o)) => o,
        };
        let why = if oversized {
            Some(format!("the message is longer than {MAX_LINE} bytes"))
        } else {
            refuse(&line)
        };
        if let Some(why) = why {
            tracing::debug!("answered an unparsable message: {why}");
            let _ = errors.send(parse_error(&why));
            continue;
        }
        if to_rmcp.write_all(&line).await.is_err() {
            break;
        }
    }
    let _ = to_rmcp.shutdown().await;
}

/// Reads one line (up to and including `\n`) into `buf`, keeping at most `cap` bytes of it: a
/// longer line is read to its end and dropped. Returns None at the end of the input, else
/// whether the line was too long.
async fn read_line_capped<R: tokio::io::AsyncBufRead + Unpin>(
    r: &mut R,
    buf: &mut Vec<u8>,
    cap: usize,
) -> std::io::Result<Option<bool>> {
    let mut oversized = false;
    let mut any = false;
    loop {
        let avail = r.fill_buf().await?;
        if avail.is_empty() {
            return Ok(any.then_some(oversized));
        }
        any = true;
        let (take, done) = match avail.iter().position(|&b| b == b'\n') {
            Some(i) => (i + 1, true),
            None => (avail.len(), false),
        };
        if !oversized && buf.len() + take <= cap {
            buf.extend_from_slice(&avail[..take]);
        } else {
            oversized = true;
            buf.clear();
        }
        r.consume(take);
        if done {
            return Ok(Some(oversized));
        }
    }
}

async fn write_stdout(from_rmcp: DuplexStream, mut errors: mpsc::UnboundedReceiver<String>) {
    let mut stdout = tokio::io::stdout();
    let mut replies = BufReader::new(from_rmcp);
    let mut line = Vec::new();
    let mut errors_open = true;
    loop {
        tokio::select! {
            r = replies.read_until(b'\n', &mut line) => {
                match r {
                    Ok(0) | Err(_) => break,
                    Ok(_) => {
                        if stdout.write_all(&line).await.is_err() {
                            break;
                        }
                        let _ = stdout.flush().await;
                        line.clear();
                    }
                }
            }
            e = errors.recv(), if errors_open => {
                match e {
                    Some(msg) => {
                        if stdout.write_all(msg.as_bytes()).await.is_err() {
                            break;
                        }
                        let _ = stdout.flush().await;
                    }
                    None => errors_open = false,
                }
            }
        }
    }
}

/// Why a line must be answered here (None: pass it on).
pub fn refuse(line: &[u8]) -> Option<String> {
    let body = line.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(line);
    if body.iter().all(u8::is_ascii_whitespace) {
        return None; // rmcp skips blank lines
    }
    if depth(body) > MAX_DEPTH {
        return Some(format!(
            "the message is nested deeper than {MAX_DEPTH} levels"
        ));
    }
    match serde_json::from_slice::<IgnoredAny>(body) {
        Ok(_) => None,
        Err(e) => Some(format!("the message is not JSON ({})", e.classify_name())),
    }
}

trait Classify {
    fn classify_name(&self) -> &'static str;
}

impl Classify for serde_json::Error {
    fn classify_name(&self) -> &'static str {
        match self.classify() {
            serde_json::error::Category::Eof => "it ends too early",
            serde_json::error::Category::Syntax => "a syntax error",
            serde_json::error::Category::Data => "unexpected data",
            serde_json::error::Category::Io => "unreadable",
        }
    }
}

/// The deepest nesting of arrays and objects in a JSON text (strings skipped).
pub fn depth(s: &[u8]) -> usize {
    let (mut d, mut max, mut in_str, mut esc) = (0usize, 0usize, false, false);
    for &b in s {
        if in_str {
            if esc {
                esc = false;
            } else if b == b'\\' {
                esc = true;
            } else if b == b'"' {
                in_str = false;
            }
            continue;
        }
        match b {
            b'"' => in_str = true,
            b'[' | b'{' => {
                d += 1;
                max = max.max(d);
            }
            b']' | b'}' => d = d.saturating_sub(1),
            _ => {}
        }
    }
    max
}

fn parse_error(why: &str) -> String {
    let mut s = serde_json::json!({
        "jsonrpc": "2.0",
        "id": null,
        "error": {"code": -32700, "message": format!("Parse error: {why}; send one JSON-RPC message per line.")}
    })
    .to_string();
    s.push('\n');
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deep_and_broken_lines_are_answered_others_pass() {
        let deep = format!("{}{}", "[".repeat(200), "]".repeat(200));
        assert!(refuse(deep.as_bytes()).unwrap().contains("deeper"));
        assert!(refuse(b"{\"jsonrpc\": ").is_some());
        assert!(refuse(b"{\"a\": \"[[[[\"}\n").is_none());
        assert!(refuse(b"\n").is_none());
        assert_eq!(depth(br#"{"a":[1,{"b":"]]]"}]}"#), 3);
    }

    #[tokio::test]
    async fn long_lines_are_dropped_whole() {
        let input = b"{\"a\":1}\n0123456789abcdef\n{}".to_vec();
        let mut r = BufReader::with_capacity(4, &input[..]);
        let mut buf = Vec::new();
        assert_eq!(
            read_line_capped(&mut r, &mut buf, 10).await.unwrap(),
            Some(false)
        );
        assert_eq!(buf, b"{\"a\":1}\n");
        buf.clear();
        assert_eq!(
            read_line_capped(&mut r, &mut buf, 10).await.unwrap(),
            Some(true)
        );
        buf.clear();
        assert_eq!(
            read_line_capped(&mut r, &mut buf, 10).await.unwrap(),
            Some(false)
        );
        assert_eq!(buf, b"{}");
        buf.clear();
        assert_eq!(read_line_capped(&mut r, &mut buf, 10).await.unwrap(), None);
    }
}
