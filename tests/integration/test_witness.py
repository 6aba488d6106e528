"""Partners witness each other's logs: a node whose log is replaced by an older copy, or by
a forked one, is caught by its partner within one exchange.

    acme <==== link ====> globex      (globex's database is swapped behind acme's back)
"""
import base64
import json
import os
import shutil

import nacl.signing

import export_verify
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


def audit(node, path, *args):
    rc, out, err = node.run("audit", path, *(args + ("--json",)), check_rc=False)
    check(rc in (0, 1), "audit exits 0 or 1, not %d: %s" % (rc, err))
    return rc, json.loads(out)


def check_alarm_in_audit(w, acme, globex, kind):
    """The flagging node's export carries the alarm; coex audit shows it with verified
    evidence and passes (acme's own log is fine); against globex's export it fails, naming
    globex's file; a changed byte in the evidence is caught."""
    ea, eb = os.path.join(w.root, "acme.cxlog"), os.path.join(w.root, "globex.cxlog")
    x = acme.cli("log", "export", "-o", ea, json_out=True)
    check(x["alarms"] >= 1, "the export carries the alarm: %r" % x)
    globex.cli("log", "export", "-o", eb)
    rc, r = audit(acme, ea)
    check(rc == 0 and r["ok"] is True, "acme's own log still verifies: %r" % r)
    check(len(r["alarms"]) == x["alarms"], "the audit shows the alarms: %r" % r)
    check(all(a["partner_id"] == globex.id and a["evidence_verified"] for a in r["alarms"]),
          "each about globex, with verified evidence: %r" % r)
    a = r["alarms"][0]
    check(a["partner_id"] == globex.id and a["evidence_verified"] is True, "verified: %r" % a)
    check(a["evidence"] == kind, "evidence %s: %r" % (kind, a))
    check(a["seen"] != a["offered"], "both heads: %r" % a)
    check("ALARM 0: partner %s" % globex.id in acme.cli("audit", ea), "text output shows it")
    rc, r = audit(acme, ea, "--against", eb)
    check(rc == 1 and r["ok"] is False and r["bad_file"] == eb and "alarm 0 of Acme" in r["reason"],
          "against globex's export, globex's log is the bad one: %r" % r)
    check(all(a["partner_log"] == "lacks_a_head" for a in r["alarms"]), "confirmed by its log: %r" % r)
    rc, r = audit(acme, eb, "--against", ea)
    check(rc == 1 and r["bad_file"] == eb, "the other way round too: %r" % r)
    # one byte of the evidence (the partner's signature on the held head) changed
    with open(ea, "rb") as f:
        data = bytearray(f.read())
    sig = bytes.fromhex(a["seen"]["root"])
    at = data.index(sig)
    data[at + 45] ^= 1  # inside the held head's signature, after its root and time
    bad = os.path.join(w.root, "acme-bad.cxlog")
    with open(bad, "wb") as f:
        f.write(data)
    rc, r = audit(acme, bad)
    check(rc == 1 and r["ok"] is False and r["reason"].startswith("alarm"), "tamper caught: %r" % r)
    check(r["alarms"][0]["evidence"] == "bad", "and shown as bad evidence: %r" % r)
    with open(bad, "rb") as f:
        try:
            export_verify.verify(f.read())
            check(False, "the independent verifier catches it too")
        except export_verify.Bad:
            pass
    with open(ea, "rb") as f:
        check(export_verify.verify(f.read()) > 0, "independent verifier accepts the export")


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
    check_alarm_in_audit(w, acme, globex, "signed")


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
    check_alarm_in_audit(w, acme, globex, "signed")


if __name__ == "__main__":
    harness.main([test_older_copy_is_caught, test_forked_copy_is_caught])
