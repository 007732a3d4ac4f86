//! `partnermap serve`: remote MCP over streamable HTTP (SPEC §10). Parses flags and hands
//! over to [`partnermap::serve`].

use clap::Args;
use partnermap::serve::ServeOptions;
use partnermap::{Engine, Error};
use std::net::SocketAddr;
use std::path::PathBuf;

#[derive(Args, Debug)]
pub struct ServeArgs {
    /// Where remote MCP listens (`/mcp`). Loopback unless TLS or --insecure-http.
    #[arg(long, value_name = "ADDR:PORT")]
    listen: Option<SocketAddr>,
    /// Also (or only) serve partners on other partnermap instances here (mutual TLS, pinned
    /// instance IDs; FEDERATION.md), e.g. 0.0.0.0:7443 (port 0: any free port, printed on stderr).
    /// A port of its own, apart from the MCP listener.
    #[arg(long, value_name = "ADDR")]
    peer_listen: Option<String>,
    /// The address partners use to reach the peer endpoint (put in invitation codes), e.g.
    /// https://partners.example.com:7443. Default: https://<bound address>.
    #[arg(long, value_name = "URL", requires = "peer_listen")]
    public_url: Option<String>,
    /// TLS certificate chain (PEM); with --tls-key, serves HTTPS.
    #[arg(long, value_name = "PEM")]
    tls_cert: Option<PathBuf>,
    /// TLS private key (PEM).
    #[arg(long, value_name = "PEM")]
    tls_key: Option<PathBuf>,
    /// Serve plain HTTP on a non-loopback address (only behind a TLS-terminating proxy).
    #[arg(long)]
    insecure_http: bool,
    /// A browser Origin allowed to call /mcp besides loopback pages, e.g. https://app.example.com (repeatable).
    #[arg(
        long = "allow-origin",
        value_name = "ORIGIN",
        env = "PARTNERMAP_ALLOWED_ORIGINS",
        value_delimiter = ','
    )]
    allow_origins: Vec<String>,
    /// A host name clients reach this server by, checked against `Host` (repeatable).
    #[arg(
        long = "allow-host",
        value_name = "HOST",
        env = "PARTNERMAP_ALLOWED_HOSTS",
        value_delimiter = ','
    )]
    allow_hosts: Vec<String>,
    /// Requests per minute per token (bursts up to the same number).
    #[arg(long, default_value_t = 600, value_name = "N")]
    rate_limit: u32,
    /// The largest request body accepted, in bytes (413 beyond).
    #[arg(long, default_value_t = 1 << 20, value_name = "BYTES")]
    max_body_bytes: usize,
    /// The largest tool result sent, in bytes of JSON (an isError result beyond).
    #[arg(long, default_value_t = 4 << 20, value_name = "BYTES")]
    max_result_bytes: usize,
    /// Toolsets to serve (comma-separated; `all` = every tool), as for `partnermap mcp`.
    #[arg(
        long,
        env = "PARTNERMAP_TOOLSETS",
        value_name = "LIST",
        value_delimiter = ','
    )]
    toolsets: Vec<String>,
    /// Serve no tool that writes.
    #[arg(long, env = "PARTNERMAP_READ_ONLY", value_parser = clap::builder::FalseyValueParser::new())]
    read_only: bool,
}

/// The MCP listener when neither `--listen` nor `--peer-listen` is given.
const DEFAULT_LISTEN: &str = "127.0.0.1:7457";

pub fn run(args: ServeArgs, engine: Engine, db: PathBuf) -> Result<(), Error> {
    // The MCP listener: `--listen`, or the default unless only the peer endpoint was asked for.
    let listen = match (args.listen, &args.peer_listen) {
        (Some(l), _) => Some(l),
        (None, None) => Some(DEFAULT_LISTEN.parse().expect("a valid address")),
        (None, Some(_)) => None,
    };
    // The federation endpoint runs on its own port and runtime; if it cannot start, the
    // process stops with its sentence.
    let peer = args.peer_listen.clone().map(|addr| {
        let (db, url) = (db.clone(), args.public_url.clone());
        std::thread::spawn(move || {
            let r = partnermap::federation::serve::run(&db, &addr, url.as_deref());
            if let Err(e) = &r {
                eprintln!("error: {e}");
                std::process::exit(1);
            }
            r
        })
    });
    let Some(listen) = listen else {
        return peer
            .expect("--peer-listen was given")
            .join()
            .map_err(|_| Error::Io("the peer endpoint stopped unexpectedly".into()))?;
    };
    let opts = ServeOptions {
        db,
        listen,
        tls_cert: args.tls_cert,
        tls_key: args.tls_key,
        insecure_http: args.insecure_http,
        allow_origins: args.allow_origins,
        allow_hosts: args.allow_hosts,
        rate_limit_per_minute: args.rate_limit,
        max_body_bytes: args.max_body_bytes,
        max_result_bytes: args.max_result_bytes,
        files: std::env::var("PARTNERMAP_FILES").ok(),
        tools: partnermap::mcp::ToolsetOptions::new(&args.toolsets, args.read_only)
            .map_err(Error::Invalid)?,
    };
    partnermap::serve::check_exposure(&opts).map_err(Error::Invalid)?;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| Error::Io(format!("cannot start the async runtime: {e}")))?;
    let r = rt.block_on(partnermap::serve::run(engine, opts));
    // Calls still blocked on the database after the drain limit are not waited for forever.
    rt.shutdown_timeout(std::time::Duration::from_secs(5));
    r.map_err(|e| Error::Io(format!("partnermap serve stopped: {e}")))
}
