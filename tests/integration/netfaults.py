"""Network faults between real nodes: each node in its own Linux network namespace.

    ns cxnf<pid>-0  eth0 10.79.0.1 ─┐
    ns cxnf<pid>-1  eth0 10.79.0.2 ─┼─ bridge br0 in ns cxnf<pid>-br
    ns cxnf<pid>-2  eth0 10.79.0.3 ─┘

Every namespace is created by the test (named after its pid) and deleted at the end, also on
failure; the addresses exist only inside them. Faults, all removable:

    net.partition(a, b) / net.heal(a, b)   drop everything between a and b (nftables, in both
                                           namespaces' output hooks); other pairs unaffected
    net.block(src, dst) / net.unblock(...) one way only: src's packets to dst are dropped
    net.loss(src, pct, dst=None)           drop pct % of src's packets (to dst, or to anyone),
                                           nft `numgen random mod 100 < pct drop`; pct 0 removes
    net.slow(n, "256kbit") / net.unslow(n) tc tbf on n's eth0 (its egress)
    net.freeze(n) / net.thaw(n)            SIGSTOP / SIGCONT of the daemon (kill -9 and restart:
                                           n.kill(); n.start(), its address stays the same)
    net.delay_proxy(a, b, ms)              a TCP proxy (delay_proxy.py) in a's namespace that
                                           reaches b with ms added each way; returns the address
                                           a should use for b (coex partner add)
    net.clear()                            every fault above removed

Drop rules carry counters (net.dropped(n)), tc its statistics (net.shaped(n)), so a test can
show that a fault really hit traffic. Needs root, `ip`, `nft` and `tc` (why_not() says what
is missing; tests skip with that message). Namespaces left behind by a test that was killed
(SIGKILL) are swept at the next start: their pid no longer exists.

Counters of a node's process for bounded-memory checks: proc_stats(pid) = (VmRSS KiB, fds).
"""
import json
import os
import re
import select
import shutil
import signal
import subprocess
import sys
import threading
import time

import ctl_client
import harness
import oracle
from harness import check, proc_stats, wait_for

HERE = os.path.dirname(os.path.abspath(__file__))
PREFIX = "cxnf"
SUBNET = "10.79.0"
TABLE = "coexfault"


def sh(*cmd, check_rc=True, input=None, timeout=30):
    p = subprocess.run(list(cmd), capture_output=True, text=True, timeout=timeout, input=input)
    if check_rc and p.returncode != 0:
        raise harness.Failure("%s failed (%d): %s" % (" ".join(cmd), p.returncode,
                                                      p.stderr.strip()))
    return p


def why_not():
    """None if this machine can run the namespace tests, else why not (for a skip message)."""
    if os.geteuid() != 0:
        return "needs root (network namespaces, nftables and tc need CAP_NET_ADMIN); " \
               "run as root to test network faults"
    for tool, pkg in (("ip", "iproute2"), ("tc", "iproute2"), ("nft", "nftables")):
        if not shutil.which(tool):
            return "'%s' not found: install %s (scripts/deps.sh)" % (tool, pkg)
    return None


def sanitized():
    """Whether coexd was built with AddressSanitizer (its RSS is then several times larger)."""
    try:
        with open(harness.COEXD, "rb") as f:
            return b"__asan_init" in f.read()
    except OSError:
        return False


def proc_state(pid):
    """The state letter of a process (R, S, T for stopped, ...)."""
    with open("/proc/%d/stat" % pid) as f:
        return f.read().rsplit(")", 1)[1].split()[0]


def sweep_stale():
    """Deletes namespaces of earlier runs whose test process is gone (killed by SIGKILL),
    killing what still runs inside them."""
    try:
        names = os.listdir("/run/netns")
    except OSError:
        return
    for name in names:
        m = re.match(r"^%s(\d+)-" % PREFIX, name)
        if not m or os.path.exists("/proc/%s" % m.group(1)):
            continue
        for pid in sh("ip", "netns", "pids", name, check_rc=False).stdout.split():
            try:
                os.kill(int(pid), signal.SIGKILL)
            except OSError:
                pass
        sh("ip", "netns", "del", name, check_rc=False)


class NsNode(harness.Node):
    """A harness node whose daemon runs in its own network namespace and listens on its
    namespace address, port 7400 (the namespace is new: the port is free, and stays the same
    when the node is killed and started again). The CLI and the control socket (a file) work
    from anywhere."""

    def __init__(self, world, name, ns, ip, limits=None):
        self.ns, self.ip = ns, ip
        super().__init__(world, name, listen="%s:7400" % ip, limits=limits)

    def start(self, env=None):
        check(self.proc is None, "node %s already running" % self.name)
        env = dict(os.environ, **(env or {}))
        with open(self.log_path, "a") as log:
            self.proc = subprocess.Popen(["ip", "netns", "exec", self.ns, harness.COEXD,
                                          "--data", self.dir], stdout=log, stderr=log, env=env)
        wait_for(lambda: self.alive() and self.run("id", check_rc=False)[0] == 0,
                 "%s to answer on its control socket" % self.name)
        with open("/proc/%d/comm" % self.proc.pid) as f:
            check(f.read().strip() == "coexd", "pid %d is the daemon itself" % self.proc.pid)
        return self

    def address(self):
        """Where it listens, as the daemon reports it."""
        return self.status()["listen"][0]


class NetWorld:
    """n namespaces on one bridge, one node in each. Use as a context manager: on exit every
    fault, proxy, daemon and namespace is removed, also when the test failed."""

    def __init__(self, w, names, limits=None):
        self.w = w
        self.tag = "%s%d" % (PREFIX, os.getpid())
        self.bridge = self.tag + "-br"
        self.namespaces = []
        self.nodes = []
        self.proxies = []
        self.frozen = set()
        self.rules = {}      # ns -> {"block": set of ips, "loss": {ip or None: pct}}
        self.shaped_ns = set()
        try:
            self._up(len(names))
            for i, name in enumerate(names):
                ns = "%s-%d" % (self.tag, i)
                n = NsNode(w, name, ns, "%s.%d" % (SUBNET, i + 1), limits=limits)
                w.nodes.append(n)
                self.nodes.append(n)
        except BaseException:
            self.close()
            raise

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
        return False

    # ------------------------------------------------------------ namespaces

    def _up(self, count):
        sweep_stale()
        sh("ip", "netns", "add", self.bridge)
        self.namespaces.append(self.bridge)
        br = ["ip", "-n", self.bridge]
        sh(*br, "link", "set", "lo", "up")
        sh(*br, "link", "add", "br0", "type", "bridge")
        sh(*br, "link", "set", "br0", "up")
        for i in range(count):
            ns = "%s-%d" % (self.tag, i)
            sh("ip", "netns", "add", ns)
            self.namespaces.append(ns)
            port = "v%d" % i
            sh(*br, "link", "add", port, "type", "veth", "peer", "name", "eth0", "netns", ns)
            sh(*br, "link", "set", port, "master", "br0")
            sh(*br, "link", "set", port, "up")
            sh("ip", "-n", ns, "link", "set", "lo", "up")
            sh("ip", "-n", ns, "addr", "add", "%s.%d/24" % (SUBNET, i + 1), "dev", "eth0")
            sh("ip", "-n", ns, "link", "set", "eth0", "up")

    def close(self):
        for n in list(self.frozen):
            self.thaw(n, wait=False)
        for p in self.proxies:
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
                try:
                    p.wait(timeout=5)
                except subprocess.TimeoutExpired:
                    p.kill()
                    p.wait()
        self.proxies = []
        for n in self.nodes:      # the daemons live in the namespaces: stop them first
            try:
                n.kill()
            except Exception:  # noqa: BLE001 - closing anyway
                pass
        # Deleting a namespace takes its nft table, its qdiscs and its veth end with it.
        for ns in self.namespaces:
            sh("ip", "netns", "del", ns, check_rc=False)
        self.namespaces = []

    # ------------------------------------------------------------ nftables

    def _state(self, n):
        return self.rules.setdefault(n.ns, {"block": set(), "loss": {}})

    def _apply(self, n):
        """Replaces n's whole fault table in one nft transaction."""
        st = self._state(n)
        lines = []
        for ip in sorted(st["block"]):
            lines.append("ip daddr %s counter drop" % ip)
        for ip, pct in sorted(st["loss"].items(), key=lambda kv: kv[0] or ""):
            match = "ip daddr %s " % ip if ip else ""
            lines.append("%snumgen random mod 100 < %d counter drop" % (match, pct))
        script = "table inet %s\ndelete table inet %s\n" % (TABLE, TABLE)
        if lines:
            script += ("table inet %s {\n  chain out {\n"
                       "    type filter hook output priority 0; policy accept;\n%s  }\n}\n"
                       % (TABLE, "".join("    %s\n" % l for l in lines)))
        sh("ip", "netns", "exec", n.ns, "nft", "-f", "-", input=script)

    def block(self, src, dst):
        """Drops every packet from src to dst (one way)."""
        self._state(src)["block"].add(dst.ip)
        self._apply(src)

    def unblock(self, src, dst):
        self._state(src)["block"].discard(dst.ip)
        self._apply(src)

    def partition(self, a, b):
        """No packet between a and b, either way; their links with others are untouched."""
        self.block(a, b)
        self.block(b, a)

    def heal(self, a, b):
        self.unblock(a, b)
        self.unblock(b, a)

    def loss(self, src, pct, dst=None):
        """Drops pct % of src's packets (to dst, or all of them), at random; 0 removes it."""
        check(0 <= pct <= 100, "loss percentage %r" % pct)
        key = dst.ip if dst else None
        if pct:
            self._state(src)["loss"][key] = int(pct)
        else:
            self._state(src)["loss"].pop(key, None)
        self._apply(src)

    def dropped(self, n):
        """Packets n's fault rules dropped so far (all rules together)."""
        p = sh("ip", "netns", "exec", n.ns, "nft", "-j", "list", "table", "inet", TABLE,
               check_rc=False)
        if p.returncode != 0:
            return 0
        total = 0
        for item in json.loads(p.stdout).get("nftables", []):
            for e in item.get("rule", {}).get("expr", []):
                if "counter" in e:
                    total += e["counter"]["packets"]
        return total

    # ------------------------------------------------------------ tc

    def slow(self, n, rate, burst="16kb", latency="500ms"):
        """Caps what n sends (its eth0 egress) at rate (tc units: 256kbit, 1mbit) with tbf."""
        sh("ip", "netns", "exec", n.ns, "tc", "qdisc", "replace", "dev", "eth0", "root", "tbf",
           "rate", rate, "burst", burst, "latency", latency)
        self.shaped_ns.add(n.ns)

    def unslow(self, n):
        if n.ns in self.shaped_ns:
            sh("ip", "netns", "exec", n.ns, "tc", "qdisc", "del", "dev", "eth0", "root")
            self.shaped_ns.discard(n.ns)

    def shaped(self, n):
        """tbf statistics of n's eth0: {"bytes", "packets", "drops", "overlimits"}; {} if none."""
        p = sh("ip", "netns", "exec", n.ns, "tc", "-s", "-j", "qdisc", "show", "dev", "eth0")
        for q in json.loads(p.stdout or "[]"):
            if q.get("kind") == "tbf":
                return {k: q.get(k, 0) for k in ("bytes", "packets", "drops", "overlimits")}
        return {}

    # ------------------------------------------------------------ processes

    def freeze(self, n):
        """SIGSTOP: the daemon stops, its sockets stay open (the kernel still ACKs)."""
        os.kill(n.proc.pid, signal.SIGSTOP)
        self.frozen.add(n)
        wait_for(lambda: proc_state(n.proc.pid) == "T", "%s to be stopped" % n.name, 10)

    def thaw(self, n, wait=True):
        if n.proc is not None:
            os.kill(n.proc.pid, signal.SIGCONT)
            if wait:
                wait_for(lambda: proc_state(n.proc.pid) != "T", "%s to run again" % n.name, 10)
        self.frozen.discard(n)

    def delay_proxy(self, a, b, delay_ms):
        """Starts a proxy in a's namespace to b's listening address, delay_ms each way;
        returns the address (on a's loopback) for a to dial instead of b."""
        p = subprocess.Popen(["ip", "netns", "exec", a.ns, sys.executable,
                              os.path.join(HERE, "delay_proxy.py"), "--listen", "127.0.0.1:0",
                              "--to", b.address(), "--delay-ms", str(delay_ms)],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        self.proxies.append(p)
        ready, _, _ = select.select([p.stdout], [], [], 20)
        line = p.stdout.readline().strip() if ready else ""
        check(line.startswith("listening "), "the delay proxy started: %r %s"
              % (line, "" if p.poll() is None else p.stderr.read()))
        return line.split()[1]

    def clear(self):
        """Removes every fault: drop rules, loss, shaping, frozen daemons (proxies stay: they
        are a path, not a fault)."""
        for n in list(self.frozen):
            self.thaw(n)
        for n in self.nodes:
            st = self._state(n)
            if st["block"] or st["loss"]:
                st["block"].clear()
                st["loss"].clear()
                self._apply(n)
            self.unslow(n)


# ---------------------------------------------------------------- traffic and checks

class Flow(threading.Thread):
    """Queues proposals from sender to receiver at `rate` a second over the control socket,
    recording each in the ledger under titles PREFIX-NNNNN, until stopped."""

    def __init__(self, ledger, sender, receiver, prefix, rate, body=""):
        super().__init__(daemon=True)
        self.ledger, self.sender, self.receiver = ledger, sender, receiver
        self.prefix, self.rate, self.body = prefix, rate, body
        self.queued = []           # (monotonic time, title, id)
        self.errors = []
        self.stopped = threading.Event()

    def run(self):
        ctl = None
        t0, i = time.monotonic(), 0
        try:
            ctl = ctl_client.Ctl(self.sender.dir, timeout=60)
            while not self.stopped.is_set():
                i += 1
                title = "%s-%05d" % (self.prefix, i)
                try:
                    mid = ctl.propose(self.receiver.id, title, self.body)
                    self.ledger.record(title, 0, mid, "")
                    self.queued.append((time.monotonic(), title, mid))
                except Exception as e:  # noqa: BLE001 - the ledger says what it means
                    self.ledger.record(title, 1, "", str(e))
                    self.errors.append("%s: %s" % (title, e))
                    return
                delay = t0 + i / self.rate - time.monotonic()
                if delay > 0:
                    self.stopped.wait(delay)
        except Exception as e:  # noqa: BLE001
            self.errors.append("control socket: %s" % e)
        finally:
            if ctl:
                ctl.close()

    def stop(self):
        self.stopped.set()
        self.join(timeout=60)
        check(not self.is_alive(), "flow %s stopped" % self.prefix)
        check(not self.errors, "flow %s queued without errors: %s" % (self.prefix, self.errors[:3]))

    def ids(self):
        return [mid for _, _, mid in self.queued]

    def queued_before(self, t):
        return [(title, mid) for tq, title, mid in self.queued if tq <= t]


class Sampler(threading.Thread):
    """Samples (VmRSS KiB, open fds) of some nodes' daemons every `every` seconds (/proc
    answers for a stopped process too)."""

    def __init__(self, nodes, every=0.5):
        super().__init__(daemon=True)
        self.nodes = nodes
        self.every = every
        self.samples = {n.name: [] for n in nodes}
        self.stopped = threading.Event()
        self.base = {n.name: proc_stats(n.proc.pid) for n in nodes}

    def run(self):
        while not self.stopped.is_set():
            for n in self.nodes:
                try:
                    self.samples[n.name].append(proc_stats(n.proc.pid))
                except (OSError, AttributeError):
                    pass
            self.stopped.wait(self.every)

    def stop(self):
        self.stopped.set()
        self.join(timeout=10)

    def check_bounded(self, rss_kib, fds):
        """Each node's RSS grew by less than rss_kib and it never held more than fds
        descriptors above where it started."""
        out = []
        for n in self.nodes:
            rss0, fd0 = self.base[n.name]
            s = self.samples[n.name] or [(rss0, fd0)]
            rmax, fmax = max(x[0] for x in s), max(x[1] for x in s)
            out.append("%s RSS %d -> max %d KiB, fds %d -> max %d"
                       % (n.name, rss0, rmax, fd0, fmax))
            check(rmax - rss0 < rss_kib, "%s: RSS bounded: +%d KiB (budget %d KiB)"
                  % (n.name, rmax - rss0, rss_kib))
            check(fmax - fd0 <= fds, "%s: open descriptors bounded: %d -> max %d (budget +%d)"
                  % (n.name, fd0, fmax, fds))
        return "; ".join(out)


def link_up(a, b):
    return a.link_state(b.id) == "up"


def wait_links(pairs, timeout):
    for a, b in pairs:
        a.wait_link(b, timeout=timeout)
        b.wait_link(a, timeout=timeout)


def partner_all(nodes, timeout=30):
    """Partners every pair of nodes by invite code."""
    for i, a in enumerate(nodes):
        for b in nodes[i + 1:]:
            harness.partner_up(a, b, timeout=timeout)


def delivered_titles(flow):
    """Titles of flow's proposals the receiver has stored (a set)."""
    return {t for t in oracle.delivered_counts(flow.receiver) if t.startswith(flow.prefix + "-")}


def check_flow_exactly_once(ledger, flow, timeout):
    """Every proposal the flow queued is receipted at the sender and stored exactly once at
    the receiver (and nothing else with its prefix)."""
    oracle.wait_all_delivered(flow.sender, flow.ids(), timeout=timeout,
                              what="%s's %d proposals to be receipted" % (flow.prefix,
                                                                         len(flow.queued)))
    counts = oracle.check_exactly_once(ledger, flow.receiver, only=flow.prefix + "-")
    check(len(counts) == len(flow.queued), "%s: %d stored for %d queued"
          % (flow.prefix, len(counts), len(flow.queued)))
    return len(counts)


def audit_all(w, nodes, pairs):
    """Exports every node's log: each passes `coex audit`, each partnered pair cross-checks
    both ways (`coex audit --against`), and each file passes the independent verifier."""
    paths = {}
    for n in nodes:
        path = os.path.join(w.root, "%s.coexlog" % n.name.lower())
        n.cli("log", "export", "-o", path, json_out=True)
        rc, out, err = n.run("audit", path, "--json", check_rc=False)
        r = json.loads(out) if out.strip() else {}
        check(rc == 0 and r.get("ok") is True and r.get("node_id") == n.id,
              "%s's export audits: rc %d %r %s" % (n.name, rc, r, err))
        p = sh(sys.executable, os.path.join(HERE, "export_verify.py"), path, check_rc=False)
        check(p.returncode == 0, "%s's export passes export_verify.py: %s %s"
              % (n.name, p.stdout, p.stderr))
        paths[n] = path
    for a, b in pairs:
        for x, y in ((a, b), (b, a)):
            rc, out, err = x.run("audit", paths[x], "--against", paths[y], "--json",
                                 check_rc=False)
            r = json.loads(out) if out.strip() else {}
            check(rc == 0 and r.get("ok") is True, "%s's export cross-checks against %s's: "
                  "rc %d %r %s" % (x.name, y.name, rc, r, err))
