//! HTTPS between instances: hyper over tokio-rustls with the pinned-ID verifiers of
//! [`super::tls`]. The client posts one JSON body and reads one back; the server hands each
//! request, with the caller's instance ID from its certificate, to a blocking handler.

use super::identity::{Identity, InstanceId};
use super::tls;
use crate::error::{Error, Result};
use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::{TcpListener, TcpStream};
use tokio_rustls::{TlsAcceptor, TlsConnector};

/// Largest body accepted (blinded sets of a few million records).
pub const MAX_BODY: usize = 512 << 20;
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
const REQUEST_TIMEOUT: Duration = Duration::from_secs(600);

/// The answer to any request that is not for a partnership this instance has (unknown
/// instance, unknown link, bad secret): always the same.
pub const UNKNOWN: &str = "no such partnership";

/// Appends a body this instance sends to the wire log (`PARTNERMAP_WIRE_LOG`, a test mode).
pub fn record_wire(direction: &str, body: &[u8]) {
    if let Ok(path) = std::env::var("PARTNERMAP_WIRE_LOG")
        && !path.is_empty()
    {
        use std::io::Write;
        if let Ok(mut f) = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
        {
            let _ = writeln!(f, "--- {direction} {} bytes", body.len());
            let _ = f.write_all(body);
            let _ = writeln!(f);
        }
    }
}

fn host_port(url: &str) -> Result<String> {
    let u = url::Url::parse(url)
        .map_err(|_| Error::Invalid(format!("'{url}' is not a URL (https://host:port).")))?;
    if u.scheme() != "https" {
        return Err(Error::Invalid(format!("'{url}' must be an https:// URL.")));
    }
    let host = u
        .host_str()
        .ok_or_else(|| Error::Invalid(format!("'{url}' has no host.")))?;
    let port = u.port().unwrap_or(443);
    Ok(if host.contains(':') && !host.starts_with('[') {
        format!("[{host}]:{port}")
    } else {
        format!("{host}:{port}")
    })
}

/// A failed request: unreachable (network, TLS, wrong ID) or refused with a status.
#[derive(Debug)]
pub enum PostError {
    Unreachable(String),
    Status(u16, String),
}

impl std::fmt::Display for PostError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            PostError::Unreachable(e) => write!(f, "unreachable: {e}"),
            PostError::Status(s, b) => write!(f, "refused ({s}): {b}"),
        }
    }
}

/// Posts `body` to `url` + `path`, accepting only the server with ID `pinned`.
pub async fn post(
    me: &Identity,
    pinned: InstanceId,
    url: &str,
    path: &str,
    body: Vec<u8>,
) -> std::result::Result<Vec<u8>, PostError> {
    let unreachable = |e: String| PostError::Unreachable(e);
    let addr = host_port(url).map_err(|e| unreachable(e.to_string()))?;
    let cfg = tls::client_config(me, pinned).map_err(|e| unreachable(e.to_string()))?;
    record_wire(&format!("request {path}"), &body);
    let work = async {
        let tcp = tokio::time::timeout(CONNECT_TIMEOUT, TcpStream::connect(&addr))
            .await
            .map_err(|_| unreachable(format!("no answer from {addr}")))?
            .map_err(|e| unreachable(format!("{addr}: {e}")))?;
        let _ = tcp.set_nodelay(true);
        let tls = TlsConnector::from(Arc::new(cfg))
            .connect(tls::server_name(), tcp)
            .await
            .map_err(|e| unreachable(format!("TLS with {addr} failed: {e}")))?;
        let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(tls))
            .await
            .map_err(|e| unreachable(e.to_string()))?;
        tokio::spawn(async move {
            let _ = conn.await;
        });
        let req = Request::post(path)
            .header("host", "peer.partnermap.invalid")
            .header("content-type", "application/json")
            .body(Full::new(Bytes::from(body)))
            .map_err(|e| unreachable(e.to_string()))?;
        let resp = sender
            .send_request(req)
            .await
            .map_err(|e| unreachable(e.to_string()))?;
        let status = resp.status();
        let bytes = Limited::new(resp.into_body(), MAX_BODY)
            .collect()
            .await
            .map_err(|e| unreachable(e.to_string()))?
            .to_bytes();
        if !status.is_success() {
            return Err(PostError::Status(
                status.as_u16(),
                String::from_utf8_lossy(&bytes).chars().take(300).collect(),
            ));
        }
        Ok(bytes.to_vec())
    };
    tokio::time::timeout(REQUEST_TIMEOUT, work)
        .await
        .map_err(|_| unreachable("timed out".into()))?
}

/// What a handler returns: a status and a body.
pub type Handled = (u16, Vec<u8>);

/// A request handler: (path, the caller's instance ID, body) → answer, on the blocking pool.
pub type Handler = Arc<dyn Fn(&str, InstanceId, Vec<u8>) -> Handled + Send + Sync>;

/// Serves the peer endpoint on `listener` until the process ends. `handle(path, peer, body)`
/// runs on the blocking pool.
pub async fn serve(listener: TcpListener, me: Identity, handle: Handler) -> Result<()> {
    let acceptor = TlsAcceptor::from(Arc::new(tls::server_config(&me)?));
    loop {
        let (tcp, peer_addr): (TcpStream, SocketAddr) = match listener.accept().await {
            Ok(x) => x,
            Err(e) => {
                tracing::warn!("accept failed: {e}");
                continue;
            }
        };
        let acceptor = acceptor.clone();
        let handle = handle.clone();
        tokio::spawn(async move {
            let tls = match tokio::time::timeout(CONNECT_TIMEOUT, acceptor.accept(tcp)).await {
                Ok(Ok(t)) => t,
                Ok(Err(e)) => {
                    tracing::info!(%peer_addr, "TLS handshake refused: {e}");
                    return;
                }
                Err(_) => return,
            };
            let peer = tls
                .get_ref()
                .1
                .peer_certificates()
                .and_then(|c| c.first())
                .and_then(|c| InstanceId::of_cert(c).ok());
            let Some(peer) = peer else { return };
            let svc = hyper::service::service_fn(move |req: Request<hyper::body::Incoming>| {
                let handle = handle.clone();
                async move {
                    let path = req.uri().path().to_string();
                    let body = match Limited::new(req.into_body(), MAX_BODY).collect().await {
                        Ok(b) => b.to_bytes().to_vec(),
                        Err(_) => {
                            return Ok::<_, std::convert::Infallible>(respond(
                                413,
                                b"body too large".to_vec(),
                            ));
                        }
                    };
                    let (status, out) =
                        tokio::task::spawn_blocking(move || handle(&path, peer, body))
                            .await
                            .unwrap_or((500, b"internal error".to_vec()));
                    record_wire(&format!("response {status}"), &out);
                    Ok(respond(status, out))
                }
            });
            if let Err(e) = hyper::server::conn::http1::Builder::new()
                .serve_connection(TokioIo::new(tls), svc)
                .await
            {
                tracing::debug!("connection ended: {e}");
            }
        });
    }
}

fn respond(status: u16, body: Vec<u8>) -> Response<Full<Bytes>> {
    let mut r = Response::new(Full::new(Bytes::from(body)));
    *r.status_mut() = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    r.headers_mut().insert(
        "content-type",
        hyper::header::HeaderValue::from_static("application/json"),
    );
    r
}
