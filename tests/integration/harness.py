"""Multi-node test harness: real coexd processes on 127.0.0.1, driven only through the CLI.

Every node gets its own data directory under one temporary directory; everything (processes,
files) is removed on exit, also when a test fails. Waits poll a condition with a deadline:
no fixed sleeps."""
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time

BIN = os.environ.get("COEX_BIN") or os.path.join(os.path.dirname(__file__), "../../build")
COEX = os.path.join(BIN, "coex")
COEXD = os.path.join(BIN, "coexd")


class Failure(Exception):
    pass


class Died(Exception):
    """A node exited when it should not have: never retried by wait_for."""


def check(cond, what):
    if not cond:
        raise Failure(what)


def proc_stats(pid):
    """(VmRSS in KiB, open descriptors) of a process."""
    rss = 0
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                rss = int(line.split()[1])
    return rss, len(os.listdir("/proc/%d/fd" % pid))


def wait_for(pred, what, timeout=20.0, interval=0.05):
    """Polls pred() until it returns a truthy value; fails naming what after timeout s."""
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        try:
            last = pred()
            if last:
                return last
        except Failure:
            pass
        time.sleep(interval)
    raise Failure("timed out after %.0f s waiting for %s (last: %r)" % (timeout, what, last))


def free_port():
    """A port the OS just handed out on 127.0.0.1, for a node that must keep its address
    across restarts of both sides."""
    import socket
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Node:
    def __init__(self, world, name, listen="127.0.0.1:0", limits=None):
        self.world = world
        self.name = name
        self.dir = os.path.join(world.root, name.lower())
        self.proc = None
        self.log_path = os.path.join(world.root, name.lower() + ".log")
        r = self.cli("init", "--name", name, "--listen", listen, json_out=True)
        self.id = r["id"]
        if limits:
            self.set_limits(limits)

    def set_limits(self, limits):
        """Sets [limits] keys in coex.conf (the section 'coex init' wrote)."""
        path = os.path.join(self.dir, "coex.conf")
        with open(path) as f:
            lines = f.read().splitlines()
        at = lines.index("[limits]") + 1
        lines[at:at] = ["%s = %s" % kv for kv in limits.items()]
        with open(path, "w") as f:
            f.write("\n".join(lines) + "\n")

    def run(self, *args, check_rc=True, timeout=60):
        """Runs the CLI; returns (rc, stdout, stderr)."""
        p = subprocess.run([COEX, "--data", self.dir] + list(args), capture_output=True,
                           text=True, timeout=timeout)
        if check_rc and p.returncode != 0:
            raise Failure("coex %s failed (%d): %s" % (" ".join(args), p.returncode, p.stderr))
        return p.returncode, p.stdout, p.stderr

    def cli(self, *args, json_out=False, **kw):
        if json_out:
            args = args + ("--json",)
        rc, out, err = self.run(*args, **kw)
        return json.loads(out) if json_out else out

    def start(self, env=None):
        """Starts coexd; env: extra environment variables for this run only (e.g. a
        failpoint or LD_PRELOAD), on top of the test's own environment."""
        check(self.proc is None, "node %s already running" % self.name)
        log = open(self.log_path, "a")
        env = dict(os.environ, **(env or {}))
        self.proc = subprocess.Popen([COEXD, "--data", self.dir], stdout=log, stderr=log, env=env)
        log.close()
        wait_for(lambda: self.alive() and self.run("id", check_rc=False)[0] == 0,
                 "%s to answer on its control socket" % self.name)
        return self

    def wait_exit(self, timeout=20.0):
        """Waits for a node that is expected to die on its own (a failpoint); returns its
        exit status (negative: the signal) and forgets the process."""
        check(self.proc is not None, "node %s is not running" % self.name)
        try:
            rc = self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            raise Failure("coexd %s still running after %.0f s" % (self.name, timeout))
        self.proc = None
        return rc

    def alive(self):
        if self.proc is None or self.proc.poll() is not None:
            raise Died("coexd %s exited: %s" % (self.name, self.log_tail()))
        return True

    def kill(self, sig=signal.SIGKILL):
        if self.proc is not None:
            self.proc.send_signal(sig)
            rc = self.proc.wait(timeout=10)
            self.proc = None
            return rc
        return None

    def stop(self):
        """SIGTERM; the node must exit cleanly with code 0 within 5 s."""
        if self.proc is None:
            return 0
        self.proc.send_signal(signal.SIGTERM)
        try:
            rc = self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            raise Failure("coexd %s did not stop within 5 s of SIGTERM" % self.name)
        self.proc = None
        return rc

    def status(self):
        return self.cli("status", json_out=True)

    def link_state(self, partner_id):
        for l in self.status()["links"]:
            if l["id"] == partner_id:
                return l["state"]
        return None

    def wait_link(self, other, state="up", timeout=20.0):
        wait_for(lambda: self.link_state(other.id) == state,
                 "link %s -> %s to be %s" % (self.name, other.name, state), timeout)

    def partners(self):
        return self.cli("partner", "list", json_out=True)

    def log_text(self):
        try:
            with open(self.log_path) as f:
                return f.read()
        except OSError:
            return ""

    def log_tail(self, n=15):
        return "\n".join(self.log_text().splitlines()[-n:])


class World:
    def __init__(self):
        self.root = tempfile.mkdtemp(prefix="coex-it-")
        self.nodes = []

    def node(self, name, **kw):
        n = Node(self, name, **kw)
        self.nodes.append(n)
        return n

    def close(self):
        for n in self.nodes:
            try:
                n.kill()
            except Exception:
                pass
        shutil.rmtree(self.root, ignore_errors=True)



def last(out):
    """The last line of a command's output: the id `coex propose` and friends print."""
    return out.strip().splitlines()[-1]


def state(node, mid):
    """A message's state as `coex show` tells it."""
    return node.cli("show", mid, json_out=True)["state"]


def inbox_of(node, kind=None):
    """The node's inbox, or the messages of one kind in it."""
    return [m for m in node.cli("inbox", json_out=True) if kind is None or m["kind"] == kind]


def partner_up(a, b, timeout=20.0):
    """Partners a and b by invite code and waits for the link on both sides."""
    code = a.cli("invite").strip().splitlines()[-1]
    b.cli("join", code)
    a.wait_link(b, timeout=timeout)
    b.wait_link(a, timeout=timeout)
    return code


def main(tests):
    """Runs each test(world) in a fresh world; prints a summary line; exits 1 on failure."""
    passed = failed = 0
    for t in tests:
        w = World()
        start = time.monotonic()
        try:
            t(w)
            passed += 1
            print("ok   %s (%.1fs)" % (t.__name__, time.monotonic() - start), flush=True)
        except Exception as e:  # noqa: BLE001 - report every kind of failure
            failed += 1
            print("FAIL %s: %s" % (t.__name__, e), flush=True)
            for n in w.nodes:
                print("---- %s log tail ----\n%s" % (n.name, n.log_tail(30)), flush=True)
        finally:
            w.close()
    print("%d passed, %d failed" % (passed, failed))
    sys.exit(1 if failed else 0)


def long_mode():
    """Full counts: `--long` on the command line or COEX_LONG=1 (the default run stays short
    enough for CI)."""
    return "--long" in sys.argv[1:] or os.environ.get("COEX_LONG", "") not in ("", "0")


def has_failpoints():
    """Whether coexd was built with -DCOEX_FAILPOINTS=ON (it then carries the failpoint log
    line)."""
    try:
        with open(COEXD, "rb") as f:
            return b"msg=failpoint" in f.read()
    except OSError:
        return False


def skip_all(why):
    """Skips a whole test file with a clear reason, as a passing run with nothing to run."""
    print("skip: %s" % why)
    print("0 passed, 0 failed")
    sys.exit(0)
