//! `partnermap serve`: the long-lived process. This module runs remote MCP (SPEC §10) —
//! streamable HTTP at `/mcp` on its own listener — and owns start-up, TLS and graceful
//! shutdown. The federation listener (`--peer-listen`, FEDERATION.md) is a separate module on
//! a separate port; nothing here serves partner instances.
//!
//! - [`auth`]: bearer tokens → acting user, per-token rate limit, session ownership.
//! - [`http`]: the router (`/mcp`, `/healthz`), Origin check, in-flight tracking.

pub mod auth;
pub mod http;

use crate::Engine;
use crate::mcp::PartnermapServer;
use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// The tools that read or write files on the server's disk.
pub const FILE_TOOLS: &[&str] = &[
    "import_csv",
    "upload_partner_csv",
    "import_crm",
    "export_report",
];

/// How long in-flight calls get to finish after SIGTERM before the process stops anyway.
const DRAIN_LIMIT: Duration = Duration::from_secs(60);

/// Everything `partnermap serve` was told (flags and environment).
#[derive(Debug, Clone)]
pub struct ServeOptions {
    pub db: PathBuf,
    pub listen: SocketAddr,
    pub tls_cert: Option<PathBuf>,
    pub tls_key: Option<PathBuf>,
    pub insecure_http: bool,
    /// Browser origins allowed besides loopback pages.
    pub allow_origins: Vec<String>,
    /// Host names clients reach the server by (checked against `Host`), besides loopback.
    pub allow_hosts: Vec<String>,
    pub rate_limit_per_minute: u32,
    pub max_body_bytes: usize,
    pub max_result_bytes: usize,
    /// `PARTNERMAP_FILES`: folders on the server the file tools may use; unset = no file tools.
    pub files: Option<String>,
    /// Toolsets and read-only mode, exactly as for `partnermap mcp`.
    pub tools: crate::mcp::ToolsetOptions,
}

/// Whether the server may listen on `addr` as configured; the sentence to print if not.
pub fn check_exposure(o: &ServeOptions) -> Result<(), String> {
    let tls = o.tls_cert.is_some() || o.tls_key.is_some();
    if tls && (o.tls_cert.is_none() || o.tls_key.is_none()) {
        return Err("TLS needs both --tls-cert and --tls-key (PEM files).".into());
    }
    if !o.listen.ip().is_loopback() && !tls && !o.insecure_http {
        return Err(format!(
            "{} is not a loopback address: serving MCP there needs TLS (--tls-cert CERT.pem --tls-key KEY.pem), \
             or --insecure-http if a TLS proxy in front of it terminates TLS.",
            o.listen
        ));
    }
    Ok(())
}

/// File tools over the network: served only when `PARTNERMAP_FILES` names folders on the
/// server (SPEC §10); otherwise removed from the tool list altogether.
pub fn remove_file_tools_unless_allowed(
    server: PartnermapServer,
    files: Option<&str>,
) -> PartnermapServer {
    match files.map(str::trim) {
        Some(f) if !f.is_empty() => server,
        _ => server.retain_tools(|name| !FILE_TOOLS.contains(&name)),
    }
}

/// The MCP server each HTTP session gets: shared engine, acting user per request, the tool
/// selection for the network.
fn session_server(engine: &Arc<Mutex<Engine>>, o: &ServeOptions) -> PartnermapServer {
    let s =
        PartnermapServer::per_request(engine.clone(), &o.tools).with_result_cap(o.max_result_bytes);
    remove_file_tools_unless_allowed(s, o.files.as_deref())
}

fn allowed_origins(o: &ServeOptions) -> Vec<String> {
    let mut v: Vec<String> = ["http://localhost:*", "http://127.0.0.1:*", "http://[::1]:*"]
        .into_iter()
        .map(String::from)
        .collect();
    v.extend(o.allow_origins.iter().cloned());
    v
}

/// `None` disables the `Host` check: a non-loopback listener without `--allow-host` (TLS
/// certificates then bind the name).
fn allowed_hosts(o: &ServeOptions) -> Option<Vec<String>> {
    if !o.listen.ip().is_loopback() && o.allow_hosts.is_empty() {
        return None;
    }
    let mut v: Vec<String> = ["localhost", "127.0.0.1", "::1"]
        .into_iter()
        .map(String::from)
        .collect();
    v.extend(o.allow_hosts.iter().cloned());
    Some(v)
}

fn url_host(ip: IpAddr) -> String {
    match ip {
        IpAddr::V4(v) if v.is_unspecified() => "HOST".into(),
        IpAddr::V6(v) if v.is_unspecified() => "HOST".into(),
        IpAddr::V6(v) => format!("[{v}]"),
        IpAddr::V4(v) => v.to_string(),
    }
}

/// Runs the server until SIGTERM or Ctrl-C, then drains: new requests get 503, calls under way
/// finish (up to a minute), sessions close, the process exits.
pub async fn run(engine: Engine, o: ServeOptions) -> anyhow::Result<()> {
    check_exposure(&o).map_err(anyhow::Error::msg)?;
    let tls = match (&o.tls_cert, &o.tls_key) {
        (Some(c), Some(k)) => Some(
            axum_server::tls_rustls::RustlsConfig::from_pem_file(c, k)
                .await
                .map_err(|e| {
                    anyhow::anyhow!(
                        "cannot load the TLS certificate {} / key {}: {e}",
                        c.display(),
                        k.display()
                    )
                })?,
        ),
        _ => None,
    };
    let auth = Arc::new(auth::Auth::open(&o.db, o.rate_limit_per_minute)?);
    let active_tokens = engine
        .list_tokens()?
        .iter()
        .filter(|t| t.status == "active")
        .count();
    let engine = Arc::new(Mutex::new(engine));
    let gate = Arc::new(http::Gate::new(allowed_origins(&o)));
    let cancel = CancellationToken::new();
    // Built once (tool schemas and all), cloned per session: at 2026-07-28, per request.
    let template = session_server(&engine, &o);
    let make = move || template.clone();
    let app = http::router(
        make,
        auth,
        gate.clone(),
        http::McpHttpConfig {
            allowed_hosts: allowed_hosts(&o),
            max_body_bytes: o.max_body_bytes,
            cancel: cancel.clone(),
        },
    );

    let listener = std::net::TcpListener::bind(o.listen)
        .map_err(|e| anyhow::anyhow!("cannot listen on {}: {e}", o.listen))?;
    listener.set_nonblocking(true)?;
    let addr = listener.local_addr()?;
    let scheme = if tls.is_some() { "https" } else { "http" };
    let url = format!("{scheme}://{}:{}/mcp", url_host(addr.ip()), addr.port());
    if !addr.ip().is_loopback() && tls.is_none() {
        eprintln!(
            "warning: --insecure-http: MCP on {addr} is plain HTTP. Bearer tokens and every answer (your accounts, \
             your partners' shared data) cross the network unencrypted, readable and replayable by anyone on the path. \
             Use it only behind a TLS-terminating proxy on a trusted network."
        );
    }
    if o.files.as_deref().is_none_or(|f| f.trim().is_empty()) {
        tracing::info!(target: "partnermap::serve", "file tools are off (set PARTNERMAP_FILES to folders on this server to serve them)");
    }
    eprintln!(
        "partnermap serve: MCP (streamable HTTP) at {url} — {active_tokens} active token(s); health at {scheme}://{}:{}/healthz",
        url_host(addr.ip()),
        addr.port()
    );
    eprintln!(
        "connect: claude mcp add --transport http partnermap {url} --header \"Authorization: Bearer TOKEN\"   (a token: partnermap token create --user EMAIL)"
    );

    let handle = axum_server::Handle::new();
    let shutdown = {
        let handle = handle.clone();
        let gate = gate.clone();
        let cancel = cancel.clone();
        async move {
            wait_for_signal().await;
            eprintln!(
                "partnermap serve: shutting down; {} call(s) under way will finish",
                gate.in_flight()
            );
            gate.start_draining();
            if tokio::time::timeout(DRAIN_LIMIT, gate.drained())
                .await
                .is_err()
            {
                eprintln!(
                    "partnermap serve: calls still under way after {DRAIN_LIMIT:?}; stopping anyway"
                );
            }
            cancel.cancel();
            handle.graceful_shutdown(Some(Duration::from_secs(5)));
        }
    };
    tokio::spawn(shutdown);
    let service = app.into_make_service();
    match tls {
        Some(cfg) => {
            axum_server::from_tcp_rustls(listener, cfg)?
                .handle(handle)
                .serve(service)
                .await?
        }
        None => {
            axum_server::from_tcp(listener)?
                .handle(handle)
                .serve(service)
                .await?
        }
    }
    eprintln!("partnermap serve: stopped");
    Ok(())
}

async fn wait_for_signal() {
    use tokio::signal::unix::{SignalKind, signal};
    let mut term = signal(SignalKind::terminate()).expect("SIGTERM handler");
    tokio::select! {
        _ = term.recv() => {}
        _ = tokio::signal::ctrl_c() => {}
    }
}
