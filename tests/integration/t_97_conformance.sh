#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Differential conformance (issue 12, item 7): the hand-written sequences of
# tests/conformance/cases.txt and seeded random walks (2 seeds x 30 solo + 30
# multi-user walks of 30 calls: about 3,800 calls) run on a local directory
# and on the emulated share under LD_PRELOAD="$LIB $REFUSE", compared call by
# call (result, errno, and the presented type, mode, owner, group, link count
# and size of every name involved, by lstat and stat). The first difference
# of each sequence must be listed in tests/conformance/known.txt (cannot be
# removed) or open.txt (one SKIPPED line per issue-12 item that will remove
# it); any other difference is a FAIL. `make conformance` runs a longer one.
CONF_SEEDS=${CONF_SEEDS:-1 2}
CONF_COUNT=${CONF_COUNT:-30}
CONF_LEN=${CONF_LEN:-30}
. "$(dirname "$0")/../conformance/run.sh"
