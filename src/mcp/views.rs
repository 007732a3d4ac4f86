//! MCP Apps (SEP-1865) wiring for the views of [`crate::views`]: each view's tool carries
//! `_meta.ui.resourceUri = "ui://partnermap/<view>"` in its definition, and the view's document is
//! listed and read as a resource of MIME type `text/html;profile=mcp-app`. Tool results are not
//! touched: hosts without MCP Apps get exactly the same text and structured content.

use super::PartnermapServer;
use crate::views::{self, LEGACY_META_KEY, View};
use rmcp::handler::server::router::tool::ToolRouter;
use rmcp::model::{MetaObject, ReadResourceResult, Resource, ResourceContents};
use serde_json::json;
use std::sync::OnceLock;

/// Puts `_meta.ui.resourceUri` (and the legacy flat key `ui/resourceUri`) on the definition of
/// every tool that has a view, when the router has that tool.
pub(crate) fn attach<S>(router: &mut ToolRouter<S>) {
    for v in View::ALL {
        if let Some(route) = router.map.get_mut(v.tool()) {
            let meta = route.attr.meta.get_or_insert_with(MetaObject::new);
            let ui = meta.0.entry("ui").or_insert_with(|| json!({}));
            if let Some(ui) = ui.as_object_mut() {
                ui.insert("resourceUri".into(), json!(v.uri()));
            }
            meta.0.insert(LEGACY_META_KEY.into(), json!(v.uri()));
        }
    }
}

/// The views whose tool this server has.
pub fn served() -> &'static [View] {
    static S: OnceLock<Vec<View>> = OnceLock::new();
    S.get_or_init(|| {
        let router = PartnermapServer::tool_router();
        View::ALL
            .into_iter()
            .filter(|v| router.has_route(v.tool()))
            .collect()
    })
}

/// The view resources, for `resources/list`.
pub(crate) fn resources() -> Vec<Resource> {
    served()
        .iter()
        .map(|v| {
            Resource::new(v.uri(), format!("view-{}", v.name()))
                .with_title(format!("{} (view)", v.title()))
                .with_description(v.description())
                .with_mime_type(views::MIME)
        })
        .collect()
}

/// `resources/read` of a `ui://partnermap/<view>` URI; `None` when `uri` is no served view.
pub(crate) fn read(uri: &str) -> Option<ReadResourceResult> {
    let v = View::from_uri(uri).filter(|v| served().contains(v))?;
    Some(ReadResourceResult::new(vec![
        ResourceContents::text(views::app_html(v), uri).with_mime_type(views::MIME),
    ]))
}
