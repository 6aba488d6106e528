"""Helpers for the hostile-world tests (test_wire_hostile.py, test_flood.py).

Builds on noise_peer.py (the independent Python link peer) and adds, still without any code
from coexd:

  * hand-written protobuf for the message layer: Body, Proposal, Forwarded, Signed, Envelope,
    the EnvelopeChunk and receipt frames, and decoders for Receipt, SignedTreeHead, LogEntry;
  * message construction as docs/protocol.md section 5 describes it: Ed25519 over
    "coex/1/body" || body (nacl), sealed with crypto_box under crypto_box_beforenm between
    the X25519 forms of the two Ed25519 keys (nacl.bindings), a random 24-byte nonce;
  * receipt checks: the tree head's signature ("coex/1/tree-head" || size || root || time)
    and the RFC 9162 inclusion proof of the receiver's log entry;
  * PeerLink: a partner link driven byte by byte (it can send anything, well-formed or not);
  * observation of a node from outside: `coex metrics` parsed, its coex.db read read-only,
    /proc/PID for RSS and open descriptors;
  * Steps: soft checks, so that one refused attack that is counted wrongly does not hide the
    verdict on the others.
"""
import hashlib
import os
import re
import socket
import sqlite3
import struct
import time

import nacl.bindings
import nacl.signing

import noise_peer as np
from harness import Died, Failure, check

# ---------------------------------------------------------------- protobuf, by hand

varint = np._varint
fields = np._fields


def f_varint(num, value):
    """A varint field; proto3 leaves out zero."""
    return np._field_varint(num, value)


def f_bytes(num, data, keep_empty=False):
    return np._field_bytes(num, data, keep_empty)


def f_msg(num, data):
    """An embedded message: always written (a present empty message differs from none)."""
    return np._field_bytes(num, data, keep_empty=True)


def f_str(num, s):
    return np._field_bytes(num, s.encode("utf-8"))


def fields_dict(buf):
    """{field number: [values]} of a message."""
    out = {}
    for num, _, v in fields(buf):
        out.setdefault(num, []).append(v)
    return out


def first(d, num, default=None):
    v = d.get(num)
    return v[-1] if v else default


# ---------------------------------------------------------------- messages (proto/coex.proto)

DOMAIN_BODY = b"coex/1/body"
DOMAIN_TREE_HEAD = b"coex/1/tree-head"
# Body oneof kind field numbers
KIND_PROPOSAL, KIND_RESPONSE, KIND_REFERRAL, KIND_REFERRAL_ANSWER, KIND_FORWARDED = 10, 11, 12, 13, 14
# Frame oneof field numbers
F_PING, F_PONG, F_CLOSE, F_ENVELOPE, F_RECEIPT, F_PROOF_REQUEST, F_PROOF_ANSWER = 1, 2, 3, 4, 5, 6, 7
FRAME_NAMES = {1: "ping", 2: "pong", 3: "close", 4: "envelope", 5: "receipt", 6: "proof_request",
               7: "proof_answer"}
# LogEntryType
LOG_RECEIVED, LOG_PARTNER_ADDED, LOG_PARTNER_REMOVED = 2, 4, 5
# the Ed25519 group order
ED25519_L = 2 ** 252 + 27742317777372353535851937790883648493


def now_ms():
    return int(time.time() * 1000)


def encode_proposal(title, body="", summary="", terms="", tags=(), forwardable=False, hop_limit=0,
                    valid_until_ms=0):
    out = f_str(1, title) + f_str(2, summary) + f_str(3, body) + f_str(4, terms)
    for t in tags:
        out += f_bytes(5, t.encode("utf-8"), keep_empty=True)
    out += f_varint(8, valid_until_ms) + f_varint(9, 1 if forwardable else 0) + f_varint(10, hop_limit)
    return out


def encode_forwarded(original_signed, note="", hops_left=0):
    """Forwarded {Signed original = 1; string note = 2; uint32 hops_left = 3}."""
    return f_msg(1, original_signed) + f_str(2, note) + f_varint(3, hops_left)


def encode_body(author, recipient, kind, kind_bytes, msg_id=None, created_ms=None,
                expires_ms=None, thread=b"", reply_to=b""):
    """A Body. author and recipient are 32-byte Ed25519 keys; kind a Body oneof field number."""
    created = now_ms() if created_ms is None else created_ms
    expires = created + 3600 * 1000 if expires_ms is None else expires_ms
    msg_id = os.urandom(16) if msg_id is None else msg_id
    return (f_bytes(1, msg_id) + f_bytes(2, author) + f_bytes(3, recipient) + f_varint(4, created)
            + f_varint(5, expires) + f_bytes(6, thread) + f_bytes(7, reply_to)
            + f_msg(kind, kind_bytes))


def body_id(body):
    return first(fields_dict(body), 1)


def sign_body(ident, body):
    """Ed25519 over "coex/1/body" || body: the 64-byte detached signature."""
    return ident.signing.sign(DOMAIN_BODY + body).signature


def encode_signed(body, signature):
    """Signed {body = 1, signature = 2}: exactly these two fields, in this order."""
    return f_bytes(1, body, keep_empty=True) + f_bytes(2, signature, keep_empty=True)


def non_canonical(signature):
    """The same signature with S replaced by S + L: valid for a lax verifier, refused by a
    strict one (libsodium's crypto_sign_verify_detached)."""
    s = int.from_bytes(signature[32:], "little") + ED25519_L
    return signature[:32] + s.to_bytes(32, "little")


def box_key(author, recipient_pk):
    """crypto_box_beforenm(recipient's X25519 public key, author's X25519 secret key)."""
    return nacl.bindings.crypto_box_beforenm(np.ed_pk_to_x25519(recipient_pk), author.x_sk)


def seal(author, recipient_pk, signed, nonce=None):
    """crypto_box_easy_afternm (XSalsa20-Poly1305: tag || ciphertext). Returns (nonce, sealed)."""
    nonce = os.urandom(24) if nonce is None else nonce
    return nonce, nacl.bindings.crypto_box_afternm(signed, nonce, box_key(author, recipient_pk))


def encode_envelope(msg_id, from_pk, to_pk, nonce, sealed, hops_left=0):
    return (f_bytes(1, msg_id) + f_bytes(2, from_pk) + f_bytes(3, to_pk) + f_varint(4, hops_left)
            + f_bytes(5, nonce) + f_bytes(6, sealed))


def envelope_hash(env):
    return hashlib.sha256(env).digest()


class Message:
    """One message as an author builds it: body, Signed bytes, envelope and its hash."""

    def __init__(self, body, signed, env):
        self.body, self.signed, self.env = body, signed, env
        self.hash = envelope_hash(env)
        self.id = body_id(body)


def make_message(author, recipient_pk, kind=KIND_PROPOSAL, kind_bytes=None, signer=None,
                 env_from=None, env_to=None, env_id=None, body_author=None, body_recipient=None,
                 sealer=None, signature=None, signed=None, **body_kw):
    """A sealed message from author to recipient_pk, every part overridable to build a bad one:
    signer (whose key signs), body_author / body_recipient (what the body names), sealer (whose
    X25519 key seals), env_from / env_to / env_id (what the envelope says), signature, signed."""
    if kind_bytes is None:
        kind_bytes = encode_proposal("Hostile test", body="hello")
    body = encode_body(body_author or author.pk, body_recipient or recipient_pk, kind, kind_bytes,
                       **body_kw)
    if signature is None:
        signature = sign_body(signer or author, body)
    if signed is None:
        signed = encode_signed(body, signature)
    nonce, sealed = seal(sealer or author, recipient_pk, signed)
    env = encode_envelope(env_id or body_id(body), env_from or author.pk, env_to or recipient_pk,
                          nonce, sealed)
    return Message(body, signed, env)


# ---------------------------------------------------------------- frames

def frame_envelope_chunk(total_len, data):
    return f_msg(F_ENVELOPE, f_varint(1, total_len) + f_bytes(2, data))


def frame_receipt(data):
    return f_msg(F_RECEIPT, data)


def frame_ping(nonce):
    return np.encode_frame(np.PING, nonce=nonce)


def frame_pong(nonce):
    return np.encode_frame(np.PONG, nonce=nonce)


def decode_frame(buf):
    """Any Frame: {"kind": name, ...}. Raises np.ProtocolError if none is set."""
    out = None
    for num, wt, v in fields(buf):
        if num not in FRAME_NAMES or wt != 2:
            continue
        name = FRAME_NAMES[num]
        if num == F_RECEIPT:
            out = {"kind": name, "data": v}
            continue
        sub = fields_dict(v)
        if num in (F_PING, F_PONG):
            out = {"kind": name, "nonce": first(sub, 1, 0)}
        elif num == F_CLOSE:
            reason = first(sub, 1, 0)
            out = {"kind": name, "reason": reason,
                   "reason_name": np.CLOSE_REASONS[reason] if reason < len(np.CLOSE_REASONS)
                   else "unspecified",
                   "detail": first(sub, 2, b"").decode("utf-8", "replace")}
        elif num == F_ENVELOPE:
            out = {"kind": name, "total_len": first(sub, 1, 0), "data": first(sub, 2, b"")}
        else:
            out = {"kind": name, "fields": sub}
    if out is None:
        raise np.ProtocolError("frame with no known kind: %s" % buf[:64].hex())
    return out


# ---------------------------------------------------------------- receipts and the log

def decode_tree_head(buf):
    d = fields_dict(buf)
    return {"size": first(d, 1, 0), "root": first(d, 2, b""), "time_ms": first(d, 3, 0),
            "signature": first(d, 4, b"")}


def decode_receipt(buf):
    d = fields_dict(buf)
    th = first(d, 5)
    return {"envelope_hash": first(d, 1, b""), "received_ms": first(d, 2, 0),
            "log_index": first(d, 3, 0), "entry": first(d, 4, b""),
            "tree_head": decode_tree_head(th) if th is not None else None,
            "inclusion_proof": d.get(6, [])}


def decode_log_entry(buf):
    d = fields_dict(buf)
    return {"type": first(d, 1, 0), "time_ms": first(d, 2, 0), "peer": first(d, 3, b""),
            "envelope_hash": first(d, 4, b""), "message_id": first(d, 5, b""),
            "author": first(d, 6, b"")}


def encode_log_entry(type_, peer, envelope_hash=b"", message_id=b"", author=b"", time_ms=None,
                     note=""):
    return (f_varint(1, type_) + f_varint(2, now_ms() if time_ms is None else time_ms)
            + f_bytes(3, peer) + f_bytes(4, envelope_hash) + f_bytes(5, message_id)
            + f_bytes(6, author) + f_str(8, note))


def signed_tree_head(ident, size, root, time_ms=None):
    """A SignedTreeHead {size, root, time_ms, signature} signed by ident."""
    t = now_ms() if time_ms is None else time_ms
    sig = ident.signing.sign(DOMAIN_TREE_HEAD + struct.pack(">Q", size) + root
                             + struct.pack(">Q", t)).signature
    return f_varint(1, size) + f_bytes(2, root) + f_varint(3, t) + f_bytes(4, sig)


def encode_receipt(envelope_hash, log_index, entry, tree_head, proof=(), received_ms=None):
    out = (f_bytes(1, envelope_hash) + f_varint(2, now_ms() if received_ms is None else received_ms)
           + f_varint(3, log_index) + f_bytes(4, entry) + f_msg(5, tree_head))
    for p in proof:
        out += f_bytes(6, p, keep_empty=True)
    return out


def tree_head_verify(pk, th):
    msg = (DOMAIN_TREE_HEAD + struct.pack(">Q", th["size"]) + th["root"]
           + struct.pack(">Q", th["time_ms"]))
    try:
        nacl.signing.VerifyKey(pk).verify(msg, th["signature"])
        return True
    except Exception:  # noqa: BLE001 - nacl raises BadSignatureError or ValueError
        return False


def merkle_leaf(entry):
    return hashlib.sha256(b"\x00" + entry).digest()


def merkle_verify_inclusion(index, size, leaf, proof, root):
    """RFC 9162 section 2.1.3.2."""
    if index >= size:
        return False
    fn, sn, r = index, size - 1, leaf
    for p in proof:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            r = hashlib.sha256(b"\x01" + p + r).digest()
            if not fn & 1:
                while not fn & 1 and fn != 0:
                    fn >>= 1
                    sn >>= 1
        else:
            r = hashlib.sha256(b"\x01" + r + p).digest()
        fn >>= 1
        sn >>= 1
    return sn == 0 and r == root


def check_receipt(data, msg, receiver_pk, sender_pk):
    """Checks a packed Receipt for msg as docs/protocol.md section 5 says a sender must: the
    head's signature by the receiver, a RECEIVED entry for this envelope, the inclusion proof.
    Returns the decoded receipt."""
    rc = decode_receipt(data)
    check(rc["envelope_hash"] == msg.hash, "receipt names the envelope's SHA-256")
    check(rc["tree_head"] is not None, "receipt carries a signed tree head")
    th = rc["tree_head"]
    check(tree_head_verify(receiver_pk, th), "the receipt's tree head is signed by the receiver")
    e = decode_log_entry(rc["entry"])
    check(e["type"] == LOG_RECEIVED and e["envelope_hash"] == msg.hash and
          e["message_id"] == msg.id and e["author"] == sender_pk and e["peer"] == sender_pk,
          "the receipt's entry is RECEIVED for this envelope: %r" % e)
    check(merkle_verify_inclusion(rc["log_index"], th["size"], merkle_leaf(rc["entry"]),
                                  rc["inclusion_proof"], th["root"]),
          "the inclusion proof joins the entry to the head (index %d, size %d, %d hashes)"
          % (rc["log_index"], th["size"], len(rc["inclusion_proof"])))
    return rc


# ---------------------------------------------------------------- a partner link, by hand

class PeerLink:
    """A link from a Python identity to a node, driven by hand. Everything sent after the TCP
    connect is recorded in .sent (length headers included) so a session can be replayed."""

    def __init__(self, address, ident, node_pk, name="Py Peer", io_timeout=10.0):
        self.address, self.ident, self.node_pk, self.name = address, ident, node_pk, name
        self.io_timeout = io_timeout
        self.sock = self.sess = None
        self.sent = []
        self.initiation = None
        self.frames = []            # frames received, in order (receipts, closes, ...)

    # raw bytes
    def send_raw(self, data):
        self.sent.append(data)
        self.sock.sendall(data)

    def send_msg(self, msg):
        """One length-prefixed message (any length 0..65535: no check, on purpose)."""
        self.send_raw(struct.pack(">H", len(msg)) + msg)

    def connect(self, hello_kw=None):
        """Dials, runs IK with a real Hello, sends the key-confirming Ping. Returns self."""
        self.sock = np.dial(self.address, self.io_timeout)
        ini = np.Initiator(self.ident, self.node_pk)
        h = np.hello(self.ident.pk, self.name, **(hello_kw or {}))
        self.initiation = ini.initiation(h)
        self.send_msg(self.initiation)
        resp = np.recv_message(self.sock)
        if resp is None:
            raise Failure("the node did not answer our initiation (EOF)")
        self.hello, self.sess = ini.read_response(self.sock, resp)
        self.send_plain(frame_ping(1))
        return self

    def send_plain(self, plaintext):
        """Encrypts any plaintext as the next transport message."""
        self.send_msg(self.sess.send_cs.encrypt_with_ad(b"", plaintext))

    def send_envelope(self, env, chunk=60000, total_len=None):
        total = len(env) if total_len is None else total_len
        for off in range(0, len(env), chunk):
            self.send_plain(frame_envelope_chunk(total, env[off:off + chunk]))

    def recv_frame(self, timeout=None):
        """The next frame (Pings answered on the way, and returned too); None on EOF."""
        self.sock.settimeout(self.io_timeout if timeout is None else timeout)
        msg = np.recv_message(self.sock)
        if msg is None:
            return None
        f = decode_frame(self.sess.recv_cs.decrypt_with_ad(b"", msg))
        self.frames.append(f)
        if f["kind"] == "ping":
            self.send_plain(frame_pong(f["nonce"]))
        return f

    def wait_frame(self, pred, what, timeout=10.0):
        """Reads until a frame satisfies pred; fails on EOF, a Close or the deadline."""
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            check(left > 0, "timed out waiting for %s" % what)
            try:
                f = self.recv_frame(timeout=left)
            except socket.timeout:
                continue
            check(f is not None, "link closed while waiting for %s" % what)
            if pred(f):
                return f
            check(f["kind"] != "close", "node closed the link (%s %r) while waiting for %s"
                  % (f.get("reason_name"), f.get("detail"), what))

    def wait_receipt(self, msg, timeout=10.0):
        f = self.wait_frame(lambda f: f["kind"] == "receipt" and
                            decode_receipt(f["data"])["envelope_hash"] == msg.hash,
                            "the receipt for %s" % msg.hash.hex()[:12], timeout)
        return f["data"]

    def ping_roundtrip(self, timeout=10.0):
        nonce = int.from_bytes(os.urandom(8), "little") | 1
        self.send_plain(frame_ping(nonce))
        self.wait_frame(lambda f: f["kind"] == "pong" and f["nonce"] == nonce, "pong", timeout)

    def read_to_close(self, timeout=10.0):
        """Reads frames until the node closes the TCP connection. Returns (frames, how), how
        being "eof", "reset" or "timeout"; frames after the last one that decrypted are not
        seen (a node closing on undecryptable input sends nothing we could read)."""
        deadline = time.monotonic() + timeout
        got = []
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                return got, "timeout"
            try:
                f = self.recv_frame(timeout=left)
            except socket.timeout:
                return got, "timeout"
            except (ConnectionResetError, BrokenPipeError):
                return got, "reset"
            if f is None:
                return got, "eof"
            got.append(f)

    def close(self):
        if self.sock is not None:
            try:
                self.sock.close()
            except OSError:
                pass
            self.sock = None


def silent_close(sock, timeout=10.0):
    """Reads until the peer closes; returns (bytes received, how)."""
    sock.settimeout(timeout)
    return np.read_until_closed(sock)


# ---------------------------------------------------------------- observing a node

_METRIC = re.compile(r'^([a-z_]+)(?:\{reason="([^"]*)"\})?\s+(\d+)$')
REASON_FAMILIES = ("coex_handshake_drops_total", "coex_message_refusals_total")


def metrics(node):
    """`coex metrics`, parsed: {name: value} and {(family, reason): value}."""
    plain, reasons = {}, {}
    for line in node.cli("metrics").splitlines():
        m = _METRIC.match(line.strip())
        if not m:
            continue
        name, reason, value = m.group(1), m.group(2), int(m.group(3))
        if reason is None:
            plain[name] = value
        else:
            reasons[(name, reason)] = value
    return plain, reasons


def reason_delta(before, after):
    """{(family, reason): increase} of the refusal and drop counters that changed."""
    out = {}
    for k in set(before) | set(after):
        d = after.get(k, 0) - before.get(k, 0)
        if d:
            out[k] = d
    return out


def fmt_delta(d):
    return ", ".join("%s{%s}+%d" % (k[0].replace("coex_", "").replace("_total", ""), k[1], v)
                     for k, v in sorted(d.items())) or "nothing"


class DbView:
    """Reads a node's coex.db read-only (the daemon keeps writing; WAL lets us read)."""

    def __init__(self, node):
        self.path = os.path.join(node.dir, "coex.db")

    def query(self, sql, args=()):
        con = sqlite3.connect("file:%s?mode=ro" % self.path, uri=True, timeout=10)
        try:
            return con.execute(sql, args).fetchall()
        finally:
            con.close()

    def snapshot(self):
        """Counts that an attack must not change: messages by (dir, author), log size,
        outbox size, partners; read in one transaction, so a message the daemon commits
        meanwhile is counted in all of them or in none."""
        con = sqlite3.connect("file:%s?mode=ro" % self.path, uri=True, timeout=10,
                              isolation_level=None)
        try:
            con.execute("BEGIN")
            by = {(d, bytes(a)): n for d, a, n in
                  con.execute("SELECT dir, author, count(*) FROM messages GROUP BY dir, author")}
            snap = {
                "messages": by,
                "log": con.execute("SELECT count(*) FROM log_entries").fetchone()[0],
                "outbox": con.execute("SELECT count(*) FROM outbox").fetchone()[0],
                "partners": sorted(bytes(r[0]) for r in con.execute("SELECT id FROM partners")),
            }
            con.execute("COMMIT")
            return snap
        finally:
            con.close()

    def log_entries(self):
        """Every log entry, decoded (type, peer, ...), in index order."""
        return [decode_log_entry(bytes(r[0]))
                for r in self.query("SELECT entry FROM log_entries ORDER BY idx")]

    def has_trust_entry(self, type_, peer):
        return any(e["type"] == type_ and e["peer"] == peer for e in self.log_entries())

    def has_message(self, env_hash):
        return bool(self.query("SELECT 1 FROM messages WHERE hash = ?", (env_hash,)))


def proc_cpu_seconds(pid):
    """User + system CPU time a process used so far, in seconds."""
    with open("/proc/%d/stat" % pid) as f:
        rest = f.read().rsplit(")", 1)[1].split()
    return (int(rest[11]) + int(rest[12])) / os.sysconf("SC_CLK_TCK")


# ---------------------------------------------------------------- soft checks

class Steps:
    """Runs named steps; a step that fails is recorded and the next one runs, unless the node
    died. finish() fails the test naming every failed step."""

    def __init__(self, out=print):
        self.failed = []
        self.passed = []
        self.out = out

    def run(self, name, fn, *args, **kw):
        t0 = time.monotonic()
        try:
            note = fn(*args, **kw)
            self.passed.append(name)
            self.out("  ok   %-38s %4.1fs  %s" % (name, time.monotonic() - t0, note or ""),
                     flush=True)
            return True
        except Died:
            raise
        except Exception as e:  # noqa: BLE001 - a step's failure of any kind is recorded
            self.failed.append((name, str(e)))
            self.out("  FAIL %-38s %4.1fs  %s" % (name, time.monotonic() - t0, e), flush=True)
            return False

    def finish(self):
        if self.failed:
            raise Failure("%d of %d steps failed: %s" % (
                len(self.failed), len(self.failed) + len(self.passed),
                "; ".join("%s: %s" % f for f in self.failed)))


__all__ = ["PeerLink", "DbView", "Steps", "metrics", "reason_delta", "make_message",
           "check_receipt"]
