# SPDX-License-Identifier: MIT
# A node-style module resolution storm (bench/workloads.sh): every source
# directory of app/src requires every module of app/node_modules, resolved
# the way node does it -- each ancestor's node_modules in turn, then the
# extensions, package.json and index files -- with one stat per candidate.
# Most candidates do not exist. Like node, a process resolves each
# (directory, request) once.
import os, sys

EXTS = ('', '.js', '.json', '.node')


def is_file(p):
    try:
        return os.stat(p).st_mode & 0o170000 == 0o100000
    except OSError:
        return False


def resolve(frm, req):
    d = frm
    while True:
        if os.path.basename(d) != 'node_modules':
            base = os.path.join(d, 'node_modules', req)
            for e in EXTS:
                if is_file(base + e):
                    return base + e
            for idx in ('package.json', 'index.js', 'index.json', 'index.node'):
                if is_file(os.path.join(base, idx)):
                    return os.path.join(base, idx)
        up = os.path.dirname(d)
        if up == d or len(up) < len(root):
            return None
        d = up


root = sys.argv[1]
app = os.path.join(root, 'app')
reqs = open(os.path.join(app, 'requests')).read().split()
dirs = open(os.path.join(app, 'dirs')).read().split()
found = 0
for sd in dirs:
    for r in reqs:
        found += resolve(os.path.join(app, sd), r) is not None
print(found)
