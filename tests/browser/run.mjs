// Loads partnermap's views in headless Chromium and reports what they drew.
//
// node run.mjs SPEC.json  →  JSON on stdout: {cases: [{name, errors, requests, dom}]}
//
// SPEC: {chromium, cases: [...]}; a case is either
//   {name, kind: "app", html, theme, toolName, toolArgs, toolResult, screenshot}
//     a minimal MCP Apps host page: the view document (html, as read over MCP) in a sandboxed
//     iframe, connected with @modelcontextprotocol/ext-apps' AppBridge (host side of the official
//     SDK, bundled here with esbuild), which answers ui/initialize with the host context (theme)
//     and delivers ui/notifications/tool-input and ui/notifications/tool-result;
//   {name, kind: "file", path, screenshot}: a standalone file opened from disk.
// Every request that is not the page itself is counted and refused (the views need no network).
import * as esbuild from "esbuild";
import { chromium } from "playwright-core";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { pathToFileURL } from "node:url";

const spec = JSON.parse(readFileSync(process.argv[2], "utf8"));

const bridgeJs = (
  await esbuild.build({
    entryPoints: [join(import.meta.dirname, "host-entry.mjs")],
    bundle: true,
    format: "iife",
    globalName: "ExtAppsHost",
    platform: "browser",
    write: false,
    logLevel: "silent",
  })
).outputFiles[0].text;

// The restrictive policy SEP-1865 tells hosts to apply when a view declares no domains; a srcdoc
// iframe inherits it from this page, so the view's own scripts run under it (no eval, no network).
const CSP = "default-src 'none'; script-src 'self' 'unsafe-inline'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; media-src 'self' data:; connect-src 'none'";
const HOST_PAGE = `<!doctype html><html><head><meta charset="utf-8"><title>test host</title>
<meta http-equiv="Content-Security-Policy" content="${CSP}">
<style>body{margin:0;padding:8px;background:#888}iframe{border:0;width:1000px;height:200px;display:block;background:transparent}</style>
</head><body><div id="frame-holder"></div></body></html>`;

// Runs in the host page: the view in a sandboxed iframe, the AppBridge on the other end.
async function startHost({ html, theme, toolName, toolArgs, toolResult }) {
  const { AppBridge, PostMessageTransport } = window.ExtAppsHost;
  const iframe = document.createElement("iframe");
  iframe.setAttribute("sandbox", "allow-scripts");
  iframe.setAttribute("title", "view");
  iframe.srcdoc = html;
  document.getElementById("frame-holder").appendChild(iframe);
  window.__host = { initialized: false, sizes: [] };
  const bridge = new AppBridge(
    null,
    { name: "partnermap-test-host", version: "1.0.0" },
    { openLinks: {}, logging: {} },
    {
      hostContext: {
        theme,
        displayMode: "inline",
        availableDisplayModes: ["inline"],
        toolInfo: { tool: { name: toolName, inputSchema: { type: "object" } } },
      },
    },
  );
  bridge.onsizechange = ({ height }) => {
    if (height) {
      iframe.style.height = Math.ceil(height) + "px";
      window.__host.sizes.push(height);
    }
  };
  bridge.oninitialized = async () => {
    window.__host.initialized = true;
    await bridge.sendToolInput({ arguments: toolArgs || {} });
    await bridge.sendToolResult(toolResult);
    window.__host.sent = true;
  };
  await bridge.connect(new PostMessageTransport(iframe.contentWindow, iframe.contentWindow));
}

// Runs inside a view: what it drew, for the test to compare with the tool result.
function readDom() {
  const t = (e) => (e ? e.textContent.trim() : null);
  const all = (sel, f) => Array.from(document.querySelectorAll(sel)).map(f || t);
  const bg = getComputedStyle(document.body).backgroundColor;
  return {
    rendered: document.querySelector("[data-rendered=true]") !== null,
    theme: document.documentElement.dataset.theme || null,
    background: bg,
    title: t(document.querySelector("h2")),
    h2: all("h2"),
    subtitle: t(document.querySelector(".pm-sub")),
    status: t(document.querySelector(".pm-status")),
    scripts: document.scripts.length,
    pwned: window.__pwned === undefined ? null : String(window.__pwned),
    heat: {
      cols: all("table.pm-heat thead th"),
      rows: all("table.pm-heat tbody th"),
      cells: all("button.pm-cell", (b) => ({ label: b.getAttribute("aria-label"), text: t(b) })),
      focusable: all("button.pm-cell", (b) => b.tabIndex >= 0).filter(Boolean).length,
    },
    rank: all("table.pm-rank tbody tr", (tr) => Array.from(tr.children).map(t)),
    points: all("svg .pm-pt", (c) => ({ label: c.getAttribute("aria-label"), cls: c.getAttribute("class") })),
    deals: all("table.pm-deals tbody tr", (tr) => ({
      cells: Array.from(tr.children).map(t),
      partners: Array.from(tr.querySelectorAll(".pm-pname")).map(t),
      signals: Array.from(tr.querySelectorAll(".pm-sig")).map(t),
    })),
    influence: all("table.pm-infl tbody tr", (tr) => Array.from(tr.children).map(t)),
    cards: all(".pm-card b"),
    sections: all("section.pm-section", (s) => s.id),
    partnerOptions: all("#pm-partner option"),
    notes: all(".pm-note"),
  };
}

const browser = await chromium.launch({
  executablePath: spec.chromium || "/usr/bin/chromium",
  args: [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
  ],
});
const out = { cases: [] };
try {
  for (const c of spec.cases) {
    const context = await browser.newContext({ viewport: { width: 1040, height: 800 }, colorScheme: c.theme === "dark" ? "dark" : "light" });
    const page = await context.newPage();
    const errors = [];
    const requests = [];
    const warnings = [];
    page.on("console", (m) => {
      if (m.type() === "error") errors.push("console: " + m.text());
      if (m.type() === "warning") warnings.push(m.text());
    });
    page.on("pageerror", (e) => errors.push("pageerror: " + e.message));
    const pageUrl = c.kind === "file" ? pathToFileURL(c.path).href : null;
    await context.route("**/*", (route) => {
      const u = route.request().url();
      if (u === pageUrl) return route.continue();
      requests.push(u);
      return route.abort();
    });
    try {
    let frame;
    if (c.kind === "app") {
      await page.setContent(HOST_PAGE);
      await page.addScriptTag({ content: bridgeJs });
      await page.evaluate(startHost, c);
      // (polled with evaluate: waitForFunction evaluates strings, which the page's CSP forbids)
      for (let i = 0; !(await page.evaluate(() => !!(window.__host && window.__host.sent))); i++) {
        if (i > 200) throw new Error("the host never delivered the tool result (no ui/initialize?)");
        await page.waitForTimeout(100);
      }
      frame = page.frames().find((f) => f !== page.mainFrame());
      await frame.waitForSelector("[data-rendered=true]", { timeout: 20000 });
      // let auto-resize settle
      await page.waitForTimeout(300);
    } else {
      await page.goto(pageUrl);
      frame = page.mainFrame();
      await frame.waitForSelector("[data-rendered=true]", { timeout: 20000 });
    }
    const dom = await frame.evaluate(readDom);
    if (c.focusFirstCell) {
      await frame.focus("button.pm-cell");
      await page.keyboard.press("ArrowRight");
      dom.afterKeys = await frame.evaluate(() => ({
        focused: document.activeElement ? document.activeElement.getAttribute("aria-label") : null,
        detail: document.querySelector(".pm-detail") ? document.querySelector(".pm-detail").textContent : null,
      }));
    }
    if (c.screenshot) {
      if (c.kind === "app") {
        const box = await page.locator("iframe").boundingBox();
        await page.setViewportSize({ width: 1040, height: Math.ceil(box.y + box.height + 8) });
        await page.locator("iframe").screenshot({ path: c.screenshot });
      } else {
        await page.screenshot({ path: c.screenshot, fullPage: true });
      }
    }
    out.cases.push({ name: c.name, errors, warnings, requests, dom });
    } catch (e) {
      errors.push("the case failed: " + e.message.split("\n")[0]);
      out.cases.push({ name: c.name, errors, warnings, requests, dom: null });
    }
    await context.close();
  }
} finally {
  await browser.close();
}
process.stdout.write(JSON.stringify(out));
