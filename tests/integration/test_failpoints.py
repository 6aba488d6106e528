"""Every failpoint, one crash each: a node armed with COEX_FAILPOINT=NAME:N kills itself
(SIGKILL, as a power cut would) at the N-th hit of NAME while proposals flow; restarted
without the failpoint it must deliver every accepted message exactly once (oracle.py).

    acme (sender: CLI pusher) =========> globex (receiver)
      armed: send.before, send.after,      armed: commit.before, commit.after,
             log.append.mid                       receipt.before_send

    acme ==> globex --(coex forward)--> initech        armed at globex: forward.mid

    acme (pusher) ====> globex            SIGTERM under load, the receiver then the sender:
                                          exit 0 within 5 s, nothing lost or doubled

Needs a build with -DCOEX_FAILPOINTS=ON (skips otherwise). Default: each point once, at a hit
count that lands mid-stream; --long (or COEX_LONG=1): several hit counts per point, more
messages, and the commit points on the sender too.
"""
import signal
import time

import harness
import oracle
from harness import check, wait_for

LONG = harness.long_mode()
FAST = {"reconnect_min_ms": 100, "reconnect_max_ms": 500, "keepalive_ms": 500, "dead_ms": 2000}
MESSAGES = 120 if LONG else 30  # proposals pushed per case
AFTER = 5                       # proposals pushed after the restart (the node works again)


def nodes(w, *names):
    """Nodes on fixed ports (a restarted node must be found at the same address)."""
    return [w.node(n, listen="127.0.0.1:%d" % harness.free_port(), limits=FAST).start()
            for n in names]


def start_armed(node, point):
    """Starts node with COEX_FAILPOINT=point; it may die before it answers (the point can
    be hit at start or link-up): the caller waits for the death either way."""
    try:
        node.start(env={"COEX_FAILPOINT": point})
    except harness.Died:
        pass


def wait_killed(node, name, timeout=60):
    """Waits for node to kill itself at failpoint `name`."""
    rc = node.wait_exit(timeout)
    check(rc == -signal.SIGKILL, "%s died by SIGKILL at the failpoint (exit %r)" % (node.name, rc))
    check("msg=failpoint name=%s" % name in node.log_text(),
          "%s logged failpoint %s: %s" % (node.name, name, node.log_tail(5)))


def finish(ledger, acme, globex, prefix):
    """After the restart: a few more proposals, then every accepted one delivered once."""
    for i in range(AFTER):
        rc, _, err = ledger.propose(acme, "globex", "%s-after%02d" % (prefix, i))
        check(rc == 0, "propose after the restart: %s" % err)
    oracle.wait_all_delivered(acme, ledger.ok.values())
    counts = oracle.check_exactly_once(ledger, globex, only=prefix)
    for n in (acme, globex):
        oracle.integrity_check(n)
        oracle.log_verify(n)
    print("  %s: %s; delivered %d" % (prefix, ledger.summary(), len(counts)), flush=True)


def receiver_case(w, name, nth):
    """globex dies at name:nth while acme's backlog arrives and more is pushed."""
    acme, globex = nodes(w, "Acme", "Globex")
    harness.partner_up(acme, globex)
    check(globex.stop() == 0, "clean stop before arming")
    acme.wait_link(globex, "down")
    prefix = "%s.%d" % (name, nth)
    ledger = oracle.Ledger()
    pusher = oracle.Pusher(ledger, acme, "globex", ["%s-%04d" % (prefix, i) for i in range(MESSAGES)])
    pusher.start()
    wait_for(lambda: len(ledger.ok) >= 5, "a backlog at acme")
    start_armed(globex, "%s:%d" % (name, nth))
    wait_killed(globex, name)
    acme.wait_link(globex, "down")
    globex.start()
    pusher.join(120)
    check(not pusher.is_alive(), "the pusher finished")
    check(len(ledger.ok) == MESSAGES, "acme's CLI never failed (its node stayed up): %s %r"
          % (ledger.summary(), list(ledger.failed.items())[:3]))
    finish(ledger, acme, globex, prefix)


def sender_case(w, name, nth):
    """acme dies at name:nth: half of its proposals are pushed while globex is down (a
    backlog that goes out in one burst when the link comes up), the rest while they flow;
    the pusher keeps going against the dead node (those calls fail cleanly), then acme
    restarts clean."""
    acme, globex = nodes(w, "Acme", "Globex")
    harness.partner_up(acme, globex)
    check(globex.stop() == 0, "clean stop")
    check(acme.stop() == 0, "clean stop before arming")
    start_armed(acme, "%s:%d" % (name, nth))
    prefix = "%s.%d" % (name, nth)
    ledger = oracle.Ledger()
    pusher = oracle.Pusher(ledger, acme, "globex", ["%s-%04d" % (prefix, i) for i in range(MESSAGES)])
    pusher.start()
    wait_for(lambda: len(ledger.ok) >= MESSAGES // 2 or acme.proc.poll() is not None,
             "a backlog at acme (or its death)")
    globex.start()
    wait_killed(acme, name)
    pusher.stop.set()
    pusher.join(120)
    acme.start()
    finish(ledger, acme, globex, prefix)


def forward_case(w, nth):
    """globex dies inside 'coex forward' (forward.mid:nth); the operator retries the calls
    that broke; initech gets each forwarded proposal exactly once."""
    acme, globex, initech = nodes(w, "Acme", "Globex", "Initech")
    harness.partner_up(acme, globex)
    harness.partner_up(globex, initech)
    count = max(nth + 3, 6)
    ids = {}
    for i in range(count):
        t = "fwd.%d-%02d" % (nth, i)
        ids[t] = acme.cli("propose", "--to", "globex", "--title", t, "--forwardable",
                          "--hops", "2").strip().splitlines()[-1]
    oracle.wait_all_delivered(acme, ids.values(), what="the forwardable proposals at globex")
    check(globex.stop() == 0, "clean stop before arming")
    start_armed(globex, "forward.mid:%d" % nth)
    globex.wait_link(initech)
    ledger = oracle.Ledger()
    for t, pid in ids.items():
        rc, _, err = ledger.run(globex, "forward", pid, "--to", "initech", title=t)
        if rc != 0 and oracle.NOT_REACHED not in err:
            break  # the call that broke: globex is dead
    wait_killed(globex, "forward.mid")
    check(len(ledger.indeterminate) == 1, "exactly one forward broke: %s" % ledger.summary())
    globex.start()
    for t, pid in ids.items():
        if t not in ledger.ok:
            rc, _, err = ledger.run(globex, "forward", pid, "--to", "initech", title=t)
            check(rc == 0 or "already forwarded" in err, "retried forward of %s: %s" % (t, err))
    check(sorted(ledger.ok) == sorted(ids), "every forward accepted in the end: %s" % ledger.summary())
    oracle.wait_all_delivered(globex, ledger.ok.values(), what="the forwards at initech")
    counts = oracle.check_exactly_once(ledger, initech)
    check(sorted(counts) == sorted(ids), "initech holds each forward: %r" % sorted(counts))
    for n in (acme, globex, initech):
        oracle.integrity_check(n)
        oracle.log_verify(n)


SENDER_POINTS = ["send.before", "send.after", "log.append.mid"]
RECEIVER_POINTS = ["commit.before", "commit.after", "receipt.before_send"]
NTHS = [1, 2, 3, 7, 15] if LONG else [3]


def make(fn, name, nth, label):
    def t(w):
        fn(w, name, nth)
    t.__name__ = "test_%s_%s_at_%d" % (label, name.replace(".", "_"), nth)
    return t


def make_forward(nth):
    def t(w):
        forward_case(w, nth)
    t.__name__ = "test_forwarder_forward_mid_at_%d" % nth
    return t


def test_sigterm_under_load(w):
    """SIGTERM the receiver, then the sender, while acme's CLI pushes: each exits 0 within
    5 s (Node.stop checks it); after restarts everything accepted arrives exactly once."""
    acme, globex = nodes(w, "Acme", "Globex")
    harness.partner_up(acme, globex)
    ledger = oracle.Ledger()
    pusher = oracle.Pusher(ledger, acme, "globex", ["term-%04d" % i for i in range(MESSAGES * 3)])
    pusher.start()
    rounds = 3 if LONG else 1
    for r in range(rounds):
        for victim, other in ((globex, acme), (acme, globex)):
            base = len(ledger.ok)
            wait_for(lambda: len(ledger.ok) >= base + 5 or not pusher.is_alive(),
                     "proposals flowing before the stop")
            t0 = time.monotonic()
            rc = victim.stop()
            check(rc == 0, "%s exits 0 on SIGTERM under load (got %r)" % (victim.name, rc))
            check("msg=stopped" in victim.log_tail(5), "%s logged a clean stop" % victim.name)
            print("  %s stopped in %.2f s" % (victim.name, time.monotonic() - t0), flush=True)
            victim.start()
            other.wait_link(victim, timeout=30)
    pusher.join(180)
    check(not pusher.is_alive(), "the pusher finished")
    finish(ledger, acme, globex, "term")


TESTS = ([make(sender_case, p, n, "sender") for p in SENDER_POINTS for n in NTHS] +
         [make(receiver_case, p, n, "receiver") for p in RECEIVER_POINTS for n in NTHS] +
         ([make(sender_case, p, n, "sender") for p in ("commit.before", "commit.after")
           for n in NTHS] if LONG else []) +
         [make_forward(n) for n in ([1, 2, 4] if LONG else [2])] +
         [test_sigterm_under_load])

if __name__ == "__main__":
    if not harness.has_failpoints():
        harness.skip_all("%s was built without failpoints (configure with -DCOEX_FAILPOINTS=ON)"
                         % harness.COEXD)
    harness.main(TESTS)
