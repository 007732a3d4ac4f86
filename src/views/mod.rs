//! Views (SPEC §12): the overlap heatmap, the partner leaderboard, the deal navigator and partner
//! influence, as self-contained HTML documents. Each document carries its script and styles
//! inline (no network, no external script) and renders a tool's structured result:
//!
//! - as an MCP App (SEP-1865): [`app_html`] inlines the official view-side client of
//!   `@modelcontextprotocol/ext-apps` (vendored under `vendor/ext-apps/`), which performs the
//!   `ui/initialize` handshake with the host, receives `ui/notifications/tool-result` and the host
//!   context (theme); the MCP layer serves it as `ui://partnermap/<view>`;
//! - standalone: [`dashboard_html`] embeds the results themselves (`partnermap dashboard`).
//!
//! The drawing code (`views.js`) is shared by both. Every string in the data is put in the page
//! with `textContent` / text nodes only, never parsed as HTML.

use serde_json::Value;
use std::sync::OnceLock;

/// The MIME type of an MCP App view (SEP-1865).
pub const MIME: &str = "text/html;profile=mcp-app";
/// The `_meta` key of the legacy flat form of `ui.resourceUri`, still read by older hosts.
pub const LEGACY_META_KEY: &str = "ui/resourceUri";

const EXT_APPS: &str = include_str!("vendor/ext-apps/app-with-deps.js");
const VIEWS_JS: &str = include_str!("views.js");
const APP_JS: &str = include_str!("app.js");
const DASHBOARD_JS: &str = include_str!("dashboard.js");
const STYLE: &str = include_str!("style.css");

/// One view and the tool whose result it draws.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum View {
    Overlaps,
    Leaderboard,
    Deals,
    Influence,
}

impl View {
    pub const ALL: [View; 4] = [
        View::Overlaps,
        View::Leaderboard,
        View::Deals,
        View::Influence,
    ];

    /// The view's name: the last part of its `ui://` URI and its key in the page's script.
    pub fn name(self) -> &'static str {
        match self {
            View::Overlaps => "overlaps",
            View::Leaderboard => "leaderboard",
            View::Deals => "deals",
            View::Influence => "influence",
        }
    }

    /// The MCP tool whose structured result the view draws.
    pub fn tool(self) -> &'static str {
        match self {
            View::Overlaps => "get_overlaps",
            View::Leaderboard => "top_partners",
            View::Deals => "deal_navigator",
            View::Influence => "partner_influence",
        }
    }

    pub fn title(self) -> &'static str {
        match self {
            View::Overlaps => "Overlap heatmap",
            View::Leaderboard => "Partner leaderboard",
            View::Deals => "Deal navigator",
            View::Influence => "Partner influence",
        }
    }

    pub fn description(self) -> &'static str {
        match self {
            View::Overlaps => {
                "The overlap matrix with one partner (get_overlaps) as a heatmap: your populations against the partner's, each cell labelled with its count."
            }
            View::Leaderboard => {
                "Your partners (top_partners) as a chart of impact percentile against coverage percentile, coloured by Partner Score label, beside the ranked list."
            }
            View::Deals => {
                "Your open deals (deal_navigator) with the partners that can help win each and the signal behind them."
            }
            View::Influence => {
                "Deals opened, won and lost with and without partners, by partner or by period (partner_influence)."
            }
        }
    }

    /// `ui://partnermap/<name>`.
    pub fn uri(self) -> String {
        format!("ui://partnermap/{}", self.name())
    }

    pub fn from_uri(uri: &str) -> Option<View> {
        let name = uri.strip_prefix("ui://partnermap/")?;
        View::ALL.into_iter().find(|v| v.name() == name)
    }
}

/// The vendored ext-apps bundle with its closing `export{a as B,...}` turned into
/// `const McpExtApps=Object.freeze({B:a,...});`, so that it runs inline in the page's one module
/// script and the view's code after it can use the exports.
fn ext_apps_inline() -> &'static str {
    static S: OnceLock<String> = OnceLock::new();
    S.get_or_init(|| {
        let at = EXT_APPS
            .rfind("export{")
            .expect("the vendored ext-apps bundle ends with an export list");
        let list = EXT_APPS[at + "export{".len()..]
            .trim_end()
            .trim_end_matches(';')
            .strip_suffix('}')
            .expect("the export list of the vendored ext-apps bundle is its last statement");
        let fields: Vec<String> = list
            .split(',')
            .map(|item| match item.split_once(" as ") {
                Some((local, exported)) => format!("{}:{}", exported.trim(), local.trim()),
                None => item.trim().to_string(),
            })
            .collect();
        format!(
            "{}\nconst McpExtApps=Object.freeze({{{}}});\n",
            &EXT_APPS[..at],
            fields.join(",")
        )
    })
}

fn head(title: &str) -> String {
    format!(
        "<!doctype html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <meta name=\"color-scheme\" content=\"light dark\">\n\
         <title>{title}</title>\n<style>\n{STYLE}</style>\n</head>\n"
    )
}

/// The MCP App document of one view: it connects to the host with the ext-apps `App` client and
/// draws each tool result the host delivers.
pub fn app_html(view: View) -> String {
    let mut s = head(&format!("partnermap · {}", view.title()));
    s.push_str(&format!(
        "<body>\n<main id=\"app\" data-view=\"{}\" data-version=\"{}\">\n\
         <p class=\"pm-status\" role=\"status\">Waiting for the tool result…</p>\n</main>\n\
         <script type=\"module\">\n",
        view.name(),
        env!("CARGO_PKG_VERSION")
    ));
    s.push_str(ext_apps_inline());
    s.push_str(VIEWS_JS);
    s.push('\n');
    s.push_str(APP_JS);
    s.push_str("\n</script>\n</body>\n</html>\n");
    s
}

/// A JSON value as text safe inside a `<script type="application/json">` element: `<`, `>` and
/// `&` escaped (no `</script>` can end the element early), and the line separators JavaScript
/// once rejected.
pub fn script_json(v: &Value) -> String {
    let s = serde_json::to_string(v).unwrap_or_else(|_| "null".into());
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '<' => out.push_str("\\u003c"),
            '>' => out.push_str("\\u003e"),
            '&' => out.push_str("\\u0026"),
            '\u{2028}' => out.push_str("\\u2028"),
            '\u{2029}' => out.push_str("\\u2029"),
            c => out.push(c),
        }
    }
    out
}

/// The standalone report: one HTML file with the views and their data embedded, opening in any
/// browser offline. `data` is `{org, generated_at, overlaps: [get_overlaps results],
/// leaderboard: top_partners result, deals: deal_navigator result, influence: partner_influence
/// result or null}`.
pub fn dashboard_html(data: &Value) -> String {
    let mut s = head("partnermap · dashboard");
    s.push_str(
        "<body>\n<main id=\"dashboard\">\n<p class=\"pm-status\" role=\"status\">Loading…</p>\n</main>\n\
         <script type=\"application/json\" id=\"pm-data\">",
    );
    s.push_str(&script_json(data));
    s.push_str("</script>\n<script>\n\"use strict\";\n");
    s.push_str(VIEWS_JS);
    s.push('\n');
    s.push_str(DASHBOARD_JS);
    s.push_str("\n</script>\n</body>\n</html>\n");
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn views_have_their_uri_and_tool() {
        for v in View::ALL {
            assert_eq!(View::from_uri(&v.uri()), Some(v));
            assert!(v.uri().starts_with("ui://partnermap/"));
        }
        assert_eq!(View::from_uri("ui://partnermap/nope"), None);
        assert_eq!(View::Overlaps.tool(), "get_overlaps");
    }

    #[test]
    fn the_bundle_exports_become_an_object() {
        let s = ext_apps_inline();
        assert!(!s.contains("export{"));
        assert!(s.contains("const McpExtApps=Object.freeze({"));
        for name in ["App:", "PostMessageTransport:", "applyDocumentTheme:"] {
            assert!(s.contains(name), "{name} missing");
        }
    }

    #[test]
    fn documents_are_self_contained() {
        for v in View::ALL {
            let h = app_html(v);
            assert!(h.starts_with("<!doctype html>"));
            assert_eq!(h.matches("</script>").count(), 1, "{}", v.name());
            for bad in [
                "<script src",
                "<link",
                "<iframe",
                "url(http",
                "@import",
                "src=\"http",
            ] {
                assert!(!h.contains(bad), "{} contains {bad}", v.name());
            }
        }
        let d = dashboard_html(
            &serde_json::json!({"org": {"name": "</script><script>alert(1)</script>"}}),
        );
        assert_eq!(d.matches("</script>").count(), 2);
        assert!(d.contains("\\u003c/script\\u003e"));
    }
}
