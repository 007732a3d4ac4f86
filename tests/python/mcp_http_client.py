"""A third-party client against `partnermap serve`: the official MCP Python SDK (`mcp` on PyPI)
over streamable HTTP with a bearer token. Lists the tools, calls whoami and list_partners, and
prints one JSON line with what it saw (tests/mcp/mcp_http.rs checks it).

usage: python3 mcp_http_client.py URL TOKEN
"""

import asyncio
import json
import sys

import httpx2
from mcp import ClientSession
from mcp.client.streamable_http import streamable_http_client


async def main(url: str, token: str) -> None:
    headers = {"Authorization": f"Bearer {token}"}
    async with httpx2.AsyncClient(headers=headers, timeout=30.0) as http:
        async with streamable_http_client(url, http_client=http) as streams:
            read, write = streams[0], streams[1]
            async with ClientSession(read, write) as session:
                init = await session.initialize()
                tools = await session.list_tools()
                me = await session.call_tool("whoami", {})
                partners = await session.call_tool("list_partners", {})
                bad = await session.call_tool("get_partner", {"partner": "No Such Partner"})
                print(
                    json.dumps(
                        {
                            "server": init.server_info.name,
                            "protocol": init.protocol_version,
                            "tools": sorted(t.name for t in tools.tools),
                            "whoami": me.structured_content,
                            "whoami_is_error": bool(me.is_error),
                            "partners": partners.structured_content,
                            "bad_is_error": bool(bad.is_error),
                        }
                    )
                )


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], sys.argv[2]))
