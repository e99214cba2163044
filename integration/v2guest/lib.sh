# Helpers for v2guest payloads (busybox sh). A payload starts with
#     . /v2guest/lib.sh
# reports each check with ok/not_ok (or check), and ends with `finish`, which
# prints the closing line "v2guest: N passed, M failed" and exits non-zero
# when anything failed. Call these at the payload's top level, not in a
# pipeline or $(...): the counts live in shell variables.

V2GUEST_PASSED=0
V2GUEST_FAILED=0
# The container bundle packed into every guest (see README.md).
BUSYBOX_ROOTFS=/bundles/busybox/rootfs
BUSYBOX_BUNDLE=/bundles/busybox

ok() {
    V2GUEST_PASSED=$((V2GUEST_PASSED + 1))
    echo "ok $1"
}

not_ok() {
    V2GUEST_FAILED=$((V2GUEST_FAILED + 1))
    echo "not ok $1: $2"
}

# check NAME CMD [ARG...]: ok when CMD exits 0; otherwise not ok with CMD's
# exit status and the last line it printed.
check() {
    _name=$1
    shift
    _out=$("$@" 2>&1)
    _rc=$?
    if [ "$_rc" -eq 0 ]; then
        ok "$_name"
    else
        not_ok "$_name" "exit $_rc: $(printf '%s\n' "$_out" | tail -n 1)"
    fi
}

# note TEXT: a comment line in the output, counted neither way.
note() {
    echo "# $*"
}

finish() {
    echo "v2guest: $V2GUEST_PASSED passed, $V2GUEST_FAILED failed"
    [ "$V2GUEST_FAILED" -eq 0 ]
    exit $?
}

# json_args ARG...: the arguments as a JSON array of strings.
json_args() {
    _json="["
    _sep=""
    for _a in "$@"; do
        _a=$(printf '%s' "$_a" | sed -e 's/\\/\\\\/g' -e 's/"/\\"/g' -e 's/	/\\t/g')
        _json="$_json$_sep\"$_a\""
        _sep=", "
    done
    printf '%s]' "$_json"
}

# make_bundle DIR ARG...: a bundle in DIR whose config.json runs ARG... in
# the packed busybox rootfs (read-only, shared by every bundle; absolute
# root.path). Edit DIR/config.json with sed for anything else.
make_bundle() {
    _dir=$1
    shift
    mkdir -p "$_dir" || return 1
    _args=$(json_args "$@")
    # The replacement text may hold '&', '|' or '\': escape them for sed.
    _args=$(printf '%s' "$_args" | sed -e 's/[\\&|]/\\&/g')
    sed -e "s|@ARGS@|$_args|" -e "s|@ROOTFS@|$BUSYBOX_ROOTFS|" \
        /v2guest/bundle-config.json >"$_dir/config.json"
}

# For payloads that drive berth with `--root $R` (their berth root):
# pid_of ID, status_of ID: the container's pid and status from `berth state`.
pid_of() { berth --root "$R" state "$1" 2>/dev/null | sed -n 's/.*"pid": \([0-9]*\).*/\1/p'; }
status_of() { berth --root "$R" state "$1" 2>/dev/null | sed -n 's/.*"status": "\([a-z]*\)".*/\1/p'; }

# For checkpoint payloads, whose container counts into $D/count (a bind mount):
# count: the counter's value (0 before it starts); wait_count N: until it passes N (at
# most 5 s); show_errors LOG: CRIU's error lines with what led to them, as comments.
# The counter rewrites its file in place: a read between the truncate and the write sees
# nothing, so read again (a few times) until it holds a number.
count() {
    for _try in 1 2 3 4 5; do
        _v=$(cat "$D/count" 2>/dev/null)
        case "$_v" in '' | *[!0-9]*) sleep 0.02 ;; *) echo "$_v"; return ;; esac
    done
    echo 0
}
wait_count() {
    _n=0
    while [ "$(count)" -le "$1" ] && [ $_n -lt 50 ]; do sleep 0.1; _n=$((_n + 1)); done
}
show_errors() { grep -B3 Error "$1" 2>/dev/null | head -n 30 | while read -r l; do note "$l"; done; }

# require_criu: ok when `criu check` passes on this kernel; otherwise not ok with CRIU's
# first error, and the payload ends there.
require_criu() {
    _out=$(/usr/local/bin/criu check 2>&1)
    if [ $? -ne 0 ]; then
        not_ok criu-check "$(echo "$_out" | grep Error | head -n 1)"
        finish
    fi
    ok criu-check
}
