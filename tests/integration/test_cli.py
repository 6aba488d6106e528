"""The CLI on its own: shell completion generated from the command tables, the man page
covering every verb, and `coex drain` (waiting for a backlog's receipts, with a progress bar
only on a terminal)."""
import json
import os
import pty
import re
import select
import subprocess

import harness
from harness import check


def complete(script, words, cword):
    cmd = ("source /dev/stdin; COMP_WORDS=(%s); COMP_CWORD=%d; _coex; echo \"${COMPREPLY[@]}\""
           % (" ".join(words), cword))
    p = subprocess.run(["bash", "-c", cmd], input=script, capture_output=True, text=True, timeout=10)
    check(p.returncode == 0, "completion runs: %s" % p.stderr)
    return p.stdout.split()


def test_bash_completion(w):
    p = subprocess.run([harness.COEX, "completion", "bash"], capture_output=True, text=True, timeout=10)
    check(p.returncode == 0 and "complete -o default -F _coex coex" in p.stdout, "a script: %r" % p.stderr)
    s = p.stdout
    check(subprocess.run(["bash", "-n"], input=s, text=True).returncode == 0, "valid bash")
    check(complete(s, ["coex", "partner", ""], 2) == ["add", "list", "remove"], "partner verbs")
    check("propose" in complete(s, ["coex", "pro"], 1), "verbs complete")
    check("--title" in complete(s, ["coex", "propose", "--t"], 2), "options complete")
    check({"verify", "export", "--tail"} <= set(complete(s, ["coex", "log", ""], 2)), "log: verbs and options")
    check("--against" in complete(s, ["coex", "--data", "x", "audit", "--a"], 4), "after --data DIR")
    check("drain" in complete(s, ["coex", "dr"], 1), "drain completes")
    check({"--to", "--timeout"} <= set(complete(s, ["coex", "drain", "--t"], 2)), "drain options")
    bad = subprocess.run([harness.COEX, "completion", "zsh"], capture_output=True, text=True, timeout=10)
    check(bad.returncode == 2, "an unknown shell is a usage error")


def test_man_page_covers_every_verb(w):
    out = subprocess.run([harness.COEX, "--help"], capture_output=True, text=True, timeout=10).stdout
    verbs = re.findall(r"^  ([a-z]+(?: [a-z]+)?)  ", out.split("verbs:")[1].split("global options")[0], re.M)
    check(len(verbs) > 20 and "drain" in verbs, "verbs listed: %r" % verbs)
    items = []  # each verb's synopsis line in the man page, with the formatting taken out
    with open(os.path.join(os.path.dirname(__file__), "../../docs/coex.1")) as f:
        for line in f:
            if re.match(r"\.B[IR]? ", line):
                items.append(re.sub(r"\\f[BIRP]|\"", "", line.split(" ", 1)[1]).replace("\\-", "-").strip())
    missing = [v for v in verbs if not any(re.match(re.escape(v) + r"( |$)", i) for i in items)]
    check(not missing, "docs/coex.1 lacks an entry for: %r" % missing)


FAST = {"reconnect_min_ms": 200, "reconnect_max_ms": 1000}
BAR = re.compile(r"\r|\x1b\[|\[[#.]{10,}\]")


def run_on_tty(node, *args):
    """Runs coex with stderr on a pseudo-terminal; returns (rc, stdout, what the terminal got)."""
    master, slave = pty.openpty()
    env = {k: v for k, v in os.environ.items() if k != "COEX_NO_PROGRESS"}
    try:
        p = subprocess.run([harness.COEX, "--data", node.dir] + list(args), stdout=subprocess.PIPE,
                           stderr=slave, text=True, timeout=60, env=env)
        os.close(slave)
        slave = -1
        got = b""
        while select.select([master], [], [], 0)[0]:
            try:
                chunk = os.read(master, 65536)
            except OSError:
                break
            if not chunk:
                break
            got += chunk
        return p.returncode, p.stdout, got.decode("utf-8", "replace")
    finally:
        if slave >= 0:
            os.close(slave)
        os.close(master)


def test_drain(w):
    acme = w.node("Acme", limits=FAST).start()
    globex = w.node("Globex", limits=FAST).start()
    rc, out, err = acme.run("drain", "--timeout", "5s", check_rc=False)
    check(rc == 0 and "nothing to drain" in out and err == "", "nothing queued: %d %r %r" % (rc, out, err))
    harness.partner_up(acme, globex)
    globex.stop()
    acme.wait_link(globex, "down")
    ids = [acme.cli("propose", "--to", "globex", "--title", "backlog %d" % i).strip().splitlines()[-1]
           for i in range(5)]
    # A partner that stays down: exit 1 at the deadline, naming what remains; piped, no bar.
    rc, out, err = acme.run("drain", "--to", "globex", "--timeout", "1s", check_rc=False)
    check(rc == 1 and "5 messages still wait for a receipt" in err and "globex: 5, link down" in err,
          "timeout names the remaining count: %d %r" % (rc, err))
    check(not BAR.search(out + err), "no progress bar when piped: %r %r" % (out, err))
    rc, out, _ = acme.run("drain", "--timeout", "1s", "--json", check_rc=False)
    j = json.loads(out)
    check(rc == 1 and j["drained"] is False and j["remaining"] == 5 and j["delivered"] == 0,
          "JSON on timeout: %d %r" % (rc, j))
    check(j["partners"] == [{"partner": "globex", "id": globex.id, "waiting": 5, "up": False}],
          "per partner: %r" % j["partners"])
    # On a terminal the bar is drawn (delivered of total), and cleared again.
    rc, out, tty = run_on_tty(acme, "drain", "--to", "globex", "--timeout", "1s")
    check(rc == 1 and "draining [" in tty and "0/5 messages" in tty, "a bar on a terminal: %r" % tty)
    # Usage errors and an unknown partner.
    check(acme.run("drain", "--timeout", "soon", check_rc=False)[0] == 2, "bad --timeout: usage")
    check(acme.run("drain", "extra", check_rc=False)[0] == 2, "no positional arguments")
    rc, _, err = acme.run("drain", "--to", "nobody", check_rc=False)
    check(rc == 1 and "no partner 'nobody'" in err, "unknown partner: %d %r" % (rc, err))
    # The partner comes back while drain waits: exit 0, all five delivered.
    p = subprocess.Popen([harness.COEX, "--data", acme.dir, "drain", "--to", globex.id[:8],
                          "--timeout", "60s", "--json"], stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True)
    try:
        globex.start()
        out, err = p.communicate(timeout=90)
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
    j = json.loads(out)
    check(p.returncode == 0 and j["drained"] is True and j["remaining"] == 0 and j["delivered"] == 5,
          "drained: %d %r %r" % (p.returncode, out, err))
    check(not BAR.search(out + err), "no progress bar when piped: %r" % err)
    states = [acme.cli("show", i, json_out=True)["state"] for i in ids]
    check(states == ["delivered"] * 5, "every message has its receipt once drained: %r" % states)
    rc, out, _ = acme.run("drain")
    check(rc == 0 and "nothing to drain" in out, "a drained outbox: %r" % out)


if __name__ == "__main__":
    harness.main([test_bash_completion, test_man_page_covers_every_verb, test_drain])
