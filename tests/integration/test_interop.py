"""coexd against an independent Noise implementation (Debian's python3-dissononce, driven by
noise_peer.py with hand-written protobuf), in both roles, with real Hellos.

    pypeer --IK--> node      pypeer <--IK-- node      stranger --x--> node (silence)
    replayed initiation --x--> node                   unconfirmed initiator: never up, timed out
"""
import select
import socket
import time

import harness
import noise_peer as np
from harness import check, wait_for

# The node dials the partner address given at `partner add`; in the initiator scenarios the
# peer does not listen, so point it at a closed port and keep the redial slow and harmless.
NOWHERE = "127.0.0.1:1"
LIMITS = {"reconnect_min_ms": 200, "reconnect_max_ms": 2000}
IO_TIMEOUT = 10.0


class harness_peer:
    """Adapts an Identity to what Node.wait_link expects (.id, .name)."""

    def __init__(self, ident):
        self.id, self.name = ident.id, "pypeer"


def link_info(node, partner_id):
    for l in node.status()["links"]:
        if l["id"] == partner_id:
            return l
    return None


def node_pk(node):
    pk = np.parse_node_id(node.id)
    check(np.node_id(pk) == node.id, "node id round-trips through base32: %s" % node.id)
    return pk


def check_node_hello(node, h, what):
    """The Hello a node sends: its identity, display name, listen address, version, clock."""
    st = node.status()
    check(h["identity"] == node_pk(node), "%s: identity is the node's Ed25519 key" % what)
    check(h["name"] == st["name"], "%s: name %r == %r" % (what, h["name"], st["name"]))
    check(h["listen"] == st["listen"], "%s: listen %r == %r" % (what, h["listen"], st["listen"]))
    check(h["version_min"] == 1 and h["version_max"] == 1, "%s: versions 1..1: %r" % (what, h))
    skew = abs(time.time() * 1000 - h["timestamp_ms"])
    check(skew < 60000, "%s: timestamp is the wall clock in ms (off by %d ms)" % (what, skew))
    check(h["invite"] is None, "%s: no invite proof" % what)


def add_peer(node, peer, address=NOWHERE):
    node.cli("partner", "add", "pypeer", peer.id, address)
    check([p["id"] for p in node.partners()] == [peer.id], "pypeer is the only partner")


def handshake_as_initiator(node, peer, listen=()):
    """Dials node, runs IK with a real Hello. Returns (sock, session, node's Hello, initiation)."""
    sock = np.dial(node.status()["listen"][0], IO_TIMEOUT)
    ini = np.Initiator(peer, node_pk(node))
    initiation = ini.initiation(np.hello(peer.pk, "Py Peer", listen))
    np.send_message(sock, initiation)
    resp = np.recv_message(sock)
    check(resp is not None, "the node answers a partner's initiation (got EOF)")
    h, sess = ini.read_response(sock, resp)
    return sock, sess, h, initiation


def check_silent_close(sock, node, reason, what):
    """The node closes the connection without sending a byte, and logs why."""
    data, how = np.read_until_closed(sock)
    check(data == b"", "%s: nothing sent back, got %d bytes: %s" % (what, len(data), data[:64].hex()))
    check(how == "eof", "%s: connection closed with FIN, got %s" % (what, how))
    wait_for(lambda: any("msg=handshake_dropped" in l and "reason=%s" % reason in l
                         for l in node.log_text().splitlines()),
             "%s: the node to log handshake_dropped reason=%s" % (what, reason), 10)


def test_python_initiator(w):
    node = w.node("Acme", limits=LIMITS).start()
    peer = np.Identity()
    add_peer(node, peer)
    check(node.link_state(peer.id) == "down", "link down before the handshake")
    sock, sess, h, _ = handshake_as_initiator(node, peer, listen=[NOWHERE])
    try:
        check_node_hello(node, h, "node's response Hello")
        # Key confirmation: our first transport message. The node answers with its own Ping
        # (sent when the link comes up) and the Pong for ours; await_pong answers its Ping.
        nonce = sess.ping()
        answered = sess.await_pong(nonce)
        node.wait_link(harness_peer(peer), "up", timeout=10)
        info = link_info(node, peer.id)
        check(info["partner"] == "pypeer" and info["initiator"] is False,
              "node is the responder of the link: %r" % info)
        check(info["address"].startswith("127.0.0.1:"), "link address: %r" % info)
        check(any("msg=link_up" in l and "role=responder" in l for l in node.log_text().splitlines()),
              "node logs link_up role=responder")
        # The node's own Ping: answer it if it has not come yet; the node measures the RTT.
        if not answered:
            f = sess.recv_frame()
            check(f is not None and f["kind"] == np.PING, "node pings on link up: %r" % f)
            sess.send_frame(np.PONG, nonce=f["nonce"])
        wait_for(lambda: (link_info(node, peer.id) or {}).get("rtt_ms") is not None,
                 "the node to measure the RTT from our Pong", 10)
        # A second round trip: transport nonces keep counting in both directions.
        sess.await_pong(sess.ping())
    finally:
        sock.close()
    node.wait_link(harness_peer(peer), "down", timeout=10)
    check(node.stop() == 0, "node stops cleanly")


def test_python_responder(w):
    node = w.node("Globex", limits=LIMITS).start()
    peer = np.Identity()
    lsock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        lsock.bind(("127.0.0.1", 0))
        lsock.listen(4)
        lsock.settimeout(IO_TIMEOUT)
        my_addr = "127.0.0.1:%d" % lsock.getsockname()[1]
        add_peer(node, peer, my_addr)
        sock, _ = lsock.accept()
    finally:
        lsock.close()
    try:
        sock.settimeout(IO_TIMEOUT)
        msg = np.recv_message(sock)
        check(msg is not None, "the node sends an initiation")
        rsp = np.Responder(peer)
        h = rsp.read_initiation(msg)   # checks identity <-> static key, version, clock
        check(rsp.hs.rs.data == np.ed_pk_to_x25519(node_pk(node)),
              "the node's Noise static key is the X25519 form of its Ed25519 key")
        check_node_hello(node, h, "node's initiation Hello")
        resp, sess = rsp.response(sock, np.hello(peer.pk, "Py Peer", [my_addr]))
        np.send_message(sock, resp)
        # Key confirmation from the node: its first transport message, a Ping.
        f = sess.recv_frame()
        check(f is not None and f["kind"] == np.PING, "node's first transport message is a Ping: %r" % f)
        sess.send_frame(np.PONG, nonce=f["nonce"])
        node.wait_link(harness_peer(peer), "up", timeout=10)
        info = link_info(node, peer.id)
        check(info["initiator"] is True, "node dialled the link: %r" % info)
        wait_for(lambda: (link_info(node, peer.id) or {}).get("rtt_ms") is not None,
                 "the node to measure the RTT from our Pong", 10)
        # The other direction: our Ping, its Pong with the same nonce.
        sess.await_pong(sess.ping())
        check([p["address"] for p in node.partners()] == [my_addr], "partner address kept")
    finally:
        sock.close()
    node.wait_link(harness_peer(peer), "down", timeout=10)
    check(node.stop() == 0, "node stops cleanly")


def test_unknown_initiator_gets_silence(w):
    node = w.node("Initech", limits=LIMITS).start()
    stranger = np.Identity()
    sock = np.dial(node.status()["listen"][0], IO_TIMEOUT)
    try:
        ini = np.Initiator(stranger, node_pk(node))
        np.send_message(sock, ini.initiation(np.hello(stranger.pk, "Stranger", [])))
        check_silent_close(sock, node, "unknown_key", "unknown initiator")
    finally:
        sock.close()
    check(node.status()["links"] == [], "no link for a stranger")
    check(node.partners() == [], "nothing stored for a stranger")
    check(node.stop() == 0, "node stops cleanly")


def test_replayed_initiation_gets_silence(w):
    node = w.node("Umbrella", limits=LIMITS).start()
    peer = np.Identity()
    add_peer(node, peer)
    sock, sess, h, initiation = handshake_as_initiator(node, peer)
    try:
        sess.await_pong(sess.ping())
        node.wait_link(harness_peer(peer), "up", timeout=10)
        # The same first message again, byte for byte, on a new connection.
        replay = np.dial(node.status()["listen"][0], IO_TIMEOUT)
        try:
            np.send_message(replay, initiation)
            check_silent_close(replay, node, "replay", "replayed initiation")
        finally:
            replay.close()
        # The live link is untouched.
        check(node.link_state(peer.id) == "up", "the live link stays up after a replay")
        sess.await_pong(sess.ping())
    finally:
        sock.close()
    check(node.stop() == 0, "node stops cleanly")


def test_unconfirmed_initiator_never_up(w):
    timeout_ms = 1000
    node = w.node("Hooli", limits=dict(LIMITS, handshake_timeout_ms=timeout_ms)).start()
    peer = np.Identity()
    add_peer(node, peer)
    t0 = time.monotonic()
    sock, sess, h, _ = handshake_as_initiator(node, peer)
    try:
        check_node_hello(node, h, "node's response Hello")
        # We hold the session keys but never send a transport message. While the connection
        # is open the node must not count the link as up.
        polls, data = 0, b""
        deadline = t0 + 10 * timeout_ms / 1000.0
        while True:
            state = node.link_state(peer.id)
            check(state == "down", "link %s before key confirmation (poll %d)" % (state, polls))
            polls += 1
            r, _, _ = select.select([sock], [], [], 0.05)
            if r:
                data, how = np.read_until_closed(sock)
                break
            check(time.monotonic() < deadline, "the node to close an unconfirmed handshake")
        elapsed = time.monotonic() - t0
        check(data == b"" and how == "eof",
              "closed without a byte (%s, %d bytes: %s)" % (how, len(data), data[:64].hex()))
        check(elapsed >= 0.9 * timeout_ms / 1000.0,
              "closed after the handshake timeout, not before (%.2f s)" % elapsed)
        check(polls >= 5, "status was polled while the connection was open (%d polls)" % polls)
    finally:
        sock.close()
    wait_for(lambda: "reason=handshake_timeout" in node.log_text(),
             "the node to log handshake_dropped reason=handshake_timeout", 10)
    check(node.link_state(peer.id) == "down", "link still down")
    check("msg=link_up" not in node.log_text(), "no link_up logged")
    check(node.stop() == 0, "node stops cleanly")


if __name__ == "__main__":
    harness.main([test_python_initiator, test_python_responder, test_unknown_initiator_gets_silence,
                  test_replayed_initiation_gets_silence, test_unconfirmed_initiator_never_up])
