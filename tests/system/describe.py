"""The `describe` case of tests/system/run: examples/api's self-description
checked by real tools, installed from PyPI into a venv by the run script.

usage: describe.py BASE_URL WORK_DIR

1. openapi-spec-validator accepts GET /openapi.json as OpenAPI 3.1.
2. schemathesis runs against the API from that document, with checks for
   what the document promises (no 5xx, status codes and content types as
   documented, bodies matching their schemas), a bounded number of examples
   per operation and a bounded time.
3. The official MCP Python SDK connects to /mcp over Streamable HTTP,
   initializes, lists the tools (exactly user, create_user, search), calls
   each, and makes one call whose arguments the route refuses.

Prints one line `DESCRIBE {json}` with what it saw; exits 1 on a failure.
"""

import asyncio
import json
import subprocess
import sys
import urllib.request

BASE, WORK = sys.argv[1].rstrip("/"), sys.argv[2]
report = {"failures": []}


def fail(message):
    report["failures"].append(message)


# ------------------------------------------------------------ 1. the document
with urllib.request.urlopen(BASE + "/openapi.json", timeout=10) as response:
    document = json.load(response)
try:
    from openapi_spec_validator import validate

    validate(document)
    report["openapi_valid"] = True
except Exception as error:  # the validator's own error types vary by version
    report["openapi_valid"] = False
    fail(f"openapi-spec-validator refused /openapi.json: {str(error)[:600]}")
report["operations"] = sum(len(item) for item in document.get("paths", {}).values())

# ------------------------------------------------------------ 2. schemathesis
# Left out, each for a reason:
# - /panic answers 500 on purpose: "no 5xx" cannot hold there.
# - /slow sleeps up to 10 s per example, /events and /stream stream for as
#   long as `n` and `interval_ms` say: bounded time and these do not mix.
# - /echo answers the media type the request sent, and /files/{path} takes
#   slashes in its capture: OpenAPI can state neither.
# - /admin/stats answers 401 from the bearer-token layer of its mounted
#   router; the document is built from the route macros, which cannot see
#   what a layer adds, so the 401 is not in it.
EXCLUDED = "^/(panic|slow|events|stream|echo|files/.*|admin/.*)$"
# The coverage phase also sends methods the operations do not list; QUERY
# (an HTTP draft) is one the server does not implement at all, and HTTP
# prescribes 501 for that, a 5xx that is no handler's failure. Every other
# method it tries gets the router's 405.
config = f"{WORK}/schemathesis.toml"
with open(config, "w") as out:
    out.write('[phases.coverage]\nunexpected-methods = ["get", "put", "post", "delete", "options", "patch", "trace"]\n')
st = [
    sys.executable, "-m", "schemathesis.cli", "--config-file", config, "run", BASE + "/openapi.json",
    "--checks", "not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance",
    "--exclude-path-regex", EXCLUDED,
    "--max-examples", "25",
    "--request-timeout", "5",
    "--seed", "1",
]
try:
    # In the work directory: schemathesis leaves a cache where it runs.
    run = subprocess.run(st, capture_output=True, text=True, timeout=240, cwd=WORK)
    with open(f"{WORK}/schemathesis.log", "w") as log:
        log.write(run.stdout + run.stderr)
    report["schemathesis_rc"] = run.returncode
    if run.returncode != 0:
        tail = (run.stdout + run.stderr)[-1500:]
        fail(f"schemathesis exited {run.returncode}: {tail}")
except subprocess.TimeoutExpired:
    report["schemathesis_rc"] = "timeout"
    fail("schemathesis ran past 240 s")

# ------------------------------------------------------------ 3. MCP
async def mcp_session():
    from mcp.client.session import ClientSession
    from mcp.client.streamable_http import streamable_http_client

    async with streamable_http_client(BASE + "/mcp", terminate_on_close=False) as streams:
        read, write = streams[0], streams[1]
        async with ClientSession(read, write) as session:
            init = await session.initialize()
            report["mcp_protocol"] = getattr(init, "protocol_version", None)
            tools = await session.list_tools()
            names = [tool.name for tool in tools.tools]
            report["mcp_tools"] = names
            if sorted(names) != ["create_user", "search", "user"]:
                fail(f"tools/list: expected user, create_user, search; got {names}")
            calls = {
                "user": ({"id": 7}, {"id": 7, "name": "user7"}),
                "create_user": ({"name": "ann"}, None),
                "search": ({"q": "rust", "limit": 3}, {"q": "rust", "limit": 3}),
            }
            seen = {}
            for name, (arguments, expected) in calls.items():
                result = await session.call_tool(name, arguments)
                seen[name] = result.structured_content
                if result.is_error:
                    fail(f"tools/call {name} {arguments}: isError, {result.content}")
                elif expected is not None and result.structured_content != expected:
                    fail(f"tools/call {name} {arguments}: structuredContent {result.structured_content}, expected {expected}")
            if not (seen.get("create_user") or {}).get("name") == "ann":
                fail(f"tools/call create_user: {seen.get('create_user')}")
            refused = await session.call_tool("user", {"id": "seven"})
            text = refused.content[0].text if refused.content else ""
            report["mcp_refused"] = {"is_error": refused.is_error, "text": text}
            if not refused.is_error or '"Bad Request"' not in text:
                fail(f"tools/call user {{id: 'seven'}}: expected isError with the JSON 400, got {refused}")
            report["mcp_calls"] = seen

try:
    asyncio.run(asyncio.wait_for(mcp_session(), timeout=60))
except Exception as error:
    fail(f"MCP Python SDK session failed: {type(error).__name__}: {str(error)[:600]}")

print("DESCRIBE " + json.dumps(report))
sys.exit(1 if report["failures"] else 0)
