"""Pipelined requests on one control connection (docs/protocol.md section 4): a client may
send many requests without waiting; the node answers them in order. Proposals run side by
side (each answered once durable, so they share commit batches); any other request waits
for the ones before it, so it sees their effects.

Asserts: 40 proposals written in one go, then `outbox`, an undecodable request and `outbox`
again, get 43 answers in that order; the proposals' ids are distinct and the first outbox
lists them all; the undecodable request gets an error and the connection carries on; the
partner receives all 40 in the order they were sent (per-link order). Large proposals beyond
what a connection may have in flight wait and are answered in order. A client that hangs up
with proposals in flight leaves the node working, and those proposals are still delivered
(queued is durable, whether or not anyone hears the answer)."""
import socket
import struct

import ctl_client
import harness
import noise_peer as np
from harness import check, wait_for

FAST = {"reconnect_min_ms": 200, "reconnect_max_ms": 1000}
N = 40
ERR_PROTO = -10003  # ERR_BASE - 3 (node/lib/err.h)


def frame(field, payload):
    req = np._field_bytes(field, payload, keep_empty=True)
    return struct.pack(">I", len(req)) + req


def propose_frame(to, title, text=b""):
    p = np._field_bytes(1, to.encode()) + np._field_bytes(2, title.encode())
    if text:  # as summary, body and terms
        p += np._field_bytes(3, text) + np._field_bytes(4, text) + np._field_bytes(5, text)
    return frame(ctl_client.REQ_PROPOSE, p)


def read_answer(ctl):
    (n,) = struct.unpack(">I", ctl._recv_exact(4))
    code, error, result = 0, "", {}
    for num, _, v in np._fields(ctl._recv_exact(n)):
        if num == ctl_client.RESP_CODE:
            code = ctl_client._unzigzag(v)
        elif num == ctl_client.RESP_ERROR:
            error = v.decode("utf-8", "replace")
        else:
            result.setdefault(num, []).append(v)
    return code, error, result


def listed_ids(result):
    ids = []
    for lst in result.get(ctl_client.RESP_MESSAGES, []):
        for num, _, v in np._fields(lst):
            if num == 1:
                ids.append(ctl_client._decode_message_info(v)["id"])
    return ids


def inbox_titles(node):
    return [m["title"] for m in node.cli("inbox", json_out=True)]


def test_pipelined_in_order(w):
    acme = w.node("Acme", limits=FAST).start()
    globex = w.node("Globex", limits=FAST).start()
    harness.partner_up(acme, globex)
    ctl = ctl_client.Ctl(acme.dir)
    try:
        outbox = frame(ctl_client.REQ_LIST, b"")
        garbage = struct.pack(">I", 3) + b"\xff\xff\xff"
        ctl.sock.sendall(b"".join(propose_frame(globex.id, "pipelined %02d" % i) for i in range(N))
                         + outbox + garbage + outbox)
        ids = []
        for i in range(N):
            code, error, result = read_answer(ctl)
            check(code == 0, "proposal %d answered %d: %s" % (i, code, error))
            ids.append(ctl_client._decode_message_info(result[ctl_client.RESP_MESSAGE][0])["id"])
        check(len(set(ids)) == N, "distinct ids for the %d proposals" % N)
        code, error, result = read_answer(ctl)
        check(code == 0 and set(ids) <= set(listed_ids(result)),
              "the outbox after the proposals lists all of them (%d: %s)" % (code, error))
        code, error, _ = read_answer(ctl)
        check(code == ERR_PROTO and "malformed" in error,
              "an undecodable request gets an error in its turn (%d: %s)" % (code, error))
        code, error, result = read_answer(ctl)
        check(code == 0 and len(listed_ids(result)) >= N, "the connection carries on after it")
    finally:
        ctl.close()
    wait_for(lambda: len(inbox_titles(globex)) == N, "%d proposals received" % N, timeout=60)
    got = list(reversed(inbox_titles(globex)))  # the inbox lists the newest first
    check(got == ["pipelined %02d" % i for i in range(N)], "received in the order sent: %s" % got)


def test_large_proposals_wait_for_room(w):
    """3 MiB proposals: only two fit the 8 MiB a connection may have in flight; the others
    wait for room and are still answered, in order."""
    acme = w.node("Acme", limits=FAST).start()
    globex = w.node("Globex", limits=FAST).start()
    harness.partner_up(acme, globex)
    text = b"x" * (1 << 20)
    ctl = ctl_client.Ctl(acme.dir, timeout=120)
    try:
        ctl.sock.sendall(b"".join(propose_frame(globex.id, "large %d" % i, text) for i in range(4)))
        ids = []
        for i in range(4):
            code, error, result = read_answer(ctl)
            check(code == 0, "large proposal %d answered %d: %s" % (i, code, error))
            info = ctl_client._decode_message_info(result[ctl_client.RESP_MESSAGE][0])
            check(info["title"] == "large %d" % i, "answers in order: %r" % info["title"])
            ids.append(info["id"])
        check(len(set(ids)) == 4, "4 distinct ids")
    finally:
        ctl.close()


def test_hang_up_with_proposals_in_flight(w):
    acme = w.node("Acme", limits=FAST).start()
    globex = w.node("Globex", limits=FAST).start()
    harness.partner_up(acme, globex)
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.connect(acme.dir + "/coexd.sock")
    s.sendall(b"".join(propose_frame(globex.id, "abandoned %02d" % i) for i in range(N)))
    s.close()
    check(acme.cli("status", json_out=True)["name"] == "Acme", "the node answers after the hang-up")
    # What the node read was queued (durably) even though nobody heard the answers.
    wait_for(lambda: len(inbox_titles(globex)) >= 1, "abandoned proposals delivered", timeout=60)
    check(acme.alive(), "the node is still running")


def test_stop_while_sending(w):
    """SIGTERM while proposals are being queued, sent and receipted: the node stops cleanly
    within the harness's 5 s (jobs failed at stop must not restart the loop's handles), and
    after a restart everything it queued is delivered."""
    acme = w.node("Acme", limits=FAST).start()
    globex = w.node("Globex", limits=FAST).start()
    harness.partner_up(acme, globex)
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.connect(acme.dir + "/coexd.sock")
    s.sendall(b"".join(propose_frame(globex.id, "busy %03d" % i) for i in range(10 * N)))
    wait_for(lambda: len(inbox_titles(globex)) >= 1, "the first proposals delivered", timeout=60)
    check(acme.stop() == 0, "stopped cleanly while busy")
    s.close()
    acme.start()
    wait_for(lambda: all(st in ("delivered", "answered")
                         for st in (m["state"] for m in acme.cli("outbox", json_out=True))),
             "every queued proposal delivered after the restart", timeout=60)
    queued = len(acme.cli("outbox", json_out=True))
    check(queued >= 1 and len(inbox_titles(globex)) == queued,
          "%d queued, %d received" % (queued, len(inbox_titles(globex))))


if __name__ == "__main__":
    harness.main([test_pipelined_in_order, test_large_proposals_wait_for_room,
                  test_hang_up_with_proposals_in_flight, test_stop_while_sending])
