// The test host's side of MCP Apps: ext-apps' AppBridge, bundled for the browser by run.mjs.
import "./jitless.mjs";
export { AppBridge, PostMessageTransport } from "@modelcontextprotocol/ext-apps/app-bridge";
