"""A minimal, independent coex link peer, written from the protocol description alone.

It shares no code with coexd: Noise comes from Debian's python3-dissononce, Ed25519 and the
Ed25519 -> X25519 conversion from python3-nacl (libsodium), and the two protobuf messages of
the link layer (Hello, Frame) are encoded and decoded by hand below. Tests use it to check
that coexd speaks the documented wire protocol, in both roles. It also serves as a short
reference for anyone writing another implementation.

The wire protocol of a partner link, as this file implements it:

  transport   TCP. Every Noise message, handshake or transport, is preceded by its length
              as a 2-byte big-endian integer (1..65535).
  handshake   Noise_IK_25519_ChaChaPoly_BLAKE2b, prologue b"coex/1". A node's Noise static
              key is the X25519 form of its Ed25519 identity key. The initiator already
              knows the responder's identity (partner list, invite code).
                -> e, es, s, ss   payload: the initiator's Hello
                <- e, ee, se      payload: the responder's Hello
              Each side checks that the Hello's identity is the Ed25519 key whose X25519
              form is the peer's Noise static key (the responder learns it from the
              message; the initiator knows it in advance).
  confirm     The initiator sends the first transport message at once (coexd sends a Ping).
              A responder treats the link as authenticated only when that message
              decrypts: IK's first message alone does not prove the initiator holds its key.
  transport   One protobuf Frame per Noise transport message: Ping{nonce} is answered by a
              Pong with the same nonce; Close{reason, detail} ends the link.
  refusal     A responder that does not know the initiator (not a partner, no valid invite
              proof), or sees a replayed first message or a timestamp more than 5 minutes
              off, closes the TCP connection without sending a single byte.

Node id: RFC 4648 base32 of the 32-byte Ed25519 public key, lowercase, without padding.

Run by /usr/bin/python3 (Debian's dissononce and nacl live there).
"""
import base64
import os
import socket
import struct
import time

import nacl.bindings
import nacl.signing
from dissononce.cipher.chachapoly import ChaChaPolyCipher
from dissononce.dh.keypair import KeyPair
from dissononce.dh.x25519.private import PrivateKey
from dissononce.dh.x25519.public import PublicKey
from dissononce.dh.x25519.x25519 import X25519DH
from dissononce.hash.blake2b import Blake2bHash
from dissononce.processing.handshakepatterns.interactive.IK import IKHandshakePattern
from dissononce.processing.impl.cipherstate import CipherState
from dissononce.processing.impl.handshakestate import HandshakeState
from dissononce.processing.impl.symmetricstate import SymmetricState

PROLOGUE = b"coex/1"
PROTOCOL_VERSION = 1
MAX_MESSAGE = 65535
CLOCK_SKEW_MS = 5 * 60 * 1000          # the responder's default clock tolerance

# Frame kinds (field numbers of the Frame oneof) and CloseReason values.
PING, PONG, CLOSE = 1, 2, 3
CLOSE_REASONS = ["unspecified", "shutdown", "duplicate", "removed", "protocol", "timeout",
                 "limit"]


class ProtocolError(Exception):
    """The peer sent something the protocol does not allow."""


# ---------------------------------------------------------------- identities

def node_id(ed_pk):
    """The node id of an Ed25519 public key: base32, lowercase, unpadded (52 characters)."""
    return base64.b32encode(ed_pk).decode("ascii").rstrip("=").lower()


def parse_node_id(nid):
    """The Ed25519 public key named by a node id."""
    pad = "=" * (-len(nid) % 8)
    pk = base64.b32decode(nid.upper() + pad)
    if len(pk) != 32:
        raise ValueError("a node id names 32 bytes, got %d" % len(pk))
    return pk


def ed_pk_to_x25519(ed_pk):
    """The Noise static public key of a node: the X25519 form of its Ed25519 key."""
    return nacl.bindings.crypto_sign_ed25519_pk_to_curve25519(ed_pk)


class Identity:
    """An Ed25519 key pair and its X25519 form, as a node holds it."""

    def __init__(self, seed=None):
        self.signing = nacl.signing.SigningKey(seed if seed is not None else os.urandom(32))
        self.pk = bytes(self.signing.verify_key)                  # 32 bytes, the identity
        sk64 = bytes(self.signing) + self.pk                      # libsodium's seed || pk form
        self.x_pk = ed_pk_to_x25519(self.pk)
        self.x_sk = nacl.bindings.crypto_sign_ed25519_sk_to_curve25519(sk64)
        self.id = node_id(self.pk)

    def noise_keypair(self):
        return KeyPair(PublicKey(self.x_pk), PrivateKey(self.x_sk))


# ---------------------------------------------------------------- protobuf, by hand
#
# Only what Hello and Frame need: varints (wire type 0) and length-delimited fields (wire
# type 2). Proto3 leaves out fields holding their default (0, empty); decoders skip fields
# they do not know, including the fixed-width wire types 1 and 5.

def _varint(n):
    if n < 0:
        raise ValueError("negative varint")
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        if n:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def _read_varint(buf, pos):
    n = shift = 0
    while True:
        if pos >= len(buf):
            raise ProtocolError("truncated varint")
        b = buf[pos]
        pos += 1
        n |= (b & 0x7F) << shift
        if not b & 0x80:
            return n, pos
        shift += 7
        if shift >= 64:
            raise ProtocolError("varint longer than 10 bytes")


def _field_varint(num, value):
    return _varint(num << 3 | 0) + _varint(value) if value else b""


def _field_bytes(num, data, keep_empty=False):
    if not data and not keep_empty:
        return b""
    return _varint(num << 3 | 2) + _varint(len(data)) + data


def _fields(buf):
    """Parses a message into [(field number, wire type, value)]; value is an int for
    varints, bytes for length-delimited fields, None for skipped fixed-width ones."""
    out, pos = [], 0
    while pos < len(buf):
        key, pos = _read_varint(buf, pos)
        num, wt = key >> 3, key & 7
        if num == 0:
            raise ProtocolError("field number 0")
        if wt == 0:
            value, pos = _read_varint(buf, pos)
        elif wt == 2:
            n, pos = _read_varint(buf, pos)
            if pos + n > len(buf):
                raise ProtocolError("truncated length-delimited field %d" % num)
            value, pos = bytes(buf[pos:pos + n]), pos + n
        elif wt in (1, 5):
            size = 8 if wt == 1 else 4
            if pos + size > len(buf):
                raise ProtocolError("truncated fixed-width field %d" % num)
            value, pos = None, pos + size
        else:
            raise ProtocolError("unsupported wire type %d (field %d)" % (wt, num))
        out.append((num, wt, value))
    return out


def _expect(wt, want, num):
    if wt != want:
        raise ProtocolError("field %d has wire type %d, expected %d" % (num, wt, want))


# message Hello {
#   uint32 version_min = 1; uint32 version_max = 2; bytes identity = 3; string name = 4;
#   repeated string listen = 5; uint64 timestamp_ms = 6;
#   InviteProof invite = 7;        // { bytes invite_id = 1; bytes mac = 2; }
#   SignedTreeHead tree_head = 8;  // not produced here; skipped on decode
# }

def hello(identity_pk, name, listen=(), timestamp_ms=None, invite=None):
    """A Hello as a dict; timestamp_ms defaults to the wall clock now."""
    return {
        "version_min": PROTOCOL_VERSION,
        "version_max": PROTOCOL_VERSION,
        "identity": identity_pk,
        "name": name,
        "listen": list(listen),
        "timestamp_ms": int(time.time() * 1000) if timestamp_ms is None else timestamp_ms,
        "invite": invite,               # None or (invite_id 16 bytes, mac 32 bytes)
    }


def encode_hello(h):
    out = _field_varint(1, h["version_min"]) + _field_varint(2, h["version_max"])
    out += _field_bytes(3, h["identity"]) + _field_bytes(4, h["name"].encode("utf-8"))
    for addr in h["listen"]:
        out += _field_bytes(5, addr.encode("utf-8"), keep_empty=True)
    out += _field_varint(6, h["timestamp_ms"])
    if h.get("invite"):
        invite_id, mac = h["invite"]
        out += _field_bytes(7, _field_bytes(1, invite_id) + _field_bytes(2, mac), keep_empty=True)
    return out


def decode_hello(buf):
    h = {"version_min": 0, "version_max": 0, "identity": b"", "name": "", "listen": [],
         "timestamp_ms": 0, "invite": None, "tree_head": None}
    for num, wt, v in _fields(buf):
        if num in (1, 2, 6):
            _expect(wt, 0, num)
            h[{1: "version_min", 2: "version_max", 6: "timestamp_ms"}[num]] = v
        elif num == 3:
            _expect(wt, 2, num)
            h["identity"] = v
        elif num == 4:
            _expect(wt, 2, num)
            h["name"] = v.decode("utf-8")
        elif num == 5:
            _expect(wt, 2, num)
            h["listen"].append(v.decode("utf-8"))
        elif num == 7:
            _expect(wt, 2, num)
            sub = {n: val for n, _, val in _fields(v)}
            h["invite"] = (sub.get(1, b""), sub.get(2, b""))
        elif num == 8:
            _expect(wt, 2, num)
            h["tree_head"] = v          # a SignedTreeHead, left encoded
    return h


# message Frame { oneof kind { Ping ping = 1; Pong pong = 2; Close close = 3; } }
# message Ping { uint64 nonce = 1; }   message Pong { uint64 nonce = 1; }
# message Close { CloseReason reason = 1; string detail = 2; }
#
# A oneof member is written even when it is empty (a Ping with nonce 0 is "0a 00"), so that
# the receiver sees which kind it is.

def encode_frame(kind, nonce=0, reason=0, detail=""):
    if kind in (PING, PONG):
        body = _field_varint(1, nonce)
    elif kind == CLOSE:
        body = _field_varint(1, reason) + _field_bytes(2, detail.encode("utf-8"))
    else:
        raise ValueError("unknown frame kind %r" % kind)
    return _field_bytes(kind, body, keep_empty=True)


def decode_frame(buf):
    """Returns a dict with "kind" (PING, PONG or CLOSE) and its fields."""
    frame = None
    for num, wt, v in _fields(buf):
        if num not in (PING, PONG, CLOSE):
            continue
        _expect(wt, 2, num)
        sub = {n: val for n, _, val in _fields(v)}   # the last member of a oneof wins
        if num == CLOSE:
            reason = sub.get(1, 0)
            frame = {"kind": CLOSE, "reason": reason,
                     "reason_name": CLOSE_REASONS[reason] if reason < len(CLOSE_REASONS) else
                     "unspecified", "detail": sub.get(2, b"").decode("utf-8", "replace")}
        else:
            frame = {"kind": num, "nonce": sub.get(1, 0)}
    if frame is None:
        raise ProtocolError("frame with no known kind: %s" % buf.hex())
    return frame


# ---------------------------------------------------------------- framing on TCP

def send_message(sock, msg):
    """Writes one Noise message with its 2-byte big-endian length."""
    if not 0 < len(msg) <= MAX_MESSAGE:
        raise ValueError("a Noise message is 1..65535 bytes, got %d" % len(msg))
    sock.sendall(struct.pack(">H", len(msg)) + msg)


def _recv_exact(sock, n):
    buf = bytearray()
    while len(buf) < n:
        chunk = sock.recv(n - len(buf))
        if not chunk:
            return bytes(buf)
        buf += chunk
    return bytes(buf)


def recv_message(sock):
    """Reads one length-prefixed message. Returns None on a clean EOF before it starts;
    raises ProtocolError on EOF inside it. Socket timeouts propagate (socket.timeout)."""
    hdr = _recv_exact(sock, 2)
    if not hdr:
        return None
    if len(hdr) < 2:
        raise ProtocolError("EOF inside a length header")
    (n,) = struct.unpack(">H", hdr)
    if n == 0:
        raise ProtocolError("zero-length message")
    msg = _recv_exact(sock, n)
    if len(msg) < n:
        raise ProtocolError("EOF inside a %d-byte message (got %d)" % (n, len(msg)))
    return msg


def read_until_closed(sock):
    """Reads until the peer closes or the socket's timeout passes. Returns (every byte
    received, "eof", "reset" or "timeout")."""
    data = bytearray()
    try:
        while True:
            chunk = sock.recv(4096)
            if not chunk:
                return bytes(data), "eof"
            data += chunk
    except ConnectionResetError:
        return bytes(data), "reset"
    except socket.timeout:
        return bytes(data), "timeout"


# ---------------------------------------------------------------- Noise IK

def _handshake_state():
    return HandshakeState(SymmetricState(CipherState(ChaChaPolyCipher()), Blake2bHash()),
                          X25519DH())


class Session:
    """Transport after the handshake: one CipherState per direction (the first from Split()
    is initiator -> responder). Each message holds one encoded Frame."""

    def __init__(self, sock, send_cs, recv_cs):
        self.sock, self.send_cs, self.recv_cs = sock, send_cs, recv_cs

    def send_frame(self, kind, **fields):
        send_message(self.sock, self.send_cs.encrypt_with_ad(b"", encode_frame(kind, **fields)))

    def recv_frame(self):
        """The next frame, or None when the peer closed the connection."""
        msg = recv_message(self.sock)
        if msg is None:
            return None
        return decode_frame(self.recv_cs.decrypt_with_ad(b"", msg))

    def ping(self):
        nonce = int.from_bytes(os.urandom(8), "little")
        self.send_frame(PING, nonce=nonce)
        return nonce

    def await_pong(self, nonce):
        """Reads frames until the Pong for nonce, answering the peer's Pings meanwhile.
        Returns the Pings answered (their nonces)."""
        answered = []
        while True:
            f = self.recv_frame()
            if f is None:
                raise ProtocolError("connection closed while waiting for pong %d" % nonce)
            if f["kind"] == PING:
                self.send_frame(PONG, nonce=f["nonce"])
                answered.append(f["nonce"])
            elif f["kind"] == PONG and f["nonce"] == nonce:
                return answered
            elif f["kind"] == CLOSE:
                raise ProtocolError("peer closed the link: %s %r" % (f["reason_name"], f["detail"]))


class Initiator:
    """Our side dials: -> e, es, s, ss + Hello; <- e, ee, se + Hello."""

    def __init__(self, ident, responder_pk):
        self.ident = ident
        self.responder_pk = responder_pk
        self.hs = _handshake_state()
        self.hs.initialize(IKHandshakePattern(), True, PROLOGUE, s=ident.noise_keypair(),
                           rs=PublicKey(ed_pk_to_x25519(responder_pk)))

    def initiation(self, my_hello):
        """The first handshake message (without its length header)."""
        buf = bytearray()
        self.hs.write_message(encode_hello(my_hello), buf)
        return bytes(buf)

    def read_response(self, sock, msg):
        """Decrypts the response; checks the responder names the key we dialled.
        Returns (its Hello, Session)."""
        payload = bytearray()
        send_cs, recv_cs = self.hs.read_message(msg, payload)
        h = decode_hello(bytes(payload))
        if h["identity"] != self.responder_pk:
            raise ProtocolError("responder's Hello names another identity")
        if not h["version_min"] <= PROTOCOL_VERSION <= h["version_max"]:
            raise ProtocolError("no common protocol version")
        return h, Session(sock, send_cs, recv_cs)


class Responder:
    """Our side accepts: reads the initiation, learns and checks the initiator's key."""

    def __init__(self, ident):
        self.ident = ident
        self.hs = _handshake_state()
        self.hs.initialize(IKHandshakePattern(), False, PROLOGUE, s=ident.noise_keypair())

    def read_initiation(self, msg, now_ms=None):
        """Decrypts the initiation. Returns the initiator's Hello after the checks every
        responder must make: its identity is the key behind the Noise static key, versions
        overlap, the timestamp is within the clock tolerance. (Admission and the replay
        cache are the caller's.)"""
        payload = bytearray()
        self.hs.read_message(msg, payload)
        h = decode_hello(bytes(payload))
        if len(h["identity"]) != 32 or ed_pk_to_x25519(h["identity"]) != self.hs.rs.data:
            raise ProtocolError("initiator's Hello identity does not match its Noise key")
        if not h["version_min"] <= PROTOCOL_VERSION <= h["version_max"]:
            raise ProtocolError("no common protocol version")
        now = int(time.time() * 1000) if now_ms is None else now_ms
        if abs(now - h["timestamp_ms"]) > CLOCK_SKEW_MS:
            raise ProtocolError("initiator's clock is off by %d ms" % (now - h["timestamp_ms"]))
        return h

    def response(self, sock, my_hello):
        """The second handshake message, and the Session (send: responder -> initiator)."""
        buf = bytearray()
        init_to_resp, resp_to_init = self.hs.write_message(encode_hello(my_hello), buf)
        return bytes(buf), Session(sock, resp_to_init, init_to_resp)


def dial(address, timeout=10.0):
    """A TCP connection to "host:port" with a deadline on every read and write."""
    host, _, port = address.rpartition(":")
    sock = socket.create_connection((host.strip("[]"), int(port)), timeout=timeout)
    sock.settimeout(timeout)
    return sock
