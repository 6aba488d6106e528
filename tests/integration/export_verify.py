"""An independent verifier of coex log exports, written from docs/export-format.md alone
(protobuf decoded by hand, SHA-256 from hashlib, Ed25519 from libsodium through ctypes), so
that the format document, not the C code, is what the exports are checked against.

    python3 export_verify.py FILE      prints "ok N" or "bad INDEX: REASON"; exit 0 or 1
"""
import ctypes
import ctypes.util
import hashlib
import struct
import sys

MAGIC = b"COEXLOG2\n"
SKEW_MS = 5 * 60 * 1000
EPOCH_MS = 1577836800000

_sodium = ctypes.CDLL(ctypes.util.find_library("sodium") or "libsodium.so.23")
_sodium.sodium_init()


def ed25519_ok(pk, msg, sig):
    return len(pk) == 32 and len(sig) == 64 and _sodium.crypto_sign_verify_detached(
        sig, msg, ctypes.c_ulonglong(len(msg)), pk) == 0


class Bad(Exception):
    def __init__(self, index, reason):
        super().__init__(reason)
        self.index = index


# ---------------------------------------------------------------- protobuf, by hand

def varint(buf, i):
    v = shift = 0
    while True:
        if i >= len(buf) or shift > 63:
            raise ValueError("varint")
        b = buf[i]
        i += 1
        v |= (b & 0x7F) << shift
        if not b & 0x80:
            return v, i
        shift += 7


def enc_varint(v):
    out = bytearray()
    while True:
        b = v & 0x7F
        v >>= 7
        out.append(b | (0x80 if v else 0))
        if not v:
            return bytes(out)


def fields(buf):
    """(number, wiretype, value) for each field; value: int or bytes."""
    i, out = 0, []
    while i < len(buf):
        key, i = varint(buf, i)
        num, wt = key >> 3, key & 7
        if wt == 0:
            v, i = varint(buf, i)
        elif wt == 2:
            n, i = varint(buf, i)
            if i + n > len(buf):
                raise ValueError("length")
            v, i = bytes(buf[i:i + n]), i + n
        else:
            raise ValueError("wire type")
        out.append((num, wt, v))
    return out


def message(buf, schema):
    """Decodes buf with schema {number: (name, kind)}: kind 'u' varint, 'b' bytes, 's' string,
    'm' message bytes, 'rb' repeated bytes. Unknown fields and repeats of a singular field
    are errors (the format allows neither)."""
    out = {name: ([] if kind == "rb" else (0 if kind == "u" else b"")) for name, kind in schema.values()}
    seen = set()
    for num, wt, v in fields(buf):
        if num not in schema:
            raise ValueError("unknown field %d" % num)
        name, kind = schema[num]
        if (kind == "u") != (wt == 0):
            raise ValueError("wire type of %s" % name)
        if kind == "rb":
            out[name].append(v)
            continue
        if num in seen:
            raise ValueError("%s twice" % name)
        seen.add(num)
        out[name] = v
    return out


def encode(values, schema, oneof=()):
    """Deterministic encoding: field order, defaults left out (except oneof members)."""
    out = bytearray()
    for num in sorted(schema):
        name, kind = schema[num]
        v = values.get(name)
        if kind == "u":
            if v:
                out += enc_varint(num << 3) + enc_varint(v)
        elif kind == "rb":
            for x in v:
                out += enc_varint(num << 3 | 2) + enc_varint(len(x)) + x
        elif v is not None and (v != b"" or name in oneof):
            out += enc_varint(num << 3 | 2) + enc_varint(len(v)) + v
    return bytes(out)


RECORD = {1: ("header", "m"), 2: ("entry", "m"), 3: ("head", "m"), 4: ("envelope", "m"),
          5: ("alarm", "m")}
HEADER = {1: ("version", "u"), 2: ("node_key", "b"), 3: ("name", "s"), 4: ("created_ms", "u"),
          5: ("entry_count", "u"), 6: ("head_count", "u"), 7: ("signature", "b"),
          8: ("alarm_count", "u"), 9: ("alarms_hash", "b")}
ALARM = {1: ("peer", "b"), 2: ("detected_ms", "u"), 3: ("reason", "s"), 4: ("seen", "m"),
         5: ("offered", "m")}
ENTRY = {1: ("index", "u"), 2: ("entry", "b")}
HEAD = {1: ("size", "u"), 2: ("root", "b"), 3: ("time_ms", "u"), 4: ("signature", "b")}
ENVELOPE = {1: ("hash", "b"), 2: ("envelope", "b")}
LOGENTRY = {1: ("type", "u"), 2: ("time_ms", "u"), 3: ("peer", "b"), 4: ("envelope_hash", "b"),
            5: ("message_id", "b"), 6: ("author", "b"), 7: ("receipt", "b"), 8: ("note", "s")}
RECEIPT = {1: ("envelope_hash", "b"), 2: ("received_ms", "u"), 3: ("log_index", "u"),
           4: ("entry", "b"), 5: ("tree_head", "m"), 6: ("inclusion_proof", "rb")}
SENT, RECEIVED, RECEIPT_T = 1, 2, 3
SUBS = {"header": HEADER, "entry": ENTRY, "head": HEAD, "envelope": ENVELOPE, "alarm": ALARM}


def record(buf):
    """(kind, fields) of one record, checked canonical."""
    top = message(buf, RECORD)
    kinds = [RECORD[num][0] for num, _, _ in fields(buf)]
    if len(kinds) != 1:
        raise ValueError("not exactly one kind")
    kind = kinds[0]
    sub = message(top[kind], SUBS[kind])
    if kind == "alarm":
        if not sub["seen"] or not sub["offered"]:
            raise ValueError("an alarm without its two heads")
        for h in ("seen", "offered"):
            sub[h] = message(sub[h], HEAD)
        enc = encode(dict(sub, seen=encode(sub["seen"], HEAD), offered=encode(sub["offered"], HEAD)), ALARM)
    else:
        enc = encode(sub, SUBS[kind])
    if encode({kind: enc}, RECORD, oneof=(kind,)) != bytes(buf):
        raise ValueError("not canonical")
    return kind, sub


# ---------------------------------------------------------------- the tree

def leaf_hash(b):
    return hashlib.sha256(b"\x00" + b).digest()


def node_hash(left, right):
    return hashlib.sha256(b"\x01" + left + right).digest()


class Range:
    """Compact range: roots of the perfect subtrees of the leaves so far, largest first."""

    def __init__(self):
        self.size, self.hashes = 0, []

    def append(self, leaf):
        h, s = leaf, self.size
        while s & 1:
            h = node_hash(self.hashes.pop(), h)
            s >>= 1
        self.hashes.append(h)
        self.size += 1

    def root(self):
        if not self.hashes:
            return hashlib.sha256(b"").digest()
        h = self.hashes[-1]
        for x in reversed(self.hashes[:-1]):
            h = node_hash(x, h)
        return h


def verify_inclusion(index, size, leaf, proof, root):
    """RFC 9162 2.1.3.2."""
    if index >= size:
        return False
    fn, sn, r = index, size - 1, leaf
    for p in proof:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            if not fn & 1:
                while fn and not fn & 1:
                    fn >>= 1
                    sn >>= 1
        else:
            r = node_hash(r, p)
        fn >>= 1
        sn >>= 1
    return sn == 0 and r == root


def head_message(h):
    return b"coex/1/tree-head" + struct.pack(">Q", h["size"]) + h["root"] + struct.pack(">Q", h["time_ms"])


# ---------------------------------------------------------------- the checks

def alarm_evidence(a):
    """(evidence, detail) of an alarm's two heads (docs/export-format.md section 6)."""
    s, o = a["seen"], a["offered"]
    for h in (s, o):
        if len(a["peer"]) != 32 or len(h["root"]) != 32 or not ed25519_ok(a["peer"], head_message(h), h["signature"]):
            return "bad", "a head is not signed by the partner"
    if s["size"] == o["size"]:
        if s["root"] == o["root"]:
            return "bad", "both heads are of one tree"
        return "proven", "two heads of one size with different roots"
    lo, hi = (s, o) if s["size"] < o["size"] else (o, s)
    if lo["time_ms"] > hi["time_ms"] + SKEW_MS:
        return "proven", "the smaller head was signed later"
    return "signed", "both heads signed by the partner"


def check_receipt(i, e):
    try:
        r = message(e["receipt"], RECEIPT)
        h = message(r["tree_head"], HEAD)
        inner = message(r["entry"], LOGENTRY)
    except ValueError:
        raise Bad(i, "entry %d: receipt does not decode" % i)
    if r["envelope_hash"] != e["envelope_hash"]:
        raise Bad(i, "entry %d: receipt is for another message" % i)
    if len(h["root"]) != 32 or not ed25519_ok(e["peer"], head_message(h), h["signature"]):
        raise Bad(i, "entry %d: receipt's tree head is not signed by the partner" % i)
    if inner["type"] != RECEIVED or inner["envelope_hash"] != e["envelope_hash"]:
        raise Bad(i, "entry %d: receipt's entry is not the partner's RECEIVED entry" % i)
    if not verify_inclusion(r["log_index"], h["size"], leaf_hash(r["entry"]), r["inclusion_proof"], h["root"]):
        raise Bad(i, "entry %d: receipt's inclusion proof does not lead to the signed root" % i)


def check_entry(i, b):
    try:
        e = message(b, LOGENTRY)
    except ValueError:
        raise Bad(i, "entry %d: not a valid log entry" % i)
    if not 1 <= e["type"] <= 7 or len(e["peer"]) != 32:
        raise Bad(i, "entry %d: not a valid log entry" % i)
    if e["type"] in (SENT, RECEIVED, RECEIPT_T) and (
            len(e["envelope_hash"]) != 32 or len(e["message_id"]) != 16 or len(e["author"]) != 32):
        raise Bad(i, "entry %d: names no message" % i)
    if e["type"] != RECEIPT_T and e["receipt"]:
        raise Bad(i, "entry %d: carries a receipt" % i)
    if e["type"] == RECEIPT_T:
        check_receipt(i, e)
    return e


def close_alarms(hdr, alarms, hashed):
    if len(alarms) != hdr["alarm_count"]:
        raise Bad(0, "alarms: count")
    if hashlib.sha256(hashed).digest() != hdr["alarms_hash"]:
        raise Bad(0, "alarms: do not match the hash the header signs")


def verify(data, alarms=None):
    """Returns the number of entries; alarms (a list), if given, gets each alarm's fields
    with its "evidence" and "detail"."""
    if data[:9] != MAGIC:
        raise Bad(0, "header: not a coex log export")
    pos, hdr, rng, heads, last, want_env = 9, None, Range(), 0, None, None
    alarms = [] if alarms is None else alarms
    hashed, closed = b"", False
    while pos < len(data):
        n = rng.size
        if pos + 4 > len(data):
            raise Bad(n, "entry %d: truncated record" % n)
        (length,) = struct.unpack(">I", data[pos:pos + 4])
        if pos + 4 + length > len(data):
            raise Bad(n, "entry %d: truncated record" % n)
        try:
            kind, f = record(data[pos + 4:pos + 4 + length])
        except ValueError:
            raise Bad(n, "entry %d: malformed record" % n)
        framed = data[pos:pos + 4 + length]
        pos += 4 + length
        if hdr is None:
            if kind != "header":
                raise Bad(0, "header: missing")
            msg = (b"coex/1/export-header" + struct.pack(">I", f["version"]) + f["node_key"]
                   + bytes([len(f["name"])]) + f["name"]
                   + struct.pack(">QQQQ", f["created_ms"], f["entry_count"], f["head_count"],
                                 f["alarm_count"]) + f["alarms_hash"])
            if (f["version"] != 2 or len(f["name"]) > 64 or len(f["alarms_hash"]) != 32
                    or not ed25519_ok(f["node_key"], msg, f["signature"])):
                raise Bad(0, "header: version or signature")
            hdr = f
            continue
        if kind == "header":
            raise Bad(n, "entry %d: a second header" % n)
        if kind == "alarm":
            if closed or len(alarms) >= hdr["alarm_count"] or len(f["reason"]) > 127:
                raise Bad(0, "alarm %d: out of place" % len(alarms))
            hashed += framed
            f["evidence"], f["detail"] = alarm_evidence(f)
            alarms.append(f)
            continue
        if not closed:
            close_alarms(hdr, alarms, hashed)
            closed = True
        if kind == "envelope":
            if want_env is None or f["hash"] != want_env[1]:
                raise Bad(max(n - 1, 0), "entry %d: unexpected envelope" % max(n - 1, 0))
            if hashlib.sha256(f["envelope"]).digest() != f["hash"]:
                raise Bad(want_env[0], "entry %d: envelope does not match the hash" % want_env[0])
            want_env = None
            continue
        if want_env is not None:
            raise Bad(want_env[0], "entry %d: envelope missing" % want_env[0])
        if kind == "entry":
            if f["index"] != n:
                raise Bad(n, "entry %d: missing (entry %d comes next)" % (n, f["index"]))
            if n >= hdr["entry_count"]:
                raise Bad(n, "entry %d: beyond the header's count" % n)
            e = check_entry(n, f["entry"])
            rng.append(leaf_hash(f["entry"]))
            if e["type"] in (SENT, RECEIVED):
                want_env = (n, e["envelope_hash"])
            continue
        # a head
        if f["size"] != n:
            raise Bad(n if f["size"] > n else max(n - 1, 0), "head %d: out of place" % heads)
        at = max(n - 1, 0)
        if (f["time_ms"] < EPOCH_MS or f["time_ms"] > hdr["created_ms"] + SKEW_MS
                or (last and f["time_ms"] + SKEW_MS < last["time_ms"])):
            raise Bad(at, "head %d: implausible time" % heads)
        if rng.root() != f["root"]:
            first = last["size"] if last else 0
            raise Bad(first, "entry %d: does not match head %d's root" % (first, heads))
        if not ed25519_ok(hdr["node_key"], head_message(f), f["signature"]):
            raise Bad(at, "head %d: signature does not verify" % heads)
        heads, last = heads + 1, f
    if hdr is None:
        raise Bad(0, "header: missing")
    if not closed:
        close_alarms(hdr, alarms, hashed)
    n = rng.size
    if want_env is not None:
        raise Bad(want_env[0], "entry %d: envelope missing" % want_env[0])
    if n < hdr["entry_count"]:
        raise Bad(n, "entry %d: missing" % n)
    if n and (last is None or last["size"] != n):
        first = last["size"] if last else 0
        raise Bad(first, "entry %d: not covered by any signed head" % first)
    if heads != hdr["head_count"]:
        raise Bad(max(n - 1, 0), "heads: count")
    for k, a in enumerate(alarms):
        if a["evidence"] == "bad":
            raise Bad(0, "alarm %d: bad evidence: %s" % (k, a["detail"]))
    return n


def main():
    with open(sys.argv[1], "rb") as f:
        data = f.read()
    try:
        print("ok %d" % verify(data))
        return 0
    except Bad as b:
        print("bad %d: %s" % (b.index, b))
        return 1


if __name__ == "__main__":
    sys.exit(main())
