"""The delivery oracle shared by the hostile-world tests (failpoints, full disk, skewed clocks).

A Ledger records every CLI call that may queue a message, keyed by a unique title:
  ok             the CLI printed an id: the message is durably queued and must arrive once;
  failed         the node was never reached, or refused the call with a definite error
                 (e.g. "storage full"): nothing may arrive;
  indeterminate  the call broke mid-way (the node died under it): it may arrive, at most once.
check_exactly_once() then reads the receiver's store read-only (messages.dir = 1, by title)
and asserts exactly that.
"""
import os
import sqlite3
import subprocess
import threading

import harness
from harness import check, wait_for

NOT_REACHED = "cannot reach coexd"


class Ledger:
    def __init__(self, definite=(NOT_REACHED,)):
        self.lock = threading.Lock()
        self.definite = definite  # stderr markers of a call that certainly queued nothing
        self.ok = {}              # title -> id
        self.failed = {}          # title -> stderr
        self.indeterminate = set()

    def record(self, title, rc, out, err):
        with self.lock:
            self.failed.pop(title, None)
            if rc == 0:
                self.ok[title] = out.strip().splitlines()[-1]
                self.indeterminate.discard(title)
            elif title in self.ok or title in self.indeterminate:
                pass  # a retry of something already queued (or maybe queued) says no more
            elif any(m in err for m in self.definite):
                self.failed[title] = err.strip()
            else:
                self.indeterminate.add(title)

    def run(self, node, *args, title, timeout=60):
        """Runs one CLI call for `title` and records its outcome; returns (rc, out, err)."""
        try:
            p = subprocess.run([harness.COEX, "--data", node.dir] + list(args),
                               capture_output=True, text=True, timeout=timeout)
            rc, out, err = p.returncode, p.stdout, p.stderr
        except subprocess.TimeoutExpired:
            rc, out, err = -1, "", "timed out"
        self.record(title, rc, out, err)
        return rc, out, err

    def propose(self, node, to, title, *extra, timeout=60):
        return self.run(node, "propose", "--to", to, "--title", title, *extra, title=title,
                        timeout=timeout)

    def summary(self):
        return "%d ok, %d failed, %d indeterminate" % (len(self.ok), len(self.failed),
                                                       len(self.indeterminate))


class Pusher(threading.Thread):
    """Proposes titles[i] from node to `to`, one after another, until done or stopped."""

    def __init__(self, ledger, node, to, titles, extra=()):
        super().__init__(daemon=True)
        self.ledger, self.node, self.to, self.titles, self.extra = ledger, node, to, titles, extra
        self.stop = threading.Event()
        self.done = 0

    def run(self):
        for t in self.titles:
            if self.stop.is_set():
                return
            self.ledger.propose(self.node, self.to, t, *self.extra)
            self.done += 1


def db_query(node, sql, args=()):
    """A read-only query on a node's store (the daemon may be running: WAL readers are fine)."""
    con = sqlite3.connect("file:%s?mode=ro" % os.path.join(node.dir, "coex.db"), uri=True,
                          timeout=10)
    try:
        return con.execute(sql, args).fetchall()
    finally:
        con.close()


def delivered_counts(node):
    """title -> how many received messages (dir = 1) carry it, at node."""
    counts = {}
    for (t,) in db_query(node, "SELECT title FROM messages WHERE dir = 1"):
        counts[t] = counts.get(t, 0) + 1
    return counts


def outbox_states(node):
    return {m["id"]: m["state"] for m in node.cli("outbox", json_out=True)}


def wait_all_delivered(sender, ids, timeout=120, what="every accepted message to be receipted"):
    """Waits until each of ids is receipted (delivered or answered) in sender's outbox."""
    ids = list(ids)
    left = []

    def done():
        states = outbox_states(sender)
        left[:] = [(i[:12], states.get(i)) for i in ids
                   if states.get(i) not in ("delivered", "answered")]
        return not left
    try:
        wait_for(done, what, timeout=timeout, interval=0.25)
    except harness.Failure as e:
        raise harness.Failure("%s: %d not receipted, e.g. %r" % (e, len(left), left[:5]))


def check_exactly_once(ledger, receiver, only=None):
    """Asserts the oracle on receiver's store; `only` limits it to titles with that prefix."""
    counts = delivered_counts(receiver)
    if only is not None:
        counts = {t: c for t, c in counts.items() if t.startswith(only)}
    dup = sorted(t for t, c in counts.items() if c > 1)
    check(not dup, "delivered more than once: %r" % dup[:10])
    missing = sorted(t for t in ledger.ok if t not in counts and (only is None or t.startswith(only)))
    check(not missing, "accepted but never delivered: %r" % missing[:10])
    never = sorted(t for t in counts if t not in ledger.ok and t not in ledger.indeterminate)
    check(not never, "delivered but never (successfully or indeterminately) sent: %r" % never[:10])
    return counts


def has_log_verb(node):
    rc, out, err = node.run("--help", check_rc=False)
    return any(l.split()[:1] == ["log"] or l.strip().startswith("log ") for l in (out + err).splitlines())


def log_verify(node):
    """Runs 'coex log verify' if this build has it; fails on a non-zero exit. Returns whether it
    ran."""
    if not has_log_verb(node):
        return False
    rc, out, err = node.run("log", "verify", check_rc=False)
    check(rc == 0, "coex log verify at %s failed (%d): %s %s" % (node.name, rc, out, err))
    return True


def integrity_check(node):
    """SQLite's own consistency check of a node's store, read-only."""
    rows = db_query(node, "PRAGMA integrity_check")
    check(rows == [("ok",)], "%s: the store is corrupted: %r" % (node.name, rows[:5]))


# ---------------------------------------------------------------- health

SANITIZER_MARKS = ("ERROR: AddressSanitizer", "ERROR: LeakSanitizer", "runtime error:",
                   "SUMMARY: UndefinedBehaviorSanitizer")


def _metric(text, name):
    for line in text.splitlines():
        if line.startswith(name + " "):
            return int(float(line.split()[1]))
    raise harness.Failure("%s missing from coex metrics" % name)


def health(node, rss_mb=256, fds=256, late_share=0.01, expected_warnings=()):
    """The health oracle for a running node: resident memory and open descriptors under the
    given bounds, the event loop seldom held up (at most late_share of its 100 ms ticks more
    than 100 ms late; a few late ticks are allowed whatever the count: the rare trust changes
    (invite, join, partner add) still write the store synchronously on the loop, and an fsync
    on a loaded shared disk can take that long), no sanitizer report and no warning or error in its log other than
    those whose msg= is in expected_warnings. Returns the figures, for the test's output."""
    node.alive()
    pid = node.proc.pid
    with open("/proc/%d/status" % pid) as f:
        rss_kb = int([l for l in f if l.startswith("VmRSS:")][0].split()[1])
    nfd = len(os.listdir("/proc/%d/fd" % pid))
    m = node.cli("metrics")
    ticks, late = _metric(m, "coex_loop_ticks_total"), _metric(m, "coex_loop_ticks_late_total")
    lag_max = _metric(m, "coex_loop_lag_max_ms")
    figures = {"rss_mb": rss_kb / 1024, "fds": nfd, "ticks": ticks, "ticks_late": late,
               "lag_max_ms": lag_max}
    check(rss_kb / 1024 <= rss_mb, "%s: RSS %.0f MiB over %d MiB" % (node.name, rss_kb / 1024, rss_mb))
    check(nfd <= fds, "%s: %d open descriptors, over %d" % (node.name, nfd, fds))
    check(late <= max(3, late_share * ticks),
          "%s: the event loop ran late (>100 ms) on %d of %d ticks (worst %d ms)" % (node.name, late, ticks, lag_max))
    text = node.log_text()
    for mark in SANITIZER_MARKS:
        check(mark not in text, "%s: sanitizer report in the log: %s" % (node.name, mark))
    bad = []
    for line in text.splitlines():
        if " level=warn " in line or " level=error " in line:
            msg = line.split(" msg=", 1)[1].split(" ", 1)[0] if " msg=" in line else line
            if msg not in expected_warnings:
                bad.append(line)
    check(not bad, "%s: unexpected warnings in the log: %r" % (node.name, bad[:5]))
    return figures
