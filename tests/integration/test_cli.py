"""The CLI on its own: shell completion generated from the command tables."""
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
    bad = subprocess.run([harness.COEX, "completion", "zsh"], capture_output=True, text=True, timeout=10)
    check(bad.returncode == 2, "an unknown shell is a usage error")


if __name__ == "__main__":
    harness.main([test_bash_completion])
