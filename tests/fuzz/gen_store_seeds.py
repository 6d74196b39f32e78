#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Write the seed corpus for fuzz_store into tests/fuzz/corpus/store/.
The format is described in docs/state-store.md; this is an independent
encoder, so the seeds also check that the description is right."""
import os, struct, sys

def crc32c(data):
    crc = 0xFFFFFFFF
    for b in data:
        crc ^= b
        for _ in range(8):
            crc = (crc >> 1) ^ (0x82F63B78 & -(crc & 1))
    return crc ^ 0xFFFFFFFF

def rec(t, body):
    head = b"Vf" + t + b"\x01" + struct.pack("<I", 8 + len(body) + 4)
    r = head + body
    return r + struct.pack("<I", crc32c(r))

def key(k):
    k = k.encode("utf-8", "surrogateescape") if isinstance(k, str) else k
    return struct.pack("<H", len(k)) + k

HEAD = rec(b"H", struct.pack("<I", 1) + b"vboxfix state\n\0\0")
def put(k, flags=3, uid=999, gid=999, mode=0o700, ftype=0o100000, has_ino=1, ino=1234):
    return rec(b"P", struct.pack("<IIIIIIQ", flags, uid, gid, mode, ftype, has_ino, ino) + key(k))
def forget(k): return rec(b"F", key(k))
def delete(k): return rec(b"D", key(k))
def rename(a, b): return rec(b"R", key(a) + key(b))
RESET = rec(b"Z", b"")

seeds = {
    "empty": b"",
    "head_only": HEAD,
    "basic": HEAD + put("") + put("a") + put("a/b", flags=1) + put("c", flags=2, ftype=0o040000),
    "ops": HEAD + put("d/x") + put("d/y/z") + put("dd") + rename("d", "t") + delete("t/y")
           + forget("dd") + put("e") + RESET + put("after"),
    "torn_tail": HEAD + put("a") + put("b")[:-3],
    "torn_middle": HEAD + put("a") + put("torn")[:20] + put("b"),
    "garbage_middle": HEAD + put("a") + os.urandom(0) + b"\xde\xad\xbe\xef" * 50 + put("b"),
    "huge_len": HEAD + b"VfP\x01\xff\xff\xff\x7f" + b"\0" * 40 + put("ok"),
    "evil_keys": HEAD + put("../etc/passwd") + put("/abs") + put("a//b") + put("a/./b")
                 + put(b"nul\0key") + put("trail/") + put(b"\xff\xfe latin\xe9") + put("ok"),
    "rename_into_self": HEAD + put("d/a") + rename("d", "d/sub") + rename("", "x"),
    "deep": HEAD + put("/".join(["d"] * 2000)) + rename("d", "e/" * 100 + "f"),
    "bad_version": HEAD + put("a").replace(b"VfP\x01", b"VfP\x02", 1) + put("b"),
    "many": HEAD + b"".join(put("f%d" % i) for i in range(300)) + delete("") + put("last"),
}

out = os.path.join(os.path.dirname(os.path.abspath(__file__)), "corpus", "store")
os.makedirs(out, exist_ok=True)
for name, data in seeds.items():
    with open(os.path.join(out, name), "wb") as f:
        f.write(data)
print("wrote %d seeds to %s" % (len(seeds), out))
