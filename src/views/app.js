// The MCP App side (SEP-1865): connects to the host with the official ext-apps `App` client
// (ui/initialize), follows the host's theme and style variables, and draws each tool result the
// host delivers (ui/notifications/tool-result) with PM.render.
{
  const { App, applyDocumentTheme, applyHostStyleVariables } = McpExtApps;
  const root = document.getElementById("app");
  const view = root.dataset.view;

  const applyContext = (ctx) => {
    if (!ctx) return;
    if (ctx.theme === "light" || ctx.theme === "dark") applyDocumentTheme(ctx.theme);
    if (ctx.styles && ctx.styles.variables) applyHostStyleVariables(ctx.styles.variables);
  };

  const firstText = (result) => {
    for (const c of Array.isArray(result.content) ? result.content : []) {
      if (c && c.type === "text" && typeof c.text === "string") return c.text;
    }
    return "";
  };

  const show = (result) => {
    if (!result) return;
    if (result.isError) {
      PM.message(root, "The tool reported an error: " + firstText(result), true);
      return;
    }
    let data = result.structuredContent;
    if (data == null) {
      try {
        data = JSON.parse(firstText(result));
      } catch (_) {
        data = null;
      }
    }
    PM.render(view, root, data);
  };

  const app = new App({ name: "partnermap-" + view, version: root.dataset.version || "0" }, {}, { autoResize: true });
  app.ontoolinput = () => PM.message(root, "Waiting for the tool result…");
  app.ontoolresult = show;
  app.onhostcontextchanged = applyContext;
  app.connect()
    .then(() => applyContext(app.getHostContext()))
    .catch((e) => PM.message(root, "Could not connect to the host: " + (e && e.message ? e.message : e), true));
}
