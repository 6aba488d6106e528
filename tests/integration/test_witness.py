"""Partners witness each other's logs: a node whose log is replaced by an older copy, or by
a forked one, is caught by its partner within one exchange.

    acme <==== link ====> globex      (globex's database is swapped behind acme's back)
"""
import base64
import os
import shutil

import nacl.signing

import harness
from harness import check, wait_for

FAST = {"reconnect_min_ms": 200, "reconnect_max_ms": 1000}
DB_FILES = ("coex.db", "coex.db-wal", "coex.db-shm")


def backup(node, where):
    os.makedirs(where)
    for f in DB_FILES:
        src = os.path.join(node.dir, f)
        if os.path.exists(src):
            shutil.copy2(src, where)


def restore(node, where):
    for f in DB_FILES:
        dst = os.path.join(node.dir, f)
        if os.path.exists(dst):
            os.remove(dst)
        src = os.path.join(where, f)
        if os.path.exists(src):
            shutil.copy2(src, dst)


def random_id():
    pk = bytes(nacl.signing.SigningKey.generate().verify_key)
    return base64.b32encode(pk).decode().lower().rstrip("=")


def exchange(acme, n):
    ids = [acme.cli("propose", "--to", "globex", "--title", "p%d" % i).strip().splitlines()[-1]
           for i in range(n)]
    for i in ids:
        wait_for(lambda: acme.cli("show", i, json_out=True)["state"] == "delivered", "a receipt")


def alarms(node):
    return node.status()["alarms"]


def setup(w):
    # fixed ports: both sides restart, so neither may move
    acme = w.node("Acme", limits=FAST, listen="127.0.0.1:%d" % harness.free_port()).start()
    globex = w.node("Globex", limits=FAST, listen="127.0.0.1:%d" % harness.free_port()).start()
    harness.partner_up(acme, globex)
    globex.stop()
    backup(globex, os.path.join(w.root, "globex-old"))
    globex.start()
    acme.wait_link(globex)
    exchange(acme, 3)
    check(alarms(acme) == [], "no alarm while all is well")
    return acme, globex


def test_older_copy_is_caught(w):
    acme, globex = setup(w)
    globex.stop()
    restore(globex, os.path.join(w.root, "globex-old"))
    globex.start()
    wait_for(lambda: alarms(acme), "acme to raise an alarm")
    a = alarms(acme)[0]
    check(a["partner_id"] == globex.id and "shrank" in a["reason"], "the alarm names globex: %r" % a)
    check(a["offered_size"] < a["seen_size"], "evidence: both heads kept: %r" % a)
    check("ALARM" in acme.cli("status"), "status shows the alarm")
    check("coex_alarms 1" in acme.cli("metrics"), "metrics count it")
    acme.stop()
    acme.start()
    check(alarms(acme), "the alarm persists across a restart")


def test_forked_copy_is_caught(w):
    acme, globex = setup(w)
    globex.stop()
    acme.stop()
    restore(globex, os.path.join(w.root, "globex-old"))
    globex.start()
    # globex writes a different history past what acme saw (trust changes are log entries)
    for i in range(12):
        globex.cli("partner", "add", "x%d" % i, random_id(), "127.0.0.1:9")
    acme.start()
    wait_for(lambda: alarms(acme), "acme to raise an alarm")
    a = alarms(acme)[0]
    check("rewritten or forked" in a["reason"], "a fork: %r" % a)
    check(a["offered_size"] > a["seen_size"], "the longer, inconsistent head is the evidence: %r" % a)


if __name__ == "__main__":
    harness.main([test_older_copy_is_caught, test_forked_copy_is_caught])
