"""Reaching a client's customers: three companies, the whole story, through the CLI.

    acme ---- globex ---- initech        (acme and initech are not partners at first)

1. acme's forwardable proposal reaches initech through globex (forward); initech's answer,
   sealed to acme, is relayed back by globex, who cannot read it.
2. globex introduces acme and initech; both accept; they become partners and link directly.
3. acme proposes to initech directly; a counter and an accept make a co-signed agreement.
4. a contact referral carries its consent text.
"""
import os
import sqlite3

import harness
import oracle
from harness import check, inbox_of, last, state, wait_for

FAST = {"reconnect_min_ms": 200, "reconnect_max_ms": 1000}


def test_story(w):
    acme = w.node("Acme", limits=FAST).start()
    globex = w.node("Globex", limits=FAST).start()
    initech = w.node("Initech", limits=FAST).start()
    harness.partner_up(acme, globex)
    harness.partner_up(globex, initech)

    # 1. forward through globex; the answer comes back sealed
    pid = last(acme.cli("propose", "--to", "globex", "--title", "Cold storage for your clients",
                        "--terms", "10% referral fee", "--forwardable", "--hops", "2"))
    wait_for(lambda: state(acme, pid) == "delivered", "acme's proposal to reach globex")
    fid = last(globex.cli("forward", pid, "--to", "initech", "--note", "they need this"))
    wait_for(lambda: inbox_of(initech, "forwarded"), "the forward to reach initech")
    fwd = inbox_of(initech, "forwarded")[0]
    shown = initech.cli("show", fwd["id"], json_out=True)
    check(shown["verified"] is True, "initech verified both signatures: %r" % shown)
    check(shown["author"] == globex.id, "the forward is authored by globex")
    check(fid == fwd["id"], "the same message at both ends")
    rc, _, err = globex.run("forward", pid, "--to", "initech", check_rc=False)
    check(rc == 1 and "already forwarded" in err, "a second forward is refused: %r" % err)
    aid = last(initech.cli("respond", fwd["id"], "accept", "--note", "yes please, call us"))
    wait_for(lambda: [m for m in inbox_of(acme, "response") if m["id"] == aid],
             "initech's answer to reach acme through globex")
    ans = acme.cli("show", aid, json_out=True)
    check(ans["verified"] and ans["author"] == initech.id and ans["recipient"] == acme.id,
          "acme reads initech's verified answer: %r" % ans)
    check(ans["body"]["note"] == "yes please, call us", "content intact")
    # globex relayed it but cannot read it: it has only the sealed envelope
    con = sqlite3.connect("file:%s?mode=ro" % os.path.join(globex.dir, "coex.db"), uri=True)
    rows = con.execute("SELECT m.dir, length(d.signed_msg) FROM messages m JOIN message_data d"
                       " ON d.msg = m.rowid WHERE hex(m.hash) = ?",
                       (aid.upper(),)).fetchall()
    con.close()
    check(rows == [(2, 0)], "globex holds the answer only as a sealed relay: %r" % rows)
    check([p["id"] for p in acme.partners()] == [globex.id], "still not partners with initech")

    # 2. an introduction
    out = globex.cli("refer", "--to", "acme", "--introduce", "initech", "--note", "you two should talk")
    intro = last(out)
    for n in (acme, initech):
        wait_for(lambda: [i for i in n.cli("introductions", json_out=True) if i["id"] == intro],
                 "%s to see the introduction" % n.name)
    check(acme.partners()[0]["id"] == globex.id and len(acme.partners()) == 1, "no addresses yet")
    acme.cli("answer", intro, "accept", "--note", "happy to")
    initech.cli("answer", intro[:8], "accept")
    wait_for(lambda: any(p["id"] == initech.id for p in acme.partners()), "acme to add initech")
    wait_for(lambda: any(p["id"] == acme.id for p in initech.partners()), "initech to add acme")
    p = [p for p in acme.partners() if p["id"] == initech.id][0]
    check(p["introduced_by"] == "globex", "introduced by globex: %r" % p)
    acme.wait_link(initech)
    initech.wait_link(acme)
    for n in (acme, initech, globex):
        st = [i["state"] for i in n.cli("introductions", json_out=True) if i["id"] == intro]
        wait_for(lambda: [i["state"] for i in n.cli("introductions", json_out=True)
                          if i["id"] == intro] == ["completed"], "%s: introduction completed" % n.name)

    # 3. directly now, to a co-signed agreement
    did = last(acme.cli("propose", "--to", "initech", "--title", "Direct pilot"))
    wait_for(lambda: state(acme, did) == "delivered", "the direct proposal")
    cid = last(initech.cli("respond", did, "counter", "--title", "Direct pilot, 6 months"))
    wait_for(lambda: state(initech, cid) == "delivered", "the counter")
    xid = last(acme.cli("respond", cid, "accept"))
    wait_for(lambda: state(acme, xid) == "delivered", "the accept")
    for n in (acme, initech):
        th = n.cli("thread", did, json_out=True)
        check([m["id"] for m in th] == [did, cid, xid], "%s: the thread" % n.name)
        check(all(m["verified"] for m in th), "%s: all verified" % n.name)
        check("agreement" in n.cli("thread", did), "%s: co-signed agreement shown" % n.name)

    # 4. a lead with its consent
    rid = last(globex.cli("refer", "--to", "acme", "--contact", "Dana Ruiz <dana@hooli.example>",
                          "--consent", "Dana agreed on 2026-11-20 by email", "--note", "needs cold storage"))
    wait_for(lambda: [m for m in inbox_of(acme, "referral") if m["id"] == rid], "the referral")
    ref = acme.cli("show", rid, json_out=True)
    check(ref["verified"] and "Dana agreed" in str(ref["body"]), "consent text shown: %r" % ref["body"])
    for n in (acme, globex, initech):
        print("%s: %r" % (n.name, oracle.health(n)))


if __name__ == "__main__":
    harness.main([test_story])
