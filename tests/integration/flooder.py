"""A bounded flood of hostile connections against one node, for test_flood.py.

    flooder.py --target HOST:PORT --sources IP[,IP...] --rate N --seconds S
               [--half-open H] [--hold S] [--initiations FILE] [--mix K=W,...]

Opens about N connections a second for S seconds (a token bucket; never more), each from the
next source address in turn, and on each does one of (weights in --mix):

  garbage    a length-prefixed random "first message" of 96..400 bytes, then closes
  unknown    a real Noise IK first message from a key the node does not know (replayed from
             --initiations, one hex message a line), then closes
  zero       a 0-length frame, then closes
  halfopen   connects and says nothing; holds the connection for --hold seconds on average
             (uniform in [hold/2, 3*hold/2]) or until the node closes it, at most H held at
             once (over that: a garbage one instead)

Non-blocking sockets on one selector, so one process keeps thousands of connections going.
Prints one JSON line of statistics at the end. Exits early on SIGTERM, closing everything.
"""
import argparse
import errno
import json
import os
import random
import selectors
import signal
import socket
import struct
import sys
import time


def parse_mix(s):
    out = {}
    for part in s.split(","):
        k, _, v = part.partition("=")
        out[k.strip()] = float(v)
    return out


class Conn:
    __slots__ = ("sock", "kind", "payload", "t0", "src", "hold")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--target", required=True)
    ap.add_argument("--sources", required=True)
    ap.add_argument("--rate", type=float, required=True)
    ap.add_argument("--seconds", type=float, required=True)
    ap.add_argument("--half-open", type=int, default=50)
    ap.add_argument("--hold", type=float, default=5.0)
    ap.add_argument("--initiations", default="")
    ap.add_argument("--mix", default="garbage=5,unknown=2,zero=1,halfopen=2")
    ap.add_argument("--connect-timeout", type=float, default=3.0)
    a = ap.parse_args()

    host, _, port = a.target.rpartition(":")
    target = (host, int(port))
    sources = a.sources.split(",")
    mix = parse_mix(a.mix)
    kinds, weights = list(mix), [mix[k] for k in mix]
    inits = []
    if a.initiations:
        with open(a.initiations) as f:
            inits = [bytes.fromhex(line.strip()) for line in f if line.strip()]
    if not inits and "unknown" in kinds:
        i = kinds.index("unknown")
        del kinds[i], weights[i]

    stop = [False]
    signal.signal(signal.SIGTERM, lambda *_: stop.__setitem__(0, True))
    sel = selectors.DefaultSelector()
    st = {"attempted": 0, "connected": 0, "connect_errors": {}, "sent": {}, "halfopen_max": 0,
          "halfopen_closed_by_node": 0, "halfopen_expired": 0, "started": 0}
    held = 0
    conns = {}
    src_i = 0
    t_start = time.monotonic()
    t_end = t_start + a.seconds
    rnd = random.Random(os.getpid())

    def finish(c):
        nonlocal held
        try:
            sel.unregister(c.sock)
        except (KeyError, ValueError):
            pass
        conns.pop(c.sock.fileno(), None)
        if c.kind == "halfopen_held":
            held -= 1
        c.sock.close()

    def start_one():
        nonlocal src_i, held
        kind = rnd.choices(kinds, weights)[0]
        if kind == "halfopen" and held >= a.half_open:
            kind = "garbage"
        src = sources[src_i % len(sources)]
        src_i += 1
        s = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM)
        s.setblocking(False)
        try:
            s.bind((src, 0))
        except OSError as e:
            st["connect_errors"][errno.errorcode.get(e.errno, str(e.errno))] = \
                st["connect_errors"].get(errno.errorcode.get(e.errno, str(e.errno)), 0) + 1
            s.close()
            return
        st["attempted"] += 1
        r = s.connect_ex(target)
        if r not in (0, errno.EINPROGRESS):
            name = errno.errorcode.get(r, str(r))
            st["connect_errors"][name] = st["connect_errors"].get(name, 0) + 1
            s.close()
            return
        c = Conn()
        c.sock, c.kind, c.t0, c.src = s, kind, time.monotonic(), src
        c.hold = rnd.uniform(a.hold / 2, a.hold * 1.5)
        if kind == "garbage":
            n = rnd.randint(96, 400)
            c.payload = struct.pack(">H", n) + os.urandom(n)
        elif kind == "unknown":
            m = rnd.choice(inits)
            c.payload = struct.pack(">H", len(m)) + m
        elif kind == "zero":
            c.payload = b"\x00\x00"
        else:
            c.payload = b""
            c.kind = "halfopen_held"
            held += 1
            st["halfopen_max"] = max(st["halfopen_max"], held)
        conns[s.fileno()] = c
        sel.register(s, selectors.EVENT_WRITE, c)

    def on_event(c, mask):
        if mask & selectors.EVENT_WRITE:
            err = c.sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
            if err:
                name = errno.errorcode.get(err, str(err))
                st["connect_errors"][name] = st["connect_errors"].get(name, 0) + 1
                finish(c)
                return
            st["connected"] += 1
            if c.kind == "halfopen_held":
                c.t0 = time.monotonic()
                sel.modify(c.sock, selectors.EVENT_READ, c)
                return
            try:
                c.sock.send(c.payload)
                st["sent"][c.kind] = st["sent"].get(c.kind, 0) + 1
            except OSError:
                pass
            finish(c)
            return
        # a held half-open connection became readable: the node closed it (or sent bytes)
        try:
            data = c.sock.recv(4096)
        except OSError:
            data = b""
        if not data:
            st["halfopen_closed_by_node"] += 1
            finish(c)

    next_sweep = 0.0
    while not stop[0]:
        now = time.monotonic()
        if now < t_end:
            due = int((now - t_start) * a.rate) - st["started"]
            for _ in range(max(0, min(due, 2000))):
                st["started"] += 1
                start_one()
        elif not conns:
            break
        if now >= next_sweep:
            next_sweep = now + 0.05
            for c in list(conns.values()):
                age = now - c.t0
                if c.kind == "halfopen_held" and (age >= c.hold or now >= t_end + 1.5 * a.hold):
                    st["halfopen_expired"] += 1
                    finish(c)
                elif c.kind != "halfopen_held" and age >= a.connect_timeout:
                    st["connect_errors"]["timeout"] = st["connect_errors"].get("timeout", 0) + 1
                    finish(c)
        for key, mask in sel.select(timeout=0.002):
            on_event(key.data, mask)
    for c in list(conns.values()):
        finish(c)
    st["elapsed"] = round(time.monotonic() - t_start, 2)
    print(json.dumps(st), flush=True)


if __name__ == "__main__":
    sys.exit(main())
