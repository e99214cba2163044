# berth checkpoint and restore with CRIU (Debian's criu, whose `criu check` passes on this
# kernel): a container running a counter on a bind mount is checkpointed (and so
# destroyed) and restored under a new id, where the counter goes on from where it was, in
# the new container's cgroup, with its tmpfs content; then --leave-running, a pre-dump
# followed by a dump with --parent-path, a restore that waits in the foreground, the
# errors for a stopped container and a broken image directory, a container with a terminal
# (restore with --console-socket, and relayed), the hooks restore runs, and runc 1.5's
# flags: --link-remap, --tcp-skip-in-flight, --auto-dedup, --empty-ns, and lazy migration
# (--lazy-pages, --page-server, --status-fd with CRIU's lazy-pages daemon).
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

require_criu

# The counter writes to /run, a bind mount of $D, and leaves a marker in its tmpfs /tmp.
make_bundle $B /bin/sh -c 'echo here >/tmp/marker; i=0; while :; do i=$((i + 1)); echo $i >/run/count; sleep 0.1; done'
sed -i "s|\"mounts\": \[|\"mounts\": [ { \"destination\": \"/run\", \"type\": \"bind\", \"source\": \"$D\", \"options\": [\"rbind\", \"rw\"] },|" $B/config.json

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

# A container with a terminal (process.terminal), its pty master with a console socket's
# owner: restore gets a new pty pair from CRIU and hands the master to --console-socket,
# or (without -d) relays it to its own stdio. The program echoes what it reads from its
# terminal; recvtty writes "hello N" to the N-th master it receives.
T=/tmp/ckpt-tty
make_bundle $T /bin/sh -c 'i=0; while :; do i=$((i + 1)); echo $i >/run/count; echo "tick $i $(tty)"; if read -t 0.2 l; then echo "got:$l"; fi; done'
sed -i -e 's|"terminal": false|"terminal": true|' \
    -e "s|\"mounts\": \[|\"mounts\": [ { \"destination\": \"/run\", \"type\": \"bind\", \"source\": \"$D\", \"options\": [\"rbind\", \"rw\"] },|" $T/config.json
recvtty /tmp/ckpt-console.sock $L/console.log &
rt=$!
sleep 0.2
# wait_log PATTERN FILE: until FILE has a line matching PATTERN (at most 5 s).
wait_log() {
    _n=0
    while ! grep -q "$1" "$2" 2>/dev/null && [ $_n -lt 50 ]; do sleep 0.1; _n=$((_n + 1)); done
    grep -q "$1" "$2" 2>/dev/null
}
berth --root $R run -d --console-socket /tmp/ckpt-console.sock --bundle $T ct1 </dev/null >$L/ct1.log 2>&1 || not_ok tty-run "$(cat $L/ct1.log)"
if wait_log 'got:hello 1' $L/console.log; then ok tty-run; else not_ok tty-run "$(tail -n 3 $L/console.log)"; fi
if berth --root $R checkpoint --image-path $I/tty ct1 >$L/cpt.log 2>&1; then ok tty-checkpoint; else not_ok tty-checkpoint "$(cat $L/cpt.log)"; show_errors $I/tty/dump.log; fi
a=$(count)
if berth --root $R restore -d --console-socket /tmp/ckpt-console.sock --bundle $T --image-path $I/tty ct2 </dev/null >$L/ct2.log 2>&1; then ok tty-restore-console-socket; else not_ok tty-restore-console-socket "$(cat $L/ct2.log)"; show_errors $I/tty/restore.log; fi
# The restored shell reads from the new master's slave: recvtty's second hello reaches it.
if wait_log 'got:hello 2' $L/console.log; then ok tty-restored-reads-new-master; else not_ok tty-restored-reads-new-master "$(tail -n 3 $L/console.log)"; fi
last=$(grep -o 'tick [0-9]*' $L/console.log | tail -n 1 | cut -d' ' -f2)
if [ "${last:-0}" -gt "$a" ]; then ok tty-restored-counter-continues; else not_ok tty-restored-counter-continues "was $a, last tick ${last:-none}"; fi
if grep -q 'tick [0-9]* /dev/pts/' $L/console.log; then ok tty-restored-on-a-pty; else not_ok tty-restored-on-a-pty "$(tail -n 2 $L/console.log)"; fi

# The same checkpointed again and restored in the foreground: berth relays the terminal.
berth --root $R checkpoint --image-path $I/tty2 ct2 >$L/cpt2.log 2>&1 || not_ok tty-checkpoint-again "$(cat $L/cpt2.log)"
echo from-stdin >$L/tty-in
berth --root $R restore --bundle $T --image-path $I/tty2 ct3 <$L/tty-in >$L/ct3.out 2>&1 &
fg=$!
if wait_log 'got:from-stdin' $L/ct3.out; then ok tty-restore-relay-input; else not_ok tty-restore-relay-input "$(tail -n 3 $L/ct3.out)"; fi
if wait_log 'tick [0-9]* /dev/pts/' $L/ct3.out; then ok tty-restore-relay-output; else not_ok tty-restore-relay-output "$(tail -n 3 $L/ct3.out)"; fi
berth --root $R kill ct3 KILL
wait $fg
rc=$?
if [ $rc -eq 137 ]; then ok tty-restore-relay-exit-status; else not_ok tty-restore-relay-exit-status "rc=$rc"; fi
# A terminal needs a console socket when restore detaches (as create and run -d).
out=$(berth --root $R restore -d --bundle $T --image-path $I/tty2 ct4 2>&1 </dev/null)
case "$out" in *console*socket*) ok tty-restore-detach-needs-socket ;; *) not_ok tty-restore-detach-needs-socket "$out" ;; esac
kill $rt
wait $rt 2>/dev/null

# Hooks on restore (runc's moments): prestart and createRuntime once CRIU has made the
# restored tree's namespaces, in berth's namespaces, with the restored init's pid.
berth --root $R run -d --bundle $B ch1 </dev/null >$L/ch1.log 2>&1 || not_ok hooks-run "$(cat $L/ch1.log)"
berth --root $R checkpoint --image-path $I/hooks ch1 >$L/cph.log 2>&1 || not_ok hooks-checkpoint "$(cat $L/cph.log)"
H=/tmp/ckpt-hooks
mkdir -p $H
cp $B/config.json $H/config.json
hook() { echo "{ \"path\": \"/bin/sh\", \"args\": [\"sh\", \"-c\", \"cat >$L/$1.json; readlink /proc/self/ns/mnt >$L/$1.mnt\"] }"; }
sed -i "s|\"process\": {|\"hooks\": { \"prestart\": [ $(hook prestart) ], \"createRuntime\": [ $(hook createRuntime) ] }, \"process\": {|" $H/config.json
if berth --root $R restore -d --bundle $H --image-path $I/hooks ch2 </dev/null >$L/ch2.log 2>&1; then ok hooks-restore; else not_ok hooks-restore "$(cat $L/ch2.log)"; fi
pid=$(pid_of ch2)
for k in prestart createRuntime; do
    st=$(cat $L/$k.json 2>/dev/null)
    case "$st" in *"\"pid\":$pid"* | *"\"pid\": $pid"*) ok hooks-$k-pid ;; *) not_ok hooks-$k-pid "init $pid, state: $st" ;; esac
    case "$st" in *'"id":"ch2"'* | *'"id": "ch2"'*) ok hooks-$k-id ;; *) not_ok hooks-$k-id "$st" ;; esac
    if [ "$(cat $L/$k.mnt 2>/dev/null)" = "$(readlink /proc/self/ns/mnt)" ]; then ok hooks-$k-runtime-ns; else not_ok hooks-$k-runtime-ns "$(cat $L/$k.mnt 2>/dev/null)"; fi
done
berth --root $R delete --force ch2
# A failing createRuntime hook fails the restore and leaves nothing.
sed -i 's|cat >[^;]*/createRuntime.json;|exit 3;|' $H/config.json
berth --root $R checkpoint --image-path $I/hooks2 ch2 >/dev/null 2>&1
berth --root $R run -d --bundle $B ch3 </dev/null >$L/ch3.log 2>&1
berth --root $R checkpoint --image-path $I/hooks2 ch3 >$L/cph2.log 2>&1 || not_ok hooks-checkpoint-2 "$(cat $L/cph2.log)"
out=$(berth --root $R restore -d --bundle $H --image-path $I/hooks2 ch4 2>&1 </dev/null)
case "$out" in *createRuntime*) ok hooks-failing-fails-restore ;; *) not_ok hooks-failing-fails-restore "$out" ;; esac
if [ ! -d $R/ch4 ] && [ ! -d /sys/fs/cgroup/ch4 ]; then ok hooks-failing-leaves-nothing; else not_ok hooks-failing-leaves-nothing "$(ls $R)"; fi

# runc 1.5's flags. --link-remap: init holds open a file whose path is gone but which has
# another link; CRIU dumps it only when allowed to link it back (runc's flag), and says so.
make_bundle $B.lr /bin/sh -c 'echo x >/run/a; ln /run/a /run/b; exec 3</run/a; rm /run/a; echo ready >/run/lr; while :; do sleep 0.1; done'
mkdir -p $D.lr
sed -i "s|\"mounts\": \[|\"mounts\": [ { \"destination\": \"/run\", \"type\": \"bind\", \"source\": \"$D.lr\", \"options\": [\"rbind\", \"rw\"] },|" $B.lr/config.json
berth --root $R run -d --bundle $B.lr lr1 </dev/null >$L/lr1.log 2>&1 || not_ok link-remap-run "$(cat $L/lr1.log)"
n=0; while [ ! -f $D.lr/lr ] && [ $n -lt 50 ]; do sleep 0.1; n=$((n + 1)); done
out=$(berth --root $R checkpoint --leave-running --image-path $I/nolr lr1 2>&1)
if [ -n "$out" ] && grep -q 'link-remap' $I/nolr/dump.log; then ok link-remap-needed; else not_ok link-remap-needed "$out"; show_errors $I/nolr/dump.log; fi
if berth --root $R checkpoint --leave-running --link-remap --image-path $I/lr lr1 >$L/lr.log 2>&1; then ok link-remap; else not_ok link-remap "$(cat $L/lr.log)"; show_errors $I/lr/dump.log; fi
berth --root $R delete --force lr1

# --tcp-skip-in-flight, --auto-dedup and --empty-ns network reach CRIU in a round trip; a
# restore with --auto-dedup punches the restored pages out of the images (CRIU's dedup).
berth --root $R run -d --bundle $B fl1 </dev/null >$L/fl1.log 2>&1 || not_ok flags-run "$(cat $L/fl1.log)"
wait_count $(($(count) + 3))
if berth --root $R checkpoint --tcp-skip-in-flight --auto-dedup --empty-ns network --image-path $I/flags fl1 >$L/fl.log 2>&1; then ok checkpoint-runc15-flags; else not_ok checkpoint-runc15-flags "$(cat $L/fl.log)"; show_errors $I/flags/dump.log; fi
a=$(count)
before=$(du -k $I/flags/pages-*.img | awk '{ s += $1 } END { print s }')
if berth --root $R restore -d --auto-dedup --empty-ns network --bundle $B --image-path $I/flags fl2 </dev/null >$L/fl2.log 2>&1; then ok restore-runc15-flags; else not_ok restore-runc15-flags "$(cat $L/fl2.log)"; show_errors $I/flags/restore.log; fi
restored runc15-flags fl2 $a
after=$(du -k $I/flags/pages-*.img | awk '{ s += $1 } END { print s }')
if [ "$before" -gt 0 ] && [ "$after" -lt "$before" ]; then ok auto-dedup-punches-images; else not_ok auto-dedup-punches-images "pages ${before}K before the restore, ${after}K after"; fi
out=$(berth --root $R checkpoint --empty-ns ipc --image-path $I/ipc fl2 2>&1)
case "$out" in *namespace*ipc*'is not supported'*) ok empty-ns-ipc-refused ;; *) not_ok empty-ns-ipc-refused "$out" ;; esac
berth --root $R delete --force fl2

# Lazy migration: the dump's CRIU serves the pages on --page-server, berth writes a NUL byte
# to --status-fd once it does, CRIU's lazy-pages daemon fetches them for restore
# --lazy-pages, and the checkpoint ends once every page has moved.
berth --root $R run -d --bundle $B lz1 </dev/null >$L/lz1.log 2>&1 || not_ok lazy-run "$(cat $L/lz1.log)"
wait_count $(($(count) + 3))
berth --root $R checkpoint --lazy-pages --page-server 127.0.0.1:27277 --status-fd 3 --image-path $I/lazy lz1 3>$L/status >$L/lz.log 2>&1 &
cp=$!
n=0; while [ "$(wc -c <$L/status)" != 1 ] && kill -0 $cp 2>/dev/null && [ $n -lt 300 ]; do sleep 0.1; n=$((n + 1)); done
if [ "$(od -An -tx1 $L/status | tr -d ' ')" = 00 ]; then ok lazy-status-fd; else not_ok lazy-status-fd "status '$(od -An -tx1 $L/status)': $(cat $L/lz.log)"; show_errors $I/lazy/dump.log; fi
a=$(count)
criu lazy-pages --page-server --address 127.0.0.1 --port 27277 -D $I/lazy -o lazy-pages.log -v4 >$L/lpd.log 2>&1 &
lpd=$!
if berth --root $R restore -d --lazy-pages --bundle $B --image-path $I/lazy lz2 </dev/null >$L/lz2.log 2>&1; then ok lazy-restore; else not_ok lazy-restore "$(cat $L/lz2.log)"; show_errors $I/lazy/restore.log; show_errors $I/lazy/lazy-pages.log; fi
restored lazy lz2 $a
n=0; while kill -0 $cp 2>/dev/null && [ $n -lt 300 ]; do sleep 0.1; n=$((n + 1)); done
kill $cp 2>/dev/null
wait $cp
rc=$?
if [ $rc -eq 0 ]; then ok lazy-checkpoint-ends; else not_ok lazy-checkpoint-ends "rc=$rc: $(cat $L/lz.log)"; show_errors $I/lazy/dump.log; fi
kill $lpd 2>/dev/null
wait $lpd 2>/dev/null
for id in lz1 lz2; do berth --root $R delete --force $id 2>/dev/null; done
rm -rf $B.lr $D.lr

for id in $(ls $R 2>/dev/null); do berth --root $R delete --force $id; done
rm -rf $B $B.2 $T $H $D $I $L $R
finish
