#!/usr/bin/env python3
"""listen_port.py PID [LIMIT]: print the TCP port PID listens on (IPv4 or
IPv6), waiting until it listens, at most LIMIT seconds (default 60).  Reads
/proc: the socket inodes among the process's fds, matched against the LISTEN
entries of /proc/net/tcp and tcp6.  Exit 1 if the process ends or the limit
passes first."""
import os
import sys
import time

pid = sys.argv[1]
limit = float(sys.argv[2]) if len(sys.argv) > 2 else 60.0
end = time.monotonic() + limit


def sockets():
    out = set()
    for fd in os.listdir(f"/proc/{pid}/fd"):
        try:
            link = os.readlink(f"/proc/{pid}/fd/{fd}")
        except OSError:
            continue
        if link.startswith("socket:["):
            out.add(link[8:-1])
    return out


while True:
    try:
        mine = sockets()
    except FileNotFoundError:
        sys.exit(f"listen_port: process {pid} ended before it listened")
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            lines = open(table).read().splitlines()[1:]
        except FileNotFoundError:
            continue
        for line in lines:
            f = line.split()
            if f[3] == "0A" and f[9] in mine:
                print(int(f[1].rsplit(":", 1)[1], 16))
                sys.exit(0)
    if time.monotonic() > end:
        sys.exit(f"listen_port: process {pid} does not listen after {limit:g} s")
    # /proc is the state: the pause only spaces the looks; the limit ends a hung start
    time.sleep(0.02)
