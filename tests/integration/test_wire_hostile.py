"""Bad input over the wire: every piece is refused with a reason counted in `coex metrics`,
changes no state, and leaves other links alone.

    partner (coexd) ===== real link, proposals all along =====> victim (coexd)
    pypeer (Python, a partner of the victim) --- hostile bytes, frames, envelopes ---> victim
    strangers (Python) --- garbage, replays, unknown keys ---> victim

For every attack (a "step"): the counter named for it goes up by exactly one and no other
refusal or drop counter moves; a proposal from the real partner is delivered afterwards (and
others flow in the background throughout); the victim's store shows nothing new but what the
step allows (messages by author, log size read read-only from coex.db). A step that fails is
reported and the next one still runs.

Where the daemon has no specific reason today for a link-level protocol error, the step
expects ANY: some single counter in either family goes up by one.

Run: COEX_BIN=build-wire /usr/bin/python3 tests/integration/test_wire_hostile.py [name ...]
"""
import os
import socket
import struct
import sys
import threading

import harness
import hostile as hx
import noise_peer as np
from harness import Failure, check, wait_for

LIMITS = {"reconnect_min_ms": 200, "reconnect_max_ms": 2000, "handshake_timeout_ms": 2000}
NOWHERE = "127.0.0.1:1"           # the Python peer does not listen
HS = "coex_handshake_drops_total"
MR = "coex_message_refusals_total"
ANY = ("any", None)               # some reason, in either family: the daemon names none today
MAX_MESSAGE = 4 * 1024 * 1024     # max_message_bytes default


class Traffic:
    """The real partner proposes to the victim in the background, every interval seconds."""

    def __init__(self, sender, to_id, interval=0.5):
        self.sender, self.to_id, self.interval = sender, to_id, interval
        self.ids, self.errors = [], []
        self.stop_ev = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self):
        i = 0
        while not self.stop_ev.wait(self.interval):
            i += 1
            try:
                out = self.sender.cli("propose", "--to", self.to_id, "--title", "bg %d" % i,
                                      "--body", "background proposal %d" % i)
                self.ids.append(out.strip().splitlines()[-1])
            except Exception as e:  # noqa: BLE001 - reported at the end
                self.errors.append(str(e))

    def start(self):
        self.thread.start()
        return self

    def stop_and_check(self, timeout=30.0):
        self.stop_ev.set()
        self.thread.join(timeout=30)
        check(not self.errors, "background proposals could all be queued: %s" % self.errors[:3])
        check(len(self.ids) >= 3, "background traffic ran (%d proposals)" % len(self.ids))
        want = set(self.ids)
        wait_for(lambda: want <= {m["id"] for m in self.sender.cli("outbox", json_out=True)
                                  if m["state"] == "delivered"},
                 "all %d background proposals to be delivered" % len(want), timeout)
        return len(want)


class Scene:
    """A victim, a real partner linked to it, and a Python partner of the victim."""

    def __init__(self, w, traffic=True):
        self.w = w
        self.v = w.node("Victim", limits=LIMITS).start()
        self.b = w.node("Partner", limits=LIMITS).start()
        harness.partner_up(self.v, self.b)
        self.vpk = np.parse_node_id(self.v.id)
        self.bpk = np.parse_node_id(self.b.id)
        self.p = np.Identity()
        self.v.cli("partner", "add", "pypeer", self.p.id, NOWHERE)
        self.addr = self.v.status()["listen"][0]
        self.db = hx.DbView(self.v)
        self.steps = hx.Steps()
        self.canaries = 0
        # The partner-added log entry is committed off the loop: wait until it is in.
        wait_for(lambda: self.db.has_trust_entry(hx.LOG_PARTNER_ADDED, self.p.pk),
                 "partner_added in the log", 10)
        self.traffic = Traffic(self.b, self.v.id).start() if traffic else None

    # ------------------------------------------------------------ helpers
    def link(self, ident=None, **kw):
        return hx.PeerLink(self.addr, ident or self.p, self.vpk, **kw)

    def pylink(self):
        """A confirmed link of the Python partner, seen up by the victim."""
        pl = self.link().connect()
        pl.ping_roundtrip()
        self.v.wait_link(harness_peer(self.p), "up", timeout=10)
        return pl

    def dial(self):
        return np.dial(self.addr, 10.0)

    def canary(self):
        """A proposal from the real partner is delivered and stored by the victim."""
        self.canaries += 1
        out = self.b.cli("propose", "--to", self.v.id, "--title", "canary %d" % self.canaries,
                         "--body", "still here")
        mid = out.strip().splitlines()[-1]
        wait_for(lambda: self.b.cli("show", mid, json_out=True)["state"] == "delivered",
                 "canary %d from the real partner to be delivered" % self.canaries, 15)
        check(self.db.has_message(bytes.fromhex(mid)), "the victim stored canary %d" % self.canaries)

    def observe(self):
        return hx.metrics(self.v)[1], self.db.snapshot()

    def attack(self, name, fn, expect, stored=0, trust=0):
        """Runs one attack as a step. expect: (family, reason) or a set of acceptable
        (family, reason), ANY, or None (nothing refused). stored: messages by others than the
        real partner the victim may keep; trust: log entries of trust changes."""
        def step():
            m0, db0 = self.observe()
            fn()                    # the attack, with its own checks (silence, Close, ...)
            problems = []
            checks = [lambda: self._check_counted(name, m0, m1, expect)]
            if expect is not None:
                try:
                    wait_for(lambda: self._counted(m0, expect), "a refusal counted", 5)
                except Failure:
                    problems.append("handled as documented (silence or Close, link closed) but no "
                                    "refusal counted in coex metrics")
                    checks = []
            self.canary()           # the real partner's link is unaffected
            m1, db1 = self.observe()
            for chk in checks + [lambda: self._check_store(name, db0, db1, stored, trust)]:
                try:
                    chk()
                except Failure as e:
                    problems.append(str(e))
            self.v.alive()
            check(not problems, "; ".join(problems))
            return hx.fmt_delta(hx.reason_delta(m0, m1))
        self.steps.run(name, step)

    def _counted(self, m0, expect):
        d = hx.reason_delta(m0, hx.metrics(self.v)[1])
        if expect is ANY:
            return sum(d.values()) >= 1
        want = expect if isinstance(expect, set) else {expect}
        return any(d.get(k, 0) >= 1 for k in want)

    def _check_counted(self, name, m0, m1, expect):
        d = hx.reason_delta(m0, m1)
        if expect is None:
            check(not d, "%s: no refusal expected, counted %s" % (name, hx.fmt_delta(d)))
        elif expect is ANY:
            check(len(d) == 1 and list(d.values()) == [1],
                  "%s: exactly one counter +1 expected, got %s" % (name, hx.fmt_delta(d)))
        else:
            want = expect if isinstance(expect, set) else {expect}
            check(len(d) == 1 and list(d.values()) == [1] and set(d) <= want,
                  "%s: expected %s +1 and nothing else, got %s"
                  % (name, " or ".join("%s{%s}" % k for k in sorted(want)), hx.fmt_delta(d)))

    def _check_store(self, name, db0, db1, stored, trust):
        def others(db):
            return {k: n for k, n in db["messages"].items() if k[1] != self.bpk}

        def fixed(db):  # log entries beyond one RECEIVED entry per stored inbound message
            return db["log"] - sum(n for (d, _), n in db["messages"].items() if d == 1)
        o0, o1 = others(db0), others(db1)
        grown = sum(o1.values()) - sum(o0.values())
        check(grown == stored and all(o1.get(k, 0) >= n for k, n in o0.items()),
              "%s: %d message(s) from others than the real partner may be stored, store went "
              "from %r to %r" % (name, stored, o0, o1))
        check(fixed(db1) - fixed(db0) == trust,
              "%s: the log grew by %d entries beyond received messages (expected %d)"
              % (name, fixed(db1) - fixed(db0), trust))
        check(db1["outbox"] == db0["outbox"], "%s: the victim's outbox changed" % name)

    def finish(self):
        if self.traffic:
            n = self.traffic.stop_and_check()
            print("  background: %d proposals from the real partner, all delivered" % n)
        self.steps.finish()


class harness_peer:
    def __init__(self, ident):
        self.id, self.name = ident.id, "pypeer"


def expect_silence(sock, what, timeout=10.0, allow_reset=False):
    """The node closes the connection without sending a byte."""
    data, how = hx.silent_close(sock, timeout)
    sock.close()
    check(data == b"", "%s: nothing sent back, got %d bytes" % (what, len(data)))
    check(how == "eof" or (allow_reset and how == "reset"),
          "%s: connection closed by the node, got %s" % (what, how))


def expect_close(pl, reason, what):
    """The node sends Close{reason} and closes the connection."""
    frames, how = pl.read_to_close()
    pl.close()
    closes = [f for f in frames if f["kind"] == "close"]
    check(how in ("eof", "reset"), "%s: the node closed the link (got %s)" % (what, how))
    if reason is None:
        check(not closes, "%s: no Close expected, got %r" % (what, closes))
    else:
        check(closes and closes[-1]["reason_name"] == reason,
              "%s: Close{%s} expected, got %r" % (what, reason, closes or frames[-3:]))


def expect_link_stays(sc, pl):
    """A refused message does not cost the link."""
    pl.ping_roundtrip()
    check(sc.v.link_state(sc.p.id) == "up", "the Python partner's link is still up")


# ---------------------------------------------------------------- 1. before the handshake

def test_garbage_before_handshake(w):
    sc = Scene(w)

    def send_then(data, shut=False, allow_reset=False, what=""):
        def fn():
            s = sc.dial()
            s.sendall(data)
            if shut:
                s.shutdown(socket.SHUT_WR)
            expect_silence(s, what, allow_reset=allow_reset)
        return fn

    sc.attack("zero_length_frame", send_then(b"\x00\x00", what="0-length frame"), (HS, "bad_frame"))
    # Shorter than IK's first message (96 bytes without payload): cannot be an initiation.
    sc.attack("one_byte_frame", send_then(b"\x00\x01\x42", what="1-byte frame"),
              {(HS, "bad_hello"), (HS, "bad_frame"), (HS, "decrypt_failed")})
    sc.attack("one_raw_byte_then_eof", send_then(b"\x42", shut=True, what="1 raw byte"), ANY)
    sc.attack("max_prefix_short_then_eof",
              send_then(b"\xff\xff" + os.urandom(1000), shut=True, what="65535 prefix, 1000 bytes"),
              ANY)
    sc.attack("max_prefix_short_left_open",
              send_then(b"\xff\xff" + os.urandom(1000), what="65535 prefix, left open"),
              (HS, "handshake_timeout"))
    sc.attack("silent_connection", send_then(b"", what="connect, say nothing"),
              (HS, "handshake_timeout"))
    junk = os.urandom(200)
    sc.attack("random_initiation", send_then(struct.pack(">H", len(junk)) + junk,
                                             what="random 200-byte initiation"),
              (HS, "decrypt_failed"))
    junk = os.urandom(4096)
    first = 300
    sc.attack("random_stream", send_then(struct.pack(">H", first) + junk, allow_reset=True,
                                         what="4 KiB of random bytes"), (HS, "decrypt_failed"))
    sc.finish()


# ---------------------------------------------------------------- 2. after the handshake

def test_garbage_after_handshake(w):
    sc = Scene(w)

    def on_link(action, close_reason, what, stays=False):
        def fn():
            pl = sc.pylink()
            action(pl)
            if stays:
                expect_link_stays(sc, pl)
                pl.close()
            else:
                expect_close(pl, close_reason, what)
                sc.v.wait_link(harness_peer(sc.p), "down", timeout=10)
        return fn

    sc.attack("undecryptable_transport",
              on_link(lambda pl: pl.send_msg(os.urandom(80)), None, "garbage ciphertext"), ANY)
    sc.attack("undecodable_frame",
              on_link(lambda pl: pl.send_plain(b"\x07" + os.urandom(40)), "protocol",
                      "garbage inside valid encryption"), ANY)
    good = hx.frame_envelope_chunk(100, os.urandom(100))
    sc.attack("truncated_frame",
              on_link(lambda pl: pl.send_plain(good[:50]), "protocol", "truncated Frame"), ANY)
    sc.attack("zero_length_transport",
              on_link(lambda pl: pl.send_msg(b""), "protocol", "0-length transport frame"), ANY)
    sc.attack("chunk_over_max_message",
              on_link(lambda pl: pl.send_plain(hx.frame_envelope_chunk(MAX_MESSAGE + 1, b"x" * 100)),
                      "limit", "total_len > max_message_bytes"), ANY)
    sc.attack("chunk_total_len_huge",
              on_link(lambda pl: pl.send_plain(hx.frame_envelope_chunk(0xFFFFFFFF, b"x" * 100)),
                      "limit", "total_len 2^32-1"), ANY)

    def changing_total(pl):
        pl.send_plain(hx.frame_envelope_chunk(1000, os.urandom(600)))
        pl.send_plain(hx.frame_envelope_chunk(2000, os.urandom(600)))
    sc.attack("chunks_total_changes", on_link(changing_total, "protocol", "total_len changes"), ANY)

    def overflowing(pl):
        pl.send_plain(hx.frame_envelope_chunk(1000, os.urandom(600)))
        pl.send_plain(hx.frame_envelope_chunk(1000, os.urandom(600)))
    sc.attack("chunks_overflow_total", on_link(overflowing, "protocol", "chunks exceed total"), ANY)
    sc.attack("chunk_longer_than_total",
              on_link(lambda pl: pl.send_plain(hx.frame_envelope_chunk(10, os.urandom(600))),
                      "protocol", "one chunk longer than total_len"), ANY)
    sc.attack("chunk_empty_data",
              on_link(lambda pl: pl.send_plain(hx.frame_envelope_chunk(10, b"")),
                      "protocol", "chunk without data"), ANY)
    # Well-framed but meaningless content: refused, the link stays.
    junk = os.urandom(300)
    sc.attack("garbage_envelope",
              on_link(lambda pl: pl.send_envelope(junk), None, "garbage envelope", stays=True),
              (MR, "bad_envelope"))
    sc.attack("garbage_receipt",
              on_link(lambda pl: pl.send_plain(hx.frame_receipt(os.urandom(120))), None,
                      "garbage receipt", stays=True), (MR, "bad_receipt"))

    def nonsense_proofs(pl):
        # Consistency proofs the victim cannot give: each answered with an error, in order.
        asks = [(5, 3), (0, 2 ** 63), (2 ** 64 - 1, 2 ** 64 - 1), (1, 10 ** 9), (10 ** 6, 10 ** 6)]
        for a, b in asks:
            pl.send_plain(hx.f_msg(hx.F_PROOF_REQUEST, hx.f_varint(1, a) + hx.f_varint(2, b)))
        for a, b in asks:
            f = pl.wait_frame(lambda f: f["kind"] == "proof_answer", "the answer to %d -> %d" % (a, b))
            got = (hx.first(f["fields"], 1, 0), hx.first(f["fields"], 2, 0))
            check(got == (a, b), "answers in order: %r for %r" % (got, (a, b)))
            check(hx.first(f["fields"], 4, b"") != b"" and not f["fields"].get(3),
                  "an error and no proof for %d -> %d: %r" % (a, b, f["fields"]))
        # An answer nobody asked for is ignored.
        pl.send_plain(hx.f_msg(hx.F_PROOF_ANSWER, hx.f_varint(1, 1) + hx.f_varint(2, 2)
                               + hx.f_bytes(3, os.urandom(32))))
    sc.attack("nonsense_proof_requests", on_link(nonsense_proofs, None, "", stays=True), None)
    sc.finish()


# ---------------------------------------------------------------- 3. envelopes

def test_bad_envelopes(w):
    sc = Scene(w)
    p, vpk, bpk = sc.p, sc.vpk, sc.bpk
    state = {}
    pl_box = [None]

    def pl():
        if pl_box[0] is None or sc.v.link_state(p.id) != "up":
            if pl_box[0] is not None:
                pl_box[0].close()
            pl_box[0] = sc.pylink()
        return pl_box[0]

    def refused(msg_fn):
        def fn():
            link = pl()
            m = msg_fn()
            link.send_envelope(m.env)
            expect_link_stays(sc, link)
            check(not sc.db.has_message(m.hash), "the refused envelope is not stored")
        return fn

    # A valid proposal: accepted and receipted; the receipt proves our construction right.
    def valid():
        link = pl()
        m = hx.make_message(p, vpk, kind_bytes=hx.encode_proposal("From Python", body="# hi",
                                                                   tags=["py"]))
        link.send_envelope(m.env)
        data = link.wait_receipt(m)
        rc = hx.check_receipt(data, m, vpk, p.pk)
        shown = sc.v.cli("show", m.hash.hex(), json_out=True)
        check(shown["verified"] is True and shown["author"] == p.id and
              shown["body"]["title"] == "From Python", "the victim shows it verified: %r" % shown)
        state.update(msg=m, receipt=data, rc=rc)
    sc.attack("valid_proposal", valid, None, stored=1)

    def replay_delivered():
        check("msg" in state, "needs valid_proposal")
        link = pl()
        link.send_envelope(state["msg"].env)
        again = link.wait_receipt(state["msg"])
        check(again == state["receipt"], "a duplicate is answered with the original receipt")
        rows = sc.db.query("SELECT count(*) FROM messages WHERE id = ?", (state["msg"].id,))
        check(rows[0][0] == 1, "stored once: %r" % rows)
    sc.attack("replay_delivered_envelope", replay_delivered, None)

    def bad_sig():
        body = hx.encode_body(p.pk, vpk, hx.KIND_PROPOSAL, hx.encode_proposal("bad sig"))
        sig = bytearray(hx.sign_body(p, body))
        sig[5] ^= 0x01
        return hx.make_message(p, vpk, signed=hx.encode_signed(body, bytes(sig)),
                               env_id=hx.body_id(body))
    sc.attack("bad_signature", refused(bad_sig), (MR, "bad_signature"))

    def non_canonical():
        body = hx.encode_body(p.pk, vpk, hx.KIND_PROPOSAL, hx.encode_proposal("S + L"))
        sig = hx.sign_body(p, body)
        p.signing.verify_key.verify(hx.DOMAIN_BODY + body, sig)   # the canonical one is good
        return hx.make_message(p, vpk, signed=hx.encode_signed(body, hx.non_canonical(sig)),
                               env_id=hx.body_id(body))
    sc.attack("non_canonical_signature", refused(non_canonical), (MR, "bad_signature"))

    sc.attack("wrong_recipient", refused(lambda: hx.make_message(p, vpk, body_recipient=bpk)),
              (MR, "wrong_recipient"))
    # The body names the real partner as its author; the envelope (and signature, and box) is
    # the Python partner's. Today's reason for it is wrong_recipient (see the report).
    sc.attack("author_not_from", refused(lambda: hx.make_message(p, vpk, body_author=bpk)),
              {(MR, "wrong_recipient"), (MR, "wrong_author")})
    sc.attack("expired", refused(lambda: hx.make_message(
        p, vpk, created_ms=hx.now_ms() - 120000, expires_ms=hx.now_ms() - 60000)), (MR, "expired"))
    sc.attack("envelope_id_not_body_id",
              refused(lambda: hx.make_message(p, vpk, env_id=os.urandom(16))), (MR, "malformed"))

    def extra_field():
        body = hx.encode_body(p.pk, vpk, hx.KIND_PROPOSAL, hx.encode_proposal("3 fields"))
        signed = hx.encode_signed(body, hx.sign_body(p, body)) + hx.f_bytes(3, b"extra")
        return hx.make_message(p, vpk, signed=signed, env_id=hx.body_id(body))
    sc.attack("signed_not_canonical", refused(extra_field), (MR, "malformed"))
    # Sealed by another key than the envelope's from: the box does not open.
    stranger = np.Identity()
    sc.attack("box_from_other_key", refused(lambda: hx.make_message(p, vpk, sealer=stranger)),
              {(MR, "bad_signature"), (MR, "bad_box")})
    sc.attack("unknown_author", refused(lambda: hx.make_message(stranger, vpk)),
              (MR, "unknown_author"))
    sc.attack("relay_not_allowed", refused(lambda: hx.make_message(p, bpk)),
              (MR, "relay_not_allowed"))

    # Forwarded: the Python partner forwards a proposal that an outside author A sent it.
    author_a = np.Identity()

    orig_id = os.urandom(16)  # the original's id: every forward's thread
    orig_expires = hx.now_ms() + 7200 * 1000  # no forward may outlive it

    def original(forwardable=True, hop_limit=2, to=None, break_sig=False):
        body = hx.encode_body(author_a.pk, to or p.pk, hx.KIND_PROPOSAL,
                              hx.encode_proposal("A's offer", forwardable=forwardable,
                                                 hop_limit=hop_limit),
                              msg_id=orig_id, expires_ms=orig_expires)
        sig = hx.sign_body(author_a, body)
        if break_sig:
            sig = bytes([sig[0] ^ 1]) + sig[1:]
        return hx.encode_signed(body, sig)

    def forwarded(hops_left=1, thread=None, expires_ms=None, **kw):
        return hx.make_message(p, vpk, kind=hx.KIND_FORWARDED,
                               kind_bytes=hx.encode_forwarded(original(**kw), "for you", hops_left),
                               thread=orig_id if thread is None else thread, expires_ms=expires_ms)

    def fwd_accepted(make):
        def fn():
            link = pl()
            m = make()
            link.send_envelope(m.env)
            hx.check_receipt(link.wait_receipt(m), m, vpk, p.pk)
            check(sc.v.cli("show", m.hash.hex(), json_out=True)["kind"] == "forwarded",
                  "stored as forwarded")
        return fn
    sc.attack("forwarded_valid", fwd_accepted(forwarded), None, stored=1)
    sc.attack("forwarded_hops_raised", refused(lambda: forwarded(hops_left=2)),
              (MR, "hop_limit_exceeded"))
    sc.attack("forwarded_hops_far_above", refused(lambda: forwarded(hops_left=200)),
              (MR, "hop_limit_exceeded"))

    # A forward of a forward: A -> X -> the Python partner -> the victim. X's Forwarded wraps
    # A's proposal (addressed to X); the partner's wraps X's (addressed to the partner).
    x = np.Identity()

    def twice_forwarded(inner_hops=1, outer_hops=0, inner_to=None, hop_limit=2):
        inner = hx.encode_body(x.pk, inner_to or p.pk, hx.KIND_FORWARDED,
                               hx.encode_forwarded(original(to=x.pk, hop_limit=hop_limit), "", inner_hops),
                               thread=orig_id)
        inner_signed = hx.encode_signed(inner, hx.sign_body(x, inner))
        return hx.make_message(p, vpk, kind=hx.KIND_FORWARDED,
                               kind_bytes=hx.encode_forwarded(inner_signed, "on again", outer_hops),
                               thread=orig_id)
    sc.attack("forwarded_twice_valid", fwd_accepted(twice_forwarded), None, stored=1)
    sc.attack("forwarded_twice_hops_not_lowered",
              refused(lambda: twice_forwarded(inner_hops=1, outer_hops=1)), (MR, "hop_limit_exceeded"))
    sc.attack("forwarded_twice_beyond_limit",
              refused(lambda: twice_forwarded(inner_hops=0, outer_hops=0, hop_limit=1)),
              (MR, "hop_limit_exceeded"))
    # hops_left + 1 must not wrap: 2**32 - 1 over 0 would read as "one lower"
    sc.attack("forwarded_twice_hops_wrapped",
              refused(lambda: twice_forwarded(inner_hops=0, outer_hops=2**32 - 1, hop_limit=1)),
              (MR, "hop_limit_exceeded"))
    sc.attack("forwarded_wrong_thread", refused(lambda: forwarded(thread=os.urandom(16))),
              (MR, "forward_wrong_thread"))
    sc.attack("forwarded_outlives_original",
              refused(lambda: forwarded(expires_ms=orig_expires + 1000)),
              (MR, "forward_outlives_original"))
    sc.attack("forwarded_twice_inner_not_to_forwarder",
              refused(lambda: twice_forwarded(inner_to=bpk)), (MR, "forward_without_consent"))
    sc.attack("forwarded_not_forwardable", refused(lambda: forwarded(forwardable=False)),
              (MR, "forward_without_consent"))
    sc.attack("forwarded_not_addressed_to_forwarder", refused(lambda: forwarded(to=bpk)),
              (MR, "forward_without_consent"))
    sc.attack("forwarded_bad_original_signature", refused(lambda: forwarded(break_sig=True)),
              (MR, "bad_original_signature"))
    # A forwardable proposal whose hop_limit is unset (proto3: 0) allows no hop: coexd's own
    # `coex forward` refuses it too. (docs/protocol.md's "default 2" is the CLI's default.)
    sc.attack("forwarded_hop_limit_unset", refused(lambda: forwarded(hop_limit=0)),
              (MR, "hop_limit_exceeded"))
    # An envelope whose from is not a usable key (a point of small order).
    sc.attack("envelope_from_invalid_key",
              refused(lambda: hx.make_message(p, vpk, env_from=b"\x00" * 32)),
              (MR, "bad_author_key"))

    # A receipt for a message the victim sent to someone else, from the Python partner. The
    # receipt is well formed and signed (by the Python partner, over its own one-entry log).
    q = np.Identity()
    sc.v.cli("partner", "add", "qpeer", q.id, NOWHERE)
    qmid = sc.v.cli("propose", "--to", "qpeer", "--title", "for Q only",
                    "--body", "x").strip().splitlines()[-1]
    wait_for(lambda: sc.db.has_trust_entry(hx.LOG_PARTNER_ADDED, q.pk), "qpeer in the log", 10)

    def forged_receipt():
        link = pl()
        h = bytes.fromhex(qmid)
        mid = sc.db.query("SELECT id FROM messages WHERE hash = ?", (h,))[0][0]
        entry = hx.encode_log_entry(hx.LOG_RECEIVED, vpk, h, bytes(mid), vpk)
        head = hx.signed_tree_head(p, 1, hx.merkle_leaf(entry))
        link.send_plain(hx.frame_receipt(hx.encode_receipt(h, 0, entry, head)))
        # Sync point: the commit thread is FIFO, so once a later message of ours is receipted,
        # whatever the forged receipt caused is committed.
        m = hx.make_message(p, vpk, kind_bytes=hx.encode_proposal("sync"))
        if sc.v.link_state(p.id) != "up":
            link = pl()
        link.send_envelope(m.env)
        link.wait_receipt(m)
        shown = sc.v.cli("show", qmid, json_out=True)
        check(shown["state"] in ("queued", "sent"),
              "the victim's message to qpeer must stay undelivered, its state is %r: a receipt "
              "from another partner completed it" % shown["state"])
        check(sc.db.query("SELECT count(*) FROM outbox o JOIN messages m ON m.rowid = o.msg"
                          " WHERE m.hash = ?", (h,))[0][0] == 1,
              "the message to qpeer is still in the outbox")
    sc.attack("receipt_from_another_partner", forged_receipt, ANY, stored=1)
    if pl_box[0] is not None:
        pl_box[0].close()
    sc.finish()


# ---------------------------------------------------------------- 4. handshakes, replays, removal

def test_replays_and_removal(w):
    sc = Scene(w)
    p, vpk = sc.p, sc.vpk
    rec = {}

    def record_session():
        # A whole session: handshake, confirm, a proposal delivered; recorded byte for byte.
        pl = sc.pylink()
        m = hx.make_message(p, vpk, kind_bytes=hx.encode_proposal("recorded"))
        pl.send_envelope(m.env)
        hx.check_receipt(pl.wait_receipt(m), m, vpk, p.pk)
        rec.update(link=pl, sent=b"".join(pl.sent), initiation=pl.initiation, msg=m)
    sc.attack("record_a_session", record_session, None, stored=1)

    def replay_initiation():
        check("initiation" in rec, "needs record_a_session")
        s = sc.dial()
        s.sendall(struct.pack(">H", len(rec["initiation"])) + rec["initiation"])
        expect_silence(s, "replayed initiation")
        expect_link_stays(sc, rec["link"])
    sc.attack("replayed_first_message", replay_initiation, (HS, "replay"))

    def replay_session():
        check("sent" in rec, "needs record_a_session")
        s = sc.dial()
        s.sendall(rec["sent"])
        expect_silence(s, "replayed session", allow_reset=True)
        rows = sc.db.query("SELECT count(*) FROM messages WHERE id = ?", (rec["msg"].id,))
        check(rows[0][0] == 1, "the recorded message is stored once: %r" % rows)
        expect_link_stays(sc, rec["link"])
    sc.attack("replayed_whole_session", replay_session, (HS, "replay"))

    def stranger_handshake(ident, hello_kw=None):
        def fn():
            s = sc.dial()
            ini = np.Initiator(ident, vpk)
            h = np.hello(ident.pk, "Stranger", **(hello_kw or {}))
            np.send_message(s, ini.initiation(h))
            expect_silence(s, "initiation")
        return fn
    sc.attack("unknown_key", stranger_handshake(np.Identity()), (HS, "unknown_key"))
    sc.attack("clock_skew", stranger_handshake(p, {"timestamp_ms": hx.now_ms() - 10 * 60 * 1000}),
              (HS, "clock_skew"))

    def identity_not_noise_key():
        s = sc.dial()
        ini = np.Initiator(p, vpk)
        h = np.hello(sc.bpk, "Impostor")       # names the real partner, speaks with p's key
        np.send_message(s, ini.initiation(h))
        expect_silence(s, "hello identity != static key")
    sc.attack("hello_identity_mismatch", identity_not_noise_key, (HS, "bad_hello"))

    def confirm_with(payload_fn, what):
        def fn():
            pl = sc.link()
            pl.sock = np.dial(sc.addr, 10.0)
            ini = np.Initiator(p, vpk)
            pl.send_msg(ini.initiation(np.hello(p.pk, "Py Peer")))
            resp = np.recv_message(pl.sock)
            check(resp is not None, "the node answers")
            _, pl.sess = ini.read_response(pl.sock, resp)
            payload_fn(pl)
            data, how = hx.silent_close(pl.sock)
            pl.close()
            check(data == b"" and how in ("eof", "reset"), "%s: closed silently (%s, %d bytes)"
                  % (what, how, len(data)))
            check(sc.v.link_state(p.id) == "up", "the live link was not replaced")
            expect_link_stays(sc, rec["link"])
        return fn
    sc.attack("confirm_undecryptable", confirm_with(lambda pl: pl.send_msg(os.urandom(40)),
                                                    "bad confirm ciphertext"),
              (HS, "confirm_failed"))
    sc.attack("confirm_undecodable", confirm_with(lambda pl: pl.send_plain(b"\x07\x07\x07"),
                                                  "undecodable confirm"), (HS, "bad_confirm"))

    def removed():
        pl = rec["link"]
        sc.v.cli("partner", "remove", "pypeer")
        expect_close(pl, "removed", "removed partner's live link")
        check(p.id not in [x["id"] for x in sc.v.partners()], "no longer a partner")
        s = sc.dial()
        ini = np.Initiator(p, vpk)
        np.send_message(s, ini.initiation(np.hello(p.pk, "Py Peer")))
        expect_silence(s, "removed partner's new handshake")
        wait_for(lambda: sc.db.has_trust_entry(hx.LOG_PARTNER_REMOVED, p.pk),
                 "the removal in the log", 10)
    sc.attack("removed_partner", removed, (HS, "unknown_key"), trust=1)
    sc.finish()


if __name__ == "__main__":
    tests = [test_garbage_before_handshake, test_garbage_after_handshake, test_bad_envelopes,
             test_replays_and_removal]
    if len(sys.argv) > 1:
        tests = [t for t in tests if any(a in t.__name__ for a in sys.argv[1:])]
    harness.main(tests)
