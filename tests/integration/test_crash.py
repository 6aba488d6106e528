"""Exactly once, whatever crashes: a sender pushes proposals while the receiver, then the
sender, are killed with SIGKILL and restarted at random (seeded) moments.

    acme (sender, 4 CLI workers) ===> globex (receiver)
      ^ kill -9 / restart                ^ kill -9 / restart

A ledger records every CLI call: ok (an id was printed), failed (the node was never
reached: nothing can have been queued) or indeterminate (the call broke mid-way). At the end
every ok message is delivered exactly once, nothing is delivered that was never sent, and
indeterminate ones at most once.

Environment: COEX_CRASH_SEED (default 1), COEX_CRASH_MESSAGES (2000), COEX_CRASH_KILLS (20).
"""
import os
import random
import sqlite3
import subprocess
import threading
import time

import harness
from harness import check, wait_for

SEED = int(os.environ.get("COEX_CRASH_SEED", "1"))
MESSAGES = int(os.environ.get("COEX_CRASH_MESSAGES", "2000"))
KILLS = int(os.environ.get("COEX_CRASH_KILLS", "20"))
FAST = {"reconnect_min_ms": 100, "reconnect_max_ms": 500, "keepalive_ms": 500, "dead_ms": 2000}


class Ledger:
    def __init__(self):
        self.lock = threading.Lock()
        self.ok = {}             # title -> id
        self.failed = set()      # titles
        self.indeterminate = set()

    def record(self, title, rc, out, err):
        with self.lock:
            if rc == 0:
                self.ok[title] = out.strip().splitlines()[-1]
            elif "cannot reach coexd" in err:
                self.failed.add(title)
            else:
                self.indeterminate.add(title)


def sender(acme, titles, ledger):
    for t in titles:
        p = subprocess.run([harness.COEX, "--data", acme.dir, "propose", "--to", "globex",
                            "--title", t], capture_output=True, text=True, timeout=60)
        ledger.record(t, p.returncode, p.stdout, p.stderr)


def chaos(rng, victim, stop, kills):
    """Kills victim at random moments, restarting it each time, `kills` times."""
    for _ in range(kills):
        if stop.is_set():
            return
        time.sleep(rng.uniform(0.05, 0.5))  # a random moment, not a wait for a condition
        victim.kill()
        time.sleep(rng.uniform(0.0, 0.3))   # down for a random while
        victim.start()


def delivered_titles(node):
    con = sqlite3.connect("file:%s?mode=ro" % os.path.join(node.dir, "coex.db"), uri=True)
    try:
        return [r[0] for r in con.execute("SELECT title FROM messages WHERE dir = 1")]
    finally:
        con.close()


def test_exactly_once_under_kill9(w):
    rng = random.Random(SEED)
    acme = w.node("Acme", limits=FAST).start()
    globex = w.node("Globex", limits=FAST).start()
    harness.partner_up(acme, globex)
    ledger = Ledger()
    titles = ["p%05d" % i for i in range(MESSAGES)]
    workers = [threading.Thread(target=sender, args=(acme, titles[k::4], ledger)) for k in range(4)]
    stop = threading.Event()
    for t in workers:
        t.start()
    try:
        chaos(rng, globex, stop, KILLS)
        chaos(rng, acme, stop, KILLS)
    finally:
        stop.set()
        for t in workers:
            t.join()
    check(len(ledger.ok) > MESSAGES // 4, "most calls succeeded: %d ok, %d failed, %d indeterminate"
          % (len(ledger.ok), len(ledger.failed), len(ledger.indeterminate)))

    def all_delivered():
        states = {m["id"]: m["state"] for m in acme.cli("outbox", json_out=True)}
        return all(states.get(i) in ("delivered", "answered") for i in ledger.ok.values())
    wait_for(all_delivered, "every accepted proposal to be receipted", timeout=180, interval=0.5)

    got = delivered_titles(globex)
    counts = {}
    for t in got:
        counts[t] = counts.get(t, 0) + 1
    dup = [t for t, c in counts.items() if c > 1]
    check(not dup, "delivered more than once: %r" % dup[:10])
    missing = [t for t in ledger.ok if t not in counts]
    check(not missing, "accepted but never delivered: %r" % missing[:10])
    never_sent = [t for t in counts if t not in ledger.ok and t not in ledger.indeterminate]
    check(not never_sent, "delivered but never sent: %r" % never_sent[:10])
    inbox_ids = {m["id"] for m in globex.cli("inbox", json_out=True)}
    check(set(ledger.ok.values()) <= inbox_ids, "the receiver's ids match the sender's")
    print("ledger: %d ok, %d failed, %d indeterminate; delivered %d"
          % (len(ledger.ok), len(ledger.failed), len(ledger.indeterminate), len(got)))


if __name__ == "__main__":
    harness.main([test_exactly_once_under_kill9])
