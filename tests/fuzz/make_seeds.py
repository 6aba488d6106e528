"""Writes the seed corpora of fuzz_receipt and fuzz_log_entry from a real run: the three-node
story of tests/integration/test_story.py (forwards, relays, an introduction, a co-signed
agreement, a referral), then a partner removal; every node's log is exported and its entries
and the receipts inside them become seeds. Also writes seed_keys.h: the nodes' public keys,
the key set fuzz_receipt verifies against (so the seeds verify).

    COEX_BIN=build-test python3 tests/fuzz/make_seeds.py

Run it by hand when the wire format changes; its output is committed."""
import os
import shutil
import struct
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "integration"))

import export_verify as ev  # noqa: E402
import harness  # noqa: E402
import test_story  # noqa: E402

CORPUS = os.path.join(HERE, "corpus")
TYPES = {1: "sent", 2: "received", 3: "receipt", 4: "partner_added", 5: "partner_removed",
         6: "invite_used", 7: "introduced"}
PER_TYPE = 3  # entries of one type kept per node: enough to vary, few enough to stay small


def records(data):
    """(kind, fields) of every record of an export."""
    pos, out = len(ev.MAGIC), []
    while pos < len(data):
        n = struct.unpack(">I", data[pos:pos + 4])[0]
        out.append(ev.record(data[pos + 4:pos + 4 + n]))
        pos += 4 + n
    return out


def reset(name):
    d = os.path.join(CORPUS, name)
    shutil.rmtree(d, ignore_errors=True)
    os.makedirs(d)
    return d


def write(d, name, data):
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


def main():
    w = harness.World()
    try:
        test_story.test_story(w)
        acme, globex, initech = w.nodes
        globex.cli("partner", "remove", "initech")
        exports = {}
        for n in w.nodes:
            path = os.path.join(w.root, n.name.lower() + ".coexlog")
            n.cli("log", "export", "-o", path)
            with open(path, "rb") as f:
                exports[n.name.lower()] = f.read()
    finally:
        w.close()

    entries_dir, receipts_dir = reset("log_entry"), reset("receipt")
    keys = []
    for node, data in sorted(exports.items()):
        count = {}
        for kind, f in records(data):
            if kind == "header":
                keys.append((node, f["node_key"]))
            if kind != "entry":
                continue
            e = ev.message(f["entry"], ev.LOGENTRY)
            t = TYPES[e["type"]]
            count[t] = count.get(t, 0) + 1
            if count[t] <= PER_TYPE:
                write(entries_dir, "%s_%d_%s" % (node, f["index"], t), f["entry"])
            if e["receipt"]:
                write(receipts_dir, "%s_%d_from_%s" % (node, f["index"], e["peer"].hex()[:8]),
                      e["receipt"])
    with open(os.path.join(HERE, "seed_keys.h"), "w") as f:
        f.write("/* Written by make_seeds.py: the public keys of the nodes of the run the seeds of\n"
                " * fuzz_receipt and fuzz_log_entry come from. */\n")
        f.write("static const unsigned char seed_keys[][32] = {\n")
        for node, k in keys:
            rows = [", ".join("0x%02x" % b for b in k[i:i + 8]) for i in range(0, 32, 8)]
            f.write("\t/* %s */\n\t{%s},\n" % (node, ",\n\t ".join(rows)))
        f.write("};\n")
    print("seeds: %d log entries, %d receipts, %d keys" % (
        len(os.listdir(entries_dir)), len(os.listdir(receipts_dir)), len(keys)))


if __name__ == "__main__":
    main()
