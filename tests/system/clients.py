#!/usr/bin/env python3
"""Python clients of tests/system/run (standard library only).

  clients.py inflight --addr HOST:PORT --requests 100 --ms 2000 --streams 20
                      --ready FILE
      The SIGTERM case. Opens STREAMS raw-socket SSE streams
      (/events, long) and waits for each one's first event, then sends
      REQUESTS `POST /slow?ms=MS` with http.client, one connection each, and
      writes FILE once every request is sent: the caller sends SIGTERM then.
      Reads every answer and stream to its end and prints one JSON line:
      each POST must be a 200 `slept MS`; each stream must end with the
      closing chunk after events 0, 1, 2... in order.

  clients.py sse-timing URL --n 5 --interval-ms 300
      Runs `curl -sS -N URL` and stamps the arrival of each SSE `id:` line:
      through a proxy that buffers, they all arrive at the end.

  clients.py http-client --addr HOST:PORT
      The API through http.client on ONE keep-alive connection (GET, HEAD,
      chunked POST, JSON POST, a 400, a short SSE stream read whole).

  clients.py post-probe --addr HOST:PORT --secs S --conns C --slow-conns K
      C threads sending `POST /echo` back to back and K more sending
      `POST /slow?ms=100` (the api's "slow non-idempotent request that a
      restart must not lose"), each in a loop on its own keep-alive
      http.client connection for S seconds; counts
      answers by result and failures by reason. Used to measure what a
      rolling restart does to requests that a proxy must never replay.

Every command prints one JSON line on stdout (`"ok"` says whether its
checks held) and exits 0 when ok, 1 when not, 2 on bad usage.
"""

import argparse
import http.client
import json
import socket
import subprocess
import sys
import threading
import time
from collections import Counter


def split_addr(addr):
    host, port = addr.rsplit(":", 1)
    return host, int(port)


# --- raw HTTP/1.1 response decoding (for streams, where the framing matters)


def decode_response(raw):
    """Splits a raw response into (status, headers, body, clean_end, rest).

    clean_end: the body is complete by its framing (for chunked, the closing
    zero chunk and the empty trailer line were seen)."""
    end = raw.find(b"\r\n\r\n")
    if end < 0:
        return None, {}, b"", False, raw
    head = raw[:end].decode("latin-1").split("\r\n")
    parts = head[0].split(" ", 2)
    status = int(parts[1]) if len(parts) > 1 and parts[1].isdigit() else None
    headers = {}
    for line in head[1:]:
        if ":" in line:
            k, v = line.split(":", 1)
            headers[k.strip().lower()] = v.strip()
    rest = raw[end + 4:]
    if "chunked" in headers.get("transfer-encoding", "").lower():
        body = bytearray()
        pos = 0
        while True:
            nl = rest.find(b"\r\n", pos)
            if nl < 0:
                return status, headers, bytes(body), False, b""
            size_text = rest[pos:nl].split(b";")[0].strip()
            try:
                size = int(size_text, 16)
            except ValueError:
                return status, headers, bytes(body), False, b""
            pos = nl + 2
            if size == 0:
                # Trailers until an empty line.
                while True:
                    nl = rest.find(b"\r\n", pos)
                    if nl < 0:
                        return status, headers, bytes(body), False, b""
                    if nl == pos:
                        return status, headers, bytes(body), True, rest[nl + 2:]
                    pos = nl + 2
            if len(rest) < pos + size + 2:
                body += rest[pos:]
                return status, headers, bytes(body), False, b""
            body += rest[pos:pos + size]
            if rest[pos + size:pos + size + 2] != b"\r\n":
                return status, headers, bytes(body), False, b""
            pos += size + 2
    if "content-length" in headers:
        n = int(headers["content-length"])
        return status, headers, rest[:n], len(rest) >= n, rest[n:]
    return status, headers, rest, True, b""


def sse_frames(body):
    """(event, id, data) of each frame with data, comments skipped."""
    frames = []
    text = body.decode("utf-8", "replace").replace("\r\n", "\n")
    for block in text.split("\n\n"):
        event = ident = None
        data = []
        for line in block.split("\n"):
            if not line or line.startswith(":"):
                continue
            field, _, value = line.partition(":")
            value = value[1:] if value.startswith(" ") else value
            if field == "event":
                event = value
            elif field == "id":
                ident = value
            elif field == "data":
                data.append(value)
        if data:
            frames.append((event, ident, "\n".join(data)))
    return frames


# --- inflight: the SIGTERM case


def inflight(args):
    host, port = split_addr(args.addr)
    started = time.monotonic()
    out = {"case": "sigterm", "failures": []}

    # 1. Streams first, each proven live by its first event.
    streams = []
    target = f"/events?n={args.stream_events}&interval_ms={args.stream_interval_ms}"
    for i in range(args.streams):
        s = {"raw": bytearray(), "first": threading.Event(), "error": None, "eof": False}
        streams.append(s)

        def run_stream(s=s):
            try:
                sock = socket.create_connection((host, port), timeout=5)
                sock.settimeout(args.timeout)
                sock.sendall(
                    f"GET {target} HTTP/1.1\r\nHost: {args.addr}\r\nAccept: text/event-stream\r\n\r\n".encode()
                )
                while True:
                    data = sock.recv(65536)
                    if not data:
                        s["eof"] = True
                        break
                    s["raw"] += data
                    if b"\nid: " in s["raw"]:
                        s["first"].set()
                sock.close()
            except Exception as e:  # noqa: BLE001 - reported, not raised
                s["error"] = f"{type(e).__name__}: {e}"
            finally:
                s["first"].set()

        s["thread"] = threading.Thread(target=run_stream, daemon=True)
        s["thread"].start()
    for s in streams:
        s["first"].wait(timeout=10)

    # 2. The slow requests, each on its own http.client connection.
    posts = [dict() for _ in range(args.requests)]
    sent = threading.Semaphore(0)

    def run_post(p):
        t0 = time.monotonic()
        try:
            conn = http.client.HTTPConnection(host, port, timeout=args.timeout)
            conn.request(
                "POST",
                f"/slow?ms={args.ms}",
                body=b"in flight at SIGTERM",
                headers={"Content-Type": "text/plain"},
            )
            p["sent_ms"] = round((time.monotonic() - t0) * 1000, 1)
            sent.release()
            resp = conn.getresponse()
            p["status"] = resp.status
            p["body"] = resp.read().decode("utf-8", "replace")
            p["connection"] = resp.getheader("Connection")
            conn.close()
        except Exception as e:  # noqa: BLE001
            p["error"] = f"{type(e).__name__}: {e}"
            sent.release()
        p["ms"] = round((time.monotonic() - t0) * 1000, 1)

    threads = [threading.Thread(target=run_post, args=(p,), daemon=True) for p in posts]
    for t in threads:
        t.start()
    for _ in posts:
        sent.acquire(timeout=10)
    out["all_sent_after_ms"] = round((time.monotonic() - started) * 1000, 1)
    with open(args.ready, "w") as f:
        f.write("ready\n")

    # 3. Every answer and every stream to its end (bounded).
    deadline = time.monotonic() + args.timeout + 5
    for t in threads:
        t.join(timeout=max(0.1, deadline - time.monotonic()))
    for s in streams:
        s["thread"].join(timeout=max(0.1, deadline - time.monotonic()))

    statuses = Counter()
    for i, p in enumerate(posts):
        statuses[str(p.get("status", p.get("error", "no answer (hang)")))] += 1
        want = f"slept {args.ms}"
        if p.get("status") != 200 or p.get("body") != want:
            if len(out["failures"]) < 10:
                out["failures"].append(
                    f"POST /slow?ms={args.ms} #{i}: sent, received {p.get('status')} {p.get('body', p.get('error', 'nothing'))!r}"
                )
    out["posts"] = {
        "sent": args.requests,
        "answered_200": sum(1 for p in posts if p.get("status") == 200 and p.get("body") == f"slept {args.ms}"),
        "by_status": dict(statuses),
        "connection_close": sum(1 for p in posts if (p.get("connection") or "").lower() == "close"),
        "max_ms": max((p.get("ms", 0) for p in posts), default=0),
    }
    clean = 0
    goodbyes = 0
    events = []
    for i, s in enumerate(streams):
        status, headers, body, clean_end, rest = decode_response(bytes(s["raw"]))
        frames = sse_frames(body)
        # A stream cut by shutdown ends with the API's goodbye frame
        # (`event: error`, `data: shutting down`), then the closing chunk.
        said_goodbye = bool(frames) and frames[-1][0] == "error" and frames[-1][2] == "shutting down"
        if said_goodbye:
            frames = frames[:-1]
        goodbyes += said_goodbye
        ids = [f[1] for f in frames]
        in_order = ids == [str(k) for k in range(len(ids))] and all(
            f[0] == "tick" and f[2] == f[1] for f in frames
        )
        events.append(len(frames))
        ok = status == 200 and clean_end and in_order and len(frames) > 0 and s["error"] is None
        clean += ok
        if not ok and len(out["failures"]) < 20:
            out["failures"].append(
                f"stream #{i} GET {target}: status {status}, {len(frames)} events, ids in order {in_order}, "
                f"closing chunk {'seen' if clean_end else 'MISSING'}, eof {s['eof']}, error {s['error']}, "
                f"last bytes received {bytes(s['raw'][-80:])!r}"
            )
    out["streams"] = {
        "opened": args.streams,
        "ended_cleanly": clean,
        "said_goodbye": goodbyes,
        "events_min": min(events, default=0),
        "events_max": max(events, default=0),
    }
    out["ok"] = not out["failures"]
    print(json.dumps(out))
    return 0 if out["ok"] else 1


# --- sse-timing: are events passed through at once?


def sse_timing(args):
    cmd = ["curl", "-sS", "-N", "--max-time", str(args.max_time), args.url]
    t0 = time.monotonic()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, bufsize=0)
    arrivals = []
    ids = []
    buf = b""
    while True:
        chunk = proc.stdout.read1(65536) if hasattr(proc.stdout, "read1") else proc.stdout.read(1)
        if not chunk:
            break
        now = time.monotonic()
        buf += chunk
        while b"\n" in buf:
            line, buf = buf.split(b"\n", 1)
            if line.startswith(b"id:"):
                ids.append(line[3:].strip().decode())
                arrivals.append(round((now - t0) * 1000, 1))
    proc.wait(timeout=args.max_time + 5)
    err = proc.stderr.read().decode(errors="replace").strip()
    gaps = [round(b - a, 1) for a, b in zip(arrivals, arrivals[1:])]
    lo, hi = args.interval_ms * 0.5, args.interval_ms * 2.5
    failures = []
    if proc.returncode != 0:
        failures.append(f"curl exited {proc.returncode}: {err}")
    if ids != [str(i) for i in range(args.n)]:
        failures.append(f"ids {ids}, expected 0..{args.n - 1}")
    bad = [g for g in gaps if not lo <= g <= hi]
    if bad:
        failures.append(
            f"gaps between events {gaps} ms: expected each ~{args.interval_ms} ms (within {lo:.0f}..{hi:.0f}); "
            "events were held back (buffered), not passed through"
        )
    out = {
        "url": args.url,
        "command": " ".join(cmd),
        "ids": ids,
        "arrival_ms": arrivals,
        "gaps_ms": gaps,
        "failures": failures,
        "ok": not failures,
    }
    print(json.dumps(out))
    return 0 if out["ok"] else 1


# --- http-client: the API through http.client on one keep-alive connection


def http_client(args):
    host, port = split_addr(args.addr)
    conn = http.client.HTTPConnection(host, port, timeout=10)
    failures = []
    checks = []

    def check(name, method, path, want_status, body=None, headers=None, want_body=None, want_json=None,
              want_header=None, encode_chunked=False):
        try:
            conn.request(method, path, body=body, headers=headers or {}, encode_chunked=encode_chunked)
            resp = conn.getresponse()
            data = resp.read()
        except Exception as e:  # noqa: BLE001
            failures.append(f"{name}: sent {method} {path}, got exception {type(e).__name__}: {e}")
            checks.append({"name": name, "ok": False})
            return None
        problems = []
        if resp.status != want_status:
            problems.append(f"status {resp.status}, expected {want_status}")
        if want_body is not None and data != want_body:
            problems.append(f"body {data[:120]!r}, expected {want_body[:120]!r}")
        if want_json is not None:
            try:
                got = json.loads(data)
                if got != want_json:
                    problems.append(f"JSON {got}, expected {want_json}")
            except ValueError:
                problems.append(f"body {data[:120]!r} is not JSON")
        for k, v in (want_header or {}).items():
            got = resp.getheader(k)
            if not (got == v if not v.endswith("*") else (got or "").startswith(v[:-1])):
                problems.append(f"header {k}: {got!r}, expected {v!r}")
        if resp.getheader("X-Request-Id") is None:
            problems.append("no X-Request-Id header")
        if problems:
            failures.append(
                f"{name}: sent {method} {path} (body {str(body)[:60] if body is not None else 'none'}), received "
                f"{resp.status} {dict(resp.getheaders())} {data[:200]!r}: " + "; ".join(problems)
            )
        checks.append({"name": name, "status": resp.status, "ok": not problems})
        return data

    check("GET /json", "GET", "/json", 200, want_json={"message": "Hello, World!"})
    check("HEAD /plaintext", "HEAD", "/plaintext", 200, want_body=b"")
    payload = [b"chunk-%d;" % i * 100 for i in range(20)]
    check("POST /echo chunked", "POST", "/echo", 200, body=iter(payload), encode_chunked=True,
          headers={"Content-Type": "application/x-test", "Transfer-Encoding": "chunked"},
          want_body=b"".join(payload), want_header={"Content-Type": "application/x-test"})
    check("POST /users", "POST", "/users", 201, body=json.dumps({"name": "py"}),
          headers={"Content-Type": "application/json"}, want_header={"Location": "/users/*"})
    check("GET /search", "GET", "/search?q=a+b%21&limit=3", 200, want_json={"q": "a b!", "limit": 3})
    check("GET /users/abc (400)", "GET", "/users/abc", 400)
    check("GET /nowhere (404)", "GET", "/nowhere", 404)
    data = check("GET /events?n=3", "GET", "/events?n=3", 200)
    if data is not None:
        frames = sse_frames(data)
        if frames != [("tick", str(i), str(i)) for i in range(3)]:
            failures.append(f"GET /events?n=3: frames {frames}, expected ticks 0..2")
    check("GET /plaintext after the stream (same connection)", "GET", "/plaintext", 200,
          want_body=b"Hello, World!")
    conn.close()
    out = {"addr": args.addr, "checks": len(checks), "passed": sum(c["ok"] for c in checks),
           "failures": failures, "ok": not failures}
    print(json.dumps(out))
    return 0 if out["ok"] else 1


# --- post-probe: non-idempotent requests through a restart


def post_probe(args):
    host, port = split_addr(args.addr)
    end = time.monotonic() + args.secs
    results = Counter()  # by "PATH result"
    examples = []
    lock = threading.Lock()

    def run(worker):
        conn = None
        n = 0
        while time.monotonic() < end and n < 100_000:
            n += 1
            body = f"post {worker}-{n}".encode()
            path, want = ("/echo", body) if worker < args.conns else ("/slow?ms=100", b"slept 100")
            try:
                if conn is None:
                    conn = http.client.HTTPConnection(host, port, timeout=10)
                conn.request("POST", path, body=body, headers={"Content-Type": "text/plain"})
                resp = conn.getresponse()
                data = resp.read()
                key = "200" if resp.status == 200 and data == want else f"status {resp.status}"
                if resp.will_close:
                    conn.close()
                    conn = None
            except Exception as e:  # noqa: BLE001
                key = f"{type(e).__name__}: {e}"
                if conn is not None:
                    conn.close()
                conn = None
            ok = key == "200"
            key = f"{path.split('?')[0]} 200" if ok else f"{path}: {key}"
            with lock:
                results[key] += 1
                if not ok and len(examples) < 5:
                    examples.append(f"sent POST {path} {body!r}, received {key} at t={args.secs - (end - time.monotonic()):.2f}s")

    threads = [threading.Thread(target=run, args=(i,), daemon=True) for i in range(args.conns + args.slow_conns)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=args.secs + 15)
    failed = sum(v for k, v in results.items() if not (k.startswith("/") and k.endswith(" 200") and ":" not in k))
    out = {"addr": args.addr, "requests": sum(results.values()), "failed": failed,
           "by_result": dict(results), "examples": examples, "ok": failed == 0}
    print(json.dumps(out))
    return 0 if out["ok"] else 1


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="cmd", required=True)
    a = sub.add_parser("inflight")
    a.add_argument("--addr", required=True)
    a.add_argument("--requests", type=int, default=100)
    a.add_argument("--ms", type=int, default=2000)
    a.add_argument("--streams", type=int, default=20)
    a.add_argument("--stream-events", type=int, default=10_000)
    a.add_argument("--stream-interval-ms", type=int, default=100)
    a.add_argument("--ready", required=True)
    a.add_argument("--timeout", type=float, default=30)
    b = sub.add_parser("sse-timing")
    b.add_argument("url")
    b.add_argument("--n", type=int, default=5)
    b.add_argument("--interval-ms", type=int, default=300)
    b.add_argument("--max-time", type=int, default=15)
    c = sub.add_parser("http-client")
    c.add_argument("--addr", required=True)
    d = sub.add_parser("post-probe")
    d.add_argument("--addr", required=True)
    d.add_argument("--secs", type=float, default=10)
    d.add_argument("--conns", type=int, default=2)
    d.add_argument("--slow-conns", type=int, default=2)
    args = p.parse_args()
    fn = {"inflight": inflight, "sse-timing": sse_timing, "http-client": http_client, "post-probe": post_probe}[args.cmd]
    sys.exit(fn(args))


if __name__ == "__main__":
    main()
