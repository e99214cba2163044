# Host-side helpers shared by the guests' boot scripts (run.sh here, systemd/run.sh):
# packing programs, and reading the payloads' results out of the console log.
# Sourced (bash); `report` uses the caller's globals: names (the payloads' file names),
# token, logfile, guest_failure and guest_rc (why and with which status a payload's
# markers may be missing), and log().

# find_payload ARG: ARG itself when it is a file, else the payload of that name under
# $here/payloads/ (with or without .sh).
find_payload() {
    if [[ -f "$1" ]]; then
        echo "$1"
    elif [[ -f "$here/payloads/$1" ]]; then
        echo "$here/payloads/$1"
    elif [[ -f "$here/payloads/$1.sh" ]]; then
        echo "$here/payloads/$1.sh"
    else
        die "no payload '$1' (not a file, nor in $here/payloads/)"
    fi
}

# cleanup: the EXIT trap: stops qemu ($qemu_pid) and its watcher ($watch_pid), and
# removes the run's work directory ($work).
cleanup() {
    local pid
    for pid in $qemu_pid $watch_pid; do
        if kill -0 "$pid" 2>/dev/null; then
            kill "$pid" 2>/dev/null || true
            wait "$pid" 2>/dev/null || true
        fi
    done
    [[ -n "$work" ]] && rm -rf "$work"
}

# copy_bin DESTROOT SRC DEST: SRC at DESTROOT/DEST, with the shared libraries and the
# dynamic loader ldd names for it at their host paths (where DESTROOT has none yet).
copy_bin() {
    local destroot=$1 src=$2 dest=$3 lib
    install -D -m 0755 "$src" "$destroot$dest"
    while read -r lib; do
        [[ -e "$destroot$lib" ]] || install -D -m 0755 "$(readlink -f "$lib")" "$destroot$lib"
    done < <(ldd "$src" 2>/dev/null | awk '$2 == "=>" && $3 ~ /^\// { print $3 } $1 ~ /^\// { print $1 }')
}

elapsed() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f", b - a }'; }
field() { sed -n "s/.* $1=\([0-9.]*\).*/\1/p" <<<"$2"; }
marker() { grep -m1 -F "@@v2guest-$1 $token $2 " "$logfile" || true; }

# report LABEL BOOTED: each payload's output from the log, then the closing line
# "LABEL: N passed, M failed" (one payload: its own closing line). BOOTED is empty when
# the guest never got to run anything (then the log's tail is shown). Returns the status:
# 0 when all passed; the payload's exit status (one payload) or 1; 124/125 when the
# guest timed out or a payload's markers are missing.
report() {
    local label=$1 booted=$2 passed=0 failed=0 status=0 name begin end out rc summary=""
    for name in "${names[@]}"; do
        begin=$(marker begin "$name")
        end=$(marker end "$name")
        if [[ -z "$begin" ]]; then
            echo "not ok $name: the guest did not reach it ($guest_failure; console log: $logfile)"
            [[ -n "$booted" ]] || tail -n 30 "$logfile" | sed 's/^/    | /'
            failed=$((failed + 1))
            status=$guest_rc
            continue
        fi
        [[ ${#names[@]} -eq 1 ]] || echo "# payload $name"
        out=$(awk -v b="@@v2guest-begin $token $name " -v e="@@v2guest-end $token $name " '
            index($0, e) == 1 || $0 == "----- qemu output -----" { exit }
            on { print }
            index($0, b) == 1 { on = 1 }' "$logfile")
        if [[ ${#names[@]} -eq 1 ]]; then
            [[ -z "$out" ]] || printf '%s\n' "$out"
        else
            # Only the total is to read as the run's closing line.
            [[ -z "$out" ]] || sed -E "s/^v2guest: ([0-9]+ passed, [0-9]+ failed)$/# $name: \1/" <<<"$out"
        fi
        if [[ -z "$end" ]]; then
            echo "not ok $name: did not finish ($guest_failure; console log: $logfile)"
            failed=$((failed + 1))
            status=$guest_rc
            continue
        fi
        rc=$(field rc "$end")
        summary=$(grep -E '^v2guest: [0-9]+ passed, [0-9]+ failed$' <<<"$out" | tail -n1 || true)
        if [[ -n "$summary" ]]; then
            passed=$((passed + $(sed 's/^v2guest: \([0-9]*\) passed.*/\1/' <<<"$summary")))
            failed=$((failed + $(sed 's/.* \([0-9]*\) failed$/\1/' <<<"$summary")))
        fi
        if [[ $rc -ne 0 ]]; then
            # A payload that failed without counting it still counts as one failure.
            [[ -n "$summary" && $summary != *" 0 failed" ]] || failed=$((failed + 1))
            [[ $status -ne 0 ]] || status=$rc
        fi
        [[ ${#names[@]} -eq 1 ]] || log "$name: exit $rc, $(elapsed "$(field uptime "$begin")" "$(field uptime "$end")") s"
    done
    if [[ ${#names[@]} -eq 1 ]]; then
        # The payload printed its own closing line; add one only if it did not.
        [[ -n "$summary" ]] || echo "$label: $passed passed, $failed failed"
        return "$status"
    fi
    echo "$label: $passed passed, $failed failed"
    [[ $failed -eq 0 || $status -ne 0 ]] || status=1
    [[ $status -eq 0 ]] || status=$((status >= 124 ? status : 1))
    return "$status"
}
