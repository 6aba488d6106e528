"""A full disk at the receiver: nothing receipted that was not committed, nothing lost or
corrupted, and the node resumes on its own once there is room again.

    acme (disk fine) ====> globex (DATA on a 4 MiB tmpfs)
      pushes proposals with 100 KiB attachments until globex's store is full;
      globex's own 'coex propose' says "storage full"; acme keeps working and keeps the
      unreceipted ones; then the tmpfs grows to 64 MiB and everything arrives exactly once.

Root only (it mounts a tmpfs); skips otherwise. --long (or COEX_LONG=1) also restarts the
receiver while its disk is full.
"""
import atexit
import os
import subprocess

import harness
import oracle
from harness import check, wait_for

LONG = harness.long_mode()
FAST = {"reconnect_min_ms": 100, "reconnect_max_ms": 500, "keepalive_ms": 500, "dead_ms": 2000}
ATTACH = 100 * 1024
SMALL, LARGE = "4m", "64m"

_mounted = []


def mount_tmpfs(path, size):
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=%s,mode=0700" % size, "tmpfs", path],
                   check=True, capture_output=True)
    _mounted.append(path)


def resize_tmpfs(path, size):
    subprocess.run(["mount", "-o", "remount,size=%s" % size, path], check=True,
                   capture_output=True)


def unmount_all():
    while _mounted:
        path = _mounted.pop()
        subprocess.run(["umount", "-l", path], capture_output=True)


atexit.register(unmount_all)


def fill_rest(path):
    """Takes whatever room is left on the filesystem at path (the failed batch may have left a
    few pages): after this, any write at all needs space the disk does not have."""
    with open(os.path.join(path, "filler.bin"), "wb", buffering=0) as f:
        chunk = b"\0" * 4096
        try:
            while True:
                f.write(chunk)
        except OSError:
            pass
    st = os.statvfs(path)
    return st.f_bavail * st.f_frsize


def committed_titles(node):
    return set(oracle.delivered_counts(node))


def full_logged(node):
    return "storage full" in node.log_text()


def test_receiver_disk_full(w):
    disk = os.path.join(w.root, "globex")
    os.mkdir(disk)
    mount_tmpfs(disk, SMALL)
    try:
        run_disk_full(w, disk)
    finally:
        for n in w.nodes:
            n.kill()
        unmount_all()


def run_disk_full(w, disk):
    acme = w.node("Acme", listen="127.0.0.1:%d" % harness.free_port(), limits=FAST).start()
    globex = w.node("Globex", listen="127.0.0.1:%d" % harness.free_port(), limits=FAST).start()
    harness.partner_up(acme, globex)
    blob = os.path.join(w.root, "deck.bin")
    with open(blob, "wb") as f:
        f.write(os.urandom(ATTACH))

    # 1. fill globex's store from acme, one proposal at a time
    ledger = oracle.Ledger()
    i = 0
    while not full_logged(globex):
        check(i < 200, "200 proposals of %d KiB never filled a %s store" % (ATTACH // 1024, SMALL))
        rc, _, err = ledger.propose(acme, "globex", "full-%04d" % i, "--attach", blob)
        check(rc == 0, "acme's CLI works (its disk is fine): %s" % err)
        i += 1
        globex.alive()
    for k in range(5):  # a few more, queued behind the full disk
        rc, _, err = ledger.propose(acme, "globex", "full-%04d" % (i + k), "--attach", blob)
        check(rc == 0, "acme's CLI works while globex is full: %s" % err)
    print("  globex full after %d proposals: %s" % (i, globex.log_tail(1)), flush=True)
    left = fill_rest(disk)
    check(left < ATTACH, "the disk is full (%d bytes left)" % left)

    # 2. while full: no receipt for what was not committed, globex answers, refuses cleanly
    def settled():
        """acme's view (receipted or not) against globex's store, once globex stopped
        committing: every receipted message is committed there."""
        states = oracle.outbox_states(acme)
        have = committed_titles(globex)
        for t, mid in ledger.ok.items():
            if states.get(mid) in ("delivered", "answered"):
                check(t in have, "%s was receipted but is not in globex's store" % t)
        return states
    refused = globex.log_text().count("storage full")
    wait_for(lambda: globex.alive() and globex.log_text().count("storage full") > refused,
             "acme to resend and globex to refuse again (resend after 10 s)", timeout=40,
             interval=0.25)
    states = settled()
    pending = [t for t, mid in ledger.ok.items() if states.get(mid) not in ("delivered", "answered")]
    check(pending, "some proposals stay unreceipted while globex is full")
    check(all(states[ledger.ok[t]] in ("queued", "sent") for t in pending),
          "acme keeps the unreceipted ones queued: %r" % {t: states[ledger.ok[t]] for t in pending[:5]})
    acme.cli("status")
    globex.cli("status")
    globex.cli("inbox", json_out=True)
    # globex's own proposals: SQLite reuses WAL space a failed batch left behind, so a small
    # one may still commit (then it must arrive like any other); a larger one cannot
    mine = oracle.Ledger(definite=("storage full",))
    refused = None
    for size in (0, ATTACH, 1024 * 1024, 3 * 1024 * 1024):
        extra = ()
        if size:
            extra = ("--attach", os.path.join(w.root, "own%d.bin" % size))
            with open(extra[1], "wb") as f:
                f.write(os.urandom(size))
        title = "from-full-disk-%d" % size
        rc, _, err = mine.propose(globex, "acme", title, *extra)
        check(rc in (0, 1), "propose on a full disk: exit %d %r" % (rc, err))
        if rc == 1:
            check("storage full" in err, "the refusal says storage full: %r" % err)
            refused = title
            break
    check(refused, "a %s disk cannot take a 3 MiB proposal" % SMALL)
    print("  globex's own propose refused at %s: storage full" % refused, flush=True)
    states = {m["title"]: m["state"] for m in globex.cli("outbox", json_out=True)}
    check(refused not in states, "nothing half-queued at globex: %r" % states)
    oracle.integrity_check(globex)
    if LONG:
        globex.stop()
        globex.start()
        globex.wait_link(acme, timeout=30)
        oracle.integrity_check(globex)

    # 3. room again: globex resumes on its own
    resize_tmpfs(disk, LARGE)
    oracle.wait_all_delivered(acme, ledger.ok.values(), timeout=120,
                              what="the backlog to arrive once globex has room")
    counts = oracle.check_exactly_once(ledger, globex)
    check(len(counts) == len(ledger.ok), "all %d proposals at globex" % len(ledger.ok))
    rc, _, err = mine.propose(globex, "acme", "after-room")
    check(rc == 0, "globex's CLI works again: %s" % err)
    oracle.wait_all_delivered(globex, mine.ok.values())
    oracle.check_exactly_once(mine, acme)
    for n in (acme, globex):
        oracle.integrity_check(n)
        oracle.log_verify(n)
    print("  %s; %d pending when full" % (ledger.summary(), len(pending)), flush=True)


if __name__ == "__main__":
    if os.geteuid() != 0:
        harness.skip_all("test_diskfull needs root (it mounts a small tmpfs for the receiver's "
                         "data directory)")
    import tempfile
    probe = tempfile.mkdtemp(prefix="coex-mount-probe-")
    try:
        p = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", probe],
                           capture_output=True, text=True)
        if p.returncode == 0:
            subprocess.run(["umount", probe], capture_output=True)
    finally:
        os.rmdir(probe)
    if p.returncode != 0:
        harness.skip_all("test_diskfull cannot mount a tmpfs here (no CAP_SYS_ADMIN?): %s"
                         % p.stderr.strip())
    harness.main([test_receiver_disk_full])
