"""Network faults between real nodes, each in its own network namespace (netfaults.py):
partitions, one-way loss, packet loss, a slow link, a 200 ms delay, a frozen partner.

    acme (10.79.0.1) ──┐
    globex (10.79.0.2) ┼── bridge       every pair partnered; proposals flow at RATE/s
    initech (10.79.0.3)┘

Each scenario sends while the fault lasts, then removes it, and asserts:
  - the fault hit: the link across it drops (partition, freeze), the drop rules or the shaper
    counted packets, proposals across it are stored but not receipted (one-way loss);
  - the other partners are unaffected meanwhile: their links stay up and what they queued up
    to 3 s before the fault ends is already delivered (partition, freeze);
  - memory stays bounded: every daemon's RSS grows by < 80 MiB (the store's two 32 MiB
    SQLite page caches fill as it grows; 160 MiB under ASan) and it holds at most 16 more
    descriptors than before (sampled every 0.5 s from /proc);
  - the link recovers (within RECOVER_S of the heal) and everything is delivered exactly once
    (the ledger oracle: each accepted proposal stored once, nothing stored that was not sent);
  - every node's log export passes `coex audit` and export_verify.py, and each partnered pair
    cross-checks both ways (`coex audit --against`).

Durations: the default (CI) form is short, about 4 minutes in all on 2 cores: a 12 s
partition, 8 s of one-way loss, 10 s at 10 % and at 30 % loss, 8 s slow, 10 s at 200 ms, a
20 s freeze. `--long` (or COEX_LONG=1) runs the full form: partitions of 30 s and 5 min, 60 s
of each loss and of the delay, a 2 minute freeze (about 15 minutes). Needs root, nft and tc:
otherwise it skips, saying why.
"""
import os
import signal
import sys
import time

import harness
import netfaults as nf
import oracle
from harness import check, wait_for
from netfaults import Flow, NetWorld, Sampler

LONG = harness.long_mode()
PARTITIONS = [30, 300] if LONG else [12]
ONEWAY_S = 60 if LONG else 8
LOSS_S = 60 if LONG else 10
SLOW_S = 30 if LONG else 8
DELAY_S = 60 if LONG else 10
FREEZE_S = 120 if LONG else 20
RATE = 5.0                   # proposals a second, per flow
DELAY_MS = 200
# Quick failure detection and redial, so that the test measures recovery, not the defaults'
# 45 s / 60 s (operations.md). RECOVER_S: the longest redial wait, a handshake timeout, slack.
FAST = {"keepalive_ms": 1000, "dead_ms": 5000, "reconnect_min_ms": 200,
        "reconnect_max_ms": 2000, "handshake_timeout_ms": 5000}
DEAD_S = FAST["dead_ms"] / 1000.0
RECOVER_S = (FAST["reconnect_max_ms"] + FAST["handshake_timeout_ms"]) / 1000.0 + 15
DELIVER_S = 120              # after a fault ends, for the backlog to drain
# RSS grows with the store, whatever the fault: each of the store's two SQLite connections
# (the node's, the commit thread's) caches up to 32 MiB of pages (store.c: cache_size).
# Measured: a plain build grows by about the database's size (+9 MiB for 1,500 proposals);
# an ASan build by about 5 times that (redzones, quarantine, shadow), +78 MiB in the 5 min
# partition. The budgets: both caches full and 16 MiB (80 MiB) for a plain build, 160 MiB
# under ASan.
RSS_BUDGET_KIB = (160 if nf.sanitized() else 80) * 1024
FD_BUDGET = 16
NAMES = ["Acme", "Globex", "Initech"]


def started(w, names):
    net = NetWorld(w, names, limits=FAST)
    for n in net.nodes:
        n.start()
    nf.partner_all(net.nodes)
    return net


def flowing(flows, at_least=3, timeout=30):
    for f in flows:
        f.start()
    for f in flows:
        wait_for(lambda: len(nf.delivered_titles(f)) >= at_least,
                 "the first proposals of %s to arrive" % f.prefix, timeout)


def hold(seconds, watch):
    """Lets a fault last `seconds` (the scenario, not a wait for a condition), checking
    watch() about once a second meanwhile."""
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        watch()
        time.sleep(min(1.0, max(0.0, end - time.monotonic())))
    watch()


def links_stay_up(pairs):
    def watch():
        for a, b in pairs:
            check(nf.link_up(a, b) and nf.link_up(b, a),
                  "the link %s - %s stays up meanwhile (%s / %s)"
                  % (a.name, b.name, a.link_state(b.id), b.link_state(a.id)))
    return watch


def delivered_meanwhile(flows, t_end):
    """Unaffected flows: what they queued up to 3 s before t_end is already stored."""
    out = []
    for f in flows:
        want = {t for t, _ in f.queued_before(t_end - 3)}
        got = nf.delivered_titles(f)
        check(want and want <= got, "%s kept flowing meanwhile: %d of %d queued before the last "
              "3 s delivered, e.g. missing %r" % (f.prefix, len(want & got), len(want),
                                                   sorted(want - got)[:3]))
        out.append("%s %d" % (f.prefix, len(want)))
    return ", ".join(out)


def not_receipted_after(sender, flow, t):
    """flow's proposals queued after t that the sender saw receipted (should be none)."""
    states = oracle.outbox_states(sender)
    return [title for tq, title, mid in flow.queued
            if tq > t and states.get(mid) in ("delivered", "answered")]


def finish(w, net, ledger, flows, pairs):
    for f in flows:
        f.stop()
    counts = ["%s %d" % (f.prefix, nf.check_flow_exactly_once(ledger, f, DELIVER_S))
              for f in flows]
    nf.audit_all(w, net.nodes, pairs)
    return "exactly once: %s (%s); exports audit and cross-check" % (", ".join(counts),
                                                                     ledger.summary())


# ---------------------------------------------------------------- scenarios

def partition_scenario(w, seconds):
    with started(w, NAMES) as net:
        a, g, i = net.nodes
        ledger = oracle.Ledger()
        across = [Flow(ledger, a, g, "ag", RATE), Flow(ledger, g, a, "ga", RATE)]
        others = [Flow(ledger, a, i, "ai", RATE), Flow(ledger, i, g, "ig", RATE)]
        flowing(across + others)
        sampler = Sampler(net.nodes)
        sampler.start()

        net.partition(a, g)
        t_cut = time.monotonic()
        wait_for(lambda: not nf.link_up(a, g) and not nf.link_up(g, a),
                 "the partition to drop the Acme - Globex link", DEAD_S + 10)
        t_down = time.monotonic()
        hold(seconds - (t_down - t_cut), links_stay_up([(a, i), (i, g)]))
        t_heal = time.monotonic()
        meanwhile = delivered_meanwhile(others, t_heal)
        crossed = not_receipted_after(a, across[0], t_down + 1)
        check(not crossed, "nothing crossed the partition: %r" % crossed[:3])
        dropped = net.dropped(a) + net.dropped(g)
        check(dropped > 0, "the partition dropped packets")

        net.heal(a, g)
        t0 = time.monotonic()
        nf.wait_links([(a, g)], RECOVER_S)
        recovered = time.monotonic() - t0
        # a little traffic over the healed link before the end
        n_before = len(across[0].queued)
        wait_for(lambda: len(across[0].queued) >= n_before + 5, "more proposals after the heal", 10)
        verdict = finish(w, net, ledger, across + others, [(a, g), (a, i), (i, g)])
        sampler.stop()
        bounded = sampler.check_bounded(RSS_BUDGET_KIB, FD_BUDGET)
        print("  %d s partition: link down after %.1f s, %d packets dropped; meanwhile delivered "
              "%s; link back %.1f s after the heal; %s; %s"
              % (seconds, t_down - t_cut, dropped, meanwhile, recovered, verdict, bounded),
              flush=True)


def make_partition_test(seconds):
    def test(w):
        partition_scenario(w, seconds)
    test.__name__ = "test_partition_%ds_and_heal" % seconds
    return test


def test_oneway_receipt_loss(w):
    """Globex's packets to Acme are all dropped: proposals arrive, receipts do not. After the
    heal Acme resends them; Globex must store each once and receipt it again."""
    with started(w, NAMES[:2]) as net:
        a, g = net.nodes
        ledger = oracle.Ledger()
        ag = Flow(ledger, a, g, "ag", RATE)
        flowing([ag])
        net.block(g, a)
        hold(ONEWAY_S, lambda: None)
        stored = nf.delivered_titles(ag)
        states = oracle.outbox_states(a)
        unreceipted = sorted(t for t, mid in ((t, m) for _, t, m in ag.queued)
                             if t in stored and states.get(mid) not in ("delivered", "answered"))
        check(unreceipted, "some proposals stored by Globex whose receipts Acme never saw "
              "(%d stored)" % len(stored))
        dropped = net.dropped(g)
        check(dropped > 0, "the one-way block dropped packets")
        net.unblock(g, a)
        nf.wait_links([(a, g)], RECOVER_S)
        verdict = finish(w, net, ledger, [ag], [(a, g)])
        print("  %d s one-way: %d packets dropped, %d proposals stored without their receipt "
              "(e.g. %s); %s" % (ONEWAY_S, dropped, len(unreceipted), unreceipted[0], verdict),
              flush=True)


def loss_scenario(w, pct):
    with started(w, NAMES[:2]) as net:
        a, g = net.nodes
        ledger = oracle.Ledger()
        flows = [Flow(ledger, a, g, "ag", RATE), Flow(ledger, g, a, "ga", RATE)]
        flowing(flows)
        sampler = Sampler(net.nodes)
        sampler.start()
        net.loss(a, pct, g)
        net.loss(g, pct, a)
        hold(LOSS_S, lambda: None)
        for f in flows:
            f.stop()
        # delivered while the loss goes on
        t0 = time.monotonic()
        for f in flows:
            oracle.wait_all_delivered(f.sender, f.ids(), timeout=DELIVER_S,
                                      what="%s's proposals to be receipted at %d %% loss"
                                      % (f.prefix, pct))
        drained = time.monotonic() - t0
        dropped = net.dropped(a) + net.dropped(g)
        check(dropped > 0, "the loss rules dropped packets")
        net.clear()
        verdict = finish(w, net, ledger, flows, [(a, g)])
        sampler.stop()
        bounded = sampler.check_bounded(RSS_BUDGET_KIB, FD_BUDGET)
        print("  %d %% loss each way for %d s: %d packets dropped; all receipted %.1f s after "
              "sending stopped, still under loss; %s; %s"
              % (pct, LOSS_S, dropped, drained, verdict, bounded), flush=True)


def test_loss_10pct(w):
    loss_scenario(w, 10)


def test_loss_30pct(w):
    loss_scenario(w, 30)


def test_slow_link(w):
    """Acme's egress capped at 256 kbit/s while it queues 4 KiB proposals at 10/s (~330
    kbit/s): the shaper holds packets back, everything arrives once."""
    with started(w, NAMES[:2]) as net:
        a, g = net.nodes
        ledger = oracle.Ledger()
        ag = Flow(ledger, a, g, "ag", 10.0, body="x" * 4096)
        flowing([ag])
        net.slow(a, "256kbit")
        hold(SLOW_S, lambda: None)
        ag.stop()
        oracle.wait_all_delivered(a, ag.ids(), timeout=DELIVER_S,
                                  what="the proposals to be receipted over the slow link")
        st = net.shaped(a)
        check(st.get("overlimits", 0) > 0, "the shaper held packets back: %r" % st)
        net.unslow(a)
        verdict = finish(w, net, ledger, [ag], [(a, g)])
        print("  256 kbit/s for %d s: shaper %r; %s" % (SLOW_S, st, verdict), flush=True)


def test_delay_200ms(w):
    """Each node dials the other through a proxy adding 200 ms each way (no netem here)."""
    with NetWorld(w, NAMES[:2], limits=FAST) as net:
        a, g = net.nodes
        for n in net.nodes:
            n.start()
        via_a = net.delay_proxy(a, g, DELAY_MS)     # a's way to g
        via_g = net.delay_proxy(g, a, DELAY_MS)
        a.cli("partner", "add", "globex", g.id, via_a)
        g.cli("partner", "add", "acme", a.id, via_g)
        nf.wait_links([(a, g)], 30)

        def rtt():
            for l in a.status()["links"]:
                if l["id"] == g.id and l.get("rtt_ms"):
                    return float(l["rtt_ms"])
            return None
        r = wait_for(rtt, "a round-trip time measured on the link", 30)
        check(r >= 2 * DELAY_MS, "the link goes through the proxy: rtt %.1f ms >= %d ms"
              % (r, 2 * DELAY_MS))
        ledger = oracle.Ledger()
        flows = [Flow(ledger, a, g, "ag", RATE), Flow(ledger, g, a, "ga", RATE)]
        flowing(flows)
        hold(DELAY_S, links_stay_up([(a, g)]))
        verdict = finish(w, net, ledger, flows, [(a, g)])
        print("  %d ms each way for %d s: rtt %.1f ms; %s" % (DELAY_MS, DELAY_S, r, verdict),
              flush=True)


def test_frozen_partner(w):
    """Globex is stopped (SIGSTOP) for FREEZE_S while Acme keeps queueing for it: Acme and
    Initech go on as before, Acme's memory and descriptors stay bounded; after SIGCONT
    everything queued for Globex arrives once."""
    with started(w, NAMES) as net:
        a, g, i = net.nodes
        ledger = oracle.Ledger()
        to_frozen = Flow(ledger, a, g, "ag", RATE)
        others = [Flow(ledger, a, i, "ai", RATE), Flow(ledger, i, a, "ia", RATE)]
        flowing([to_frozen] + others)
        sampler = Sampler([a, i])
        sampler.start()

        net.freeze(g)
        t_freeze = time.monotonic()
        wait_for(lambda: not nf.link_up(a, g), "Acme to drop its link to the frozen Globex",
                 DEAD_S + 10)
        t_down = time.monotonic()
        hold(FREEZE_S - (t_down - t_freeze), links_stay_up([(a, i)]))
        t_end = time.monotonic()
        meanwhile = delivered_meanwhile(others, t_end)
        crossed = not_receipted_after(a, to_frozen, t_freeze + 1)
        check(not crossed, "nothing was receipted by the frozen node: %r" % crossed[:3])
        sampler.stop()
        bounded = sampler.check_bounded(RSS_BUDGET_KIB, FD_BUDGET)

        net.thaw(g)
        t0 = time.monotonic()
        nf.wait_links([(a, g)], RECOVER_S)
        recovered = time.monotonic() - t0
        verdict = finish(w, net, ledger, [to_frozen] + others, [(a, g), (a, i), (g, i)])
        print("  %d s frozen: Acme dropped the link after %.1f s; meanwhile delivered %s; %s; "
              "link back %.1f s after the thaw; %s"
              % (FREEZE_S, t_down - t_freeze, meanwhile, bounded, recovered, verdict), flush=True)


def asan_quarantine():
    """A sanitizer build keeps freed memory in a quarantine (256 MiB by default): cap it, so
    that RSS measures the daemon (ignored by other builds)."""
    opts = os.environ.get("ASAN_OPTIONS", "")
    if "quarantine_size_mb" not in opts:
        os.environ["ASAN_OPTIONS"] = (opts + ":" if opts else "") + "quarantine_size_mb=8"


def _sigterm(signum, frame):
    raise SystemExit(128 + signum)   # unwinds through every NetWorld: namespaces removed


TESTS = [make_partition_test(s) for s in PARTITIONS] + [
    test_oneway_receipt_loss, test_loss_10pct, test_loss_30pct, test_slow_link,
    test_delay_200ms, test_frozen_partner]

if __name__ == "__main__":
    signal.signal(signal.SIGTERM, _sigterm)
    signal.signal(signal.SIGINT, _sigterm)
    why = nf.why_not()
    if why:
        harness.skip_all(why)
    asan_quarantine()
    only = [a for a in sys.argv[1:] if not a.startswith("-")]
    harness.main([t for t in TESTS if not only or any(o in t.__name__ for o in only)])
