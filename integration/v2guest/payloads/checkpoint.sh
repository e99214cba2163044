# berth checkpoint and restore with CRIU (Debian's criu, whose `criu check` passes on this
# kernel): a container running a counter on a bind mount is checkpointed (and so
# destroyed) and restored under a new id, where the counter goes on from where it was, in
# the new container's cgroup, with its tmpfs content; then --leave-running, a pre-dump
# followed by a dump with --parent-path, a restore that waits in the foreground, and the
# errors for a stopped container and a broken image directory.
# v2guest-needs: criu tar
# v2guest-modules: crc32c_generic unix_diag inet_diag tcp_diag udp_diag raw_diag af_packet_diag netlink_diag nf_tables autofs4 nf_conntrack_netlink
. /v2guest/lib.sh

R=/run/berth-ckpt
B=/tmp/ckpt-bundle
D=/tmp/ckpt-data
I=/tmp/ckpt-img
L=/tmp/ckpt-logs
rm -rf $D $I $L
mkdir -p $D $I $L

out=$(/usr/local/bin/criu check 2>&1)
if [ $? -ne 0 ]; then
    not_ok criu-check "$(echo "$out" | grep Error | head -n 1)"
    finish
fi
ok criu-check

# The counter writes to /run, a bind mount of $D, and leaves a marker in its tmpfs /tmp.
make_bundle $B /bin/sh -c 'echo here >/tmp/marker; i=0; while :; do i=$((i + 1)); echo $i >/run/count; sleep 0.1; done'
sed -i "s|\"mounts\": \[|\"mounts\": [ { \"destination\": \"/run\", \"type\": \"bind\", \"source\": \"$D\", \"options\": [\"rbind\", \"rw\"] },|" $B/config.json

# show_errors LOG: CRIU's error lines with what led to them, as comments.
show_errors() { grep -B3 Error "$1" 2>/dev/null | head -n 30 | while read -r l; do note "$l"; done; }
count() { cat $D/count 2>/dev/null || echo 0; }
pid_of() { berth --root $R state "$1" 2>/dev/null | sed -n 's/.*"pid": \([0-9]*\).*/\1/p'; }
status_of() { berth --root $R state "$1" 2>/dev/null | sed -n 's/.*"status": "\([a-z]*\)".*/\1/p'; }
# wait_count N: until the counter passes N (at most 5 s).
wait_count() {
    _n=0
    while [ "$(count)" -le "$1" ] && [ $_n -lt 50 ]; do sleep 0.1; _n=$((_n + 1)); done
}
# restore_d ID IMAGE: a detached restore; its output in $L/ID.log.
restore_d() {
    berth --root $R restore -d --bundle $B --image-path "$2" "$1" </dev/null >$L/$1.log 2>&1
}
# restored NAME ID BEFORE: ID runs, in its own cgroup, and counts on from BEFORE.
restored() {
    _pid=$(pid_of $2)
    if [ "$(status_of $2)" = running ] && kill -0 "$_pid" 2>/dev/null; then ok $1-running; else not_ok $1-running "$(berth --root $R state $2 2>&1)"; fi
    wait_count $(($3 + 3))
    _c=$(count)
    # Restarted from scratch, the counter would be below BEFORE.
    if [ "$_c" -gt "$3" ] && [ "$_c" -lt $(($3 + 200)) ]; then ok $1-counter-continues; else not_ok $1-counter-continues "was $3, now $_c"; fi
    _cg=$(sed -n 's/^0:://p' /proc/$_pid/cgroup)
    if [ "$_cg" = "/$2" ]; then ok $1-cgroup; else not_ok $1-cgroup "in '$_cg', not /$2"; fi
}

berth --root $R run -d --bundle $B ck1 </dev/null >$L/ck1.log 2>&1 || not_ok run "$(cat $L/ck1.log)"
pid1=$(pid_of ck1)
wait_count 5
if [ "$(count)" -gt 5 ]; then ok counter-runs; else not_ok counter-runs "count $(count)"; fi

# A checkpoint stops the container and destroys it, as runc.
if berth --root $R checkpoint --image-path $I/one ck1 >$L/cp1.log 2>&1; then ok checkpoint; else not_ok checkpoint "$(cat $L/cp1.log)"; show_errors $I/one/dump.log; fi
if ! kill -0 "$pid1" 2>/dev/null; then ok checkpoint-stops-init; else not_ok checkpoint-stops-init "pid $pid1 alive"; fi
if ! berth --root $R state ck1 >/dev/null 2>&1 && [ ! -d /sys/fs/cgroup/ck1 ]; then ok checkpoint-destroys; else not_ok checkpoint-destroys "state or cgroup of ck1 left"; fi
if [ -f $I/one/dump.log ] && [ -f $I/one/berth-checkpoint.json ]; then ok checkpoint-files; else not_ok checkpoint-files "$(ls $I/one | tr '\n' ' ')"; fi
a=$(count)
sleep 0.5
if [ "$(count)" = "$a" ]; then ok counter-stopped; else not_ok counter-stopped "$a then $(count)"; fi

if restore_d ck2 $I/one; then ok restore; else not_ok restore "$(cat $L/ck2.log)"; show_errors $I/one/restore.log; fi
restored restore ck2 $a
pid2=$(pid_of ck2)
if [ "$(cat /proc/$pid2/root/tmp/marker 2>&1)" = here ]; then ok restore-tmpfs-content; else not_ok restore-tmpfs-content "$(cat /proc/$pid2/root/tmp/marker 2>&1)"; fi
out=$(berth --root $R exec ck2 /bin/cat /proc/1/cmdline 2>&1)
case "$out" in *while*) ok exec-into-restored ;; *) not_ok exec-into-restored "$out" ;; esac

# --leave-running: the container goes on.
a=$(count)
if berth --root $R checkpoint --leave-running --image-path $I/two ck2 >$L/cp2.log 2>&1; then ok leave-running; else not_ok leave-running "$(cat $L/cp2.log)"; fi
wait_count $((a + 3))
if [ "$(status_of ck2)" = running ] && [ "$(count)" -gt $((a + 3)) ]; then ok leave-running-continues; else not_ok leave-running-continues "status $(status_of ck2), count $a then $(count)"; fi

# Iterative migration: a pre-dump leaves it running; the dump takes only what changed since.
if berth --root $R checkpoint --pre-dump --image-path $I/pre ck2 >$L/pre.log 2>&1; then ok pre-dump; else not_ok pre-dump "$(cat $L/pre.log)"; fi
a=$(count)
wait_count $((a + 3))
if [ "$(status_of ck2)" = running ] && [ "$(count)" -gt "$a" ]; then ok pre-dump-continues; else not_ok pre-dump-continues "status $(status_of ck2)"; fi
if berth --root $R checkpoint --image-path $I/three --parent-path ../pre ck2 >$L/cp3.log 2>&1; then ok dump-with-parent; else not_ok dump-with-parent "$(cat $L/cp3.log)"; fi
if [ -L $I/three/parent ]; then ok dump-links-parent; else not_ok dump-links-parent "$(ls -l $I/three | head -n 3 | tr '\n' ' ')"; fi
a=$(count)
if restore_d ck3 $I/three; then ok restore-from-parent; else not_ok restore-from-parent "$(cat $L/ck3.log)"; fi
restored restore-from-parent ck3 $a

# A restore without --detach waits for the container and exits with its status; the
# checkpoint freed the id, so the restore takes the same one (runc's usual round trip).
berth --root $R checkpoint --image-path $I/four ck3 >$L/cp4.log 2>&1 || not_ok checkpoint-four "$(cat $L/cp4.log)"
a=$(count)
berth --root $R restore --bundle $B --image-path $I/four ck3 </dev/null >$L/ck3b.log 2>&1 &
fg=$!
wait_count $((a + 3))
restored restore-foreground-same-id ck3 $a
berth --root $R kill ck3 KILL
wait $fg
rc=$?
if [ $rc -eq 137 ]; then ok restore-foreground-exit-status; else not_ok restore-foreground-exit-status "rc=$rc: $(cat $L/ck3b.log)"; fi
if [ ! -d $R/ck3 ] && [ ! -d /sys/fs/cgroup/ck3 ]; then ok restore-foreground-deletes; else not_ok restore-foreground-deletes "ck3 left"; fi

# Errors: one line each, naming the cause.
make_bundle $B.2 /bin/true
berth --root $R create --bundle $B.2 ck5 </dev/null >$L/ck5.log 2>&1
out=$(berth --root $R checkpoint --image-path $I/five ck5 2>&1)
case "$out" in *'it is created'*) ok checkpoint-created-refused ;; *) not_ok checkpoint-created-refused "$out" ;; esac
berth --root $R delete --force ck5
mkdir -p $I/bad
echo '{"stdio": [], "mounts": []}' >$I/bad/berth-checkpoint.json
berth --root $R restore -d --bundle $B --image-path $I/bad ck6 </dev/null >$L/ck6.log 2>&1
rc=$?
out=$(cat $L/ck6.log)
case "$out" in *"criu restore failed"*"$I/bad/restore.log"*) ok restore-error-names-log ;; *) not_ok restore-error-names-log "rc=$rc: $out" ;; esac
if [ ! -d $R/ck6 ] && [ ! -d /sys/fs/cgroup/ck6 ] && [ ! -d "$R/criu-root~ck6" ]; then ok restore-error-cleans; else not_ok restore-error-cleans "$(ls $R)"; fi
if ! grep -q "criu-root" /proc/self/mountinfo; then ok no-mount-left; else not_ok no-mount-left "$(grep criu-root /proc/self/mountinfo)"; fi

for id in $(ls $R 2>/dev/null); do berth --root $R delete --force $id; done
rm -rf $B $B.2 $D $I $L $R
finish
