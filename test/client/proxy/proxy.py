#!/usr/bin/env python3
"""A logging proxy for the client tests (Python 3 standard library only).

usage: proxy.py --upstream http://127.0.0.1:PORT --port-file FILE|- --record FILE
                [--listen 127.0.0.1:0] [--ws-text N] [--body-limit BYTES]

Listens on --listen (default 127.0.0.1:0: a free port, written to --port-file
once bound, or printed on stdout with --port-file -) and forwards every connection to --upstream: HTTP/1.1 requests
one after another on a kept-alive connection (Content-Length, chunked and
read-until-close bodies, 1xx interim answers such as 100 Continue), and
websocket upgrades (after the 101, bytes both ways until either side closes).
The bytes forwarded are never changed: heads and bodies go through as they
were read, in the order they were read; what is recorded is parsed from a
copy.

Each exchange adds one JSON line to --record (written when it ends; for a
websocket when it closes): the times, method, path, parsed query, request
headers, request body (parsed when it is JSON), response status, headers and
body, whether it was a websocket and, for one, how many messages each side
sent, the first N (--ws-text, default 50) text messages of the server and the
close codes.  Credentials are redacted in the record (never in what is
forwarded): the Coder-Session-Token and Authorization headers, the
coder_session_token cookie and query parameter, and "password" and
"session_token" fields of JSON bodies.  A redacted token is recorded as
"<redacted sha256:XXXXXXXXXXXX>" (the first 12 hex digits of its SHA-256), so
that a reader can tell whose token a request carried without the token.

On SIGTERM or SIGINT it stops listening, lets the connections still open
finish (at most 5 s) so that their exchanges are recorded, and exits 0.
Exit status 2 for bad arguments, 1 when the listener or the record file
cannot be opened.
"""
import argparse
import asyncio
import datetime
import gzip
import hashlib
import itertools
import json
import os
import signal
import struct
import sys
import time
import urllib.parse
import zlib

HEAD_LIMIT = 1 << 20          # longest request or response head accepted
READ_SIZE = 65536
SECRET_FIELDS = {"password", "old_password", "session_token"}
TOKEN_HEADERS = {"coder-session-token", "authorization"}
TOKEN_COOKIE = "coder_session_token"


def die(what, why, code=1):
    """Print proxy: WHAT: WHY on stderr and exit with CODE."""
    print(f"proxy: {what}: {why}", file=sys.stderr)
    sys.exit(code)


def fingerprint(secret):
    """The recorded stand-in for a token: a short hash that identifies it."""
    return "<redacted sha256:%s>" % hashlib.sha256(secret.encode()).hexdigest()[:12]


def redact_cookie(value):
    """A Cookie or Set-Cookie value with the session token cookie redacted."""
    parts = []
    for part in value.split(";"):
        name, eq, val = part.partition("=")
        if eq and name.strip() == TOKEN_COOKIE:
            part = f"{name}={fingerprint(val.strip())}"
        parts.append(part)
    return ";".join(parts)


def redact_headers(headers):
    """HEADERS ([name, value] pairs) as recorded: tokens and cookies redacted."""
    out = []
    for name, value in headers:
        low = name.lower()
        if low in TOKEN_HEADERS:
            value = fingerprint(value)
        elif low in ("cookie", "set-cookie"):
            value = redact_cookie(value)
        out.append([name, value])
    return out


def redact_json(value):
    """VALUE (parsed JSON) with password and session_token fields redacted."""
    if isinstance(value, dict):
        out = {}
        for k, v in value.items():
            if k in SECRET_FIELDS and isinstance(v, str):
                out[k] = "<redacted>" if "password" in k else fingerprint(v)
            else:
                out[k] = redact_json(v)
        return out
    if isinstance(value, list):
        return [redact_json(v) for v in value]
    return value


def parse_query(query):
    """The query string as {name: [values]}, the session token redacted."""
    out = {}
    for k, v in urllib.parse.parse_qsl(query, keep_blank_values=True):
        if k == TOKEN_COOKIE:
            v = fingerprint(v)
        out.setdefault(k, []).append(v)
    return out


def header(headers, name):
    """The value of the last header NAME (case-insensitive), or None."""
    found = None
    for k, v in headers:
        if k.lower() == name:
            found = v
    return found


def has_token(headers, name, token):
    """Whether header NAME holds TOKEN in its comma-separated list."""
    v = header(headers, name)
    return v is not None and token in [t.strip().lower() for t in v.split(",")]


def parse_head(raw):
    """A request or response head: (first line as 3 parts, [[name, value]...])."""
    lines = raw.decode("latin-1").split("\r\n")
    first = (lines[0].split(" ", 2) + ["", ""])[:3]
    headers = []
    for line in lines[1:]:
        if not line:
            continue
        name, _, value = line.partition(":")
        headers.append([name.strip(), value.strip()])
    return first, headers


def decode_body(data, headers, limit):
    """DATA as recorded: parsed JSON, else text, else a note of its size."""
    if not data:
        return None
    enc = (header(headers, "content-encoding") or "").lower()
    try:
        if enc == "gzip":
            data = gzip.decompress(data)
        elif enc == "deflate":
            data = zlib.decompress(data)
    except (OSError, zlib.error, EOFError):
        return f"<{len(data)} bytes, {enc} that does not decode>"
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return f"<{len(data)} bytes of binary>"
    try:
        return redact_json(json.loads(text))
    except ValueError:
        return text if len(text) <= limit else text[:limit] + f"<... {len(text)} characters>"


class Capture:
    """A copy of the bytes of a body, kept up to a limit."""

    def __init__(self, limit):
        self.limit = limit
        self.data = bytearray()
        self.total = 0
        self.truncated = False

    def add(self, chunk):
        """Count CHUNK and keep it while under the limit."""
        self.total += len(chunk)
        room = self.limit - len(self.data)
        if room > 0:
            self.data += chunk[:room]
        if len(chunk) > room:
            self.truncated = True


async def pipe_fixed(reader, writer, n, cap):
    """Forward exactly N bytes from READER to WRITER, copying them to CAP."""
    while n > 0:
        chunk = await reader.read(min(n, READ_SIZE))
        if not chunk:
            raise EOFError(f"connection closed with {n} bytes of the body unread")
        writer.write(chunk)
        await writer.drain()
        cap.add(chunk)
        n -= len(chunk)


async def pipe_chunked(reader, writer, cap):
    """Forward a chunked body as it is (sizes, extensions, trailers); CAP gets the data."""
    while True:
        line = await reader.readuntil(b"\r\n")
        writer.write(line)
        size = int(line.split(b";", 1)[0].strip() or b"0", 16)
        if size == 0:
            while True:             # trailers, up to the empty line
                line = await reader.readuntil(b"\r\n")
                writer.write(line)
                if line == b"\r\n":
                    break
            await writer.drain()
            return
        await pipe_fixed(reader, writer, size, cap)
        end = await reader.readexactly(2)
        writer.write(end)


async def pipe_to_eof(reader, writer, cap):
    """Forward everything until READER ends (a body without a length)."""
    while True:
        chunk = await reader.read(READ_SIZE)
        if not chunk:
            return
        writer.write(chunk)
        await writer.drain()
        cap.add(chunk)


async def pipe_body(reader, writer, headers, cap, to_eof=False):
    """Forward the body that HEADERS announce: chunked, Content-Length, or until EOF."""
    te = (header(headers, "transfer-encoding") or "").lower()
    if "chunked" in te:
        await pipe_chunked(reader, writer, cap)
        return
    cl = header(headers, "content-length")
    if cl is not None:
        await pipe_fixed(reader, writer, int(cl), cap)
    elif to_eof:
        await pipe_to_eof(reader, writer, cap)


async def read_head(reader):
    """The next head (bytes up to the blank line), or None at a clean end of stream."""
    try:
        return await reader.readuntil(b"\r\n\r\n")
    except asyncio.IncompleteReadError as e:
        if e.partial.strip():
            raise EOFError("connection closed inside a head")
        return None


class Frames:
    """Websocket frames of one direction, parsed from a copy of the bytes."""

    def __init__(self, masked, keep_text, deflate):
        self.masked = masked
        self.keep_text = keep_text
        self.deflate = deflate      # None, or whether context is reset per message
        self.inflater = zlib.decompressobj(-15) if deflate is not None else None
        self.buf = bytearray()
        self.messages = 0
        self.text = []
        self.binary = 0
        self.pings = 0
        self.close_code = None
        self.close_reason = None
        self.msg = None             # [opcode, compressed, parts] of the message being read

    def feed(self, data):
        """Parse the frames that DATA completes."""
        self.buf += data
        while True:
            n = self._frame()
            if n == 0:
                return
            del self.buf[:n]

    def _frame(self):
        """Parse one whole frame at the start of the buffer; its length, or 0."""
        b = self.buf
        if len(b) < 2:
            return 0
        fin, rsv1, opcode = b[0] & 0x80, b[0] & 0x40, b[0] & 0x0F
        masked, n, pos = b[1] & 0x80, b[1] & 0x7F, 2
        if n == 126:
            if len(b) < 4:
                return 0
            n, pos = struct.unpack("!H", b[2:4])[0], 4
        elif n == 127:
            if len(b) < 10:
                return 0
            n, pos = struct.unpack("!Q", b[2:10])[0], 10
        mask = None
        if masked:
            if len(b) < pos + 4:
                return 0
            mask, pos = bytes(b[pos:pos + 4]), pos + 4
        if len(b) < pos + n:
            return 0
        payload = bytes(b[pos:pos + n])
        if mask:
            payload = bytes(c ^ mask[i % 4] for i, c in enumerate(payload))
        self._payload(fin, rsv1, opcode, payload)
        return pos + n

    def _payload(self, fin, rsv1, opcode, payload):
        """Account for one frame's payload."""
        if opcode >= 8:
            if opcode == 8:
                if len(payload) >= 2:
                    self.close_code = struct.unpack("!H", payload[:2])[0]
                    self.close_reason = payload[2:].decode("utf-8", "replace")
                elif self.close_code is None:
                    self.close_code = 1005
            elif opcode == 9:
                self.pings += 1
            return
        if opcode != 0:
            keep = opcode == 1 and len(self.text) < self.keep_text
            self.msg = [opcode, bool(rsv1), [] if keep else None]
        if self.msg is None:
            return
        if self.msg[2] is not None:
            self.msg[2].append(payload)
        if fin:
            self._message()

    def _message(self):
        """A whole message: count it and keep its text while under the limit."""
        opcode, compressed, parts = self.msg
        self.msg = None
        self.messages += 1
        if opcode == 2:
            self.binary += 1
        if parts is None:
            return
        data = b"".join(parts)
        if compressed and self.inflater is not None:
            try:
                data = self.inflater.decompress(data + b"\x00\x00\xff\xff")
            except zlib.error:
                data = b"<a compressed message that does not inflate>"
            if self.deflate:
                self.inflater = zlib.decompressobj(-15)
        text = data.decode("utf-8", "replace")
        self.text.append(text if len(text) <= 4096 else text[:4096] + "<...>")


def deflate_mode(headers):
    """None without permessage-deflate; else whether the server resets its context."""
    ext = header(headers, "sec-websocket-extensions") or ""
    if "permessage-deflate" not in ext:
        return None
    return "server_no_context_takeover" in ext


class Proxy:
    """The listener and the record file."""

    def __init__(self, args):
        u = urllib.parse.urlsplit(args.upstream)
        if u.scheme != "http" or not u.hostname or u.path not in ("", "/"):
            die("--upstream", f"{args.upstream!r} is not http://HOST:PORT", 2)
        self.up_host, self.up_port = u.hostname, u.port or 80
        self.args = args
        self.ids = itertools.count(1)
        self.seq = itertools.count(1)
        self.active = set()
        try:
            self.out = open(args.record, "a", encoding="utf-8")
        except OSError as e:
            die(f"--record {args.record}", e.strerror)

    def record(self, rec):
        """Append REC to the record file as one line."""
        self.out.write(json.dumps(rec, ensure_ascii=False, separators=(",", ":")) + "\n")
        self.out.flush()

    async def handle(self, creader, cwriter):
        """One client connection: its requests in order, or one websocket."""
        task = asyncio.current_task()
        self.active.add(task)
        try:
            await self.serve(creader, cwriter)
        finally:
            self.active.discard(task)

    async def serve(self, creader, cwriter):
        """The exchanges of one connection, then both ends closed."""
        conn = next(self.ids)
        uwriter = None
        try:
            try:
                ureader, uwriter = await asyncio.open_connection(self.up_host, self.up_port, limit=HEAD_LIMIT)
            except OSError as e:
                self.record({"conn": conn, "t_start": time.time(), "error": f"upstream: {e}"})
                return
            while await self.exchange(conn, creader, cwriter, ureader, uwriter):
                pass
        except (EOFError, ConnectionError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, ValueError) as e:
            self.record({"conn": conn, "t_start": time.time(), "error": f"{type(e).__name__}: {e}"})
        finally:
            for w in (cwriter, uwriter):
                if w is not None:
                    w.close()

    async def exchange(self, conn, creader, cwriter, ureader, uwriter):
        """Forward one request and its answer; whether the connection goes on."""
        head = await read_head(creader)
        if head is None:
            return False
        t0 = time.time()
        (method, target, version), rq_headers = parse_head(head)
        path, _, query = target.partition("?")
        stamp = datetime.datetime.fromtimestamp(t0, datetime.timezone.utc)
        rec = {"seq": next(self.seq), "conn": conn,
               "time": stamp.isoformat(timespec="microseconds").replace("+00:00", "Z"),
               "t_start": t0, "method": method, "path": path, "query": parse_query(query),
               "request_headers": redact_headers(rq_headers)}
        uwriter.write(head)
        await uwriter.drain()
        rq_cap = Capture(self.args.body_limit)
        body = asyncio.ensure_future(pipe_body(creader, uwriter, rq_headers, rq_cap))
        while True:                 # interim answers (100 Continue) go through as they come
            rhead = await read_head(ureader)
            if rhead is None:
                body.cancel()
                raise EOFError("upstream closed before answering")
            (_, status, _), rs_headers = parse_head(rhead)
            cwriter.write(rhead)
            await cwriter.drain()
            status = int(status)
            if status == 101 or not 100 <= status < 200:
                break
        rec["status"] = status
        rec["response_headers"] = redact_headers(rs_headers)
        if status == 101:
            await body
            rec["request_body"] = None
            await self.websocket(rec, rs_headers, creader, cwriter, ureader, uwriter)
            return False
        rs_cap = Capture(self.args.body_limit)
        no_body = method == "HEAD" or status in (204, 304)
        if not no_body:
            await pipe_body(ureader, cwriter, rs_headers, rs_cap, to_eof=True)
        await cwriter.drain()
        go_on = True
        if not body.done():         # answered before the body was sent: cannot resynchronize
            body.cancel()
            go_on = False
        else:
            body.result()
        rec.update({"t_end": time.time(), "websocket": False,
                    "request_body": decode_body(bytes(rq_cap.data), rq_headers, self.args.body_limit),
                    "request_body_bytes": rq_cap.total,
                    "response_body": decode_body(bytes(rs_cap.data), rs_headers, self.args.body_limit),
                    "response_body_bytes": rs_cap.total})
        if rq_cap.truncated or rs_cap.truncated:
            rec["truncated"] = True
        self.record(rec)
        framed = no_body or header(rs_headers, "content-length") is not None \
            or "chunked" in (header(rs_headers, "transfer-encoding") or "").lower()
        if not framed or has_token(rq_headers, "connection", "close") \
                or has_token(rs_headers, "connection", "close") or version == "HTTP/1.0":
            go_on = False
        return go_on

    async def websocket(self, rec, rs_headers, creader, cwriter, ureader, uwriter):
        """After a 101: bytes both ways until either side closes; then record REC."""
        server = Frames(False, self.args.ws_text, deflate_mode(rs_headers))
        client = Frames(True, 0, None)
        ended = []

        async def pump(reader, writer, frames, side):
            try:
                while True:
                    chunk = await reader.read(READ_SIZE)
                    if not chunk:
                        break
                    writer.write(chunk)
                    await writer.drain()
                    frames.feed(chunk)
            except (ConnectionError, OSError):
                pass
            ended.append((side, time.time()))
            try:
                if writer.can_write_eof():
                    writer.write_eof()
            except (ConnectionError, OSError):
                pass

        rec["t_open"] = time.time()
        tasks = [asyncio.ensure_future(pump(ureader, cwriter, server, "server")),
                 asyncio.ensure_future(pump(creader, uwriter, client, "client"))]
        _, pending = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
        if pending:                 # the other side has a moment to finish its close
            _, pending = await asyncio.wait(pending, timeout=2)
        for t in pending:
            t.cancel()
        rec.update({"t_end": time.time(), "websocket": True, "response_body": None,
                    "ws": {"closed_by": ended[0][0] if ended else None,
                           "t_close": ended[0][1] if ended else time.time(),
                           "server_messages": server.messages, "server_binary": server.binary,
                           "server_text": server.text, "server_close_code": server.close_code,
                           "server_close_reason": server.close_reason,
                           "client_messages": client.messages, "client_close_code": client.close_code,
                           "pings": server.pings + client.pings}})
        self.record(rec)


def parse_args(argv):
    """The command line; exits 2 on a bad one."""
    p = argparse.ArgumentParser(prog="proxy.py", description=__doc__.split("\n\n")[0])
    p.add_argument("--upstream", required=True, help="http://HOST:PORT to forward to")
    p.add_argument("--port-file", required=True, help="the bound port is written here (- for stdout)")
    p.add_argument("--record", required=True, help="JSON lines are appended here")
    p.add_argument("--listen", default="127.0.0.1:0", help="HOST:PORT (default 127.0.0.1:0)")
    p.add_argument("--ws-text", type=int, default=50, help="server text messages kept per websocket")
    p.add_argument("--body-limit", type=int, default=1 << 20, help="bytes of a body recorded")
    args = p.parse_args(argv)
    host, _, port = args.listen.rpartition(":")
    if not host or not port.isdigit():
        die("--listen", f"{args.listen!r} is not HOST:PORT", 2)
    args.host, args.port = host, int(port)
    return args


async def main(args):
    """Listen, write the port file, serve until SIGTERM or SIGINT."""
    proxy = Proxy(args)
    try:
        server = await asyncio.start_server(proxy.handle, args.host, args.port, limit=HEAD_LIMIT)
    except OSError as e:
        die(f"--listen {args.listen}", e.strerror or str(e))
    port = server.sockets[0].getsockname()[1]
    if args.port_file == "-":
        print(port, flush=True)
    else:
        tmp = args.port_file + ".tmp"
        with open(tmp, "w") as f:
            f.write(f"{port}\n")
        os.replace(tmp, args.port_file)     # the file appears whole, once the port is bound
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for s in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(s, stop.set)
    await stop.wait()
    server.close()
    # connections still open end on their own once their client is gone (the
    # driver has exited by then); their exchanges are recorded before exit
    if proxy.active:
        await asyncio.wait(list(proxy.active), timeout=5)
    proxy.out.close()


if __name__ == "__main__":
    asyncio.run(main(parse_args(sys.argv[1:])))
