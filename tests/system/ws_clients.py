"""WebSocket checks with Python's `websockets` client (PyPI), for
tests/system/run's `ws` case. Speaks only to 127.0.0.1; every wait is bounded.

usage: ws_clients.py echo     --addr HOST:PORT          /ws/echo: text, binary,
                                                         fragments, ping, close codes
       ws_clients.py many     --addr HOST:PORT --n 1000 N sockets open at once, each echoing
       ws_clients.py stop     --addr HOST:PORT          llm_stream's /chat/ws: `stop`
                                                         ends the tokens within 50 ms
       ws_clients.py sigterm  --addr HOST:PORT --pid P --n 50
                                                         SIGTERM with sockets open: each
                                                         gets Close 1001, the server exits

Prints one JSON object: {"ok": bool, "failures": [...], ...figures}.
"""

import argparse
import asyncio
import json
import os
import signal
import socket
import struct
import sys
import time

import websockets
from websockets.exceptions import ConnectionClosed

WAIT = 10


def url(addr, path):
    return f"ws://{addr}{path}"


async def closed_code(ws):
    """Reads until the server closes; the code it sent."""
    try:
        while True:
            await asyncio.wait_for(ws.recv(), WAIT)
    except ConnectionClosed:
        pass
    return ws.close_code


def raw_frame_close_code(addr, frame):
    """Sends `frame` (bytes as given) after a raw handshake; the code of the
    server's Close."""
    host, port = addr.rsplit(":", 1)
    with socket.create_connection((host, int(port)), timeout=WAIT) as s:
        s.sendall(
            b"GET /ws/echo HTTP/1.1\r\nHost: t\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
        )
        head = b""
        while b"\r\n\r\n" not in head:
            chunk = s.recv(1)
            if not chunk:
                return None
            head += chunk
        if not head.startswith(b"HTTP/1.1 101"):
            return None
        s.sendall(frame)
        data = b""
        while len(data) < 4:
            chunk = s.recv(4 - len(data))
            if not chunk:
                return None
            data += chunk
        if data[0] != 0x88:
            return None
        return struct.unpack(">H", data[2:4])[0]


def masked(opcode, payload):
    mask = b"\x01\x02\x03\x04"
    body = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
    return bytes([0x80 | opcode, 0x80 | len(payload)]) + mask + body


async def check_echo(addr, out):
    fails = out["failures"]
    async with websockets.connect(url(addr, "/ws/echo"), max_size=None) as ws:
        await ws.send("héllo")
        got = await asyncio.wait_for(ws.recv(), WAIT)
        if got != "héllo":
            fails.append(f"text echo: {got!r}")
        await ws.send(bytes([0, 1, 2, 255]))
        got = await asyncio.wait_for(ws.recv(), WAIT)
        if got != bytes([0, 1, 2, 255]):
            fails.append(f"binary echo: {got!r}")
        # An iterable is sent as one fragmented message.
        await ws.send(["frag", "men", "ted"])
        got = await asyncio.wait_for(ws.recv(), WAIT)
        if got != "fragmented":
            fails.append(f"fragmented echo: {got!r}")
        pong = await ws.ping(b"are you there")
        t0 = time.monotonic()
        await asyncio.wait_for(pong, WAIT)
        out["ping_rtt_ms"] = round((time.monotonic() - t0) * 1000, 2)
        await ws.close(4000, "bye")
        code = ws.close_code
        if code != 4000:
            fails.append(f"close 4000 was answered with {code}")
    out["close_answered"] = 4000
    # Over the 2 MiB limit: 1009.
    async with websockets.connect(url(addr, "/ws/echo"), max_size=None) as ws:
        try:
            await ws.send(b"x" * (3 << 20))
        except ConnectionClosed:
            pass
        code = await closed_code(ws)
        out["too_big"] = code
        if code != 1009:
            fails.append(f"a 3 MiB message closed with {code}, not 1009")
    out["invalid_utf8"] = raw_frame_close_code(addr, masked(0x1, b"a\xff\xfe"))
    if out["invalid_utf8"] != 1007:
        fails.append(f"invalid UTF-8 closed with {out['invalid_utf8']}, not 1007")
    out["unmasked"] = raw_frame_close_code(addr, b"\x81\x02hi")
    if out["unmasked"] != 1002:
        fails.append(f"an unmasked frame closed with {out['unmasked']}, not 1002")
    out["bad_opcode"] = raw_frame_close_code(addr, masked(0x3, b""))
    if out["bad_opcode"] != 1002:
        fails.append(f"opcode 3 closed with {out['bad_opcode']}, not 1002")


async def check_many(addr, n, out):
    sockets = []
    t0 = time.monotonic()
    try:
        for i in range(n):
            sockets.append(await asyncio.wait_for(websockets.connect(url(addr, "/ws/echo")), WAIT))
        out["opened"] = len(sockets)
        out["open_secs"] = round(time.monotonic() - t0, 2)

        async def echo(i, ws):
            for k in range(3):
                msg = f"socket {i} message {k}"
                await ws.send(msg)
                if await asyncio.wait_for(ws.recv(), WAIT) != msg:
                    return False
            return True

        t1 = time.monotonic()
        results = await asyncio.gather(*(echo(i, ws) for i, ws in enumerate(sockets)), return_exceptions=True)
        out["echo_secs"] = round(time.monotonic() - t1, 2)
        good = sum(1 for r in results if r is True)
        out["echoed"] = good
        if good != n:
            bad = [repr(r) for r in results if r is not True][:3]
            out["failures"].append(f"{n - good} of {n} sockets did not echo: {bad}")
    except Exception as e:  # noqa: BLE001 - reported, not hidden
        out["failures"].append(f"after {len(sockets)} sockets: {e!r}")
    finally:
        await asyncio.gather(*(ws.close() for ws in sockets), return_exceptions=True)


async def check_stop(addr, out):
    async with websockets.connect(url(addr, "/chat/ws")) as ws:
        await ws.send("Why is the sky blue?")
        tokens = [await asyncio.wait_for(ws.recv(), WAIT) for _ in range(3)]
        await ws.send("stop")
        sent = time.monotonic()
        after = 0
        try:
            while True:
                await asyncio.wait_for(ws.recv(), WAIT)
                after += 1
        except ConnectionClosed:
            pass
        stop_ms = (time.monotonic() - sent) * 1000
    out["tokens_before_stop"] = tokens
    out["tokens_after_stop"] = after
    out["stop_to_close_ms"] = round(stop_ms, 2)
    out["close"] = [ws.close_code, ws.close_reason]
    if stop_ms > 50:
        out["failures"].append(f"the close came {stop_ms:.1f} ms after `stop`, not within 50 ms")
    if after > 1:
        out["failures"].append(f"{after} tokens arrived after `stop`")
    if out["close"] != [1000, "stopped"]:
        out["failures"].append(f"closed with {out['close']}, not [1000, 'stopped']")


async def check_sigterm(addr, pid, n, out):
    sockets = [await asyncio.wait_for(websockets.connect(url(addr, "/ws/echo")), WAIT) for _ in range(n)]
    for ws in sockets:
        await ws.send("hi")
        await asyncio.wait_for(ws.recv(), WAIT)
    t0 = time.monotonic()
    os.kill(pid, signal.SIGTERM)
    codes = await asyncio.gather(*(closed_code(ws) for ws in sockets))
    out["close_codes"] = sorted(set(codes))
    out["all_closed_ms"] = round((time.monotonic() - t0) * 1000, 1)
    if any(c != 1001 for c in codes):
        out["failures"].append(f"close codes on SIGTERM: {sorted(set(codes))}, not all 1001")


def main():
    p = argparse.ArgumentParser()
    p.add_argument("mode", choices=["echo", "many", "stop", "sigterm"])
    p.add_argument("--addr", required=True)
    p.add_argument("--n", type=int, default=1000)
    p.add_argument("--pid", type=int)
    a = p.parse_args()
    out = {"mode": a.mode, "websockets": websockets.__version__, "failures": []}
    try:
        if a.mode == "echo":
            coro = check_echo(a.addr, out)
        elif a.mode == "many":
            coro = check_many(a.addr, a.n, out)
        elif a.mode == "stop":
            coro = check_stop(a.addr, out)
        else:
            coro = check_sigterm(a.addr, a.pid, a.n, out)
        asyncio.run(asyncio.wait_for(coro, 120))
    except Exception as e:  # noqa: BLE001 - reported, not hidden
        out["failures"].append(f"exception: {e!r}")
    out["ok"] = not out["failures"]
    print(json.dumps(out))
    sys.exit(0 if out["ok"] else 1)


if __name__ == "__main__":
    main()
