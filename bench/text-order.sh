#!/usr/bin/env bash
# Regenerates bench/text-order.txt (`make text-order`): the functions berth executes in the
# benchmark's operations, in the order it first enters them. `make build` hands the list to
# the linker (lld's --symbol-ordering-file), which places those functions together at the
# start of the text: a run then faults in a few hundred KiB of code instead of most of the
# binary (the kernel maps 64 KiB around each text fault). The names carry Rust's symbol
# hashes, which follow the crates' metadata, not their code: regenerate after a dependency
# or compiler upgrade, or when the hot path changes. A stale list costs memory, never
# correctness (names not in the binary are ignored).
# Usage: bench/text-order.sh BERTH HOT_TEXT (an unstripped build of berth as `make build`
# makes it, and the hot-text tracer; the Makefile builds both).
set -euo pipefail
berth=$(realpath "$1")
tracer=$(realpath "$2")
here=$(cd "$(dirname "$0")" && pwd)
out=$here/text-order.txt
work=$(mktemp -d /tmp/berth-text-order.XXXXXX)
root=$work/root
cleanup() {
    for id in $("$berth" --root "$root" list -q 2>/dev/null); do
        "$berth" --root "$root" delete --force "$id" >/dev/null 2>&1 || true
    done
    rm -rf "$work"
}
trap cleanup EXIT

# A busybox rootfs and bundles like the benchmark's: the default config (with the default
# seccomp profile), one with memory/cpu/pids limits, one that sleeps.
mkdir -p "$work/rootfs/bin"
cp /bin/busybox "$work/rootfs/bin/busybox"
for a in true sh sleep; do ln -s busybox "$work/rootfs/bin/$a"; done
bundle() { # NAME PYTHON-EDIT
    mkdir -p "$work/$1"
    "$berth" spec --seccomp default --bundle "$work/$1"
    python3 - "$work/$1/config.json" "$work/rootfs" "$2" <<'PY'
import json, sys
path, rootfs, edit = sys.argv[1:4]
c = json.load(open(path))
c["root"] = {"path": rootfs, "readonly": True}
c["process"]["terminal"] = False
exec(edit)
json.dump(c, open(path, "w"))
PY
}
bundle plain 'c["process"]["args"] = ["/bin/true"]'
bundle limits 'c["process"]["args"] = ["/bin/true"]; c["linux"].pop("seccomp", None); c["linux"]["resources"] = {"memory": {"limit": 67108864}, "cpu": {"shares": 512, "quota": 50000, "period": 100000}, "pids": {"limit": 64}}'
bundle sleeper 'c["process"]["args"] = ["/bin/sleep", "30"]'

rm -f "$out"
t() {
    "$tracer" "$berth" "$out" -- "$berth" --root "$root" "$@" </dev/null >"$work/out.log" 2>&1 ||
        { echo "text-order: berth $*: $(cat "$work/out.log")" >&2; exit 1; }
}
t run --bundle "$work/plain" to-run
t run --bundle "$work/limits" to-limits
t create --bundle "$work/sleeper" to-c
t start to-c
t state to-c
t exec to-c /bin/true
t kill to-c KILL
t delete --force to-c
t list
echo "text-order: $(wc -l <"$out") functions in $out"
