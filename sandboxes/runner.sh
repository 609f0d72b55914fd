# shellcheck shell=bash
# The runner of a sandbox: one long-lived root bash that serves the worker's requests on its stdin, answers on its stdout.
# Arguments: the output kept per action in bytes, the file-size limit in KiB, the root-only scratch dir, the agent's uid.
#
# Requests (one line, then a payload of <len> bytes):
#   <op> <id> <timeout-seconds> <flags> <len>
# ops: exec (payload = action; flags r = restore first, m = manifest after), put (payload = tar for /work),
# snap, restore, manifest, reset, ping. Answer: one line
#   @@PIVOTRL <id> <status> <int,int,...> <size,size,...>
# followed by the sections' bytes. Everything the agent runs writes to files in the root-only scratch dir, never
# to the runner's stdout.
set -u
umask 022
S=$3
CAP=$1
# The largest file an action may write, in KiB (RLIMIT_FSIZE; beyond it the writer gets SIGXFSZ): no sparse
# terabyte for the manifest to hash.
FSIZE_KB=$2
POLL=0.05
AGENT=(setpriv --reuid="$4" --regid="$4" --clear-groups --inh-caps=-all)
cd /work || exit 71
# fd 4: a FIFO on which the subshell that ran an action reports "<request id> <exit status>".
rm -f "$S/.status" && mkfifo -m 0600 "$S/.status" && exec 4<>"$S/.status" || exit 73
MEMF=/sys/fs/cgroup/memory/memory.oom_control; [[ -r $MEMF ]] || MEMF=/sys/fs/cgroup/memory.events
PIDF=/sys/fs/cgroup/pids/pids.events; [[ -r $PIDF ]] || PIDF=/sys/fs/cgroup/pids.events
WMODE=755
# 1 while /work, /tmp and /dev/shm hold exactly the snapshot (taken or restored since the last action or put).
CLEAN=0
counters() {
  local k v; OOMK=0; PIDM=0
  if [[ -r $MEMF ]]; then while read -r k v; do [[ $k == oom_kill ]] && OOMK=$v; done < "$MEMF"; fi
  if [[ -r $PIDF ]]; then while read -r k v; do [[ $k == max ]] && PIDM=$v; done < "$PIDF"; fi
}
# SIGKILL every process but PID 1 and this runner, until none is left (kill -1 fails with ESRCH).
reap() { local i; for ((i = 0; i < 5000; i++)); do kill -9 -1 2>/dev/null || return 0; done; return 0; }
MQ=; [[ -d /dev/mqueue ]] && MQ=/dev/mqueue
# Empty /work, /tmp, /dev/shm (and POSIX message queues), and give /work back its mode: one find.
wipe() {
  find /work /tmp /dev/shm $MQ ! -path /work ! -path /tmp ! -path /dev/shm ! -path /dev/mqueue -delete , \
    -path /work ! -perm "$WMODE" -exec chmod "$WMODE" /work \; 2>>"$S/err"
}
# True when the agent left System V IPC objects (read with builtins: no process unless there is something to remove).
ipc_dirty() {
  local f
  for f in /proc/sysvipc/shm /proc/sysvipc/msg /proc/sysvipc/sem; do
    [[ -r $f ]] || continue
    { read -r _; read -r _ && return 0; } < $f
  done
  return 1
}
do_restore() {
  [[ -f "$S/snap.tar" ]] || { echo "no snapshot" >>"$S/err"; return 1; }
  reap; wipe
  if ipc_dirty; then "${AGENT[@]}" ipcrm -a 2>/dev/null; fi
  "${AGENT[@]}" tar -C / -xpf - < "$S/snap.tar" 2>>"$S/err"
}
do_snap() {
  reap
  WMODE=$(stat -c %a /work) || return 1
  # /work itself (its mode and mtime, restored by the agent who owns it), then everything below /work, /tmp
  # and /dev/shm, but not /tmp and /dev/shm themselves (root's).
  ( cd / && tar -cf "$S/snap.tar" --no-recursion work &&
    find work tmp dev/shm -mindepth 1 -maxdepth 1 -print0 | tar -rf "$S/snap.tar" --null -T - ) 2>>"$S/err"
}
do_manifest() {
  find /work -mindepth 1 -fprintf "$S/m" '%y %m %P\0%l\0' -type f -exec sha256sum -z -- {} + > "$S/h" 2>>"$S/err"
}
answer() { # status ints files...
  local st=$1 ints=$2; shift 2
  local sizes; sizes=$(stat --printf '%s,' -- "$@") || sizes=
  printf '@@PIVOTRL %s %s %s %s\n' "$id" "$st" "$ints" "$sizes"
  cat "$@"
}
while IFS=' ' read -r op id tmo flags len; do
  : > "$S/err"; : > "$S/m"; : > "$S/h"; : > "$S/out"; : > "$S/payload"
  if (( len > 0 )); then head -c "$len" > "$S/payload" || exit 72; fi
  case $op in
    exec)
      ok=1
      # Restoring is a no-op when nothing ran since the snapshot was taken or restored (and no IPC object is left).
      if [[ $flags == *r* ]] && ! { (( CLEAN )) && ! ipc_dirty; }; then do_restore || ok=0; fi
      CLEAN=0
      if (( ok )); then
        IFS= read -r -d '' A < "$S/payload"
        counters; o0=$OOMK; p0=$PIDM
        t0=${EPOCHREALTIME/./}
        # The action: uid 1000, no capabilities, first in line for the OOM killer, stdin /dev/null, stdout and
        # stderr to a root-only file. Its subshell (root) reports the exit status on fd 4.
        ( echo 1000 > /proc/self/oom_score_adj
          ulimit -f "$FSIZE_KB"
          "${AGENT[@]}" bash -c "$A" </dev/null >"$S/out" 2>&1 4>&-
          echo "$id $?" >&4 ) &
        sub=$!
        to=1; rc=137
        dl=$((t0 + ${tmo%.*} * 1000000 + 10#${tmo#*.} * 1000))
        # Wait for the status line; between polls, end the action at once when it has hit a resource limit (what
        # happened decides its verdict, not which of the limit and the wall-clock timer comes first), and end it
        # with the runner when stdin closes (the worker is gone: nothing would read the answer).
        line=
        while :; do
          if IFS= read -r -t "$POLL" -u 4 part; then
            line+=$part
            if [[ ${line%% *} == "$id" ]]; then to=0; rc=${line#* }; break; fi
            line=; continue
          fi
          # A read that timed out keeps the part of a line it had read; the rest comes with the next read.
          line+=$part
          counters
          if (( OOMK > o0 || PIDM > p0 )); then to=0; break; fi
          if read -r -t 0 -u 0; then reap; exit 0; fi
          (( ${EPOCHREALTIME/./} < dl )) || break
        done
        t1=${EPOCHREALTIME/./}
        left=0
        for p in /proc/[0-9]*; do
          p=${p#/proc/}; [[ $p == 1 || $p == "$$" || $p == "$sub" ]] && continue
          IFS= read -r st < "/proc/$p/stat" 2>/dev/null || continue
          st=${st##*) }; [[ ${st%% *} == Z ]] || left=$((left + 1))
        done
        reap
        wait "$sub" 2>/dev/null
        if (( to )); then while read -r -t 0.02 -u 4 _; do :; done; fi
        counters
        truncate -s "<$((CAP + 1))" "$S/out"
        if [[ $flags == *m* ]]; then do_manifest; fi
        answer ok "$rc,$((t1 - t0)),$((OOMK - o0)),$((PIDM - p0)),$left,$to" "$S/out" "$S/m" "$S/h" "$S/err"
      else
        answer fail 0 "$S/err"
      fi ;;
    put)
      CLEAN=0
      if "${AGENT[@]}" tar -C /work -xpf - < "$S/payload" 2>>"$S/err"; then answer ok 0 "$S/err"; else answer fail 0 "$S/err"; fi ;;
    snap)
      CLEAN=0
      if do_snap && do_manifest; then CLEAN=1; answer ok 0 "$S/m" "$S/h" "$S/err"; else answer fail 0 "$S/err"; fi ;;
    restore)
      CLEAN=0
      if do_restore; then CLEAN=1; answer ok 0 "$S/err"; else answer fail 0 "$S/err"; fi ;;
    manifest)
      if do_manifest; then answer ok 0 "$S/m" "$S/h" "$S/err"; else answer fail 0 "$S/err"; fi ;;
    reset)
      CLEAN=0; reap; rm -f "$S/snap.tar"; WMODE=755; wipe
      if ipc_dirty; then "${AGENT[@]}" ipcrm -a 2>/dev/null; fi
      answer ok 0 "$S/err" ;;
    ping)
      answer ok 0 "$S/err" ;;
    *)
      echo "unknown op $op" >>"$S/err"; answer fail 0 "$S/err" ;;
  esac
done
