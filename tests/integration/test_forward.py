"""Forwarding over more than one hop, its limits, and the forward_to policy.

    acme ---- globex ---- initech ---- hooli        (each a partner of its neighbours only)

1. acme's proposal (hop limit 2) goes globex -> initech -> hooli; hooli verifies the whole
   chain and sees who passed it on; its answer, sealed to acme, is relayed back by initech and
   globex (restarted in between: relays survive a restart), neither of which can read it.
2. limits: hooli cannot forward again (hop limit reached), initech cannot send it back to
   globex (a loop), globex cannot forward it twice to initech, a proposal not marked
   forwardable cannot be forwarded at all.
3. a forward_to policy in globex's config passes acme's forwardable proposals on to initech
   without an operator; a proposal that is not forwardable is not passed on.
"""
import os
import sqlite3
import subprocess

import harness
import oracle
from harness import check, inbox_of, last, state, wait_for

FAST = {"reconnect_min_ms": 200, "reconnect_max_ms": 1000}


def refused(node, args, words):
    rc, _, err = node.run(*args, check_rc=False)
    check(rc != 0 and words in err, "coex %s refused (%r): rc=%d %r" % (" ".join(args), words, rc, err))


def relay_rows(node, mid):
    con = sqlite3.connect("file:%s?mode=ro" % os.path.join(node.dir, "coex.db"), uri=True)
    try:
        return con.execute("SELECT m.dir, length(d.signed_msg) FROM messages m JOIN message_data d"
                           " ON d.msg = m.rowid WHERE hex(m.hash) = ?",
                           (mid.upper(),)).fetchall()
    finally:
        con.close()


def chain(w):
    nodes = [w.node(n, limits=FAST).start() for n in ("Acme", "Globex", "Initech", "Hooli")]
    for a, b in zip(nodes, nodes[1:]):
        harness.partner_up(a, b)
    return nodes


def test_two_hops(w):
    acme, globex, initech, hooli = chain(w)
    pid = last(acme.cli("propose", "--to", "globex", "--title", "Cold storage, anyone?",
                        "--forwardable", "--hops", "2"))
    wait_for(lambda: state(acme, pid) == "delivered", "acme's proposal to reach globex")
    f1 = last(globex.cli("forward", pid, "--to", "initech", "--note", "for you"))
    wait_for(lambda: state(globex, f1) == "delivered", "globex's forward to reach initech")
    f2 = last(initech.cli("forward", f1, "--to", "hooli", "--note", "and for you"))
    wait_for(lambda: [m for m in inbox_of(hooli, "forwarded") if m["id"] == f2],
             "the second forward to reach hooli")
    shown = hooli.cli("show", f2, json_out=True)
    check(shown["verified"] is True, "hooli verified every signature: %r" % shown)
    check(shown["author"] == initech.id, "the outer forward is initech's")
    body = shown["body"]
    check(body["hops_left"] == 0, "no hop left: %r" % body)
    check(body["forwarded_earlier_by"] == [globex.id], "globex passed it on first: %r" % body)
    check(body["original"]["author"] == acme.id and body["original"]["title"] == "Cold storage, anyone?",
          "the original is acme's, intact: %r" % body["original"])
    check("Cold storage" in hooli.cli("show", f2), "the text view shows the original")

    # the limits
    refused(hooli, ("forward", f2, "--to", "initech"), "hop limit")
    refused(initech, ("forward", f1, "--to", "globex"), "already passed it on")
    refused(globex, ("forward", pid, "--to", "initech"), "already forwarded")
    nid = last(acme.cli("propose", "--to", "globex", "--title", "Just for globex"))
    wait_for(lambda: state(acme, nid) == "delivered", "the private proposal")
    refused(globex, ("forward", nid, "--to", "initech"), "not mark this proposal forwardable")

    # relays survive a restart: globex forgets nothing it forwarded
    globex.stop()
    globex.start()
    aid = last(hooli.cli("respond", f2, "accept", "--note", "count us in"))
    wait_for(lambda: [m for m in inbox_of(acme, "response") if m["id"] == aid],
             "hooli's answer to reach acme through initech and globex", timeout=30)
    ans = acme.cli("show", aid, json_out=True)
    check(ans["verified"] and ans["author"] == hooli.id and ans["recipient"] == acme.id,
          "acme reads hooli's verified answer: %r" % ans)
    check(ans["body"]["note"] == "count us in", "content intact")
    check(ans["body"]["decision"] == "accept", "an accept: %r" % ans["body"])
    for relay in (initech, globex):
        check(relay_rows(relay, aid) == [(2, 0)],
              "%s holds the answer only as a sealed relay: %r" % (relay.name, relay_rows(relay, aid)))
    wait_for(lambda: state(hooli, aid) == "delivered", "hooli's answer receipted by initech")
    for n in (acme, globex, initech, hooli):
        print("%s: %r" % (n.name, oracle.health(n)))
    check([p["id"] for p in acme.partners()] == [globex.id], "acme still has one partner")
    for relay in (initech, globex):
        check('reason="relay_not_allowed"' not in relay.cli("metrics"),
              "%s relayed without refusing" % relay.name)


def test_forward_policy(w):
    acme, globex, initech, hooli = chain(w)
    path = os.path.join(globex.dir, "coex.conf")
    with open(path, "a") as f:
        f.write("\n[partner acme]\nid = %s\nforward_to = initech, nobody\n" % acme.id)
    globex.stop()
    globex.start()
    acme.wait_link(globex)
    pid = last(acme.cli("propose", "--to", "globex", "--title", "Pass it on", "--forwardable"))
    wait_for(lambda: [m for m in inbox_of(initech, "forwarded") if m["title"] == "Pass it on"],
             "the policy to forward acme's proposal to initech")
    fwd = [m for m in inbox_of(initech, "forwarded") if m["title"] == "Pass it on"][0]
    shown = initech.cli("show", fwd["id"], json_out=True)
    check(shown["verified"] and shown["author"] == globex.id, "a verified forward by globex: %r" % shown)
    check(shown["body"]["note"] == "forwarded by policy", "says why: %r" % shown["body"])
    wait_for(lambda: "auto_forward_skipped" in globex.log_text() and "nobody" in globex.log_text(),
             "the unknown partner in forward_to to be logged")
    refused(globex, ("forward", pid, "--to", "initech"), "already forwarded")
    qid = last(acme.cli("propose", "--to", "globex", "--title", "Keep it to yourself"))
    wait_for(lambda: state(acme, qid) == "delivered", "the private proposal")
    # the policy ran for it when it arrived (once committed): it was refused
    wait_for(lambda: "not mark this proposal forwardable" in globex.log_text(),
             "the policy to refuse a proposal that is not forwardable")
    check(not [m for m in inbox_of(initech) if m["title"] == "Keep it to yourself"],
          "a proposal that is not forwardable never reaches initech")


def test_bad_policy_config(w):
    solo, other = w.node("Solo"), w.node("Other")
    path = os.path.join(solo.dir, "coex.conf")
    with open(path) as f:
        conf = f.read()
    for value, words in ((" , ", "at least one partner"), ("a;b", "partner names")):
        with open(path, "w") as f:
            f.write(conf + "\n[partner other]\nid = %s\nforward_to = %s\n" % (other.id, value))
        p = subprocess.run([harness.COEXD, "--data", solo.dir], capture_output=True, text=True,
                           timeout=20)
        check(p.returncode != 0 and "forward_to" in p.stderr and words in p.stderr,
              "forward_to = %r is refused, naming the key: %r" % (value, p.stderr))


if __name__ == "__main__":
    harness.main([test_two_hops, test_forward_policy, test_bad_policy_config])
