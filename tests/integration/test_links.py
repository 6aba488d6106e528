"""Partner links between real nodes on 127.0.0.1 (OS-chosen ports).

    acme <---- link ----> globex          stranger --x--> acme  (dropped, no answer)
"""
import os
import signal
import sqlite3
import time

import harness
from harness import check, wait_for

FAST = {"reconnect_min_ms": 200, "reconnect_max_ms": 2000}


def db_rows(node, table):
    con = sqlite3.connect("file:%s?mode=ro" % os.path.join(node.dir, "coex.db"), uri=True)
    try:
        return con.execute("SELECT count(*) FROM %s" % table).fetchone()[0]
    finally:
        con.close()


def test_invite_join_and_status(w):
    acme = w.node("Acme", limits=FAST).start()
    globex = w.node("Globex", limits=FAST).start()
    out = acme.cli("invite")
    code = out.strip().splitlines()[-1]
    check(code.startswith("coex1"), "invite code alone on the last line: %r" % out)
    joined = globex.cli("join", code, json_out=True)
    check(joined["id"] == acme.id and joined["name"] == "acme", "join result names acme: %r" % joined)
    acme.wait_link(globex)
    globex.wait_link(acme)
    st = acme.status()
    check(st["id"] == acme.id and st["name"] == "Acme", "status id/name: %r" % st)
    link = [l for l in st["links"] if l["id"] == globex.id][0]
    check(link["partner"] == "globex" and link["state"] == "up", "status link: %r" % link)
    plist = globex.partners()
    check([p["name"] for p in plist] == ["acme"] and plist[0]["id"] == acme.id, "globex partners: %r" % plist)
    check(plist[0]["address"], "address stored")
    check([p["id"] for p in acme.partners()] == [globex.id], "acme partners")
    ident = acme.cli("id", json_out=True)
    check(ident == {"id": acme.id, "name": "Acme"} or (ident["id"] == acme.id and ident["name"] == "Acme"), "id: %r" % ident)


def test_invite_refusals(w):
    acme = w.node("Acme", limits=FAST).start()
    globex = w.node("Globex", limits=FAST).start()
    initech = w.node("Initech", limits=FAST).start()
    code = harness.partner_up(acme, globex)
    # used twice, by another node: no answer, a clear error
    rc, out, err = initech.run("join", code, check_rc=False)
    check(rc == 1 and "used already" in err, "reused code refused: %d %r" % (rc, err))
    check(initech.partners() == [], "nothing stored on a failed join")
    # mangled
    bad = code[:20] + ("a" if code[20] != "a" else "b") + code[21:]
    rc, out, err = initech.run("join", bad, check_rc=False)
    check(rc == 1 and "invalid invite code" in err, "mangled code refused: %d %r" % (rc, err))
    rc, out, err = initech.run("join", code[:-3], check_rc=False)
    check(rc == 1 and "invalid invite code" in err, "truncated code refused: %r" % err)
    # expired
    short = acme.cli("invite", "--ttl", "1s", json_out=True)
    wait_for(lambda: time.time() * 1000 > short["expires_ms"] + 50, "the invite to expire", 5)
    rc, out, err = initech.run("join", short["code"], check_rc=False)
    check(rc == 1 and "expired" in err, "expired code refused: %d %r" % (rc, err))
    check(initech.partners() == [], "nothing stored")
    # own code
    own = initech.cli("invite").strip().splitlines()[-1]
    rc, out, err = initech.run("join", own, check_rc=False)
    check(rc == 1 and "own invite" in err, "own code refused: %r" % err)


def test_stranger_dropped_without_answer(w):
    acme = w.node("Acme", limits=FAST).start()
    stranger = w.node("Stranger", limits=FAST).start()
    addr = acme.status()["listen"][0]
    partners_before, invites_before = db_rows(acme, "partners"), db_rows(acme, "invites")
    stranger.cli("partner", "add", "acme", acme.id, addr)
    wait_for(lambda: "reason=unknown_key" in acme.log_text(), "acme to log the dropped stranger")
    check(stranger.link_state(acme.id) == "down", "no link for a stranger")
    check(db_rows(acme, "partners") == partners_before, "no partner row written")
    check(db_rows(acme, "invites") == invites_before, "no invite row written")
    check(acme.partners() == [], "acme has no partners")
    check("link_up" not in stranger.log_text(), "the stranger never saw a link")


def test_partner_add_both_sides(w):
    a = w.node("Delta", limits=FAST).start()
    b = w.node("Echo", limits=FAST).start()
    a.cli("partner", "add", "echo", b.id, b.status()["listen"][0])
    b.cli("partner", "add", "delta", a.id, a.status()["listen"][0])
    a.wait_link(b)
    b.wait_link(a)
    # bad arguments get clear errors and exit 1 (daemon-side validation) or 2 (usage)
    rc, _, err = a.run("partner", "add", "x", "notanid", "127.0.0.1:1", check_rc=False)
    check(rc == 1 and "invalid node id" in err, "bad id: %r" % err)
    rc, _, err = a.run("partner", "add", "x", b.id, "nocolon", check_rc=False)
    check(rc == 1 and ("invalid address" in err or "already exists" in err), "bad address: %r" % err)
    rc, _, err = a.run("partner", "add", "x", check_rc=False)
    check(rc == 2, "missing args is a usage error: %d" % rc)


def test_restart_either_side(w):
    acme = w.node("Acme", limits=FAST).start()
    globex = w.node("Globex", limits=FAST).start()
    harness.partner_up(acme, globex)
    for victim, other in ((globex, acme), (acme, globex)):
        victim.kill(signal.SIGKILL)
        other.wait_link(victim, "down", timeout=60)
        victim.start()
        victim.wait_link(other, timeout=30)
        other.wait_link(victim, timeout=30)
    # and a clean stop: exit code 0
    check(globex.stop() == 0, "SIGTERM exits 0")
    acme.wait_link(globex, "down")
    globex.start()
    acme.wait_link(globex, timeout=30)


def test_partner_remove_closes_link(w):
    acme = w.node("Acme", limits=FAST).start()
    globex = w.node("Globex", limits=FAST).start()
    harness.partner_up(acme, globex)
    acme.cli("partner", "remove", "globex")
    check(acme.partners() == [], "removed from the list")
    check(all(l["id"] != globex.id for l in acme.status()["links"]), "no link entry left")
    globex.wait_link(acme, "down")
    # globex keeps redialling; acme drops it as a stranger now
    wait_for(lambda: "reason=unknown_key" in acme.log_text(), "acme to drop the removed partner")
    check(globex.link_state(acme.id) == "down", "stays down")
    rc, _, err = acme.run("partner", "remove", "globex", check_rc=False)
    check(rc == 1 and "no partner" in err, "removing twice: %r" % err)


if __name__ == "__main__":
    harness.main([
        test_invite_join_and_status,
        test_invite_refusals,
        test_stranger_dropped_without_answer,
        test_partner_add_both_sides,
        test_restart_either_side,
        test_partner_remove_closes_link,
    ])
