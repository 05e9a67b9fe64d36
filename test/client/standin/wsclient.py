#!/usr/bin/env python3
"""Minimal websocket client (stdlib only) for the stand-in's tests.

usage: wsclient.py URL [--token T | --cookie T] [--send JSON]... [--timeout S]

Prints the HTTP status line of the handshake on stderr, the payload of every
data message on stdout (binary as raw bytes, text with a newline), and on exit
a line "close CODE REASON" on stderr.  Exit 0 when the server closed the
websocket, 3 when the handshake was refused, 4 on timeout.

As a module: session() for a whole websocket at once, Stream for one read
message by message.
"""
import base64
import os
import select
import socket
import struct
import sys
import time
import urllib.parse


def frame(opcode, payload):
    mask = os.urandom(4)
    n = len(payload)
    if n < 126:
        head = struct.pack("!BB", 0x80 | opcode, 0x80 | n)
    elif n < 65536:
        head = struct.pack("!BBH", 0x80 | opcode, 0x80 | 126, n)
    else:
        head = struct.pack("!BBQ", 0x80 | opcode, 0x80 | 127, n)
    return head + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(payload))


def read_exact(sock, n, buf):
    while len(buf) < n:
        chunk = sock.recv(65536)
        if not chunk:
            raise EOFError
        buf += chunk
    return buf[:n], buf[n:]


def session(url, token=None, cookie=None, sends=(), timeout=10.0):
    """One websocket session.  Returns (status_line, refusal_body, data, close_code,
    close_reason); data is the concatenated payloads (text messages end in a
    newline); close_code is None on EOF without a close frame, -1 on timeout."""
    u = urllib.parse.urlsplit(url)
    sock = socket.create_connection((u.hostname, u.port), timeout=timeout)
    try:
        return _session(sock, u, token, cookie, sends, timeout)
    finally:
        sock.close()


def _session(sock, u, token, cookie, sends, timeout):
    key = base64.b64encode(os.urandom(16)).decode()
    path = u.path + ("?" + u.query if u.query else "")
    req = [f"GET {path} HTTP/1.1", f"Host: {u.hostname}:{u.port}", "Upgrade: websocket",
           "Connection: Upgrade", f"Sec-WebSocket-Key: {key}", "Sec-WebSocket-Version: 13"]
    if token:
        req.append(f"Coder-Session-Token: {token}")
    if cookie:
        req.append(f"Cookie: coder_session_token={cookie}")
    sock.sendall(("\r\n".join(req) + "\r\n\r\n").encode())
    buf = b""
    deadline = time.time() + timeout
    while b"\r\n\r\n" not in buf:
        chunk = sock.recv(65536)
        if not chunk:
            break
        buf += chunk
    head, _, buf = buf.partition(b"\r\n\r\n")
    status = head.split(b"\r\n")[0].decode()
    if " 101 " not in status + " ":
        try:
            sock.settimeout(1)
            while True:
                chunk = sock.recv(65536)
                if not chunk:
                    break
                buf += chunk
        except OSError:
            pass
        return status, buf.decode(errors="replace"), b"", None, ""
    for s in sends:
        sock.sendall(frame(0x2, s))
    data = b""
    while True:
        left = deadline - time.time()
        if left <= 0:
            return status, "", data, -1, "timeout"
        sock.settimeout(left)
        try:
            h, buf = read_exact(sock, 2, buf)
            op = h[0] & 0x0F
            n = h[1] & 0x7F
            if n == 126:
                x, buf = read_exact(sock, 2, buf)
                n = struct.unpack("!H", x)[0]
            elif n == 127:
                x, buf = read_exact(sock, 8, buf)
                n = struct.unpack("!Q", x)[0]
            payload, buf = read_exact(sock, n, buf)
        except socket.timeout:
            return status, "", data, -1, "timeout"
        except (EOFError, ConnectionError):
            return status, "", data, None, "eof"
        if op == 0x8:
            code = struct.unpack("!H", payload[:2])[0] if len(payload) >= 2 else 1005
            try:
                sock.sendall(frame(0x8, payload[:2]))
            except OSError:
                pass
            return status, "", data, code, payload[2:].decode(errors="replace")
        if op == 0x9:
            sock.sendall(frame(0xA, payload))
        elif op == 0x1:
            data += payload + b"\n"
        elif op in (0x0, 0x2):
            data += payload


class Stream:
    """A websocket read message by message, for tests that look between
    messages.  Stream(url, token=T) does the handshake: .status is its status
    line, .headers its headers (lower-case names), .body the refusal's body
    when it was not 101.  recv(timeout) returns ("text"|"binary", payload) or
    ("close", code, reason), or None when nothing came in time; waiting()
    says whether a message has (at least partly) arrived already, without
    waiting for one."""

    def __init__(self, url, token=None, timeout=10.0, headers=()):
        u = urllib.parse.urlsplit(url)
        self.sock = socket.create_connection((u.hostname, u.port), timeout=timeout)
        key = base64.b64encode(os.urandom(16)).decode()
        path = u.path + ("?" + u.query if u.query else "")
        req = [f"GET {path} HTTP/1.1", f"Host: {u.hostname}:{u.port}", "Upgrade: websocket",
               "Connection: Upgrade", f"Sec-WebSocket-Key: {key}", "Sec-WebSocket-Version: 13"]
        if token:
            req.append(f"Coder-Session-Token: {token}")
        req += list(headers)
        self.sock.sendall(("\r\n".join(req) + "\r\n\r\n").encode())
        buf = b""
        while b"\r\n\r\n" not in buf:
            chunk = self.sock.recv(65536)
            if not chunk:
                break
            buf += chunk
        head, _, self.buf = buf.partition(b"\r\n\r\n")
        lines = head.decode(errors="replace").split("\r\n")
        self.status = lines[0]
        self.headers = {}
        for line in lines[1:]:
            k, _, v = line.partition(":")
            self.headers[k.strip().lower()] = v.strip()
        self.body = b""
        self.upgraded = " 101 " in self.status + " "
        if not self.upgraded:
            n = int(self.headers.get("content-length", "0") or 0)
            self.body = self.buf
            while len(self.body) < n:
                chunk = self.sock.recv(65536)
                if not chunk:
                    break
                self.body += chunk
            self.sock.close()

    def waiting(self):
        if self.buf:
            return True
        r, _, _ = select.select([self.sock], [], [], 0)
        return bool(r)

    def recv(self, timeout=10.0):
        deadline = time.time() + timeout
        while True:
            left = deadline - time.time()
            if left <= 0:
                return None
            self.sock.settimeout(left)
            try:
                h, self.buf = read_exact(self.sock, 2, self.buf)
                op = h[0] & 0x0F
                n = h[1] & 0x7F
                if n == 126:
                    x, self.buf = read_exact(self.sock, 2, self.buf)
                    n = struct.unpack("!H", x)[0]
                elif n == 127:
                    x, self.buf = read_exact(self.sock, 8, self.buf)
                    n = struct.unpack("!Q", x)[0]
                payload, self.buf = read_exact(self.sock, n, self.buf)
            except socket.timeout:
                return None
            except (EOFError, ConnectionError):
                return ("close", None, "eof")
            if op == 0x8:
                code = struct.unpack("!H", payload[:2])[0] if len(payload) >= 2 else 1005
                try:
                    self.sock.sendall(frame(0x8, payload[:2]))
                except OSError:
                    pass
                return ("close", code, payload[2:].decode(errors="replace"))
            if op == 0x9:
                self.sock.sendall(frame(0xA, payload))
            elif op == 0x1:
                return ("text", payload)
            elif op == 0x2:
                return ("binary", payload)

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass


def main():
    args = sys.argv[1:]
    url = args.pop(0)
    token = cookie = None
    sends = []
    timeout = 10.0
    while args:
        a = args.pop(0)
        if a == "--token":
            token = args.pop(0)
        elif a == "--cookie":
            cookie = args.pop(0)
        elif a == "--send":
            sends.append(args.pop(0).encode())
        elif a == "--timeout":
            timeout = float(args.pop(0))
    status, refusal, data, code, reason = session(url, token, cookie, sends, timeout)
    print(status, file=sys.stderr)
    if refusal or " 101 " not in status + " ":
        print(refusal, file=sys.stderr)
        return 3
    sys.stdout.buffer.write(data)
    sys.stdout.flush()
    if code == -1:
        print("timeout", file=sys.stderr)
        return 4
    print(f"close {code if code is not None else 'none'} {reason}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
