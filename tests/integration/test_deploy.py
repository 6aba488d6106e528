"""deploy/: what can be checked on this machine (Docker is not available here).

- compose.yml parses and runs three companies, each with its own volume and a healthcheck,
  plus the one-shot story service;
- the Dockerfile: its build stage builds from exactly the files it copies (replayed here,
  without Docker), and its runtime stage installs exactly the Debian packages that hold the
  shared libraries those binaries link, outside libc (ldd, then dpkg -S);
- the systemd unit: systemd-analyze verify and security (when available) and a static check
  of the hardening directives; the sysusers and tmpfiles snippets;
- cmake --install puts coexd, coex, the unit and the man pages in place; the man pages render
  and name every verb of 'coex --help';
- as root: topology.sh up/down/exec (namespaces appear, hold their addresses, are removed) and
  deploy/netns/demo.sh end to end. Not root: checks that both refuse clearly, then skips.
"""
import fnmatch
import os
import re
import shlex
import shutil
import subprocess
import tempfile

import harness
from harness import check

SRC = os.path.abspath(os.environ.get("COEX_SOURCE") or
                      os.path.join(os.path.dirname(__file__), "../.."))
BIN = os.path.abspath(harness.BIN)
DEPLOY = os.path.join(SRC, "deploy")
NODES = ("acme", "globex", "initech")


def run(cmd, timeout=300, **kw):
    return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, **kw)


# ---------------------------------------------------------------- compose

def test_compose(w):
    try:
        import yaml
    except ImportError:
        raise harness.Failure("python3-yaml is missing: run scripts/deps.sh")
    path = os.path.join(DEPLOY, "container", "compose.yml")
    with open(path) as f:
        doc = yaml.safe_load(f)
    check(isinstance(doc, dict), "compose.yml is a mapping")
    services = doc.get("services") or {}
    declared = doc.get("volumes") or {}
    networks = doc.get("networks") or {}
    seen_volumes = set()
    for name in NODES:
        s = services.get(name)
        check(isinstance(s, dict), "service %s exists" % name)
        build = s.get("build") or {}
        ctx = os.path.normpath(os.path.join(os.path.dirname(path), build.get("context", ".")))
        check(ctx == os.path.normpath(SRC), "%s builds from the repository root: %s" % (name, ctx))
        check(os.path.isfile(os.path.join(ctx, build.get("dockerfile", ""))),
              "%s: the Dockerfile exists" % name)
        vols = [v for v in s.get("volumes") or [] if isinstance(v, str) and v.endswith(":/data")]
        check(len(vols) == 1, "%s mounts one volume at /data: %r" % (name, s.get("volumes")))
        vol = vols[0].split(":")[0]
        check(vol in declared, "%s: volume %s is declared" % (name, vol))
        check(vol not in seen_volumes, "%s has a volume of its own" % name)
        seen_volumes.add(vol)
        hc = s.get("healthcheck") or {}
        test = hc.get("test")
        test = " ".join(test) if isinstance(test, list) else str(test)
        check("coex" in test and "status" in test and "/data" in test,
              "%s: healthcheck runs coex --data /data status: %r" % (name, test))
        env = s.get("environment") or {}
        check(env.get("COEX_NAME") and env.get("COEX_LISTEN", "").endswith(":7400"),
              "%s: COEX_NAME and COEX_LISTEN set: %r" % (name, env))
        nets = s.get("networks") or []
        check(nets and all(n in networks for n in nets), "%s is on a declared network" % name)
    for n, spec in networks.items():
        check((spec or {}).get("driver", "bridge") == "bridge", "network %s is a bridge" % n)
    story = services.get("story")
    check(isinstance(story, dict), "a story service exists")
    deps = story.get("depends_on") or {}
    check(all((deps.get(n) or {}).get("condition") == "service_healthy" for n in NODES),
          "the story waits for the three nodes to be healthy: %r" % deps)
    mounts = {v.split(":")[0] for v in story.get("volumes") or []}
    check(mounts == seen_volumes, "the story mounts the three volumes: %r" % mounts)
    check("coex-story" in (story.get("entrypoint") or []), "the story runs coex-story")


# ---------------------------------------------------------------- Dockerfile

def dockerfile_stages():
    """[(from_line, [(INSTRUCTION, args)])] with continuation lines joined, comments dropped."""
    with open(os.path.join(DEPLOY, "container", "Dockerfile")) as f:
        text = f.read()
    logical, cur = [], ""
    for line in text.splitlines():
        if not cur and (not line.strip() or line.lstrip().startswith("#")):
            continue
        if line.rstrip().endswith("\\"):
            cur += line.rstrip()[:-1] + " "
        else:
            logical.append(cur + line)
            cur = ""
    stages = []
    for line in logical:
        instr, _, args = line.strip().partition(" ")
        instr = instr.upper()
        if instr == "FROM":
            stages.append((args.strip(), []))
        else:
            check(stages, "the Dockerfile starts with FROM")
            stages[-1][1].append((instr, args.strip()))
    return stages


def apt_packages(instrs):
    pkgs = []
    for instr, args in instrs:
        if instr == "RUN" and "apt-get install" in args:
            for part in args.split("&&"):
                if "apt-get install" in part:
                    words = part.split("apt-get install", 1)[1].split()
                    pkgs += [x for x in words if not x.startswith("-")]
    return pkgs


def lib_packages(binaries):
    """{package: [libraries]} for the shared libraries the binaries load, per ldd and dpkg -S."""
    pkgs = {}
    for b in binaries:
        out = run(["ldd", b]).stdout
        for line in out.splitlines():
            m = re.search(r"(/\S+)\s+\(0x", line)
            if not m:
                continue  # linux-vdso
            path = m.group(1)
            cands = [path, "/usr" + path if not path.startswith("/usr/") else path[4:],
                     os.path.realpath(path)]
            owner = None
            for c in cands:
                r = run(["dpkg", "-S", c])
                if r.returncode == 0:
                    owner = r.stdout.split(":")[0].strip()
                    break
            check(owner, "dpkg -S finds the package of %s (from ldd %s)" % (path, b))
            pkgs.setdefault(owner, []).append(os.path.basename(path))
    return pkgs


def dockerignore_allows(path):
    """BuildKit's <Dockerfile>.dockerignore, last matching pattern wins."""
    ign = os.path.join(DEPLOY, "container", "Dockerfile.dockerignore")
    if not os.path.exists(ign):
        return True
    allowed = True
    with open(ign) as f:
        for line in f:
            pat = line.strip()
            if not pat or pat.startswith("#"):
                continue
            neg = pat.startswith("!")
            pat = pat.lstrip("!").rstrip("/")
            p = path.rstrip("/")
            if fnmatch.fnmatch(p, pat) or p.startswith(pat + "/"):
                allowed = neg
    return allowed


def test_dockerfile(w):
    stages = dockerfile_stages()
    check(len(stages) == 2, "two stages: %r" % [s[0] for s in stages])
    (build_from, build), (run_from, runtime) = stages
    check(re.fullmatch(r"debian:12 +AS +build", build_from, re.I), "build stage: %s" % build_from)
    check(run_from == "debian:12-slim", "runtime stage: %s" % run_from)

    # the build stage's packages are real Debian 12 packages (installed here to build coex)
    want_build = {"build-essential", "cmake", "pkg-config", "protobuf-c-compiler", "libsodium-dev",
                  "libuv1-dev", "libprotobuf-c-dev", "libsqlite3-dev", "libinih-dev"}
    check(set(apt_packages(build)) == want_build, "build packages: %r" % apt_packages(build))

    # replay the build stage without Docker: copy what it copies, run what it runs
    ctx = tempfile.mkdtemp(prefix="coex-docker-")
    try:
        for instr, args in build:
            if instr == "COPY":
                words = [x for x in shlex.split(args) if not x.startswith("--")]
                srcs, dest = words[:-1], words[-1]
                for s in srcs:
                    check(dockerignore_allows(s), "%s is in the build context" % s)
                    src = os.path.join(SRC, s)
                    check(os.path.exists(src), "COPY source %s exists" % s)
                    to = os.path.join(ctx, dest)
                    if dest.endswith("/") or len(srcs) > 1:
                        os.makedirs(to, exist_ok=True)
                        if not os.path.isdir(src):
                            to = os.path.join(to, os.path.basename(s.rstrip("/")))
                    if os.path.isdir(src):
                        shutil.copytree(src, to, dirs_exist_ok=True)
                    else:
                        shutil.copy2(src, to)
            elif instr == "RUN" and "apt-get" not in args:
                cmd = re.sub(r"(?<![\w/.])/out\b", ctx + "/out", args)
                r = run(["sh", "-c", cmd], cwd=ctx, timeout=600)
                errors = [l for l in (r.stdout + r.stderr).splitlines() if "error" in l.lower()]
                check(r.returncode == 0, "build stage: %s\n%s" %
                      (cmd, "\n".join(errors[:20]) or (r.stdout + r.stderr)[-3000:]))
        built = []
        for instr, args in runtime:
            if instr == "COPY" and "--from=build" in args:
                words = [x for x in shlex.split(args) if not x.startswith("--")]
                for s in words[:-1]:
                    p = os.path.join(ctx, s.lstrip("/"))
                    check(os.access(p, os.X_OK), "the build stage made %s" % s)
                    built.append(p)
            elif instr == "COPY":
                words = [x for x in shlex.split(args) if not x.startswith("--")]
                for s in words[:-1]:
                    check(os.path.exists(os.path.join(SRC, s)) and dockerignore_allows(s),
                          "runtime COPY source %s exists and is in the context" % s)
        names = sorted(os.path.basename(p) for p in built)
        check(names == ["coex", "coexd"], "the image gets coexd and coex: %r" % names)

        # the runtime packages are exactly those holding the libraries they link, outside libc
        need = lib_packages(built)
        need.pop("libc6", None)
        have = apt_packages(runtime)
        check(len(have) == len(set(have)), "no package twice: %r" % have)
        check(set(have) == set(need),
              "runtime packages %s, but the binaries need %s" % (sorted(have), sorted(need)))
        print("     runtime packages match ldd: %s" %
              ", ".join("%s (%s)" % (p, " ".join(sorted(set(l)))) for p, l in sorted(need.items())))
    finally:
        shutil.rmtree(ctx, ignore_errors=True)

    # the runtime stage: non-root, a data volume, a healthcheck through the CLI, the entrypoint
    instrs = dict()
    for instr, args in runtime:
        instrs.setdefault(instr, []).append(args)
    user = instrs.get("USER", ["root"])[-1].split(":")[0]
    check(user not in ("root", "0"), "runs as a non-root user: %s" % user)
    check(any("/data" in v for v in instrs.get("VOLUME", [])), "VOLUME /data")
    hc = " ".join(instrs.get("HEALTHCHECK", []))
    check(re.search(r'"coex",\s*"--data",\s*"/data",\s*"status"', hc), "HEALTHCHECK: %s" % hc)
    check(instrs.get("ENTRYPOINT"), "an ENTRYPOINT")
    r = run(["sh", "-n", os.path.join(DEPLOY, "container", "entrypoint.sh")])
    check(r.returncode == 0, "entrypoint.sh parses: %s" % r.stderr)


def test_entrypoint(w):
    """The entrypoint, run here with the built binaries: init on first start, then coexd."""
    data = os.path.join(w.root, "data")
    env = dict(os.environ, PATH=BIN + ":" + os.environ.get("PATH", ""), COEX_DATA=data)
    ep = os.path.join(DEPLOY, "container", "entrypoint.sh")
    r = run(["sh", ep], env=env)
    check(r.returncode == 1 and "COEX_NAME" in r.stderr, "no node, no COEX_NAME: %r" % r.stderr)
    env.update(COEX_NAME="Acme Logistics", COEX_LISTEN="127.0.0.1:0")
    log = open(os.path.join(w.root, "ep.log"), "w")
    p = subprocess.Popen(["sh", ep], env=env, stdout=log, stderr=log)
    try:
        harness.wait_for(lambda: p.poll() is None and
                         run([harness.COEX, "--data", data, "status"]).returncode == 0,
                         "the entrypoint's coexd to answer")
        node_id = run([harness.COEX, "--data", data, "id", "--json"]).stdout
        p.terminate()
        check(p.wait(timeout=10) == 0, "coexd (exec'd by the entrypoint) stops cleanly on SIGTERM")
        # second start: the same node, no second init
        p = subprocess.Popen(["sh", ep], env=env, stdout=log, stderr=log)
        harness.wait_for(lambda: p.poll() is None and
                         run([harness.COEX, "--data", data, "status"]).returncode == 0,
                         "the restarted node to answer")
        check(run([harness.COEX, "--data", data, "id", "--json"]).stdout == node_id,
              "the same identity after a restart")
    finally:
        if p.poll() is None:
            p.terminate()
            p.wait(timeout=10)
        log.close()


# ---------------------------------------------------------------- systemd

def unit_directives(path):
    sections, cur = {}, None
    with open(path) as f:
        for line in f:
            line = line.strip()
            if not line or line[0] in "#;":
                continue
            if line.startswith("["):
                cur = sections.setdefault(line.strip("[]"), {})
                continue
            k, _, v = line.partition("=")
            cur.setdefault(k.strip(), []).append(v.strip())
    return sections


def test_systemd_unit(w):
    unit = os.path.join(DEPLOY, "systemd", "coexd.service")
    d = unit_directives(unit)
    svc = d.get("Service", {})

    def one(key):
        v = svc.get(key)
        check(v, "[Service] %s is set" % key)
        return v[-1]
    check(one("User") == "coex" and one("Group") == "coex", "runs as its own user")
    check(re.fullmatch(r"/\S*/coexd --data /var/lib/coex", one("ExecStart")), one("ExecStart"))
    check(one("Environment") == "COEX_DATA=/var/lib/coex", "COEX_DATA set")
    want = {"NoNewPrivileges": "yes", "ProtectSystem": "strict", "ProtectHome": "yes",
            "PrivateTmp": "yes", "PrivateDevices": "yes", "StateDirectory": "coex",
            "StateDirectoryMode": "0700", "UMask": "0077", "Restart": "on-failure",
            "CapabilityBoundingSet": "", "RestrictSUIDSGID": "yes",
            "ProtectKernelTunables": "yes", "ProtectControlGroups": "yes"}
    for k, v in want.items():
        check(one(k) == v, "%s=%s, got %r" % (k, v, svc.get(k)))
    for k in ("ReadWritePaths", "ReadOnlyPaths"):
        for v in svc.get(k, []):
            check(all(p.lstrip("-") == "/var/lib/coex" for p in v.split()),
                  "%s only names the data directory: %s" % (k, v))
    check(d.get("Install", {}).get("WantedBy") == ["multi-user.target"], "WantedBy")

    sa = shutil.which("systemd-analyze")
    if not sa:
        print("     systemd-analyze not found: static check only")
        return
    # verify the unit with ExecStart pointing at the built coexd (verify checks it exists)
    tmp = os.path.join(w.root, "unit")
    os.makedirs(tmp)
    with open(unit) as f:
        text = re.sub(r"^ExecStart=\S+/coexd", "ExecStart=" + os.path.join(BIN, "coexd"),
                      f.read(), flags=re.M)
    with open(os.path.join(tmp, "coexd.service"), "w") as f:
        f.write(text)
    r = run([sa, "verify", "--man=no", os.path.join(tmp, "coexd.service")])
    noise = [l for l in r.stderr.splitlines() if "coexd.service" in l]
    check(r.returncode == 0 and not noise, "systemd-analyze verify: %s" % r.stderr)
    r = run([sa, "security", "--offline=yes", os.path.join(tmp, "coexd.service")])
    m = re.search(r"Overall exposure level for coexd\.service: ([0-9.]+)", r.stdout)
    if m:
        check(float(m.group(1)) <= 2.0, "systemd-analyze security: exposure %s" % m.group(1))
        print("     systemd-analyze verify ok; security exposure %s" % m.group(1))
    else:
        print("     systemd-analyze verify ok (no offline security analysis here)")

    # the sysusers and tmpfiles snippets, applied to an empty root
    sysusers, tmpfiles = shutil.which("systemd-sysusers"), shutil.which("systemd-tmpfiles")
    if sysusers and tmpfiles:
        root = os.path.join(w.root, "root")
        os.makedirs(os.path.join(root, "etc"))
        r = run([sysusers, "--root=" + root, os.path.join(DEPLOY, "systemd", "coex.sysusers")])
        check(r.returncode == 0, "systemd-sysusers: %s" % r.stderr)
        with open(os.path.join(root, "etc", "passwd")) as f:
            pw = [l.split(":") for l in f if l.startswith("coex:")]
        check(pw and pw[0][5] == "/var/lib/coex" and pw[0][6].strip() == "/usr/sbin/nologin",
              "user coex, home /var/lib/coex, no shell: %r" % pw)
        if os.geteuid() != 0:
            print("     not root: systemd-tmpfiles (which chowns) not tried")
            return
        r = run([tmpfiles, "--root=" + root, "--create",
                 os.path.join(DEPLOY, "systemd", "coex.tmpfiles")])
        check(r.returncode == 0, "systemd-tmpfiles: %s" % r.stderr)
        st = os.stat(os.path.join(root, "var", "lib", "coex"))
        check(st.st_mode & 0o777 == 0o700 and st.st_uid == int(pw[0][2]),
              "/var/lib/coex is 0700, owned by coex: %o %d" % (st.st_mode, st.st_uid))


# ---------------------------------------------------------------- install, man pages

def cmake_cache(key):
    with open(os.path.join(BIN, "CMakeCache.txt")) as f:
        for line in f:
            if line.startswith(key + ":"):
                return line.split("=", 1)[1].strip()
    return None


def test_install(w):
    prefix = os.path.join(w.root, "prefix")
    r = run(["cmake", "--install", BIN, "--prefix", prefix])
    check(r.returncode == 0, "cmake --install: %s" % r.stderr)
    for rel in ("bin/coexd", "bin/coex"):
        check(os.access(os.path.join(prefix, rel), os.X_OK), "%s installed" % rel)
    files = ["lib/systemd/system/coexd.service", "lib/sysusers.d/coex.conf",
             "lib/tmpfiles.d/coex.conf", "share/man/man1/coex.1", "share/man/man8/coexd.8"]
    for rel in files:
        check(os.path.isfile(os.path.join(prefix, rel)), "%s installed" % rel)
    with open(os.path.join(prefix, "lib/systemd/system/coexd.service")) as f:
        execs = re.findall(r"^ExecStart=(\S+)", f.read(), re.M)
    configured = cmake_cache("CMAKE_INSTALL_PREFIX")
    check(execs == [os.path.join(configured, "bin", "coexd")],
          "the installed unit starts %s/bin/coexd: %r" % (configured, execs))

    # the man pages render cleanly and name every verb the CLI has
    man1 = os.path.join(prefix, "share/man/man1/coex.1")
    man8 = os.path.join(prefix, "share/man/man8/coexd.8")
    if shutil.which("groff"):
        for page in (man1, man8):
            r = run(["groff", "-man", "-Tutf8", "-ww", "-z", page])
            check(r.returncode == 0 and not r.stderr.strip(), "groff %s: %s" % (page, r.stderr))
    with open(man1) as f:
        text = f.read().replace("\\-", "-")
    out = run([harness.COEX, "--help"]).stdout
    verbs = re.findall(r"^  ([a-z]+(?: [a-z]+)?)  +\S", out.split("verbs:", 1)[1].split("\n\n")[0],
                       re.M)
    check(len(verbs) >= 10, "verbs found in coex --help: %r" % verbs)
    missing = [v for v in verbs if not re.search(r'\.BI? "?%s\b' % re.escape(v), text)]
    check(not missing, "coex.1 describes every verb of 'coex --help'; missing: %r" % missing)
    with open(man8) as f:
        text8 = f.read().replace("\\-", "-")
    for opt in re.findall(r"--[a-z]+", run([harness.COEXD, "--help"]).stdout):
        check(opt in text8, "coexd.8 describes %s" % opt)


# ---------------------------------------------------------------- network namespaces

def netns_list():
    r = run(["ip", "netns", "list"])
    return {l.split()[0] for l in r.stdout.splitlines() if l.strip()}


def test_netns(w):
    topo = os.path.join(DEPLOY, "netns", "topology.sh")
    demo = os.path.join(DEPLOY, "netns", "demo.sh")
    if os.geteuid() != 0:
        for script in (topo, demo):
            args = [script, "up"] if script == topo else [script]
            r = run(args)
            check(r.returncode == 1 and "must run as root" in r.stderr,
                  "%s refuses clearly when not root: %r" % (script, r.stderr))
        print("     skip: not root, so no network namespaces (topology.sh and demo.sh refuse "
              "clearly); run the tests as root to exercise deploy/netns")
        return
    if not shutil.which("ip"):
        print("     skip: no 'ip' (iproute2)")
        return
    prefix = "coextest%d" % os.getpid()
    env = dict(os.environ, COEX_NETNS_PREFIX=prefix)
    names = {"%s-%s" % (prefix, n) for n in NODES + ("net",)}
    try:
        # as another user: refused clearly
        if shutil.which("setpriv"):
            r = run(["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", topo, "up"],
                    env=env)
            check(r.returncode == 1 and "must run as root" in r.stderr,
                  "non-root refused: %r" % r.stderr)
        for _ in range(2):  # idempotent
            r = run([topo, "up"], env=env)
            check(r.returncode == 0, "topology.sh up: %s" % r.stderr)
            check(names <= netns_list(), "the namespaces exist: %r" % netns_list())
        for i, n in enumerate(NODES, 1):
            r = run([topo, "exec", n, "ip", "-br", "addr", "show"], env=env)
            check(r.returncode == 0, "exec in %s: %s" % (n, r.stderr))
            check(re.search(r"^lo\s+UNKNOWN", r.stdout, re.M), "%s: loopback up: %s" % (n, r.stdout))
            check(re.search(r"^eth0@\S+\s+UP\s+10\.77\.0\.%d/24" % i, r.stdout, re.M),
                  "%s: eth0 up with 10.77.0.%d/24: %s" % (n, i, r.stdout))
            check(run([topo, "addr", n], env=env).stdout.strip() == "10.77.0.%d" % i, "addr")
            r = run([topo, "exec", n, "ip", "route"], env=env)
            routes = [" ".join(l.split()) for l in r.stdout.splitlines() if l.strip()]
            check(routes == ["10.77.0.0/24 dev eth0 proto kernel scope link src 10.77.0.%d" % i],
                  "%s: only the link route, no way out: %r" % (n, routes))
        host = run(["ip", "-br", "addr"]).stdout
        check("10.77.0." not in host, "no 10.77.0.x address in the host's namespace: %s" % host)
        # a TCP connection from acme to initech's address, and none after cut
        probe = ("import socket,sys\ntry:\n socket.create_connection(('10.77.0.3',9),timeout=2)\n"
                 "except ConnectionRefusedError: sys.exit(0)\nexcept OSError as e: print(e); "
                 "sys.exit(1)\n")
        r = run([topo, "exec", "acme", "python3", "-c", probe], env=env)
        check(r.returncode == 0, "acme reaches initech's host (refused, not unreachable): %s"
              % (r.stdout + r.stderr))
        check(run([topo, "cut", "initech"], env=env).returncode == 0, "cut")
        r = run([topo, "exec", "acme", "python3", "-c", probe], env=env)
        check(r.returncode == 1, "after cut, initech is unreachable")
        check(run([topo, "heal", "initech"], env=env).returncode == 0, "heal")
        harness.wait_for(lambda: run([topo, "exec", "acme", "python3", "-c", probe],
                                     env=env).returncode == 0, "initech reachable after heal")
        for _ in range(2):
            r = run([topo, "down"], env=env)
            check(r.returncode == 0, "topology.sh down: %s" % r.stderr)
            check(not (names & netns_list()), "the namespaces are gone: %r" % netns_list())

        # the demo, end to end
        r = run([demo], env=dict(env, COEX_BIN=BIN), timeout=300)
        check(r.returncode == 0, "demo.sh: exit %d\n%s\n%s" % (r.returncode, r.stdout[-3000:],
                                                               r.stderr[-3000:]))
        out = r.stdout
        check("story: done" in out, "the story ran")
        for i in (1, 2, 3):
            check("listen  10.77.0.%d:7400" % i in out, "a node listens on 10.77.0.%d" % i)
        check(re.search(r"ESTAB .*10\.77\.0\.1:\d+\s+10\.77\.0\.[23]:\d+", out),
              "TCP links between the namespaces")
        check(not (names & netns_list()), "demo.sh removed its namespaces")
        for pid in re.findall(r"coexd pid (\d+)", out):
            check(not os.path.exists("/proc/%s" % pid), "coexd %s stopped" % pid)
        work = re.findall(r"^data in (/\S+) ", out, re.M)
        check(work and not os.path.exists(work[0]), "demo data removed: %r" % work)
    finally:
        run([topo, "down"], env=env)


if __name__ == "__main__":
    harness.main([test_compose, test_dockerfile, test_entrypoint, test_systemd_unit,
                  test_install, test_netns])
