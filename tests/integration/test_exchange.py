"""Proposals and responses between two partner nodes, end to end, through the CLI.

    acme <==== link ====> globex
     propose (200 KiB attachment: chunked) -->
     <-- counter
     accept -->                 => a co-signed agreement in both threads
"""
import os
import signal

import ctl_client
import harness
from harness import check, wait_for

FAST = {"reconnect_min_ms": 200, "reconnect_max_ms": 1000}


def msg_state(node, mid):
    return node.cli("show", mid, json_out=True)["state"]


def last_id(out):
    return out.strip().splitlines()[-1]


def test_negotiation_to_agreement(w):
    acme = w.node("Acme", limits=FAST).start()
    globex = w.node("Globex", limits=FAST).start()
    harness.partner_up(acme, globex)
    pitch = os.path.join(w.root, "pitch.md")
    deck = os.path.join(w.root, "deck.pdf")
    with open(pitch, "w") as f:
        f.write("# Cold chain\nWe share trucks.\n")
    blob = os.urandom(200 * 1024)
    with open(deck, "wb") as f:
        f.write(blob)
    pid = last_id(acme.cli("propose", "--to", "globex", "--title", "Joint cold-chain pilot",
                           "--summary", "Share refrigerated capacity", "--body-file", pitch,
                           "--terms", "50/50 cost", "--tag", "logistics", "--value", "25000", "EUR",
                           "--attach", deck, "--expires", "30d"))
    check(len(pid) == 64, "a 64-hex id on the last line: %r" % pid)
    wait_for(lambda: msg_state(acme, pid) == "delivered", "the receipt for the proposal")
    got = globex.cli("show", pid, json_out=True)
    check(got["verified"] is True and got["kind"] == "proposal", "verified proposal: %r" % got)
    check(got["author"] == acme.id and got["recipient"] == globex.id, "author/recipient")
    body = got["body"]
    check(body["title"] == "Joint cold-chain pilot" and body["terms"] == "50/50 cost", "fields: %r" % body)
    check(body["attachments"][0]["size"] == len(blob), "attachment size: %r" % body["attachments"])
    saved = os.path.join(w.root, "saved")
    os.mkdir(saved)
    globex.cli("show", pid, "--save-attachments", saved)
    with open(os.path.join(saved, "deck.pdf"), "rb") as f:
        check(f.read() == blob, "the attachment arrived intact")
    inbox = globex.cli("inbox", json_out=True)
    check([m["id"] for m in inbox] == [pid] and inbox[0]["peer"] == "acme", "inbox: %r" % inbox)
    # counter, then accept
    cid = last_id(globex.cli("respond", pid[:12], "counter", "--title", "Pilot at 60/40",
                             "--terms", "60/40 cost", "--note", "we bring more trucks"))
    wait_for(lambda: msg_state(globex, cid) == "delivered", "the counter's receipt")
    check(msg_state(acme, pid) == "answered", "the proposal is answered at acme")
    aid = last_id(acme.cli("respond", cid, "accept", "--note", "Let's talk"))
    wait_for(lambda: msg_state(acme, aid) == "delivered", "the accept's receipt")
    for node in (acme, globex):
        th = node.cli("thread", pid, json_out=True)
        check([m["id"] for m in th] == [pid, cid, aid], "%s thread order: %r" % (node.name, [m["id"] for m in th]))
        check(all(m["verified"] for m in th), "%s: every signature verified" % node.name)
        check(th[-1]["body"]["decision"] == "accept", "ends in accept: %r" % th[-1]["body"])
        out = node.cli("thread", pid)
        check("agreement" in out, "%s thread shows the agreement:\n%s" % (node.name, out))
    m = acme.cli("metrics")
    check("coex_links_up 1" in m, "metrics show the link: %s" % m[:300])
    check('coex_messages{dir="out",state="delivered"} 1' in m, "metrics count messages")
    check("coex_receipts_received_total 2" in m, "two receipts verified at acme")


def test_queued_while_partner_down(w):
    acme = w.node("Acme", limits=FAST).start()
    globex = w.node("Globex", limits=FAST).start()
    harness.partner_up(acme, globex)
    globex.stop()
    acme.wait_link(globex, "down")
    ids = [last_id(acme.cli("propose", "--to", "globex", "--title", "offline %d" % i)) for i in range(5)]
    check(all(msg_state(acme, i) in ("queued", "sent") for i in ids), "queued while down")
    globex.start()
    for i in ids:
        wait_for(lambda: msg_state(acme, i) == "delivered", "delivery after the partner returned")
    got = [m["id"] for m in globex.cli("inbox", json_out=True)]
    check(sorted(got) == sorted(ids), "all five arrived once: %r" % got)


def test_show_waits_for_receipt(w):
    """show with wait_receipt_ms: answered at its deadline without a receipt, at the receipt
    when it comes, at once when it is there; a client that leaves while waiting is forgotten."""
    acme = w.node("Acme", limits=FAST).start()
    globex = w.node("Globex", limits=FAST).start()
    harness.partner_up(acme, globex)
    globex.stop()
    acme.wait_link(globex, "down")
    ctl = ctl_client.Ctl(acme.dir)
    try:
        mid = ctl.propose(globex.id, "wait for me")
        check(ctl.show(mid, wait_receipt_ms=200) in ("queued", "sent"), "no receipt: the deadline answers")
        gone = ctl_client.Ctl(acme.dir)
        gone.sock.sendall(gone.show_request(mid, wait_receipt_ms=60000))
        gone.close()
        globex.start()
        check(ctl.show(mid, wait_receipt_ms=60000) == "delivered", "answered at the receipt")
        check(ctl.show(mid, wait_receipt_ms=60000) == "delivered", "answered at once when receipted")
        check(ctl.show(mid) == "delivered", "without a wait as before")
    finally:
        ctl.close()


def test_refusals(w):
    acme = w.node("Acme", limits=dict(FAST, message_bytes=65536)).start()
    globex = w.node("Globex", limits=FAST).start()
    harness.partner_up(acme, globex)
    rc, _, err = acme.run("propose", "--to", "nobody", "--title", "x", check_rc=False)
    check(rc == 1 and "no partner" in err, "unknown recipient: %r" % err)
    big = os.path.join(w.root, "big.bin")
    with open(big, "wb") as f:
        f.write(os.urandom(100 * 1024))
    rc, _, err = acme.run("propose", "--to", "globex", "--title", "big", "--attach", big, check_rc=False)
    check(rc == 1 and "max_message_bytes" in err, "oversize refused: %r" % err)
    rc, _, err = acme.run("propose", "--to", "globex", check_rc=False)
    check(rc == 2, "no title is a usage error: %d %r" % (rc, err))
    rc, _, err = acme.run("respond", "ffff", "accept", check_rc=False)
    check(rc == 1 and "no message" in err, "unknown message: %r" % err)
    check(acme.cli("outbox", json_out=True) == [], "nothing half-written in the outbox")


def test_outbox_cap(w):
    acme = w.node("Acme", limits=dict(FAST, outbox_per_partner=3)).start()
    globex = w.node("Globex", limits=FAST).start()
    harness.partner_up(acme, globex)
    globex.stop()
    acme.wait_link(globex, "down")
    ids = [last_id(acme.cli("propose", "--to", "globex", "--title", "q%d" % i)) for i in range(3)]
    rc, _, err = acme.run("propose", "--to", "globex", "--title", "one too many", check_rc=False)
    check(rc == 1 and "outbox for this partner is full" in err, "the cap holds: %d %r" % (rc, err))
    check(len(acme.cli("outbox", json_out=True)) == 3, "nothing half-written")
    globex.start()
    for i in ids:
        wait_for(lambda: msg_state(acme, i) == "delivered", "delivery once the partner is back")
    last_id(acme.cli("propose", "--to", "globex", "--title", "room again"))


if __name__ == "__main__":
    harness.main([test_negotiation_to_agreement, test_queued_while_partner_down,
                  test_show_waits_for_receipt, test_refusals, test_outbox_cap])
