//! The remote-MCP HTTP surface: `/mcp` (rmcp's streamable HTTP transport, behind the Origin
//! check, the drain gate and token auth) and `/healthz`. Only routing and HTTP concerns live
//! here; the MCP tools are the same `PartnermapServer` the stdio transport serves.

use super::auth::{Auth, require_token};
use crate::mcp::PartnermapServer;
use axum::Router;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use http_body_util::BodyExt;
use rmcp::transport::streamable_http_server::{
    StreamableHttpServerConfig, StreamableHttpService, session::local::LocalSessionManager,
};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

/// Shared state of the HTTP side: in-flight MCP requests and the drain flag.
pub struct Gate {
    in_flight: watch::Sender<usize>,
    draining: AtomicBool,
    allowed_origins: Vec<String>,
}

impl Gate {
    pub fn new(allowed_origins: Vec<String>) -> Gate {
        Gate {
            in_flight: watch::Sender::new(0),
            draining: AtomicBool::new(false),
            allowed_origins,
        }
    }

    pub fn in_flight(&self) -> usize {
        *self.in_flight.borrow()
    }

    /// Refuses new MCP requests from now on (503); the ones under way go on.
    pub fn start_draining(&self) {
        self.draining.store(true, Ordering::SeqCst);
    }

    /// Waits until no MCP request is under way.
    pub async fn drained(&self) {
        let mut rx = self.in_flight.subscribe();
        let _ = rx.wait_for(|n| *n == 0).await;
    }
}

/// One MCP request under way: counted from its arrival until its response body is finished.
struct InFlight(Arc<Gate>);

impl InFlight {
    fn enter(gate: &Arc<Gate>) -> InFlight {
        gate.in_flight.send_modify(|n| *n += 1);
        InFlight(gate.clone())
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.in_flight.send_modify(|n| *n -= 1);
    }
}

/// Whether a browser `Origin` is on the allow-list. Entries are origins (`https://app.example.com`)
/// or origins with `:*` for any port (`http://localhost:*`); `null` matches `Origin: null`.
pub fn origin_allowed(origin: &str, allowed: &[String]) -> bool {
    let origin = origin.trim();
    if origin == "null" {
        return allowed.iter().any(|a| a == "null");
    }
    let Ok(o) = url::Url::parse(origin) else {
        return false;
    };
    allowed.iter().any(|a| {
        let (base, any_port) = match a.strip_suffix(":*") {
            Some(b) => (b, true),
            None => (a.as_str(), false),
        };
        let Ok(u) = url::Url::parse(base) else {
            return false;
        };
        u.scheme() == o.scheme()
            && u.host_str().map(str::to_ascii_lowercase)
                == o.host_str().map(str::to_ascii_lowercase)
            && (any_port || u.port_or_known_default() == o.port_or_known_default())
    })
}

/// Outermost layer on `/mcp`: a foreign `Origin` is 403 (DNS rebinding), a draining server 503,
/// and every request is counted in flight until its response body ends.
async fn gate(State(gate): State<Arc<Gate>>, req: Request, next: Next) -> Response {
    if let Some(origin) = req.headers().get(header::ORIGIN) {
        let ok = origin
            .to_str()
            .is_ok_and(|o| origin_allowed(o, &gate.allowed_origins));
        if !ok {
            tracing::warn!(target: "partnermap::serve", origin = ?origin, "foreign Origin refused");
            return (
                StatusCode::FORBIDDEN,
                "this Origin is not allowed; the operator can add it with `partnermap serve --allow-origin ORIGIN`.\n",
            )
                .into_response();
        }
    }
    if gate.draining.load(Ordering::SeqCst) {
        let mut r = (
            StatusCode::SERVICE_UNAVAILABLE,
            "partnermap is shutting down; reconnect in a moment.\n",
        )
            .into_response();
        r.headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from_static("5"));
        return r;
    }
    // GET opens the long-lived stream for server messages: not a call to wait for at shutdown.
    let guard = (req.method() != Method::GET).then(|| InFlight::enter(&gate));
    let resp = next.run(req).await;
    match guard {
        None => resp,
        Some(g) => resp.map(|b| {
            Body::new(b.map_frame(move |f| {
                let _held = &g;
                f
            }))
        }),
    }
}

async fn healthz(State(gate): State<Arc<Gate>>) -> Response {
    let draining = gate.draining.load(Ordering::SeqCst);
    let body = serde_json::json!({
        "status": if draining { "draining" } else { "ok" },
        "version": env!("CARGO_PKG_VERSION"),
        "in_flight": gate.in_flight(),
    });
    let code = if draining {
        StatusCode::SERVICE_UNAVAILABLE
    } else {
        StatusCode::OK
    };
    (code, axum::Json(body)).into_response()
}

/// What the `/mcp` service needs to know.
pub struct McpHttpConfig {
    pub allowed_hosts: Option<Vec<String>>,
    pub max_body_bytes: usize,
    pub cancel: CancellationToken,
}

/// The router: `/mcp` and `/healthz`. `make_server` gives one MCP server per session (all
/// sharing one engine).
pub fn router(
    make_server: impl Fn() -> PartnermapServer + Send + Sync + 'static,
    auth: Arc<Auth>,
    gate_state: Arc<Gate>,
    cfg: McpHttpConfig,
) -> Router {
    let mut config = StreamableHttpServerConfig::default()
        .with_max_request_body_bytes(cfg.max_body_bytes)
        .with_cancellation_token(cfg.cancel)
        // The Origin check is ours (above), before authentication.
        .disable_allowed_origins();
    config = match cfg.allowed_hosts {
        Some(hosts) => config.with_allowed_hosts(hosts),
        None => config.disable_allowed_hosts(),
    };
    let service = StreamableHttpService::new(
        move || Ok(make_server()),
        Arc::new(LocalSessionManager::default()),
        config,
    );
    let mcp = Router::new()
        .fallback_service(service)
        .layer(middleware::from_fn_with_state(auth, require_token))
        .layer(middleware::from_fn_with_state(gate_state.clone(), gate));
    Router::new()
        .route("/healthz", get(healthz))
        .with_state(gate_state)
        .nest_service("/mcp", mcp)
}

#[cfg(test)]
mod tests {
    use super::origin_allowed;

    #[test]
    fn origins_match_scheme_host_and_port() {
        let allow = vec![
            "http://localhost:*".to_string(),
            "https://app.example.com".to_string(),
        ];
        assert!(origin_allowed("http://localhost:6274", &allow));
        assert!(origin_allowed("http://LOCALHOST", &allow));
        assert!(origin_allowed("https://app.example.com", &allow));
        assert!(origin_allowed("https://app.example.com:443", &allow));
        assert!(!origin_allowed("https://app.example.com:8443", &allow));
        assert!(!origin_allowed("http://app.example.com", &allow));
        assert!(!origin_allowed("https://evil.example", &allow));
        assert!(!origin_allowed("http://localhost.evil.example", &allow));
        assert!(!origin_allowed("null", &allow));
        assert!(!origin_allowed("not a url", &allow));
    }
}
