"""Wrong clocks: libfaketime moves one node's wall clock (FAKETIME_DONT_FAKE_MONOTONIC=1: its
timers and uv_now stay true, only CLOCK_REALTIME / time() lie).

    acme (true clock) ==x== globex (+2 h, then -2 h)   no link: each side drops the other's
                                                       first handshake message (clock_skew,
                                                       logged and counted in coex metrics);
                                                       what acme queued meanwhile stays queued
                                                       and arrives once globex's clock is fixed
    acme ====== globex (restarted 4 min back)          within the 5 min tolerance: links, no
                                                       loss, no alarm, both ways
    acme ==x== globex (restarted 10 min back)          beyond it: no link, nothing lost; its
                                                       clock fixed, everything arrives once
    globex (10 min back, signing, then right again)    its own log, with heads dated back
                                                       across the step, still verifies

Needs libfaketime (Debian package faketime; scripts/deps.sh installs it); skips without it.
--long (or COEX_LONG=1): more messages per phase.
"""
import os
import re
import subprocess

import harness
import oracle
from harness import check, wait_for

LONG = harness.long_mode()
FAST = {"reconnect_min_ms": 100, "reconnect_max_ms": 500, "keepalive_ms": 500, "dead_ms": 2000}
COUNT = 20 if LONG else 5
FAKETIME_LIBS = ["/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1",
                 "/usr/lib/faketime/libfaketime.so.1"]


def faketime_lib():
    for p in FAKETIME_LIBS:
        if os.path.exists(p):
            return p
    try:  # another architecture's path
        out = subprocess.run(["dpkg", "-L", "libfaketime"], capture_output=True, text=True).stdout
        for line in out.splitlines():
            if line.endswith("/libfaketime.so.1"):
                return line
    except OSError:
        pass
    return None


def preload(lib):
    """LD_PRELOAD for coexd: a sanitizer runtime must come first in the library list, so an
    ASan build gets its own libasan ahead of libfaketime."""
    libs = [lib]
    try:
        out = subprocess.run(["ldd", harness.COEXD], capture_output=True, text=True).stdout
        m = re.search(r"(/\S*libasan\.so\S*)", out)
        if m:
            libs.insert(0, m.group(1))
    except OSError:
        pass
    return " ".join(libs)


def faked(offset):
    return {"LD_PRELOAD": preload(faketime_lib()), "FAKETIME": offset,
            "FAKETIME_DONT_FAKE_MONOTONIC": "1"}


def pair(w):
    acme = w.node("Acme", listen="127.0.0.1:%d" % harness.free_port(), limits=FAST).start()
    globex = w.node("Globex", listen="127.0.0.1:%d" % harness.free_port(), limits=FAST).start()
    harness.partner_up(acme, globex)
    return acme, globex


def drops(node, reason):
    m = re.search(r'^coex_handshake_drops_total\{reason="%s"\} (\d+)$' % reason,
                  node.cli("metrics"), re.M)
    return int(m.group(1)) if m else 0


def push(ledger, src, to, prefix, n):
    for i in range(n):
        rc, _, err = ledger.propose(src, to, "%s-%02d" % (prefix, i))
        check(rc == 0, "propose %s-%02d: %s" % (prefix, i, err))


def check_no_link(acme, globex, at_least=2):
    """No link while the clocks disagree: waits until acme has dropped at least `at_least`
    of globex's handshakes as clock_skew (globex redials every <= 0.5 s), and globex some of
    acme's; the link stays down throughout."""
    seen_up = []

    def dropped_enough():
        if acme.link_state(globex.id) == "up" or globex.link_state(acme.id) == "up":
            seen_up.append(True)
            return True  # ends the wait; failed just below
        return drops(acme, "clock_skew") >= at_least and drops(globex, "clock_skew") >= 1
    wait_for(dropped_enough, "clock_skew drops on both sides", timeout=30)
    check(not seen_up, "the partners linked although their clocks differ")
    for n in (acme, globex):
        check(n.link_state((globex if n is acme else acme).id) != "up", "%s: link down" % n.name)
    check("reason=clock_skew" in acme.log_text(), "acme logs handshake_dropped reason=clock_skew")
    check(re.search(r"msg=handshake_dropped .*reason=clock_skew", acme.log_text()),
          "the drop is a handshake_dropped line")


def check_clean(ledger_ab, ledger_ba, acme, globex, verify=None):
    """Everything accepted arrived once, both ways; no alarm; sound stores; and 'coex log
    verify' passes on the nodes in verify (default both; a node that signed heads under a
    clock that was then stepped back more than the tolerance is checked apart, in
    test_own_log_verifies_after_clock_step)."""
    oracle.wait_all_delivered(acme, ledger_ab.ok.values())
    oracle.wait_all_delivered(globex, ledger_ba.ok.values())
    oracle.check_exactly_once(ledger_ab, globex)
    oracle.check_exactly_once(ledger_ba, acme)
    for n in (acme, globex):
        check(n.status()["alarms"] == [], "%s raised no alarm: %r" % (n.name, n.status()["alarms"]))
        oracle.integrity_check(n)
    for n in (acme, globex) if verify is None else verify:
        oracle.log_verify(n)


def skewed_partner(w, offset):
    acme, globex = pair(w)
    ab, ba = oracle.Ledger(), oracle.Ledger()
    push(ab, acme, "globex", "before", COUNT)
    oracle.wait_all_delivered(acme, ab.ok.values())
    check(globex.stop() == 0, "clean stop")
    acme.wait_link(globex, "down")
    push(ab, acme, "globex", "down", COUNT)
    globex.start(env=faked(offset))
    check_no_link(acme, globex)
    push(ab, acme, "globex", "skewed", COUNT)
    push(ba, globex, "acme", "from-skewed", COUNT)  # queued locally, under the wrong clock
    states = oracle.outbox_states(acme)
    waiting = [t for t, i in ab.ok.items() if not t.startswith("before")]
    check(all(states[ab.ok[t]] in ("queued", "sent") for t in waiting),
          "what acme queued stays queued: %r" % {t: states[ab.ok[t]] for t in waiting[:5]})
    have = oracle.delivered_counts(globex)
    check(not [t for t in waiting if t in have], "nothing arrived over a link that is not up")
    check(globex.stop() == 0, "a node on a faked clock stops cleanly")
    globex.start()
    acme.wait_link(globex, timeout=30)
    check_clean(ab, ba, acme, globex, verify=(acme,))


def test_partner_two_hours_ahead(w):
    skewed_partner(w, "+2h")


def test_partner_two_hours_behind(w):
    skewed_partner(w, "-2h")


def test_clock_set_back_within_tolerance(w):
    """globex's clock goes 4 min back across a restart (as after an NTP step): no lock-out."""
    acme, globex = pair(w)
    ab, ba = oracle.Ledger(), oracle.Ledger()
    push(ab, acme, "globex", "before", COUNT)
    push(ba, globex, "acme", "before-back", COUNT)
    oracle.wait_all_delivered(acme, ab.ok.values())
    oracle.wait_all_delivered(globex, ba.ok.values())
    check(globex.stop() == 0, "clean stop")
    acme.wait_link(globex, "down")
    push(ab, acme, "globex", "down", COUNT)
    globex.start(env=faked("-4m"))
    acme.wait_link(globex, timeout=30)
    globex.wait_link(acme, timeout=30)
    push(ab, acme, "globex", "back", COUNT)
    push(ba, globex, "acme", "from-back", COUNT)
    check_clean(ab, ba, acme, globex)
    check(drops(acme, "clock_skew") == 0 and drops(globex, "clock_skew") == 0,
          "no handshake dropped for a 4 min skew")
    # and forward again: the heads signed 4 min back are followed by true ones
    check(globex.stop() == 0, "clean stop")
    globex.start()
    acme.wait_link(globex, timeout=30)
    push(ab, acme, "globex", "after", COUNT)
    push(ba, globex, "acme", "from-after", COUNT)
    check_clean(ab, ba, acme, globex)


def test_clock_set_back_beyond_tolerance(w):
    """globex's clock goes 10 min back across a restart: beyond the 5 min tolerance the
    partners cannot link, but nothing is lost, also what globex queued meanwhile; with its
    clock right again it links and delivers, and restarts normally."""
    acme, globex = pair(w)
    ab, ba = oracle.Ledger(), oracle.Ledger()
    push(ab, acme, "globex", "before", COUNT)
    oracle.wait_all_delivered(acme, ab.ok.values())
    check(globex.stop() == 0, "clean stop")
    acme.wait_link(globex, "down")
    globex.start(env=faked("-10m"))
    check_no_link(acme, globex)
    push(ab, acme, "globex", "skewed", COUNT)
    push(ba, globex, "acme", "from-back", COUNT)
    check(globex.stop() == 0, "clean stop")
    globex.start()
    acme.wait_link(globex, timeout=30)
    check_clean(ab, ba, acme, globex, verify=(acme,))
    check(globex.stop() == 0, "clean stop")
    globex.start()
    acme.wait_link(globex, timeout=30)
    push(ab, acme, "globex", "after", COUNT)
    check_clean(ab, ba, acme, globex, verify=(acme,))


def test_own_log_verifies_after_clock_step(w):
    """globex's clock is set 10 min back across a restart (as an NTP step or a wrong RTC
    would) and it signs heads, then its clock is right again: its own log still verifies
    ('coex log verify', and the check at start-up logs no log_check_failed). Heads signed
    under a wrong clock are this node's honest signatures; a clock step is not tampering."""
    acme, globex = pair(w)
    if not oracle.has_log_verb(globex):
        print("  (this build has no 'coex log verify': nothing to check)")
        return
    ab = oracle.Ledger()
    push(ab, acme, "globex", "before", 2)
    oracle.wait_all_delivered(acme, ab.ok.values())
    check(globex.stop() == 0, "clean stop")
    globex.start(env=faked("-10m"))
    ba = oracle.Ledger()
    push(ba, globex, "acme", "back", 2)   # heads signed 10 min before the ones already signed
    check(globex.stop() == 0, "clean stop")
    globex.start()                       # the clock is right again
    acme.wait_link(globex, timeout=30)
    push(ba, globex, "acme", "fixed", 2)  # heads signed at the true time
    check_clean(ab, ba, acme, globex, verify=())
    check(globex.stop() == 0, "clean stop")
    globex.start()
    acme.wait_link(globex, timeout=30)
    rc, out, err = globex.run("log", "verify", check_rc=False)
    check(rc == 0, "globex's own log verifies after its clock was corrected (exit %d): %s %s; "
          "heads: %r" % (rc, out.strip(), err.strip(), head_times(globex)))
    check("log_check_failed" not in globex.log_text(),
          "no log_check_failed at start-up: %s" % [l for l in globex.log_text().splitlines()
                                                   if "log_check_failed" in l][:2])


def head_times(node):
    """(size, seconds after the previous head) of each of node's signed heads."""
    rows = oracle.db_query(node, "SELECT size, time_ms FROM tree_heads ORDER BY seq")
    return [(size, round((t - rows[i - 1][1]) / 1000.0, 1) if i else 0.0)
            for i, (size, t) in enumerate(rows)]


if __name__ == "__main__":
    if not faketime_lib():
        harness.skip_all("libfaketime is not installed (Debian: apt-get install faketime; "
                         "scripts/deps.sh installs it)")
    harness.main([test_partner_two_hours_ahead, test_partner_two_hours_behind,
                  test_clock_set_back_within_tolerance, test_clock_set_back_beyond_tolerance,
                  test_own_log_verifies_after_clock_step])
