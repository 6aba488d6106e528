"""The signed exchange log, end to end through the CLI: listing, verifying, exporting and
auditing two partners' logs, alone and against each other; then tampering with an export
and with a node's own database.

    acme <==== link ====> globex
     propose x2 -->              (sent, received, receipt entries on both sides)
     <-- counter, accept          (and back)
    coex log / log verify / log export on both
    coex audit acme.coexlog --against globex.coexlog (and the other way round)
    one byte of an export flipped        -> audit exits 1 naming the entry
    one entry of acme's coex.db changed  -> log verify names it; a change since the last
                                            check at start-up: acme refuses to start
"""
import json
import os
import sqlite3

import export_verify
import harness
from harness import check, wait_for

FAST = {"reconnect_min_ms": 200, "reconnect_max_ms": 1000}


def last_id(out):
    return out.strip().splitlines()[-1]


def delivered(node, mid):
    return node.cli("show", mid, json_out=True)["state"] == "delivered"


def exchange(acme, globex):
    """Two proposals, a counter and an accept: every kind of message entry on both sides."""
    p1 = last_id(acme.cli("propose", "--to", "globex", "--title", "Cold-chain pilot"))
    p2 = last_id(acme.cli("propose", "--to", "globex", "--title", "Shared depot"))
    for p in (p1, p2):
        wait_for(lambda: delivered(acme, p), "the receipt for %s" % p[:12])
    c = last_id(globex.cli("respond", p1, "counter", "--title", "Pilot at 60/40"))
    wait_for(lambda: delivered(globex, c), "the receipt for the counter")
    a = last_id(acme.cli("respond", c, "accept"))
    wait_for(lambda: delivered(acme, a), "the receipt for the accept")
    return [p1, p2, c, a]


def audit(node, path, *args):
    rc, out, err = node.run("audit", path, *(args + ("--json",)), check_rc=False)
    check(rc in (0, 1), "audit exits 0 or 1, not %d: %s" % (rc, err))
    return rc, json.loads(out)


def check_log_listing(node, other, ids):
    entries = node.cli("log", json_out=True)
    check([e["index"] for e in entries] == list(range(len(entries))), "indices 0..n: %r" % entries)
    keys = {"index", "time_ms", "type", "peer", "peer_id", "envelope_hash"}
    check(all(set(e) == keys for e in entries), "the documented keys: %r" % entries[0])
    msgs = [e for e in entries if e["envelope_hash"]]
    check(all(e["peer_id"] == other.id for e in msgs), "every message entry names the partner")
    types = [e["type"] for e in msgs]
    check(types.count("sent") == types.count("receipt"), "a receipt per message sent: %r" % types)
    check({e["envelope_hash"] for e in msgs} == set(ids), "the four messages: %r" % msgs)
    tail = node.cli("log", "--tail", "2", json_out=True)
    check(tail == entries[-2:], "--tail 2 is the last two: %r" % tail)
    text = node.cli("log")
    check("INDEX" in text and ids[0][:12] in text and other.name.lower() in text,
          "the table names the partner and the message:\n%s" % text)
    return entries


def test_export_and_audit(w):
    acme = w.node("Acme", limits=FAST).start()
    globex = w.node("Globex", limits=FAST).start()
    harness.partner_up(acme, globex)
    ids = exchange(acme, globex)
    for node, other in ((acme, globex), (globex, acme)):
        entries = check_log_listing(node, other, ids)
        v = node.cli("log", "verify", json_out=True)
        check(v["ok"] is True and v["entries"] == len(entries), "%s verifies: %r" % (node.name, v))
        check("ok" in node.cli("log", "verify"), "text says ok")
    ea, eb = os.path.join(w.root, "acme.coexlog"), os.path.join(w.root, "globex.coexlog")
    x = acme.cli("log", "export", "-o", ea, json_out=True)
    check(x["file"] == ea and x["entries"] > 0 and os.path.exists(ea), "exported: %r" % x)
    check(not os.path.exists(ea + ".tmp"), "no temporary file left")
    check(os.stat(ea).st_mode & 0o777 == 0o600, "the export is private")
    check("exported" in globex.cli("log", "export", "-o", eb), "text summary")
    # acme sent three messages (two proposals, the accept), globex one (the counter)
    for path, node, sent in ((ea, acme, 3), (eb, globex, 1)):
        rc, r = audit(node, path)
        check(rc == 0 and r["ok"] is True and r["node_id"] == node.id, "%s audits: %r" % (path, r))
        check(r["envelopes"] == 4 and r["receipts"] == sent, "4 messages, %d receipts: %r" % (sent, r))
    for a, b, found, back in ((ea, eb, 3, 1), (eb, ea, 1, 3)):
        rc, r = audit(acme, a, "--against", b)
        check(rc == 0 and r["ok"] is True, "cross-check %s against %s: %r" % (a, b, r))
        check(r["against"]["receipts_found"] == found and r["against"]["receipts_found_back"] == back,
              "each side's receipts found in the other's log: %r" % r)
    out = acme.cli("audit", ea, "--against", eb)
    check(out.strip().endswith("ok"), "text ends in ok:\n%s" % out)
    # the files also pass a verifier written from docs/export-format.md alone
    for path in (ea, eb):
        with open(path, "rb") as f:
            check(export_verify.verify(f.read()) > 0, "independent verifier: %s" % path)

    # one byte in the middle of the export
    with open(ea, "rb") as f:
        data = bytearray(f.read())
    bad = os.path.join(w.root, "bad.coexlog")
    data[len(data) // 2] ^= 0x40
    with open(bad, "wb") as f:
        f.write(data)
    rc, r = audit(acme, bad)
    check(rc == 1 and r["ok"] is False and "first_bad_index" in r and r["reason"],
          "the flipped byte is found: %r" % r)
    check(r["first_bad_index"] < x["entries"], "located at an entry: %r" % r)
    rc, out, _ = acme.run("audit", bad, check_rc=False)
    check(rc == 1 and "FAILED" in out and ("entry %d" % r["first_bad_index"]) in out,
          "text names the entry:\n%s" % out)
    try:
        export_verify.verify(bytes(data))
        check(False, "the independent verifier misses the flipped byte")
    except export_verify.Bad as b:
        check(b.index == r["first_bad_index"], "both verifiers name entry %d: %s" % (r["first_bad_index"], b))
    # cut short
    with open(bad, "wb") as f:
        f.write(bytes(data[: len(data) // 3]))
    rc, r = audit(acme, bad)
    check(rc == 1 and r["ok"] is False, "a truncated export fails: %r" % r)
    rc, _, err = acme.run("audit", check_rc=False)
    check(rc == 2, "audit without a file is a usage error: %d %s" % (rc, err))


def flip_entry(node, index):
    """Flips the last byte of log entry index in the node's database (the node is stopped).
    Twice restores it."""
    db = sqlite3.connect(os.path.join(node.dir, "coex.db"))
    (blob,) = db.execute("SELECT entry FROM log_entries WHERE idx = ?", (index,)).fetchone()
    blob = bytearray(blob)
    blob[-1] ^= 0x01
    db.execute("UPDATE log_entries SET entry = ? WHERE idx = ?", (bytes(blob), index))
    db.commit()
    db.close()


def test_tampered_database(w):
    """coexd checks at start what was added since it last verified its log: a change there
    stops it; an older change is found by coex log verify, which goes over everything."""
    acme = w.node("Acme", limits=FAST).start()
    globex = w.node("Globex", limits=FAST).start()
    harness.partner_up(acme, globex)
    exchange(acme, globex)
    old = next(e["index"] for e in acme.cli("log", json_out=True) if e["type"] == "sent")
    acme.stop()
    acme.start()  # verifies the log up to here at start, and remembers it
    acme.stop()

    flip_entry(acme, old)
    acme.start()
    rc, out, _ = acme.run("log", "verify", "--json", check_rc=False)
    r = json.loads(out)
    check(rc == 1 and r["ok"] is False and r["first_bad_index"] == old,
          "log verify names entry %d: %r" % (old, r))
    check("changed" in r["reason"], "and says it was changed: %r" % r)
    rc, out, _ = acme.run("log", "verify", check_rc=False)
    check(rc == 1 and ("entry %d" % old) in out, "text names it too:\n%s" % out)
    acme.stop()
    flip_entry(acme, old)

    acme.start()
    check(acme.cli("log", "verify", json_out=True)["ok"], "restored, the log verifies again")
    p = last_id(acme.cli("propose", "--to", "globex", "--title", "One more"))
    wait_for(lambda: delivered(acme, p), "the receipt for one more")
    new = next(e["index"] for e in acme.cli("log", json_out=True)
               if e["type"] == "sent" and e["envelope_hash"] == p)
    acme.stop()
    flip_entry(acme, new)
    try:
        acme.start()
        check(False, "coexd started on a log changed since it last checked it")
    except harness.Died:
        acme.proc = None
    text = acme.log_text()
    check(("entry %d: its bytes do not match" % new) in text and "refusing to start" in text,
          "coexd says which entry and that it refuses:\n%s" % acme.log_tail())


if __name__ == "__main__":
    harness.main([test_export_and_audit, test_tampered_database])
