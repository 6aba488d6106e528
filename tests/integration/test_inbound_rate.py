"""[limits] inbound_per_s: a partner that sends faster than the limit is slowed, not refused.

The receiver stops reading the link when the partner runs over its rate (TCP pushes back on
the sender), and reads on as the bucket refills: every message arrives, once, in order, and the
link stays up throughout.
"""
import harness
import oracle
from harness import check, wait_for

FAST = {"reconnect_min_ms": 200, "reconnect_max_ms": 1000}
COUNT = 100
RATE = 20


def paused_total(node):
    for line in node.cli("metrics").splitlines():
        if line.startswith("coex_inbound_paused_total "):
            return int(line.split()[1])
    raise harness.Failure("coex_inbound_paused_total missing from coex metrics")


def test_backlog_slowed_not_lost(w):
    sender = w.node("Sender", limits=FAST).start()
    receiver = w.node("Receiver", limits=dict(FAST, inbound_per_s=RATE)).start()
    harness.partner_up(sender, receiver)
    receiver.stop()
    titles = ["m%04d" % i for i in range(COUNT)]
    for t in titles:  # a backlog, sent in one burst when the receiver returns
        sender.cli("propose", "--to", "receiver", "--title", t)
    receiver.start()
    receiver.wait_link(sender)
    wait_for(lambda: paused_total(receiver) > 0, "the receiver to stop reading for a while", 30)
    wait_for(lambda: len(receiver.cli("inbox", json_out=True)) == COUNT,
             "all %d proposals to arrive" % COUNT, timeout=COUNT / RATE * 4 + 30)
    inbox = receiver.cli("inbox", json_out=True)
    got = [m["title"] for m in reversed(inbox)]  # the inbox lists newest first
    check(got == titles, "each once, in the order sent: %r" % got[:10])
    out = [m for m in sender.cli("outbox", json_out=True)]
    wait_for(lambda: all(m["state"] == "delivered" for m in sender.cli("outbox", json_out=True)),
             "every proposal receipted", 30)
    check(len(out) == COUNT, "the sender sent %d: %d" % (COUNT, len(out)))
    check(receiver.link_state(sender.id) == "up", "the link is up")
    for n in (sender, receiver):
        print("%s: %r" % (n.name, oracle.health(n)))
    check("no traffic" not in receiver.log_text() and "no traffic" not in sender.log_text(),
          "the link never timed out while paused")


if __name__ == "__main__":
    harness.main([test_backlog_slowed_not_lost])
