# Whether CRIU (Debian's build) works on this kernel: `criu check`, and a dump
# and restore of a plain process tree. `criu check --all` is only reported
# (autofs fails on Debian's criu 3.17 with this kernel).
# v2guest-needs: criu
# v2guest-modules: crc32c_generic unix_diag inet_diag tcp_diag udp_diag raw_diag af_packet_diag netlink_diag nf_tables autofs4
. /v2guest/lib.sh

criu=/usr/local/bin/criu
note "$($criu --version | head -n 1)"

out=$($criu check 2>&1)
if [ $? -eq 0 ]; then ok criu-check; else not_ok criu-check "$(echo "$out" | grep Error | head -n 1)"; fi

out=$($criu check --all 2>&1)
note "criu check --all: exit $?: $(echo "$out" | grep -E '^Error .*cr-check' | tr '\n' ' ')"

# A counter loop in its own session: dump it (which kills it), restore it
# detached, and see the counter go on.
dir=/tmp/criu-smoke.$$
mkdir -p $dir/img
setsid sh -c "i=0; while :; do i=\$((i + 1)); echo \$i >$dir/count; sleep 0.1; done" \
    </dev/null >/dev/null 2>&1 &
pid=$!
sleep 1
if ! $criu dump -t $pid -D $dir/img -o dump.log; then
    not_ok criu-dump "$(grep Error $dir/img/dump.log | head -n 1)"
    kill $pid
elif kill -0 $pid 2>/dev/null; then
    not_ok criu-dump "process $pid still running after the dump"
    kill $pid
else
    ok criu-dump
    if $criu restore -D $dir/img -o restore.log -d; then
        a=$(cat $dir/count)
        sleep 1
        b=$(cat $dir/count)
        if [ "$b" -gt "$a" ]; then ok criu-restore; else not_ok criu-restore "counter stuck at $a"; fi
        kill $pid 2>/dev/null || not_ok criu-restore-pid "restored tree is not under pid $pid"
    else
        not_ok criu-restore "$(grep Error $dir/img/restore.log | head -n 1)"
    fi
fi
rm -rf $dir

finish
