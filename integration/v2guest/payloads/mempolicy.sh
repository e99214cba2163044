# linux.memoryPolicy on a guest with two NUMA nodes: the multi-node modes and flags, read
# back from the container's /proc/self/numa_maps (policy column), where the anonymous pages
# of a 4 MB allocation land, the nodes relative to a cpuset's, a node the guest lacks.
# v2guest-numa: 2
. /v2guest/lib.sh

R=/run/berth-mempol
B=/tmp/bundle-mempol
POLICY="head -1 /proc/self/numa_maps | sed 's/^[0-9a-f]* //; s/ file=.*//'"
# The nodes holding the shell's anonymous pages (heap, stack, mmap; not file mappings, whose
# page cache may be older) after it allocated 4 MB: "N0N1", "N1".
PAGES='a=$(head -c 4000000 /dev/zero | tr "\0" x); grep anon= /proc/$$/numa_maps | grep -v file= | grep -o " N[0-9]*=" | sort -u | tr -d " =\n"'

online=$(cat /sys/devices/system/node/online)
if [ "$online" = 0-1 ]; then ok guest-has-two-nodes; else not_ok guest-has-two-nodes "online: $online"; fi

# in_container POLICY_JSON [MEMS] SCRIPT: runs SCRIPT in a container with that policy (and
# its cgroup's cpuset.mems), printing its output and, on failure, "rc=N: error".
in_container() {
    make_bundle $B /bin/sh -c "$3"
    sed -i "s|\"linux\": {|\"linux\": { \"memoryPolicy\": $1,|" $B/config.json
    if [ -n "$2" ]; then
        sed -i "s|\"resources\": {|\"resources\": { \"cpu\": { \"mems\": \"$2\" },|" $B/config.json
    fi
    berth --root $R run --bundle $B mp 2>/tmp/mempol.err
    _rc=$?
    [ $_rc -eq 0 ] || echo "rc=$_rc: $(cat /tmp/mempol.err)"
    berth --root $R delete -f mp >/dev/null 2>&1
    rm -rf $B
}

# expect NAME WANT POLICY_JSON [MEMS] [SCRIPT]
expect() {
    _got=$(in_container "$3" "$4" "${5:-$POLICY}")
    if [ "$_got" = "$2" ]; then ok "$1"; else not_ok "$1" "want '$2', got '$_got'"; fi
}

expect interleave-0-1 interleave:0-1 '{"mode": "MPOL_INTERLEAVE", "nodes": "0-1"}'
expect interleave-pages-on-both N0N1 '{"mode": "MPOL_INTERLEAVE", "nodes": "0-1"}' "" "$PAGES"
expect bind-1 bind:1 '{"mode": "MPOL_BIND", "nodes": "1"}'
expect bind-1-pages-on-1 N1 '{"mode": "MPOL_BIND", "nodes": "1"}' "" "$PAGES"
expect bind-0-pages-on-0 N0 '{"mode": "MPOL_BIND", "nodes": "0"}' "" "$PAGES"
expect preferred-1 prefer:1 '{"mode": "MPOL_PREFERRED", "nodes": "1"}'
expect preferred-many-0-1 "prefer (many):0-1" '{"mode": "MPOL_PREFERRED_MANY", "nodes": "0-1"}'
# A node the guest lacks is dropped while one it has is left, else refused by the kernel.
expect bind-missing-node-dropped bind:0-1 '{"mode": "MPOL_BIND", "nodes": "0-3"}'
got=$(in_container '{"mode": "MPOL_BIND", "nodes": "2"}' "" "$POLICY")
case "$got" in
*"rc=1: "*set_mempolicy*"Invalid argument"*) ok bind-missing-node-refused ;;
*) not_ok bind-missing-node-refused "$got" ;;
esac
expect bind-static-0-1 bind=static:0-1 \
    '{"mode": "MPOL_BIND", "nodes": "0-1", "flags": ["MPOL_F_STATIC_NODES"]}'
# In a cpuset of node 1 only: static nodes are those of the set named that the cpuset has;
# relative node 0 is the cpuset's first node.
expect bind-static-in-cpuset-1 bind=static:1 \
    '{"mode": "MPOL_BIND", "nodes": "0-1", "flags": ["MPOL_F_STATIC_NODES"]}' 1
expect bind-relative-in-cpuset-1 bind=relative:1 \
    '{"mode": "MPOL_BIND", "nodes": "0", "flags": ["MPOL_F_RELATIVE_NODES"]}' 1
expect interleave-relative-in-cpuset-1 interleave=relative:1 \
    '{"mode": "MPOL_INTERLEAVE", "nodes": "0-1", "flags": ["MPOL_F_RELATIVE_NODES"]}' 1
expect bind-relative-pages-on-1 N1 \
    '{"mode": "MPOL_BIND", "nodes": "0", "flags": ["MPOL_F_RELATIVE_NODES"]}' 1 "$PAGES"

# An exec'd process gets the container's policy too.
make_bundle $B /bin/sleep 300
sed -i 's|"linux": {|"linux": { "memoryPolicy": {"mode": "MPOL_INTERLEAVE", "nodes": "0-1"},|' \
    $B/config.json
if berth --root $R run -d --bundle $B mpx >/tmp/mempol.log 2>&1; then
    got=$(berth --root $R exec mpx /bin/sh -c "$POLICY" 2>&1)
    if [ "$got" = interleave:0-1 ]; then ok exec-interleave-0-1; else not_ok exec-interleave-0-1 "$got"; fi
else
    not_ok exec-interleave-0-1 "run -d: $(cat /tmp/mempol.log)"
fi
berth --root $R delete -f mpx >/dev/null 2>&1
rm -rf $B

# Weighted interleave came with Linux 6.9: on an older kernel set_mempolicy refuses it.
kmaj=$(uname -r | cut -d. -f1)
kmin=$(uname -r | cut -d. -f2)
got=$(in_container '{"mode": "MPOL_WEIGHTED_INTERLEAVE", "nodes": "0-1"}' "" "$POLICY")
if [ "$kmaj" -gt 6 ] || { [ "$kmaj" -eq 6 ] && [ "$kmin" -ge 9 ]; }; then
    if [ "$got" = "weighted interleave:0-1" ]; then ok weighted-interleave; else not_ok weighted-interleave "$got"; fi
else
    case "$got" in
    *"rc=1: "*set_mempolicy*"Invalid argument"*) ok weighted-interleave-refused-before-6.9 ;;
    *) not_ok weighted-interleave-refused-before-6.9 "$got" ;;
    esac
fi

if [ -z "$(ls $R 2>/dev/null)" ]; then ok nothing-left; else not_ok nothing-left "$(ls $R)"; fi
finish
